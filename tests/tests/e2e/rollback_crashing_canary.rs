//! crashing-canary end to end on the local platform: v2 exits 7 s after it
//! starts. The restart gate fails at the next look, the lab rolls back, and the
//! requests the crash cut off (which have no version on the client side) are
//! attributed to v2 from the Service listener's own tallies, never to v1.
//!
//! The run's proxy sync delay is zero: with kube-proxy's lag the Service keeps
//! sending the crashed pod connections for a second, enough to fail the success
//! rate as well at random; `local_termination` measures that lag, this test the
//! restart gate.

use lab_core::analysis::{GateName, Verdict};
use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_tests::{
    assert_blast_radius, assert_no_process_left, assert_rolled_back,
    assert_time_to_decision_consistent, errors_by_version, failed_gate, repo_root, run_local,
};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashing_canary_rolls_back_on_its_restart() {
    let dir = lab_runner::scenario_dir::shipped(&repo_root(), "crashing-canary");
    let scenario = lab_runner::load_scenario(&dir, "lab/scenarios/crashing-canary").unwrap();
    let overrides = Overrides {
        proxy_sync_delay: Some(Duration::ZERO),
        ..Overrides::default()
    };
    let plan = Plan::build(&scenario, ProfileName::Quick, &overrides).unwrap();
    let run = run_local(&plan).await;
    let report = &run.report;
    // Whether a request was in flight at the instant v2 died is chance: when one
    // was, it counts against v2's success rate, which is then below 99% on
    // about 80 requests without clear evidence (inconclusive instead of pass).
    // Asserted below; everything else is pinned.
    insta::assert_yaml_snapshot!("crashing_canary", report.summary(), {
        ".windows[3].gates[0].verdict" => "[pass, or inconclusive with a request cut off]",
    });
    assert_rolled_back(report, "my-app-v2", "v1.0.0", 10);

    let gate = failed_gate(report, GateName::Restarts);
    assert_eq!(gate.threshold, Some(0.0));
    assert!(gate.measured.unwrap() >= 1.0);
    let canary = report.windows.iter().find(|w| w.name == "canary").unwrap();
    let success = &canary.gates[0];
    assert_eq!(success.gate, GateName::SuccessRate);
    let cut_off = canary.versions["v2.0.0"].attributed_failures;
    match cut_off {
        0 => assert_eq!(success.verdict, Verdict::Pass, "{}", success.explanation),
        _ => assert!(
            matches!(success.verdict, Verdict::Pass | Verdict::Inconclusive),
            "{}",
            success.explanation
        ),
    }
    // The crash shows in the platform's events.
    assert!(
        report
            .events
            .iter()
            .any(|e| e.reason == "BackOff" && e.object.starts_with("pod/my-app-v2")),
        "no BackOff event for v2: {:#?}",
        report.events
    );
    assert_time_to_decision_consistent(report);

    // Whatever the crash cut off is v2's: the Service counted it for v2, and the
    // report attributes every failed request to it.
    assert_blast_radius(report, &run.service, "v1.0.0");
    let v2 = &run.service["v2.0.0"];
    let attributed: u64 = report
        .windows
        .iter()
        .filter_map(|w| w.versions.get("v2.0.0"))
        .map(|t| t.attributed_failures)
        .sum();
    assert!(
        attributed <= v2.connect_failures + v2.empty_replies,
        "attributed {attributed}, the Service saw {v2:?}"
    );
    let errors = errors_by_version(report);
    assert_eq!(errors["v1.0.0"], 0, "{errors:?}");
    assert_no_process_left(&run);
}
