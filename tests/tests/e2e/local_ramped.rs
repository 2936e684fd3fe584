//! The ramped strategy (a rolling update) on the local platform: v2 replaces v1
//! pod by pod and no request fails.

use lab_core::analysis::Outcome;
use lab_tests::{assert_no_failed_request, assert_no_process_left, quick_plan, run_local};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramped_rolls_out_without_a_failed_request() {
    let plan = quick_plan("ramped");
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("ramped", report.summary());
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    assert_no_failed_request(report);
    // Both versions served during the rollout.
    let served: std::collections::BTreeSet<&String> = report
        .windows
        .iter()
        .flat_map(|w| w.versions.keys())
        .collect();
    assert!(served.contains(&"v1.0.0".to_string()) && served.contains(&"v2.0.0".to_string()));
    assert_no_process_left(&run);
}
