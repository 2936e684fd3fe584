//! Builders for the observations the analysis tests judge.

// Each test binary uses a different part of these builders.
#![allow(dead_code)]

use lab_core::analysis::{
    Downtime, FailureTally, LatencySummary, ReadySample, ServerCount, ServerObservation,
    VersionTally, WindowKind, WindowObservation,
};
use std::collections::BTreeMap;

/// A version's tally: `requests` answered, `successes` of them 2xx, the rest 5xx,
/// with the given p99 and count of requests slower than the gates' max p99.
pub fn served(requests: u64, successes: u64, p99_ms: f64, slow: u64) -> VersionTally {
    VersionTally {
        requests,
        successes,
        client_errors: 0,
        server_errors: requests - successes,
        attributed_failures: 0,
        latency: (requests > 0).then_some(LatencySummary {
            p50_ms: p99_ms / 4.0,
            p90_ms: p99_ms / 2.0,
            p99_ms,
            max_ms: p99_ms * 1.5,
            slower_than_max_p99: slow,
            slower_than_baseline_limit: None,
        }),
    }
}

/// Builds a [`WindowObservation`] piece by piece.
pub struct WindowBuilder(WindowObservation);

impl WindowBuilder {
    /// An empty window.
    pub fn new(name: &str, kind: WindowKind, start_ms: u64, end_ms: u64) -> Self {
        WindowBuilder(WindowObservation {
            name: name.to_owned(),
            kind,
            start_ms,
            end_ms,
            versions: BTreeMap::new(),
            connection_failures: FailureTally::default(),
            ready_endpoints: Vec::new(),
            restarts: BTreeMap::new(),
            server: None,
            downtime: Downtime {
                longest_ms: 0,
                start_ms,
            },
            gateway: Default::default(),
        })
    }

    /// Adds a version's client-side tally.
    pub fn version(mut self, version: &str, tally: VersionTally) -> Self {
        self.0.versions.insert(version.to_owned(), tally);
        self
    }

    /// Adds a ready-endpoints sample.
    pub fn ready(mut self, t_ms: u64, ready: &[(&str, u32)]) -> Self {
        self.0.ready_endpoints.push(ReadySample {
            t_ms,
            ready: ready.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect(),
            route: Default::default(),
        });
        self
    }

    /// Sets a version's restarts.
    pub fn restarts(mut self, version: &str, restarts: u32) -> Self {
        self.0.restarts.insert(version.to_owned(), restarts);
        self
    }

    /// Sets the connection failures.
    pub fn failures(mut self, failures: FailureTally) -> Self {
        self.0.connection_failures = failures;
        self
    }

    /// Sets Prometheus's side: its scrape interval, whether data is partial, and
    /// the `increase()` per version.
    pub fn server(
        mut self,
        scrape_interval_ms: u64,
        partial: bool,
        counts: &[(&str, f64)],
    ) -> Self {
        self.0.server = Some(ServerObservation {
            scrape_interval_ms,
            versions: counts
                .iter()
                .map(|(v, increase)| {
                    (
                        (*v).to_owned(),
                        ServerCount {
                            increase: *increase,
                            query: format!(
                                "sum(increase(http_requests_total{{app=\"my-app\",version=\"{v}\"}}[60s]))"
                            ),
                        },
                    )
                })
                .collect(),
            partial,
        });
        self
    }

    /// Sets the longest stretch without success.
    pub fn downtime(mut self, longest_ms: u64, start_ms: u64) -> Self {
        self.0.downtime = Downtime {
            longest_ms,
            start_ms,
        };
        self
    }

    /// The window.
    pub fn build(self) -> WindowObservation {
        self.0
    }
}
