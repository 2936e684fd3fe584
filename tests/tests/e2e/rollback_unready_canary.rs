//! unready-canary end to end on the local platform: v2 never becomes ready, so
//! it never gets a request; its wait times out, which is a missed progress
//! deadline, and the lab rolls back without an analysis.

use lab_core::analysis::DecisionCause;
use lab_tests::{
    assert_blast_radius, assert_no_process_left, assert_rolled_back,
    assert_time_to_decision_consistent, errors_by_version, quick_plan, run_local,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unready_canary_rolls_back_at_its_progress_deadline() {
    let plan = quick_plan("unready-canary");
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("unready_canary", report.summary());
    assert_rolled_back(report, "my-app-v2", "v1.0.0", 10);

    let decision = report.decision.as_ref().unwrap();
    assert_eq!(
        decision.cause,
        DecisionCause::ProgressDeadline {
            waited_for: vec!["my-app-v1".into(), "my-app-v2".into()]
        }
    );
    assert!(
        decision.reason.contains("deployment my-app-v2: 0/1 ready"),
        "{}",
        decision.reason
    );
    // Never ready: timed from when it was applied, the wait's 20 s.
    assert!(
        report
            .timeline
            .iter()
            .all(|s| !s.ready.contains_key("v2.0.0"))
    );
    assert!(
        (20_000..25_000).contains(&decision.time_to_decision_ms),
        "{} ms",
        decision.time_to_decision_ms
    );
    assert_time_to_decision_consistent(report);

    assert_blast_radius(report, &run.service, "v1.0.0");
    assert!(!run.service.contains_key("v2.0.0"), "v2 got connections");
    assert!(errors_by_version(report).values().all(|e| *e == 0));
    assert_no_process_left(&run);
}
