//! The cross-check: what the clients counted against what Prometheus counted.

use super::observation::{MirrorSource, WindowKind, WindowObservation};
use super::verdict::{Comparison, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How far Prometheus's count may stray from the clients' count.
///
/// The allowed difference is
/// `max(relative × client count, client rate per second × scrape_intervals × scrape interval, absolute)`:
/// the relative term covers `increase()`'s extrapolation to the edges of the
/// range; the rate term covers the requests a new pod served before its first
/// scrape (and an old pod after its last), which Prometheus never sees; the
/// absolute floor covers a version with no client traffic in the window, whose
/// last scrapes can still extrapolate to a fraction of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrossCheckTolerance {
    /// Share of the client count allowed as difference; default 0.10.
    pub relative: f64,
    /// Scrape intervals' worth of the client rate allowed as difference; default 2.
    pub scrape_intervals: f64,
    /// Requests allowed as difference whatever the counts; default 2.
    pub absolute: f64,
}

impl Default for CrossCheckTolerance {
    fn default() -> Self {
        CrossCheckTolerance {
            relative: 0.10,
            scrape_intervals: 2.0,
            absolute: 2.0,
        }
    }
}

impl CrossCheckTolerance {
    /// The allowed difference for `client_count` requests over `window_ms` with
    /// Prometheus scraping every `scrape_interval_ms`.
    pub fn allowed_difference(
        &self,
        client_count: u64,
        window_ms: u64,
        scrape_interval_ms: u64,
    ) -> f64 {
        let count = client_count as f64;
        let rate_per_s = if window_ms == 0 {
            0.0
        } else {
            count * 1000.0 / window_ms as f64
        };
        let by_share = self.relative * count;
        let by_rate = rate_per_s * self.scrape_intervals * scrape_interval_ms as f64 / 1000.0;
        by_share.max(by_rate).max(self.absolute)
    }
}

/// The cross-check of one version in one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossCheckVerdict {
    /// The version.
    pub version: String,
    /// `pass` within the allowed difference, `fail` outside it, `inconclusive`
    /// without Prometheus or when its data is partial and the counts disagree,
    /// `not_applicable` in a transition window (shown, not judged) and for a
    /// mirror target whose copies Prometheus counted itself.
    pub verdict: Verdict,
    /// Requests the clients saw this version answer: the sample size.
    pub client_count: u64,
    /// Prometheus's `increase()`; `None` without Prometheus.
    pub server_count: Option<f64>,
    /// `|server_count - client_count|`; `None` without Prometheus.
    pub difference: Option<f64>,
    /// The allowed difference (see [`CrossCheckTolerance`]); `None` without
    /// Prometheus.
    pub allowed_difference: Option<f64>,
    /// Always `at_most`: the difference must be at most the allowed difference.
    pub comparison: Comparison,
    /// The PromQL query, or why there is none.
    pub source: String,
    /// One line for people: why this verdict.
    pub explanation: String,
}

/// Cross-checks every version the clients saw, and every version Prometheus counted
/// more than the tolerance's absolute floor of, in version order.
pub fn cross_check(
    window: &WindowObservation,
    tolerance: &CrossCheckTolerance,
) -> Vec<CrossCheckVerdict> {
    let mut versions: BTreeSet<&str> = window.versions.keys().map(String::as_str).collect();
    if let Some(server) = &window.server {
        // A version the clients never reached and Prometheus saw (almost) nothing
        // of is no disagreement: pods draining after their last request are
        // still scraped for a moment, or not, depending on timing.
        versions.extend(
            server
                .versions
                .iter()
                .filter(|(_, count)| count.increase > tolerance.absolute)
                .map(|(version, _)| version.as_str()),
        );
    }
    versions
        .into_iter()
        .map(|version| cross_check_version(window, version, tolerance))
        .collect()
}

/// Cross-checks one version of a window.
pub fn cross_check_version(
    window: &WindowObservation,
    version: &str,
    tolerance: &CrossCheckTolerance,
) -> CrossCheckVerdict {
    // A Gateway's mirrored copies reach the pods, and Prometheus, but never
    // the clients: the gateway's count of them stands in for the clients'.
    // Copies Prometheus counted itself cannot check Prometheus.
    let from_prometheus = window.gateway.mirror_source == Some(MirrorSource::Prometheus);
    let copies = window
        .gateway
        .mirrored
        .get(version)
        .map(|t| t.requests)
        .filter(|_| !from_prometheus);
    let client_count = window.versions.get(version).map_or(0, |t| t.requests) + copies.unwrap_or(0);
    let mut verdict = CrossCheckVerdict {
        version: version.to_owned(),
        verdict: Verdict::Inconclusive,
        client_count,
        server_count: None,
        difference: None,
        allowed_difference: None,
        comparison: Comparison::AtMost,
        source: "prometheus unavailable".to_owned(),
        explanation: format!(
            "clients counted {client_count} for {version}; no Prometheus data to compare"
        ),
    };
    let Some(server) = &window.server else {
        return verdict;
    };
    if from_prometheus && window.gateway.mirrored.contains_key(version) {
        let counted = server.versions.get(version);
        verdict.verdict = Verdict::NotApplicable;
        verdict.server_count = Some(counted.map_or(0.0, |c| c.increase));
        if let Some(count) = counted {
            verdict.source = count.query.clone();
        }
        verdict.explanation = format!(
            "{version} answered mirrored copies, which only Prometheus counted: nothing to compare"
        );
        return verdict;
    }
    let (server_count, source) = match server.versions.get(version) {
        Some(count) => (count.increase, count.query.clone()),
        None => (0.0, "prometheus returned no series".to_owned()),
    };
    let difference = (server_count - client_count as f64).abs();
    let allowed = tolerance.allowed_difference(
        client_count,
        window.duration_ms(),
        server.scrape_interval_ms,
    );
    let within = difference <= allowed;
    verdict.server_count = Some(server_count);
    verdict.difference = Some(difference);
    verdict.allowed_difference = Some(allowed);
    verdict.source = source;
    let counts = format!(
        "clients counted {client_count}, Prometheus {server_count:.1} for {version}: difference {difference:.1}, allowed {allowed:.1}"
    );
    (verdict.verdict, verdict.explanation) = match (window.kind, within, server.partial) {
        (WindowKind::Transition, _, _) => (
            Verdict::NotApplicable,
            format!("{counts}: shown, not judged in a transition"),
        ),
        (_, true, _) => (Verdict::Pass, format!("{counts}: within")),
        (_, false, true) => (
            Verdict::Inconclusive,
            format!("{counts}: outside, but Prometheus data is partial"),
        ),
        (_, false, false) => (Verdict::Fail, format!("{counts}: outside")),
    };
    verdict
}
