//! Pod termination on the local platform: a pod deleted during a rolling
//! update leaves the endpoints and gets SIGTERM at the same moment, while the
//! Service (kube-proxy) learns of it only after the proxy sync delay. An app
//! that stops accepting at SIGTERM fails the requests sent in that gap
//! (`ramped-no-prestop`); a preStop sleep covers it (`ramped-prestop`).

use lab_core::analysis::Outcome;
use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::report::Report;
use lab_tests::{assert_no_failed_request, assert_no_process_left, repo_root, run_local};
use std::time::Duration;

/// The quick plan of a shipped scenario with the proxy sync delay given.
fn plan_with_delay(scenario: &str, delay: Duration) -> Plan {
    let dir = lab_runner::scenario_dir::shipped(&repo_root(), scenario);
    let scenario = lab_runner::load_scenario(&dir, &format!("lab/scenarios/{scenario}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let overrides = Overrides {
        proxy_sync_delay: Some(delay),
        ..Overrides::default()
    };
    Plan::build(&scenario, ProfileName::Quick, &overrides).unwrap()
}

/// Requests that failed without an answer, over the whole run.
fn failed_requests(report: &Report) -> u64 {
    report
        .windows
        .iter()
        .map(|w| w.connection_failures.total())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramped_without_prestop_fails_requests_during_the_rollout() {
    let plan = plan_with_delay("ramped-no-prestop", Duration::from_secs(1));
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("ramped_no_prestop", report.summary());
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    assert!(
        failed_requests(report) > 0,
        "no request failed while pods stopped at SIGTERM before the proxy forgot them"
    );
    // The refused connections are the old pods': the Service counted them.
    let v1 = report
        .windows
        .iter()
        .filter_map(|w| w.versions.get("v1.0.0"))
        .map(|t| t.attributed_failures)
        .sum::<u64>();
    assert!(v1 > 0, "no failure attributed to v1.0.0");
    assert_no_process_left(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramped_with_prestop_rolls_out_without_a_failed_request() {
    let plan = plan_with_delay("ramped-prestop", Duration::from_secs(1));
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("ramped_prestop", report.summary());
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    assert_no_failed_request(report);
    assert_no_process_left(&run);
}

/// The longer kube-proxy lags, the more connections reach pods that stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_requests_grow_with_the_proxy_sync_delay() {
    let short = run_local(&plan_with_delay("ramped-no-prestop", Duration::ZERO)).await;
    let long = run_local(&plan_with_delay(
        "ramped-no-prestop",
        Duration::from_secs(2),
    ))
    .await;
    let (short, long) = (
        failed_requests(&short.report),
        failed_requests(&long.report),
    );
    eprintln!("failed requests: {short} at 0s, {long} at 2s");
    assert!(
        long > short,
        "failed requests at 2s ({long}) not above those at 0s ({short})"
    );
}
