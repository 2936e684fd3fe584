//! What the run looks like right now: ready endpoints and restarts sampled from
//! the platform while the steps run, platform events passed on, and once a
//! second the live view's [`Progress`].

use crate::journal::Journal;
use crate::routes::{AppliedRoutes, entry_endpoints};
use crate::traffic::Traffic;
use lab_core::analysis::{Decision, ReadySample, RouteSample, WindowKind};
use lab_core::assembly::MeasuredWindow;
use lab_core::object::ObjectKind;
use lab_core::plan::{Plan, Step};
use lab_core::platform::{Endpoint, Platform, PodState};
use lab_core::report::{EventRecord, PodCounts, StepRecord};
use lab_core::run_event::{Progress, RunEvent, VersionProgress};
use loadgen::Snapshot;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// How often ready endpoints and pods are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// The window traffic is counted in, for the live view.
pub(crate) struct LiveWindow {
    pub(crate) name: String,
    pub(crate) kind: WindowKind,
    pub(crate) leads_to: Option<String>,
    pub(crate) start_ms: u64,
    pub(crate) planned_ms: Option<u64>,
    /// The traffic at the window's start.
    pub(crate) start: Snapshot,
}

/// What the sampler and the steps share.
#[derive(Default)]
pub(crate) struct Live {
    pub(crate) timeline: Vec<ReadySample>,
    /// The HTTPRoutes the steps applied, when traffic enters through a Gateway.
    pub(crate) routes: AppliedRoutes,
    /// Restarts per pod (kept after the pod is gone), with the pod's version.
    pub(crate) pod_restarts: BTreeMap<String, (String, u32)>,
    pub(crate) step: Option<String>,
    pub(crate) window: Option<LiveWindow>,
    /// For the live page: the steps so far (one running: not finished yet),
    /// the closed windows as measured, the decision once taken.
    pub(crate) steps: Vec<StepRecord>,
    pub(crate) windows: Vec<MeasuredWindow>,
    pub(crate) decision: Option<Decision>,
    /// The pods of the plan's Deployments that existed at once; `None` until
    /// the platform first answers.
    pub(crate) pods: Option<PodCounts>,
}

impl Live {
    /// Restarts per version over the run so far.
    pub(crate) fn restarts(&self) -> BTreeMap<String, u32> {
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

    /// Add a sample of the ready endpoints at `now_ms` when the ready set changed;
    /// `no_earlier` keeps samples in time order when the clock was read before
    /// the last one was taken.
    pub(crate) fn record_endpoints(
        &mut self,
        (endpoints, route): (Vec<Endpoint>, RouteSample),
        now_ms: u64,
        no_earlier: bool,
    ) {
        let mut ready: BTreeMap<String, u32> = BTreeMap::new();
        for endpoint in endpoints {
            *ready.entry(endpoint.version).or_default() += 1;
        }
        let last = self.timeline.last();
        if last.map(|s| (&s.ready, &s.route)) != Some((&ready, &route)) {
            let t_ms = match last {
                Some(s) if no_earlier => s.t_ms.max(now_ms),
                _ => now_ms,
            };
            self.timeline.push(ReadySample { t_ms, ready, route });
        }
    }

    /// Record a step as it starts, ends or is skipped.
    pub(crate) fn record_step(&mut self, record: StepRecord) {
        match self
            .steps
            .iter_mut()
            .find(|s| s.section == record.section && s.index == record.index)
        {
            Some(known) => *known = record,
            None => self.steps.push(record),
        }
    }

    /// The pods counted so far, for the report.
    pub(crate) fn pod_counts(&self) -> Option<PodCounts> {
        self.pods
    }

    /// Count the pods of `deployments` that exist at `now_ms`.
    pub(crate) fn count_pods(
        &mut self,
        pods: &[PodState],
        deployments: &BTreeSet<&str>,
        now_ms: u64,
    ) {
        let ours: Vec<&PodState> = pods
            .iter()
            .filter(|pod| deployments.contains(pod.deployment.as_str()))
            .collect();
        let serving = ours.iter().filter(|pod| !pod.terminating).count();
        // The first observe phase is the baseline: its first sample is the
        // steady state.
        let in_baseline = self
            .window
            .as_ref()
            .is_some_and(|w| w.kind == WindowKind::Observe);
        self.pods.get_or_insert_default().record(
            u32::try_from(ours.len()).unwrap_or(u32::MAX),
            u32::try_from(serving).unwrap_or(u32::MAX),
            now_ms,
            in_baseline,
        );
    }

    /// Keep each pod's highest restart count.
    pub(crate) fn record_pods(&mut self, pods: Vec<PodState>) {
        for pod in pods {
            let entry = self
                .pod_restarts
                .entry(pod.name)
                .or_insert((pod.version, 0));
            entry.1 = entry.1.max(pod.restarts);
        }
    }
}

/// Sample ready endpoints, pod restarts and platform events until told to stop;
/// emit the live view once a second. Returns the platform events.
pub(crate) async fn sample<P: Platform>(
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
    let deployments = plan_deployments(plan);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => {}
        }
        let stopping = *stop.borrow();
        let routes = live.lock().unwrap().routes.clone();
        let endpoints = entry_endpoints(platform, plan, &routes).await;
        let pods = platform.pods().await.ok();
        let now_ms = journal.now_ms();
        {
            let mut live = live.lock().unwrap();
            if let Some(endpoints) = endpoints {
                live.record_endpoints(endpoints, now_ms, false);
            }
            if let Some(pods) = &pods {
                live.count_pods(pods, &deployments, now_ms);
            }
            live.record_pods(pods.unwrap_or_default());
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

/// The Deployments the plan's steps apply, on either path.
fn plan_deployments(plan: &Plan) -> BTreeSet<&str> {
    plan.steps
        .iter()
        .chain(&plan.rollback)
        .filter_map(|step| match step {
            Step::Apply { objects, .. } => Some(objects),
            _ => None,
        })
        .flatten()
        .filter(|object| object.kind() == ObjectKind::Deployment)
        .map(|object| object.name())
        .collect()
}

fn progress(live: &Mutex<Live>, traffic: Option<&Traffic>, now_ms: u64) -> Progress {
    let live = live.lock().unwrap();
    let mut progress = Progress {
        step: live.step.clone(),
        window: None,
        window_kind: None,
        window_leads_to: None,
        window_elapsed_ms: 0,
        window_planned_ms: None,
        versions: BTreeMap::new(),
        failed_requests: 0,
        ready: live.ready_now(),
    };
    if let (Some(window), Some(traffic)) = (&live.window, traffic) {
        progress.window = Some(window.name.clone());
        progress.window_kind = Some(window.kind);
        progress.window_leads_to = window.leads_to.clone();
        progress.window_elapsed_ms = now_ms.saturating_sub(window.start_ms);
        progress.window_planned_ms = window.planned_ms;
        let delta = traffic.snapshot().since(&window.start);
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
