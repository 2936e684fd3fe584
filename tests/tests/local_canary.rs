//! The tutorial's canary, end to end on the local platform: real demo-app
//! processes, the real Prometheus, real traffic.

use lab_core::analysis::{Outcome, Verdict, WindowKind, wilson_interval, z_for_confidence};
use lab_tests::{quick_plan, run_local};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_promotes_with_a_ten_percent_split() {
    let plan = quick_plan("canary");
    let run = run_local(&plan).await;
    let report = &run.report;
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&report.summary()).unwrap()
    );
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    let canary = report
        .windows
        .iter()
        .find(|w| w.name == "canary")
        .expect("a canary window");
    assert_eq!(canary.kind, WindowKind::Analyze);
    let v2 = canary.versions.get("v2.0.0").expect("v2 answered");
    let total: u64 = canary.versions.values().map(|t| t.requests).sum();
    // 99.99% confidence: a correct lab fails this check less than once in 10,000 runs.
    let interval = wilson_interval(v2.requests, total, z_for_confidence(0.9999)).unwrap();
    assert!(
        interval.contains(0.10),
        "v2 {} of {total}: {interval:?}",
        v2.requests
    );
    for window in &report.windows {
        assert_eq!(window.connection_failures.total(), 0, "{}", window.name);
        for (version, tally) in &window.versions {
            assert_eq!(tally.successes, tally.requests, "{} {version}", window.name);
        }
        for check in &window.cross_check {
            assert_ne!(
                check.verdict,
                Verdict::Fail,
                "{}: {}",
                window.name,
                check.explanation
            );
        }
    }
    for pid in &run.pids {
        assert!(
            !platform_local::statefile::alive(*pid),
            "pid {pid} left behind"
        );
    }
}
