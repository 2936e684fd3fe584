//! Client counts against Prometheus's `increase()`.

mod analysis_fixtures;

use analysis_fixtures::{WindowBuilder, served};
use lab_core::analysis::{
    CrossCheckTolerance, Verdict, WindowKind, WindowObservation, cross_check, cross_check_version,
};

#[test]
fn allowed_difference_is_the_largest_of_share_rate_and_floor() {
    fn check(client_count: u64, window_ms: u64, scrape_interval_ms: u64, expected: f64) {
        let got = CrossCheckTolerance::default().allowed_difference(
            client_count,
            window_ms,
            scrape_interval_ms,
        );
        assert!(
            (got - expected).abs() < 1e-9,
            "{client_count} over {window_ms} ms, scrape {scrape_interval_ms} ms: {got}, expected {expected}"
        );
    }
    // 10/s for 100 s, 5 s scrapes: 10% of 1000 = 100 and 10/s × 2 × 5 s = 100.
    check(1000, 100_000, 5000, 100.0);
    // A long window: the share rules (10/s for 1000 s: 1000 against 100).
    check(10_000, 1_000_000, 5000, 1000.0);
    // A short window: the rate rules (10/s for 10 s: 10 against 100).
    check(100, 10_000, 5000, 100.0);
    // A faster scrape allows less.
    check(100, 10_000, 1000, 20.0);
    // No client traffic: the floor of two requests.
    check(0, 10_000, 5000, 2.0);
    check(5, 10_000, 100, 2.0);
    // A zero-length window has no rate.
    check(100, 0, 5000, 10.0);
}

/// Checks the cross-check of `v2` in `window`: the verdict and the server count.
fn check(window: WindowObservation, expected: (Verdict, Option<f64>)) {
    let got = cross_check_version(&window, "v2", &CrossCheckTolerance::default());
    assert_eq!(
        (got.verdict, got.server_count),
        expected,
        "cross-check in {}: {}",
        window.name,
        got.explanation
    );
    assert_eq!(
        got.client_count,
        window.versions.get("v2").map_or(0, |t| t.requests)
    );
}

#[test]
fn cross_check_verdicts() {
    use Verdict::*;
    // 1000 requests over 100 s with 5 s scrapes: 100 allowed either way.
    let steady = |kind| {
        WindowBuilder::new("steady", kind, 0, 100_000).version("v2", served(1000, 1000, 10.0, 0))
    };
    check(
        steady(WindowKind::Observe)
            .server(5000, false, &[("v2", 1000.0)])
            .build(),
        (Pass, Some(1000.0)),
    );
    check(
        steady(WindowKind::Observe)
            .server(5000, false, &[("v2", 950.0)])
            .build(),
        (Pass, Some(950.0)),
    );
    check(
        steady(WindowKind::Analyze)
            .server(5000, false, &[("v2", 1100.0)])
            .build(),
        (Pass, Some(1100.0)),
    );
    check(
        steady(WindowKind::Observe)
            .server(5000, false, &[("v2", 900.0)])
            .build(),
        (Pass, Some(900.0)),
    );
    check(
        steady(WindowKind::Observe)
            .server(5000, false, &[("v2", 899.0)])
            .build(),
        (Fail, Some(899.0)),
    );
    check(
        steady(WindowKind::Observe)
            .server(5000, false, &[("v2", 1100.5)])
            .build(),
        (Fail, Some(1100.5)),
    );
    // Without Prometheus there is nothing to compare with.
    check(steady(WindowKind::Observe).build(), (Inconclusive, None));
    // Partial data cannot prove a mismatch, but agreement still counts.
    check(
        steady(WindowKind::Observe)
            .server(5000, true, &[("v2", 500.0)])
            .build(),
        (Inconclusive, Some(500.0)),
    );
    check(
        steady(WindowKind::Observe)
            .server(5000, true, &[("v2", 990.0)])
            .build(),
        (Pass, Some(990.0)),
    );
    // Transitions are shown, not judged.
    check(
        steady(WindowKind::Transition)
            .server(5000, false, &[("v2", 10.0)])
            .build(),
        (NotApplicable, Some(10.0)),
    );
    // A version Prometheus returned no series for counts as 0 when data is complete.
    check(
        steady(WindowKind::Observe)
            .server(5000, false, &[("v1", 0.0)])
            .build(),
        (Fail, Some(0.0)),
    );

    // A new pod: 100 requests in 10 s, of which Prometheus has not seen any yet
    // (first scrape pending); the rate term allows 10/s × 2 × 5 s = 100.
    let new_pod = || {
        WindowBuilder::new("new pod", WindowKind::Observe, 0, 10_000)
            .version("v2", served(100, 100, 10.0, 0))
    };
    check(
        new_pod().server(5000, false, &[("v2", 0.0)]).build(),
        (Pass, Some(0.0)),
    );
    check(
        new_pod().server(5000, false, &[("v2", 10.0)]).build(),
        (Pass, Some(10.0)),
    );
    check(
        new_pod().server(1000, false, &[("v2", 10.0)]).build(),
        (Fail, Some(10.0)),
    );

    // No traffic on either side agrees; traffic only Prometheus saw does not.
    let idle = || WindowBuilder::new("idle", WindowKind::Observe, 0, 10_000);
    check(
        idle().server(5000, false, &[("v2", 0.0)]).build(),
        (Pass, Some(0.0)),
    );
    check(
        idle().server(5000, false, &[("v2", 5.0)]).build(),
        (Fail, Some(5.0)),
    );
}

#[test]
fn cross_check_covers_versions_from_both_sides() {
    let window = WindowBuilder::new("canary", WindowKind::Observe, 0, 60_000)
        .version("v1", served(540, 540, 10.0, 0))
        .version("v2", served(60, 60, 10.0, 0))
        .server(5000, false, &[("v1", 541.3), ("v3", 0.0), ("v4", 7.0)])
        .build();
    let got: Vec<(String, Verdict, String)> = cross_check(&window, &CrossCheckTolerance::default())
        .into_iter()
        .map(|c| (c.version, c.verdict, c.source))
        .collect();
    let query = "sum(increase(http_requests_total{app=\"my-app\",version=\"v1\"}[60s]))";
    assert_eq!(
        got,
        [
            ("v1".to_owned(), Verdict::Pass, query.to_owned()),
            // 60 requests over 60 s: 1/s × 2 × 5 s = 10 < 60 missing.
            (
                "v2".to_owned(),
                Verdict::Fail,
                "prometheus returned no series".to_owned()
            ),
            // v3 had no traffic either side (a pod draining): not checked.
            // v4 had none on the client side but 7 on the server's: checked.
            ("v4".to_owned(), Verdict::Fail, query.replace("v1", "v4")),
        ]
    );
}

#[test]
fn cross_check_without_prometheus_names_no_query() {
    let window = WindowBuilder::new("w", WindowKind::Observe, 0, 1000)
        .version("v1", served(10, 10, 1.0, 0))
        .build();
    let got = cross_check(&window, &CrossCheckTolerance::default());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].source, "prometheus unavailable");
    assert_eq!((got[0].difference, got[0].allowed_difference), (None, None));
}

#[test]
fn copies_counted_by_prometheus_are_not_checked_against_prometheus() {
    use lab_core::analysis::{MirrorSource, VersionTally};
    let shadow = |source| {
        let mut window = WindowBuilder::new("shadow", WindowKind::Analyze, 0, 10_000)
            .version("v1", served(800, 800, 10.0, 0))
            .server(1000, false, &[("v1", 800.0), ("v2", 790.0)])
            .build();
        window.gateway.mirrored.insert(
            "v2".to_owned(),
            VersionTally {
                requests: 790,
                successes: 790,
                ..VersionTally::default()
            },
        );
        window.gateway.mirror_source = Some(source);
        cross_check(&window, &CrossCheckTolerance::default())
    };
    // The gateway's count of copies stands in for the clients'.
    let by_gateway = shadow(MirrorSource::Gateway);
    assert_eq!(by_gateway[1].version, "v2");
    assert_eq!(
        (by_gateway[1].verdict, by_gateway[1].client_count),
        (Verdict::Pass, 790)
    );
    // Prometheus's own count of them is no second opinion.
    let by_prometheus = shadow(MirrorSource::Prometheus);
    assert_eq!(by_prometheus[0].verdict, Verdict::Pass);
    assert_eq!(
        (by_prometheus[1].verdict, by_prometheus[1].client_count),
        (Verdict::NotApplicable, 0),
        "{}",
        by_prometheus[1].explanation
    );
    // What Prometheus counted is still shown.
    assert_eq!(by_prometheus[1].server_count, Some(790.0));
    assert_eq!(by_prometheus[1].difference, None);
}
