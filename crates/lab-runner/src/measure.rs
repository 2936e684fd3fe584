//! From the traffic generator's counts and the platform's samples to the
//! analysis's inputs: one `WindowObservation` per window of traffic.

use lab_core::analysis::{
    AnalysisConfig, ClassTally, CopyCount, Downtime, FailureTally, GatewayTraffic, LatencySummary,
    MirrorSource, ReadySample, VersionTally, WindowKind, WindowObservation, relative_p99_limit,
};
use lab_core::platform::{MirrorCopies, MirrorCount};
use lab_core::report::{ClientSecond, SecondCounts};
use loadgen::{ErrorCounts, Gap, Snapshot, VersionStats};
use std::collections::BTreeMap;
use std::time::Duration;

/// A window's identity and place in the run.
pub(crate) struct WindowSpan<'a> {
    pub(crate) name: &'a str,
    pub(crate) kind: WindowKind,
    pub(crate) start_ms: u64,
    pub(crate) end_ms: u64,
}

/// Client-side tallies of one version.
pub(crate) fn version_tally(stats: &VersionStats, max_p99: Duration) -> VersionTally {
    let s = &stats.statuses;
    let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let latency = (stats.count() > 0).then(|| LatencySummary {
        p50_ms: ms(stats.percentile(0.50)),
        p90_ms: ms(stats.percentile(0.90)),
        p99_ms: ms(stats.percentile(0.99)),
        max_ms: ms(stats.max()),
        slower_than_max_p99: stats.count_slower_than(max_p99),
        slower_than_baseline_limit: None,
    });
    VersionTally {
        requests: stats.count(),
        successes: s.success + s.redirection,
        client_errors: s.client_error,
        server_errors: s.server_error + s.other,
        attributed_failures: 0,
        latency,
    }
}

/// A duration from milliseconds; negative and non-finite values are zero.
fn millis_duration(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::ZERO)
}

/// Counts the candidate's answers slower than the `p99_vs_baseline` limit of the
/// window, which comes from the baseline's p99 (see
/// [`LatencySummary::slower_than_baseline_limit`]).
fn count_slower_than_baseline_limit(
    versions: &mut BTreeMap<String, VersionTally>,
    delta: &Snapshot,
    config: &AnalysisConfig,
) {
    let Some(baseline) = config.roles.baseline.as_deref() else {
        return;
    };
    let Some(baseline_p99) = versions
        .get(baseline)
        .and_then(|t| t.latency)
        .map(|l| l.p99_ms)
    else {
        return;
    };
    let candidate = config.roles.candidate.as_str();
    let (Some(stats), Some(latency)) = (
        delta.versions.get(candidate),
        versions.get_mut(candidate).and_then(|t| t.latency.as_mut()),
    ) else {
        return;
    };
    let limit = millis_duration(relative_p99_limit(baseline_p99, &config.gates));
    latency.slower_than_baseline_limit = Some(stats.count_slower_than(limit));
}

/// Connection-level failures (no version known) in the analysis's terms.
pub(crate) fn failure_tally(errors: &ErrorCounts) -> FailureTally {
    FailureTally {
        refused: errors.connect_refused,
        reset: errors.closed_before_response,
        timeout: errors.connect_timeout + errors.response_timeout,
        other: errors.other,
    }
}

/// The samples that describe a window: the last one at or before its start and
/// every one inside it.
pub(crate) fn samples_for(
    timeline: &[ReadySample],
    start_ms: u64,
    end_ms: u64,
) -> Vec<ReadySample> {
    let first = timeline
        .iter()
        .rposition(|s| s.t_ms <= start_ms)
        .unwrap_or(0);
    timeline[first..]
        .iter()
        .take_while(|s| s.t_ms <= end_ms)
        .cloned()
        .collect()
}

/// The longest period without a successful answer in a window, in run time.
pub(crate) fn downtime(delta: &Snapshot, offset_ms: u64) -> Downtime {
    delta
        .gaps
        .iter()
        .chain(&delta.open_gap)
        .max_by_key(|gap| gap.length_ms())
        .map_or_else(Downtime::default, |gap: &Gap| Downtime {
            longest_ms: gap.length_ms(),
            start_ms: gap.start_ms + offset_ms,
        })
}

/// Attribute a window's failed requests to versions from the Service's own
/// count of failed connections per version (`failed`): each version gets at most
/// what the Service counted for it, and all of them together at most what the
/// clients saw fail, so a connection counted on either side of a window's edge
/// is never attributed twice.
pub(crate) fn attribute(
    versions: &mut BTreeMap<String, VersionTally>,
    failures: &FailureTally,
    failed: &BTreeMap<String, u64>,
) {
    let mut left = failures.total();
    for (version, count) in failed {
        let attributed = (*count).min(left);
        if attributed == 0 {
            continue;
        }
        left -= attributed;
        versions
            .entry(version.clone())
            .or_default()
            .attributed_failures = attributed;
    }
}

/// Build one window's observation from the traffic between two snapshots;
/// `failed` is the Service's count of failed connections per version in the
/// window (empty when the platform does not count them).
pub(crate) fn observation(
    span: WindowSpan<'_>,
    delta: &Snapshot,
    offset_ms: u64,
    timeline: &[ReadySample],
    restarts: &BTreeMap<String, u32>,
    config: &AnalysisConfig,
    failed: &BTreeMap<String, u64>,
) -> WindowObservation {
    let max_p99 = millis_duration(config.gates.max_p99_ms);
    // Versions seen earlier in the run but not in this window are left out.
    let mut versions: BTreeMap<String, VersionTally> = delta
        .versions
        .iter()
        .filter(|(_, stats)| stats.count() > 0)
        .map(|(version, stats)| (version.clone(), version_tally(stats, max_p99)))
        .collect();
    count_slower_than_baseline_limit(&mut versions, delta, config);
    let connection_failures = failure_tally(&delta.errors);
    attribute(&mut versions, &connection_failures, failed);
    WindowObservation {
        name: span.name.to_string(),
        kind: span.kind,
        start_ms: span.start_ms,
        end_ms: span.end_ms,
        versions,
        connection_failures,
        ready_endpoints: samples_for(timeline, span.start_ms, span.end_ms),
        restarts: restarts.clone(),
        server: None,
        downtime: downtime(delta, offset_ms),
        gateway: GatewayTraffic {
            classes: class_tallies(delta),
            ..GatewayTraffic::default()
        },
    }
}

/// Who answered each class of requests in the window; a class's share is its
/// part of the window's classed requests, as sent (loadgen interleaves the
/// classes by request number, so it holds close to the scenario's share).
fn class_tallies(delta: &Snapshot) -> BTreeMap<String, ClassTally> {
    let total: u64 = delta
        .classes
        .values()
        .map(|c| c.answers.values().sum::<u64>() + c.failed)
        .sum();
    delta
        .classes
        .iter()
        .map(|(class, counts)| {
            let sent = counts.answers.values().sum::<u64>() + counts.failed;
            let tally = ClassTally {
                share: if total > 0 {
                    sent as f64 / total as f64
                } else {
                    0.0
                },
                answers: counts.answers.clone(),
                failed: counts.failed,
            };
            (class.clone(), tally)
        })
        .filter(|(_, tally)| tally.answered() + tally.failed > 0)
        .collect()
}

/// The per-second client series of the whole run, in run time.
pub(crate) fn client_series(totals: &Snapshot, offset_ms: u64) -> Vec<ClientSecond> {
    totals
        .series
        .iter()
        .map(|second| ClientSecond {
            t_ms: second.second * 1000 + offset_ms,
            versions: second
                .versions
                .iter()
                .map(|(version, counts)| {
                    let errors = counts.client_error + counts.server_error + counts.other;
                    (
                        version.clone(),
                        SecondCounts {
                            successes: counts.success + counts.redirection,
                            errors,
                        },
                    )
                })
                .collect(),
            unattributed_errors: second.errors.total(),
        })
        .collect()
}

/// What each mirror target answered to the copies of a window, from the
/// gateway's counts at the window's open (`before`) and now: copies answered
/// are its requests, 5xx its server errors, copies without an answer its
/// failures, and the copies' latencies its latency.
pub(crate) fn mirror_tallies(
    before: &BTreeMap<String, MirrorCopies>,
    now: &BTreeMap<String, MirrorCopies>,
    baseline_p99_ms: Option<f64>,
    config: &AnalysisConfig,
) -> BTreeMap<String, VersionTally> {
    let max_p99 = millis_duration(config.gates.max_p99_ms);
    now.iter()
        .filter_map(|(version, copies)| {
            let earlier = before.get(version).cloned().unwrap_or_default();
            let failed = copies.failed.saturating_sub(earlier.failed);
            let server_errors = copies.server_errors.saturating_sub(earlier.server_errors);
            let mut latencies: Vec<u64> = copies
                .latencies_us
                .get(earlier.latencies_us.len()..)
                .unwrap_or_default()
                .to_vec();
            let answered = latencies.len() as u64;
            if answered + failed == 0 {
                return None;
            }
            latencies.sort_unstable();
            let ms = |us: u64| us as f64 / 1000.0;
            let at = |q: f64| {
                let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
                ms(latencies[rank - 1])
            };
            let slower = |limit: Duration| {
                let limit = limit.as_micros() as u64;
                latencies.iter().filter(|us| **us > limit).count() as u64
            };
            let latency = (!latencies.is_empty()).then(|| LatencySummary {
                p50_ms: at(0.50),
                p90_ms: at(0.90),
                p99_ms: at(0.99),
                max_ms: ms(*latencies.last().unwrap_or(&0)),
                slower_than_max_p99: slower(max_p99),
                slower_than_baseline_limit: baseline_p99_ms
                    .map(|p99| slower(millis_duration(relative_p99_limit(p99, &config.gates)))),
            });
            let tally = VersionTally {
                requests: answered,
                successes: answered.saturating_sub(server_errors),
                client_errors: 0,
                server_errors: server_errors.min(answered),
                attributed_failures: failed,
                latency,
            };
            Some((version.clone(), tally))
        })
        .collect()
}

/// The baseline's p99 in the window as the clients measured it, which the
/// candidate's `p99_vs_baseline` limit comes from.
pub(crate) fn baseline_p99(
    observation: &WindowObservation,
    config: &AnalysisConfig,
) -> Option<f64> {
    config
        .roles
        .baseline
        .as_deref()
        .and_then(|b| observation.versions.get(b))
        .and_then(|t| t.latency)
        .map(|l| l.p99_ms)
}

/// The gateway's counts of mirrored copies at a window's open and at its end.
pub(crate) type MirrorCounts = (MirrorCount, MirrorCount);

/// Add what the mirror targets answered to the window's copies, when the
/// gateway counted them.
pub(crate) fn add_mirrored(
    observation: &mut WindowObservation,
    counts: Option<&MirrorCounts>,
    config: &AnalysisConfig,
) {
    let Some((before, now)) = counts else {
        return;
    };
    let baseline_p99 = baseline_p99(observation, config);
    observation.gateway.mirrored =
        mirror_tallies(&before.copies, &now.copies, baseline_p99, config);
    observation.gateway.copies = Some(CopyCount {
        of_requests: now.of_requests.saturating_sub(before.of_requests),
        sent: now
            .copies
            .iter()
            .map(|(version, copies)| {
                let earlier = before.copies.get(version).map_or(0, |c| c.sent);
                (version.clone(), copies.sent.saturating_sub(earlier))
            })
            .filter(|(_, sent)| *sent > 0)
            .collect(),
        partial: false,
    });
    observation.gateway.mirror_source = Some(MirrorSource::Gateway);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_ms: u64, pairs: &[(&str, u32)]) -> ReadySample {
        ReadySample {
            t_ms,
            ready: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            route: Default::default(),
        }
    }

    #[test]
    fn failures_are_attributed_up_to_what_both_sides_counted() {
        let check = |client_failures: u64, failed: &[(&str, u64)], expected: &[(&str, u64)]| {
            let mut versions = BTreeMap::from([("v1".to_string(), VersionTally::default())]);
            let failures = FailureTally {
                reset: client_failures,
                ..FailureTally::default()
            };
            let failed = failed.iter().map(|(v, n)| (v.to_string(), *n)).collect();
            attribute(&mut versions, &failures, &failed);
            let attributed: Vec<(&str, u64)> = versions
                .iter()
                .filter(|(_, t)| t.attributed_failures > 0)
                .map(|(v, t)| (v.as_str(), t.attributed_failures))
                .collect();
            assert_eq!(
                attributed, expected,
                "{client_failures} failures, {failed:?}"
            );
        };
        // Nothing failed: nothing to attribute, whatever the Service counted.
        check(0, &[("v2", 3)], &[]);
        // The Service saw the failures the clients saw.
        check(2, &[("v2", 2)], &[("v2", 2)]);
        // A version without answers still gets its failures.
        check(1, &[("v1", 0), ("v2", 1)], &[("v2", 1)]);
        // The clients saw fewer (a connection across the window's edge).
        check(1, &[("v2", 3)], &[("v2", 1)]);
        // The clients saw more: the rest stays unattributed.
        check(5, &[("v2", 2)], &[("v2", 2)]);
        check(3, &[("v1", 1), ("v2", 1)], &[("v1", 1), ("v2", 1)]);
    }

    #[test]
    fn a_window_keeps_the_sample_in_force_at_its_start() {
        let timeline = vec![
            sample(0, &[("v1", 10)]),
            sample(500, &[("v1", 9), ("v2", 1)]),
            sample(900, &[("v1", 9)]),
            sample(2000, &[("v1", 10)]),
        ];
        let check = |start, end, expected: &[u64]| {
            let times: Vec<u64> = samples_for(&timeline, start, end)
                .iter()
                .map(|s| s.t_ms)
                .collect();
            assert_eq!(times, expected, "[{start}, {end}]");
        };
        check(600, 1500, &[500, 900]);
        check(500, 500, &[500]);
        check(0, 3000, &[0, 500, 900, 2000]);
        check(2500, 3000, &[2000]);
    }

    /// Answers of one version, all 2xx, at these latencies in milliseconds.
    fn answered(latencies_ms: &[(u64, u64)]) -> VersionStats {
        let mut latency = loadgen::tally::new_latency_histogram();
        let mut statuses = loadgen::StatusCounts::default();
        for &(ms, n) in latencies_ms {
            latency.record_n(ms * 1000, n).unwrap();
            statuses.success += n;
        }
        VersionStats { statuses, latency }
    }

    fn window(versions: Vec<(&str, VersionStats)>) -> Snapshot {
        Snapshot {
            to_ms: 8000,
            versions: versions
                .into_iter()
                .map(|(v, stats)| (v.to_string(), stats))
                .collect(),
            ..Snapshot::empty()
        }
    }

    #[test]
    fn the_candidate_counts_its_answers_slower_than_the_limit_from_the_baseline() {
        let observe = |delta: &Snapshot, baseline: Option<&str>| {
            let config = AnalysisConfig {
                roles: lab_core::analysis::Roles {
                    candidate: "v2".to_string(),
                    baseline: baseline.map(str::to_string),
                },
                gates: lab_core::analysis::Gates::default(),
                cross_check: Default::default(),
            };
            let span = WindowSpan {
                name: "canary",
                kind: WindowKind::Analyze,
                start_ms: 0,
                end_ms: 8000,
            };
            observation(
                span,
                delta,
                0,
                &[],
                &BTreeMap::new(),
                &config,
                &BTreeMap::new(),
            )
            .versions
            .into_iter()
            .map(|(v, t)| (v, t.latency.and_then(|l| l.slower_than_baseline_limit)))
            .collect::<Vec<_>>()
        };
        // Baseline p99 80 ms, so the limit is max(2 × 80, 80 + 50) = 160 ms: of the
        // candidate's answers at 150, 161 and 400 ms, the last two are slower.
        let delta = window(vec![
            ("v1", answered(&[(10, 900), (80, 100)])),
            ("v2", answered(&[(10, 57), (150, 3), (161, 1), (400, 1)])),
        ]);
        assert_eq!(
            observe(&delta, Some("v1")),
            [("v1".to_string(), None), ("v2".to_string(), Some(2))]
        );
        // No baseline, or none in the window: nothing to count against.
        assert_eq!(
            observe(&delta, None),
            [("v1".to_string(), None), ("v2".to_string(), None)]
        );
        let alone = window(vec![("v2", answered(&[(400, 62)]))]);
        assert_eq!(observe(&alone, Some("v1")), [("v2".to_string(), None)]);
    }
}
