//! What Prometheus counted, asked once the traffic has stopped: each window's
//! `increase()` per version, and the tutorial's rate as a range query over the
//! whole run.

use crate::app_label::app_label;
use crate::prometheus::{PromError, Prometheus, unix_seconds};
use crate::windows::ClosedWindow;
use lab_core::analysis::{ServerCount, ServerObservation};
use lab_core::plan::Plan;
use lab_core::report::{ServerPoint, ServerSeries};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// The tutorial's Grafana query, run as a range query over the whole run.
const TUTORIAL_RATE_WINDOW: &str = "2m";

/// Server-side counts per window (by name) and the tutorial's rate over the run.
pub(crate) async fn query_server(
    prometheus: &Prometheus,
    plan: &Plan,
    closed: &[ClosedWindow],
    wall_start: SystemTime,
) -> Result<(BTreeMap<String, ServerObservation>, ServerSeries), PromError> {
    let app = app_label(plan);
    let scrape_interval_ms = plan.profile.scrape_interval.as_millis() as u64;
    let mut windows = BTreeMap::new();
    for window in closed {
        let Some((from_ms, partial)) = window.counted_from() else {
            continue;
        };
        let length = window.end_ms.saturating_sub(from_ms);
        if length == 0 {
            continue;
        }
        let query = format!(
            "sum by (version) (increase(http_requests_total{{app=\"{app}\"}}[{length}ms]))"
        );
        let at = wall_start + Duration::from_millis(window.end_ms);
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
    let series = tutorial_rate(prometheus, plan, wall_start).await?;
    Ok((windows, series))
}

/// The tutorial's Grafana query, as a range query from the run's start to now.
pub(crate) async fn tutorial_rate(
    prometheus: &Prometheus,
    plan: &Plan,
    wall_start: SystemTime,
) -> Result<ServerSeries, PromError> {
    let query = tutorial_query(plan);
    let step = plan.profile.scrape_interval.max(Duration::from_secs(1));
    let end = SystemTime::now();
    let series = prometheus
        .query_range(&query, wall_start, end, step)
        .await?;
    let start_s = unix_seconds(wall_start);
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
    Ok(ServerSeries {
        query,
        step_ms: step.as_millis() as u64,
        points: points
            .into_iter()
            .map(|(t_ms, rates)| ServerPoint { t_ms, rates })
            .collect(),
    })
}

/// `sum(rate(http_requests_total{app="my-app"}[2m])) by (version)`, with the
/// plan's app.
pub(crate) fn tutorial_query(plan: &Plan) -> String {
    let app = app_label(plan);
    format!("sum(rate(http_requests_total{{app=\"{app}\"}}[{TUTORIAL_RATE_WINDOW}])) by (version)")
}
