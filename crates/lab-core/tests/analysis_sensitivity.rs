//! What a gate's sample could detect, against figures worked out by hand.
//!
//! At 99% confidence z = 2.5758, z² = 6.6349; at 95% z = 1.9600, z² = 3.8415.
//! With no failures among n requests the Wilson upper bound of the error rate is
//! z² / (n + z²); the requests that tell a 1% rate from 2% are
//! z² · 0.02 · 0.98 / 0.01² = 196 z².

mod analysis_fixtures;

use analysis_fixtures::served;
use lab_core::analysis::{
    Bad, Gates, Sensitivity, Verdict, VersionTally, p99_gate, requests_to_tell_double,
    success_rate_gate,
};

fn gates(confidence: f64, min_samples: u64) -> Gates {
    Gates {
        confidence,
        min_samples,
        ..Gates::default()
    }
}

#[test]
fn requests_to_tell_a_rate_from_twice_it() {
    // 196 × 6.6349 = 1300.4, rounded up.
    assert_eq!(requests_to_tell_double(0.01, 2.575_829_3), Some(1301));
    // 196 × 3.8415 = 752.9, rounded up.
    assert_eq!(requests_to_tell_double(0.01, 1.959_964), Some(753));
    // 5%: z² · 0.1 · 0.9 / 0.0025 = 36 z² = 238.9 at 99%.
    assert_eq!(requests_to_tell_double(0.05, 2.575_829_3), Some(239));
    assert_eq!(requests_to_tell_double(0.0, 2.0), None);
    assert_eq!(requests_to_tell_double(0.5, 2.0), None);
}

#[test]
fn a_clean_sample_of_120_cannot_rule_out_five_percent() {
    // 6.6349 / 126.6349 = 0.05239: 120 clean requests at 99% cannot rule out 5.24%.
    let tally: VersionTally = served(120, 120, 10.0, 0);
    let gate = success_rate_gate("v2", Some(&tally), &gates(0.99, 50));
    assert_eq!(gate.verdict, Verdict::Pass);
    let s = gate.sensitivity.expect("a sensitivity");
    assert_eq!(s.counted, Bad::Errors);
    assert!((s.cannot_rule_out - 0.052_39).abs() < 1e-5, "{s:?}");
    assert!((s.allowed - 0.01).abs() < 1e-12);
    assert_eq!(s.requests_needed, Some(1301));
    assert!(!s.resolved);
    assert!(
        gate.explanation
            .ends_with("passed, but 120 requests cannot rule out an error rate up to 5.24%; 1301 requests tell 1.00% from 2.00%"),
        "{}",
        gate.explanation
    );

    // 3.8415 / 123.8415 = 0.03102 at 95%.
    let gate = success_rate_gate("v2", Some(&tally), &gates(0.95, 50));
    let s = gate.sensitivity.expect("a sensitivity");
    assert!((s.cannot_rule_out - 0.031_02).abs() < 1e-5, "{s:?}");
    assert_eq!(s.requests_needed, Some(753));
}

#[test]
fn a_sample_resolves_when_it_rules_out_twice_the_limit() {
    // Clean samples rule out 2% once z² / (n + z²) <= 0.02, n >= 49 z² = 325.1.
    let z = Gates::default().z();
    let at = |n| Sensitivity::of(Bad::Errors, 0, n, 0.01, z).expect("requests");
    assert!(!at(325).resolved);
    assert!(at(326).resolved);
    let tally: VersionTally = served(326, 326, 10.0, 0);
    let gate = success_rate_gate("v2", Some(&tally), &gates(0.99, 50));
    assert_eq!(gate.verdict, Verdict::Pass);
    assert!(
        !gate.explanation.contains("passed, but"),
        "{}",
        gate.explanation
    );
    assert_eq!(Sensitivity::of(Bad::Errors, 0, 0, 0.01, z), None);
}

#[test]
fn latency_gates_state_the_slow_share_they_cannot_rule_out() {
    // No request slower than 500 ms among 120: the slow share is held against 1%
    // the same way, 5.24% cannot be ruled out at 99%.
    let tally: VersionTally = served(120, 120, 10.0, 0);
    let gate = p99_gate("v2", Some(&tally), &gates(0.99, 50));
    let s = gate.sensitivity.expect("a sensitivity");
    assert_eq!(s.counted, Bad::Slow);
    assert!((s.cannot_rule_out - 0.052_39).abs() < 1e-5, "{s:?}");
    assert_eq!(s.requests_needed, Some(1301));
}
