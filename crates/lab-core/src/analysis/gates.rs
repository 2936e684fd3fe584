//! The gates a candidate version must pass in the analyze window.

use super::observation::{VersionTally, WindowObservation};
use super::stats::{Interval, requests_to_tell_double, wilson_interval};
use super::thresholds::{Gates, confidence_label, relative_p99_limit};
use super::verdict::{Comparison, Unit, Verdict, millis, percent};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The share of requests allowed above the p99 limit: "p99 <= max" means at most
/// 1% of requests are slower than max.
pub const SLOWER_THAN_P99_LIMIT: f64 = 0.01;

/// Which version is judged and which one it is compared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    /// The version being rolled out (`v2.0.0`).
    pub candidate: String,
    /// The version it replaces (`v1.0.0`); `None` when there is none to compare with.
    pub baseline: Option<String>,
}

/// The name of a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateName {
    /// Success rate at least `min_success_rate`.
    SuccessRate,
    /// p99 latency at most `max_p99_ms`.
    P99Latency,
    /// p99 latency at most `max_p99_ratio` times the baseline's.
    P99VsBaseline,
    /// Restarts at most `max_restarts`.
    Restarts,
}

impl GateName {
    /// The name used in reports (`success_rate`, `p99_latency`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            GateName::SuccessRate => "success_rate",
            GateName::P99Latency => "p99_latency",
            GateName::P99VsBaseline => "p99_vs_baseline",
            GateName::Restarts => "restarts",
        }
    }
}

impl fmt::Display for GateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a Wilson interval in a gate's evidence counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counted {
    /// Successful requests.
    Successes,
    /// Requests slower than `max_p99_ms`.
    SlowerThanMaxP99,
    /// Candidate requests slower than the limit derived from the baseline's p99.
    SlowerThanBaselineLimit,
}

/// The proportion behind a gate and its Wilson interval: the grounds for failing
/// early with fewer than `min_samples` requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// What was counted.
    pub counted: Counted,
    /// How many requests were counted.
    pub count: u64,
    /// Out of how many.
    pub total: u64,
    /// The interval's confidence.
    pub confidence: f64,
    /// The Wilson interval of `count / total`.
    pub interval: Interval,
    /// The proportion the interval is held against (the success rate's lower limit,
    /// or the 1% of requests allowed above the p99 limit).
    pub limit: f64,
}

/// What a gate's sample could detect, beside its verdict.
///
/// Method: every sampled gate holds a bad share against a limit (failed requests
/// against `1 - min_success_rate`; requests slower than the latency limit against
/// the 1% a p99 allows). With `bad` of `total` requests seen, the highest bad share
/// the sample cannot rule out is the upper end of the same Wilson interval the
/// gate uses, at its confidence (for the success rate, one minus the lower bound
/// of the success interval). The requests needed are the fewest whose Wilson
/// interval, centred on a share observed exactly at the limit, excludes twice the
/// limit ([`requests_to_tell_double`]). The sample resolves the threshold when the
/// share it cannot rule out is at most twice the limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensitivity {
    /// What the share counts.
    pub counted: Bad,
    /// Requests behind the figure.
    pub total: u64,
    /// The highest bad share the sample cannot rule out at the gate's confidence.
    pub cannot_rule_out: f64,
    /// The bad share the gate allows (0.01 for a 99% success rate or a p99).
    pub allowed: f64,
    /// Requests needed to tell `allowed` apart from twice it; `None` when the
    /// allowed share is 0 or at least one half.
    pub requests_needed: Option<u64>,
    /// Whether `cannot_rule_out` is at most twice `allowed`.
    pub resolved: bool,
}

/// The bad requests a [`Sensitivity`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bad {
    /// Failed requests (the success-rate gate).
    Errors,
    /// Requests slower than the gate's latency limit.
    Slow,
}

impl Sensitivity {
    /// The sensitivity of `bad` of `total` requests held against the `allowed`
    /// share at `z`; `None` without requests.
    pub fn of(counted: Bad, bad: u64, total: u64, allowed: f64, z: f64) -> Option<Sensitivity> {
        let interval = wilson_interval(bad.min(total), total, z)?;
        let cannot_rule_out = interval.high;
        // 1 - 0.99 is 0.010000000000000009 in floating point; the reports show
        // the setting, not the rounding.
        let allowed = (allowed * 1e12).round() / 1e12;
        Some(Sensitivity {
            counted,
            total,
            cannot_rule_out,
            allowed,
            requests_needed: requests_to_tell_double(allowed, z),
            resolved: cannot_rule_out <= 2.0 * allowed + 1e-12,
        })
    }

    /// One line for people: what the sample can and cannot rule out.
    pub fn describe(&self) -> String {
        let what = match self.counted {
            Bad::Errors => "an error rate",
            Bad::Slow => "a share of slow requests",
        };
        let needed = self
            .requests_needed
            .map(|n| {
                format!(
                    "; {n} requests tell {} from {}",
                    percent(self.allowed),
                    percent(2.0 * self.allowed)
                )
            })
            .unwrap_or_default();
        format!(
            "{} requests cannot rule out {what} up to {}{needed}",
            self.total,
            percent(self.cannot_rule_out)
        )
    }
}

/// One gate's verdict on the candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateVerdict {
    /// Which gate.
    pub gate: GateName,
    /// The version judged.
    pub version: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The measured value in `unit`; `None` when nothing could be measured.
    pub measured: Option<f64>,
    /// The value `measured` was compared with, in `unit`; for `p99_vs_baseline` it
    /// is derived from the baseline's p99, and `None` without a baseline.
    pub threshold: Option<f64>,
    /// The configured setting the threshold comes from (for `p99_vs_baseline`
    /// the ratio `max_p99_ratio`).
    pub limit: f64,
    /// Unit of `measured` and `threshold`.
    pub unit: Unit,
    /// How `measured` is compared with `threshold`.
    pub comparison: Comparison,
    /// Requests behind the measurement (for `p99_vs_baseline` the smaller of the
    /// candidate's and the baseline's; for `restarts` the candidate's, as context).
    pub samples: u64,
    /// The Wilson interval used to fail early, where the gate has one.
    pub evidence: Option<Evidence>,
    /// What the gate's sample could detect; `None` for gates without a sample
    /// (restarts) or without requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Sensitivity>,
    /// Where the measurement came from (`client`, `platform`).
    pub source: String,
    /// One line for people: why this verdict.
    pub explanation: String,
}

/// The success-rate gate: successes over answered plus attributed failed requests.
///
/// Fails early, with any number of requests, when the Wilson upper bound is below
/// `min_success_rate`; otherwise inconclusive below `min_samples`; otherwise the
/// rate itself is compared with `min_success_rate`.
pub fn success_rate_gate(
    version: &str,
    tally: Option<&VersionTally>,
    gates: &Gates,
) -> GateVerdict {
    let limit = gates.min_success_rate;
    let (successes, total) = tally
        .map(|t| (t.successes, t.requests + t.attributed_failures))
        .unwrap_or((0, 0));
    let mut verdict = GateVerdict {
        gate: GateName::SuccessRate,
        version: version.to_owned(),
        verdict: Verdict::Inconclusive,
        measured: None,
        threshold: Some(limit),
        limit,
        unit: Unit::Ratio,
        comparison: Comparison::AtLeast,
        samples: total,
        evidence: None,
        sensitivity: None,
        source: "client".to_owned(),
        explanation: format!("no requests reached {version}"),
    };
    let Some(interval) = wilson_interval(successes, total, gates.z()) else {
        return verdict;
    };
    let rate = successes as f64 / total as f64;
    let conf = confidence_label(gates.confidence);
    let measured = format!("success rate {} ({successes}/{total})", percent(rate));
    verdict.measured = Some(rate);
    verdict.sensitivity = Sensitivity::of(
        Bad::Errors,
        total - successes.min(total),
        total,
        1.0 - limit,
        gates.z(),
    );
    verdict.evidence = Some(Evidence {
        counted: Counted::Successes,
        count: successes,
        total,
        confidence: gates.confidence,
        interval,
        limit,
    });
    (verdict.verdict, verdict.explanation) = if interval.high < limit {
        (
            Verdict::Fail,
            format!(
                "{measured}: even its {conf} upper bound {} is below {}",
                percent(interval.high),
                percent(limit)
            ),
        )
    } else if total < gates.min_samples {
        (
            Verdict::Inconclusive,
            format!(
                "{measured}: {total} < {} requests needed",
                gates.min_samples
            ),
        )
    } else if rate >= limit {
        (
            Verdict::Pass,
            format!(
                "{measured} >= {}{}",
                percent(limit),
                unresolved_note(verdict.sensitivity.as_ref())
            ),
        )
    } else {
        (Verdict::Fail, format!("{measured} < {}", percent(limit)))
    };
    verdict
}

/// The absolute p99 gate: p99 latency of the answered requests at most `max_p99_ms`.
///
/// "p99 <= max" means at most 1% of requests slower than max, so the gate fails
/// early, with any number of requests, when the Wilson lower bound of
/// `slower_than_max_p99 / requests` exceeds 1%; otherwise inconclusive below
/// `min_samples`; otherwise the measured p99 is compared with `max_p99_ms`.
pub fn p99_gate(version: &str, tally: Option<&VersionTally>, gates: &Gates) -> GateVerdict {
    let limit = gates.max_p99_ms;
    let total = tally.map_or(0, |t| t.requests);
    let mut verdict = GateVerdict {
        gate: GateName::P99Latency,
        version: version.to_owned(),
        verdict: Verdict::Inconclusive,
        measured: None,
        threshold: Some(limit),
        limit,
        unit: Unit::Ms,
        comparison: Comparison::AtMost,
        samples: total,
        evidence: None,
        sensitivity: None,
        source: "client".to_owned(),
        explanation: format!("no requests reached {version}"),
    };
    if total == 0 {
        return verdict;
    }
    let Some(latency) = tally.and_then(|t| t.latency) else {
        verdict.explanation = format!("no latency summary for {total} requests of {version}");
        return verdict;
    };
    let Some(evidence) = slow_share(
        Counted::SlowerThanMaxP99,
        latency.slower_than_max_p99,
        total,
        gates,
    ) else {
        return verdict;
    };
    let (slow, interval) = (evidence.count, evidence.interval);
    let conf = confidence_label(gates.confidence);
    verdict.measured = Some(latency.p99_ms);
    verdict.sensitivity = Sensitivity::of(Bad::Slow, slow, total, SLOWER_THAN_P99_LIMIT, gates.z());
    verdict.evidence = Some(evidence);
    let measured = format!("p99 {}", millis(latency.p99_ms));
    (verdict.verdict, verdict.explanation) = if interval.low > SLOWER_THAN_P99_LIMIT {
        (
            Verdict::Fail,
            format!(
                "{slow} of {total} requests slower than {}: even the {conf} lower bound {} of that share exceeds {}",
                millis(limit),
                percent(interval.low),
                percent(SLOWER_THAN_P99_LIMIT)
            ),
        )
    } else if total < gates.min_samples {
        (
            Verdict::Inconclusive,
            format!(
                "{measured}: {total} < {} requests needed",
                gates.min_samples
            ),
        )
    } else if latency.p99_ms <= limit {
        (
            Verdict::Pass,
            format!(
                "{measured} <= {}{}",
                millis(limit),
                unresolved_note(verdict.sensitivity.as_ref())
            ),
        )
    } else {
        (Verdict::Fail, format!("{measured} > {}", millis(limit)))
    };
    verdict
}

/// The words a passing gate adds when its sample cannot resolve its threshold:
/// "; passed, but 120 requests cannot rule out an error rate up to 5.24%".
fn unresolved_note(sensitivity: Option<&Sensitivity>) -> String {
    match sensitivity {
        Some(s) if !s.resolved => format!("; passed, but {}", s.describe()),
        _ => String::new(),
    }
}

/// The share of `total` requests slower than a latency gate's limit, with its
/// Wilson interval, held against the 1% a p99 allows; `None` without requests.
fn slow_share(counted: Counted, slow: u64, total: u64, gates: &Gates) -> Option<Evidence> {
    let slow = slow.min(total);
    wilson_interval(slow, total, gates.z()).map(|interval| Evidence {
        counted,
        count: slow,
        total,
        confidence: gates.confidence,
        interval,
        limit: SLOWER_THAN_P99_LIMIT,
    })
}

/// The relative p99 gate: the candidate's p99 at most [`relative_p99_limit`] of
/// the baseline's p99.
///
/// Not applicable when there is no baseline or it had no traffic in the window.
/// Like the absolute gate, it holds the candidate's share of requests slower than
/// the limit against 1%: it fails, with any number of requests, when the Wilson
/// lower bound of that share exceeds 1%; otherwise it is inconclusive while either
/// version has fewer than `min_samples` requests; otherwise it passes when the
/// candidate's p99 is within the limit. Unlike the absolute gate, a p99 above the
/// limit with too few slow requests to show that share also passes, and says so:
/// the limit is itself an estimate from the baseline's sample, and at tens of
/// requests the candidate's p99 is its single slowest request, so one scheduling
/// hiccup is no evidence of a regression. Without the count of slow requests
/// ([`LatencySummary::slower_than_baseline_limit`]) the p99 alone decides.
///
/// [`LatencySummary::slower_than_baseline_limit`]: super::observation::LatencySummary::slower_than_baseline_limit
pub fn p99_vs_baseline_gate(
    version: &str,
    candidate: Option<&VersionTally>,
    baseline: Option<(&str, Option<&VersionTally>)>,
    gates: &Gates,
) -> GateVerdict {
    let candidate_requests = candidate.map_or(0, |t| t.requests);
    let mut verdict = GateVerdict {
        gate: GateName::P99VsBaseline,
        version: version.to_owned(),
        verdict: Verdict::NotApplicable,
        measured: None,
        threshold: None,
        limit: gates.max_p99_ratio,
        unit: Unit::Ms,
        comparison: Comparison::AtMost,
        samples: candidate_requests,
        evidence: None,
        sensitivity: None,
        source: "client".to_owned(),
        explanation: "no baseline version to compare with".to_owned(),
    };
    let Some((baseline_version, baseline)) = baseline else {
        return verdict;
    };
    let baseline_requests = baseline.map_or(0, |t| t.requests);
    if baseline_requests == 0 {
        verdict.explanation = format!("baseline {baseline_version} had no traffic in the window");
        return verdict;
    }
    verdict.verdict = Verdict::Inconclusive;
    verdict.samples = candidate_requests.min(baseline_requests);
    if candidate_requests == 0 {
        verdict.explanation = format!("no requests reached {version}");
        return verdict;
    }
    let (Some(ours), Some(theirs)) = (
        candidate.and_then(|t| t.latency),
        baseline.and_then(|t| t.latency),
    ) else {
        verdict.explanation = format!("no latency summary for {version} or {baseline_version}");
        return verdict;
    };
    let threshold = relative_p99_limit(theirs.p99_ms, gates);
    verdict.measured = Some(ours.p99_ms);
    verdict.threshold = Some(threshold);
    let comparison = format!(
        "p99 {} against max({} × {}, {} + {}) = {}",
        millis(ours.p99_ms),
        gates.max_p99_ratio,
        millis(theirs.p99_ms),
        millis(theirs.p99_ms),
        millis(gates.p99_ratio_allowance_ms),
        millis(threshold),
    );
    let conf = confidence_label(gates.confidence);
    let evidence = ours.slower_than_baseline_limit.and_then(|slow| {
        slow_share(
            Counted::SlowerThanBaselineLimit,
            slow,
            candidate_requests,
            gates,
        )
    });
    let shown_slower = evidence
        .as_ref()
        .filter(|e| e.interval.low > SLOWER_THAN_P99_LIMIT);
    (verdict.verdict, verdict.explanation) = if let Some(e) = shown_slower {
        (
            Verdict::Fail,
            format!(
                "{comparison}: {} of {} requests slower; even the {conf} lower bound {} of that share exceeds {}",
                e.count,
                e.total,
                percent(e.interval.low),
                percent(SLOWER_THAN_P99_LIMIT)
            ),
        )
    } else if verdict.samples < gates.min_samples {
        (
            Verdict::Inconclusive,
            format!(
                "{comparison}: {version} had {candidate_requests} and {baseline_version} {baseline_requests} requests, {} needed each",
                gates.min_samples
            ),
        )
    } else if ours.p99_ms <= threshold {
        (
            Verdict::Pass,
            format!(
                "{comparison}: within{}",
                unresolved_note(
                    evidence
                        .as_ref()
                        .and_then(|e| Sensitivity::of(
                            Bad::Slow,
                            e.count,
                            e.total,
                            SLOWER_THAN_P99_LIMIT,
                            gates.z()
                        ))
                        .as_ref()
                )
            ),
        )
    } else if let Some(e) = &evidence {
        (
            Verdict::Pass,
            format!(
                "{comparison}: above, but {} of {} requests slower is no evidence that more than {} are ({conf} lower bound {})",
                e.count,
                e.total,
                percent(SLOWER_THAN_P99_LIMIT),
                percent(e.interval.low)
            ),
        )
    } else {
        (Verdict::Fail, format!("{comparison}: above"))
    };
    verdict.sensitivity = evidence.as_ref().and_then(|e| {
        Sensitivity::of(
            Bad::Slow,
            e.count,
            e.total,
            SLOWER_THAN_P99_LIMIT,
            gates.z(),
        )
    });
    verdict.evidence = evidence;
    verdict
}

/// The restarts gate: container restarts of the candidate at most `max_restarts`.
///
/// Restarts are counted by the platform, not sampled from traffic, so the
/// minimum-sample rule does not apply; `requests` is recorded for context.
pub fn restarts_gate(version: &str, restarts: u32, requests: u64, gates: &Gates) -> GateVerdict {
    let limit = gates.max_restarts;
    let (verdict, relation) = if restarts <= limit {
        (Verdict::Pass, "<=")
    } else {
        (Verdict::Fail, ">")
    };
    GateVerdict {
        gate: GateName::Restarts,
        version: version.to_owned(),
        verdict,
        measured: Some(f64::from(restarts)),
        threshold: Some(f64::from(limit)),
        limit: f64::from(limit),
        unit: Unit::Count,
        comparison: Comparison::AtMost,
        samples: requests,
        evidence: None,
        sensitivity: None,
        source: "platform".to_owned(),
        explanation: format!("{restarts} restarts of {version} {relation} {limit} allowed"),
    }
}

/// Every gate on the candidate of a window, in a fixed order: success rate, p99,
/// p99 against the baseline, restarts.
pub fn evaluate_gates(
    window: &WindowObservation,
    roles: &Roles,
    gates: &Gates,
) -> Vec<GateVerdict> {
    let candidate = roles.candidate.as_str();
    // A candidate that only gets mirrored copies is judged on what it
    // answered to them: the users never see those answers. Those gates
    // name who counted the copies.
    let mirrored = super::routing::mirrored_candidate(window, candidate);
    let tally = if mirrored {
        window.gateway.mirrored.get(candidate)
    } else {
        window.versions.get(candidate)
    };
    let baseline = roles
        .baseline
        .as_deref()
        .map(|b| (b, window.versions.get(b)));
    let restarts = window.restarts.get(candidate).copied().unwrap_or(0);
    let mut sampled = vec![
        success_rate_gate(candidate, tally, gates),
        p99_gate(candidate, tally, gates),
        p99_vs_baseline_gate(candidate, tally, baseline, gates),
    ];
    if let (true, Some(source)) = (mirrored, window.gateway.mirror_source) {
        for gate in &mut sampled {
            gate.source = source.as_str().to_owned();
        }
    }
    sampled.push(restarts_gate(
        candidate,
        restarts,
        tally.map_or(0, |t| t.requests),
        gates,
    ));
    sampled
}
