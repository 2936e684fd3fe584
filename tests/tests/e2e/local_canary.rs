//! The tutorial's canary, end to end on the local platform: real demo-app
//! processes, the real Prometheus, real traffic.

use lab_core::analysis::{Outcome, Verdict, WindowKind};
use lab_tests::{
    assert_no_failed_request, assert_no_process_left, quick_plan, run_local, share_consistent,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_promotes_with_a_ten_percent_split() {
    let plan = quick_plan("canary");
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("canary", report.summary());
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    let canary = report
        .windows
        .iter()
        .find(|w| w.name == "canary")
        .expect("a canary window");
    assert_eq!(canary.kind, WindowKind::Analyze);
    assert!(
        share_consistent(report, "canary", "v2.0.0", 0.10),
        "v2's share is not consistent with 10%: {:?}",
        canary.versions
    );
    assert_no_failed_request(report);
    // Prometheus and the client agree per version, in every window.
    for window in report
        .windows
        .iter()
        .filter(|w| w.kind != WindowKind::Transition)
    {
        let checks: Vec<_> = window
            .cross_check
            .iter()
            .filter(|c| c.verdict != Verdict::NotApplicable)
            .collect();
        assert!(!checks.is_empty(), "{}: no cross-check", window.name);
        for check in checks {
            assert_eq!(
                check.verdict,
                Verdict::Pass,
                "{}: {}",
                window.name,
                check.explanation
            );
        }
    }
    assert_no_process_left(&run);
}
