//! Cumulative views of a run, and windows cut from two of them.

use crate::tally::{
    ClassCounts, ErrorCounts, Gap, GapList, Shard, StatusCounts, new_latency_histogram,
};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

/// What one version answered within a snapshot's window.
#[derive(Debug, Clone)]
pub struct VersionStats {
    /// Answers by status class.
    pub statuses: StatusCounts,
    /// Latency of every answer, in microseconds (1 µs..60 s, 3 significant digits).
    pub latency: Histogram<u64>,
}

impl VersionStats {
    fn empty() -> VersionStats {
        VersionStats {
            statuses: StatusCounts::default(),
            latency: new_latency_histogram(),
        }
    }

    /// Number of answers.
    pub fn count(&self) -> u64 {
        self.statuses.total()
    }

    /// The latency below which this fraction (0.0..=1.0) of answers fall; `None` when empty.
    pub fn percentile(&self, quantile: f64) -> Option<Duration> {
        (!self.latency.is_empty())
            .then(|| Duration::from_micros(self.latency.value_at_quantile(quantile)))
    }

    /// The slowest answer; `None` when empty.
    pub fn max(&self) -> Option<Duration> {
        (!self.latency.is_empty()).then(|| Duration::from_micros(self.latency.max()))
    }

    /// How many answers took longer than `threshold`. Answers within the histogram's
    /// precision (0.1%) of the threshold count as not slower.
    pub fn count_slower_than(&self, threshold: Duration) -> u64 {
        let threshold_us = u64::try_from(threshold.as_micros()).unwrap_or(u64::MAX);
        if self.latency.is_empty() || threshold_us >= self.latency.max() {
            return 0;
        }
        let above = self.latency.next_non_equivalent(threshold_us);
        if above > self.latency.max() {
            return 0;
        }
        self.latency.count_between(above, self.latency.max())
    }

    fn minus(&self, earlier: &VersionStats) -> VersionStats {
        VersionStats {
            statuses: self.statuses.minus(&earlier.statuses),
            latency: histogram_minus(&self.latency, &earlier.latency),
        }
    }
}

/// `later - earlier`, bucket by bucket, never below zero.
fn histogram_minus(later: &Histogram<u64>, earlier: &Histogram<u64>) -> Histogram<u64> {
    let mut out = new_latency_histogram();
    for bucket in later.iter_recorded() {
        let value = bucket.value_iterated_to();
        let count = bucket
            .count_at_value()
            .saturating_sub(earlier.count_at(value));
        if count > 0 {
            out.saturating_record_n(value, count);
        }
    }
    out
}

/// What completed within one second of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Second {
    /// Seconds since the start: this covers `[second, second + 1)`.
    pub second: u64,
    /// Answers by version and status class.
    pub versions: BTreeMap<String, StatusCounts>,
    /// Failures by kind.
    pub errors: ErrorCounts,
    /// Requests due in this second but not sent because of the in-flight cap.
    pub dropped_by_cap: u64,
}

/// A view of a run: cumulative from the start, or a window cut with [`Snapshot::since`].
///
/// Times are ms since the run's start. A request counts where it completed.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Start of the window (0 for a cumulative snapshot).
    pub from_ms: u64,
    /// End of the window: when the snapshot was taken.
    pub to_ms: u64,
    /// Requests started (sent or being sent) within the window.
    pub issued: u64,
    /// Answers by version.
    pub versions: BTreeMap<String, VersionStats>,
    /// Failures by kind; they have no version.
    pub errors: ErrorCounts,
    /// Open loop: requests that were due but not sent because `max_in_flight` were pending.
    pub dropped_by_cap: u64,
    /// Per-second counts, one entry per second of the window, in order.
    pub series: Vec<Second>,
    /// Closed periods without a 2xx answer longer than the threshold, clipped to the window.
    pub gaps: Vec<Gap>,
    /// Gaps that were not kept because the list was full.
    pub gaps_overflow: u64,
    /// A period without a 2xx answer still running at `to_ms`, if longer than the threshold.
    pub open_gap: Option<Gap>,
    /// When the latest 2xx answer completed, if any.
    pub last_success_ms: Option<u64>,
    /// Per request class, who answered; empty when the run has no classes.
    pub classes: BTreeMap<String, ClassCounts>,
}

impl Snapshot {
    /// Merge shards into a cumulative snapshot.
    #[cfg(test)]
    pub(crate) fn merge<'a>(
        shards: impl Iterator<Item = &'a Shard>,
        issued: u64,
        gaps: GapList,
        open_gap: Option<Gap>,
        last_success_ms: Option<u64>,
        to_ms: u64,
    ) -> Snapshot {
        let mut snapshot = Snapshot::empty();
        for shard in shards {
            snapshot.add_shard(shard);
        }
        snapshot.finish(issued, gaps, open_gap, last_success_ms, to_ms);
        snapshot
    }

    /// Nothing yet, at the run's start: the runner adds shards to it, then
    /// finishes it; others start from it to build a snapshot by hand.
    pub fn empty() -> Snapshot {
        Snapshot {
            from_ms: 0,
            to_ms: 0,
            issued: 0,
            versions: BTreeMap::new(),
            errors: ErrorCounts::default(),
            dropped_by_cap: 0,
            series: Vec::new(),
            gaps: Vec::new(),
            gaps_overflow: 0,
            open_gap: None,
            last_success_ms: None,
            classes: BTreeMap::new(),
        }
    }

    fn grow_series(&mut self, len: usize) {
        while self.series.len() < len {
            let second = self.series.len() as u64;
            self.series.push(Second {
                second,
                ..Second::default()
            });
        }
    }

    /// Add one shard's tallies.
    pub(crate) fn add_shard(&mut self, shard: &Shard) {
        for tally in &shard.versions {
            let stats = self
                .versions
                .entry(tally.name.clone())
                .or_insert_with(VersionStats::empty);
            stats.statuses.add(&tally.statuses);
            stats
                .latency
                .add(&tally.latency)
                .expect("histograms share their bounds");
            self.grow_series(tally.per_second.len());
            for (second, counts) in self.series.iter_mut().zip(&tally.per_second) {
                if counts.total() > 0 {
                    second
                        .versions
                        .entry(tally.name.clone())
                        .or_default()
                        .add(counts);
                }
            }
        }
        for (class, counts) in &shard.classes {
            self.classes.entry(class.clone()).or_default().add(counts);
        }
        self.errors.add(&shard.errors);
        self.dropped_by_cap += shard.dropped_by_cap;
        self.grow_series(shard.errors_per_second.len());
        for (second, counts) in self.series.iter_mut().zip(&shard.errors_per_second) {
            second.errors.add(counts);
        }
        self.grow_series(shard.dropped_per_second.len());
        for (second, dropped) in self.series.iter_mut().zip(&shard.dropped_per_second) {
            second.dropped_by_cap += dropped;
        }
    }

    /// Add the run-wide parts once every shard is in.
    pub(crate) fn finish(
        &mut self,
        issued: u64,
        gaps: GapList,
        open_gap: Option<Gap>,
        last_success_ms: Option<u64>,
        to_ms: u64,
    ) {
        // The series covers every second up to the snapshot, even quiet ones.
        self.grow_series((to_ms / 1000 + 1) as usize);
        self.to_ms = to_ms;
        self.issued = issued;
        self.gaps = gaps.gaps;
        self.gaps_overflow = gaps.overflow;
        self.open_gap = open_gap;
        self.last_success_ms = last_success_ms;
    }

    /// What happened between `earlier` and this snapshot, without stopping traffic.
    ///
    /// `earlier` must be an earlier snapshot of the same run; counts never go below
    /// zero. The window's per-second series starts with the second `earlier` was
    /// taken in (that second holds only what completed after `earlier`); gaps that
    /// began before the window are clipped to its start.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        let from_ms = earlier.to_ms;
        let versions = self
            .versions
            .iter()
            .map(|(name, stats)| {
                let stats = match earlier.versions.get(name) {
                    Some(before) => stats.minus(before),
                    None => stats.clone(),
                };
                (name.clone(), stats)
            })
            .collect();
        let first_second = from_ms / 1000;
        let series = self
            .series
            .iter()
            .filter(|s| s.second >= first_second)
            .map(
                |s| match earlier.series.binary_search_by_key(&s.second, |e| e.second) {
                    Err(_) => s.clone(),
                    Ok(index) => {
                        let before = &earlier.series[index];
                        Second {
                            second: s.second,
                            versions: s
                                .versions
                                .iter()
                                .map(|(name, counts)| {
                                    let prior =
                                        before.versions.get(name).copied().unwrap_or_default();
                                    (name.clone(), counts.minus(&prior))
                                })
                                .filter(|(_, counts)| counts.total() > 0)
                                .collect(),
                            errors: s.errors.minus(&before.errors),
                            dropped_by_cap: s.dropped_by_cap.saturating_sub(before.dropped_by_cap),
                        }
                    }
                },
            )
            .collect();
        let clip = |gap: &Gap| Gap {
            start_ms: gap.start_ms.max(from_ms),
            end_ms: gap.end_ms,
        };
        Snapshot {
            from_ms,
            to_ms: self.to_ms,
            issued: self.issued.saturating_sub(earlier.issued),
            versions,
            errors: self.errors.minus(&earlier.errors),
            dropped_by_cap: self.dropped_by_cap.saturating_sub(earlier.dropped_by_cap),
            series,
            gaps: self
                .gaps
                .iter()
                .filter(|g| g.end_ms > from_ms)
                .map(clip)
                .collect(),
            gaps_overflow: self.gaps_overflow.saturating_sub(earlier.gaps_overflow),
            open_gap: self.open_gap.as_ref().map(clip),
            last_success_ms: self.last_success_ms.filter(|&t| t >= from_ms),
            classes: self
                .classes
                .iter()
                .map(|(class, counts)| {
                    let counts = match earlier.classes.get(class) {
                        Some(before) => counts.minus(before),
                        None => counts.clone(),
                    };
                    (class.clone(), counts)
                })
                .collect(),
        }
    }

    /// Answers from every version.
    pub fn responses(&self) -> u64 {
        self.versions.values().map(VersionStats::count).sum()
    }

    /// Requests that got an answer or failed.
    pub fn completed(&self) -> u64 {
        self.responses() + self.errors.total()
    }

    /// Requests sent and not yet completed.
    pub fn in_flight(&self) -> u64 {
        self.issued.saturating_sub(self.completed())
    }

    /// Length of the window.
    pub fn window(&self) -> Duration {
        Duration::from_millis(self.to_ms.saturating_sub(self.from_ms))
    }

    /// Completed requests per second over the window.
    pub fn completed_rate(&self) -> f64 {
        let seconds = self.window().as_secs_f64();
        if seconds > 0.0 {
            self.completed() as f64 / seconds
        } else {
            0.0
        }
    }

    /// Total time without a 2xx answer: closed gaps plus the open one.
    pub fn downtime(&self) -> Duration {
        let ms: u64 = self
            .gaps
            .iter()
            .chain(&self.open_gap)
            .map(Gap::length_ms)
            .sum();
        Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::{ErrorKind, SuccessClock};

    fn snapshot(shards: &[Shard], clock: &SuccessClock, issued: u64, to_ms: u64) -> Snapshot {
        Snapshot::merge(
            shards.iter(),
            issued,
            clock.gaps(),
            clock.open_gap(to_ms),
            clock.last_success_ms(),
            to_ms,
        )
    }

    #[test]
    fn merge_adds_shards_and_fills_quiet_seconds() {
        let mut a = Shard::default();
        let mut b = Shard::default();
        a.record_response(b"v1", 200, 1_000, 100);
        b.record_response(b"v1", 503, 5_000, 200);
        b.record_response(b"v2", 200, 2_000, 2_100);
        a.record_error(ErrorKind::ConnectRefused, 300);
        b.record_dropped(400);
        let clock = SuccessClock::new(250, 10);
        let snap = snapshot(&[a, b], &clock, 5, 3_500);
        assert_eq!(snap.responses(), 3);
        assert_eq!(snap.completed(), 4);
        assert_eq!(snap.in_flight(), 1);
        let v1 = &snap.versions["v1"];
        assert_eq!((v1.statuses.success, v1.statuses.server_error), (1, 1));
        assert_eq!(v1.latency.len(), 2);
        assert_eq!(snap.series.len(), 4);
        let seconds: Vec<u64> = snap.series.iter().map(|s| s.second).collect();
        assert_eq!(seconds, [0, 1, 2, 3]);
        assert_eq!(snap.series[0].versions["v1"].total(), 2);
        assert_eq!(snap.series[0].errors.connect_refused, 1);
        assert_eq!(snap.series[0].dropped_by_cap, 1);
        assert!(snap.series[1].versions.is_empty());
        assert_eq!(snap.series[2].versions["v2"].success, 1);
        assert_eq!(snap.dropped_by_cap, 1);
        // No success was reported to the clock: the whole run is an open gap.
        assert_eq!(
            snap.open_gap,
            Some(Gap {
                start_ms: 0,
                end_ms: 3_500
            })
        );
    }

    #[test]
    fn percentiles_and_slow_counts() {
        let mut shard = Shard::default();
        for ms in 1..=100u64 {
            shard.record_response(b"v1", 200, ms * 1_000, 0);
        }
        let clock = SuccessClock::new(250, 10);
        let snap = snapshot(&[shard], &clock, 100, 10);
        let v1 = &snap.versions["v1"];
        let ms = |d: Option<Duration>| d.unwrap().as_secs_f64() * 1000.0;
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.002;
        assert!(
            close(ms(v1.percentile(0.5)), 50.0),
            "{:?}",
            v1.percentile(0.5)
        );
        assert!(close(ms(v1.percentile(0.9)), 90.0));
        assert!(close(ms(v1.percentile(0.99)), 99.0));
        assert!(close(ms(v1.max()), 100.0));
        assert_eq!(v1.count_slower_than(Duration::from_millis(90)), 10);
        assert_eq!(v1.count_slower_than(Duration::from_millis(0)), 100);
        assert_eq!(v1.count_slower_than(Duration::from_millis(100)), 0);
        assert_eq!(v1.count_slower_than(Duration::from_secs(3600)), 0);
        assert_eq!(VersionStats::empty().percentile(0.5), None);
        assert_eq!(VersionStats::empty().count_slower_than(Duration::ZERO), 0);
    }

    #[test]
    fn since_subtracts_counts_histograms_series_and_gaps() {
        let clock = SuccessClock::new(250, 10);
        let mut shard = Shard::default();
        for i in 0..10u64 {
            shard.record_response(b"v1", 200, 1_000, i * 100);
            clock.success(i * 100);
        }
        shard.record_error(ErrorKind::ResponseTimeout, 950);
        let earlier = snapshot(std::slice::from_ref(&shard), &clock, 11, 1_000);

        // The second half of second 1 brings v2 and slow v1 answers, then a gap.
        for i in 0..5u64 {
            shard.record_response(b"v1", 200, 400_000, 1_000 + i * 100);
            clock.success(1_000 + i * 100);
            shard.record_response(b"v2", 500, 2_000, 1_050 + i * 100);
        }
        clock.success(2_000);
        let later = snapshot(std::slice::from_ref(&shard), &clock, 21, 2_500);
        let window = later.since(&earlier);

        assert_eq!((window.from_ms, window.to_ms), (1_000, 2_500));
        assert_eq!(window.issued, 10);
        assert_eq!(window.versions["v1"].count(), 5);
        assert_eq!(window.versions["v1"].latency.len(), 5);
        assert_eq!(
            window.versions["v1"].count_slower_than(Duration::from_millis(300)),
            5
        );
        assert!(window.versions["v1"].percentile(0.5).unwrap() >= Duration::from_millis(399));
        assert_eq!(window.versions["v2"].statuses.server_error, 5);
        assert_eq!(window.errors.total(), 0);
        let seconds: Vec<u64> = window.series.iter().map(|s| s.second).collect();
        assert_eq!(seconds, [1, 2]);
        assert_eq!(window.series[0].versions["v1"].success, 5);
        assert_eq!(window.series[0].versions["v2"].server_error, 5);
        assert_eq!(
            window.gaps,
            [Gap {
                start_ms: 1_400,
                end_ms: 2_000
            }]
        );
        assert_eq!(
            window.open_gap,
            Some(Gap {
                start_ms: 2_000,
                end_ms: 2_500
            })
        );
        assert_eq!(window.downtime(), Duration::from_millis(1_100));
        assert_eq!(window.completed(), 10);
        assert!((window.completed_rate() - 10.0 / 1.5).abs() < 1e-9);

        // A gap that began before the window is clipped to its start.
        let clock = SuccessClock::new(250, 10);
        clock.success(100);
        let before = snapshot(&[], &clock, 0, 1_000);
        clock.success(1_500);
        let after = snapshot(&[], &clock, 0, 1_600);
        assert_eq!(
            after.since(&before).gaps,
            [Gap {
                start_ms: 1_000,
                end_ms: 1_500
            }]
        );
        assert_eq!(before.since(&before).versions.len(), 0);
    }
}
