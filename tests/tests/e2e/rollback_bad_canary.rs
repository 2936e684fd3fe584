//! bad-canary end to end on the local platform: v2 answers one request in five
//! with a 500. The success-rate gate fails within a few analysis intervals of v2
//! becoming ready, the lab rolls back, and v1 never notices.

use lab_core::analysis::GateName;
use lab_tests::{
    assert_blast_radius, assert_no_process_left, assert_rolled_back,
    assert_time_to_decision_consistent, errors_by_version, failed_gate, quick_plan, run_local,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_canary_rolls_back_on_its_success_rate() {
    let plan = quick_plan("bad-canary");
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("bad_canary", report.summary());
    assert_rolled_back(report, "my-app-v2", "v1.0.0", 10);

    // The report names the gate, what it measured and what it was held to.
    let gate = failed_gate(report, GateName::SuccessRate);
    let (measured, threshold) = (gate.measured.unwrap(), gate.threshold.unwrap());
    assert_eq!(threshold, 0.99);
    // ERROR_RATE 0.2: about 80% of v2's answers succeed.
    assert!(
        (0.4..0.97).contains(&measured),
        "success rate {measured} is not near 80%"
    );
    assert!(
        report
            .decision
            .as_ref()
            .unwrap()
            .reason
            .contains(&format!("{:.2}%", measured * 100.0))
    );

    // Decided at the third look at the latest. How long that takes in time is
    // a benchmark's business (`cargo xtask bench bad-canary-decision`), not a
    // timed test's.
    let decision = report.decision.as_ref().unwrap();
    assert!(
        (1..=3).contains(&decision.analysis_intervals_elapsed),
        "decided after {} analysis intervals",
        decision.analysis_intervals_elapsed
    );
    assert_time_to_decision_consistent(report);
    eprintln!(
        "time to decision: {} ms ({} interval(s))",
        decision.time_to_decision_ms, decision.analysis_intervals_elapsed
    );

    // The errors were v2's, none v1's.
    assert_blast_radius(report, &run.service, "v1.0.0");
    let errors = errors_by_version(report);
    assert!(errors["v2.0.0"] > 0, "{errors:?}");
    assert_eq!(errors["v1.0.0"], 0, "{errors:?}");
    assert_no_process_left(&run);
}
