//! The runner: executes a plan's steps on a platform while traffic flows through
//! the Service, cuts the traffic into windows (the plan's phases and the
//! transitions between them), samples ready endpoints, queries Prometheus, runs
//! the analysis and writes the run's report.
//!
//! Everything a run produces lands under its run directory:
//! `report.json`, `report.md`, `report.html`, `junit.xml`, the charts as SVG,
//! and `events.jsonl` (written as the run goes).

mod execute;
mod grafana;
mod journal;
mod measure;
pub mod output;
pub mod prometheus;
pub mod scenario_dir;
pub mod traffic;

pub use crate::execute::run;
pub use crate::grafana::Grafana;
pub use crate::journal::{Progress, RunEvent, Timed, VersionProgress};
pub use crate::scenario_dir::{LoadError, load_scenario, read_scenario};

use lab_core::report::Section;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
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

/// The Service's own count of failed connections per version, cumulative since
/// the Service was created: connections it sent to a pod of that version that
/// were refused or closed without an answer. The clients see such a request fail
/// without knowing the version; with this count the runner attributes it (the
/// local platform's Service listener keeps it; a cluster has no such count).
#[derive(Clone)]
pub struct FailedConnections(Arc<dyn Fn() -> BTreeMap<String, u64> + Send + Sync>);

impl FailedConnections {
    /// A source of counts: called at every window edge and analysis interval.
    pub fn new(count: impl Fn() -> BTreeMap<String, u64> + Send + Sync + 'static) -> Self {
        Self(Arc::new(count))
    }

    /// The counts now.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        (self.0)()
    }
}

impl std::fmt::Debug for FailedConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FailedConnections")
    }
}

/// Everything a run needs besides the plan and the platform.
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
    /// Grafana to annotate with each step, when it runs.
    pub grafana: Option<Grafana>,
    /// Remarks to put in the report from the start (e.g. Prometheus is missing).
    pub notes: Vec<String>,
    /// How long to wait for Prometheus to report new pods `up` before a phase.
    pub discovery_timeout: Duration,
    /// Where failed connections came from, when the platform knows.
    pub failed_connections: Option<FailedConnections>,
    /// Generate traffic elsewhere (a loadgen Job in the cluster) instead of in
    /// this process.
    pub remote_traffic: Option<std::sync::Arc<dyn traffic::RemoteTraffic>>,
    /// Told about each step before it runs; the step waits until the hook
    /// answers (or drops the answer). Traffic keeps flowing meanwhile. For the
    /// teaching mode, which pauses to explain each step.
    pub before_step: Option<mpsc::UnboundedSender<BeforeStep>>,
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
    /// the end, no observer, no Grafana.
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
            grafana: None,
            notes: Vec::new(),
            discovery_timeout: Duration::from_secs(20),
            failed_connections: None,
            remote_traffic: None,
            before_step: None,
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
