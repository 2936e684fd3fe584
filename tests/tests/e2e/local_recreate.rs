//! The recreate strategy on the local platform: every v1 pod stops before any
//! v2 pod starts, so the Service has a window without endpoints; the lab
//! measures it.

use lab_core::analysis::Outcome;
use lab_tests::{assert_no_process_left, quick_plan, run_local};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_reports_its_downtime() {
    let plan = quick_plan("recreate");
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("recreate", report.summary());
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    let longest = report
        .windows
        .iter()
        .map(|w| w.downtime.longest_ms)
        .max()
        .unwrap_or(0);
    // v1 drains and stops, then v2 starts: well over the 250 ms gap threshold.
    assert!(longest >= 250, "downtime {longest} ms");
    let failed: u64 = report
        .windows
        .iter()
        .map(|w| w.connection_failures.total())
        .sum();
    assert!(failed > 0, "no request failed while no pod was ready");
    assert_no_process_left(&run);
}
