//! The run's charts as SVG: requests per second by version (the tutorial's
//! Grafana panel) from the clients and from Prometheus, the share of traffic by
//! version, errors by version and ready pods by version.
//!
//! Every chart has the same time axis (seconds since the run started), the
//! phases shaded, the steps that changed the cluster marked with a line and a
//! short label, and the decision marked. Colours are fixed per version in the
//! report's version order (blue, orange, green, …), so a version has the same
//! colour in every chart. Plain SVG 1.1: no script, no external font or image.
//!
//! Titles, axis titles, legends and markers are typed messages (`messages`)
//! in the report's language (`english`, `korean`); Korean adds fonts with
//! Hangul to the font list.

use crate::i18n::{Language, Localized};
use lab_core::report::Report;

mod axis;
mod context;
mod english;
mod korean;
mod messages;
mod plot;
pub(crate) mod style;
#[cfg(test)]
mod tests;

use axis::*;
use context::*;
use messages::Message;
pub use plot::Chart;
use plot::Plot;
use style::*;
pub(crate) use style::{CJK_FONTS, SVG_NAMESPACE};

impl Localized for Message<'_> {
    fn english(&self) -> String {
        english::say(self)
    }

    fn korean(&self) -> String {
        korean::say(self)
    }
}

/// Every chart of a report in English, in reading order.
pub fn charts(report: &Report) -> Vec<Chart> {
    charts_in(report, Language::English)
}

/// Every chart of a report in `language`, in reading order. The Prometheus
/// chart is left out when the run had no server-side series.
pub fn charts_in(report: &Report, language: Language) -> Vec<Chart> {
    let mut charts = vec![requests_chart(report, language)];
    charts.extend(server_requests_chart(report, language));
    charts.push(share_chart(report, language));
    charts.push(errors_chart(report, language));
    charts.push(ready_chart(report, language));
    charts
}

/// Requests per second by version, counted by the clients: the tutorial's panel.
pub fn requests_chart(report: &Report, language: Language) -> Chart {
    let context = Context::new(report, language);
    let grid = ClientGrid::new(report);
    let window = grid.smoothing();
    let title = Message::RequestsTitle.render(language);
    let subtitle = Message::RequestsSubtitle { window }.render(language);
    let mut lines = Vec::new();
    for version in &context.versions {
        if let Some(values) = grid.rates(version, window) {
            lines.push((version.clone(), values));
        }
    }
    let y_max = max_value(lines.iter().flat_map(|(_, s)| s.iter().flatten()));
    let mut plot = Plot::new(
        "requests",
        &context,
        &title,
        &subtitle,
        y_max,
        &Message::RequestsPerSecond.render(language),
    );
    plot.background(&context);
    if lines.is_empty() {
        plot.empty(&Message::NoTraffic.render(language));
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
pub fn server_requests_chart(report: &Report, language: Language) -> Option<Chart> {
    let server = report.series.server.as_ref()?;
    let context = Context::new(report, language);
    let title = Message::ServerTitle.render(language);
    let mut subtitle = Message::ServerSubtitle {
        query: &server.query,
        every: &seconds_text(server.step_ms),
    }
    .render(language);
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
        subtitle.push_str(
            &Message::RampUp {
                range: &humantime::format_duration(range).to_string(),
            }
            .render(language),
        );
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
        &Message::RequestsPerSecond.render(language),
    );
    plot.background(&context);
    if lines.is_empty() {
        plot.empty(&Message::NoPrometheusPoints.render(language));
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
pub fn share_chart(report: &Report, language: Language) -> Chart {
    let context = Context::new(report, language);
    let grid = ClientGrid::new(report);
    let window = grid.smoothing();
    let title = Message::ShareTitle.render(language);
    let subtitle = Message::ShareSubtitle { window }.render(language);
    let mut plot = Plot::new(
        "share",
        &context,
        &title,
        &subtitle,
        100.0,
        &Message::ShareOfAnswers.render(language),
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
        plot.empty(&Message::NoTraffic.render(language));
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
        legend.push(LegendItem::Dashed(Message::ReadyShare.render(language)));
    }
    plot.finish(&context, &legend)
}

/// Errors per second by version (4xx, 5xx and failures attributed to the
/// version), and requests without an answer that no version could be blamed for.
pub fn errors_chart(report: &Report, language: Language) -> Chart {
    let context = Context::new(report, language);
    let grid = ClientGrid::new(report);
    let title = Message::ErrorsTitle.render(language);
    let subtitle = Message::ErrorsSubtitle.render(language);
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
    let mut plot = Plot::new(
        "errors",
        &context,
        &title,
        &subtitle,
        y_max,
        &Message::ErrorsPerSecond.render(language),
    );
    plot.background(&context);
    if lines.is_empty() {
        plot.empty(&Message::NoTraffic.render(language));
    } else if !any_unattributed
        && lines
            .iter()
            .all(|(_, s)| s.iter().flatten().all(|v| *v == 0.0))
    {
        plot.note(&Message::NoErrors.render(language));
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
            Message::NoAnswer.render(language),
            UNATTRIBUTED.to_string(),
        ));
    }
    plot.finish(&context, &legend)
}

/// Ready endpoints of the Service by version over the run.
pub fn ready_chart(report: &Report, language: Language) -> Chart {
    let context = Context::new(report, language);
    let title = Message::ReadyTitle.render(language);
    let subtitle = Message::ReadySubtitle.render(language);
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
    let mut plot = Plot::new(
        "ready",
        &context,
        &title,
        &subtitle,
        y_max,
        &Message::ReadyPods.render(language),
    );
    plot.background(&context);
    if lines.is_empty() {
        plot.empty(&Message::NoReadyEndpoints.render(language));
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
    // Colours do not depend on the language.
    let context = Context::new(report, Language::English);
    context
        .versions
        .iter()
        .map(|v| (v.clone(), context.colour(v)))
        .collect()
}
