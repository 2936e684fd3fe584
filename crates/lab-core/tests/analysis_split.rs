//! Expected shares from the ready-endpoints timeline, and split verdicts.

mod analysis_fixtures;

use analysis_fixtures::{WindowBuilder, served};
use lab_core::analysis::{
    ReadySample, SplitInput, Verdict, WindowKind, expected_shares, split, split_verdict,
    wilson_interval, z_for_confidence,
};
use std::collections::BTreeMap;

fn samples(points: &[(u64, &[(&str, u32)])]) -> Vec<ReadySample> {
    points
        .iter()
        .map(|(t_ms, ready)| ReadySample {
            t_ms: *t_ms,
            ready: ready.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect(),
            route: Default::default(),
        })
        .collect()
}

#[test]
fn expected_shares_are_time_weighted_ratios_of_ready_endpoints() {
    fn check(points: &[(u64, &[(&str, u32)])], window: (u64, u64), expected: &[(&str, f64)]) {
        let got = expected_shares(&samples(points), window.0, window.1);
        let got_versions: Vec<&str> = got.keys().map(String::as_str).collect();
        let want_versions: Vec<&str> = expected.iter().map(|(v, _)| *v).collect();
        assert_eq!(
            got_versions, want_versions,
            "versions for {points:?} over {window:?}"
        );
        for (version, share) in expected {
            let value = got[*version];
            assert!(
                (value - share).abs() < 1e-12,
                "{version}: {value}, expected {share} for {points:?} over {window:?}"
            );
        }
    }
    // The tutorial's canary: 9 pods of v1 and 1 of v2 for the whole window.
    check(
        &[(0, &[("v1", 9), ("v2", 1)])],
        (1000, 2000),
        &[("v1", 0.9), ("v2", 0.1)],
    );
    // Half the window with 10 v1, half with 9 v1 + 1 v2.
    check(
        &[(0, &[("v1", 10)]), (500, &[("v1", 9), ("v2", 1)])],
        (0, 1000),
        &[("v1", 0.95), ("v2", 0.05)],
    );
    // Only the last sample before the start counts for the start.
    check(
        &[(0, &[("v1", 10)]), (100, &[("v1", 5), ("v2", 5)])],
        (200, 1200),
        &[("v1", 0.5), ("v2", 0.5)],
    );
    // Samples after the end do not count.
    check(
        &[(0, &[("v1", 1)]), (1000, &[("v2", 1)])],
        (0, 1000),
        &[("v1", 1.0)],
    );
    // Time without any ready endpoint draws no traffic, so it is not counted.
    check(
        &[(0, &[("v1", 0)]), (500, &[("v2", 2)])],
        (0, 1000),
        &[("v2", 1.0)],
    );
    // Time before the first sample is not counted.
    check(&[(500, &[("v1", 3)])], (0, 1000), &[("v1", 1.0)]);
    // The ratio is averaged over time, not the endpoint counts: 1 of 2 for half the
    // window and 1 of 10 for the other half give 0.3, not 2/12.
    check(
        &[(0, &[("v1", 1), ("v2", 1)]), (500, &[("v1", 9), ("v2", 1)])],
        (0, 1000),
        &[("v1", 0.7), ("v2", 0.3)],
    );
    // A zero-length window takes the state at its start.
    check(
        &[(0, &[("v1", 3), ("v2", 1)]), (100, &[("v2", 1)])],
        (50, 50),
        &[("v1", 0.75), ("v2", 0.25)],
    );
    // No ready endpoint at all, or no sample: nothing to expect.
    check(&[(0, &[("v1", 0), ("v2", 0)])], (0, 1000), &[]);
    check(&[], (0, 1000), &[]);
    check(&[(2000, &[("v1", 1)])], (0, 1000), &[]);
}

/// Checks one version's split verdict at 99% with `min_samples` 50.
fn check_split(
    (requests, samples, expected_share, kind): (u64, u64, Option<f64>, WindowKind),
    expected: (Verdict, Option<bool>),
) {
    check_split_at(0.99, (requests, samples, expected_share, kind), expected);
}

fn check_split_at(
    confidence: f64,
    (requests, samples, expected_share, kind): (u64, u64, Option<f64>, WindowKind),
    (verdict, inside): (Verdict, Option<bool>),
) {
    let got = split_verdict(
        SplitInput {
            version: "v2",
            requests,
            samples,
            expected_share,
            kind,
        },
        confidence,
        50,
    );
    let got_inside = got
        .interval
        .zip(got.expected_share)
        .map(|(interval, share)| interval.contains(share));
    assert_eq!(
        (got.verdict, got_inside),
        (verdict, inside),
        "{requests}/{samples} against {expected_share:?} in {kind} at {confidence}: {}",
        got.explanation
    );
    assert_eq!(got.requests, requests);
    assert_eq!(got.samples, samples);
    assert_eq!(got.source, "client");
    assert!(!got.explanation.is_empty());
}

#[test]
fn split_verdicts() {
    use Verdict::*;
    use WindowKind::*;
    // 10% observed, 99% interval [7.81%, 12.71%].
    check_split((100, 1000, Some(0.10), Observe), (Pass, Some(true)));
    check_split((100, 1000, Some(0.15), Observe), (Fail, Some(false)));
    check_split((100, 1000, Some(0.05), Analyze), (Fail, Some(false)));
    // Zero traffic to a version that should draw 10%.
    check_split((0, 1000, Some(0.10), Observe), (Fail, Some(false)));
    // Zero traffic to a version that should draw none: 0 is the interval's bound.
    check_split((0, 1000, Some(0.0), Observe), (Pass, Some(true)));
    // All traffic to the only version: 1 is the interval's bound.
    check_split((1000, 1000, Some(1.0), Observe), (Pass, Some(true)));
    // One sample: too few to judge, though the expected share is inside.
    check_split((1, 1, Some(1.0), Observe), (Inconclusive, Some(true)));
    // Below, at and above min_samples (50).
    check_split((5, 49, Some(0.1), Observe), (Inconclusive, Some(true)));
    check_split((5, 50, Some(0.1), Observe), (Pass, Some(true)));
    check_split((0, 49, Some(0.5), Observe), (Inconclusive, Some(false)));
    check_split((0, 50, Some(0.5), Observe), (Fail, Some(false)));
    // No traffic at all, or no ready endpoint.
    check_split((0, 0, Some(0.1), Observe), (Inconclusive, None));
    check_split((100, 1000, None, Observe), (Inconclusive, None));
    // A transition is shown, not judged.
    check_split(
        (100, 1000, Some(0.5), Transition),
        (NotApplicable, Some(false)),
    );
    // 7% lies outside the 99% interval but inside the 99.99% one [6.88%, 14.31%].
    check_split_at(0.99, (100, 1000, Some(0.07), Observe), (Fail, Some(false)));
    check_split_at(0.9999, (100, 1000, Some(0.07), Observe), (Pass, Some(true)));
}

#[test]
fn a_share_exactly_at_the_interval_bound_is_inside() {
    let interval = wilson_interval(100, 1000, z_for_confidence(0.99)).unwrap();
    let at = |share: f64| (100, 1000, Some(share), WindowKind::Observe);
    check_split(at(interval.low), (Verdict::Pass, Some(true)));
    check_split(at(interval.high), (Verdict::Pass, Some(true)));
    check_split(at(interval.low.next_down()), (Verdict::Fail, Some(false)));
    check_split(at(interval.high.next_up()), (Verdict::Fail, Some(false)));
}

/// Checks the split of a whole window: version → (verdict, expected share).
fn check_window(
    window: lab_core::analysis::WindowObservation,
    expected: &[(&str, Verdict, Option<f64>)],
) {
    let got: Vec<(String, Verdict, Option<f64>)> = split(&window, 0.99, 50)
        .into_iter()
        .map(|s| (s.version, s.verdict, s.expected_share))
        .collect();
    let want: Vec<(String, Verdict, Option<f64>)> = expected
        .iter()
        .map(|(v, verdict, share)| ((*v).to_owned(), *verdict, *share))
        .collect();
    assert_eq!(got, want, "split of window {}", window.name);
}

#[test]
fn split_of_a_window() {
    use Verdict::*;
    let canary = || WindowBuilder::new("canary", WindowKind::Observe, 1000, 61_000);
    check_window(
        canary()
            .ready(0, &[("v1", 9), ("v2", 1)])
            .version("v1", served(540, 540, 10.0, 0))
            .version("v2", served(60, 60, 10.0, 0))
            .build(),
        &[("v1", Pass, Some(0.9)), ("v2", Pass, Some(0.1))],
    );
    // A version absent from the window (no endpoint, no traffic) is left out, whether
    // or not the timeline names it.
    check_window(
        canary()
            .ready(0, &[("v1", 0), ("v2", 10)])
            .version("v2", served(600, 600, 10.0, 0))
            .build(),
        &[("v2", Pass, Some(1.0))],
    );
    check_window(
        canary()
            .ready(0, &[("v2", 10)])
            .version("v1", served(0, 0, 0.0, 0))
            .version("v2", served(600, 600, 10.0, 0))
            .build(),
        &[("v2", Pass, Some(1.0))],
    );
    // A version expected to draw traffic but drawing none.
    check_window(
        canary()
            .ready(0, &[("v1", 9), ("v2", 1)])
            .version("v1", served(600, 600, 10.0, 0))
            .build(),
        &[("v1", Fail, Some(0.9)), ("v2", Fail, Some(0.1))],
    );
    // A version drawing traffic with no ready endpoint.
    check_window(
        canary()
            .ready(0, &[("v1", 10)])
            .version("v1", served(500, 500, 10.0, 0))
            .version("v2", served(100, 100, 10.0, 0))
            .build(),
        &[("v1", Fail, Some(1.0)), ("v2", Fail, Some(0.0))],
    );
    // All errors still count as answers from the version.
    check_window(
        canary()
            .ready(0, &[("v1", 9), ("v2", 1)])
            .version("v1", served(540, 540, 10.0, 0))
            .version("v2", served(60, 0, 10.0, 0))
            .build(),
        &[("v1", Pass, Some(0.9)), ("v2", Pass, Some(0.1))],
    );
    // No ready endpoint in the whole window: nothing to compare with.
    check_window(
        canary().version("v1", served(600, 600, 10.0, 0)).build(),
        &[("v1", Inconclusive, None)],
    );
    // No traffic and no endpoint: nothing at all.
    check_window(canary().build(), &[]);
}

#[test]
fn expected_share_map_is_sorted_by_version() {
    let shares: BTreeMap<String, f64> =
        expected_shares(&samples(&[(0, &[("b", 1), ("a", 3)])]), 0, 10);
    assert_eq!(shares.keys().collect::<Vec<_>>(), ["a", "b"]);
}
