//! What the terminal says, as typed messages with their parameters; the
//! language tables (`english`, `korean`) turn them into text.

use lab_core::analysis::{Outcome, Verdict, WindowKind};
use lab_core::plan::Step;
use lab_core::report::Section;
use lab_core::run_event::InterimVerdict;
use std::time::Duration;

/// A step's number as the terminal shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StepNumber {
    pub(crate) section: Section,
    pub(crate) index: u32,
}

/// One version's share in a closed phase.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answered<'a> {
    pub(crate) version: &'a str,
    pub(crate) count: u64,
    pub(crate) percent: f64,
}

/// One version's share in the summary: observed and expected (`None`: none).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShareLine<'a> {
    pub(crate) version: &'a str,
    pub(crate) observed: Option<f64>,
    pub(crate) expected: Option<f64>,
    pub(crate) verdict: Verdict,
}

/// Everything the terminal says, before it is put in words.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message<'a> {
    /// The line before the run: scenario, platform, profile, expected outcome.
    Header {
        scenario: &'a str,
        description: &'a str,
        platform: &'a str,
        profile: &'a str,
        rate: f64,
        expected: Outcome,
    },
    /// Where the run's files go.
    RunDirectory(&'a str),
    /// A step began: the runner's description (the plan's own words) and
    /// the plan's step, for the languages that tell it again.
    StepStarted {
        number: StepNumber,
        description: &'a str,
        step: Option<&'a Step>,
        kubectl: &'a str,
    },
    /// A step failed.
    StepFailed(&'a str),
    /// Traffic began to flow.
    Traffic {
        rate: f64,
        url: &'a str,
        keep_alive: Option<usize>,
    },
    /// A phase began, planned to last this long.
    PhaseOpened { name: &'a str, planned_ms: u64 },
    /// A phase ended with these answers.
    PhaseClosed {
        name: &'a str,
        answered: Vec<Answered<'a>>,
        failed: u64,
    },
    /// An analysis interval's look at the gates.
    Interim(InterimVerdict),
    /// The decision.
    Decision { outcome: Outcome, reason: &'a str },
    /// A remark.
    Note(&'a str),
    /// A fault or restart the platform reported.
    PlatformEvent { object: &'a str, message: &'a str },
    /// The live block's first line: the step running now (`None`: not yet).
    LiveStep(Option<&'a str>),
    /// The live block's timer for a phase.
    PhaseTimer {
        name: &'a str,
        kind: WindowKind,
        elapsed_ms: u64,
        planned_ms: u64,
    },
    /// The live block's timer for a transition.
    TransitionTimer { name: &'a str, elapsed_ms: u64 },
    /// The live block before traffic flows.
    NoTraffic,
    /// The live block's counts after a version's bar.
    VersionCounts {
        share: f64,
        requests: u64,
        errors: u64,
        ready: u32,
    },
    /// The live block's last line.
    Errors { errors: u64, failed: u64 },
    /// A phase's line in the summary.
    SummaryPhase {
        name: &'a str,
        shares: Vec<ShareLine<'a>>,
    },
    /// A gate's line in the summary.
    SummaryGate {
        gate: &'a str,
        verdict: Verdict,
        explanation: &'a str,
    },
    /// The result line, from the facts or, in English, the report's own
    /// title block (`report_title`) when it has one.
    Title {
        scenario: &'a str,
        reached: Option<Outcome>,
        expected: Outcome,
        passed: bool,
        report_title: Option<&'a str>,
    },
    /// How soon the decision came.
    Decided {
        time_to_decision_ms: u64,
        intervals: u32,
    },
    /// Where the HTML report is.
    ReportAt(&'a str),
    /// Where the Markdown report is, with the rest.
    ReportMdAt(&'a str),
}

/// What a step does, as each language tells it: the plan's own words in
/// English.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StepDescription<'a>(pub(crate) &'a Step);

/// A duration as people write it (`8s`, `2m`), as the plan does.
pub(crate) fn duration(ms: u64) -> String {
    humantime::format_duration(Duration::from_millis(ms)).to_string()
}
