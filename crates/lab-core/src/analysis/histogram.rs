//! Latency read from a Prometheus histogram's buckets, for answers no client
//! saw: a mirror target's answers to the copies a cluster's gateway sent it.

use super::observation::LatencySummary;

/// Cumulative bucket counts of one histogram over a window, as
/// `increase(…_bucket[…])` gives them: `(upper bound in seconds, requests at
/// or below it)`, the last bound `+Inf`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Buckets {
    /// Sorted by bound; counts never decrease.
    cumulative: Vec<(f64, f64)>,
}

impl Buckets {
    /// Buckets from `(bound, count)` pairs in any order. Each bucket's
    /// `increase()` is extrapolated on its own, so counts that decrease
    /// along the bounds are raised to the largest one below them.
    pub fn new(mut pairs: Vec<(f64, f64)>) -> Self {
        pairs.retain(|(bound, count)| !bound.is_nan() && count.is_finite());
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut highest = 0.0_f64;
        for pair in &mut pairs {
            highest = highest.max(pair.1.max(0.0));
            pair.1 = highest;
        }
        Buckets { cumulative: pairs }
    }

    /// Every request the histogram counted (the `+Inf` bucket's count).
    pub fn total(&self) -> f64 {
        self.cumulative.last().map_or(0.0, |(_, count)| *count)
    }

    /// The `q` quantile in seconds as Prometheus's `histogram_quantile`
    /// estimates it: linear inside the bucket that holds the rank, from 0
    /// below the first bound; in the `+Inf` bucket, the largest finite bound.
    /// `None` without requests or without a finite bound.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.total();
        let finite = self.cumulative.iter().any(|(bound, _)| bound.is_finite());
        if total <= 0.0 || !finite || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = q * total;
        let mut below = (0.0, 0.0);
        for &(bound, count) in &self.cumulative {
            if count >= rank && count > below.1 {
                if bound.is_infinite() {
                    return Some(below.0);
                }
                let (lower, lower_count) = below;
                return Some(
                    lower + (bound - lower) * (rank - lower_count) / (count - lower_count),
                );
            }
            below = (bound, count);
        }
        Some(below.0)
    }

    /// The requests surely slower than `limit_s`: those above the smallest
    /// bound at or over it. A bucket that straddles the limit counts for
    /// nothing, so this never overstates (exact when the limit is a bound).
    pub fn surely_slower_than(&self, limit_s: f64) -> f64 {
        let at_or_below = self
            .cumulative
            .iter()
            .find(|(bound, _)| *bound >= limit_s)
            .map_or(self.total(), |(_, count)| *count);
        (self.total() - at_or_below).max(0.0)
    }

    /// The slowest answer as the buckets tell it: the bound of the highest
    /// bucket with requests in it, an upper estimate; when some were slower
    /// than every finite bound, that bound, which is then a lower one.
    fn slowest(&self) -> Option<f64> {
        let mut below = 0.0;
        let mut slowest = None;
        let mut finite = 0.0;
        for &(bound, count) in &self.cumulative {
            if count > below {
                slowest = Some(if bound.is_finite() { bound } else { finite });
            }
            if bound.is_finite() {
                finite = bound;
            }
            below = count;
        }
        slowest
    }

    /// The latency summary the gates read, in milliseconds, with the
    /// requests surely slower than the p99 limit and, when given, than the
    /// limit from the baseline's p99; `None` without requests.
    pub fn latency_summary(
        &self,
        max_p99_ms: f64,
        baseline_limit_ms: Option<f64>,
    ) -> Option<LatencySummary> {
        let ms = |q: f64| self.quantile(q).map(|s| s * 1000.0);
        let slower = |limit_ms: f64| self.surely_slower_than(limit_ms / 1000.0).round() as u64;
        if self.total().round() < 1.0 {
            return None;
        }
        Some(LatencySummary {
            p50_ms: ms(0.50)?,
            p90_ms: ms(0.90)?,
            p99_ms: ms(0.99)?,
            max_ms: self.slowest().map_or(0.0, |s| s * 1000.0),
            slower_than_max_p99: slower(max_p99_ms),
            slower_than_baseline_limit: baseline_limit_ms.map(slower),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo app's bounds with these cumulative counts, `+Inf` last.
    fn demo(counts: [f64; 13]) -> Buckets {
        let bounds = [
            0.001,
            0.005,
            0.01,
            0.025,
            0.05,
            0.1,
            0.25,
            0.5,
            1.0,
            2.5,
            5.0,
            10.0,
            f64::INFINITY,
        ];
        Buckets::new(bounds.into_iter().zip(counts).collect())
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket_as_prometheus_does() {
        // 100 requests: 50 at or below 1 ms, 40 more by 5 ms, 10 more by 10 ms.
        let b = demo([
            50.0, 90.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0,
        ]);
        assert_eq!(b.total(), 100.0);
        // Rank 50 is the whole first bucket: its bound.
        assert!((b.quantile(0.5).unwrap() - 0.001).abs() < 1e-12);
        // Rank 90 ends the second bucket.
        assert!((b.quantile(0.9).unwrap() - 0.005).abs() < 1e-12);
        // Rank 99 is 9 of the 10 in (5 ms, 10 ms]: 5 + 5 × 0.9 = 9.5 ms.
        assert!((b.quantile(0.99).unwrap() - 0.0095).abs() < 1e-12);
        // Rank 25 is half the first bucket, from 0.
        assert!((b.quantile(0.25).unwrap() - 0.0005).abs() < 1e-12);
    }

    #[test]
    fn the_inf_bucket_answers_with_the_largest_finite_bound() {
        let mut counts = [0.0; 13];
        counts[12] = 10.0;
        let b = demo(counts);
        assert_eq!(b.quantile(0.99), Some(10.0));
        assert_eq!(b.slowest(), Some(10.0));
        assert_eq!(b.surely_slower_than(0.5), 10.0);
    }

    #[test]
    fn slower_counts_never_overstate_and_are_exact_on_a_bound() {
        // 100 requests, 20 of them over 250 ms and up to 500 ms, 5 up to 1 s.
        let b = demo([
            0.0, 0.0, 0.0, 0.0, 0.0, 75.0, 75.0, 95.0, 100.0, 100.0, 100.0, 100.0, 100.0,
        ]);
        // 500 ms is a bound: the 5 in (0.5, 1] exactly.
        assert_eq!(b.surely_slower_than(0.5), 5.0);
        // 300 ms falls inside (0.25, 0.5]: only the 5 above 500 ms are sure.
        assert_eq!(b.surely_slower_than(0.3), 5.0);
        // 100 ms is a bound with 75 at or below it.
        assert_eq!(b.surely_slower_than(0.1), 25.0);
        let summary = b.latency_summary(500.0, Some(300.0)).unwrap();
        assert_eq!(summary.slower_than_max_p99, 5);
        assert_eq!(summary.slower_than_baseline_limit, Some(5));
        assert_eq!(summary.max_ms, 1000.0);
        // Rank 99 is 4 of the 5 in (0.5, 1]: 500 + 500 × 0.8 = 900 ms.
        assert!((summary.p99_ms - 900.0).abs() < 1e-9);
    }

    #[test]
    fn separately_extrapolated_counts_are_kept_cumulative() {
        // increase() per bucket can dip by a fraction along the bounds.
        let b = Buckets::new(vec![(f64::INFINITY, 9.8), (0.001, 10.1), (0.005, 9.9)]);
        assert_eq!(b.total(), 10.1);
        assert_eq!(b.surely_slower_than(0.001), 0.0);
        assert!(
            Buckets::new(Vec::new())
                .latency_summary(500.0, None)
                .is_none()
        );
        assert!(b.quantile(1.5).is_none());
        // Only `+Inf`: how slow is unknown, so no summary (Prometheus: NaN).
        let unbounded = Buckets::new(vec![(f64::INFINITY, 40.0)]);
        assert!(unbounded.quantile(0.99).is_none());
        assert!(unbounded.latency_summary(500.0, None).is_none());
    }
}
