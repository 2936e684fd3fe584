//! The report's data: what was done, measured and decided, as it is written to
//! `report.json`.

use crate::analysis::{
    CrossCheckVerdict, Decision, Downtime, FailureTally, GateVerdict, Gates, GatewayTraffic,
    MirrorVerdict, Outcome, ReadySample, Roles, RoutingVerdict, ServerObservation, SplitVerdict,
    VersionTally, WindowAnalysis, WindowKind, WindowObservation,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the report's JSON schema this crate writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A run's status without details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// The run completed.
    Completed,
    /// The run was interrupted.
    Interrupted,
    /// The run failed.
    Failed,
}

/// A step's result without details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResultKind {
    /// The step did what it said.
    Ok,
    /// The step failed.
    Failed,
    /// The step was not run.
    Skipped,
}

/// A report that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report was written with another schema version.
    #[error("report schema version {found} is not supported (expected {SCHEMA_VERSION})")]
    UnsupportedSchema {
        /// The version found in the report.
        found: u64,
    },
    /// The JSON does not match the schema.
    #[error("report json: {0}")]
    Json(#[from] serde_json::Error),
}

/// How far a run got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunStatus {
    /// Every step ran, including a rollback when one was decided.
    Completed,
    /// The run was stopped (Ctrl-C) before it finished.
    Interrupted,
    /// The run could not go on.
    Failed {
        /// What went wrong.
        error: String,
    },
}

impl RunStatus {
    /// The status without its details.
    pub fn kind(&self) -> StatusKind {
        match self {
            RunStatus::Completed => StatusKind::Completed,
            RunStatus::Interrupted => StatusKind::Interrupted,
            RunStatus::Failed { .. } => StatusKind::Failed,
        }
    }
}

/// Whether a run passed: it completed and ended as the scenario expected.
pub fn run_passed(status: &RunStatus, expected: Outcome, outcome: Option<Outcome>) -> bool {
    *status == RunStatus::Completed && outcome == Some(expected)
}

/// One window of the run with its measurements and verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    /// The window's name.
    pub name: String,
    /// What the window is for.
    pub kind: WindowKind,
    /// When it began.
    pub start_ms: u64,
    /// When it ended.
    pub end_ms: u64,
    /// Client-side tallies per version.
    pub versions: BTreeMap<String, VersionTally>,
    /// Requests that failed without an answer, by kind.
    pub connection_failures: FailureTally,
    /// Of those, the ones attributed to no version: they count against no
    /// version's success rate.
    pub unattributed: u64,
    /// Container restarts per version.
    pub restarts: BTreeMap<String, u32>,
    /// Prometheus's side; `None` when it was unavailable.
    pub server: Option<ServerObservation>,
    /// The longest stretch without a successful answer.
    pub downtime: Downtime,
    /// The split per version.
    pub split: Vec<SplitVerdict>,
    /// The gates on the candidate (analyze windows only).
    pub gates: Vec<GateVerdict>,
    /// The cross-check per version.
    pub cross_check: Vec<CrossCheckVerdict>,
    /// The traffic as a Gateway handled it (classes, mirrored copies);
    /// empty when it went through a Service.
    #[serde(default, skip_serializing_if = "GatewayTraffic::is_empty")]
    pub gateway: GatewayTraffic,
    /// Per class of requests, whether each answer came from where the route
    /// sent it (traffic through a Gateway only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing: Vec<RoutingVerdict>,
    /// The share of requests mirrored to each version against the route's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirror: Vec<MirrorVerdict>,
}

impl WindowReport {
    /// Puts a window's observation and its verdicts together.
    pub fn new(window: &WindowObservation, analysis: WindowAnalysis) -> Self {
        WindowReport {
            name: window.name.clone(),
            kind: window.kind,
            start_ms: window.start_ms,
            end_ms: window.end_ms,
            versions: window.versions.clone(),
            connection_failures: window.connection_failures,
            unattributed: window.unattributed(),
            restarts: window.restarts.clone(),
            server: window.server.clone(),
            downtime: window.downtime,
            split: analysis.split,
            gates: analysis.gates,
            cross_check: analysis.cross_check,
            gateway: window.gateway.clone(),
            routing: analysis.routing,
            mirror: analysis.mirror,
        }
    }
}

/// Which part of the plan a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// The rollout itself.
    Main,
    /// The steps run after a decision to roll back.
    Rollback,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepResult {
    /// It did what it said.
    Ok,
    /// It failed.
    Failed {
        /// What went wrong.
        message: String,
    },
    /// It was not run (an earlier step failed, or its section was not needed).
    Skipped,
}

impl StepResult {
    /// The result without its details.
    pub fn kind(&self) -> StepResultKind {
        match self {
            StepResult::Ok => StepResultKind::Ok,
            StepResult::Failed { .. } => StepResultKind::Failed,
            StepResult::Skipped => StepResultKind::Skipped,
        }
    }
}

/// One step of the plan as it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Position in its section, from 1.
    pub index: u32,
    /// The section it belongs to.
    pub section: Section,
    /// What the step does, for people.
    pub description: String,
    /// The equivalent `kubectl` command line (for a wait, `kubectl rollout
    /// status`; for an observe or analyze phase, `kubectl get pods`).
    pub kubectl: Vec<String>,
    /// When it started; `None` when skipped.
    pub started_ms: Option<u64>,
    /// When it finished; `None` when skipped or cut short.
    pub finished_ms: Option<u64>,
    /// How it ended.
    pub result: StepResult,
}

/// Client-side counts of one version in one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecondCounts {
    /// Successful answers (2xx, 3xx).
    pub successes: u64,
    /// Error answers (4xx, 5xx) and failures attributed to the version.
    pub errors: u64,
}

/// Client-side counts of one second of the run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientSecond {
    /// Start of the second.
    pub t_ms: u64,
    /// Counts per version.
    pub versions: BTreeMap<String, SecondCounts>,
    /// Failures without an answer attributed to no version.
    pub unattributed_errors: u64,
}

/// One point of the server-side series.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerPoint {
    /// When Prometheus evaluated the point.
    pub t_ms: u64,
    /// Requests per second per version.
    pub rates: BTreeMap<String, f64>,
}

/// The server-side series from a Prometheus range query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSeries {
    /// The PromQL query (the tutorial's
    /// `sum(rate(http_requests_total{app="my-app"}[2m])) by (version)`).
    pub query: String,
    /// The range query's step in milliseconds.
    pub step_ms: u64,
    /// The points, in time order.
    pub points: Vec<ServerPoint>,
}

/// Traffic over time, for charts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Series {
    /// Per-second client-side counts, in time order.
    pub client: Vec<ClientSecond>,
    /// The server side; `None` without Prometheus.
    pub server: Option<ServerSeries>,
}

/// What the run knew about Prometheus.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PrometheusInfo {
    /// Whether Prometheus answered during the run.
    pub available: bool,
    /// Where it was reached.
    pub url: Option<String>,
    /// Anything a reader should know (targets late, queries failed).
    pub notes: Vec<String>,
}

/// Something the platform reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// When it happened.
    pub t_ms: u64,
    /// Short machine-readable reason (`Started`, `Killing`, `BackOff`).
    pub reason: String,
    /// The object it concerns (`pod/my-app-v2-abc12`).
    pub object: String,
    /// What happened, for people.
    pub message: String,
}

/// The pods of the scenario's Deployments that existed at once, as sampled
/// from the platform with the ready endpoints (ready or not, terminating
/// included, until gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PodCounts {
    /// The pods not terminating at the first sample of the first observe
    /// phase (the baseline); `None` when no sample was taken in it.
    pub steady: Option<u32>,
    /// The most pods that existed at once over the run, terminating ones
    /// included.
    pub peak: u32,
    /// When `peak` was first sampled.
    pub peak_at_ms: u64,
    /// The most pods not terminating at once: what the strategy itself runs
    /// (a surge, a second fleet), without the pods still shutting down;
    /// `None` in reports written before it was counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_serving: Option<u32>,
}

impl PodCounts {
    /// The peak above the steady state, terminating pods included; `None`
    /// without a steady state.
    pub fn above_steady(&self) -> Option<u32> {
        self.steady.map(|steady| self.peak.saturating_sub(steady))
    }

    /// The peak of pods not terminating above the steady state; `None`
    /// without a steady state.
    pub fn serving_above_steady(&self) -> Option<u32> {
        self.steady
            .zip(self.peak_serving)
            .map(|(steady, peak)| peak.saturating_sub(steady))
    }

    /// The peak of pods not terminating per steady pod (2.0: two full
    /// fleets at once); `None` without a steady state.
    pub fn serving_per_steady(&self) -> Option<f64> {
        self.steady
            .filter(|steady| *steady > 0)
            .zip(self.peak_serving)
            .map(|(steady, peak)| f64::from(peak) / f64::from(steady))
    }

    /// Count one sample at `t_ms`: `pods` in all, `serving` of them not
    /// terminating, taken in an observe phase when `in_baseline` (only the
    /// first such sample is the steady state).
    pub fn record(&mut self, pods: u32, serving: u32, t_ms: u64, in_baseline: bool) {
        if in_baseline && self.steady.is_none() {
            self.steady = Some(serving);
        }
        if pods > self.peak {
            self.peak = pods;
            self.peak_at_ms = t_ms;
        }
        self.peak_serving = Some(self.peak_serving.unwrap_or(0).max(serving));
    }
}

/// The report of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The run's identifier (also its directory name).
    pub run_id: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's description.
    pub description: String,
    /// Where it ran (`local`, `kind`, …).
    pub platform: String,
    /// The timing profile (`quick` or `seed`).
    pub profile: String,
    /// How long the local Service kept sending new connections to a pod that
    /// left its endpoints (the proxy sync delay), in ms; absent on a cluster,
    /// whose kube-proxy the lab does not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_sync_delay_ms: Option<u64>,
    /// When the run started, RFC 3339; every `*_ms` field counts from here.
    pub started_at: String,
    /// The candidate and the baseline.
    pub roles: Roles,
    /// The gates' thresholds used.
    pub thresholds: Gates,
    /// How far the run got.
    pub status: RunStatus,
    /// The outcome the scenario expects.
    pub expected: Outcome,
    /// The outcome reached; `None` when no decision was reached.
    pub outcome: Option<Outcome>,
    /// Whether the run completed with the expected outcome.
    pub passed: bool,
    /// The decision; `None` when none was reached.
    pub decision: Option<Decision>,
    /// The windows of traffic, in time order.
    pub windows: Vec<WindowReport>,
    /// The plan's steps as they ran.
    pub steps: Vec<StepRecord>,
    /// The Service's ready endpoints per version over the run.
    pub timeline: Vec<ReadySample>,
    /// The pods that existed at once; `None` when the platform was never
    /// sampled (and in reports written before pods were counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<PodCounts>,
    /// Traffic over time.
    pub series: Series,
    /// What the run knew about Prometheus.
    pub prometheus: PrometheusInfo,
    /// What the platform reported.
    pub events: Vec<EventRecord>,
    /// Anything else a reader should know.
    pub notes: Vec<String>,
}

#[derive(Deserialize)]
struct SchemaProbe {
    schema_version: u64,
}

impl Report {
    /// Records how the run ended: its status and decision, and from them the
    /// outcome and whether the run passed.
    pub fn conclude(&mut self, status: RunStatus, decision: Option<Decision>) {
        self.outcome = decision.as_ref().map(|d| d.outcome);
        self.passed = run_passed(&status, self.expected, self.outcome);
        self.status = status;
        self.decision = decision;
    }

    /// The report as indented JSON.
    pub fn to_json_pretty(&self) -> String {
        // Every map in the report has string keys, the only way serialization
        // to JSON can fail.
        serde_json::to_string_pretty(self).expect("a report always serializes to json")
    }

    /// Reads a report, refusing another schema version.
    pub fn from_json(json: &str) -> Result<Report, ReportError> {
        let probe: SchemaProbe = serde_json::from_str(json)?;
        if probe.schema_version != u64::from(SCHEMA_VERSION) {
            return Err(ReportError::UnsupportedSchema {
                found: probe.schema_version,
            });
        }
        Ok(serde_json::from_str(json)?)
    }
}
