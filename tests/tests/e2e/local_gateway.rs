//! The Gateway API strategies on the local platform: a weighted canary, an A/B
//! test by header, and a shadow (mirrored) candidate, healthy and failing.

use lab_core::analysis::{MirrorSource, Outcome, Verdict};
use lab_core::report::{Report, WindowReport};
use lab_tests::{
    assert_no_failed_request, assert_no_process_left, quick_plan, run_local, run_local_configured,
    share_consistent,
};

fn window<'a>(report: &'a Report, name: &str) -> &'a WindowReport {
    report
        .windows
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("no window {name}"))
}

/// Every class of the window answered only by the versions its route sent it to.
fn routed_right(window: &WindowReport) {
    assert!(
        !window.routing.is_empty(),
        "window {}: no routing verdict",
        window.name
    );
    for verdict in &window.routing {
        assert_eq!(verdict.verdict, Verdict::Pass, "{}", verdict.explanation);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weighted_canary_moves_the_route_weights_and_is_promoted() {
    let plan = quick_plan("canary-weighted");
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("canary_weighted", report.summary());
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    assert_no_failed_request(report);
    // 90/10 by weight, then 50/50.
    assert!(share_consistent(report, "canary", "v2.0.0", 0.1));
    assert!(share_consistent(report, "half", "v2.0.0", 0.5));
    routed_right(window(report, "canary"));
    assert_no_process_left(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ab_testing_sends_the_header_class_to_v2_and_everyone_else_to_v1() {
    let plan = quick_plan("ab-testing");
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("ab_testing", report.summary());
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    assert_no_failed_request(report);
    let ab = window(report, "ab");
    routed_right(ab);
    let answers = |class: &str| {
        let verdict = ab.routing.iter().find(|v| v.class == class).unwrap();
        verdict.answers.keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(answers("v2-header"), ["v2.0.0"]);
    assert_eq!(answers("default"), ["v1.0.0"]);
    assert_no_process_left(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_candidate_gets_copies_users_never_see_and_is_promoted() {
    let plan = quick_plan("shadow");
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("shadow", report.summary());
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    assert_no_failed_request(report);
    let shadow = window(report, "shadow");
    // Users only ever saw v1; v2 got a copy of every request.
    assert_eq!(shadow.versions.keys().collect::<Vec<_>>(), ["v1.0.0"]);
    let mirror = shadow
        .mirror
        .iter()
        .find(|m| m.version == "v2.0.0")
        .unwrap();
    assert_eq!(mirror.verdict, Verdict::Pass, "{}", mirror.explanation);
    assert!(mirror.mirrored > 0);
    assert_no_process_left(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_shadow_is_rolled_back_while_users_see_no_error() {
    let plan = quick_plan("shadow-bad");
    let run = run_local(&plan).await;
    let report = &run.report;
    insta::assert_yaml_snapshot!("shadow_bad", report.summary());
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::RolledBack));
    // The users' answers all came from v1, without an error.
    assert_no_failed_request(report);
    let shadow = window(report, "shadow");
    assert_eq!(shadow.versions.keys().collect::<Vec<_>>(), ["v1.0.0"]);
    let copies = &shadow.gateway.mirrored["v2.0.0"];
    assert!(copies.server_errors > 0, "{copies:?}");
    assert_no_process_left(&run);
}

/// As on a cluster, whose gateway counts nothing the lab can read: the copies
/// and what v2 answered to them come from v2's own metrics in Prometheus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_counted_by_prometheus_roll_a_failing_shadow_back_as_on_a_cluster() {
    let plan = quick_plan("shadow-bad");
    let run = run_local_configured(&plan, |config| {
        config.mirror_counting = lab_runner::MirrorCounting::Prometheus;
    })
    .await;
    let report = &run.report;
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::RolledBack));
    assert_no_failed_request(report);
    // A quarter mirrored, judged on Prometheus's counts with their tolerance;
    // Prometheus is not checked against itself.
    let quarter = window(report, "shadow-quarter");
    assert_eq!(
        quarter.gateway.mirror_source,
        Some(MirrorSource::Prometheus)
    );
    let mirror = &quarter.mirror[0];
    assert_eq!(
        (mirror.version.as_str(), mirror.source.as_str()),
        ("v2.0.0", "prometheus")
    );
    assert_eq!(mirror.verdict, Verdict::Pass, "{}", mirror.explanation);
    assert!(mirror.tolerance.is_some() && mirror.mirrored > 0);
    let check = quarter
        .cross_check
        .iter()
        .find(|c| c.version == "v2.0.0")
        .unwrap();
    assert_eq!(
        check.verdict,
        Verdict::NotApplicable,
        "{}",
        check.explanation
    );
    // The failing candidate is gated on the 5xx its metrics counted.
    let shadow = window(report, "shadow");
    let success = shadow
        .gates
        .iter()
        .find(|g| g.gate.as_str() == "success_rate")
        .unwrap();
    assert_eq!(
        (success.verdict, success.source.as_str()),
        (Verdict::Fail, "prometheus"),
        "{}",
        success.explanation
    );
    assert!(shadow.gateway.mirrored["v2.0.0"].server_errors > 0);
    assert_no_process_left(&run);
}
