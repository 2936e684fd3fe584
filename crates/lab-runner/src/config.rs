//! What a run needs besides the plan and the platform, and what it can fail with.

use crate::feed::LiveFeed;
use lab_core::report::Section;
use lab_core::run_event::Timed;
use lab_report::Language;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// How traffic is sent through the Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connections {
    /// A new connection per request, like the tutorial's curl loop: each one is
    /// sent to a random ready pod.
    #[default]
    PerRequest,
    /// Keep-alive over this many connections (each stays on one pod).
    KeepAlive(usize),
}

/// Who counts the copies a Gateway's `RequestMirror` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MirrorCounting {
    /// The platform's own count where it keeps one (the local gateway counts
    /// each request with its copies, exactly), else the mirror targets'
    /// metrics in Prometheus (a cluster's).
    #[default]
    Platform,
    /// Always the mirror targets' metrics in Prometheus, as on a cluster.
    Prometheus,
}

/// Everything a run needs besides the plan and the platform. What a platform
/// offers beyond the Kubernetes verbs (failed-connection counts, annotations,
/// traffic from inside it) comes from the platform itself.
pub struct RunConfig {
    /// The run's id (`20261126T041200Z-canary`).
    pub run_id: String,
    /// Where the run's files go (`target/lab/runs/<run-id>`).
    pub run_dir: PathBuf,
    /// How traffic connects.
    pub connections: Connections,
    /// Leave the last state running instead of tearing it down.
    pub keep: bool,
    /// Becomes true when the run must stop (Ctrl-C, SIGTERM).
    pub interrupt: watch::Receiver<bool>,
    /// Receives every event as it happens (the live view).
    pub observer: Option<mpsc::UnboundedSender<Timed>>,
    /// Where the run publishes a provisional report once a second while
    /// someone asks (the live page), and the final one at the end.
    pub live: Option<LiveFeed>,
    /// Remarks to put in the report from the start (e.g. Prometheus is missing).
    pub notes: Vec<String>,
    /// How long to wait for Prometheus to report new pods `up` before a phase.
    pub discovery_timeout: Duration,
    /// Told about each step before it runs; the step waits until the hook
    /// answers (or drops the answer). Traffic keeps flowing meanwhile. For the
    /// teaching mode, which pauses to explain each step.
    pub before_step: Option<mpsc::UnboundedSender<BeforeStep>>,
    /// The language of `report.md`, `report.html` and the charts (`junit.xml`
    /// stays English for CI).
    pub language: Language,
    /// Who counts mirrored copies.
    pub mirror_counting: MirrorCounting,
}

/// A step about to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepAhead {
    /// Its number within its section, from 1.
    pub index: u32,
    /// Main steps or rollback steps.
    pub section: Section,
    /// What it does.
    pub description: String,
    /// The equivalent kubectl command.
    pub kubectl: String,
}

/// What the runner sends to [`RunConfig::before_step`]: the step, and where to
/// say that it may run.
#[derive(Debug)]
pub struct BeforeStep {
    /// The step about to run.
    pub step: StepAhead,
    /// Send (or drop) to let the step run.
    pub resume: oneshot::Sender<()>,
}

impl RunConfig {
    /// A configuration with the defaults: new connection per request, teardown at
    /// the end, no observer, an English report.
    pub fn new(
        run_id: impl Into<String>,
        run_dir: impl Into<PathBuf>,
        interrupt: watch::Receiver<bool>,
    ) -> Self {
        Self {
            run_id: run_id.into(),
            run_dir: run_dir.into(),
            connections: Connections::PerRequest,
            keep: false,
            interrupt,
            observer: None,
            live: None,
            notes: Vec::new(),
            discovery_timeout: Duration::from_secs(20),
            before_step: None,
            language: Language::English,
            mirror_counting: MirrorCounting::Platform,
        }
    }
}

/// Why a run could not produce a report at all. Everything else (a failing
/// step, an interrupt, a missing Prometheus) ends up in the report instead.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run directory or a report file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A run id from a UTC time and a scenario name: `20261126T041200Z-canary`.
pub fn run_id(scenario: &str, now: jiff::Timestamp) -> String {
    format!("{}-{scenario}", now.strftime("%Y%m%dT%H%M%SZ"))
}
