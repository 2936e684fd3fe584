//! Traffic through a Gateway: where its routes sent each class of the lab's
//! requests, and the copies its mirrors sent elsewhere.
//!
//! - **routing**: every answer of a class must come from a version the route
//!   sent that class to; a single answer from another version fails the
//!   verdict (header routing is judged exactly, not by an interval).
//! - **mirror**: the share of requests mirrored to a version, counted on the
//!   mirror target's side (the clients never see a copy), against the share
//!   the route's `RequestMirror` asks for, with a Wilson interval as for the
//!   split; counted from Prometheus (a cluster's gateway counts nothing the
//!   lab can read), the interval is widened by the cross-check's relative
//!   tolerance of the expected share, since both counts are `increase()`
//!   estimates.
//! - a candidate that only receives copies is judged by the gates on what it
//!   answered to them ([`mirrored_candidate`]).

use super::cross_check::CrossCheckTolerance;
use super::observation::{ClassTally, MirrorSource, ReadySample, WindowKind, WindowObservation};
use super::stats::{Interval, wilson_interval, z_for_confidence};
use super::thresholds::confidence_label;
use super::verdict::{Comparison, Verdict, percent};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Whether the answers of one class came only from where the route sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingVerdict {
    /// The class of requests.
    pub class: String,
    /// `pass` when every answer came from a routed version, `fail` at the
    /// first that did not, `inconclusive` below `min_samples`,
    /// `not_applicable` in a transition.
    pub verdict: Verdict,
    /// The versions the route sent the class to during the window.
    pub routed_to: Vec<String>,
    /// Answers by version.
    pub answers: BTreeMap<String, u64>,
    /// Answers from a version the class was not routed to.
    pub misrouted: u64,
    /// One line for people: why this verdict.
    pub explanation: String,
}

/// The share of requests mirrored to one version, against the route's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MirrorVerdict {
    /// The mirror target's version.
    pub version: String,
    /// `pass` when the expected share lies inside the interval, `fail` when
    /// not, `inconclusive` below `min_samples`, `not_applicable` in a
    /// transition.
    pub verdict: Verdict,
    /// Copies sent to the target (counted with the requests they copy, when
    /// the gateway kept that count; else the copies it answered).
    pub mirrored: u64,
    /// The sample size: the requests the gateway answered in the window on
    /// every route, when it counted them with the copies; else the requests
    /// the clients sent.
    pub requests: u64,
    /// `mirrored / requests`.
    pub observed_share: Option<f64>,
    /// The time-weighted share the route asked to mirror.
    pub expected_share: Option<f64>,
    /// Wilson interval of the observed share.
    pub interval: Option<Interval>,
    /// The interval's confidence.
    pub confidence: f64,
    /// Always `inside`.
    pub comparison: Comparison,
    /// How far outside the interval the expected share may lie and still
    /// pass, when the counts are estimates (Prometheus's): the cross-check's
    /// relative tolerance of the expected share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Where the copies were counted (`gateway`, `prometheus`), or that
    /// nothing counted them.
    pub source: String,
    /// One line for people: why this verdict.
    pub explanation: String,
}

/// The samples of a window that carry routes (the one in force at its start
/// and every later one).
fn route_samples(window: &WindowObservation) -> Vec<&ReadySample> {
    let start = window
        .ready_endpoints
        .iter()
        .rposition(|s| s.t_ms <= window.start_ms)
        .unwrap_or(0);
    window.ready_endpoints[start..]
        .iter()
        .take_while(|s| s.t_ms <= window.end_ms)
        .filter(|s| !s.route.is_empty())
        .collect()
}

/// The time-weighted average of `value` over the window's route samples:
/// each holds until the next; `None` without any.
fn time_weighted(window: &WindowObservation, value: impl Fn(&ReadySample) -> f64) -> Option<f64> {
    let samples = route_samples(window);
    if samples.is_empty() {
        return None;
    }
    if window.end_ms <= window.start_ms {
        return Some(value(samples[0]));
    }
    let mut sum = 0.0;
    let mut covered = 0.0;
    for (i, sample) in samples.iter().enumerate() {
        let from = sample.t_ms.max(window.start_ms);
        let until = samples
            .get(i + 1)
            .map_or(window.end_ms, |next| next.t_ms.min(window.end_ms));
        if until > from {
            let span = (until - from) as f64;
            sum += span * value(sample);
            covered += span;
        }
    }
    Some(if covered > 0.0 {
        sum / covered
    } else {
        value(samples[samples.len() - 1])
    })
}

/// The classes of a window with their answers: as counted per class, or,
/// when the traffic has a single class, the whole window's answers.
fn classes(window: &WindowObservation) -> BTreeMap<String, ClassTally> {
    if !window.gateway.classes.is_empty() {
        return window.gateway.classes.clone();
    }
    let routed: BTreeSet<&String> = route_samples(window)
        .iter()
        .flat_map(|s| s.route.routed.keys())
        .collect();
    let Some(class) = routed.into_iter().next() else {
        return BTreeMap::new();
    };
    let tally = ClassTally {
        share: 1.0,
        answers: window
            .versions
            .iter()
            .filter(|(_, t)| t.requests > 0)
            .map(|(version, t)| (version.clone(), t.requests))
            .collect(),
        failed: window.connection_failures.total(),
    };
    BTreeMap::from([(class.clone(), tally)])
}

/// The routing verdict of every class of a window; empty when its traffic did
/// not go through a Gateway.
pub fn routing(window: &WindowObservation, min_samples: u64) -> Vec<RoutingVerdict> {
    let samples = route_samples(window);
    if samples.is_empty() {
        return Vec::new();
    }
    classes(window)
        .into_iter()
        .map(|(class, tally)| {
            let routed_to: BTreeSet<String> = samples
                .iter()
                .filter_map(|s| s.route.routed.get(&class))
                .flat_map(|versions| versions.iter())
                .filter(|(_, share)| **share > 0.0)
                .map(|(version, _)| version.clone())
                .collect();
            let misrouted: u64 = tally
                .answers
                .iter()
                .filter(|(version, _)| !routed_to.contains(*version))
                .map(|(_, n)| n)
                .sum();
            let answered = tally.answered();
            let routed_list: Vec<String> = routed_to.into_iter().collect();
            let to = if routed_list.is_empty() {
                "no version (404 or 503)".to_owned()
            } else {
                routed_list.join(", ")
            };
            let seen: Vec<String> = tally
                .answers
                .iter()
                .map(|(version, n)| format!("{version} {n}"))
                .collect();
            let seen = if seen.is_empty() {
                "no answers".to_owned()
            } else {
                seen.join(", ")
            };
            let said = format!("class {class} routed to {to}; answers: {seen}");
            let (verdict, why) = if window.kind == WindowKind::Transition {
                (
                    Verdict::NotApplicable,
                    "shown, not judged: routes change during a transition".to_owned(),
                )
            } else if misrouted > 0 {
                (
                    Verdict::Fail,
                    format!("{misrouted} answered by a version the class is not routed to"),
                )
            } else if answered < min_samples {
                (
                    Verdict::Inconclusive,
                    format!("{answered} < {min_samples} answers needed"),
                )
            } else {
                (
                    Verdict::Pass,
                    "every answer from a routed version".to_owned(),
                )
            };
            RoutingVerdict {
                class,
                verdict,
                routed_to: routed_list,
                answers: tally.answers,
                misrouted,
                explanation: format!("{said}: {why}"),
            }
        })
        .collect()
}

/// The mirror verdict of every version copies were sent to (or meant to be).
pub fn mirror(
    window: &WindowObservation,
    confidence: f64,
    min_samples: u64,
    tolerance: &CrossCheckTolerance,
) -> Vec<MirrorVerdict> {
    let samples = route_samples(window);
    let mut versions: BTreeSet<String> = samples
        .iter()
        .flat_map(|s| s.route.mirrored.iter())
        .filter(|(_, share)| **share > 0.0)
        .map(|(version, _)| version.clone())
        .collect();
    // The copies counted with the requests they copy, when the gateway or
    // Prometheus counted both; else the copies answered against the clients'
    // requests (copies still in flight at the window's edges are then
    // missed, and late answers to copies of an earlier window counted).
    let copies = window.gateway.copies.as_ref();
    match copies {
        Some(copies) => versions.extend(copies.sent.keys().cloned()),
        None => versions.extend(
            window
                .gateway
                .mirrored
                .iter()
                .filter(|(_, t)| t.requests + t.attributed_failures > 0)
                .map(|(version, _)| version.clone()),
        ),
    }
    let requests: u64 = copies.map_or_else(
        || {
            window.versions.values().map(|t| t.requests).sum::<u64>()
                + window.connection_failures.total()
        },
        |c| c.of_requests,
    );
    let counted = window.gateway.mirror_source;
    let source = counted.map_or_else(
        || "no count of mirrored requests".to_owned(),
        |source| source.as_str().to_owned(),
    );
    let conf = confidence_label(confidence);
    versions
        .into_iter()
        .map(|version| {
            let mirrored = match copies {
                Some(c) => c.sent.get(&version).copied().unwrap_or(0),
                None => window
                    .gateway
                    .mirrored
                    .get(&version)
                    .map_or(0, |t| t.requests + t.attributed_failures),
            }
            .min(requests);
            let expected_share =
                time_weighted(window, |s| s.route.mirrored.get(&version).copied().unwrap_or(0.0));
            let interval = wilson_interval(mirrored, requests, z_for_confidence(confidence));
            let observed_share = (requests > 0).then(|| mirrored as f64 / requests as f64);
            let observed = match (observed_share, interval) {
                (Some(share), Some(interval)) => format!(
                    "{mirrored} of {requests} requests mirrored to {version} ({}, {conf} interval {}–{})",
                    percent(share),
                    percent(interval.low),
                    percent(interval.high)
                ),
                _ => format!("no requests in the window to mirror to {version}"),
            };
            let expected = match expected_share {
                Some(share) => format!("the route asks for {}", percent(share)),
                None => "no route in force".to_owned(),
            };
            // Prometheus's counts are estimates of both sides.
            let slack = match (counted, expected_share) {
                (Some(MirrorSource::Prometheus), Some(share)) => Some(tolerance.relative * share),
                _ => None,
            };
            let (verdict, why) = match (window.kind, interval, expected_share) {
                (WindowKind::Transition, _, _) => (
                    Verdict::NotApplicable,
                    "shown, not judged: routes change during a transition".to_owned(),
                ),
                _ if counted.is_none() => {
                    (Verdict::Inconclusive, "nothing counted the copies".to_owned())
                }
                (_, Some(interval), Some(expected)) => {
                    let slack_share = slack.unwrap_or(0.0);
                    let allowing = slack.map_or_else(String::new, |s| {
                        format!(
                            " (allowing {:.2} points either side for Prometheus's estimates)",
                            s * 100.0
                        )
                    });
                    let partial = copies.is_some_and(|c| c.partial);
                    if requests < min_samples {
                        (
                            Verdict::Inconclusive,
                            format!("{requests} < {min_samples} requests needed"),
                        )
                    } else if interval.low - slack_share <= expected
                        && expected <= interval.high + slack_share
                    {
                        (Verdict::Pass, format!("inside{allowing}"))
                    } else if partial {
                        (
                            Verdict::Inconclusive,
                            format!("outside{allowing}, but Prometheus's data is partial"),
                        )
                    } else {
                        (Verdict::Fail, format!("outside{allowing}"))
                    }
                }
                _ => (Verdict::Inconclusive, "nothing to compare".to_owned()),
            };
            MirrorVerdict {
                version,
                verdict,
                mirrored,
                requests,
                observed_share,
                expected_share,
                interval,
                confidence,
                comparison: Comparison::Inside,
                tolerance: slack,
                source: source.clone(),
                explanation: format!("{observed}, {expected}: {why}"),
            }
        })
        .collect()
}

/// The versions that only received mirrored copies in the window: the
/// routes sent them no class of requests, and mirrored some to them.
pub fn mirror_only_versions(window: &WindowObservation) -> BTreeSet<String> {
    let samples = route_samples(window);
    let routed: BTreeSet<&String> = samples
        .iter()
        .flat_map(|s| s.route.routed.values())
        .flat_map(|versions| versions.iter())
        .filter(|(_, share)| **share > 0.0)
        .map(|(version, _)| version)
        .collect();
    samples
        .iter()
        .flat_map(|s| s.route.mirrored.iter())
        .filter(|(version, share)| **share > 0.0 && !routed.contains(version))
        .map(|(version, _)| version.clone())
        .collect()
}

/// Whether `candidate` only received mirrored copies in the window: the
/// routes sent it no class of requests, and mirrored some to it. Its gates
/// are then judged on what it answered to the copies.
pub fn mirrored_candidate(window: &WindowObservation, candidate: &str) -> bool {
    mirror_only_versions(window).contains(candidate)
}

/// The expected share of each version at one instant for the split: the
/// route's shares mixed by the window's class shares when the traffic went
/// through a Gateway, else `None` (the ready endpoints decide).
pub(crate) fn routed_expectation(
    sample: &ReadySample,
    window: &WindowObservation,
) -> Option<BTreeMap<String, f64>> {
    if sample.route.routed.is_empty() {
        return None;
    }
    let shares: BTreeMap<String, f64> = window
        .gateway
        .classes
        .iter()
        .map(|(class, tally)| (class.clone(), tally.share))
        .collect();
    Some(sample.route.expected(&shares))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{
        CopyCount, Downtime, FailureTally, GatewayTraffic, RouteSample, VersionTally,
    };

    /// A window in which every request is mirrored to v2 and v1 answered
    /// 802 requests, of which v2 had answered `answered` copies by the end.
    fn shadow(answered: u64, copies: Option<CopyCount>) -> WindowObservation {
        let tally = |requests| VersionTally {
            requests,
            successes: requests,
            ..VersionTally::default()
        };
        WindowObservation {
            name: "shadow".to_owned(),
            kind: WindowKind::Analyze,
            start_ms: 0,
            end_ms: 10_000,
            versions: BTreeMap::from([("v1".to_owned(), tally(802))]),
            connection_failures: FailureTally::default(),
            ready_endpoints: vec![ReadySample {
                t_ms: 0,
                ready: BTreeMap::from([("v1".to_owned(), 1), ("v2".to_owned(), 1)]),
                route: RouteSample {
                    routed: BTreeMap::from([(
                        "default".to_owned(),
                        BTreeMap::from([("v1".to_owned(), 1.0)]),
                    )]),
                    mirrored: BTreeMap::from([("v2".to_owned(), 1.0)]),
                },
            }],
            restarts: BTreeMap::new(),
            server: None,
            downtime: Downtime::default(),
            gateway: GatewayTraffic {
                mirrored: BTreeMap::from([("v2".to_owned(), tally(answered))]),
                copies,
                mirror_source: Some(MirrorSource::Gateway),
                ..GatewayTraffic::default()
            },
        }
    }

    /// The mirror verdicts at 99% with 100 requests needed.
    fn judge(window: &WindowObservation) -> Vec<MirrorVerdict> {
        mirror(window, 0.99, 100, &CrossCheckTolerance::default())
    }

    #[test]
    fn copies_counted_with_their_requests_judge_a_full_mirror_exactly() {
        // One copy still unanswered when the window closed.
        let counted = CopyCount {
            of_requests: 805,
            sent: BTreeMap::from([("v2".to_owned(), 805)]),
            partial: false,
        };
        let verdicts = judge(&shadow(801, Some(counted)));
        assert_eq!(verdicts.len(), 1);
        assert_eq!(
            verdicts[0].verdict,
            Verdict::Pass,
            "{}",
            verdicts[0].explanation
        );
        assert_eq!((verdicts[0].mirrored, verdicts[0].requests), (805, 805));
        // Without the gateway's joint count, the answered copies are all
        // there is, and the copy in flight fails a 100% mirror.
        let verdicts = judge(&shadow(801, None));
        assert_eq!(
            verdicts[0].verdict,
            Verdict::Fail,
            "{}",
            verdicts[0].explanation
        );
        // A copy that was never sent fails it either way.
        let short = CopyCount {
            of_requests: 805,
            sent: BTreeMap::from([("v2".to_owned(), 800)]),
            partial: false,
        };
        let verdicts = judge(&shadow(800, Some(short)));
        assert_eq!(
            verdicts[0].verdict,
            Verdict::Fail,
            "{}",
            verdicts[0].explanation
        );
        // The mirror removed: late answers to earlier copies are no copies of
        // this window's requests, so there is nothing to judge.
        let mut unmirrored = shadow(
            3,
            Some(CopyCount {
                of_requests: 805,
                sent: BTreeMap::new(),
                partial: false,
            }),
        );
        unmirrored.ready_endpoints[0].route.mirrored.clear();
        assert_eq!(judge(&unmirrored), Vec::new());
    }

    #[test]
    fn prometheus_counts_are_judged_with_the_cross_check_tolerance() {
        let judged = |sent: u64, share: f64, source: MirrorSource| {
            let mut window = shadow(
                sent,
                Some(CopyCount {
                    of_requests: 800,
                    sent: BTreeMap::from([("v2".to_owned(), sent)]),
                    partial: false,
                }),
            );
            window.ready_endpoints[0]
                .route
                .mirrored
                .insert("v2".to_owned(), share);
            window.gateway.mirror_source = Some(source);
            let verdict = judge(&window).remove(0);
            (verdict.verdict, verdict.tolerance, verdict.source)
        };
        // 160 of 800 at 25%: the 99% interval (about 16.5%–24%) misses 25%,
        // which the gateway's exact count fails and Prometheus's estimate,
        // allowed 10% of 25% either side, passes.
        assert_eq!(
            judged(160, 0.25, MirrorSource::Gateway),
            (Verdict::Fail, None, "gateway".to_owned())
        );
        let (verdict, tolerance, source) = judged(160, 0.25, MirrorSource::Prometheus);
        assert_eq!((verdict, source.as_str()), (Verdict::Pass, "prometheus"));
        assert!((tolerance.unwrap() - 0.025).abs() < 1e-12);
        // 120 of 800 (15%) is too far even so; and so is a full mirror
        // where a quarter was asked.
        assert_eq!(judged(120, 0.25, MirrorSource::Prometheus).0, Verdict::Fail);
        assert_eq!(judged(800, 0.25, MirrorSource::Prometheus).0, Verdict::Fail);
        // Counted while a pod was not scraped yet: outside is no evidence.
        let mut window = shadow(
            120,
            Some(CopyCount {
                of_requests: 800,
                sent: BTreeMap::from([("v2".to_owned(), 120)]),
                partial: true,
            }),
        );
        window.ready_endpoints[0]
            .route
            .mirrored
            .insert("v2".to_owned(), 0.25);
        window.gateway.mirror_source = Some(MirrorSource::Prometheus);
        let verdict = judge(&window).remove(0);
        assert_eq!(
            verdict.verdict,
            Verdict::Inconclusive,
            "{}",
            verdict.explanation
        );
        // 780 of 800 against a full mirror: estimates that close pass.
        assert_eq!(judged(780, 1.0, MirrorSource::Prometheus).0, Verdict::Pass);
        assert_eq!(judged(780, 1.0, MirrorSource::Gateway).0, Verdict::Fail);
    }

    #[test]
    fn a_mirrored_candidate_is_gated_on_its_copies_with_their_source() {
        use crate::analysis::{Gates, Roles, evaluate_gates};
        let roles = Roles {
            candidate: "v2".to_owned(),
            baseline: Some("v1".to_owned()),
        };
        let mut window = shadow(790, None);
        window.gateway.mirrored.get_mut("v2").unwrap().server_errors = 90;
        window.gateway.mirrored.get_mut("v2").unwrap().successes = 700;
        window.gateway.mirror_source = Some(MirrorSource::Prometheus);
        let gates = evaluate_gates(&window, &roles, &Gates::default());
        let success = &gates[0];
        assert_eq!(
            (success.verdict, success.samples, success.source.as_str()),
            (Verdict::Fail, 790, "prometheus"),
            "{}",
            success.explanation
        );
        // Restarts are the platform's whoever counted the copies.
        assert_eq!(gates[3].source, "platform");
        window.gateway.mirror_source = Some(MirrorSource::Gateway);
        let gates = evaluate_gates(&window, &roles, &Gates::default());
        assert_eq!(gates[0].source, "gateway");
    }

    #[test]
    fn a_version_also_routed_is_not_mirror_only() {
        let mut window = shadow(10, None);
        assert!(mirrored_candidate(&window, "v2"));
        assert_eq!(
            mirror_only_versions(&window),
            BTreeSet::from(["v2".to_owned()])
        );
        window.ready_endpoints[0]
            .route
            .routed
            .get_mut("default")
            .unwrap()
            .insert("v2".to_owned(), 0.1);
        assert!(!mirrored_candidate(&window, "v2"));
        assert!(mirror_only_versions(&window).is_empty());
    }
}
