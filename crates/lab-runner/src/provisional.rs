//! The run's provisional report for the live page: while someone asks (the
//! [`LiveFeed`] knows), it is assembled once a second from what the run
//! recorded so far, exactly as the final report is; nobody asking, nothing is
//! assembled.

use crate::feed::{LiveFeed, ViewParts};
use crate::live::Live;
use crate::measure::{self, WindowSpan};
use crate::prometheus::Prometheus;
use crate::queries::tutorial_rate;
use crate::traffic::Traffic;
use lab_core::analysis::AnalysisConfig;
use lab_core::assembly::{Compared, MeasuredWindow, RunRecord, assemble};
use lab_core::plan::Plan;
use lab_core::report::{PrometheusInfo, Report, RunStatus, Series, ServerSeries};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// How often a view is published while wanted.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);
/// How often the publisher checks whether a view is wanted.
const CHECK_EVERY: Duration = Duration::from_millis(200);
/// How long Prometheus may take to answer the live panel's query.
const PANEL_QUERY_LIMIT: Duration = Duration::from_secs(2);

/// What the publisher reads the run from.
pub(crate) struct Sources<'a> {
    pub(crate) feed: &'a LiveFeed,
    pub(crate) plan: &'a Plan,
    pub(crate) run_id: &'a str,
    pub(crate) platform: String,
    pub(crate) prometheus: Option<Prometheus>,
    pub(crate) started_at: String,
    pub(crate) wall_start: SystemTime,
    pub(crate) start: Instant,
    pub(crate) analysis: AnalysisConfig,
    pub(crate) parts: ViewParts,
    pub(crate) live: Arc<Mutex<Live>>,
    pub(crate) traffic: Arc<Mutex<Option<Arc<Traffic>>>>,
    pub(crate) notes: Vec<String>,
}

/// Publish a provisional report once a second while someone asks, until told
/// to stop. The tutorial's panel is asked of Prometheus at most every other
/// second, and only then.
pub(crate) async fn publish(sources: &Sources<'_>, mut stop: watch::Receiver<bool>) {
    let mut last: Option<Instant> = None;
    let mut panel: Option<(Instant, ServerSeries)> = None;
    let panel_every = sources
        .plan
        .profile
        .scrape_interval
        .max(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        if !sources.feed.wanted() || last.is_some_and(|at| at.elapsed() < PUBLISH_EVERY) {
            continue;
        }
        last = Some(Instant::now());
        if let Some(prometheus) = &sources.prometheus
            && panel
                .as_ref()
                .is_none_or(|(at, _)| at.elapsed() >= panel_every)
        {
            let asked = tutorial_rate(prometheus, sources.plan, sources.wall_start);
            if let Ok(Ok(series)) = tokio::time::timeout(PANEL_QUERY_LIMIT, asked).await {
                panel = Some((Instant::now(), series));
            }
        }
        let now_ms = sources.start.elapsed().as_millis() as u64;
        let report = provisional(sources, panel.as_ref().map(|(_, s)| s.clone()), now_ms);
        sources.feed.publish(report, &sources.parts, now_ms, false);
    }
}

/// The report of the run so far: the closed windows, the open one up to now,
/// the steps, the timeline, the clients' series and the decision, assembled
/// as the final report is.
fn provisional(sources: &Sources<'_>, server: Option<ServerSeries>, now_ms: u64) -> Report {
    let traffic = sources.traffic.lock().unwrap().clone();
    let snapshot = traffic.as_ref().map(|t| (t.snapshot(), t.offset_ms));
    let live = sources.live.lock().unwrap();
    let mut windows = live.windows.clone();
    if let (Some(window), Some((snapshot, offset_ms))) = (&live.window, &snapshot) {
        let delta = snapshot.since(&window.start);
        let observation = measure::observation(
            WindowSpan {
                name: &window.name,
                kind: window.kind,
                start_ms: window.start_ms,
                end_ms: now_ms,
            },
            &delta,
            *offset_ms,
            &live.timeline,
            &live.restarts(),
            &sources.analysis,
            &BTreeMap::new(),
        );
        windows.push(MeasuredWindow {
            observation,
            compared: Compared::NotCompared("the window is still open".to_string()),
        });
    }
    let client = snapshot
        .as_ref()
        .map(|(snapshot, offset)| measure::client_series(snapshot, *offset))
        .unwrap_or_default();
    assemble(RunRecord {
        run_id: sources.run_id.to_string(),
        scenario: sources.plan.scenario.clone(),
        description: sources.plan.description.clone(),
        platform: sources.platform.clone(),
        profile: sources.plan.profile.name.as_str().to_string(),
        proxy_sync_delay_ms: sources
            .plan
            .placement
            .is_local()
            .then_some(sources.plan.profile.proxy_sync_delay.as_millis() as u64),
        started_at: sources.started_at.clone(),
        expected: sources.plan.expected,
        analysis: sources.analysis.clone(),
        windows,
        steps: live.steps.clone(),
        timeline: live.timeline.clone(),
        pods: live.pod_counts(),
        series: Series { client, server },
        prometheus: PrometheusInfo {
            available: sources.prometheus.is_some(),
            url: sources.prometheus.as_ref().map(|p| p.url().to_string()),
            notes: Vec::new(),
        },
        events: Vec::new(),
        notes: sources.notes.clone(),
        status: RunStatus::Completed,
        decision: live.decision.clone(),
    })
}
