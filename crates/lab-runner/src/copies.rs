//! Mirrored copies counted on the mirror target's own side, from Prometheus:
//! what a cluster's gateway sends as copies reaches the target's pods, whose
//! metrics count it, while neither the clients nor the lab see it. Used when
//! the platform keeps no count of the copies (a cluster), or when the run asks
//! for Prometheus's count ([`MirrorCounting::Prometheus`]).
//!
//! Over one range of a window, per version: the requests and their status
//! classes (`http_requests_total`) and the latency buckets
//! (`request_duration_seconds_bucket`). A version the routes only mirrored to
//! answered nothing but copies, so its requests are the copies it answered;
//! every other version's requests are the users', the copies' sample size.
//!
//! [`MirrorCounting::Prometheus`]: crate::config::MirrorCounting::Prometheus

use crate::app_label::app_label;
use crate::measure::baseline_p99;
use crate::prometheus::{PromError, Prometheus};
use lab_core::analysis::{
    AnalysisConfig, Buckets, CopyCount, MirrorSource, VersionTally, WindowObservation,
    mirror_only_versions, relative_p99_limit,
};
use lab_core::plan::Plan;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// One version's requests over a range, as Prometheus counted them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct VersionMetrics {
    requests: f64,
    client_errors: f64,
    server_errors: f64,
    /// `(le, cumulative count)` pairs.
    buckets: Vec<(f64, f64)>,
}

/// Every version's requests over one range.
pub(crate) type CopyMetrics = BTreeMap<String, VersionMetrics>;

/// Ask Prometheus for every version's requests, statuses and latency buckets
/// over `[from_ms, to_ms]` of the run.
pub(crate) async fn query(
    prometheus: &Prometheus,
    plan: &Plan,
    wall_start: SystemTime,
    from_ms: u64,
    to_ms: u64,
) -> Result<CopyMetrics, PromError> {
    let mut metrics = CopyMetrics::new();
    let length = to_ms.saturating_sub(from_ms);
    if length == 0 {
        return Ok(metrics);
    }
    let app = app_label(plan);
    let at = wall_start + Duration::from_millis(to_ms);
    let requests = format!(
        "sum by (version, code) (increase(http_requests_total{{app=\"{app}\"}}[{length}ms]))"
    );
    for sample in prometheus.query(&requests, at).await? {
        let Some(version) = sample.labels.get("version") else {
            continue;
        };
        let entry = metrics.entry(version.clone()).or_default();
        entry.requests += sample.value;
        match sample.labels.get("code").and_then(|c| c.chars().next()) {
            Some('4') => entry.client_errors += sample.value,
            Some('5') => entry.server_errors += sample.value,
            _ => {}
        }
    }
    let latency = format!(
        "sum by (version, le) (increase(request_duration_seconds_bucket{{app=\"{app}\"}}[{length}ms]))"
    );
    for sample in prometheus.query(&latency, at).await? {
        let (Some(version), Some(le)) = (sample.labels.get("version"), sample.labels.get("le"))
        else {
            continue;
        };
        let Some(bound) = parse_le(le) else {
            continue;
        };
        metrics
            .entry(version.clone())
            .or_default()
            .buckets
            .push((bound, sample.value));
    }
    Ok(metrics)
}

/// A bucket's `le` label: a number, or `+Inf`.
fn parse_le(le: &str) -> Option<f64> {
    match le {
        "+Inf" => Some(f64::INFINITY),
        other => other.parse().ok().filter(|b: &f64| b.is_finite()),
    }
}

/// A count from `increase()`, to whole requests.
fn whole(count: f64) -> u64 {
    if count.is_finite() && count > 0.0 {
        count.round() as u64
    } else {
        0
    }
}

/// Add the copies Prometheus counted to a window that no one else counted
/// them for: what each version the routes only mirrored to answered, and the
/// copies with the users' requests (every other version's) as their sample;
/// `partial` when Prometheus had not scraped every pod (either may be short).
pub(crate) fn add(
    observation: &mut WindowObservation,
    metrics: &CopyMetrics,
    partial: bool,
    config: &AnalysisConfig,
) {
    if observation.gateway.mirror_source.is_some() {
        return;
    }
    let targets = mirror_only_versions(observation);
    if targets.is_empty() {
        return;
    }
    let baseline_limit =
        baseline_p99(observation, config).map(|p99| relative_p99_limit(p99, &config.gates));
    let users: f64 = metrics
        .iter()
        .filter(|(version, _)| !targets.contains(*version))
        .map(|(_, m)| m.requests)
        .sum();
    let mut sent = BTreeMap::new();
    for version in &targets {
        let Some(m) = metrics.get(version) else {
            continue;
        };
        let requests = whole(m.requests);
        if requests == 0 {
            continue;
        }
        let server_errors = whole(m.server_errors).min(requests);
        let client_errors = whole(m.client_errors).min(requests - server_errors);
        let latency = Buckets::new(m.buckets.clone())
            .latency_summary(config.gates.max_p99_ms, baseline_limit);
        sent.insert(version.clone(), requests);
        observation.gateway.mirrored.insert(
            version.clone(),
            VersionTally {
                requests,
                successes: requests - server_errors - client_errors,
                client_errors,
                server_errors,
                attributed_failures: 0,
                latency,
            },
        );
    }
    observation.gateway.copies = Some(CopyCount {
        of_requests: whole(users),
        sent,
        partial,
    });
    observation.gateway.mirror_source = Some(MirrorSource::Prometheus);
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::analysis::{
        Downtime, FailureTally, Gates, ReadySample, RouteSample, WindowKind, mirror,
    };

    fn shadow_window() -> WindowObservation {
        WindowObservation {
            name: "shadow".to_owned(),
            kind: WindowKind::Analyze,
            start_ms: 0,
            end_ms: 10_000,
            versions: BTreeMap::new(),
            connection_failures: FailureTally::default(),
            ready_endpoints: vec![ReadySample {
                t_ms: 0,
                ready: BTreeMap::from([("v1".to_owned(), 1), ("v2".to_owned(), 1)]),
                route: RouteSample {
                    routed: BTreeMap::from([(
                        "default".to_owned(),
                        BTreeMap::from([("v1".to_owned(), 1.0)]),
                    )]),
                    mirrored: BTreeMap::from([("v2".to_owned(), 0.25)]),
                },
            }],
            restarts: BTreeMap::new(),
            server: None,
            downtime: Downtime::default(),
            gateway: Default::default(),
        }
    }

    fn config() -> AnalysisConfig {
        AnalysisConfig {
            roles: lab_core::analysis::Roles {
                candidate: "v2".to_owned(),
                baseline: Some("v1".to_owned()),
            },
            gates: Gates::default(),
            cross_check: Default::default(),
        }
    }

    #[test]
    fn the_targets_metrics_become_its_copies_and_the_others_their_sample() {
        let metrics = CopyMetrics::from([
            (
                "v1".to_owned(),
                VersionMetrics {
                    requests: 801.6,
                    ..VersionMetrics::default()
                },
            ),
            (
                "v2".to_owned(),
                VersionMetrics {
                    requests: 199.7,
                    client_errors: 0.0,
                    server_errors: 20.2,
                    buckets: vec![(0.005, 150.0), (0.5, 199.7), (f64::INFINITY, 199.7)],
                },
            ),
        ]);
        let mut window = shadow_window();
        add(&mut window, &metrics, false, &config());
        let copies = window.gateway.copies.as_ref().unwrap();
        assert_eq!(copies.of_requests, 802);
        assert_eq!(copies.sent, BTreeMap::from([("v2".to_owned(), 200)]));
        let v2 = &window.gateway.mirrored["v2"];
        assert_eq!(
            (v2.requests, v2.server_errors, v2.successes),
            (200, 20, 180)
        );
        assert_eq!(v2.latency.unwrap().slower_than_max_p99, 0);
        assert_eq!(window.gateway.mirror_source, Some(MirrorSource::Prometheus));
        let verdict = mirror(&window, 0.99, 50, &Default::default()).remove(0);
        assert_eq!(verdict.source, "prometheus");
        assert_eq!(
            verdict.verdict,
            lab_core::analysis::Verdict::Pass,
            "{}",
            verdict.explanation
        );
        // A count already there (the local gateway's) is left as it is.
        let mut counted = shadow_window();
        counted.gateway.mirror_source = Some(MirrorSource::Gateway);
        add(&mut counted, &metrics, false, &config());
        assert!(counted.gateway.copies.is_none());
    }

    #[test]
    fn nothing_is_added_where_no_version_only_got_copies() {
        let mut window = shadow_window();
        window.ready_endpoints[0].route.mirrored.clear();
        add(&mut window, &CopyMetrics::new(), false, &config());
        assert!(window.gateway.is_empty());
        assert_eq!(parse_le("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_le("0.25"), Some(0.25));
        assert_eq!(parse_le("NaN"), None);
    }
}
