//! What happens during a run, as it happens: every event goes to
//! `events.jsonl` at once (so a run that is killed keeps what it did) and to an
//! optional live observer (the terminal view).

use lab_core::analysis::{Outcome, WindowKind};
use lab_core::report::{Section, StepResult};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;

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
        /// The phase's name, or `→ next` for a transition.
        name: String,
        /// Its kind.
        kind: WindowKind,
        /// Its planned length (phases only).
        planned_ms: Option<u64>,
    },
    /// A window of traffic ended.
    WindowClosed {
        /// Its name.
        name: String,
        /// Answers per version.
        answers: BTreeMap<String, u64>,
        /// Requests that failed without an answer.
        failed_requests: u64,
    },
    /// An analysis interval's look at the gates.
    Interim {
        /// The analyzed window.
        window: String,
        /// `fail now`, `keep observing` or `pass so far`.
        verdict: String,
        /// One line per gate.
        gates: Vec<String>,
    },
    /// The decision.
    Decision {
        /// Promote or roll back.
        outcome: Outcome,
        /// Why.
        reason: String,
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
        status: String,
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

/// Where events go.
pub(crate) struct Journal {
    start: Instant,
    file: Mutex<Option<File>>,
    observer: Option<UnboundedSender<Timed>>,
}

impl Journal {
    pub(crate) fn create(
        path: &Path,
        start: Instant,
        observer: Option<UnboundedSender<Timed>>,
    ) -> std::io::Result<Self> {
        Ok(Self {
            start,
            file: Mutex::new(Some(File::create(path)?)),
            observer,
        })
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub(crate) fn emit(&self, event: RunEvent) {
        let timed = Timed {
            t_ms: self.now_ms(),
            event,
        };
        if !matches!(timed.event, RunEvent::Progress(_)) {
            let mut file = self.file.lock().unwrap();
            if let Some(handle) = file.as_mut() {
                let line = serde_json::to_string(&timed).expect("events serialize");
                // A full disk must not stop the run; the report says what it can.
                if writeln!(handle, "{line}").is_err() {
                    *file = None;
                }
            }
        }
        if let Some(observer) = &self.observer {
            let _ = observer.send(timed);
        }
    }

    pub(crate) fn note(&self, message: impl Into<String>) {
        self.emit(RunEvent::Note {
            message: message.into(),
        });
    }
}
