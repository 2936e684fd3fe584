//! The statistics the verdicts rest on: the normal quantile and the Wilson score
//! interval of a proportion.

use serde::{Deserialize, Serialize};

/// A closed interval `[low, high]` of proportions, both ends within `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// Whether `value` lies inside the interval; both bounds count as inside.
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// The standard normal quantile (inverse cumulative distribution function).
///
/// Peter J. Acklam's rational approximation, relative error below 1.15e-9 over the
/// whole range: plenty for confidence levels. Returns negative or positive infinity
/// at 0 and 1 and NaN outside `[0, 1]`.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    // Below P_LOW (and above 1 - P_LOW) the tails use a rational function of
    // sqrt(-2 ln p); in between, one of p - 0.5.
    const P_LOW: f64 = 0.02425;

    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The z value of a two-sided interval at `confidence` (0.99 gives 2.5758…).
///
/// NaN when `confidence` is not inside `(0, 1)`.
pub fn z_for_confidence(confidence: f64) -> f64 {
    if !(confidence > 0.0 && confidence < 1.0) {
        return f64::NAN;
    }
    normal_quantile(1.0 - (1.0 - confidence) / 2.0)
}

/// The Wilson score interval of `count` successes out of `total` trials at the
/// given z; `None` when there are no trials.
///
/// A count above `total` is treated as `total`. The bounds are exactly 0 when the
/// count is 0 and exactly 1 when it is `total`, so an expected share of 0 or 1 is
/// never pushed outside by rounding.
pub fn wilson_interval(count: u64, total: u64, z: f64) -> Option<Interval> {
    if total == 0 {
        return None;
    }
    let count = count.min(total);
    let n = total as f64;
    let p = count as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half_width = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    let low = if count == 0 {
        0.0
    } else {
        (center - half_width).max(0.0)
    };
    let high = if count == total {
        1.0
    } else {
        (center + half_width).min(1.0)
    };
    Some(Interval { low, high })
}

/// The highest proportion a Wilson interval of `count` out of `total` at `z`
/// cannot rule out; `None` when there are no trials.
pub fn wilson_upper(count: u64, total: u64, z: f64) -> Option<f64> {
    wilson_interval(count, total, z).map(|i| i.high)
}

/// The fewest trials whose Wilson interval, centred on a proportion observed at
/// exactly `rate`, excludes `2 × rate`: the sample that tells `rate` apart from a
/// rate twice as high at `z`.
///
/// The Wilson bound `b` solves `(p - b)² n = z² b (1 - b)`; setting `p = rate` and
/// `b = 2 rate` gives `n = z² · 2r (1 - 2r) / r²`, rounded up. `None` when `rate`
/// is not inside `(0, 0.5)` (twice it would not be a proportion below 1).
pub fn requests_to_tell_double(rate: f64, z: f64) -> Option<u64> {
    if !(rate > 0.0 && rate < 0.5 && z.is_finite()) {
        return None;
    }
    let double = 2.0 * rate;
    let n = z * z * double * (1.0 - double) / (rate * rate);
    // A hair of slack so that a figure that is whole in exact arithmetic is not
    // pushed up by rounding.
    Some((n - 1e-9).ceil().max(1.0) as u64)
}
