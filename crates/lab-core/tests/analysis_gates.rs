//! The gates on the candidate: thresholds, the minimum-sample rule, early failure.

mod analysis_fixtures;

use analysis_fixtures::{WindowBuilder, served};
use lab_core::analysis::{
    Comparison, Counted, GateName, Gates, Roles, Unit, Verdict, VersionTally, WindowKind,
    evaluate_gates, p99_gate, p99_vs_baseline_gate, relative_p99_limit, restarts_gate,
    success_rate_gate,
};

fn tally(requests: u64, successes: u64, attributed_failures: u64) -> VersionTally {
    VersionTally {
        attributed_failures,
        ..served(requests, successes, 10.0, 0)
    }
}

/// Checks the success-rate gate on (answered, successes, attributed failures)
/// with the default gates.
fn check_success(input: Option<(u64, u64, u64)>, expected: Verdict) {
    let tally = input.map(|(r, s, a)| tally(r, s, a));
    let got = success_rate_gate("v2", tally.as_ref(), &Gates::default());
    assert_eq!(
        got.verdict, expected,
        "success rate of {input:?}: {}",
        got.explanation
    );
    assert_eq!(got.gate, GateName::SuccessRate);
    assert_eq!((got.threshold, got.limit), (Some(0.99), 0.99));
    assert_eq!(
        (got.unit, got.comparison),
        (Unit::Ratio, Comparison::AtLeast)
    );
    assert_eq!(got.source, "client");
    let total = input.map_or(0, |(r, _, a)| r + a);
    assert_eq!(got.samples, total);
    match input {
        Some((_, s, _)) if total > 0 => {
            assert_eq!(got.measured, Some(s as f64 / total as f64));
            let evidence = got.evidence.expect("evidence with samples");
            assert_eq!(
                (
                    evidence.counted,
                    evidence.count,
                    evidence.total,
                    evidence.limit
                ),
                (Counted::Successes, s, total, 0.99)
            );
        }
        _ => assert_eq!((got.measured, got.evidence), (None, None)),
    }
}

#[test]
fn success_rate_gate_verdicts() {
    use Verdict::*;
    // Nothing reached the candidate.
    check_success(None, Inconclusive);
    check_success(Some((0, 0, 0)), Inconclusive);
    // One sample: a success proves nothing, a failure is already clear evidence
    // (99% upper bound 86.9%).
    check_success(Some((1, 1, 0)), Inconclusive);
    check_success(Some((1, 0, 0)), Fail);
    // Early failure by the Wilson upper bound: 9/10 has 98.81% < 99%, while 11/12
    // has 99.01% and must wait for more samples.
    check_success(Some((10, 9, 0)), Fail);
    check_success(Some((12, 11, 0)), Inconclusive);
    check_success(Some((49, 40, 0)), Fail);
    // Below and at min_samples (50) without errors.
    check_success(Some((49, 49, 0)), Inconclusive);
    check_success(Some((50, 50, 0)), Pass);
    // From min_samples on, the rate itself decides: 96% (upper bound 99.2%) fails.
    check_success(Some((50, 48, 0)), Fail);
    check_success(Some((500, 490, 0)), Fail);
    // Exactly the threshold passes.
    check_success(Some((500, 495, 0)), Pass);
    // All errors.
    check_success(Some((200, 0, 0)), Fail);
    // Connection failures attributed to the candidate count against it.
    check_success(Some((100, 100, 2)), Fail);
    check_success(Some((500, 500, 3)), Pass);
    check_success(Some((0, 0, 1)), Fail);
}

/// Checks the p99 gate on (answered, p99 ms, requests slower than 500 ms).
fn check_p99(input: Option<(u64, f64, u64)>, expected: Verdict) {
    let tally = input.map(|(r, p99, slow)| served(r, r, p99, slow));
    let got = p99_gate("v2", tally.as_ref(), &Gates::default());
    assert_eq!(
        got.verdict, expected,
        "p99 of {input:?}: {}",
        got.explanation
    );
    assert_eq!(got.gate, GateName::P99Latency);
    assert_eq!((got.threshold, got.limit), (Some(500.0), 500.0));
    assert_eq!((got.unit, got.comparison), (Unit::Ms, Comparison::AtMost));
    match input {
        Some((r, p99, slow)) if r > 0 => {
            assert_eq!((got.measured, got.samples), (Some(p99), r));
            let evidence = got.evidence.expect("evidence with samples");
            assert_eq!(
                (
                    evidence.counted,
                    evidence.count,
                    evidence.total,
                    evidence.limit
                ),
                (Counted::SlowerThanMaxP99, slow, r, 0.01)
            );
        }
        _ => assert_eq!((got.measured, got.evidence, got.samples), (None, None, 0)),
    }
}

#[test]
fn p99_gate_verdicts() {
    use Verdict::*;
    check_p99(None, Inconclusive);
    check_p99(Some((0, 0.0, 0)), Inconclusive);
    // One sample, fast or slow: a slow one is clear evidence (lower bound 13.1% > 1%).
    check_p99(Some((1, 20.0, 0)), Inconclusive);
    check_p99(Some((1, 900.0, 1)), Fail);
    check_p99(Some((3, 900.0, 3)), Fail);
    // Early failure by the Wilson lower bound of the slow share: 1 of 10 gives
    // 1.19% > 1%, 1 of 12 gives 0.99% and must wait.
    check_p99(Some((10, 900.0, 1)), Fail);
    check_p99(Some((12, 900.0, 1)), Inconclusive);
    // Below and at min_samples.
    check_p99(Some((49, 100.0, 0)), Inconclusive);
    check_p99(Some((50, 100.0, 0)), Pass);
    // From min_samples on the measured p99 decides; exactly the threshold passes.
    check_p99(Some((100, 500.0, 0)), Pass);
    check_p99(Some((100, 600.0, 3)), Fail);
    // 4 of 100 slow: lower bound 1.2% > 1%, a failure whatever the p99 says.
    check_p99(Some((100, 450.0, 4)), Fail);
}

#[test]
fn p99_gate_without_latency_summary_is_inconclusive() {
    let tally = VersionTally {
        latency: None,
        ..served(100, 100, 10.0, 0)
    };
    let got = p99_gate("v2", Some(&tally), &Gates::default());
    assert_eq!((got.verdict, got.measured), (Verdict::Inconclusive, None));
}

/// Checks the relative p99 gate on the candidate's (answered, p99) and the
/// baseline's, with the expected verdict and threshold in ms.
fn check_relative(
    candidate: (u64, f64),
    baseline: Option<(u64, f64)>,
    expected: (Verdict, Option<f64>),
) {
    let candidate_tally = served(candidate.0, candidate.0, candidate.1, 0);
    let baseline_tally = baseline.map(|(r, p99)| served(r, r, p99, 0));
    let got = p99_vs_baseline_gate(
        "v2",
        Some(&candidate_tally),
        Some(("v1", baseline_tally.as_ref())),
        &Gates::default(),
    );
    assert_eq!(
        (got.verdict, got.threshold),
        expected,
        "candidate {candidate:?} against baseline {baseline:?}: {}",
        got.explanation
    );
    assert_eq!(
        (got.gate, got.limit, got.unit),
        (GateName::P99VsBaseline, 2.0, Unit::Ms)
    );
}

#[test]
fn p99_vs_baseline_gate_verdicts() {
    use Verdict::*;
    // Baseline absent from the window, or present without traffic: not applicable.
    check_relative((100, 30.0), None, (NotApplicable, None));
    check_relative((100, 30.0), Some((0, 0.0)), (NotApplicable, None));
    // 3 ms against 1 ms is within the 50 ms allowance: max(1 × 2, 1 + 50) = 51.
    check_relative((100, 3.0), Some((1000, 1.0)), (Pass, Some(51.0)));
    check_relative((100, 51.0), Some((1000, 1.0)), (Pass, Some(51.0)));
    check_relative((100, 52.0), Some((1000, 1.0)), (Fail, Some(51.0)));
    // Against a slow baseline the ratio rules: max(200 × 2, 200 + 50) = 400.
    check_relative((100, 390.0), Some((1000, 200.0)), (Pass, Some(400.0)));
    check_relative((100, 401.0), Some((1000, 200.0)), (Fail, Some(400.0)));
    // Fewer than min_samples on either side is inconclusive, even if clearly slower.
    check_relative((30, 300.0), Some((1000, 10.0)), (Inconclusive, Some(60.0)));
    check_relative((100, 300.0), Some((30, 10.0)), (Inconclusive, Some(60.0)));
    check_relative((0, 0.0), Some((1000, 10.0)), (Inconclusive, None));
}

#[test]
fn the_relative_limit_is_the_larger_of_ratio_and_allowance() {
    let gates = Gates::default();
    assert_eq!(relative_p99_limit(1.0, &gates), 51.0);
    assert_eq!(relative_p99_limit(50.0, &gates), 100.0);
    assert_eq!(relative_p99_limit(80.5, &gates), 161.0);
    assert_eq!(relative_p99_limit(200.0, &gates), 400.0);
}

#[test]
fn p99_vs_baseline_holds_the_slow_share_against_one_percent() {
    use Verdict::*;
    // The candidate's (requests, p99, answers slower than the limit) against a
    // baseline of 1000 requests with p99 80.5 ms, so a limit of 161 ms.
    let check = |candidate: (u64, f64, u64), expected: Verdict| {
        let (requests, p99, slow) = candidate;
        let mut ours = served(requests, requests, p99, 0);
        if let Some(latency) = ours.latency.as_mut() {
            latency.slower_than_baseline_limit = Some(slow);
        }
        let theirs = served(1000, 1000, 80.5, 0);
        let got = p99_vs_baseline_gate(
            "v2",
            Some(&ours),
            Some(("v1", Some(&theirs))),
            &Gates::default(),
        );
        assert_eq!(
            got.verdict, expected,
            "candidate {candidate:?}: {}",
            got.explanation
        );
        assert_eq!(got.threshold, Some(161.0));
        let evidence = got.evidence.expect("evidence from the count");
        assert_eq!(
            (evidence.counted, evidence.count, evidence.total),
            (Counted::SlowerThanBaselineLimit, slow, requests)
        );
        assert_eq!(evidence.limit, 0.01);
        assert_eq!(expected == Fail, evidence.interval.low > 0.01);
        got.explanation
    };
    // One slow request of 62 makes the p99 (nearly the slowest request) 168.6 ms,
    // above the limit, but it is no evidence that more than 1% are slower.
    let why = check((62, 168.6, 1), Pass);
    assert!(
        why.contains("above, but 1 of 62 requests slower is no evidence"),
        "{why}"
    );
    check((62, 300.0, 2), Pass);
    // Three of 62: the 99% lower bound of the share is 1.2%, above 1%.
    let why = check((62, 300.0, 3), Fail);
    assert!(why.contains("3 of 62 requests slower"), "{why}");
    // Within the limit passes as before.
    let why = check((500, 100.0, 0), Pass);
    assert!(why.ends_with(": within"), "{why}");
    // With fewer than min_samples: fails early on evidence, else inconclusive.
    check((30, 400.0, 30), Fail);
    check((30, 400.0, 1), Inconclusive);
    check((30, 100.0, 0), Inconclusive);
}

#[test]
fn p99_vs_baseline_without_a_baseline_version_is_not_applicable() {
    let candidate = served(100, 100, 10.0, 0);
    let got = p99_vs_baseline_gate("v2", Some(&candidate), None, &Gates::default());
    assert_eq!(got.verdict, Verdict::NotApplicable);
}

#[test]
fn p99_vs_baseline_counts_the_smaller_side_as_samples() {
    let candidate = served(60, 60, 10.0, 0);
    let baseline = served(540, 540, 10.0, 0);
    let got = p99_vs_baseline_gate(
        "v2",
        Some(&candidate),
        Some(("v1", Some(&baseline))),
        &Gates::default(),
    );
    assert_eq!(got.samples, 60);
}

#[test]
fn restarts_gate_verdicts() {
    fn check(restarts: u32, max_restarts: u32, expected: Verdict) {
        let gates = Gates {
            max_restarts,
            ..Gates::default()
        };
        // The gate does not depend on traffic: no requests at all still decide.
        let got = restarts_gate("v2", restarts, 0, &gates);
        assert_eq!(
            got.verdict, expected,
            "{restarts} restarts, {max_restarts} allowed"
        );
        assert_eq!(got.measured, Some(f64::from(restarts)));
        assert_eq!(got.threshold, Some(f64::from(max_restarts)));
        assert_eq!(got.source, "platform");
    }
    check(0, 0, Verdict::Pass);
    check(1, 0, Verdict::Fail);
    check(1, 1, Verdict::Pass);
    check(3, 1, Verdict::Fail);
}

#[test]
fn evaluate_gates_judges_the_candidate_in_a_fixed_order() {
    fn check(window: lab_core::analysis::WindowObservation, expected: &[(GateName, Verdict)]) {
        let roles = Roles {
            candidate: "v2".to_owned(),
            baseline: Some("v1".to_owned()),
        };
        let got: Vec<(GateName, Verdict)> = evaluate_gates(&window, &roles, &Gates::default())
            .into_iter()
            .map(|g| {
                assert_eq!(g.version, "v2");
                (g.gate, g.verdict)
            })
            .collect();
        assert_eq!(got, expected);
    }
    use GateName::*;
    use Verdict::*;
    let analyze = || WindowBuilder::new("canary", WindowKind::Analyze, 0, 60_000);
    check(
        analyze()
            .version("v1", served(540, 540, 12.0, 0))
            .version("v2", served(60, 60, 14.0, 0))
            .build(),
        &[
            (SuccessRate, Pass),
            (P99Latency, Pass),
            (P99VsBaseline, Pass),
            (Restarts, Pass),
        ],
    );
    // The candidate absent from the window.
    check(
        analyze().version("v1", served(600, 600, 12.0, 0)).build(),
        &[
            (SuccessRate, Inconclusive),
            (P99Latency, Inconclusive),
            (P99VsBaseline, Inconclusive),
            (Restarts, Pass),
        ],
    );
    // A crashing candidate with errors and restarts, after v1 is gone.
    check(
        analyze()
            .version("v2", served(20, 10, 14.0, 0))
            .restarts("v2", 2)
            .restarts("v1", 5)
            .build(),
        &[
            (SuccessRate, Fail),
            (P99Latency, Inconclusive),
            (P99VsBaseline, NotApplicable),
            (Restarts, Fail),
        ],
    );
}

#[test]
fn gates_defaults_are_the_documented_ones() {
    let gates = Gates::default();
    assert_eq!(gates.min_success_rate, 0.99);
    assert_eq!(gates.max_p99_ms, 500.0);
    assert_eq!(gates.max_p99_ratio, 2.0);
    assert_eq!(gates.p99_ratio_allowance_ms, 50.0);
    assert_eq!(gates.min_samples, 50);
    assert_eq!(gates.max_restarts, 0);
    assert_eq!(gates.confidence, 0.99);
    assert!((gates.z() - 2.575_829_303_548_901).abs() < 1e-8);
}

#[test]
fn gates_read_from_toml_fill_in_defaults() {
    fn check(text: &str, expected: Result<Gates, &str>) {
        let got = toml::from_str::<Gates>(text).map_err(|e| e.to_string());
        match (got, expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{text}: {got}"),
            (got, want) => panic!("{text}: got {got:?}, expected {want:?}"),
        }
    }
    check("", Ok(Gates::default()));
    check(
        "max_p99_ms = 300\nmin_samples = 20",
        Ok(Gates {
            max_p99_ms: 300.0,
            min_samples: 20,
            ..Gates::default()
        }),
    );
    check("max_p99 = 300", Err("unknown field `max_p99`"));
    check("min_samples = -1", Err("min_samples"));
}

#[test]
fn gates_validation() {
    fn check(gates: Gates, expected: Result<(), &str>) {
        let got = gates.validate().map_err(|e| e.to_string());
        assert_eq!(got.as_ref().map_err(String::as_str).copied(), expected);
    }
    let with = |change: fn(&mut Gates)| {
        let mut gates = Gates::default();
        change(&mut gates);
        gates
    };
    check(Gates::default(), Ok(()));
    check(with(|g| g.min_success_rate = 1.0), Ok(()));
    check(with(|g| g.max_p99_ratio = 1.0), Ok(()));
    check(with(|g| g.p99_ratio_allowance_ms = 0.0), Ok(()));
    check(
        with(|g| g.min_success_rate = 1.5),
        Err("gates: min_success_rate must be within [0, 1], got 1.5"),
    );
    check(
        with(|g| g.max_p99_ms = 0.0),
        Err("gates: max_p99_ms must be a positive number, got 0"),
    );
    check(
        with(|g| g.max_p99_ms = f64::INFINITY),
        Err("gates: max_p99_ms must be a positive number, got inf"),
    );
    check(
        with(|g| g.max_p99_ratio = 0.5),
        Err("gates: max_p99_ratio must be at least 1, got 0.5"),
    );
    check(
        with(|g| g.p99_ratio_allowance_ms = -1.0),
        Err("gates: p99_ratio_allowance_ms must be zero or more, got -1"),
    );
    check(
        with(|g| g.min_samples = 0),
        Err("gates: min_samples must be at least 1, got 0"),
    );
    check(
        with(|g| g.confidence = 1.0),
        Err("gates: confidence must be within (0, 1), got 1"),
    );
    check(
        with(|g| g.min_success_rate = f64::NAN),
        Err("gates: min_success_rate must be within [0, 1], got NaN"),
    );
}
