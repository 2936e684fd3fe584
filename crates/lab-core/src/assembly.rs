//! From what a run recorded to its [`Report`]: the windows analyzed, the steps
//! in plan order, the outcome concluded. Pure: the runner calls it once every
//! measurement is in, and test fixtures call it with measurements they describe,
//! so both build reports the same way.

use crate::analysis::{
    AnalysisConfig, Decision, Outcome, ReadySample, WindowObservation, analyze_window,
};
use crate::report::{
    EventRecord, PodCounts, PrometheusInfo, Report, RunStatus, SCHEMA_VERSION, Section, Series,
    StepRecord, WindowReport,
};

/// Which part of a window Prometheus's counts are compared with the clients' over.
#[derive(Debug, Clone, PartialEq)]
pub enum Compared {
    /// All of it (the observation's `server`: Prometheus's counts, when it answered).
    Whole,
    /// Only the part after Prometheus had scraped every ready pod: the clients'
    /// observation of that part, with Prometheus's counts over it as `server`.
    From(Box<WindowObservation>),
    /// None of it, for this reason.
    NotCompared(String),
}

/// A window that closed, with what the clients (and Prometheus) measured in it.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredWindow {
    /// The whole window as the clients saw it, judged by the gates and the split.
    pub observation: WindowObservation,
    /// What the cross-check compares.
    pub compared: Compared,
}

/// Everything a run recorded, before it is analyzed into a report.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's description.
    pub description: String,
    /// Where it ran.
    pub platform: String,
    /// The profile's name.
    pub profile: String,
    /// The local platform's proxy sync delay, in ms; `None` on a cluster.
    pub proxy_sync_delay_ms: Option<u64>,
    /// When the run started, RFC 3339.
    pub started_at: String,
    /// The outcome the scenario expects.
    pub expected: Outcome,
    /// Roles, gates and the cross-check's tolerance.
    pub analysis: AnalysisConfig,
    /// The windows of traffic, in time order.
    pub windows: Vec<MeasuredWindow>,
    /// The steps as they ran (or were skipped), in any order.
    pub steps: Vec<StepRecord>,
    /// The Service's ready endpoints per version over the run.
    pub timeline: Vec<ReadySample>,
    /// The pods that existed at once; `None` when never sampled.
    pub pods: Option<PodCounts>,
    /// Traffic over time.
    pub series: Series,
    /// What the run knew about Prometheus.
    pub prometheus: PrometheusInfo,
    /// What the platform reported.
    pub events: Vec<EventRecord>,
    /// Anything else a reader should know.
    pub notes: Vec<String>,
    /// How far the run got.
    pub status: RunStatus,
    /// The decision, when one was reached.
    pub decision: Option<Decision>,
}

/// A closed window's report: judged on the whole window, cross-checked with
/// Prometheus on the part it counted.
pub fn window_report(window: &MeasuredWindow, config: &AnalysisConfig) -> WindowReport {
    let observation = &window.observation;
    let mut analysis = analyze_window(observation, config);
    match &window.compared {
        Compared::Whole => {}
        Compared::From(counted) => {
            analysis.cross_check = analyze_window(counted, config).cross_check;
        }
        Compared::NotCompared(reason) => {
            for check in &mut analysis.cross_check {
                check.source = format!("not compared: {reason}");
                check.explanation = format!(
                    "clients counted {} for {}; not compared with Prometheus: {reason}",
                    check.client_count, check.version
                );
            }
        }
    }
    WindowReport::new(observation, analysis)
}

/// The report of a run: every window analyzed, the steps in plan order (main
/// steps, then rollback steps), and the outcome concluded from the status and
/// the decision.
pub fn assemble(record: RunRecord) -> Report {
    let windows = record
        .windows
        .iter()
        .map(|window| window_report(window, &record.analysis))
        .collect();
    let mut steps = record.steps;
    steps.sort_by_key(|s| (s.section == Section::Rollback, s.index));
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        run_id: record.run_id,
        scenario: record.scenario,
        description: record.description,
        platform: record.platform,
        profile: record.profile,
        proxy_sync_delay_ms: record.proxy_sync_delay_ms,
        started_at: record.started_at,
        roles: record.analysis.roles,
        thresholds: record.analysis.gates,
        status: RunStatus::Completed,
        expected: record.expected,
        outcome: None,
        passed: false,
        decision: None,
        windows,
        steps,
        timeline: record.timeline,
        pods: record.pods,
        series: record.series,
        prometheus: record.prometheus,
        events: record.events,
        notes: record.notes,
    };
    report.conclude(record.status, record.decision);
    report
}
