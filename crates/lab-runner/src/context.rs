//! What every part of a run shares: the platform, the plan and configuration,
//! the journal, Prometheus while it answers, the live samples and the notes; and
//! how any wait gives way to an interrupt.

use crate::config::{MirrorCounting, RunConfig};
use crate::journal::Journal;
use crate::live::Live;
use crate::prometheus::{PromError, Prometheus};
use crate::routes::entry_endpoints;
use lab_core::analysis::{AnalysisConfig, CrossCheckTolerance, Decision, DecisionTiming, Roles};
use lab_core::plan::Plan;
use lab_core::platform::{MirrorCount, Platform};
use lab_report::i18n::Localized;
use lab_report::run_notes::RunNote;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The run was interrupted (Ctrl-C, SIGTERM).
pub(crate) struct Interrupted;

/// Why a step did not simply succeed.
pub(crate) enum StepFailure {
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

/// The shared state of one run.
pub(crate) struct Context<'a, P: Platform> {
    pub(crate) platform: &'a P,
    pub(crate) plan: &'a Plan,
    pub(crate) config: &'a RunConfig,
    pub(crate) journal: &'a Journal,
    pub(crate) wall_start: SystemTime,
    /// Prometheus, until it stops answering.
    pub(crate) prometheus: Option<Prometheus>,
    pub(crate) live: Arc<Mutex<Live>>,
    /// The report's notes so far.
    pub(crate) notes: Vec<String>,
    /// When a step first changed the candidate (applied it, switched to it).
    pub(crate) candidate_applied_ms: Option<u64>,
}

impl<P: Platform> Context<'_, P> {
    /// Milliseconds since the run started.
    pub(crate) fn now_ms(&self) -> u64 {
        self.journal.now_ms()
    }

    /// Await `work` unless the run is interrupted first.
    pub(crate) async fn guard<T>(&self, work: impl Future<Output = T>) -> Result<T, Interrupted> {
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

    /// One of the run's own remarks, in the run's language.
    pub(crate) fn say(&mut self, note: RunNote<'_>) {
        let message = note.render(self.config.language);
        self.note(message);
    }

    /// A remark for the report, also written to the journal.
    pub(crate) fn note(&mut self, message: impl Into<String>) {
        let message = message.into();
        self.journal.note(message.clone());
        self.notes.push(message);
    }

    /// Prometheus stopped answering: say so, and go on without it.
    pub(crate) fn prometheus_lost(&mut self, error: &PromError) {
        self.say(RunNote::PrometheusLost {
            error: &error.to_string(),
        });
        self.prometheus = None;
    }

    /// The Service's failed connections per version so far (empty when the
    /// platform does not count them).
    pub(crate) fn failed_connections(&self) -> BTreeMap<String, u64> {
        self.platform
            .failed_connections(self.plan.entry.name())
            .unwrap_or_default()
    }

    /// The copies the Gateway mirrored so far, per version; `None` when
    /// traffic enters through a Service, the platform does not count them or
    /// the run counts them from Prometheus.
    pub(crate) fn mirror_copies(&self) -> Option<MirrorCount> {
        self.plan.entry.service().is_none().then_some(())?;
        (self.config.mirror_counting == MirrorCounting::Platform).then_some(())?;
        self.platform.mirror_copies(self.plan.entry.name())
    }

    /// The Service's failed connections per version since `before`.
    pub(crate) fn failed_since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.failed_connections()
            .into_iter()
            .map(|(version, count)| {
                let earlier = before.get(&version).copied().unwrap_or(0);
                (version, count.saturating_sub(earlier))
            })
            .collect()
    }

    /// Sample the Service's ready endpoints now, not at the sampler's next tick:
    /// a window that opens or a candidate that becomes ready is timed by it.
    pub(crate) async fn refresh_timeline(&self) {
        let routes = self.live.lock().unwrap().routes.clone();
        let Some(endpoints) = entry_endpoints(self.platform, self.plan, &routes).await else {
            return;
        };
        let now_ms = self.now_ms();
        self.live
            .lock()
            .unwrap()
            .record_endpoints(endpoints, now_ms, true);
    }

    /// Read every pod's restarts from the platform now.
    pub(crate) async fn refresh_restarts(&self) {
        if let Ok(pods) = self.platform.pods().await {
            self.live.lock().unwrap().record_pods(pods);
        }
    }

    /// Roles, gates and tolerance of the plan.
    pub(crate) fn analysis_config(&self) -> AnalysisConfig {
        AnalysisConfig {
            roles: Roles {
                candidate: self.plan.candidate.clone(),
                baseline: Some(self.plan.baseline.clone()),
            },
            gates: self.plan.gates.clone(),
            cross_check: CrossCheckTolerance::default(),
        }
    }

    /// When a decision taken now, after `intervals` analysis intervals, was taken.
    pub(crate) fn timing(&self, intervals: u32) -> DecisionTiming {
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
}
