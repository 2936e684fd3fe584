//! Counting without storing requests: per-version status classes, latency
//! histograms and per-second series, errors by kind, and gaps between successes.
//!
//! A run keeps a few [`Shard`]s behind their own locks; each request records
//! into one of them, so concurrent workers rarely wait on each other, and a
//! snapshot merges the shards.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Lowest latency the histograms tell apart, in microseconds.
pub const LATENCY_LOW_US: u64 = 1;
/// Highest latency the histograms hold, in microseconds (60 s); longer ones are clamped.
pub const LATENCY_HIGH_US: u64 = 60_000_000;
/// Significant digits kept by the latency histograms.
pub const LATENCY_SIGFIG: u8 = 3;
/// Distinct versions tallied per shard; answers naming more versions go to [`OVERFLOW_VERSION`].
pub const MAX_VERSIONS: usize = 64;
/// Versions are cut to this many bytes.
pub const MAX_VERSION_LEN: usize = 64;
/// The version of an answer that names none.
pub const UNKNOWN_VERSION: &str = "unknown";
/// Where answers go once [`MAX_VERSIONS`] distinct versions have been seen.
pub const OVERFLOW_VERSION: &str = "(too many versions)";

/// A latency histogram in microseconds, 1 µs to 60 s, 3 significant digits.
pub fn new_latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LATENCY_LOW_US, LATENCY_HIGH_US, LATENCY_SIGFIG)
        .expect("constant histogram bounds are valid")
}

/// Responses counted by status class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// 2xx answers.
    #[serde(rename = "2xx")]
    pub success: u64,
    /// 3xx answers.
    #[serde(rename = "3xx")]
    pub redirection: u64,
    /// 4xx answers.
    #[serde(rename = "4xx")]
    pub client_error: u64,
    /// 5xx answers.
    #[serde(rename = "5xx")]
    pub server_error: u64,
    /// Any other status code (1xx as a final answer, 600 and above).
    pub other: u64,
}

impl StatusCounts {
    /// Count one answer with this status code.
    pub fn count(&mut self, status: u16) {
        match status {
            200..=299 => self.success += 1,
            300..=399 => self.redirection += 1,
            400..=499 => self.client_error += 1,
            500..=599 => self.server_error += 1,
            _ => self.other += 1,
        }
    }

    /// All answers.
    pub fn total(&self) -> u64 {
        self.success + self.redirection + self.client_error + self.server_error + self.other
    }

    /// Add another tally to this one.
    pub fn add(&mut self, other: &StatusCounts) {
        self.success += other.success;
        self.redirection += other.redirection;
        self.client_error += other.client_error;
        self.server_error += other.server_error;
        self.other += other.other;
    }

    /// This tally minus an earlier one (never below zero).
    pub fn minus(&self, earlier: &StatusCounts) -> StatusCounts {
        StatusCounts {
            success: self.success.saturating_sub(earlier.success),
            redirection: self.redirection.saturating_sub(earlier.redirection),
            client_error: self.client_error.saturating_sub(earlier.client_error),
            server_error: self.server_error.saturating_sub(earlier.server_error),
            other: self.other.saturating_sub(earlier.other),
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The target refused the connection (nothing listening, or no ready endpoint).
    ConnectRefused,
    /// The timeout ran out while connecting.
    ConnectTimeout,
    /// The connection was reset or closed before a complete answer.
    ClosedBeforeResponse,
    /// Connected, but the answer did not complete within the timeout.
    ResponseTimeout,
    /// Anything else (a malformed answer, no local port left, …).
    Other,
}

impl ErrorKind {
    /// Every kind, in report order.
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::ConnectRefused,
        ErrorKind::ConnectTimeout,
        ErrorKind::ClosedBeforeResponse,
        ErrorKind::ResponseTimeout,
        ErrorKind::Other,
    ];

    /// The kind in words, for people.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect refused",
            ErrorKind::ConnectTimeout => "connect timeout",
            ErrorKind::ClosedBeforeResponse => "closed before response",
            ErrorKind::ResponseTimeout => "response timeout",
            ErrorKind::Other => "other",
        }
    }
}

/// Failed requests counted by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// See [`ErrorKind::ConnectRefused`].
    pub connect_refused: u64,
    /// See [`ErrorKind::ConnectTimeout`].
    pub connect_timeout: u64,
    /// See [`ErrorKind::ClosedBeforeResponse`].
    pub closed_before_response: u64,
    /// See [`ErrorKind::ResponseTimeout`].
    pub response_timeout: u64,
    /// See [`ErrorKind::Other`].
    pub other: u64,
}

impl ErrorCounts {
    /// Count one failure.
    pub fn count(&mut self, kind: ErrorKind) {
        *self.get_mut(kind) += 1;
    }

    /// The count of one kind.
    pub fn get(&self, kind: ErrorKind) -> u64 {
        match kind {
            ErrorKind::ConnectRefused => self.connect_refused,
            ErrorKind::ConnectTimeout => self.connect_timeout,
            ErrorKind::ClosedBeforeResponse => self.closed_before_response,
            ErrorKind::ResponseTimeout => self.response_timeout,
            ErrorKind::Other => self.other,
        }
    }

    fn get_mut(&mut self, kind: ErrorKind) -> &mut u64 {
        match kind {
            ErrorKind::ConnectRefused => &mut self.connect_refused,
            ErrorKind::ConnectTimeout => &mut self.connect_timeout,
            ErrorKind::ClosedBeforeResponse => &mut self.closed_before_response,
            ErrorKind::ResponseTimeout => &mut self.response_timeout,
            ErrorKind::Other => &mut self.other,
        }
    }

    /// All failures.
    pub fn total(&self) -> u64 {
        ErrorKind::ALL.iter().map(|&k| self.get(k)).sum()
    }

    /// Add another tally to this one.
    pub fn add(&mut self, other: &ErrorCounts) {
        for kind in ErrorKind::ALL {
            *self.get_mut(kind) += other.get(kind);
        }
    }

    /// This tally minus an earlier one (never below zero).
    pub fn minus(&self, earlier: &ErrorCounts) -> ErrorCounts {
        let mut out = ErrorCounts::default();
        for kind in ErrorKind::ALL {
            *out.get_mut(kind) = self.get(kind).saturating_sub(earlier.get(kind));
        }
        out
    }
}

/// What one class of requests got: answers by the version that gave them,
/// and requests that failed without an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCounts {
    /// Answers by version.
    pub answers: BTreeMap<String, u64>,
    /// Requests without an answer.
    pub failed: u64,
}

impl ClassCounts {
    /// Add another tally.
    pub fn add(&mut self, other: &ClassCounts) {
        for (version, count) in &other.answers {
            *self.answers.entry(version.clone()).or_default() += count;
        }
        self.failed += other.failed;
    }

    /// This tally minus an earlier one (never below zero).
    pub fn minus(&self, earlier: &ClassCounts) -> ClassCounts {
        ClassCounts {
            answers: self
                .answers
                .iter()
                .map(|(version, count)| {
                    let before = earlier.answers.get(version).copied().unwrap_or(0);
                    (version.clone(), count.saturating_sub(before))
                })
                .filter(|(_, count)| *count > 0)
                .collect(),
            failed: self.failed.saturating_sub(earlier.failed),
        }
    }
}

/// One version's tallies within a shard.
pub(crate) struct VersionTally {
    pub(crate) name: String,
    pub(crate) statuses: StatusCounts,
    pub(crate) latency: Histogram<u64>,
    /// Indexed by the second (since start) in which the answer completed.
    pub(crate) per_second: Vec<StatusCounts>,
}

/// The tallies one group of workers writes to.
#[derive(Default)]
pub(crate) struct Shard {
    pub(crate) versions: Vec<VersionTally>,
    pub(crate) errors: ErrorCounts,
    /// Indexed by the second in which the failure was known.
    pub(crate) errors_per_second: Vec<ErrorCounts>,
    pub(crate) dropped_by_cap: u64,
    /// Indexed by the second in which the dropped request was due.
    pub(crate) dropped_per_second: Vec<u64>,
    /// Per request class, who answered (only when the run has classes).
    pub(crate) classes: BTreeMap<String, ClassCounts>,
}

fn slot<T: Default>(series: &mut Vec<T>, second: usize) -> &mut T {
    if series.len() <= second {
        series.resize_with(second + 1, T::default);
    }
    &mut series[second]
}

impl Shard {
    /// Count an answer from `version` with `status`, `latency_us` long, completed
    /// `completed_ms` after the start.
    pub(crate) fn record_response(
        &mut self,
        version: &[u8],
        status: u16,
        latency_us: u64,
        completed_ms: u64,
    ) {
        let index = self.version_index(version);
        let tally = &mut self.versions[index];
        tally.statuses.count(status);
        tally.latency.saturating_record(latency_us);
        slot(&mut tally.per_second, (completed_ms / 1000) as usize).count(status);
    }

    /// Count a failure known `completed_ms` after the start.
    pub(crate) fn record_error(&mut self, kind: ErrorKind, completed_ms: u64) {
        self.errors.count(kind);
        slot(&mut self.errors_per_second, (completed_ms / 1000) as usize).count(kind);
    }

    /// Count a request of `class` answered by `version`, or failed (`None`).
    pub(crate) fn record_class(&mut self, class: &str, version: Option<&[u8]>) {
        let counts = match self.classes.get_mut(class) {
            Some(counts) => counts,
            None => self.classes.entry(class.to_owned()).or_default(),
        };
        match version {
            None => counts.failed += 1,
            Some(version) => {
                let version = if version.is_empty() {
                    UNKNOWN_VERSION.as_bytes()
                } else {
                    &version[..version.len().min(MAX_VERSION_LEN)]
                };
                let name = String::from_utf8_lossy(version);
                let known = counts.answers.contains_key(name.as_ref());
                let name = if known || counts.answers.len() < MAX_VERSIONS {
                    name.into_owned()
                } else {
                    OVERFLOW_VERSION.to_owned()
                };
                *counts.answers.entry(name).or_default() += 1;
            }
        }
    }

    /// Count a request that was due `due_ms` after the start but not sent.
    pub(crate) fn record_dropped(&mut self, due_ms: u64) {
        self.dropped_by_cap += 1;
        *slot(&mut self.dropped_per_second, (due_ms / 1000) as usize) += 1;
    }

    fn version_index(&mut self, version: &[u8]) -> usize {
        let version = if version.is_empty() {
            UNKNOWN_VERSION.as_bytes()
        } else {
            &version[..version.len().min(MAX_VERSION_LEN)]
        };
        if let Some(i) = self
            .versions
            .iter()
            .position(|v| v.name.as_bytes() == version)
        {
            return i;
        }
        let name = if self.versions.len() < MAX_VERSIONS {
            String::from_utf8_lossy(version).into_owned()
        } else {
            OVERFLOW_VERSION.to_string()
        };
        if let Some(i) = self.versions.iter().position(|v| v.name == name) {
            return i;
        }
        self.versions.push(VersionTally {
            name,
            statuses: StatusCounts::default(),
            latency: new_latency_histogram(),
            per_second: Vec::new(),
        });
        self.versions.len() - 1
    }
}

/// A period without any successful (2xx) answer, in ms since the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// When the last success before the gap completed (0: the start of the run).
    pub start_ms: u64,
    /// When the next success completed (or the end of the run or window).
    pub end_ms: u64,
}

impl Gap {
    /// How long the gap lasted, in ms.
    pub fn length_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

/// Finds gaps between consecutive successes as they complete.
pub(crate) struct SuccessClock {
    /// Completion time of the latest success plus one; 0 while there was none.
    last_plus_one: AtomicU64,
    threshold_ms: u64,
    max_gaps: usize,
    gaps: Mutex<GapList>,
}

#[derive(Default, Clone)]
pub(crate) struct GapList {
    pub(crate) gaps: Vec<Gap>,
    pub(crate) overflow: u64,
}

impl SuccessClock {
    pub(crate) fn new(threshold_ms: u64, max_gaps: usize) -> SuccessClock {
        SuccessClock {
            last_plus_one: AtomicU64::new(0),
            threshold_ms,
            max_gaps,
            gaps: Mutex::new(GapList::default()),
        }
    }

    /// Note a success that completed `now_ms` after the start.
    pub(crate) fn success(&self, now_ms: u64) {
        // fetch_max keeps the latest completion even when workers report out of order;
        // a report that arrives late never opens a gap backwards.
        let previous = self.last_plus_one.fetch_max(now_ms + 1, Ordering::Relaxed);
        let previous_ms = previous.saturating_sub(1);
        if now_ms.saturating_sub(previous_ms) > self.threshold_ms {
            let mut list = self.gaps.lock().unwrap();
            if list.gaps.len() < self.max_gaps {
                list.gaps.push(Gap {
                    start_ms: previous_ms,
                    end_ms: now_ms,
                });
            } else {
                list.overflow += 1;
            }
        }
    }

    /// The latest success, in ms since the start.
    pub(crate) fn last_success_ms(&self) -> Option<u64> {
        self.last_plus_one.load(Ordering::Relaxed).checked_sub(1)
    }

    /// The gaps closed so far.
    pub(crate) fn gaps(&self) -> GapList {
        let mut list = self.gaps.lock().unwrap().clone();
        // Reports from several workers may arrive slightly out of order.
        list.gaps.sort_by_key(|g| (g.start_ms, g.end_ms));
        list
    }

    /// The gap still open at `now_ms`, if it already exceeds the threshold.
    pub(crate) fn open_gap(&self, now_ms: u64) -> Option<Gap> {
        let start_ms = self.last_success_ms().unwrap_or(0);
        (now_ms.saturating_sub(start_ms) > self.threshold_ms).then_some(Gap {
            start_ms,
            end_ms: now_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        let check = |status: u16, expected: StatusCounts| {
            let mut counts = StatusCounts::default();
            counts.count(status);
            assert_eq!(counts, expected, "status {status}");
            assert_eq!(counts.total(), 1);
        };
        let one = |f: fn(&mut StatusCounts) -> &mut u64| {
            let mut c = StatusCounts::default();
            *f(&mut c) = 1;
            c
        };
        check(200, one(|c| &mut c.success));
        check(299, one(|c| &mut c.success));
        check(301, one(|c| &mut c.redirection));
        check(404, one(|c| &mut c.client_error));
        check(500, one(|c| &mut c.server_error));
        check(503, one(|c| &mut c.server_error));
        check(101, one(|c| &mut c.other));
        check(600, one(|c| &mut c.other));
    }

    #[test]
    fn versions_are_found_cut_and_capped() {
        let mut shard = Shard::default();
        shard.record_response(b"v1", 200, 1000, 10);
        shard.record_response(b"v2", 500, 2000, 1010);
        shard.record_response(b"v1", 200, 3000, 2500);
        shard.record_response(b"", 200, 3000, 2500);
        let long = [b'x'; 100];
        shard.record_response(&long, 200, 1, 0);
        let names: Vec<&str> = shard.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["v1", "v2", "unknown", &"x".repeat(64)]);
        assert_eq!(shard.versions[0].statuses.success, 2);
        assert_eq!(shard.versions[0].latency.len(), 2);
        assert_eq!(shard.versions[0].per_second.len(), 3);
        assert_eq!(shard.versions[0].per_second[1].total(), 0);
        assert_eq!(shard.versions[1].per_second[1].server_error, 1);

        let mut shard = Shard::default();
        for i in 0..MAX_VERSIONS + 3 {
            shard.record_response(format!("v{i}").as_bytes(), 200, 1, 0);
        }
        assert_eq!(shard.versions.len(), MAX_VERSIONS + 1);
        assert_eq!(shard.versions[MAX_VERSIONS].name, OVERFLOW_VERSION);
        assert_eq!(shard.versions[MAX_VERSIONS].statuses.total(), 3);
    }

    #[test]
    fn errors_and_drops_by_second() {
        let mut shard = Shard::default();
        shard.record_error(ErrorKind::ConnectRefused, 100);
        shard.record_error(ErrorKind::ResponseTimeout, 2100);
        shard.record_dropped(1500);
        assert_eq!(shard.errors.total(), 2);
        assert_eq!(shard.errors_per_second.len(), 3);
        assert_eq!(shard.errors_per_second[2].response_timeout, 1);
        assert_eq!(shard.dropped_per_second, [0, 1]);
    }

    fn check_gaps(
        successes: &[u64],
        now_ms: u64,
        expected: &[(u64, u64)],
        open: Option<(u64, u64)>,
    ) {
        let clock = SuccessClock::new(250, 2);
        for &t in successes {
            clock.success(t);
        }
        let list = clock.gaps();
        let got: Vec<(u64, u64)> = list.gaps.iter().map(|g| (g.start_ms, g.end_ms)).collect();
        assert_eq!(got, expected, "successes {successes:?}");
        let open_got = clock.open_gap(now_ms).map(|g| (g.start_ms, g.end_ms));
        assert_eq!(open_got, open, "open gap for {successes:?}");
    }

    #[test]
    fn gaps_between_successes() {
        check_gaps(&[], 100, &[], None);
        check_gaps(&[], 300, &[], Some((0, 300)));
        check_gaps(&[10, 100, 350], 400, &[], None);
        check_gaps(&[10, 100, 351], 400, &[(100, 351)], None);
        check_gaps(&[300], 400, &[(0, 300)], None);
        // A late report (out of order) does not open a gap backwards.
        check_gaps(&[100, 500, 200], 600, &[(100, 500)], None);
        check_gaps(&[100], 1000, &[], Some((100, 1000)));
        // Only two kept; the third is counted as overflow.
        let clock = SuccessClock::new(250, 2);
        for t in [0, 1000, 2000, 3000] {
            clock.success(t);
        }
        let list = clock.gaps();
        assert_eq!(list.gaps.len(), 2);
        assert_eq!(list.overflow, 1);
        assert_eq!(clock.last_success_ms(), Some(3000));
    }
}
