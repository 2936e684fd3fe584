//! The run's charts as SVG: requests per second by version (the tutorial's
//! Grafana panel) from the clients and from Prometheus, the share of traffic by
//! version, errors by version and ready pods by version.
//!
//! Every chart has the same time axis (seconds since the run started), the
//! phases shaded, the steps that changed the cluster marked with a line and a
//! short label, and the decision marked. Colours are fixed per version in the
//! report's version order (blue, orange, green, …), so a version has the same
//! colour in every chart. Plain SVG 1.1: no script, no external font or image.

use lab_core::report::Report;

mod axis;
mod context;
mod plot;
mod style;
#[cfg(test)]
mod tests;

use axis::*;
use context::*;
pub use plot::Chart;
use plot::Plot;
pub(crate) use style::SVG_NAMESPACE;
use style::*;

/// Every chart of a report, in reading order. The Prometheus chart is left out
/// when the run had no server-side series.
pub fn charts(report: &Report) -> Vec<Chart> {
    let mut charts = vec![requests_chart(report)];
    charts.extend(server_requests_chart(report));
    charts.push(share_chart(report));
    charts.push(errors_chart(report));
    charts.push(ready_chart(report));
    charts
}

/// Requests per second by version, counted by the clients: the tutorial's panel.
pub fn requests_chart(report: &Report) -> Chart {
    let context = Context::new(report);
    let grid = ClientGrid::new(report);
    let window = grid.smoothing();
    let title = "Requests per second by version (clients)".to_string();
    let subtitle = if window > 1 {
        format!("answers per second as the clients counted them, {window} s moving average")
    } else {
        "answers per second as the clients counted them".to_string()
    };
    let mut lines = Vec::new();
    for version in &context.versions {
        if let Some(values) = grid.rates(version, window) {
            lines.push((version.clone(), values));
        }
    }
    let y_max = max_value(lines.iter().flat_map(|(_, s)| s.iter().flatten()));
    let mut plot = Plot::new("requests", &context, &title, &subtitle, y_max, "requests/s");
    plot.background(&context);
    if lines.is_empty() {
        plot.empty("no traffic was recorded");
    }
    for (version, values) in &lines {
        let colour = context.colour(version);
        plot.line(version, colour, &segments(&grid.mid_times(), values), true);
    }
    plot.finish(
        &context,
        &legend_versions(&context, lines.iter().map(|(v, _)| v)),
    )
}

/// Requests per second by version from Prometheus: the tutorial's query as a
/// range query. `None` without a server-side series.
pub fn server_requests_chart(report: &Report) -> Option<Chart> {
    let server = report.series.server.as_ref()?;
    let context = Context::new(report);
    let title = "Requests per second by version (Prometheus)".to_string();
    let mut subtitle = format!("{}, every {}", server.query, seconds_text(server.step_ms));
    // rate() averages over its range: in a run shorter than the range, the
    // early points average over less traffic than they cover, and ramp up.
    let range = server
        .query
        .rsplit_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .and_then(|(range, _)| humantime::parse_duration(range).ok());
    if let Some(range) = range
        && (context.end_ms as u128) < range.as_millis()
    {
        subtitle.push_str(&format!(
            "; the run is shorter than the {} range, so the rates ramp up",
            humantime::format_duration(range)
        ));
    }
    let times: Vec<f64> = server.points.iter().map(|p| p.t_ms as f64).collect();
    let mut lines = Vec::new();
    for version in &context.versions {
        let values: Vec<Option<f64>> = server
            .points
            .iter()
            .map(|p| p.rates.get(version).copied().filter(|v| v.is_finite()))
            .collect();
        if values.iter().any(Option::is_some) {
            lines.push((version.clone(), values));
        }
    }
    let y_max = max_value(lines.iter().flat_map(|(_, s)| s.iter().flatten()));
    let mut plot = Plot::new(
        "requests-prometheus",
        &context,
        &title,
        &subtitle,
        y_max,
        "requests/s",
    );
    plot.background(&context);
    if lines.is_empty() {
        plot.empty("Prometheus returned no points");
    }
    for (version, values) in &lines {
        plot.line(
            version,
            context.colour(version),
            &segments(&times, values),
            true,
        );
    }
    Some(plot.finish(
        &context,
        &legend_versions(&context, lines.iter().map(|(v, _)| v)),
    ))
}

/// The share of answers by version, stacked to 100%, with the share the ready
/// pods predict as dashed lines.
pub fn share_chart(report: &Report) -> Chart {
    let context = Context::new(report);
    let grid = ClientGrid::new(report);
    let window = grid.smoothing();
    let title = "Share of traffic by version".to_string();
    let subtitle = if window > 1 {
        format!("answers by version over all answers, {window} s window; dashed: ready pods' share")
    } else {
        "answers by version over all answers, per second; dashed: ready pods' share".to_string()
    };
    let mut plot = Plot::new(
        "share",
        &context,
        &title,
        &subtitle,
        100.0,
        "share of answers (%)",
    );
    plot.background(&context);
    let present: Vec<&String> = context
        .versions
        .iter()
        .filter(|v| grid.lifetime(v).is_some())
        .collect();
    // Shares per second from counts summed over the window.
    let mut points: Vec<(f64, Vec<f64>)> = Vec::new();
    for (i, t_ms) in grid.mid_times().into_iter().enumerate() {
        let sums: Vec<u64> = present
            .iter()
            .map(|v| grid.window_sum(v, i, window))
            .collect();
        let total: u64 = sums.iter().sum();
        if total == 0 {
            continue;
        }
        let mut cumulative = Vec::with_capacity(sums.len());
        let mut running = 0u64;
        for sum in sums {
            running += sum;
            cumulative.push(running as f64 * 100.0 / total as f64);
        }
        points.push((t_ms, cumulative));
    }
    if points.is_empty() {
        plot.empty("no traffic was recorded");
    }
    for (k, version) in present.iter().enumerate() {
        let upper: Vec<(f64, f64)> = points.iter().map(|(t, c)| (*t, c[k])).collect();
        let lower: Vec<(f64, f64)> = points
            .iter()
            .map(|(t, c)| (*t, if k == 0 { 0.0 } else { c[k - 1] }))
            .collect();
        plot.band(version, context.colour(version), &upper, &lower);
    }
    if present.len() > 1 {
        for k in 0..present.len() - 1 {
            let boundary = expected_boundary(report, &present[..=k], &present, context.end_ms);
            plot.dashed(&boundary);
        }
    }
    let mut legend = legend_versions(&context, present.iter().copied());
    if present.len() > 1 {
        legend.push(LegendItem::Dashed("ready pods' share".to_string()));
    }
    plot.finish(&context, &legend)
}

/// Errors per second by version (4xx, 5xx and failures attributed to the
/// version), and requests without an answer that no version could be blamed for.
pub fn errors_chart(report: &Report) -> Chart {
    let context = Context::new(report);
    let grid = ClientGrid::new(report);
    let title = "Errors per second by version".to_string();
    let subtitle = "4xx and 5xx answers and failed requests, per second".to_string();
    let mut lines = Vec::new();
    for version in &context.versions {
        if let Some(values) = grid.errors(version) {
            lines.push((version.clone(), values));
        }
    }
    let unattributed: Vec<Option<f64>> = report
        .series
        .client
        .iter()
        .map(|s| Some(s.unattributed_errors as f64))
        .collect();
    let any_unattributed = report
        .series
        .client
        .iter()
        .any(|s| s.unattributed_errors > 0);
    let y_max = max_value(
        lines
            .iter()
            .flat_map(|(_, s)| s.iter().flatten())
            .chain(unattributed.iter().flatten()),
    )
    .max(1.0);
    let mut plot = Plot::new("errors", &context, &title, &subtitle, y_max, "errors/s");
    plot.background(&context);
    if lines.is_empty() {
        plot.empty("no traffic was recorded");
    } else if !any_unattributed
        && lines
            .iter()
            .all(|(_, s)| s.iter().flatten().all(|v| *v == 0.0))
    {
        plot.note("no errors");
    }
    let times = grid.mid_times();
    for (version, values) in &lines {
        plot.line(
            version,
            context.colour(version),
            &segments(&times, values),
            false,
        );
    }
    let mut legend = legend_versions(&context, lines.iter().map(|(v, _)| v));
    if any_unattributed {
        plot.extra_line("no answer", UNATTRIBUTED, &segments(&times, &unattributed));
        legend.push(LegendItem::Line(
            "no answer (no version)".to_string(),
            UNATTRIBUTED.to_string(),
        ));
    }
    plot.finish(&context, &legend)
}

/// Ready endpoints of the Service by version over the run.
pub fn ready_chart(report: &Report) -> Chart {
    let context = Context::new(report);
    let title = "Ready pods by version".to_string();
    let subtitle = "the Service's ready endpoints, as sampled during the run".to_string();
    let timeline = &report.timeline;
    let mut lines = Vec::new();
    for version in &context.versions {
        let Some(first) = timeline.iter().position(|s| s.ready.contains_key(version)) else {
            continue;
        };
        let mut points = Vec::new();
        for (i, sample) in timeline.iter().enumerate().skip(first) {
            let value = f64::from(sample.ready.get(version).copied().unwrap_or(0));
            let until = timeline
                .get(i + 1)
                .map_or(context.end_ms, |next| next.t_ms)
                .max(sample.t_ms);
            points.push((sample.t_ms as f64, value));
            points.push((until as f64, value));
        }
        lines.push((version.clone(), points));
    }
    let y_max = max_value(lines.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| v))).max(1.0);
    let mut plot = Plot::new("ready", &context, &title, &subtitle, y_max, "ready pods");
    plot.background(&context);
    if lines.is_empty() {
        plot.empty("no ready endpoints were sampled");
    }
    for (version, points) in &lines {
        plot.line(
            version,
            context.colour(version),
            std::slice::from_ref(points),
            false,
        );
    }
    plot.finish(
        &context,
        &legend_versions(&context, lines.iter().map(|(v, _)| v)),
    )
}

/// Each version of a report with its colour in the charts, in the charts' order.
pub fn version_colours(report: &Report) -> Vec<(String, &'static str)> {
    let context = Context::new(report);
    context
        .versions
        .iter()
        .map(|v| (v.clone(), context.colour(v)))
        .collect()
}
