//! A run from start to report: the journal opened, the steps executed while the
//! sampler watches the platform, then traffic stopped, Prometheus asked, the lab
//! torn down, and everything recorded assembled into the report.

use crate::config::{RunConfig, RunError};
use crate::context::Context;
use crate::copies;
use crate::feed::ViewParts;
use crate::journal::Journal;
use crate::live::{Live, sample};
use crate::measure;
use crate::output;
use crate::prometheus::{PromError, Prometheus};
use crate::provisional::{Sources, publish};
use crate::queries::{query_server, tutorial_query};
use crate::steps::Execution;
use crate::traffic::Traffic;
use lab_core::assembly::{RunRecord, assemble};
use lab_core::plan::Plan;
use lab_core::platform::Platform;
use lab_core::report::{EventRecord, PrometheusInfo, Report, RunStatus, Series};
use lab_core::run_event::RunEvent;
use lab_report::run_notes::RunNote;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// After an interrupt, pods get this long to stop before SIGKILL (on platforms
/// that can bound it: [`Platform::limit_grace`]).
pub const INTERRUPTED_GRACE: Duration = Duration::from_secs(1);

/// After an interrupt, Prometheus gets this long to answer the report's queries.
const INTERRUPTED_QUERY_LIMIT: Duration = Duration::from_secs(3);

/// Run a plan on a platform and write its report under `config.run_dir`.
///
/// Step failures, interrupts and a missing or failing Prometheus end up in the
/// report; only a report that cannot be written is an error. When the run is
/// interrupted, the platform's termination grace is bounded at once.
pub async fn run<P: Platform>(
    platform: &P,
    plan: &Plan,
    config: RunConfig,
) -> Result<Report, RunError> {
    let mut interrupt = config.interrupt.clone();
    let bound_grace = async {
        if interrupt.wait_for(|stop| *stop).await.is_ok() {
            platform.limit_grace(INTERRUPTED_GRACE);
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        // The watcher first: a run that sees the interrupt and ends within
        // one poll (nothing to wait for in its teardown) still has its grace
        // bounded before it tears down.
        biased;
        () = bound_grace => unreachable!("the grace watcher never ends"),
        report = run_to_report(platform, plan, &config) => report,
    }
}

async fn run_to_report<P: Platform>(
    platform: &P,
    plan: &Plan,
    config: &RunConfig,
) -> Result<Report, RunError> {
    std::fs::create_dir_all(&config.run_dir).map_err(|source| RunError::Io {
        path: config.run_dir.clone(),
        source,
    })?;
    let start = Instant::now();
    let wall_start = SystemTime::now();
    let events_path = config.run_dir.join("events.jsonl");
    let journal = Journal::create(
        &events_path,
        start,
        config.observer.clone(),
        config.live.clone(),
    )
    .map_err(|source| RunError::Io {
        path: events_path.clone(),
        source,
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
    let live = Arc::new(Mutex::new(Live::default()));
    let view_parts = ViewParts {
        tutorial_query: tutorial_query(plan),
        grafana: platform.urls().grafana,
    };
    let mut execution = Execution::new(Context {
        platform,
        plan,
        config,
        journal: &journal,
        wall_start,
        prometheus: platform.urls().prometheus.map(Prometheus::new),
        live: live.clone(),
        notes: config.notes.clone(),
        candidate_applied_ms: None,
    });
    let (stop_sampling, sampling_stopped) = watch::channel(false);
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
    let sources = config.live.as_ref().map(|feed| Sources {
        feed,
        plan,
        run_id: &config.run_id,
        platform: platform.name(),
        prometheus: execution.cx.prometheus.clone(),
        started_at: started_at(wall_start),
        wall_start,
        start,
        analysis: execution.cx.analysis_config(),
        parts: ViewParts {
            tutorial_query: view_parts.tutorial_query.clone(),
            grafana: view_parts.grafana.clone(),
        },
        live: execution.cx.live.clone(),
        traffic: traffic_view.clone(),
        notes: config.notes.clone(),
    });
    let publisher = {
        let stop = stop_sampling.subscribe();
        let sources = sources.as_ref();
        async move {
            if let Some(sources) = sources {
                publish(sources, stop).await;
            }
        }
    };
    let executed = async {
        let status = execution.execute(&traffic_view).await;
        let _ = stop_sampling.send(true);
        status
    };
    let (status, events, ()) = tokio::join!(executed, sampler, publisher);
    let report = finish(&mut execution, status, events).await;
    output::write_report(&config.run_dir, &report, config.language, Some(plan))?;
    if let Some(feed) = &config.live {
        feed.publish_final(&report, &view_parts, journal.now_ms());
    }
    journal.emit(RunEvent::Finished {
        status: report.status.kind(),
        outcome: report.outcome,
        passed: report.passed,
    });
    Ok(report)
}

/// Stop traffic, query Prometheus, tear down, and assemble the report.
async fn finish<P: Platform>(
    execution: &mut Execution<'_, P>,
    status: RunStatus,
    events: Vec<EventRecord>,
) -> Report {
    let mut totals = None;
    if let Some(traffic) = execution.traffic.clone() {
        // Close the last window when traffic stops.
        execution.cut(None);
        traffic.stop().await;
        totals = Some((traffic.snapshot(), traffic.offset_ms));
    }
    let interrupted = status == RunStatus::Interrupted;
    if interrupted {
        // Whoever interrupted wants the lab gone: tear down before asking
        // Prometheus, and ask without waiting for one more scrape.
        tear_down(&mut execution.cx).await;
    }
    let cx = &mut execution.cx;
    let mut server_windows = BTreeMap::new();
    let mut server_series = None;
    let mut copy_windows = BTreeMap::new();
    if let Some(prometheus) = cx.prometheus.clone() {
        let closed = &execution.windows.closed;
        let (plan, wall_start) = (cx.plan, cx.wall_start);
        // Copies no one else counted, in the windows that mirrored: asked of
        // the mirror targets' metrics.
        let uncounted: Vec<(&str, u64, u64)> = {
            let timeline = &cx.live.lock().unwrap().timeline;
            closed
                .iter()
                .filter_map(|w| {
                    let (from_ms, _) = w.copies_from(timeline)?;
                    Some((w.name.as_str(), from_ms, w.end_ms))
                })
                .collect()
        };
        let asked = async {
            let (windows, series) = query_server(&prometheus, plan, closed, wall_start).await?;
            let mut copies = BTreeMap::new();
            let mut failed = None;
            for (name, from_ms, end_ms) in uncounted {
                match copies::query(&prometheus, plan, wall_start, from_ms, end_ms).await {
                    Ok(metrics) => {
                        copies.insert(name.to_owned(), metrics);
                    }
                    Err(error) => {
                        failed = Some(error);
                        break;
                    }
                }
            }
            Ok((windows, series, copies, failed))
        };
        let queried = if interrupted {
            tokio::time::timeout(INTERRUPTED_QUERY_LIMIT, asked)
                .await
                .unwrap_or_else(|_| {
                    Err(PromError::Unreachable {
                        url: prometheus.url().to_string(),
                        message: "no answer before the interrupted run ended".to_string(),
                    })
                })
        } else {
            // Let the last counts be scraped before asking for them.
            let settle = cx.plan.profile.scrape_interval * 2 + Duration::from_millis(500);
            tokio::time::sleep(settle).await;
            asked.await
        };
        match queried {
            Ok((windows, series, copies, failed)) => {
                server_windows = windows;
                server_series = Some(series);
                copy_windows = copies;
                if let Some(error) = failed {
                    cx.say(RunNote::CopiesUncounted {
                        error: &error.to_string(),
                    });
                }
            }
            Err(error) => cx.prometheus_lost(&error),
        }
    }
    // Before the teardown, which takes the Services and their tallies away.
    for fault in cx.platform.listener_faults() {
        cx.say(RunNote::ListenerFault(&fault));
    }
    if !interrupted {
        tear_down(cx).await;
    }
    let language = execution.cx.config.language;
    for note in execution.windows.partly_counted_notes(language) {
        execution.cx.note(note);
    }
    let cx = &execution.cx;
    let analysis = cx.analysis_config();
    let live = cx.live.lock().unwrap();
    let offset_ms = totals.as_ref().map_or(0, |(_, offset)| *offset);
    let windows = execution.windows.measured(
        offset_ms,
        &live.timeline,
        &live.restarts(),
        &analysis,
        &server_windows,
        &copy_windows,
    );
    let client = totals
        .as_ref()
        .map(|(snapshot, offset)| measure::client_series(snapshot, *offset))
        .unwrap_or_default();
    assemble(RunRecord {
        run_id: cx.config.run_id.clone(),
        scenario: cx.plan.scenario.clone(),
        description: cx.plan.description.clone(),
        platform: cx.platform.name(),
        profile: cx.plan.profile.name.as_str().to_string(),
        proxy_sync_delay_ms: cx
            .plan
            .placement
            .is_local()
            .then_some(cx.plan.profile.proxy_sync_delay.as_millis() as u64),
        started_at: started_at(cx.wall_start),
        expected: cx.plan.expected,
        analysis,
        windows,
        steps: execution.steps.clone(),
        timeline: live.timeline.clone(),
        pods: live.pod_counts(),
        series: Series {
            client,
            server: server_series,
        },
        prometheus: PrometheusInfo {
            available: cx.prometheus.is_some(),
            url: cx.platform.urls().prometheus,
            notes: Vec::new(),
        },
        events,
        notes: cx.notes.clone(),
        status,
        decision: execution.decision.clone(),
    })
}

/// When the run started, RFC 3339.
fn started_at(wall_start: SystemTime) -> String {
    jiff::Timestamp::try_from(wall_start)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

async fn tear_down<P: Platform>(cx: &mut Context<'_, P>) {
    if cx.config.keep {
        cx.say(RunNote::Kept);
    } else if let Err(error) = cx.platform.teardown().await {
        cx.say(RunNote::TeardownFailed {
            error: &error.to_string(),
        });
    }
}
