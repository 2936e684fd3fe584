//! What the runner measured during one window of traffic: the analysis's input.
//!
//! Times are milliseconds since the run started; the runner owns the clock.

use super::downtime::Downtime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What a window of a run is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// A steady phase watched for the traffic split.
    Observe,
    /// A steady phase in which the candidate is judged by the gates.
    Analyze,
    /// The time between phases while the ready set changes (scale, apply, delete).
    Transition,
}

impl WindowKind {
    /// The name used in reports (`observe`, `analyze`, `transition`).
    pub fn as_str(self) -> &'static str {
        match self {
            WindowKind::Observe => "observe",
            WindowKind::Analyze => "analyze",
            WindowKind::Transition => "transition",
        }
    }
}

impl fmt::Display for WindowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Client-side latency of the requests one version answered in a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median latency in milliseconds.
    pub p50_ms: f64,
    /// 90th percentile in milliseconds.
    pub p90_ms: f64,
    /// 99th percentile in milliseconds.
    pub p99_ms: f64,
    /// Slowest request in milliseconds.
    pub max_ms: f64,
    /// How many requests took longer than the gates' `max_p99_ms`.
    pub slower_than_max_p99: u64,
    /// How many requests took longer than the window's `p99_vs_baseline` limit
    /// (see [`relative_p99_limit`]); counted for the candidate only, when the
    /// window has a baseline with answers, and `None` otherwise.
    ///
    /// [`relative_p99_limit`]: super::thresholds::relative_p99_limit
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slower_than_baseline_limit: Option<u64>,
}

/// Client-side tallies of one version in one window.
///
/// A request belongs to a version when its answer said which version served it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VersionTally {
    /// Requests this version answered, whatever the status.
    pub requests: u64,
    /// Answers with a 2xx or 3xx status.
    pub successes: u64,
    /// Answers with a 4xx status.
    pub client_errors: u64,
    /// Answers with a 5xx status.
    pub server_errors: u64,
    /// Requests that failed without an answer (refused, reset, timed out) and that
    /// the runner attributed to this version; they count against its success rate.
    pub attributed_failures: u64,
    /// Latency of the answered requests; `None` when there were none.
    pub latency: Option<LatencySummary>,
}

/// Requests that failed without an answer, by kind; no version is known for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FailureTally {
    /// The connection was refused.
    pub refused: u64,
    /// The connection was reset or closed before an answer.
    pub reset: u64,
    /// No answer came in time.
    pub timeout: u64,
    /// Any other transport error.
    pub other: u64,
}

impl FailureTally {
    /// All failures, whatever their kind.
    pub fn total(&self) -> u64 {
        self.refused + self.reset + self.timeout + self.other
    }
}

/// The ready endpoints of the Service at one instant.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReadySample {
    /// When the sample was taken.
    pub t_ms: u64,
    /// Ready endpoint count per version; a version missing here has none.
    pub ready: BTreeMap<String, u32>,
    /// Where a Gateway's routes sent each class of requests, and what they
    /// mirrored; empty when traffic goes through a Service.
    #[serde(default, skip_serializing_if = "RouteSample::is_empty")]
    pub route: RouteSample,
}

/// Prometheus's count of the requests one version served in a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerCount {
    /// The value of `increase(http_requests_total{...}[window])`.
    pub increase: f64,
    /// The PromQL query that produced it.
    pub query: String,
}

/// The server side of a window, as Prometheus saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerObservation {
    /// Prometheus's scrape interval in milliseconds.
    pub scrape_interval_ms: u64,
    /// The count per version; every version the runner asked about is present, with
    /// 0 when the query returned no series.
    pub versions: BTreeMap<String, ServerCount>,
    /// Some data is missing: a target was not up for the whole window or a query
    /// failed. A mismatch is then inconclusive rather than a failure.
    pub partial: bool,
}

/// Everything the runner measured during one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowObservation {
    /// The window's name (the phase's name, or `a → b` for a transition).
    pub name: String,
    /// What the window is for.
    pub kind: WindowKind,
    /// When it began.
    pub start_ms: u64,
    /// When it ended.
    pub end_ms: u64,
    /// Client-side tallies per version.
    pub versions: BTreeMap<String, VersionTally>,
    /// Requests that failed without an answer, attributed or not.
    pub connection_failures: FailureTally,
    /// The Service's ready endpoints, in time order; the last sample at or before
    /// `start_ms` gives the state at the start.
    pub ready_endpoints: Vec<ReadySample>,
    /// Container restarts per version during the window.
    pub restarts: BTreeMap<String, u32>,
    /// The server side; `None` when Prometheus is unavailable.
    pub server: Option<ServerObservation>,
    /// The longest stretch without a successful answer (see [`DowntimeTracker`]).
    ///
    /// [`DowntimeTracker`]: super::downtime::DowntimeTracker
    pub downtime: Downtime,
    /// The traffic as a Gateway handled it (classes, mirrored copies); empty
    /// when it went through a Service.
    #[serde(default, skip_serializing_if = "GatewayTraffic::is_empty")]
    pub gateway: GatewayTraffic,
}

impl WindowObservation {
    /// The window's length in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }

    /// Connection failures that the runner did not attribute to any version.
    pub fn unattributed(&self) -> u64 {
        let attributed: u64 = self.versions.values().map(|t| t.attributed_failures).sum();
        self.connection_failures.total().saturating_sub(attributed)
    }
}

/// Where a Gateway's routes sent the lab's requests at one instant.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RouteSample {
    /// Per class of requests, each version's share of that class's requests
    /// (a backend without a ready endpoint keeps its share, answered 503 by
    /// the gateway, so a class's shares may add up to less than 1).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routed: BTreeMap<String, BTreeMap<String, f64>>,
    /// Each version's share of all requests that is mirrored to it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mirrored: BTreeMap<String, f64>,
}

impl RouteSample {
    /// Nothing routed: the traffic goes through a Service.
    pub fn is_empty(&self) -> bool {
        self.routed.is_empty() && self.mirrored.is_empty()
    }

    /// Each version's share of all requests, the classes mixed by their
    /// `shares` (a class without a share counts equally), normalized over
    /// the versions that answer.
    pub fn expected(&self, shares: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
        let equal = 1.0 / self.routed.len().max(1) as f64;
        let mut mixed: BTreeMap<String, f64> = BTreeMap::new();
        for (class, versions) in &self.routed {
            let weight = shares.get(class).copied().unwrap_or(equal);
            for (version, share) in versions {
                *mixed.entry(version.clone()).or_default() += weight * share;
            }
        }
        let total: f64 = mixed.values().sum();
        if total > 0.0 {
            for share in mixed.values_mut() {
                *share /= total;
            }
        }
        mixed
    }
}

/// One class of requests in a window: its configured share and who answered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClassTally {
    /// The class's share of the requests, 0 to 1.
    pub share: f64,
    /// Answers by the version that gave them.
    pub answers: BTreeMap<String, u64>,
    /// Requests of the class that failed without an answer.
    pub failed: u64,
}

impl ClassTally {
    /// All answers.
    pub fn answered(&self) -> u64 {
        self.answers.values().sum()
    }
}

/// The copies a gateway sent in a window, counted with the requests they
/// copy: `sent[v] / of_requests` is the share of requests copied to `v`
/// exactly, while the copies' own answers may still be in flight.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CopyCount {
    /// Requests the gateway answered in the window, on every route.
    pub of_requests: u64,
    /// Copies sent for those requests, by the version that got them.
    pub sent: BTreeMap<String, u64>,
    /// Counted by Prometheus while some pod was not scraped yet (it gave up
    /// waiting): either count may be short.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

/// A window's traffic as a Gateway handled it: by class, and mirrored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GatewayTraffic {
    /// Per class of requests (`default` for those no class claims).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub classes: BTreeMap<String, ClassTally>,
    /// What each mirror target answered to the copies it got.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mirrored: BTreeMap<String, VersionTally>,
    /// The copies sent per version and the requests they were sent for,
    /// when the gateway counted both together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copies: Option<CopyCount>,
    /// Where `mirrored` and `copies` were counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_source: Option<MirrorSource>,
}

/// Who counted a window's mirrored copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MirrorSource {
    /// The local gateway, which counts each request with its copies as its
    /// answer goes out: exact.
    Gateway,
    /// The mirror targets' own metrics in Prometheus (`increase()` of their
    /// requests and latency buckets, and of the other versions' requests):
    /// estimates, and copies a target never answered are not counted.
    Prometheus,
}

impl MirrorSource {
    /// As the report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            MirrorSource::Gateway => "gateway",
            MirrorSource::Prometheus => "prometheus",
        }
    }
}

impl GatewayTraffic {
    /// Nothing seen through a Gateway.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
            && self.mirrored.is_empty()
            && self.copies.is_none()
            && self.mirror_source.is_none()
    }
}
