//! slow-canary end to end on the local platform: v2 answers 600 ms late, over
//! the 500 ms p99 gate and over twice the baseline's p99, and both gates fail on
//! their first look; the lab rolls back and v1 stays fast and error-free.

use lab_core::analysis::{Counted, GateName};
use lab_tests::{
    assert_blast_radius, assert_no_process_left, assert_rolled_back,
    assert_time_to_decision_consistent, errors_by_version, failed_gates, quick_plan, run_local,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_canary_rolls_back_on_its_p99() {
    let plan = quick_plan("slow-canary");
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("slow_canary", report.summary());
    assert_rolled_back(report, "my-app-v2", "v1.0.0", 10);

    let [gate, relative] = failed_gates(report, &[GateName::P99Latency, GateName::P99VsBaseline])
        .try_into()
        .unwrap();
    let (measured, threshold) = (gate.measured.unwrap(), gate.threshold.unwrap());
    assert_eq!(threshold, 500.0);
    assert!(
        (600.0..2000.0).contains(&measured),
        "p99 {measured} ms, expected a little over 600 ms"
    );
    // Every v2 answer is slower than the limit from v1's p99, so that gate has
    // evidence too.
    assert_eq!(relative.measured, Some(measured));
    assert!(
        relative.threshold.unwrap() < 600.0,
        "{}",
        relative.explanation
    );
    let evidence = relative.evidence.as_ref().expect("evidence");
    assert_eq!(evidence.counted, Counted::SlowerThanBaselineLimit);
    assert_eq!(evidence.count, evidence.total, "{}", relative.explanation);
    assert!(evidence.interval.low > 0.01, "{}", relative.explanation);
    let decision = report.decision.as_ref().unwrap();
    assert!(
        (1..=3).contains(&decision.analysis_intervals_elapsed),
        "decided after {} analysis intervals",
        decision.analysis_intervals_elapsed
    );
    assert_time_to_decision_consistent(report);

    assert_blast_radius(report, &run.service, "v1.0.0");
    assert!(errors_by_version(report).values().all(|e| *e == 0));
    // v1 answered at its usual speed throughout.
    for window in &report.windows {
        if let Some(latency) = window.versions.get("v1.0.0").and_then(|t| t.latency) {
            assert!(
                latency.p99_ms < 500.0,
                "window {}: v1 p99 {} ms",
                window.name,
                latency.p99_ms
            );
        }
    }
    assert_no_process_left(&run);
}
