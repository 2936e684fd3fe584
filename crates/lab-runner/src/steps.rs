//! The plan's steps in order on the platform: each one announced, held by the
//! `before_step` hook when there is one, annotated on the platform's
//! dashboards, performed, recorded; traffic started once the Service has
//! endpoints; the rollback steps after a decision to roll back.

use crate::config::{BeforeStep, Connections, StepAhead};
use crate::context::{Context, Interrupted, StepFailure};
use crate::discovery::await_discovery;
use crate::interim::analyze;
use crate::traffic::Traffic;
use crate::windows::{NextWindow, Windows};
use lab_core::analysis::{Decision, Outcome, WindowKind, decide_progress_deadline};
use lab_core::object::{Object, ObjectKind, VERSION_LABEL};
use lab_core::plan::{OnTimeout, Step};
use lab_core::platform::{Platform, PlatformError, RemoteLoad};
use lab_core::report::{RunStatus, Section, StepRecord, StepResult};
use lab_core::run_event::RunEvent;
use loadgen::{Bound, Load};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Traffic is bounded even if nobody stops it: this long past the plan's end.
const TRAFFIC_SLACK: Duration = Duration::from_secs(600);

/// An analyze window opens this long after its step starts: requests sent before
/// the last change of the ready set (answered within milliseconds) land in the
/// transition, not in the window. The analysis intervals count from the step's
/// start, so the decision is not delayed.
const ANALYZE_SETTLE: Duration = Duration::from_millis(300);

/// A run's steps as they execute.
pub(crate) struct Execution<'a, P: Platform> {
    pub(crate) cx: Context<'a, P>,
    pub(crate) windows: Windows,
    pub(crate) traffic: Option<Arc<Traffic>>,
    /// The steps as they ran or were skipped.
    pub(crate) steps: Vec<StepRecord>,
    pub(crate) decision: Option<Decision>,
    /// Whether an annotation already failed (said once in the notes).
    annotation_failed: bool,
    /// Whether the endpoint settle is in the notes already.
    settle_noted: bool,
}

impl<'a, P: Platform> Execution<'a, P> {
    pub(crate) fn new(cx: Context<'a, P>) -> Self {
        Self {
            cx,
            windows: Windows::default(),
            traffic: None,
            steps: Vec::new(),
            decision: None,
            annotation_failed: false,
            settle_noted: false,
        }
    }

    /// Close the open window (if any) and open `next`.
    pub(crate) fn cut(&mut self, next: Option<NextWindow>) {
        let traffic = self.traffic.clone();
        self.windows.cut(&self.cx, traffic.as_deref(), next);
    }

    /// Every step of the plan, then the rollback when one was decided; the
    /// run's status.
    pub(crate) async fn execute(
        &mut self,
        traffic_view: &Mutex<Option<Arc<Traffic>>>,
    ) -> RunStatus {
        let plan = self.cx.plan;
        let mut status = RunStatus::Completed;
        let mut roll_back = false;
        for (i, step) in plan.steps.iter().enumerate() {
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
            for (i, step) in plan.rollback.iter().enumerate() {
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
            for (i, step) in plan.rollback.iter().enumerate() {
                self.record_skipped(Section::Rollback, i, step);
            }
        }
        status
    }

    fn skip_rest(&mut self, section: Section, from: usize) {
        let plan = self.cx.plan;
        let steps = match section {
            Section::Main => &plan.steps,
            Section::Rollback => &plan.rollback,
        };
        for (i, step) in steps.iter().enumerate().skip(from) {
            self.record_skipped(section, i, step);
        }
        if section == Section::Main {
            for (i, step) in plan.rollback.iter().enumerate() {
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
        self.record(StepRecord {
            index,
            section,
            description: step.describe(),
            kubectl: vec![self.cx.plan.kubectl(step)],
            started_ms: None,
            finished_ms: None,
            result: StepResult::Skipped,
        });
    }

    /// Keep a step's record, and show it on the live page.
    fn record(&mut self, record: StepRecord) {
        self.cx.live.lock().unwrap().record_step(record.clone());
        self.steps.push(record);
    }

    fn decide(&mut self, decision: Decision) {
        self.cx.journal.emit(RunEvent::Decision {
            outcome: decision.outcome,
            reason: decision.reason.clone(),
            decision: Some(Box::new(decision.clone())),
        });
        self.cx.live.lock().unwrap().decision = Some(decision.clone());
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
        let started_ms = self.cx.now_ms();
        {
            let mut live = self.cx.live.lock().unwrap();
            live.step = Some(description.clone());
            // Running: started, not finished.
            live.record_step(StepRecord {
                index,
                section,
                description: description.clone(),
                kubectl: vec![self.cx.plan.kubectl(step)],
                started_ms: Some(started_ms),
                finished_ms: None,
                result: StepResult::Ok,
            });
        }
        self.cx.journal.emit(RunEvent::StepStarted {
            index,
            section,
            description: description.clone(),
            kubectl: self.cx.plan.kubectl(step),
        });
        let annotated = self
            .cx
            .platform
            .annotate(SystemTime::now(), &description, &self.cx.config.run_id)
            .await;
        if let Err(error) = annotated
            && !self.annotation_failed
        {
            self.annotation_failed = true;
            self.cx
                .say(lab_report::run_notes::RunNote::AnnotationFailed {
                    error: &error.to_string(),
                });
        }
        if !matches!(step, Step::Observe { .. } | Step::Analyze { .. }) {
            let traffic = self.traffic.clone();
            self.windows
                .ensure_transition(&self.cx, traffic.as_deref(), section, i);
        }
        let result = self.perform(section, step, traffic_view).await;
        let finished_ms = self.cx.now_ms();
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
        self.cx.journal.emit(RunEvent::StepFinished {
            index,
            section,
            result: recorded.clone(),
            elapsed_ms: finished_ms - started_ms,
        });
        self.record(StepRecord {
            index,
            section,
            description,
            kubectl: vec![self.cx.plan.kubectl(step)],
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
        let Some(hook) = &self.cx.config.before_step else {
            return Ok(());
        };
        let (resume, resumed) = tokio::sync::oneshot::channel();
        let ahead = StepAhead {
            index,
            section,
            description: step.describe(),
            kubectl: self.cx.plan.kubectl(step),
        };
        if hook
            .send(BeforeStep {
                step: ahead,
                resume,
            })
            .is_ok()
        {
            // An answer or a dropped sender both mean: go on.
            let _ = self.cx.guard(resumed).await?;
        }
        Ok(())
    }

    fn touches_candidate(&self, step: &Step) -> bool {
        let candidate = self.cx.plan.candidate.as_str();
        match step {
            Step::Apply { objects, .. } => objects.iter().any(|object| match object {
                Object::Deployment(_) => object.version() == Some(candidate),
                // A route can only send to the candidate once its
                // Deployment, which counts, has been applied.
                Object::Service(_) | Object::Gateway(_) | Object::HttpRoute(_) => false,
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
        if self.cx.candidate_applied_ms.is_none() && self.touches_candidate(step) {
            self.cx.candidate_applied_ms = Some(self.cx.now_ms());
        }
        let platform = self.cx.platform;
        let failed = |error: PlatformError| StepFailure::Failed(error.to_string());
        match step {
            Step::Apply { objects, .. } => {
                let applied = self
                    .cx
                    .guard(platform.apply(objects))
                    .await?
                    .map_err(failed);
                if applied.is_ok() && objects.iter().any(|o| o.as_route().is_some()) {
                    // Routes change where traffic goes from now on.
                    self.cx.live.lock().unwrap().routes.applied(objects);
                    self.cx.refresh_timeline().await;
                }
                applied
            }
            Step::Scale {
                deployment,
                replicas,
            } => self
                .cx
                .guard(platform.scale(deployment, *replicas))
                .await?
                .map_err(failed),
            Step::Delete { kind, name } => {
                let deleted = self
                    .cx
                    .guard(platform.delete(*kind, name))
                    .await?
                    .map_err(failed);
                if deleted.is_ok() && *kind == ObjectKind::HttpRoute {
                    self.cx.live.lock().unwrap().routes.deleted(name);
                    self.cx.refresh_timeline().await;
                }
                deleted
            }
            Step::SwitchSelector { service, selector } => self
                .cx
                .guard(platform.set_selector(service, selector))
                .await?
                .map_err(failed),
            Step::WaitReady {
                deployments,
                timeout,
                on_timeout,
            } => {
                let waited = self
                    .cx
                    .guard(platform.wait_ready(deployments, *timeout))
                    .await?;
                match waited {
                    Ok(()) => {
                        // When a candidate became ready is measured from here.
                        self.cx.refresh_timeline().await;
                        self.start_traffic(traffic_view).await?;
                        Ok(())
                    }
                    Err(PlatformError::Timeout { not_ready, .. })
                        if *on_timeout == OnTimeout::RollBack && section == Section::Main =>
                    {
                        let timing = self.cx.timing(0);
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
                self.settle_endpoints().await?;
                // A phase starts once Prometheus scrapes every ready pod.
                await_discovery(&mut self.cx).await?;
                self.cut(Some(NextWindow::phase(
                    phase,
                    WindowKind::Observe,
                    *duration,
                )));
                self.cx.guard(tokio::time::sleep(*duration)).await?;
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
                self.settle_endpoints().await?;
                let started = tokio::time::Instant::now();
                self.cx.guard(tokio::time::sleep(ANALYZE_SETTLE)).await?;
                // The candidate is judged from its first request, so the window
                // opens now, with the ready set as it is now; Prometheus catching
                // up with new pods only moves the part of the window its counts
                // are compared over.
                self.cx.refresh_timeline().await;
                self.cut(Some(NextWindow::phase(
                    phase,
                    WindowKind::Analyze,
                    *duration,
                )));
                let traffic = self.traffic.clone();
                let decision = analyze(
                    &mut self.cx,
                    &mut self.windows,
                    traffic.as_deref(),
                    phase,
                    *duration,
                    *interval,
                    started,
                )
                .await?;
                self.cut(None);
                // A decision to roll back is recorded; the caller switches to
                // the rollback steps.
                self.decide(decision);
                Ok(())
            }
        }
    }

    /// Let the Service follow the last endpoint change before a phase opens:
    /// the plan's endpoint settle on a cluster, the platform's own proxy lag
    /// where it models one ([`Platform::endpoint_propagation`]). Until then new
    /// connections still go to the pods of before, and they belong to the
    /// transition.
    async fn settle_endpoints(&mut self) -> Result<(), StepFailure> {
        let placed = self.cx.plan.placement.endpoint_settle;
        let settle = placed.max(self.cx.platform.endpoint_propagation());
        if settle.is_zero() {
            return Ok(());
        }
        // The plan shows a cluster's settle already; the local lag is the
        // plan's proxy line, so only the cluster's earns a note here.
        if !placed.is_zero() && !self.settle_noted {
            self.settle_noted = true;
            let platform = self.cx.plan.placement.platform.to_string();
            self.cx.say(lab_report::run_notes::RunNote::ClusterSettle {
                settle_s: settle.as_secs_f64(),
                platform: &platform,
            });
        }
        self.cx.guard(tokio::time::sleep(settle)).await?;
        Ok(())
    }

    /// Start traffic through the Service once it has endpoints (the first
    /// successful wait, or the first phase): from the platform when it
    /// generates traffic itself, else from this process.
    async fn start_traffic(
        &mut self,
        traffic_view: &Mutex<Option<Arc<Traffic>>>,
    ) -> Result<(), StepFailure> {
        if self.traffic.is_some() {
            return Ok(());
        }
        let plan = self.cx.plan;
        // A Gateway without a route answers 404: traffic starts once a route
        // sends it somewhere.
        if plan.entry.service().is_none() && self.cx.live.lock().unwrap().routes.is_empty() {
            return Ok(());
        }
        let url = match self.cx.platform.service_url(plan.entry.name()).await {
            Ok(url) => url,
            // No Service yet: traffic starts with a later step.
            Err(PlatformError::NotFound { .. }) => return Ok(()),
            Err(error) => return Err(StepFailure::Failed(error.to_string())),
        };
        let planned: Duration = plan
            .steps
            .iter()
            .chain(&plan.rollback)
            .map(|step| match step {
                Step::WaitReady { timeout, .. } => *timeout,
                Step::Observe { duration, .. } | Step::Analyze { duration, .. } => *duration,
                _ => Duration::ZERO,
            })
            .sum();
        let limit = planned + TRAFFIC_SLACK;
        let keep_alive = match self.cx.config.connections {
            Connections::KeepAlive(n) => Some(n),
            Connections::PerRequest => None,
        };
        let (traffic, url) = match self.cx.platform.remote_traffic() {
            Some(remote) => {
                let load = RemoteLoad {
                    service: plan.entry.name().to_owned(),
                    rate: plan.profile.rate,
                    limit,
                    keep_alive,
                    classes: plan.traffic.clone(),
                };
                let journal = self.cx.journal;
                let traffic = Traffic::remote(remote, load, || journal.now_ms())
                    .await
                    .map_err(|error| {
                        StepFailure::Failed(format!("cannot start traffic: {error}"))
                    })?;
                (
                    traffic,
                    format!("service {} (from inside the cluster)", plan.entry.name()),
                )
            }
            None => {
                let mut options = loadgen::Options::new(
                    url.clone(),
                    Load::Rate(plan.profile.rate),
                    Bound::Duration(limit),
                );
                if let Some(n) = keep_alive {
                    options.connections = loadgen::Connections::KeepAlive(n);
                }
                options.classes = plan
                    .traffic
                    .iter()
                    .map(|class| loadgen::RequestClass {
                        name: class.name.clone(),
                        share: class.share,
                        headers: class.headers.clone().into_iter().collect(),
                    })
                    .collect();
                let handle = loadgen::start(options).await.map_err(|error| {
                    StepFailure::Failed(format!("cannot start traffic: {error}"))
                })?;
                (Traffic::local(handle, self.cx.now_ms()), url)
            }
        };
        let traffic = Arc::new(traffic);
        *traffic_view.lock().unwrap() = Some(traffic.clone());
        self.traffic = Some(traffic.clone());
        self.cx.journal.emit(RunEvent::TrafficStarted {
            url,
            rate: plan.profile.rate,
            keep_alive,
        });
        self.windows.resume_transition(&self.cx, Some(&traffic));
        Ok(())
    }
}
