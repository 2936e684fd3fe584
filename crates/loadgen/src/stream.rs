//! Snapshots as JSON lines, so a run elsewhere (a Job in a cluster) can be watched
//! live: `loadgen --snapshots` prints one [`SnapshotLine`] a second, and a
//! [`SnapshotAssembler`] on the other side rebuilds the same [`Snapshot`]s a
//! local [`RunHandle`](crate::RunHandle) would give.
//!
//! A line carries the run's cumulative counts and histograms, and only the
//! per-second entries and gaps that are new since the previous line (the current
//! second is sent again until it is complete), so lines stay small however long
//! the run.

use crate::snapshot::{Second, Snapshot, VersionStats};
use crate::tally::{ClassCounts, ErrorCounts, Gap, StatusCounts, new_latency_histogram};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The key that marks a snapshot line in loadgen's output.
pub const LINE_KEY: &str = "snapshot";

/// One version's cumulative tallies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireVersion {
    /// Answers by status class.
    pub status: StatusCounts,
    /// Every non-empty latency bucket as `[highest value in µs, count]`.
    pub latency_histogram_us: Vec<[u64; 2]>,
}

/// One second of the per-second series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireSecond {
    /// Seconds since the start.
    pub second: u64,
    /// Answers by version and status class.
    pub versions: BTreeMap<String, StatusCounts>,
    /// Failed requests by kind.
    pub errors: ErrorCounts,
    /// Requests dropped by the in-flight cap.
    pub dropped_by_cap: u64,
}

/// The state of a run at `to_ms`, as one JSON line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotLine {
    /// Milliseconds since the run started.
    pub to_ms: u64,
    /// Requests issued so far.
    pub issued: u64,
    /// Requests dropped by the in-flight cap so far.
    pub dropped_by_cap: u64,
    /// Failed requests by kind so far.
    pub errors: ErrorCounts,
    /// Per version, cumulative.
    pub versions: BTreeMap<String, WireVersion>,
    /// Per-second entries new or changed since the previous line.
    pub seconds: Vec<WireSecond>,
    /// Gaps closed since the previous line.
    pub gaps: Vec<Gap>,
    /// Gaps not kept because the list was full, so far.
    pub gaps_overflow: u64,
    /// The gap still open at `to_ms`, if any.
    pub open_gap: Option<Gap>,
    /// When the last successful answer completed.
    pub last_success_ms: Option<u64>,
    /// Per request class, cumulative; absent when the run has no classes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub classes: BTreeMap<String, ClassCounts>,
}

/// The sending side: turns successive snapshots of one run into lines.
#[derive(Debug, Default)]
pub struct SnapshotFeed {
    /// Seconds before this index were complete when last sent.
    complete_seconds: usize,
    /// Gaps already sent.
    sent_gaps: usize,
}

impl SnapshotFeed {
    /// A feed for a new run.
    pub fn new() -> Self {
        Self::default()
    }

    /// The line for `now`, a later snapshot of the same run than the previous call's.
    pub fn line(&mut self, now: &Snapshot) -> SnapshotLine {
        let seconds = now
            .series
            .iter()
            .skip(self.complete_seconds)
            .map(|s| WireSecond {
                second: s.second,
                versions: s.versions.clone(),
                errors: s.errors,
                dropped_by_cap: s.dropped_by_cap,
            })
            .collect();
        // The second `to_ms` falls in may still grow: send it again next time.
        self.complete_seconds = (now.to_ms / 1000) as usize;
        let gaps = now.gaps.iter().skip(self.sent_gaps).copied().collect();
        self.sent_gaps = now.gaps.len();
        SnapshotLine {
            to_ms: now.to_ms,
            issued: now.issued,
            dropped_by_cap: now.dropped_by_cap,
            errors: now.errors,
            versions: now
                .versions
                .iter()
                .map(|(name, stats)| {
                    let wire = WireVersion {
                        status: stats.statuses,
                        latency_histogram_us: stats
                            .latency
                            .iter_recorded()
                            .map(|b| [b.value_iterated_to(), b.count_at_value()])
                            .collect(),
                    };
                    (name.clone(), wire)
                })
                .collect(),
            seconds,
            gaps,
            gaps_overflow: now.gaps_overflow,
            open_gap: now.open_gap,
            last_success_ms: now.last_success_ms,
            classes: now.classes.clone(),
        }
    }
}

/// The receiving side: folds lines into the run's latest [`Snapshot`].
#[derive(Debug, Clone)]
pub struct SnapshotAssembler {
    current: Snapshot,
}

impl Default for SnapshotAssembler {
    fn default() -> Self {
        Self::new()
    }
}

impl SnapshotAssembler {
    /// Nothing received yet: an empty snapshot at 0 ms.
    pub fn new() -> Self {
        Self {
            current: Snapshot::empty(),
        }
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> &Snapshot {
        &self.current
    }

    /// Parse one output line; lines that are not snapshot lines are ignored
    /// (`Ok(false)`), a malformed snapshot line is an error.
    pub fn push_text(&mut self, text: &str) -> Result<bool, serde_json::Error> {
        let text = text.trim();
        if !text.starts_with(&format!("{{\"{LINE_KEY}\"")) {
            return Ok(false);
        }
        let mut wrapper: BTreeMap<String, SnapshotLine> = serde_json::from_str(text)?;
        if let Some(line) = wrapper.remove(LINE_KEY) {
            self.push(line);
        }
        Ok(true)
    }

    /// Fold one line in.
    pub fn push(&mut self, line: SnapshotLine) {
        let snapshot = &mut self.current;
        snapshot.to_ms = line.to_ms;
        snapshot.issued = line.issued;
        snapshot.dropped_by_cap = line.dropped_by_cap;
        snapshot.errors = line.errors;
        snapshot.versions = line
            .versions
            .into_iter()
            .map(|(name, wire)| {
                let mut latency = new_latency_histogram();
                for [value, count] in wire.latency_histogram_us {
                    latency.saturating_record_n(value, count);
                }
                (
                    name,
                    VersionStats {
                        statuses: wire.status,
                        latency,
                    },
                )
            })
            .collect();
        for second in line.seconds {
            let index = second.second as usize;
            while snapshot.series.len() <= index {
                let n = snapshot.series.len() as u64;
                snapshot.series.push(Second {
                    second: n,
                    ..Second::default()
                });
            }
            snapshot.series[index] = Second {
                second: second.second,
                versions: second.versions,
                errors: second.errors,
                dropped_by_cap: second.dropped_by_cap,
            };
        }
        snapshot.gaps.extend(line.gaps);
        snapshot.gaps_overflow = line.gaps_overflow;
        snapshot.open_gap = line.open_gap;
        snapshot.last_success_ms = line.last_success_ms;
        snapshot.classes = line.classes;
    }
}

/// Render a line as the JSON text loadgen prints: `{"snapshot": {...}}`.
pub fn to_text(line: &SnapshotLine) -> String {
    let mut wrapper = BTreeMap::new();
    wrapper.insert(LINE_KEY, line);
    serde_json::to_string(&wrapper).expect("snapshot lines serialize")
}
