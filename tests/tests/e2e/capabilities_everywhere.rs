//! A platform's capabilities reach `lab run` and the tests alike, because both
//! open their lab through `lab_session::open_run`: here the local Service's
//! count of failed connections, whose effect is in the report. v2 answers
//! slowly and crashes after five answers, so requests are in flight when it
//! dies; the clients see them fail without a version, and the report
//! attributes them to v2 from the Service's count, whichever way the run began.

use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::report::Report;
use lab_tests::{Background, repo_root, run_local};
use std::time::Duration;

const SCENARIO: &str = "tests/fixtures/cut-off-canary";

/// Requests that failed without an answer and were attributed to `version`.
fn attributed(report: &Report, version: &str) -> u64 {
    report
        .windows
        .iter()
        .filter_map(|w| w.versions.get(version))
        .map(|t| t.attributed_failures)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_connections_are_attributed_in_lab_run_and_in_the_tests() {
    let command_line = tokio::task::spawn_blocking(|| {
        let mut run = Background::start(&[
            "lab",
            "run",
            SCENARIO,
            "--profile",
            "quick",
            "--platform",
            "local",
        ]);
        run.wait_exit(Duration::from_secs(240));
        run.report()
    });
    let scenario = lab_runner::load_scenario(&repo_root().join(SCENARIO), SCENARIO).unwrap();
    let plan = Plan::build(&scenario, ProfileName::Quick, &Overrides::default()).unwrap();
    let library = run_local(&plan).await.report;
    let command_line = command_line.await.unwrap();
    for (started, report) in [("lab run", &command_line), ("run_local", &library)] {
        assert!(
            attributed(report, "v2.0.0") > 0,
            "{started}: no failed request attributed to v2: {:#?}",
            report.windows
        );
        assert_eq!(attributed(report, "v1.0.0"), 0, "{started}");
    }
}
