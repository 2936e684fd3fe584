//! The `--json` output: a documented, versioned schema (see the crate's README.md).
//! A runner that starts the binary elsewhere (a Kubernetes Job) reads it back with
//! the same types.

use crate::options::{Bound, Connections, Load};
use crate::run::{Results, StopReason};
use crate::snapshot::{Second, VersionStats};
use crate::tally::{ErrorCounts, Gap, StatusCounts};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped whenever a field changes meaning or disappears; new fields may appear.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole `--json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The URL requests were sent to.
    pub target: String,
    /// Open or closed loop and its figure.
    pub load: LoadReport,
    /// How requests used connections.
    pub connections: ConnectionsReport,
    /// The bounds the run was given.
    pub bound: BoundReport,
    /// Limit for one request, in ms.
    pub timeout_ms: u64,
    /// Periods without success longer than this (ms) are gaps.
    pub gap_threshold_ms: u64,
    /// Open loop: most requests in flight before due ones are dropped.
    pub max_in_flight: usize,
    /// Why the run stopped issuing requests.
    pub stopped_by: StopReason,
    /// From the start until the last request completed, in ms.
    pub elapsed_ms: u64,
    /// Request counts.
    pub requests: RequestCounts,
    /// Completed requests (answers and failures) per second over `elapsed_ms`.
    pub achieved_rate: f64,
    /// Answers by version (`unknown` when an answer named none).
    pub versions: BTreeMap<String, VersionReport>,
    /// Failures by kind; they have no version.
    pub errors: ErrorCounts,
    /// One entry per second since the start, by completion time.
    pub series: Vec<SecondReport>,
    /// Periods without a 2xx answer longer than the threshold, in order.
    pub gaps: Vec<Gap>,
    /// Gaps not listed because the list was full.
    pub gaps_overflow: u64,
    /// Sum of the listed gaps, in ms.
    pub downtime_ms: u64,
}

/// Open loop at a rate, or closed loop at a concurrency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum LoadReport {
    /// Requests issued on a schedule.
    OpenLoop {
        /// Requests per second.
        rate: f64,
    },
    /// Workers that each send the next request when the previous one ends.
    ClosedLoop {
        /// Number of workers.
        concurrency: usize,
    },
}

/// A new connection per request, or kept-alive connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ConnectionsReport {
    /// A new connection for every request.
    PerRequest,
    /// Up to this many reused connections.
    KeepAlive {
        /// Number of connections.
        connections: usize,
    },
}

/// The bounds of the run; at least one is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundReport {
    /// Duration bound in ms.
    pub duration_ms: Option<u64>,
    /// Request-count bound.
    pub requests: Option<u64>,
}

/// How many requests went where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Requests started.
    pub issued: u64,
    /// Requests that got an answer (any status).
    pub answered: u64,
    /// Requests that got no answer (see `errors`).
    pub failed: u64,
    /// Open loop: requests due but not sent because of the in-flight cap.
    pub dropped_by_cap: u64,
}

/// One version's answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionReport {
    /// Answers from this version.
    pub count: u64,
    /// Its fraction of all answers (0..1).
    pub share: f64,
    /// Answers by status class.
    pub status: StatusCounts,
    /// Latency summary in ms; null fields when there were no answers.
    pub latency_ms: LatencySummary,
    /// Every non-empty histogram bucket as `[highest value in µs, count]`, enough to
    /// rebuild the histogram (3 significant digits).
    pub latency_histogram_us: Vec<[u64; 2]>,
}

/// Latency percentiles in ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Slowest answer.
    pub max: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
}

/// What completed within one second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondReport {
    /// Seconds since the start: the entry covers `[second, second + 1)`.
    pub second: u64,
    /// Answers by version and status class (versions without answers are left out).
    pub versions: BTreeMap<String, StatusCounts>,
    /// Failures by kind.
    pub errors: ErrorCounts,
    /// Requests due in this second but dropped by the in-flight cap.
    pub dropped_by_cap: u64,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl LatencySummary {
    /// Percentiles of one version's histogram.
    pub fn of(stats: &VersionStats) -> LatencySummary {
        let h = &stats.latency;
        let at = |q: f64| (!h.is_empty()).then(|| ms(h.value_at_quantile(q)));
        LatencySummary {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: (!h.is_empty()).then(|| ms(h.max())),
            mean: (!h.is_empty()).then(|| h.mean().round() / 1000.0),
        }
    }
}

impl SecondReport {
    fn of(second: &Second) -> SecondReport {
        SecondReport {
            second: second.second,
            versions: second.versions.clone(),
            errors: second.errors,
            dropped_by_cap: second.dropped_by_cap,
        }
    }
}

impl Report {
    /// The document for a finished run.
    pub fn of(results: &Results) -> Report {
        let totals = &results.totals;
        let options = &results.options;
        let answered = totals.responses();
        let versions = totals
            .versions
            .iter()
            .map(|(name, stats)| {
                let report = VersionReport {
                    count: stats.count(),
                    share: if answered > 0 {
                        stats.count() as f64 / answered as f64
                    } else {
                        0.0
                    },
                    status: stats.statuses,
                    latency_ms: LatencySummary::of(stats),
                    latency_histogram_us: stats
                        .latency
                        .iter_recorded()
                        .map(|b| [b.value_iterated_to(), b.count_at_value()])
                        .collect(),
                };
                (name.clone(), report)
            })
            .collect();
        Report {
            schema_version: SCHEMA_VERSION,
            target: options.url.clone(),
            load: match options.load {
                Load::Rate(rate) => LoadReport::OpenLoop { rate },
                Load::Concurrency(concurrency) => LoadReport::ClosedLoop { concurrency },
            },
            connections: match options.connections {
                Connections::PerRequest => ConnectionsReport::PerRequest,
                Connections::KeepAlive(connections) => ConnectionsReport::KeepAlive { connections },
            },
            bound: BoundReport::of(options.bound),
            timeout_ms: options.timeout.as_millis() as u64,
            gap_threshold_ms: options.gap_threshold.as_millis() as u64,
            max_in_flight: options.max_in_flight,
            stopped_by: results.stopped_by,
            elapsed_ms: totals.to_ms,
            requests: RequestCounts {
                issued: totals.issued,
                answered,
                failed: totals.errors.total(),
                dropped_by_cap: totals.dropped_by_cap,
            },
            achieved_rate: (results.achieved_rate() * 100.0).round() / 100.0,
            versions,
            errors: totals.errors,
            series: totals.series.iter().map(SecondReport::of).collect(),
            gaps: totals.gaps.clone(),
            gaps_overflow: totals.gaps_overflow,
            downtime_ms: totals.gaps.iter().map(Gap::length_ms).sum(),
        }
    }
}

impl BoundReport {
    fn of(bound: Bound) -> BoundReport {
        BoundReport {
            duration_ms: bound.duration().map(|d| d.as_millis() as u64),
            requests: bound.requests(),
        }
    }
}
