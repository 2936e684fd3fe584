//! Executing a plan: steps in order, traffic throughout, windows cut at phase
//! boundaries, the decision at the analyze step, then the report.

use crate::journal::{Journal, Progress, RunEvent, VersionProgress};
use crate::measure::{self, WindowSpan};
use crate::prometheus::{PromError, Prometheus, unix_seconds};
use crate::traffic::{RemoteLoad, Traffic};
use crate::{Connections, RunConfig, RunError, output};
use lab_core::analysis::{
    AnalysisConfig, CrossCheckTolerance, Decision, DecisionTiming, Interim, Outcome, ReadySample,
    Roles, ServerCount, ServerObservation, WindowKind, WindowObservation, analyze_window, decide,
    decide_progress_deadline, evaluate_interim,
};
use lab_core::object::{Object, VERSION_LABEL};
use lab_core::plan::{OnTimeout, Plan, Step};
use lab_core::platform::{Platform, PlatformError};
use lab_core::report::{
    EventRecord, PrometheusInfo, Report, RunStatus, SCHEMA_VERSION, Section, Series, ServerPoint,
    ServerSeries, StepRecord, StepResult, WindowReport,
};
use loadgen::{Bound, Load, Snapshot};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// The tutorial's Grafana query, run as a range query over the whole run.
const TUTORIAL_RATE_WINDOW: &str = "2m";

/// How often ready endpoints and pods are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// Traffic is bounded even if nobody stops it: this long past the plan's end.
const TRAFFIC_SLACK: Duration = Duration::from_secs(600);

/// How often Prometheus's targets are polled while waiting for new pods.
const DISCOVERY_POLL: Duration = Duration::from_millis(250);

/// An analyze window opens this long after its step starts: requests sent before
/// the last change of the ready set (answered within milliseconds) land in the
/// transition, not in the window. The analysis intervals count from the step's
/// start, so the decision is not delayed.
const ANALYZE_SETTLE: Duration = Duration::from_millis(300);

/// After an interrupt, Prometheus gets this long to answer the report's queries.
const INTERRUPTED_QUERY_LIMIT: Duration = Duration::from_secs(3);

/// The run was interrupted (Ctrl-C, SIGTERM).
struct Interrupted;

/// Why a step did not simply succeed.
enum StepFailure {
    Interrupted,
    /// The run cannot go on.
    Failed(String),
    /// A progress deadline: roll back.
    RollBack(Decision),
}

impl From<Interrupted> for StepFailure {
    fn from(_: Interrupted) -> Self {
        StepFailure::Interrupted
    }
}

/// A window that is open: traffic since `start` belongs to it.
struct OpenWindow {
    name: String,
    kind: WindowKind,
    start_ms: u64,
    start: Snapshot,
    /// The Service's failed connections per version when the window opened.
    failed_at_open: BTreeMap<String, u64>,
    /// Which part of the window Prometheus's counts are compared over.
    counted: Counted,
}

/// Which part of an open window Prometheus's counts cover.
enum Counted {
    /// All of it: Prometheus scraped every ready pod when the window opened.
    Whole,
    /// Not yet: Prometheus has not scraped every ready pod.
    Pending,
    /// From `start_ms` on, when Prometheus had scraped every ready pod (or the
    /// wait for it gave up: `partial`).
    From {
        start_ms: u64,
        start: Snapshot,
        partial: bool,
    },
    /// None of it, for this reason.
    NotCompared(String),
}

/// Which part of a closed window Prometheus's counts are compared over.
enum ServerPart {
    Whole,
    From {
        start_ms: u64,
        /// The traffic from `start_ms` to the window's end.
        delta: Snapshot,
        partial: bool,
    },
    NotCompared(String),
}

/// A window that closed, with the traffic it saw.
struct ClosedWindow {
    name: String,
    kind: WindowKind,
    start_ms: u64,
    end_ms: u64,
    delta: Snapshot,
    /// The Service's failed connections per version during the window.
    failed: BTreeMap<String, u64>,
    server: ServerPart,
}

/// Whether Prometheus scrapes every ready endpoint of the Service.
enum Discovery {
    Complete,
    Missing(Vec<String>),
    /// No Prometheus (any more).
    Unavailable,
}

/// What the sampler and the executor share.
#[derive(Default)]
struct Live {
    timeline: Vec<ReadySample>,
    /// Restarts per pod (kept after the pod is gone), with the pod's version.
    pod_restarts: BTreeMap<String, (String, u32)>,
    step: Option<String>,
    window: Option<(String, WindowKind, u64, Option<u64>)>,
    /// The snapshot at the open window's start, for the live view.
    window_start: Option<Snapshot>,
}

impl Live {
    fn restarts(&self) -> BTreeMap<String, u32> {
        let mut restarts = BTreeMap::new();
        for (version, count) in self.pod_restarts.values() {
            *restarts.entry(version.clone()).or_default() += count;
        }
        restarts
    }

    fn ready_now(&self) -> BTreeMap<String, u32> {
        self.timeline
            .last()
            .map(|s| s.ready.clone())
            .unwrap_or_default()
    }
}

struct Execution<'a, P: Platform> {
    platform: &'a P,
    plan: &'a Plan,
    config: &'a RunConfig,
    journal: &'a Journal,
    wall_start: SystemTime,
    prometheus: Option<Prometheus>,
    live: Arc<Mutex<Live>>,
    traffic: Option<Arc<Traffic>>,
    window: Option<OpenWindow>,
    closed: Vec<ClosedWindow>,
    steps: Vec<StepRecord>,
    decision: Option<Decision>,
    candidate_applied_ms: Option<u64>,
    notes: Vec<String>,
    /// The step being executed (section and index), for naming transitions.
    position: Option<(Section, usize)>,
}

/// Run a plan on a platform and write its report under `config.run_dir`.
///
/// Step failures, interrupts and a missing or failing Prometheus end up in the
/// report; only a report that cannot be written is an error.
pub async fn run<P: Platform>(
    platform: &P,
    plan: &Plan,
    config: RunConfig,
) -> Result<Report, RunError> {
    std::fs::create_dir_all(&config.run_dir).map_err(|source| RunError::Io {
        path: config.run_dir.clone(),
        source,
    })?;
    let start = Instant::now();
    let wall_start = SystemTime::now();
    let events_path = config.run_dir.join("events.jsonl");
    let journal =
        Journal::create(&events_path, start, config.observer.clone()).map_err(|source| {
            RunError::Io {
                path: events_path.clone(),
                source,
            }
        })?;
    journal.emit(RunEvent::Started {
        run_id: config.run_id.clone(),
        scenario: plan.scenario.clone(),
        platform: platform.name(),
        profile: plan.profile.name.as_str().to_string(),
    });
    for note in &config.notes {
        journal.note(note.clone());
    }
    let prometheus = platform.urls().prometheus.map(Prometheus::new);
    let mut execution = Execution {
        platform,
        plan,
        config: &config,
        journal: &journal,
        wall_start,
        prometheus,
        live: Arc::new(Mutex::new(Live::default())),
        traffic: None,
        window: None,
        closed: Vec::new(),
        steps: Vec::new(),
        decision: None,
        candidate_applied_ms: None,
        notes: config.notes.clone(),
        position: None,
    };
    let (stop_sampling, sampling_stopped) = watch::channel(false);
    let live = execution.live.clone();
    let traffic_view = Arc::new(Mutex::new(None::<Arc<Traffic>>));
    let sampler = sample(
        platform,
        plan,
        &journal,
        wall_start,
        live,
        traffic_view.clone(),
        sampling_stopped,
    );
    let executed = async {
        let status = execution.execute(&traffic_view).await;
        let _ = stop_sampling.send(true);
        status
    };
    let (status, events) = tokio::join!(executed, sampler);
    let report = execution.finish(status, events).await;
    output::write_report(&config.run_dir, &report)?;
    journal.emit(RunEvent::Finished {
        status: status_name(&report.status).to_string(),
        outcome: report.outcome,
        passed: report.passed,
    });
    Ok(report)
}

/// Sample ready endpoints, pod restarts and platform events until told to stop;
/// emit the live view once a second. Returns the platform events.
async fn sample<P: Platform>(
    platform: &P,
    plan: &Plan,
    journal: &Journal,
    wall_start: SystemTime,
    live: Arc<Mutex<Live>>,
    traffic: Arc<Mutex<Option<Arc<Traffic>>>>,
    mut stop: watch::Receiver<bool>,
) -> Vec<EventRecord> {
    let mut events = Vec::new();
    let mut ticks = tokio::time::interval(SAMPLE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_progress = Instant::now();
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => {}
        }
        let stopping = *stop.borrow();
        let endpoints = platform.endpoints(&plan.service).await.ok();
        let pods = platform.pods().await.ok();
        let now_ms = journal.now_ms();
        {
            let mut live = live.lock().unwrap();
            if let Some(endpoints) = endpoints {
                let mut ready: BTreeMap<String, u32> = BTreeMap::new();
                for endpoint in endpoints {
                    *ready.entry(endpoint.version).or_default() += 1;
                }
                if live.timeline.last().map(|s| &s.ready) != Some(&ready) {
                    live.timeline.push(ReadySample {
                        t_ms: now_ms,
                        ready,
                    });
                }
            }
            for pod in pods.into_iter().flatten() {
                let entry = live
                    .pod_restarts
                    .entry(pod.name)
                    .or_insert((pod.version, 0));
                entry.1 = entry.1.max(pod.restarts);
            }
        }
        for event in platform.take_events().await {
            let t_ms = event
                .at
                .duration_since(wall_start)
                .map_or(0, |d| d.as_millis() as u64);
            journal.emit(RunEvent::Platform {
                reason: event.reason.clone(),
                object: event.object.clone(),
                message: event.message.clone(),
            });
            events.push(EventRecord {
                t_ms,
                reason: event.reason,
                object: event.object,
                message: event.message,
            });
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            let traffic = traffic.lock().unwrap().clone();
            journal.emit(RunEvent::Progress(progress(
                &live,
                traffic.as_deref(),
                now_ms,
            )));
        }
        if stopping {
            return events;
        }
    }
}

fn progress(live: &Mutex<Live>, traffic: Option<&Traffic>, now_ms: u64) -> Progress {
    let live = live.lock().unwrap();
    let mut progress = Progress {
        step: live.step.clone(),
        window: None,
        window_kind: None,
        window_elapsed_ms: 0,
        window_planned_ms: None,
        versions: BTreeMap::new(),
        failed_requests: 0,
        ready: live.ready_now(),
    };
    if let (Some((name, kind, start_ms, planned)), Some(traffic), Some(start)) =
        (&live.window, traffic, &live.window_start)
    {
        progress.window = Some(name.clone());
        progress.window_kind = Some(*kind);
        progress.window_elapsed_ms = now_ms.saturating_sub(*start_ms);
        progress.window_planned_ms = *planned;
        let delta = traffic.snapshot().since(start);
        let answers = delta.responses().max(1) as f64;
        for (version, stats) in &delta.versions {
            let s = &stats.statuses;
            progress.versions.insert(
                version.clone(),
                VersionProgress {
                    requests: stats.count(),
                    errors: s.client_error + s.server_error + s.other,
                    share: stats.count() as f64 / answers,
                },
            );
        }
        progress.failed_requests = delta.errors.total();
    }
    progress
}

impl<P: Platform> Execution<'_, P> {
    fn now_ms(&self) -> u64 {
        self.journal.now_ms()
    }

    /// Await `work` unless the run is interrupted first.
    async fn guard<T>(&self, work: impl Future<Output = T>) -> Result<T, Interrupted> {
        let mut interrupt = self.config.interrupt.clone();
        let interrupted = async move {
            if interrupt.wait_for(|stop| *stop).await.is_err() {
                // Nobody can interrupt any more: never.
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            value = work => Ok(value),
            () = interrupted => Err(Interrupted),
        }
    }

    async fn execute(&mut self, traffic_view: &Mutex<Option<Arc<Traffic>>>) -> RunStatus {
        let mut status = RunStatus::Completed;
        let mut roll_back = false;
        let steps = &self.plan.steps;
        for (i, step) in steps.iter().enumerate() {
            if roll_back {
                self.record_skipped(Section::Main, i, step);
                continue;
            }
            match self.step(Section::Main, i, step, traffic_view).await {
                Ok(()) => {}
                Err(StepFailure::RollBack(decision)) => {
                    self.decide(decision);
                    // The traffic from here on leads to the rollback's phase.
                    self.cut(None);
                    roll_back = true;
                }
                Err(StepFailure::Interrupted) => {
                    status = RunStatus::Interrupted;
                    self.skip_rest(Section::Main, i + 1);
                    break;
                }
                Err(StepFailure::Failed(error)) => {
                    status = RunStatus::Failed { error };
                    self.skip_rest(Section::Main, i + 1);
                    break;
                }
            }
            if self
                .decision
                .as_ref()
                .is_some_and(|d| d.outcome == Outcome::RolledBack)
            {
                roll_back = true;
            }
        }
        if roll_back && status == RunStatus::Completed {
            for (i, step) in self.plan.rollback.iter().enumerate() {
                match self.step(Section::Rollback, i, step, traffic_view).await {
                    Ok(()) => {}
                    Err(StepFailure::Interrupted) => {
                        status = RunStatus::Interrupted;
                        self.skip_rest(Section::Rollback, i + 1);
                        break;
                    }
                    Err(
                        StepFailure::Failed(error)
                        | StepFailure::RollBack(Decision { reason: error, .. }),
                    ) => {
                        status = RunStatus::Failed {
                            error: format!("rollback failed: {error}"),
                        };
                        self.skip_rest(Section::Rollback, i + 1);
                        break;
                    }
                }
            }
        } else {
            for (i, step) in self.plan.rollback.iter().enumerate() {
                self.record_skipped(Section::Rollback, i, step);
            }
        }
        status
    }

    fn skip_rest(&mut self, section: Section, from: usize) {
        let steps = match section {
            Section::Main => &self.plan.steps,
            Section::Rollback => &self.plan.rollback,
        };
        for (i, step) in steps.iter().enumerate().skip(from) {
            self.record_skipped(section, i, step);
        }
        if section == Section::Main {
            for (i, step) in self.plan.rollback.iter().enumerate() {
                self.record_skipped(Section::Rollback, i, step);
            }
        }
    }

    fn record_skipped(&mut self, section: Section, i: usize, step: &Step) {
        let index = i as u32 + 1;
        if self
            .steps
            .iter()
            .any(|s| s.section == section && s.index == index)
        {
            return;
        }
        self.steps.push(StepRecord {
            index,
            section,
            description: step.describe(),
            kubectl: vec![step.kubectl()],
            started_ms: None,
            finished_ms: None,
            result: StepResult::Skipped,
        });
    }

    fn decide(&mut self, decision: Decision) {
        self.journal.emit(RunEvent::Decision {
            outcome: decision.outcome,
            reason: decision.reason.clone(),
        });
        self.decision = Some(decision);
    }

    async fn step(
        &mut self,
        section: Section,
        i: usize,
        step: &Step,
        traffic_view: &Mutex<Option<Arc<Traffic>>>,
    ) -> Result<(), StepFailure> {
        let index = i as u32 + 1;
        let description = step.describe();
        if self.before_step(section, index, step).await.is_err() {
            self.record_skipped(section, i, step);
            return Err(StepFailure::Interrupted);
        }
        let started_ms = self.now_ms();
        self.live.lock().unwrap().step = Some(description.clone());
        self.journal.emit(RunEvent::StepStarted {
            index,
            section,
            description: description.clone(),
            kubectl: step.kubectl(),
        });
        if let Some(grafana) = &self.config.grafana
            && let Err(error) = grafana
                .annotate(SystemTime::now(), &description, &self.config.run_id)
                .await
            && !self.notes.iter().any(|n| n.starts_with("grafana"))
        {
            self.note(error);
        }
        if !matches!(step, Step::Observe { .. } | Step::Analyze { .. }) {
            self.ensure_transition(section, i);
        }
        let result = self.perform(section, step, traffic_view).await;
        let finished_ms = self.now_ms();
        let recorded = match &result {
            Ok(()) => StepResult::Ok,
            Err(StepFailure::Interrupted) => StepResult::Failed {
                message: "interrupted".to_string(),
            },
            Err(StepFailure::Failed(message)) => StepResult::Failed {
                message: message.clone(),
            },
            Err(StepFailure::RollBack(decision)) => StepResult::Failed {
                message: decision.reason.clone(),
            },
        };
        self.journal.emit(RunEvent::StepFinished {
            index,
            section,
            result: recorded.clone(),
            elapsed_ms: finished_ms - started_ms,
        });
        self.steps.push(StepRecord {
            index,
            section,
            description,
            kubectl: vec![step.kubectl()],
            started_ms: Some(started_ms),
            finished_ms: Some(finished_ms),
            result: recorded,
        });
        result
    }

    /// Hand the step to the `before_step` hook and wait until it lets the step
    /// run; traffic keeps flowing meanwhile.
    async fn before_step(
        &self,
        section: Section,
        index: u32,
        step: &Step,
    ) -> Result<(), Interrupted> {
        let Some(hook) = &self.config.before_step else {
            return Ok(());
        };
        let (resume, resumed) = tokio::sync::oneshot::channel();
        let ahead = crate::StepAhead {
            index,
            section,
            description: step.describe(),
            kubectl: step.kubectl(),
        };
        if hook
            .send(crate::BeforeStep {
                step: ahead,
                resume,
            })
            .is_ok()
        {
            // An answer or a dropped sender both mean: go on.
            let _ = self.guard(resumed).await?;
        }
        Ok(())
    }

    fn touches_candidate(&self, step: &Step) -> bool {
        let candidate = self.plan.candidate.as_str();
        match step {
            Step::Apply { objects, .. } => objects.iter().any(|object| match object {
                Object::Deployment(_) => object.version() == Some(candidate),
                Object::Service(_) => false,
            }),
            Step::SwitchSelector { selector, .. } => {
                selector.get(VERSION_LABEL).map(String::as_str) == Some(candidate)
            }
            _ => false,
        }
    }

    async fn perform(
        &mut self,
        section: Section,
        step: &Step,
        traffic_view: &Mutex<Option<Arc<Traffic>>>,
    ) -> Result<(), StepFailure> {
        if self.candidate_applied_ms.is_none() && self.touches_candidate(step) {
            self.candidate_applied_ms = Some(self.now_ms());
        }
        let failed = |error: PlatformError| StepFailure::Failed(error.to_string());
        match step {
            Step::Apply { objects, .. } => self
                .guard(self.platform.apply(objects))
                .await?
                .map_err(failed),
            Step::Scale {
                deployment,
                replicas,
            } => self
                .guard(self.platform.scale(deployment, *replicas))
                .await?
                .map_err(failed),
            Step::Delete { kind, name } => self
                .guard(self.platform.delete(*kind, name))
                .await?
                .map_err(failed),
            Step::SwitchSelector { service, selector } => self
                .guard(self.platform.set_selector(service, selector))
                .await?
                .map_err(failed),
            Step::WaitReady {
                deployments,
                timeout,
                on_timeout,
            } => {
                let waited = self
                    .guard(self.platform.wait_ready(deployments, *timeout))
                    .await?;
                match waited {
                    Ok(()) => {
                        // When a candidate became ready is measured from here.
                        self.refresh_timeline().await;
                        self.start_traffic(traffic_view).await?;
                        Ok(())
                    }
                    Err(PlatformError::Timeout { not_ready, .. })
                        if *on_timeout == OnTimeout::RollBack && section == Section::Main =>
                    {
                        let timing = self.timing(0);
                        Err(StepFailure::RollBack(decide_progress_deadline(
                            deployments,
                            &not_ready,
                            timing,
                        )))
                    }
                    Err(error) => Err(failed(error)),
                }
            }
            Step::Observe {
                phase, duration, ..
            } => {
                self.start_traffic(traffic_view).await?;
                self.open_phase(phase, WindowKind::Observe, *duration)
                    .await?;
                self.guard(tokio::time::sleep(*duration)).await?;
                self.cut(None);
                Ok(())
            }
            Step::Analyze {
                phase,
                duration,
                interval,
                ..
            } => {
                self.start_traffic(traffic_view).await?;
                let started = tokio::time::Instant::now();
                self.guard(tokio::time::sleep(ANALYZE_SETTLE)).await?;
                // The candidate is judged from its first request, so the window
                // opens now, with the ready set as it is now; Prometheus catching
                // up with new pods only moves the part of the window its counts
                // are compared over.
                self.refresh_timeline().await;
                self.cut(Some((
                    phase.to_string(),
                    WindowKind::Analyze,
                    Some(*duration),
                )));
                let decision = self.analyze(phase, *duration, *interval, started).await?;
                self.cut(None);
                let rolled_back = decision.outcome == Outcome::RolledBack;
                self.decide(decision);
                if rolled_back {
                    // The decision is recorded; the caller switches to rollback.
                    return Ok(());
                }
                Ok(())
            }
        }
    }

    fn note(&mut self, message: impl Into<String>) {
        let message = message.into();
        self.journal.note(message.clone());
        self.notes.push(message);
    }

    /// Start traffic through the Service once it has endpoints (the first
    /// successful wait, or the first phase).
    async fn start_traffic(
        &mut self,
        traffic_view: &Mutex<Option<Arc<Traffic>>>,
    ) -> Result<(), StepFailure> {
        if self.traffic.is_some() {
            return Ok(());
        }
        let url = match self.platform.service_url(&self.plan.service).await {
            Ok(url) => url,
            // No Service yet: traffic starts with a later step.
            Err(PlatformError::NotFound { .. }) => return Ok(()),
            Err(error) => return Err(StepFailure::Failed(error.to_string())),
        };
        let planned: Duration = self
            .plan
            .steps
            .iter()
            .chain(&self.plan.rollback)
            .map(|step| match step {
                Step::WaitReady { timeout, .. } => *timeout,
                Step::Observe { duration, .. } | Step::Analyze { duration, .. } => *duration,
                _ => Duration::ZERO,
            })
            .sum();
        let limit = planned + TRAFFIC_SLACK;
        let keep_alive = match self.config.connections {
            Connections::KeepAlive(n) => Some(n),
            Connections::PerRequest => None,
        };
        let (traffic, url) = match &self.config.remote_traffic {
            Some(remote) => {
                let load = RemoteLoad {
                    service: self.plan.service.clone(),
                    rate: self.plan.profile.rate,
                    limit,
                    keep_alive,
                };
                let journal = self.journal;
                let traffic = Traffic::remote(remote.clone(), load, || journal.now_ms())
                    .await
                    .map_err(|error| {
                        StepFailure::Failed(format!("cannot start traffic: {error}"))
                    })?;
                (
                    traffic,
                    format!("service {} (from inside the cluster)", self.plan.service),
                )
            }
            None => {
                let mut options = loadgen::Options::new(
                    url.clone(),
                    Load::Rate(self.plan.profile.rate),
                    Bound::Duration(limit),
                );
                if let Some(n) = keep_alive {
                    options.connections = loadgen::Connections::KeepAlive(n);
                }
                let handle = loadgen::start(options).await.map_err(|error| {
                    StepFailure::Failed(format!("cannot start traffic: {error}"))
                })?;
                (Traffic::local(handle, self.now_ms()), url)
            }
        };
        let traffic = Arc::new(traffic);
        *traffic_view.lock().unwrap() = Some(traffic.clone());
        self.traffic = Some(traffic);
        self.journal.emit(RunEvent::TrafficStarted {
            url,
            rate: self.plan.profile.rate,
            keep_alive,
        });
        if let Some((section, i)) = self.position {
            self.ensure_transition(section, i);
        }
        Ok(())
    }

    /// Steps between phases form a transition window, named after the phase it
    /// leads to (`→ canary`), so the windows of a run follow from its plan.
    fn ensure_transition(&mut self, section: Section, i: usize) {
        self.position = Some((section, i));
        if self.window.is_some() || self.traffic.is_none() {
            return;
        }
        let steps = match section {
            Section::Main => &self.plan.steps,
            Section::Rollback => &self.plan.rollback,
        };
        let next = steps[i..].iter().find_map(|step| match step {
            Step::Observe { phase, .. } | Step::Analyze { phase, .. } => Some(phase.clone()),
            _ => None,
        });
        let name = match next {
            Some(phase) => format!("→ {phase}"),
            None => "→ end".to_string(),
        };
        self.open(name, WindowKind::Transition, None);
    }

    fn open(&mut self, name: String, kind: WindowKind, planned: Option<Duration>) {
        let Some(traffic) = &self.traffic else {
            return;
        };
        let start = traffic.snapshot();
        let start_ms = self.now_ms();
        let planned_ms = planned.map(|d| d.as_millis() as u64);
        {
            let mut live = self.live.lock().unwrap();
            live.window = Some((name.clone(), kind, start_ms, planned_ms));
            live.window_start = Some(start.clone());
        }
        self.journal.emit(RunEvent::WindowOpened {
            name: name.clone(),
            kind,
            planned_ms,
        });
        let failed_at_open = self.failed_connections();
        self.window = Some(OpenWindow {
            name,
            kind,
            start_ms,
            start,
            failed_at_open,
            counted: Counted::Whole,
        });
    }

    /// The Service's failed connections per version so far (empty when the
    /// platform does not count them).
    fn failed_connections(&self) -> BTreeMap<String, u64> {
        self.config
            .failed_connections
            .as_ref()
            .map(|source| source.counts())
            .unwrap_or_default()
    }

    /// The Service's failed connections per version since `before`.
    fn failed_since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.failed_connections()
            .into_iter()
            .map(|(version, count)| {
                let earlier = before.get(&version).copied().unwrap_or(0);
                (version, count.saturating_sub(earlier))
            })
            .collect()
    }

    /// Close the open window and open `next`, if any.
    fn cut(&mut self, next: Option<(String, WindowKind, Option<Duration>)>) {
        let Some(traffic) = self.traffic.clone() else {
            return;
        };
        if let Some(window) = self.window.take() {
            let end = traffic.snapshot();
            let delta = end.since(&window.start);
            let end_ms = self.now_ms();
            self.journal.emit(RunEvent::WindowClosed {
                name: window.name.clone(),
                answers: delta
                    .versions
                    .iter()
                    .filter(|(_, s)| s.count() > 0)
                    .map(|(v, s)| (v.clone(), s.count()))
                    .collect(),
                failed_requests: delta.errors.total(),
            });
            let failed = self.failed_since(&window.failed_at_open);
            let server = match window.counted {
                Counted::Whole => ServerPart::Whole,
                Counted::Pending => ServerPart::NotCompared(
                    "the window closed before Prometheus scraped every ready pod".to_string(),
                ),
                Counted::From {
                    start_ms,
                    start,
                    partial,
                } => ServerPart::From {
                    start_ms,
                    delta: end.since(&start),
                    partial,
                },
                Counted::NotCompared(reason) => ServerPart::NotCompared(reason),
            };
            self.closed.push(ClosedWindow {
                name: window.name,
                kind: window.kind,
                start_ms: window.start_ms,
                end_ms,
                delta,
                failed,
                server,
            });
        }
        match next {
            Some((name, kind, planned)) => self.open(name, kind, planned),
            None => self.live.lock().unwrap().window = None,
        }
    }

    /// Wait until Prometheus scrapes every ready pod, then start the phase.
    async fn open_phase(
        &mut self,
        phase: &str,
        kind: WindowKind,
        planned: Duration,
    ) -> Result<(), StepFailure> {
        self.await_discovery().await?;
        self.cut(Some((phase.to_string(), kind, Some(planned))));
        Ok(())
    }

    async fn await_discovery(&mut self) -> Result<(), StepFailure> {
        let deadline = Instant::now() + self.config.discovery_timeout;
        loop {
            match self.discovery().await? {
                Discovery::Missing(missing) if Instant::now() >= deadline => {
                    self.note_late_discovery(&missing);
                    return Ok(());
                }
                Discovery::Missing(_) => {}
                Discovery::Complete | Discovery::Unavailable => return Ok(()),
            }
            self.guard(tokio::time::sleep(DISCOVERY_POLL)).await?;
        }
    }

    /// Whether Prometheus scrapes every ready endpoint of the Service now.
    async fn discovery(&mut self) -> Result<Discovery, Interrupted> {
        let Some(prometheus) = self.prometheus.clone() else {
            return Ok(Discovery::Unavailable);
        };
        let wanted: BTreeSet<String> = match self.platform.endpoints(&self.plan.service).await {
            Ok(endpoints) => endpoints.into_iter().map(|e| e.pod).collect(),
            Err(_) => return Ok(Discovery::Complete),
        };
        match self.guard(prometheus.targets()).await? {
            Ok(targets) => {
                let up: BTreeSet<String> = targets
                    .iter()
                    .filter(|t| t.health == "up")
                    .filter_map(|t| t.labels.get("pod").cloned())
                    .collect();
                let missing: Vec<String> = wanted.difference(&up).cloned().collect();
                Ok(if missing.is_empty() {
                    Discovery::Complete
                } else {
                    Discovery::Missing(missing)
                })
            }
            Err(error) => {
                self.prometheus_lost(&error);
                Ok(Discovery::Unavailable)
            }
        }
    }

    fn note_late_discovery(&mut self, missing: &[String]) {
        self.note(format!(
            "prometheus did not report {} up within {}s; requests they served before their first scrape are invisible to increase()",
            missing.join(", "),
            self.config.discovery_timeout.as_secs()
        ));
    }

    /// Follow Prometheus until `until` while the open window waits for it to
    /// scrape every ready pod. Returns when its counts start to cover the window:
    /// now, or `started` when there is no Prometheus to wait for.
    async fn follow_discovery(
        &mut self,
        started: tokio::time::Instant,
        until: tokio::time::Instant,
        give_up: tokio::time::Instant,
    ) -> Result<Option<tokio::time::Instant>, Interrupted> {
        loop {
            let now = tokio::time::Instant::now();
            let partial = match self.discovery().await? {
                Discovery::Missing(missing) if now >= give_up => {
                    self.note_late_discovery(&missing);
                    true
                }
                Discovery::Missing(_) => {
                    let wake = (tokio::time::Instant::now() + DISCOVERY_POLL).min(until);
                    self.guard(tokio::time::sleep_until(wake)).await?;
                    if wake >= until {
                        return Ok(None);
                    }
                    continue;
                }
                Discovery::Complete => false,
                Discovery::Unavailable => {
                    self.set_counted(Counted::Whole);
                    return Ok(Some(started));
                }
            };
            let counted = match self.traffic.as_ref() {
                Some(traffic) => Counted::From {
                    start_ms: self.now_ms(),
                    start: traffic.snapshot(),
                    partial,
                },
                None => Counted::Whole,
            };
            self.set_counted(counted);
            return Ok(Some(now));
        }
    }

    fn set_counted(&mut self, counted: Counted) {
        if let Some(window) = self.window.as_mut() {
            window.counted = counted;
        }
    }

    fn prometheus_lost(&mut self, error: &PromError) {
        let message = format!(
            "prometheus stopped answering ({error}); server-side checks are inconclusive, client-side results are kept"
        );
        self.note(message);
        self.prometheus = None;
    }

    fn observation_so_far(&self, window: &OpenWindow) -> Option<WindowObservation> {
        let traffic = self.traffic.as_ref()?;
        let delta = traffic.snapshot().since(&window.start);
        let failed = self.failed_since(&window.failed_at_open);
        let config = self.analysis_config();
        let live = self.live.lock().unwrap();
        Some(measure::observation(
            WindowSpan {
                name: &window.name,
                kind: window.kind,
                start_ms: window.start_ms,
                end_ms: self.now_ms(),
            },
            &delta,
            traffic.offset_ms,
            &live.timeline,
            &live.restarts(),
            &config,
            &failed,
        ))
    }

    fn analysis_config(&self) -> AnalysisConfig {
        AnalysisConfig {
            roles: Roles {
                candidate: self.plan.candidate.clone(),
                baseline: Some(self.plan.baseline.clone()),
            },
            gates: self.plan.gates.clone(),
            cross_check: CrossCheckTolerance::default(),
        }
    }

    fn timing(&self, intervals: u32) -> DecisionTiming {
        let live = self.live.lock().unwrap();
        let candidate = self.plan.candidate.as_str();
        let candidate_ready_ms = live
            .timeline
            .iter()
            .find(|s| s.ready.get(candidate).copied().unwrap_or(0) > 0)
            .map(|s| s.t_ms);
        DecisionTiming {
            decided_at_ms: self.now_ms(),
            candidate_applied_ms: self.candidate_applied_ms.unwrap_or(0),
            candidate_ready_ms,
            analysis_intervals_elapsed: intervals,
        }
    }

    /// Observe the analyze phase, checking the gates every interval; stop early
    /// when a gate fails with clear evidence.
    ///
    /// The window opened when the candidate became ready. When Prometheus has not
    /// scraped every ready pod yet, the phase lasts its full length from the
    /// moment it has (so its counts cover a whole phase, as in observe phases),
    /// while the gates are checked from the start.
    async fn analyze(
        &mut self,
        phase: &str,
        duration: Duration,
        interval: Duration,
        started: tokio::time::Instant,
    ) -> Result<Decision, StepFailure> {
        let config = self.analysis_config();
        let opened = tokio::time::Instant::now();
        let give_up = opened + self.config.discovery_timeout;
        let mut counting_from = match self.discovery().await? {
            Discovery::Missing(_) => {
                self.set_counted(Counted::Pending);
                None
            }
            Discovery::Complete | Discovery::Unavailable => Some(opened),
        };
        let mut intervals = 0u32;
        loop {
            let tick = started + interval * (intervals + 1);
            if counting_from.is_none() {
                counting_from = self.follow_discovery(opened, tick, give_up).await?;
            }
            let end = counting_from.map(|from| from + duration);
            let next = end.map_or(tick, |end| tick.min(end));
            self.guard(tokio::time::sleep_until(next)).await?;
            let at_end = end.is_some_and(|end| next >= end);
            if !at_end {
                intervals += 1;
            }
            // Restarts as they are now, not as last sampled: a crash just before
            // this look counts.
            self.refresh_restarts().await;
            let Some(observation) = self
                .window
                .as_ref()
                .and_then(|w| self.observation_so_far(w))
            else {
                return Err(StepFailure::Failed(
                    "no traffic during the analyze phase".to_string(),
                ));
            };
            let gates = analyze_window(&observation, &config).gates;
            if at_end {
                if intervals == 0 || next > started + interval * intervals {
                    intervals += 1;
                }
                return Ok(decide(
                    phase,
                    gates,
                    &self.plan.gates,
                    self.timing(intervals),
                ));
            }
            let interim = evaluate_interim(&gates);
            self.journal.emit(RunEvent::Interim {
                window: phase.to_string(),
                verdict: match &interim {
                    Interim::FailNow { .. } => "fail now",
                    Interim::KeepObserving { .. } => "keep observing",
                    Interim::PassSoFar => "pass so far",
                }
                .to_string(),
                gates: gates
                    .iter()
                    .map(|g| {
                        format!(
                            "{} {}: {}",
                            g.gate.as_str(),
                            g.verdict.as_str(),
                            g.explanation
                        )
                    })
                    .collect(),
            });
            if let Interim::FailNow { .. } = interim {
                // A window cut at its first failing gate ends at an arbitrary
                // instant, often before Prometheus scraped the candidate at all:
                // comparing counts would measure that race, not the lab.
                let whole = matches!(
                    self.window.as_ref().map(|w| &w.counted),
                    Some(Counted::Whole)
                );
                if !whole {
                    self.set_counted(Counted::NotCompared(
                        "the analysis stopped at a failing gate before Prometheus had counted the whole window".to_string(),
                    ));
                }
                return Ok(decide(
                    phase,
                    gates,
                    &self.plan.gates,
                    self.timing(intervals),
                ));
            }
        }
    }

    /// Sample the Service's ready endpoints now, not at the sampler's next tick:
    /// a window that opens or a candidate that becomes ready is timed by it.
    async fn refresh_timeline(&self) {
        let Ok(endpoints) = self.platform.endpoints(&self.plan.service).await else {
            return;
        };
        let mut ready: BTreeMap<String, u32> = BTreeMap::new();
        for endpoint in endpoints {
            *ready.entry(endpoint.version).or_default() += 1;
        }
        let now_ms = self.now_ms();
        let mut live = self.live.lock().unwrap();
        let last = live.timeline.last();
        if last.map(|s| &s.ready) != Some(&ready) {
            let t_ms = last.map_or(now_ms, |s| s.t_ms.max(now_ms));
            live.timeline.push(ReadySample { t_ms, ready });
        }
    }

    /// Read every pod's restarts from the platform now.
    async fn refresh_restarts(&self) {
        let Ok(pods) = self.platform.pods().await else {
            return;
        };
        let mut live = self.live.lock().unwrap();
        for pod in pods {
            let entry = live
                .pod_restarts
                .entry(pod.name)
                .or_insert((pod.version, 0));
            entry.1 = entry.1.max(pod.restarts);
        }
    }

    /// Stop traffic, query Prometheus, tear down, analyze and assemble the report.
    async fn finish(&mut self, status: RunStatus, events: Vec<EventRecord>) -> Report {
        let mut totals = None;
        if let Some(traffic) = self.traffic.clone() {
            self.cut_final();
            traffic.stop().await;
            totals = Some((traffic.snapshot(), traffic.offset_ms));
        }
        let interrupted = status == RunStatus::Interrupted;
        if interrupted {
            // Whoever interrupted wants the lab gone: tear down before asking
            // Prometheus, and ask without waiting for one more scrape.
            self.tear_down().await;
        }
        let mut server_windows = BTreeMap::new();
        let mut server_series = None;
        if let Some(prometheus) = self.prometheus.clone() {
            let queried = if interrupted {
                tokio::time::timeout(INTERRUPTED_QUERY_LIMIT, self.query_server(&prometheus))
                    .await
                    .unwrap_or_else(|_| {
                        Err(PromError::Unreachable {
                            url: prometheus.url().to_string(),
                            message: "no answer before the interrupted run ended".to_string(),
                        })
                    })
            } else {
                // Let the last counts be scraped before asking for them.
                let settle = self.plan.profile.scrape_interval * 2 + Duration::from_millis(500);
                tokio::time::sleep(settle).await;
                self.query_server(&prometheus).await
            };
            match queried {
                Ok((windows, series)) => {
                    server_windows = windows;
                    server_series = Some(series);
                }
                Err(error) => self.prometheus_lost(&error),
            }
        }
        if !interrupted {
            self.tear_down().await;
        }
        let partly_counted: Vec<String> = self
            .closed
            .iter()
            .filter_map(|window| match window.server {
                ServerPart::From { start_ms, .. } => Some(format!(
                    "window {}: Prometheus had scraped every ready pod {:.1}s after it opened; its cross-check compares the {:.1}s after that",
                    window.name,
                    start_ms.saturating_sub(window.start_ms) as f64 / 1000.0,
                    window.end_ms.saturating_sub(start_ms) as f64 / 1000.0
                )),
                _ => None,
            })
            .collect();
        for note in partly_counted {
            self.note(note);
        }
        let live = self.live.lock().unwrap();
        let restarts = live.restarts();
        let config = self.analysis_config();
        let windows: Vec<WindowReport> = self
            .closed
            .iter()
            .map(|window| {
                let offset = totals.as_ref().map_or(0, |(_, offset)| *offset);
                let mut observation = measure::observation(
                    WindowSpan {
                        name: &window.name,
                        kind: window.kind,
                        start_ms: window.start_ms,
                        end_ms: window.end_ms,
                    },
                    &window.delta,
                    offset,
                    &live.timeline,
                    &restarts,
                    &config,
                    &window.failed,
                );
                let server = server_windows.get(&window.name).cloned();
                match &window.server {
                    ServerPart::Whole => {
                        observation.server = server;
                        let analysis = analyze_window(&observation, &config);
                        WindowReport::new(&observation, analysis)
                    }
                    ServerPart::From {
                        start_ms, delta, ..
                    } => {
                        // Judged on the whole window, compared with Prometheus on
                        // the part it counted.
                        let mut counted = measure::observation(
                            WindowSpan {
                                name: &window.name,
                                kind: window.kind,
                                start_ms: *start_ms,
                                end_ms: window.end_ms,
                            },
                            delta,
                            offset,
                            &live.timeline,
                            &restarts,
                            &config,
                            &BTreeMap::new(),
                        );
                        counted.server = server.clone();
                        observation.server = server;
                        let mut analysis = analyze_window(&observation, &config);
                        analysis.cross_check = analyze_window(&counted, &config).cross_check;
                        WindowReport::new(&observation, analysis)
                    }
                    ServerPart::NotCompared(reason) => {
                        let mut analysis = analyze_window(&observation, &config);
                        for check in &mut analysis.cross_check {
                            check.source = format!("not compared: {reason}");
                            check.explanation = format!(
                                "clients counted {} for {}; not compared with Prometheus: {reason}",
                                check.client_count, check.version
                            );
                        }
                        WindowReport::new(&observation, analysis)
                    }
                }
            })
            .collect();
        let client = totals
            .as_ref()
            .map(|(snapshot, offset)| measure::client_series(snapshot, *offset))
            .unwrap_or_default();
        let mut report = Report {
            schema_version: SCHEMA_VERSION,
            run_id: self.config.run_id.clone(),
            scenario: self.plan.scenario.clone(),
            description: self.plan.description.clone(),
            platform: self.platform.name(),
            profile: self.plan.profile.name.as_str().to_string(),
            started_at: jiff::Timestamp::try_from(self.wall_start)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            roles: config.roles.clone(),
            thresholds: self.plan.gates.clone(),
            status: RunStatus::Completed,
            expected: self.plan.expected,
            outcome: None,
            passed: false,
            decision: None,
            windows,
            steps: sorted_steps(&self.steps),
            timeline: live.timeline.clone(),
            series: Series {
                client,
                server: server_series,
            },
            prometheus: PrometheusInfo {
                available: self.prometheus.is_some(),
                url: self.platform.urls().prometheus,
                notes: Vec::new(),
            },
            events,
            notes: self.notes.clone(),
        };
        drop(live);
        report.conclude(status, self.decision.clone());
        report
    }

    /// Close the last window when traffic stops.
    fn cut_final(&mut self) {
        self.cut(None);
    }

    async fn tear_down(&mut self) {
        if self.config.keep {
            self.note("the last state was kept running (--keep)");
        } else if let Err(error) = self.platform.teardown().await {
            self.note(format!("teardown failed: {error}"));
        }
    }

    /// Server-side counts per window and the tutorial's rate over the run.
    async fn query_server(
        &self,
        prometheus: &Prometheus,
    ) -> Result<(BTreeMap<String, ServerObservation>, ServerSeries), PromError> {
        let app = self.app_label();
        let scrape_interval_ms = self.plan.profile.scrape_interval.as_millis() as u64;
        let mut windows = BTreeMap::new();
        for window in &self.closed {
            let (from_ms, partial) = match &window.server {
                ServerPart::Whole => (window.start_ms, false),
                ServerPart::From {
                    start_ms, partial, ..
                } => (*start_ms, *partial),
                ServerPart::NotCompared(_) => continue,
            };
            let length = window.end_ms.saturating_sub(from_ms);
            if length == 0 {
                continue;
            }
            let query = format!(
                "sum by (version) (increase(http_requests_total{{app=\"{app}\"}}[{length}ms]))"
            );
            let at = self.wall_start + Duration::from_millis(window.end_ms);
            let samples = prometheus.query(&query, at).await?;
            let versions = samples
                .into_iter()
                .filter_map(|sample| {
                    let version = sample.labels.get("version")?.clone();
                    Some((
                        version,
                        ServerCount {
                            increase: sample.value,
                            query: query.clone(),
                        },
                    ))
                })
                .collect();
            windows.insert(
                window.name.clone(),
                ServerObservation {
                    scrape_interval_ms,
                    versions,
                    partial,
                },
            );
        }
        let query = format!(
            "sum(rate(http_requests_total{{app=\"{app}\"}}[{TUTORIAL_RATE_WINDOW}])) by (version)"
        );
        let step = self
            .plan
            .profile
            .scrape_interval
            .max(Duration::from_secs(1));
        let end = SystemTime::now();
        let series = prometheus
            .query_range(&query, self.wall_start, end, step)
            .await?;
        let start_s = unix_seconds(self.wall_start);
        let mut points: BTreeMap<u64, BTreeMap<String, f64>> = BTreeMap::new();
        for line in series {
            let version = line.labels.get("version").cloned().unwrap_or_default();
            for (t, value) in line.points {
                let t_ms = ((t - start_s).max(0.0) * 1000.0) as u64;
                points
                    .entry(t_ms)
                    .or_default()
                    .insert(version.clone(), value);
            }
        }
        Ok((
            windows,
            ServerSeries {
                query,
                step_ms: step.as_millis() as u64,
                points: points
                    .into_iter()
                    .map(|(t_ms, rates)| ServerPoint { t_ms, rates })
                    .collect(),
            },
        ))
    }

    /// The `app` label of the Service's selector (the tutorial's `my-app`).
    fn app_label(&self) -> String {
        self.plan
            .manifests
            .iter()
            .flat_map(|m| &m.objects)
            .filter(|o| o.name() == self.plan.service)
            .find_map(|o| o.service_selector().and_then(|s| s.get("app").cloned()))
            .unwrap_or_else(|| self.plan.service.clone())
    }
}

fn sorted_steps(steps: &[StepRecord]) -> Vec<StepRecord> {
    let mut steps = steps.to_vec();
    steps.sort_by_key(|s| (s.section == Section::Rollback, s.index));
    steps
}

/// `completed`, `interrupted` or `failed`.
fn status_name(status: &RunStatus) -> &'static str {
    match status {
        RunStatus::Completed => "completed",
        RunStatus::Interrupted => "interrupted",
        RunStatus::Failed { .. } => "failed",
    }
}
