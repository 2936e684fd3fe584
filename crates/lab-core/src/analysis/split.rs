//! The traffic split: the share of requests each version answered against the
//! share its ready endpoints should have drawn.

use super::observation::{ReadySample, WindowKind, WindowObservation};
use super::stats::{Interval, wilson_interval};
use super::thresholds::confidence_label;
use super::verdict::{Comparison, Verdict, percent};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The expected share of each version over `[start_ms, end_ms]`.
///
/// The Service picks a ready endpoint uniformly at random, so at any instant a
/// version should draw `its ready endpoints / all ready endpoints` of the traffic.
/// The expected share is that ratio averaged over the time in the window when at
/// least one endpoint was ready. Each sample holds until the next one; the last
/// sample at or before `start_ms` gives the state at the start, and time before
/// the first sample is not counted. A zero-length window takes the state at its
/// start. Every version named in a sample that counts appears in the result,
/// possibly with 0; the result is empty when no endpoint was ready.
pub fn expected_shares(
    samples: &[ReadySample],
    start_ms: u64,
    end_ms: u64,
) -> BTreeMap<String, f64> {
    expected_shares_by(samples, start_ms, end_ms, |_| None)
}

/// [`expected_shares`], each sample's shares given by `routed` when it gives
/// them (traffic through a Gateway: the route's weights), else by the ready
/// endpoints.
fn expected_shares_by(
    samples: &[ReadySample],
    start_ms: u64,
    end_ms: u64,
    routed: impl Fn(&ReadySample) -> Option<BTreeMap<String, f64>>,
) -> BTreeMap<String, f64> {
    let mut weighted: BTreeMap<String, f64> = BTreeMap::new();
    let mut covered_ms = 0.0;
    let mut add = |sample: &ReadySample, weight: f64| {
        if let Some(shares) = routed(sample) {
            if shares.values().sum::<f64>() <= 0.0 {
                return false;
            }
            for (version, share) in shares {
                *weighted.entry(version).or_default() += weight * share;
            }
            return true;
        }
        let total: u32 = sample.ready.values().sum();
        if total == 0 {
            return false;
        }
        for (version, &ready) in &sample.ready {
            *weighted.entry(version.clone()).or_default() +=
                weight * f64::from(ready) / f64::from(total);
        }
        true
    };
    if end_ms <= start_ms {
        if let Some(at_start) = samples.iter().rev().find(|s| s.t_ms <= start_ms)
            && add(at_start, 1.0)
        {
            covered_ms = 1.0;
        }
    } else {
        for (i, sample) in samples.iter().enumerate() {
            let from = sample.t_ms.max(start_ms);
            let until = samples
                .get(i + 1)
                .map_or(end_ms, |next| next.t_ms.min(end_ms));
            if until <= from {
                continue;
            }
            let span = (until - from) as f64;
            if add(sample, span) {
                covered_ms += span;
            }
        }
    }
    if covered_ms == 0.0 {
        return BTreeMap::new();
    }
    weighted
        .into_iter()
        .map(|(version, w)| (version, w / covered_ms))
        .collect()
}

/// The split verdict of one version in one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitVerdict {
    /// The version.
    pub version: String,
    /// `pass` when the expected share lies inside the interval, `fail` when not,
    /// `inconclusive` below `min_samples` or without ready endpoints,
    /// `not_applicable` in a transition window (shown, not judged).
    pub verdict: Verdict,
    /// Requests this version answered.
    pub requests: u64,
    /// Requests all versions answered: the sample size.
    pub samples: u64,
    /// `requests / samples`; `None` without samples.
    pub observed_share: Option<f64>,
    /// The time-weighted share of ready endpoints; `None` when none was ready.
    pub expected_share: Option<f64>,
    /// Wilson interval of the observed share; `None` without samples.
    pub interval: Option<Interval>,
    /// The interval's confidence.
    pub confidence: f64,
    /// Always `inside`: the expected share must lie inside the interval.
    pub comparison: Comparison,
    /// Where the counts came from (`client`).
    pub source: String,
    /// One line for people: why this verdict.
    pub explanation: String,
}

/// What the split of one version is judged from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitInput<'a> {
    /// The version.
    pub version: &'a str,
    /// Requests it answered.
    pub requests: u64,
    /// Requests all versions answered.
    pub samples: u64,
    /// Its expected share; `None` when no endpoint was ready.
    pub expected_share: Option<f64>,
    /// The window's kind (transitions are shown, not judged).
    pub kind: WindowKind,
}

/// Judges the split of one version at `confidence` (for example 0.99).
pub fn split_verdict(input: SplitInput<'_>, confidence: f64, min_samples: u64) -> SplitVerdict {
    let SplitInput {
        version,
        requests,
        samples,
        expected_share,
        kind,
    } = input;
    let z = super::stats::z_for_confidence(confidence);
    let interval = wilson_interval(requests, samples, z);
    let observed_share = (samples > 0).then(|| requests as f64 / samples as f64);
    let conf = confidence_label(confidence);
    let inside = match (interval, expected_share) {
        (Some(interval), Some(expected)) => Some(interval.contains(expected)),
        _ => None,
    };
    let observed = match (observed_share, interval) {
        (Some(share), Some(interval)) => format!(
            "{version} answered {} of {samples} requests ({conf} interval {}–{})",
            percent(share),
            percent(interval.low),
            percent(interval.high)
        ),
        _ => format!("no requests in the window for {version}"),
    };
    let expected = match expected_share {
        Some(share) => format!("expected {}", percent(share)),
        None => "no endpoint was ready".to_owned(),
    };
    let (verdict, why) = match (kind, inside) {
        (WindowKind::Transition, _) => (
            Verdict::NotApplicable,
            "shown, not judged: the ready set changes during a transition".to_owned(),
        ),
        (_, None) => (Verdict::Inconclusive, "nothing to compare".to_owned()),
        (_, Some(_)) if samples < min_samples => (
            Verdict::Inconclusive,
            format!("{samples} < {min_samples} requests needed"),
        ),
        (_, Some(true)) => (Verdict::Pass, "inside".to_owned()),
        (_, Some(false)) => (Verdict::Fail, "outside".to_owned()),
    };
    SplitVerdict {
        version: version.to_owned(),
        verdict,
        requests,
        samples,
        observed_share,
        expected_share,
        interval,
        confidence,
        comparison: Comparison::Inside,
        source: "client".to_owned(),
        explanation: format!("{observed}, {expected}: {why}"),
    }
}

/// The split of every version that drew traffic or was expected to, in version
/// order. A version with neither (absent from the window) has nothing to judge and
/// is left out.
pub fn split(window: &WindowObservation, confidence: f64, min_samples: u64) -> Vec<SplitVerdict> {
    let expected = expected_shares_by(
        &window.ready_endpoints,
        window.start_ms,
        window.end_ms,
        |sample| super::routing::routed_expectation(sample, window),
    );
    let samples: u64 = window.versions.values().map(|t| t.requests).sum();
    let requests_of = |v: &str| window.versions.get(v).map_or(0, |t| t.requests);
    let versions: BTreeSet<&str> = window
        .versions
        .iter()
        .filter(|(_, t)| t.requests > 0)
        .map(|(v, _)| v.as_str())
        .chain(
            expected
                .iter()
                .filter(|(_, share)| **share > 0.0)
                .map(|(v, _)| v.as_str()),
        )
        .collect();
    versions
        .into_iter()
        .map(|version| {
            let expected_share = if expected.is_empty() {
                None
            } else {
                Some(expected.get(version).copied().unwrap_or(0.0))
            };
            split_verdict(
                SplitInput {
                    version,
                    requests: requests_of(version),
                    samples,
                    expected_share,
                    kind: window.kind,
                },
                confidence,
                min_samples,
            )
        })
        .collect()
}
