//! The normalized summary of a report: what a correct lab reproduces run after run.
//!
//! Left out because they change from run to run: times, the run id, pod names,
//! request counts, measured latencies and shares, derived thresholds, error
//! messages. Kept: every gate and cross-check verdict with its rule, whether each
//! expected share lay inside its interval, the decision and its cause, the
//! outcome, the windows, and the steps with their results. A split's verdict is
//! left out: beyond `expected_inside` it only says whether the window's request
//! count reached `min_samples`, which flips for a window cut short near it.
//! Transition windows keep only their name and kind: their verdicts are shown,
//! not judged.

use super::model::{Report, Section, StatusKind, StepResultKind};
use crate::analysis::{
    Comparison, DecisionCause, GateName, Outcome, SplitVerdict, Verdict, WindowKind,
    wilson_interval, z_for_confidence,
};
use serde::{Deserialize, Serialize};

/// The normalized summary of a report, for snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The scenario's name.
    pub scenario: String,
    /// How far the run got.
    pub status: StatusKind,
    /// The expected outcome.
    pub expected: Outcome,
    /// The outcome reached.
    pub outcome: Option<Outcome>,
    /// Whether the run passed.
    pub passed: bool,
    /// The decision.
    pub decision: Option<DecisionSummary>,
    /// The windows in time order.
    pub windows: Vec<WindowSummary>,
    /// The steps in plan order.
    pub steps: Vec<StepSummary>,
}

/// A decision without measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionSummary {
    /// Promote or roll back.
    pub outcome: Outcome,
    /// Why.
    pub cause: DecisionCause,
    /// The window whose gates decided.
    pub window: Option<String>,
}

/// A window's verdicts without measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowSummary {
    /// The window's name.
    pub name: String,
    /// What the window is for.
    pub kind: WindowKind,
    /// The split per version (empty for transitions).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub split: Vec<SplitSummary>,
    /// The gates (analyze windows only).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub gates: Vec<GateSummary>,
    /// The cross-check per version (empty for transitions).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub cross_check: Vec<CrossCheckSummary>,
}

/// A split without measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitSummary {
    /// The version.
    pub version: String,
    /// Whether the expected share lay inside the Wilson interval at
    /// [`SUMMARY_SPLIT_CONFIDENCE`]; `None` when there was nothing to compare.
    pub expected_inside: Option<bool>,
}

/// A gate verdict without measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateSummary {
    /// Which gate.
    pub gate: GateName,
    /// The version judged.
    pub version: String,
    /// The verdict.
    pub verdict: Verdict,
    /// How the measurement is compared.
    pub comparison: Comparison,
    /// The configured setting.
    pub limit: f64,
}

/// A cross-check verdict without counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossCheckSummary {
    /// The version.
    pub version: String,
    /// The verdict.
    pub verdict: Verdict,
}

/// A step without times or messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    /// Position in the plan.
    pub index: u32,
    /// The section it belongs to.
    pub section: Section,
    /// What the step does.
    pub description: String,
    /// How it ended.
    pub result: StepResultKind,
}

impl Report {
    /// The normalized summary of this report (see [`Summary`]).
    pub fn summary(&self) -> Summary {
        Summary {
            scenario: self.scenario.clone(),
            status: self.status.kind(),
            expected: self.expected,
            outcome: self.outcome,
            passed: self.passed,
            decision: self.decision.as_ref().map(|d| DecisionSummary {
                outcome: d.outcome,
                cause: d.cause.clone(),
                window: d.window.clone(),
            }),
            windows: self
                .windows
                .iter()
                .map(|w| {
                    let judged = w.kind != WindowKind::Transition;
                    WindowSummary {
                        name: w.name.clone(),
                        kind: w.kind,
                        split: if judged {
                            w.split
                                .iter()
                                .map(|s| SplitSummary {
                                    version: s.version.clone(),
                                    expected_inside: expected_inside(s),
                                })
                                .collect()
                        } else {
                            Vec::new()
                        },
                        gates: w
                            .gates
                            .iter()
                            .map(|g| GateSummary {
                                gate: g.gate,
                                version: g.version.clone(),
                                verdict: g.verdict,
                                comparison: g.comparison,
                                limit: g.limit,
                            })
                            .collect(),
                        cross_check: if judged {
                            w.cross_check
                                .iter()
                                .map(|c| CrossCheckSummary {
                                    version: c.version.clone(),
                                    verdict: c.verdict,
                                })
                                .collect()
                        } else {
                            Vec::new()
                        },
                    }
                })
                .collect(),
            steps: self
                .steps
                .iter()
                .map(|s| StepSummary {
                    index: s.index,
                    section: s.section,
                    description: s.description.clone(),
                    result: s.result.kind(),
                })
                .collect(),
        }
    }
}

/// The confidence at which the summary judges a split: a correct lab puts the
/// expected share outside this interval less than once in 10,000 runs per
/// version and window, so snapshots of a correct lab do not flap.
pub const SUMMARY_SPLIT_CONFIDENCE: f64 = 0.9999;

fn expected_inside(split: &SplitVerdict) -> Option<bool> {
    let expected = split.expected_share?;
    let interval = wilson_interval(
        split.requests,
        split.samples,
        z_for_confidence(SUMMARY_SPLIT_CONFIDENCE),
    )?;
    Some(interval.contains(expected))
}
