//! Blue/green on the local platform: the Service's selector switches from v1 to
//! v2 at once, and no request fails.

use lab_core::analysis::Outcome;
use lab_tests::{
    assert_no_failed_request, assert_no_process_left, quick_plan, run_local, share_consistent,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_switches_without_a_failed_request() {
    let plan = quick_plan("blue-green");
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("blue_green", report.summary());
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    assert_no_failed_request(report);
    // Before the switch only blue answers, after it only green.
    let decision_window = report
        .decision
        .as_ref()
        .and_then(|d| d.window.clone())
        .unwrap();
    assert!(share_consistent(report, &decision_window, "v2.0.0", 1.0));
    let first_phase = report
        .windows
        .iter()
        .find(|w| !w.name.starts_with('→'))
        .unwrap();
    assert!(share_consistent(report, &first_phase.name, "v1.0.0", 1.0));
    assert_no_process_left(&run);
}
