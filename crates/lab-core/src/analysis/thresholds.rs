//! The thresholds a candidate is judged by, below the observations and the
//! gates that use them.

use super::stats::z_for_confidence;
use serde::{Deserialize, Serialize};

/// The thresholds a candidate is judged by.
///
/// Every field has a documented default, so a scenario names only what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Gates {
    /// Lowest acceptable success rate (2xx and 3xx over all requests); default 0.99.
    pub min_success_rate: f64,
    /// Highest acceptable p99 latency in milliseconds; default 500.
    pub max_p99_ms: f64,
    /// Highest acceptable candidate p99 as a multiple of the baseline's p99;
    /// default 2.0.
    pub max_p99_ratio: f64,
    /// Absolute allowance in milliseconds for the relative p99 gate, so that 3 ms
    /// against a 1 ms baseline is no failure: the candidate passes when its p99 is
    /// at most `max(baseline × max_p99_ratio, baseline + allowance)`; default 50
    /// (at tens of requests a p99 is nearly the slowest request, and one scheduling
    /// hiccup on a busy machine costs tens of milliseconds).
    pub p99_ratio_allowance_ms: f64,
    /// Fewest requests a gate needs before it may pass; default 50.
    pub min_samples: u64,
    /// Most container restarts the candidate may have in the window; default 0.
    pub max_restarts: u32,
    /// Confidence of the Wilson intervals (split and early failure); default 0.99.
    pub confidence: f64,
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            min_success_rate: 0.99,
            max_p99_ms: 500.0,
            max_p99_ratio: 2.0,
            p99_ratio_allowance_ms: 50.0,
            min_samples: 50,
            max_restarts: 0,
            confidence: 0.99,
        }
    }
}

/// A threshold outside its meaningful range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("gates: {field} must be {rule}, got {value}")]
pub struct GatesError {
    /// The offending field.
    pub field: &'static str,
    /// What the field must be.
    pub rule: &'static str,
    /// The value it had.
    pub value: String,
}

impl Gates {
    /// Checks that every threshold is in its meaningful range.
    pub fn validate(&self) -> Result<(), GatesError> {
        let invalid = |field, rule, value: String| Err(GatesError { field, rule, value });
        if !(0.0..=1.0).contains(&self.min_success_rate) {
            return invalid(
                "min_success_rate",
                "within [0, 1]",
                self.min_success_rate.to_string(),
            );
        }
        if !(self.max_p99_ms.is_finite() && self.max_p99_ms > 0.0) {
            return invalid(
                "max_p99_ms",
                "a positive number",
                self.max_p99_ms.to_string(),
            );
        }
        if !(self.max_p99_ratio.is_finite() && self.max_p99_ratio >= 1.0) {
            return invalid(
                "max_p99_ratio",
                "at least 1",
                self.max_p99_ratio.to_string(),
            );
        }
        if !(self.p99_ratio_allowance_ms.is_finite() && self.p99_ratio_allowance_ms >= 0.0) {
            return invalid(
                "p99_ratio_allowance_ms",
                "zero or more",
                self.p99_ratio_allowance_ms.to_string(),
            );
        }
        if self.min_samples == 0 {
            return invalid("min_samples", "at least 1", self.min_samples.to_string());
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return invalid("confidence", "within (0, 1)", self.confidence.to_string());
        }
        Ok(())
    }

    /// The z value of the configured confidence.
    pub fn z(&self) -> f64 {
        z_for_confidence(self.confidence)
    }
}

/// Formats a confidence as a percentage without trailing zeros (`99%`, `99.99%`).
pub(crate) fn confidence_label(confidence: f64) -> String {
    let text = format!("{:.4}", confidence * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// The limit of the relative p99 gate for a baseline p99 in milliseconds:
/// `max(baseline × max_p99_ratio, baseline + p99_ratio_allowance_ms)`.
pub fn relative_p99_limit(baseline_p99_ms: f64, gates: &Gates) -> f64 {
    (baseline_p99_ms * gates.max_p99_ratio).max(baseline_p99_ms + gates.p99_ratio_allowance_ms)
}
