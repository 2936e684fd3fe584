//! From gate verdicts to a decision, and how fast a bad canary is decided.

mod analysis_fixtures;

use analysis_fixtures::{WindowBuilder, served};
use lab_core::analysis::{
    AnalysisConfig, CrossCheckTolerance, DecisionCause, DecisionTiming, GateName, GateVerdict,
    Gates, Interim, Outcome, Roles, Verdict, WindowKind, analyze_window, decide,
    decide_progress_deadline, evaluate_interim, restarts_gate,
};

/// A gate verdict with the given name, verdict and sample size.
fn gate(gate: GateName, verdict: Verdict, samples: u64) -> GateVerdict {
    GateVerdict {
        gate,
        verdict,
        samples,
        explanation: format!("{gate} was {verdict}"),
        ..restarts_gate("v2", 0, samples, &Gates::default())
    }
}

#[test]
fn interim_evaluation() {
    fn check(verdicts: &[(GateName, Verdict)], expected: Interim) {
        let gates: Vec<GateVerdict> = verdicts.iter().map(|(g, v)| gate(*g, *v, 100)).collect();
        assert_eq!(evaluate_interim(&gates), expected, "{verdicts:?}");
    }
    use GateName::*;
    use Verdict::*;
    check(
        &[
            (SuccessRate, Pass),
            (P99Latency, Pass),
            (P99VsBaseline, NotApplicable),
            (Restarts, Pass),
        ],
        Interim::PassSoFar,
    );
    check(
        &[
            (SuccessRate, Pass),
            (P99Latency, Inconclusive),
            (P99VsBaseline, Inconclusive),
            (Restarts, Pass),
        ],
        Interim::KeepObserving {
            inconclusive: vec![P99Latency, P99VsBaseline],
        },
    );
    check(
        &[
            (SuccessRate, Fail),
            (P99Latency, Inconclusive),
            (Restarts, Fail),
        ],
        Interim::FailNow {
            failed: vec![SuccessRate, Restarts],
        },
    );
    // Nothing applies, or nothing was judged: there is no evidence yet.
    check(
        &[(P99VsBaseline, NotApplicable)],
        Interim::KeepObserving {
            inconclusive: vec![],
        },
    );
    check(
        &[],
        Interim::KeepObserving {
            inconclusive: vec![],
        },
    );
}

fn timing() -> DecisionTiming {
    DecisionTiming {
        decided_at_ms: 90_000,
        candidate_applied_ms: 20_000,
        candidate_ready_ms: Some(25_000),
        analysis_intervals_elapsed: 6,
    }
}

#[test]
fn final_decision() {
    fn check(verdicts: &[(GateName, Verdict, u64)], expected: (Outcome, DecisionCause, &str)) {
        let gates: Vec<GateVerdict> = verdicts.iter().map(|(g, v, n)| gate(*g, *v, *n)).collect();
        let got = decide("canary", gates.clone(), &Gates::default(), timing());
        assert_eq!(
            (got.outcome, got.cause, got.reason.as_str()),
            expected,
            "decision on {verdicts:?}"
        );
        assert_eq!(got.gates, gates);
        assert_eq!(got.window.as_deref(), Some("canary"));
    }
    use GateName::*;
    use Verdict::*;
    check(
        &[
            (SuccessRate, Pass, 60),
            (P99Latency, Pass, 60),
            (P99VsBaseline, Pass, 60),
            (Restarts, Pass, 60),
        ],
        (
            Outcome::Promoted,
            DecisionCause::AllGatesPassed,
            "all gates passed: success_rate, p99_latency, p99_vs_baseline, restarts",
        ),
    );
    check(
        &[
            (SuccessRate, Pass, 60),
            (P99Latency, Pass, 60),
            (P99VsBaseline, NotApplicable, 60),
            (Restarts, Pass, 60),
        ],
        (
            Outcome::Promoted,
            DecisionCause::AllGatesPassed,
            "all gates passed: success_rate, p99_latency, restarts (p99_vs_baseline not applicable)",
        ),
    );
    check(
        &[
            (SuccessRate, Fail, 12),
            (P99Latency, Inconclusive, 12),
            (Restarts, Fail, 12),
        ],
        (
            Outcome::RolledBack,
            DecisionCause::GatesFailed {
                gates: vec![SuccessRate, Restarts],
            },
            "failed: success_rate (success_rate was fail); restarts (restarts was fail)",
        ),
    );
    // Inconclusive at the end rolls back: never promote without evidence.
    check(
        &[
            (SuccessRate, Inconclusive, 12),
            (P99Latency, Inconclusive, 12),
            (Restarts, Pass, 12),
        ],
        (
            Outcome::RolledBack,
            DecisionCause::Inconclusive {
                gates: vec![SuccessRate, P99Latency],
            },
            "inconclusive: success_rate had 12 < 50 samples; p99_latency had 12 < 50 samples",
        ),
    );
    // Inconclusive for another reason than the sample size.
    check(
        &[(SuccessRate, Pass, 80), (P99Latency, Inconclusive, 80)],
        (
            Outcome::RolledBack,
            DecisionCause::Inconclusive {
                gates: vec![P99Latency],
            },
            "inconclusive: p99_latency (p99_latency was inconclusive)",
        ),
    );
    check(
        &[(P99VsBaseline, NotApplicable, 0)],
        (
            Outcome::RolledBack,
            DecisionCause::Inconclusive { gates: vec![] },
            "inconclusive: no gate applied, so nothing speaks for the candidate",
        ),
    );
}

#[test]
fn time_to_decision_counts_from_ready_or_else_from_applied() {
    fn check(ready: Option<u64>, expected: u64) {
        let timing = DecisionTiming {
            candidate_ready_ms: ready,
            ..timing()
        };
        let by_gates = decide("canary", vec![], &Gates::default(), timing);
        let by_deadline = decide_progress_deadline(&[], &[], timing);
        assert_eq!(by_gates.time_to_decision_ms, expected, "ready at {ready:?}");
        assert_eq!(
            by_deadline.time_to_decision_ms, expected,
            "ready at {ready:?}"
        );
        assert_eq!(
            (by_gates.decided_at_ms, by_gates.analysis_intervals_elapsed),
            (90_000, 6)
        );
    }
    check(Some(25_000), 65_000);
    check(None, 70_000);
    // A clock that went backwards gives 0, not an overflow.
    check(Some(95_000), 0);
}

#[test]
fn progress_deadline_rolls_back_naming_what_was_not_ready() {
    fn check(waited_for: &[&str], not_ready: &[&str], expected_reason: &str) {
        let waited_for: Vec<String> = waited_for.iter().map(|s| (*s).to_owned()).collect();
        let not_ready: Vec<String> = not_ready.iter().map(|s| (*s).to_owned()).collect();
        let got = decide_progress_deadline(&waited_for, &not_ready, timing());
        assert_eq!(got.outcome, Outcome::RolledBack);
        assert_eq!(got.cause, DecisionCause::ProgressDeadline { waited_for });
        assert_eq!(got.reason, expected_reason);
        assert_eq!((got.window, got.gates.len()), (None, 0));
    }
    check(
        &["my-app-v2"],
        &["deployment my-app-v2: 0/1 ready"],
        "progress deadline exceeded: not ready: deployment my-app-v2: 0/1 ready",
    );
    check(
        &["my-app-v1", "my-app-v2"],
        &[],
        "progress deadline exceeded: not ready: my-app-v1, my-app-v2",
    );
}

fn canary_config() -> AnalysisConfig {
    AnalysisConfig {
        roles: Roles {
            candidate: "v2".to_owned(),
            baseline: Some("v1".to_owned()),
        },
        gates: Gates::default(),
        cross_check: CrossCheckTolerance::default(),
    }
}

/// Runs an analyze window interval by interval, with the candidate answering
/// `candidate_per_interval` requests of which `failing_per_interval` fail, and
/// returns the interim evaluation after each interval until the first
/// `FailNow` (or all of them).
fn interims(
    intervals: u64,
    candidate_per_interval: u64,
    failing_per_interval: u64,
) -> Vec<Interim> {
    let mut seen = Vec::new();
    for i in 1..=intervals {
        let candidate = candidate_per_interval * i;
        let window = WindowBuilder::new("canary", WindowKind::Analyze, 0, i * 5000)
            .ready(0, &[("v1", 9), ("v2", 1)])
            .version("v1", served(9 * candidate, 9 * candidate, 12.0, 0))
            .version(
                "v2",
                served(candidate, candidate - failing_per_interval * i, 13.0, 0),
            )
            .build();
        let interim = evaluate_interim(&analyze_window(&window, &canary_config()).gates);
        let stop = matches!(interim, Interim::FailNow { .. });
        seen.push(interim);
        if stop {
            break;
        }
    }
    seen
}

#[test]
fn a_bad_canary_fails_within_a_few_intervals() {
    // The tutorial's traffic: 10 requests/s, 10% to the canary, 5 s intervals:
    // 5 canary requests per interval. Two in five fail: the first interval decides.
    let failed = Interim::FailNow {
        failed: vec![GateName::SuccessRate],
    };
    assert_eq!(interims(12, 5, 2), vec![failed.clone()]);
    // One failure in five is already clear at 4/5 (upper bound 97.6%).
    assert_eq!(interims(12, 5, 1), vec![failed.clone()]);
    // 5% errors at 20 canary requests per interval: 19/20 and 38/40 do not rule out
    // 99% (upper bounds 99.4% and 99.02%), 57/60 is past min_samples and fails.
    let five_percent = interims(12, 20, 1);
    assert_eq!(five_percent.len(), 3, "{five_percent:?}");
    assert_eq!(five_percent.last(), Some(&failed));
    // A healthy canary keeps observing until min_samples (50 = 10 intervals), then
    // passes so far.
    let healthy = interims(12, 5, 0);
    assert_eq!(healthy.len(), 12);
    assert!(
        healthy[..9]
            .iter()
            .all(|i| matches!(i, Interim::KeepObserving { .. })),
        "{healthy:?}"
    );
    assert_eq!(
        healthy[9..],
        [Interim::PassSoFar, Interim::PassSoFar, Interim::PassSoFar]
    );
    assert_eq!(
        healthy[0],
        Interim::KeepObserving {
            inconclusive: vec![
                GateName::SuccessRate,
                GateName::P99Latency,
                GateName::P99VsBaseline
            ],
        }
    );
}

#[test]
fn analyze_window_judges_gates_only_in_analyze_windows() {
    fn check(kind: WindowKind, expected_gates: usize) {
        let window = WindowBuilder::new("w", kind, 0, 60_000)
            .ready(0, &[("v1", 9), ("v2", 1)])
            .version("v1", served(540, 540, 12.0, 0))
            .version("v2", served(60, 60, 13.0, 0))
            .build();
        let got = analyze_window(&window, &canary_config());
        assert_eq!(got.gates.len(), expected_gates, "{kind}");
        assert_eq!(got.split.len(), 2, "{kind}");
        assert_eq!(got.cross_check.len(), 2, "{kind}");
    }
    check(WindowKind::Analyze, 4);
    check(WindowKind::Observe, 0);
    check(WindowKind::Transition, 0);
}
