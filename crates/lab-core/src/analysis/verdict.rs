//! The vocabulary every verdict shares.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The measurement meets the rule.
    Pass,
    /// The measurement breaks the rule.
    Fail,
    /// Not enough evidence either way (too few samples, missing data).
    Inconclusive,
    /// The rule does not apply here (no baseline traffic, a transition window).
    NotApplicable,
}

impl Verdict {
    /// The name used in reports (`pass`, `fail`, `inconclusive`, `not_applicable`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotApplicable => "not_applicable",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a measurement is compared with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// The measurement must be at least the threshold (`>=`).
    AtLeast,
    /// The measurement must be at most the threshold (`<=`).
    AtMost,
    /// The expected value must lie inside the measurement's confidence interval.
    Inside,
}

impl Comparison {
    /// The comparison as a symbol (`>=`, `<=`, `in`).
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::AtLeast => ">=",
            Comparison::AtMost => "<=",
            Comparison::Inside => "in",
        }
    }
}

/// The unit of a measurement and its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A proportion between 0 and 1.
    Ratio,
    /// Milliseconds.
    Ms,
    /// A number of things (restarts, requests).
    Count,
}

/// Formats a proportion as a percentage with two decimals (`99.50%`).
pub(crate) fn percent(ratio: f64) -> String {
    format!("{:.2}%", ratio * 100.0)
}

/// Formats milliseconds with one decimal (`12.5 ms`).
pub(crate) fn millis(ms: f64) -> String {
    format!("{ms:.1} ms")
}
