//! The normal quantile and the Wilson score interval against known values.

use lab_core::analysis::{Interval, normal_quantile, wilson_interval, z_for_confidence};

/// z for 95% and 99% two-sided intervals, to full precision.
const Z95: f64 = 1.959_963_984_540_054;
const Z99: f64 = 2.575_829_303_548_901;

#[test]
fn normal_quantile_matches_reference_values() {
    // Reference values: the inverse normal CDF to 16 digits (Wichura's AS241).
    fn check(p: f64, expected: f64) {
        let got = normal_quantile(p);
        let tolerance = 1e-8 * expected.abs().max(1.0);
        assert!(
            (got - expected).abs() <= tolerance,
            "normal_quantile({p}) = {got}, expected {expected}"
        );
    }
    check(0.5, 0.0);
    check(0.75, 0.674_489_750_196_081_7);
    check(0.3, -0.524_400_512_708_040_7);
    check(0.9, 1.281_551_565_544_600_8);
    check(0.975, Z95);
    check(0.995, Z99);
    check(0.999_95, 3.890_591_886_413_12);
    check(0.01, -2.326_347_874_040_840_8);
    check(0.001, -3.090_232_306_167_813);
    check(1e-10, -6.361_340_902_404_056);
    // Both sides of the switch between the central and the tail approximations.
    check(0.024_25, -1.972_961_051_311_884_5);
    check(0.975_75, 1.972_961_051_311_884_7);
}

#[test]
fn normal_quantile_is_infinite_at_the_ends_and_nan_outside() {
    assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
    assert_eq!(normal_quantile(1.0), f64::INFINITY);
    for p in [-0.1, 1.1, f64::NAN] {
        assert!(
            normal_quantile(p).is_nan(),
            "normal_quantile({p}) should be NaN"
        );
    }
}

#[test]
fn z_for_confidence_is_the_two_sided_quantile() {
    fn check(confidence: f64, expected: f64) {
        let got = z_for_confidence(confidence);
        assert!(
            (got - expected).abs() < 1e-8,
            "z_for_confidence({confidence}) = {got}, expected {expected}"
        );
    }
    check(0.90, 1.644_853_626_951_471_5);
    check(0.95, Z95);
    check(0.99, Z99);
    check(0.9999, 3.890_591_886_413_12);
    for confidence in [0.0, 1.0, -0.5, 2.0] {
        assert!(
            z_for_confidence(confidence).is_nan(),
            "z_for_confidence({confidence})"
        );
    }
}

/// Checks a Wilson interval against bounds given to 4 decimals.
fn check_wilson(count: u64, total: u64, z: f64, expected: Option<(f64, f64)>) {
    let got = wilson_interval(count, total, z);
    match (got, expected) {
        (None, None) => {}
        (Some(Interval { low, high }), Some((want_low, want_high))) => assert!(
            (low - want_low).abs() < 5e-5 && (high - want_high).abs() < 5e-5,
            "wilson({count}/{total}, z={z}) = [{low}, {high}], expected [{want_low}, {want_high}]"
        ),
        _ => panic!("wilson({count}/{total}, z={z}) = {got:?}, expected {expected:?}"),
    }
}

#[test]
fn wilson_interval_matches_hand_computed_values() {
    // 5/10 at 95%: p = 0.5, z² = 3.8416, denominator 1 + z²/n = 1.38416,
    // centre (0.5 + 0.19208) / 1.38416 = 0.5,
    // half width 1.96 × sqrt(0.025 + 0.009604) / 1.38416 = 0.26341.
    check_wilson(5, 10, Z95, Some((0.2366, 0.7634)));
    // 0/10 at 95%: centre = half width = 0.19208 / 1.38416 = 0.13877.
    check_wilson(0, 10, Z95, Some((0.0, 0.2775)));
    // 10/100 at 95%: z²/n = 0.038416, centre (0.1 + 0.019208) / 1.038416 = 0.11480,
    // half width 1.96 × sqrt(0.0009 + 0.00009604) / 1.038416 = 0.05957.
    check_wilson(10, 100, Z95, Some((0.0552, 0.1744)));
    // 1/1 and 0/1 at 99%: z² = 6.6349, centre (1 + 3.31744) / 7.63488 = 0.56549 and
    // its mirror 0.43451, half width 2.57583 × sqrt(1.65872) / 7.63488 = 0.43451.
    check_wilson(1, 1, Z99, Some((0.1310, 1.0)));
    check_wilson(0, 1, Z99, Some((0.0, 0.8690)));
    // 9/10 at 99%: z²/n = 0.66349, centre (0.9 + 0.33174) / 1.66349 = 0.74046,
    // half width 2.57583 × sqrt(0.009 + 0.016587) / 1.66349 = 0.24769.
    check_wilson(9, 10, Z99, Some((0.4928, 0.9881)));
    // 100/1000 at 99%: z²/n = 0.0066349, centre (0.1 + 0.0033174) / 1.0066349 = 0.10264,
    // half width 2.57583 × sqrt(0.00009 + 0.0000016587) / 1.0066349 = 0.02450.
    check_wilson(100, 1000, Z99, Some((0.0781, 0.1271)));
    check_wilson(100, 1000, 3.890_591_886_413_12, Some((0.0688, 0.1431)));
    check_wilson(250, 250, Z99, Some((0.9741, 1.0)));
    check_wilson(0, 0, Z99, None);
}

#[test]
fn wilson_bounds_are_exact_at_zero_and_all() {
    // Computed naively, 0/10 at 95% has a lower bound of 2.8e-17, which would put an
    // expected share of exactly 0 outside the interval.
    for (total, z) in [(1, Z99), (10, Z95), (50, Z99), (1_000_000, Z99)] {
        let none = wilson_interval(0, total, z).unwrap();
        assert_eq!(none.low, 0.0, "0/{total}");
        let all = wilson_interval(total, total, z).unwrap();
        assert_eq!(all.high, 1.0, "{total}/{total}");
    }
}

#[test]
fn wilson_treats_a_count_above_the_total_as_the_total() {
    assert_eq!(wilson_interval(12, 10, Z99), wilson_interval(10, 10, Z99));
}

#[test]
fn interval_contains_its_bounds() {
    fn check(value: f64, expected: bool) {
        let interval = Interval {
            low: 0.25,
            high: 0.5,
        };
        assert_eq!(interval.contains(value), expected, "{value} in [0.25, 0.5]");
    }
    check(0.25, true);
    check(0.5, true);
    check(0.3, true);
    check(0.25_f64.next_down(), false);
    check(0.5_f64.next_up(), false);
}
