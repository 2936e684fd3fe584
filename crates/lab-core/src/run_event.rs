//! What happens during a run, as it happens: the events the runner writes to
//! `events.jsonl` and hands to a live observer. Each event carries what a
//! renderer needs (kinds, names, counts), so a terminal, a live page or another
//! language renders it without parsing text.

use crate::analysis::{Decision, Outcome, WindowKind};
use crate::report::{Section, StatusKind, StepResult};
use serde::Serialize;
use std::collections::BTreeMap;

/// One version's traffic in the current window, for the live view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionProgress {
    /// Answers from this version in the window.
    pub requests: u64,
    /// Answers that were errors (4xx, 5xx).
    pub errors: u64,
    /// Its share of all answers in the window.
    pub share: f64,
}

/// The state of the run once a second, for the live view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The step running now.
    pub step: Option<String>,
    /// The window traffic is counted in.
    pub window: Option<String>,
    /// The window's kind.
    pub window_kind: Option<WindowKind>,
    /// For a transition, the phase it leads to (`None`: the run's end, or a phase).
    pub window_leads_to: Option<String>,
    /// Time since the window opened.
    pub window_elapsed_ms: u64,
    /// The window's planned length (phases only).
    pub window_planned_ms: Option<u64>,
    /// Per version traffic in the window.
    pub versions: BTreeMap<String, VersionProgress>,
    /// Requests in the window that failed without an answer.
    pub failed_requests: u64,
    /// Ready endpoints of the Service per version.
    pub ready: BTreeMap<String, u32>,
}

/// What an analysis interval's look at the gates concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InterimVerdict {
    /// A gate failed with clear evidence: the analysis ends now.
    #[serde(rename = "fail now")]
    FailNow,
    /// Some gate has too little evidence yet.
    #[serde(rename = "keep observing")]
    KeepObserving,
    /// Every applicable gate passes so far.
    #[serde(rename = "pass so far")]
    PassSoFar,
}

impl InterimVerdict {
    /// `fail now`, `keep observing` or `pass so far`.
    pub fn as_str(self) -> &'static str {
        match self {
            InterimVerdict::FailNow => "fail now",
            InterimVerdict::KeepObserving => "keep observing",
            InterimVerdict::PassSoFar => "pass so far",
        }
    }
}

/// Something that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run began.
    Started {
        /// The run's id.
        run_id: String,
        /// The scenario's name.
        scenario: String,
        /// The platform's name.
        platform: String,
        /// The profile's name.
        profile: String,
    },
    /// A remark for the reader (a missing Prometheus, a slow discovery).
    Note {
        /// The remark.
        message: String,
    },
    /// A step began.
    StepStarted {
        /// Its number within its section, from 1.
        index: u32,
        /// Main steps or rollback steps.
        section: Section,
        /// What it does.
        description: String,
        /// The equivalent kubectl command.
        kubectl: String,
    },
    /// A step ended.
    StepFinished {
        /// Its number within its section, from 1.
        index: u32,
        /// Main steps or rollback steps.
        section: Section,
        /// How it ended.
        result: StepResult,
        /// How long it took.
        elapsed_ms: u64,
    },
    /// Traffic began to flow through the Service.
    TrafficStarted {
        /// Where it goes.
        url: String,
        /// Requests per second.
        rate: f64,
        /// Kept-alive connections the traffic is spread over; `None` for a new
        /// connection per request.
        keep_alive: Option<usize>,
    },
    /// A window of traffic began.
    WindowOpened {
        /// The phase's name, or the transition's (`→ canary`).
        name: String,
        /// Its kind.
        kind: WindowKind,
        /// For a transition, the phase it leads to (`None`: the run's end);
        /// `None` for a phase.
        leads_to: Option<String>,
        /// Its planned length (phases only).
        planned_ms: Option<u64>,
    },
    /// A window of traffic ended.
    WindowClosed {
        /// Its name.
        name: String,
        /// Its kind.
        kind: WindowKind,
        /// For a transition, the phase it leads to (`None`: the run's end);
        /// `None` for a phase.
        leads_to: Option<String>,
        /// Answers per version.
        answers: BTreeMap<String, u64>,
        /// Requests that failed without an answer.
        failed_requests: u64,
    },
    /// An analysis interval's look at the gates.
    Interim {
        /// The analyzed window.
        window: String,
        /// What the look concluded.
        verdict: InterimVerdict,
        /// One line per gate.
        gates: Vec<String>,
    },
    /// The decision.
    Decision {
        /// Promote or roll back.
        outcome: Outcome,
        /// Why.
        reason: String,
        /// The decision itself, so that its reason can be told again in
        /// another language from its cause and gates; not written to the
        /// events file, which has `reason`.
        #[serde(skip)]
        decision: Option<Box<Decision>>,
    },
    /// The platform reported something (a pod started, was killed, restarted).
    Platform {
        /// Machine-readable reason.
        reason: String,
        /// The object.
        object: String,
        /// What happened.
        message: String,
    },
    /// The live state, once a second (not written to the file).
    Progress(Progress),
    /// The run ended.
    Finished {
        /// `completed`, `interrupted` or `failed`.
        status: StatusKind,
        /// The outcome, when a decision was reached.
        outcome: Option<Outcome>,
        /// Whether the outcome matched the expected one.
        passed: bool,
    },
}

/// An event with its time since the run started.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timed {
    /// Milliseconds since the run started.
    pub t_ms: u64,
    /// The event.
    #[serde(flatten)]
    pub event: RunEvent,
}

/// The name of the transition window that leads to `phase` (`→ canary`), or to
/// the run's end (`→ end`).
pub fn transition_name(leads_to: Option<&str>) -> String {
    format!("→ {}", leads_to.unwrap_or("end"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_as_the_journal_writes_them() {
        let timed = Timed {
            t_ms: 12_044,
            event: RunEvent::WindowOpened {
                name: transition_name(Some("canary")),
                kind: WindowKind::Transition,
                leads_to: Some("canary".into()),
                planned_ms: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&timed).unwrap(),
            r#"{"t_ms":12044,"event":"window_opened","name":"→ canary","kind":"transition","leads_to":"canary","planned_ms":null}"#
        );
        let interim = RunEvent::Interim {
            window: "canary".into(),
            verdict: InterimVerdict::FailNow,
            gates: vec![],
        };
        assert_eq!(
            serde_json::to_value(&interim).unwrap()["verdict"],
            InterimVerdict::FailNow.as_str()
        );
        let finished = RunEvent::Finished {
            status: StatusKind::Interrupted,
            outcome: None,
            passed: false,
        };
        assert_eq!(
            serde_json::to_value(&finished).unwrap()["status"],
            "interrupted"
        );
        assert_eq!(transition_name(None), "→ end");
    }
}
