//! From gate verdicts to a decision: promote the candidate or roll it back.

use super::gates::{GateName, GateVerdict};
use super::thresholds::Gates;
use super::verdict::Verdict;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a rollout ended, or is expected to end.
///
/// Written `promoted` and `rolled-back` everywhere: in `scenario.toml`, in
/// reports and in plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The candidate took all traffic.
    Promoted,
    /// The candidate was removed and the baseline kept.
    RolledBack,
}

impl Outcome {
    /// The name used in scenarios and reports (`promoted`, `rolled-back`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Promoted => "promoted",
            Outcome::RolledBack => "rolled-back",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a decision went the way it did, without measured values, so that it stays
/// the same across runs of the same scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecisionCause {
    /// Every applicable gate passed.
    AllGatesPassed,
    /// These gates failed.
    GatesFailed {
        /// The failing gates.
        gates: Vec<GateName>,
    },
    /// These gates had too little evidence by the end of the analysis (empty when
    /// no gate applied at all).
    Inconclusive {
        /// The inconclusive gates.
        gates: Vec<GateName>,
    },
    /// A wait timed out before the analysis could decide.
    ProgressDeadline {
        /// The Deployments the wait was for.
        waited_for: Vec<String>,
    },
}

/// When a decision was taken, as the runner measured it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecisionTiming {
    /// When the decision was taken.
    pub decided_at_ms: u64,
    /// When the candidate's objects were applied.
    pub candidate_applied_ms: u64,
    /// When the candidate first became ready; `None` if it never did.
    pub candidate_ready_ms: Option<u64>,
    /// Analysis intervals completed before the decision.
    pub analysis_intervals_elapsed: u32,
}

/// The decision on a candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Promote or roll back.
    pub outcome: Outcome,
    /// Why, as data.
    pub cause: DecisionCause,
    /// Why, in one line for people, with the measurements.
    pub reason: String,
    /// The window whose gates decided; `None` for a progress deadline.
    pub window: Option<String>,
    /// The gate verdicts the decision was taken from.
    pub gates: Vec<GateVerdict>,
    /// When the decision was taken.
    pub decided_at_ms: u64,
    /// Time from the candidate becoming ready (or being applied, when it never
    /// became ready) to the decision.
    pub time_to_decision_ms: u64,
    /// Analysis intervals completed before the decision.
    pub analysis_intervals_elapsed: u32,
}

/// What to do after an analysis interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Interim {
    /// A gate failed: decide now (the decision is to roll back).
    FailNow {
        /// The failing gates.
        failed: Vec<GateName>,
    },
    /// Some gate has too little evidence yet: keep observing.
    KeepObserving {
        /// The gates still inconclusive.
        inconclusive: Vec<GateName>,
    },
    /// Every applicable gate passes so far: keep observing until the window ends.
    PassSoFar,
}

fn gates_with(gates: &[GateVerdict], verdict: Verdict) -> Vec<&GateVerdict> {
    gates.iter().filter(|g| g.verdict == verdict).collect()
}

fn names(gates: &[&GateVerdict]) -> Vec<GateName> {
    gates.iter().map(|g| g.gate).collect()
}

/// Judges the gates after an analysis interval: any failure ends the analysis,
/// any inconclusive gate (or no applicable gate at all) asks for more time.
pub fn evaluate_interim(gates: &[GateVerdict]) -> Interim {
    let failed = gates_with(gates, Verdict::Fail);
    if !failed.is_empty() {
        return Interim::FailNow {
            failed: names(&failed),
        };
    }
    let inconclusive = gates_with(gates, Verdict::Inconclusive);
    if !inconclusive.is_empty() || gates_with(gates, Verdict::Pass).is_empty() {
        return Interim::KeepObserving {
            inconclusive: names(&inconclusive),
        };
    }
    Interim::PassSoFar
}

fn time_to_decision(timing: &DecisionTiming) -> u64 {
    let from = timing
        .candidate_ready_ms
        .unwrap_or(timing.candidate_applied_ms);
    timing.decided_at_ms.saturating_sub(from)
}

/// The final decision from the gates of `window`: any failure rolls back, naming
/// the failing gates; any inconclusive gate at the end also rolls back, since a
/// candidate is never promoted without evidence; only when every applicable gate
/// passed is the candidate promoted. Also the decision after
/// [`Interim::FailNow`].
pub fn decide(
    window: &str,
    gates: Vec<GateVerdict>,
    thresholds: &Gates,
    timing: DecisionTiming,
) -> Decision {
    let failed = gates_with(&gates, Verdict::Fail);
    let inconclusive = gates_with(&gates, Verdict::Inconclusive);
    let passed = gates_with(&gates, Verdict::Pass);
    let (outcome, cause, reason) = if !failed.is_empty() {
        let details: Vec<String> = failed
            .iter()
            .map(|g| format!("{} ({})", g.gate, g.explanation))
            .collect();
        (
            Outcome::RolledBack,
            DecisionCause::GatesFailed {
                gates: names(&failed),
            },
            format!("failed: {}", details.join("; ")),
        )
    } else if !inconclusive.is_empty() {
        let details: Vec<String> = inconclusive
            .iter()
            .map(|g| {
                if g.samples < thresholds.min_samples {
                    format!(
                        "{} had {} < {} samples",
                        g.gate, g.samples, thresholds.min_samples
                    )
                } else {
                    format!("{} ({})", g.gate, g.explanation)
                }
            })
            .collect();
        (
            Outcome::RolledBack,
            DecisionCause::Inconclusive {
                gates: names(&inconclusive),
            },
            format!("inconclusive: {}", details.join("; ")),
        )
    } else if passed.is_empty() {
        (
            Outcome::RolledBack,
            DecisionCause::Inconclusive { gates: Vec::new() },
            "inconclusive: no gate applied, so nothing speaks for the candidate".to_owned(),
        )
    } else {
        let passed_names: Vec<&str> = passed.iter().map(|g| g.gate.as_str()).collect();
        let skipped: Vec<&str> = gates_with(&gates, Verdict::NotApplicable)
            .iter()
            .map(|g| g.gate.as_str())
            .collect();
        let mut reason = format!("all gates passed: {}", passed_names.join(", "));
        if !skipped.is_empty() {
            reason.push_str(&format!(" ({} not applicable)", skipped.join(", ")));
        }
        (Outcome::Promoted, DecisionCause::AllGatesPassed, reason)
    };
    Decision {
        outcome,
        cause,
        reason,
        window: Some(window.to_owned()),
        gates,
        decided_at_ms: timing.decided_at_ms,
        time_to_decision_ms: time_to_decision(&timing),
        analysis_intervals_elapsed: timing.analysis_intervals_elapsed,
    }
}

/// The decision when a wait timed out before the analysis could decide: roll
/// back, naming what was not ready (`not_ready`, as the platform described it) and
/// what the wait was for (`waited_for`, the Deployments' names).
pub fn decide_progress_deadline(
    waited_for: &[String],
    not_ready: &[String],
    timing: DecisionTiming,
) -> Decision {
    let what = if not_ready.is_empty() {
        waited_for.join(", ")
    } else {
        not_ready.join("; ")
    };
    Decision {
        outcome: Outcome::RolledBack,
        cause: DecisionCause::ProgressDeadline {
            waited_for: waited_for.to_vec(),
        },
        reason: format!("progress deadline exceeded: not ready: {what}"),
        window: None,
        gates: Vec::new(),
        decided_at_ms: timing.decided_at_ms,
        time_to_decision_ms: time_to_decision(&timing),
        analysis_intervals_elapsed: timing.analysis_intervals_elapsed,
    }
}
