//! The run's charts as SVG: requests per second by version (the tutorial's
//! Grafana panel) from the clients and from Prometheus, the share of traffic by
//! version, errors by version and ready pods by version.
//!
//! Every chart has the same time axis (seconds since the run started), the
//! phases shaded, the steps that changed the cluster marked with a line and a
//! short label, and the decision marked. Colours are fixed per version in the
//! report's version order (blue, orange, green, …), so a version has the same
//! colour in every chart. Plain SVG 1.1: no script, no external font or image.

use crate::xml;
use lab_core::analysis::{Outcome, WindowKind};
use lab_core::report::{ClientSecond, Report, Section, StepRecord};
use std::collections::BTreeSet;
use std::fmt::Write;

/// A rendered chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The file stem it is written under (`requests` → `requests.svg`).
    pub name: &'static str,
    /// Its title.
    pub title: String,
    /// The standalone SVG document.
    pub svg: String,
}

/// The SVG namespace; inline SVG in HTML goes without it.
pub(crate) const SVG_NAMESPACE: &str = r#" xmlns="http://www.w3.org/2000/svg""#;

pub(crate) const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 360.0;
/// Room for the y axis's tick labels and title.
const LEFT: f64 = 72.0;
/// Room for the legend.
const RIGHT: f64 = 170.0;
/// Room for the x axis's tick labels and title.
const BOTTOM: f64 = 50.0;
/// The title and subtitle above everything.
const HEADER: f64 = 52.0;
/// One row of step labels above the plot.
const LABEL_ROW: f64 = 14.0;
/// An estimate of the width of one character of 11 px text, to keep labels apart.
const CHAR_WIDTH: f64 = 6.4;
pub(crate) const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', Helvetica, Arial, sans-serif";

/// Version colours in order: v1 blue, v2 orange, then green, red, purple, brown,
/// pink, olive.
pub(crate) const COLOURS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
];
const OBSERVE_SHADE: &str = "#e8f0fb";
const ANALYZE_SHADE: &str = "#fdf0d9";
pub(crate) const TEXT: &str = "#222222";
pub(crate) const MUTED: &str = "#666666";
pub(crate) const GRID: &str = "#e2e2e2";
const PROMOTED: &str = "#1a7f37";
const ROLLED_BACK: &str = "#cf222e";
const UNATTRIBUTED: &str = "#555555";

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

/// What every chart of a report shares: the versions, the time axis, the markers.
struct Context<'a> {
    report: &'a Report,
    versions: Vec<String>,
    end_ms: u64,
    markers: Vec<Marker>,
}

struct Marker {
    t_ms: u64,
    label: String,
    colour: &'static str,
    decision: bool,
}

impl<'a> Context<'a> {
    fn new(report: &'a Report) -> Self {
        let mut versions: BTreeSet<String> = BTreeSet::new();
        versions.insert(report.roles.candidate.clone());
        versions.extend(report.roles.baseline.clone());
        for window in &report.windows {
            versions.extend(window.versions.keys().cloned());
        }
        for sample in &report.timeline {
            versions.extend(sample.ready.keys().cloned());
        }
        for second in &report.series.client {
            versions.extend(second.versions.keys().cloned());
        }
        if let Some(server) = &report.series.server {
            for point in &server.points {
                versions.extend(point.rates.keys().cloned());
            }
        }
        versions.remove("");
        let end_ms = [
            report.windows.iter().map(|w| w.end_ms).max(),
            report.steps.iter().filter_map(|s| s.finished_ms).max(),
            report.series.client.last().map(|s| s.t_ms + 1000),
            report
                .series
                .server
                .as_ref()
                .and_then(|s| s.points.last())
                .map(|p| p.t_ms),
            report.timeline.last().map(|s| s.t_ms),
            report.decision.as_ref().map(|d| d.decided_at_ms),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
        .max(1000);
        let mut markers: Vec<Marker> = report
            .steps
            .iter()
            .filter_map(|step| {
                Some(Marker {
                    t_ms: step.started_ms?,
                    label: format!("{}: {}", step_number(step), step_label(step)?),
                    colour: MUTED,
                    decision: false,
                })
            })
            .collect();
        if let Some(decision) = &report.decision {
            let (label, colour) = match decision.outcome {
                Outcome::Promoted => ("decided: promote", PROMOTED),
                Outcome::RolledBack => ("decided: roll back", ROLLED_BACK),
            };
            markers.push(Marker {
                t_ms: decision.decided_at_ms,
                label: label.to_string(),
                colour,
                decision: true,
            });
        }
        // The decision comes before the steps it leads to.
        markers.sort_by_key(|m| (m.t_ms, !m.decision));
        Context {
            report,
            versions: versions.into_iter().collect(),
            end_ms,
            markers,
        }
    }

    fn colour(&self, version: &str) -> &'static str {
        let index = self.versions.iter().position(|v| v == version).unwrap_or(0);
        COLOURS[index % COLOURS.len()]
    }
}

/// `4` for a main step, `r1` for a rollback step.
fn step_number(step: &StepRecord) -> String {
    match step.section {
        Section::Main => step.index.to_string(),
        Section::Rollback => format!("r{}", step.index),
    }
}

/// A short label for a step that changes the cluster (`apply app-v2.yaml`,
/// `scale my-app-v1 to 9`); `None` for waits and phases, which the shading shows.
pub(crate) fn step_label(step: &StepRecord) -> Option<String> {
    let command = step.kubectl.first()?;
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.first() != Some(&"kubectl") {
        return None;
    }
    match words.get(1).copied()? {
        "apply" => {
            let file = words
                .iter()
                .position(|w| *w == "-f")
                .and_then(|i| words.get(i + 1))?;
            Some(format!("apply {file}"))
        }
        "scale" => {
            let replicas = words.iter().find_map(|w| w.strip_prefix("--replicas="))?;
            let target = words
                .iter()
                .skip(2)
                .find(|w| !w.starts_with('-'))
                .map(|w| w.rsplit('/').next().unwrap_or(w))?;
            Some(format!("scale {target} to {replicas}"))
        }
        "delete" => {
            let name = words.last()?;
            Some(format!(
                "delete {}",
                name.rsplit('/').next().unwrap_or(name)
            ))
        }
        "patch" => {
            let service = words.get(3).copied().unwrap_or("service");
            let version = command
                .split("\"version\":\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next());
            Some(match version {
                Some(version) => format!("switch {service} to {version}"),
                None => format!("switch {service}"),
            })
        }
        _ => None,
    }
}

/// The per-second client counts, with each version's lifetime: from the first
/// second it answered to the last; seconds without its answers inside the
/// lifetime count as zero.
struct ClientGrid<'a> {
    seconds: &'a [ClientSecond],
    /// When traffic stopped: the last second is cut short there.
    end_ms: Option<u64>,
}

/// A second with less traffic time than this is too short to show as a rate.
const SHORTEST_SECOND: f64 = 0.25;

impl<'a> ClientGrid<'a> {
    fn new(report: &'a Report) -> Self {
        Self {
            seconds: &report.series.client,
            end_ms: report.windows.iter().map(|w| w.end_ms).max(),
        }
    }

    /// How much of second `i` had traffic, from 0 to 1.
    fn covered(&self, i: usize) -> f64 {
        let start = self.seconds[i].t_ms;
        self.end_ms.map_or(1.0, |end| {
            (end.saturating_sub(start) as f64 / 1000.0).min(1.0)
        })
    }

    /// The middle of each second's traffic, in ms.
    fn mid_times(&self) -> Vec<f64> {
        (0..self.seconds.len())
            .map(|i| self.seconds[i].t_ms as f64 + 500.0 * self.covered(i))
            .collect()
    }

    fn lifetime(&self, version: &str) -> Option<(usize, usize)> {
        let first = self
            .seconds
            .iter()
            .position(|s| s.versions.contains_key(version))?;
        let last = self
            .seconds
            .iter()
            .rposition(|s| s.versions.contains_key(version))?;
        Some((first, last))
    }

    fn answers(&self, version: &str, i: usize) -> u64 {
        self.seconds[i]
            .versions
            .get(version)
            .map_or(0, |c| c.successes + c.errors)
    }

    /// At low rates one second holds a handful of requests: average over enough
    /// seconds for about 50 answers (at most 15 s) so the split stays readable.
    fn smoothing(&self) -> usize {
        if self.seconds.is_empty() {
            return 1;
        }
        let total: u64 = (0..self.seconds.len())
            .map(|i| {
                self.seconds[i]
                    .versions
                    .values()
                    .map(|c| c.successes + c.errors)
                    .sum::<u64>()
            })
            .sum();
        let mean = total as f64 / self.seconds.len() as f64;
        if mean >= 50.0 || mean <= 0.0 {
            1
        } else {
            ((50.0 / mean).ceil() as usize).clamp(1, 15)
        }
    }

    /// The seconds of a centred window around `i`, clipped to `range`.
    fn window(i: usize, window: usize, (first, last): (usize, usize)) -> (usize, usize) {
        let half = window / 2;
        let from = i.saturating_sub(half).max(first);
        let to = (i + (window - 1 - half)).min(last);
        (from, to)
    }

    /// A version's answers summed over the window around second `i`.
    fn window_sum(&self, version: &str, i: usize, window: usize) -> u64 {
        let all = (0, self.seconds.len().saturating_sub(1));
        let (from, to) = Self::window(i, window, all);
        (from..=to).map(|j| self.answers(version, j)).sum()
    }

    /// Answers per second over the version's lifetime, averaged over `window`.
    fn rates(&self, version: &str, window: usize) -> Option<Vec<Option<f64>>> {
        let lifetime = self.lifetime(version)?;
        Some(
            (0..self.seconds.len())
                .map(|i| {
                    if i < lifetime.0 || i > lifetime.1 {
                        return None;
                    }
                    if self.covered(i) < SHORTEST_SECOND {
                        return None;
                    }
                    let (from, to) = Self::window(i, window, lifetime);
                    let sum: u64 = (from..=to).map(|j| self.answers(version, j)).sum();
                    let time: f64 = (from..=to).map(|j| self.covered(j)).sum();
                    Some(sum as f64 / time)
                })
                .collect(),
        )
    }

    /// Errors per second over the version's lifetime.
    fn errors(&self, version: &str) -> Option<Vec<Option<f64>>> {
        let (first, last) = self.lifetime(version)?;
        Some(
            self.seconds
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let covered = self.covered(i);
                    ((first..=last).contains(&i) && covered >= SHORTEST_SECOND)
                        .then(|| s.versions.get(version).map_or(0.0, |c| c.errors as f64) / covered)
                })
                .collect(),
        )
    }
}

/// Points split where a value is missing.
fn segments(times: &[f64], values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (t, value) in times.iter().zip(values) {
        match value {
            Some(v) => current.push((*t, *v)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The share of ready pods that `below` (the versions stacked under a boundary)
/// held over time, as a stepped line in percent; gaps where nothing was ready.
fn expected_boundary(
    report: &Report,
    below: &[&String],
    all: &[&String],
    end_ms: u64,
) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for (i, sample) in report.timeline.iter().enumerate() {
        let count = |versions: &[&String]| -> u32 {
            versions
                .iter()
                .map(|v| sample.ready.get(v.as_str()).copied().unwrap_or(0))
                .sum()
        };
        let total = count(all);
        let until = report
            .timeline
            .get(i + 1)
            .map_or(end_ms, |next| next.t_ms)
            .max(sample.t_ms);
        if total == 0 {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let share = f64::from(count(below)) * 100.0 / f64::from(total);
        current.push((sample.t_ms as f64, share));
        current.push((until as f64, share));
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn max_value<'v>(values: impl Iterator<Item = &'v f64>) -> f64 {
    values
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
}

enum LegendItem {
    Version(String, &'static str),
    Line(String, String),
    Dashed(String),
}

fn legend_versions<'v>(
    context: &Context<'_>,
    versions: impl Iterator<Item = &'v String>,
) -> Vec<LegendItem> {
    versions
        .map(|v| LegendItem::Version(v.clone(), context.colour(v)))
        .collect()
}

/// `1 s`, `500 ms`, `2 m`.
fn seconds_text(ms: u64) -> String {
    if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{} m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// A tick label with as many decimals as the step needs (`2.5`, `0.2`, `10`).
fn tick_text(value: f64, step: f64) -> String {
    let decimals = (0..4)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-9
        })
        .unwrap_or(4) as usize;
    format!("{value:.decimals$}")
}

/// Round `max` up to a readable axis top and pick a tick step (1, 2, 2.5, 5 ×
/// 10^k; whole numbers only for counts).
fn nice_axis(max: f64, whole: bool) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .filter(|s| !whole || (*s >= 1.0 && s.fract() == 0.0))
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
        .max(if whole { 1.0 } else { 0.0 });
    ((max / step).ceil() * step, step)
}

/// A tick step for a time axis of `end_ms`, at most ten ticks.
fn time_step(end_ms: u64) -> u64 {
    let end_s = end_ms as f64 / 1000.0;
    [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600]
        .into_iter()
        .find(|step| end_s / *step as f64 <= 10.0)
        .unwrap_or(7200)
}

fn time_text(s: u64, long: bool) -> String {
    if long {
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

fn f(value: f64) -> String {
    format!("{value:.1}")
}

/// Which row of the label band each marker's label goes in, so that labels
/// of steps close in time do not overlap.
fn label_rows(context: &Context<'_>) -> Vec<usize> {
    let plot_width = WIDTH - RIGHT - LEFT;
    let mut row_ends: Vec<f64> = Vec::new();
    context
        .markers
        .iter()
        .map(|marker| {
            let (from, to) = label_span(marker, context.end_ms as f64, plot_width);
            let row = row_ends
                .iter()
                .position(|end| from > *end + 6.0)
                .unwrap_or(row_ends.len());
            if row == row_ends.len() {
                row_ends.push(to);
            } else {
                row_ends[row] = to;
            }
            row
        })
        .collect()
}

/// Where a marker's label lies horizontally: right of its line, or left of it
/// near the right edge.
fn label_span(marker: &Marker, end_ms: f64, plot_width: f64) -> (f64, f64) {
    let x = LEFT + (marker.t_ms as f64 / end_ms).clamp(0.0, 1.0) * plot_width;
    let width = marker.label.chars().count() as f64 * CHAR_WIDTH;
    if x + 3.0 + width > WIDTH - 8.0 {
        (x - 3.0 - width, x)
    } else {
        (x, x + 3.0 + width)
    }
}

/// One chart being drawn, in layers: shading under the grid, the grid and axes,
/// the series, and markers and legend on top.
struct Plot {
    name: &'static str,
    title: String,
    top: f64,
    end_ms: f64,
    y_max: f64,
    y_step: f64,
    rows: Vec<usize>,
    header: String,
    shading: String,
    grid: String,
    series: String,
    over: String,
}

impl Plot {
    fn new(
        name: &'static str,
        context: &Context<'_>,
        title: &str,
        subtitle: &str,
        data_max: f64,
        unit: &str,
    ) -> Self {
        // Share charts run 0–100%; others leave room above the highest value for
        // the phase names.
        let (y_max, y_step) = match name {
            "share" => (100.0, 20.0),
            "ready" | "errors" => nice_axis(data_max * 1.15, true),
            _ => nice_axis(data_max * 1.15, false),
        };
        let rows = label_rows(context);
        let row_count = rows.iter().max().map_or(0, |r| r + 1);
        let top = HEADER + row_count as f64 * LABEL_ROW + 8.0;
        let mut header = String::new();
        let _ = write!(
            header,
            r##"<svg{SVG_NAMESPACE} viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="{}" font-size="12" role="img" aria-labelledby="{name}-title">"##,
            xml::attr(FONT)
        );
        let _ = write!(
            header,
            r##"<title id="{name}-title">{}</title><rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##,
            xml::text(title)
        );
        let _ = write!(
            header,
            r##"<text x="16" y="22" font-size="16" font-weight="bold" fill="{TEXT}">{}</text><text x="16" y="40" fill="{MUTED}">{}</text>"##,
            xml::text(title),
            xml::text(subtitle)
        );
        let mut plot = Plot {
            name,
            title: title.to_string(),
            top,
            end_ms: context.end_ms as f64,
            y_max,
            y_step,
            rows,
            header,
            shading: String::new(),
            grid: String::new(),
            series: String::new(),
            over: String::new(),
        };
        plot.axes(unit);
        plot
    }

    fn left(&self) -> f64 {
        LEFT
    }

    fn right(&self) -> f64 {
        WIDTH - RIGHT
    }

    fn bottom(&self) -> f64 {
        HEIGHT - BOTTOM
    }

    fn x(&self, t_ms: f64) -> f64 {
        self.left() + (t_ms / self.end_ms).clamp(0.0, 1.0) * (self.right() - self.left())
    }

    fn y(&self, value: f64) -> f64 {
        self.bottom() - (value / self.y_max).clamp(0.0, 1.05) * (self.bottom() - self.top)
    }

    fn axes(&mut self, unit: &str) {
        let (left, right, top, bottom) = (self.left(), self.right(), self.top, self.bottom());
        let mut out = String::new();
        let ticks = (self.y_max / self.y_step).round() as usize;
        for k in 0..=ticks {
            let value = self.y_step * k as f64;
            let y = self.y(value);
            let _ = write!(
                out,
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{GRID}" stroke-width="1"/><text x="{}" y="{}" text-anchor="end" fill="{MUTED}">{}</text>"##,
                f(left),
                f(y),
                f(right),
                f(y),
                f(left - 8.0),
                f(y + 4.0),
                tick_text(value, self.y_step)
            );
        }
        let step = time_step(self.end_ms as u64);
        let long = self.end_ms > 180_000.0;
        let mut s = 0;
        while (s * 1000) as f64 <= self.end_ms {
            let x = self.x((s * 1000) as f64);
            let _ = write!(
                out,
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{MUTED}" stroke-width="1"/><text x="{}" y="{}" text-anchor="middle" fill="{MUTED}">{}</text>"##,
                f(x),
                f(bottom),
                f(x),
                f(bottom + 5.0),
                f(x),
                f(bottom + 19.0),
                time_text(s, long)
            );
            s += step;
        }
        let _ = write!(
            out,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{TEXT}" stroke-width="1"/><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{TEXT}" stroke-width="1"/>"##,
            f(left),
            f(bottom),
            f(right),
            f(bottom),
            f(left),
            f(top),
            f(left),
            f(bottom)
        );
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="{TEXT}">time since the run started</text>"##,
            f((left + right) / 2.0),
            f(HEIGHT - 10.0)
        );
        let middle = (top + bottom) / 2.0;
        let _ = write!(
            out,
            r##"<text x="20" y="{}" text-anchor="middle" fill="{TEXT}" transform="rotate(-90 20 {})">{}</text>"##,
            f(middle),
            f(middle),
            xml::text(unit)
        );
        let _ = write!(
            out,
            r##"<clipPath id="{}-plot"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath>"##,
            self.name,
            f(left),
            f(top - 2.0),
            f(right - left),
            f(bottom - top + 4.0)
        );
        self.grid = out;
    }

    /// Shade the phases and mark the steps and the decision.
    fn background(&mut self, context: &Context<'_>) {
        let (top, bottom) = (self.top, self.bottom());
        for window in &context.report.windows {
            let (shade, suffix) = match window.kind {
                WindowKind::Observe => (OBSERVE_SHADE, ""),
                WindowKind::Analyze => (ANALYZE_SHADE, " (analyze)"),
                WindowKind::Transition => continue,
            };
            let (x0, x1) = (self.x(window.start_ms as f64), self.x(window.end_ms as f64));
            let _ = write!(
                self.shading,
                r##"<rect class="phase" x="{}" y="{}" width="{}" height="{}" fill="{shade}"/>"##,
                f(x0),
                f(top),
                f((x1 - x0).max(0.0)),
                f(bottom - top)
            );
            let label = format!("{}{suffix}", window.name);
            let room = ((x1 - x0 - 8.0) / CHAR_WIDTH).floor();
            if room >= 3.0 {
                let room = room as usize;
                let label = if label.chars().count() > room {
                    let cut: String = label.chars().take(room.saturating_sub(1)).collect();
                    format!("{cut}…")
                } else {
                    label
                };
                // Over the series, with a white halo, so that it reads on any fill.
                let _ = write!(
                    self.over,
                    r##"<text x="{}" y="{}" font-size="11" fill="{TEXT}" stroke="#ffffff" stroke-width="3" stroke-opacity="0.8" paint-order="stroke">{}</text>"##,
                    f(x0 + 4.0),
                    f(top + 13.0),
                    xml::text(&label)
                );
            }
        }
        let plot_width = self.right() - self.left();
        for (marker, row) in context.markers.iter().zip(&self.rows) {
            let x = self.x(marker.t_ms as f64);
            let (dash, width) = if marker.decision {
                ("", "2")
            } else {
                (r#" stroke-dasharray="4 3""#, "1")
            };
            let label_y = HEADER + *row as f64 * LABEL_ROW + 10.0;
            let _ = write!(
                self.over,
                r##"<line class="marker" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{width}"{dash}/>"##,
                f(x),
                f(label_y + 2.0),
                f(x),
                f(bottom),
                marker.colour
            );
            let (from, _) = label_span(marker, self.end_ms, plot_width);
            let _ = write!(
                self.over,
                r##"<text x="{}" y="{}" font-size="11" fill="{}">{}</text>"##,
                f(if from < x { from } else { x + 3.0 }),
                f(label_y),
                if marker.decision { marker.colour } else { TEXT },
                xml::text(&marker.label)
            );
        }
    }

    /// A message across an empty plot.
    fn empty(&mut self, message: &str) {
        let _ = write!(
            self.over,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="14" fill="{MUTED}">{}</text>"##,
            f((self.left() + self.right()) / 2.0),
            f((self.top + self.bottom()) / 2.0),
            xml::text(message)
        );
    }

    /// A remark in the plot's top right corner.
    fn note(&mut self, message: &str) {
        let _ = write!(
            self.over,
            r##"<text x="{}" y="{}" text-anchor="end" font-size="12" fill="{MUTED}">{}</text>"##,
            f(self.right() - 6.0),
            f(self.top + 28.0),
            xml::text(message)
        );
    }

    fn path(&self, segments: &[Vec<(f64, f64)>]) -> String {
        let mut d = String::new();
        for segment in segments {
            for (i, (t, v)) in segment.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{},{} ",
                    if i == 0 { "M" } else { "L" },
                    f(self.x(*t)),
                    f(self.y(*v))
                );
            }
        }
        d.trim_end().to_string()
    }

    /// One version's line, optionally with a light fill under it.
    fn line(&mut self, version: &str, colour: &str, segments: &[Vec<(f64, f64)>], fill: bool) {
        if fill {
            for segment in segments.iter().filter(|s| s.len() > 1) {
                let (first, last) = (segment[0].0, segment[segment.len() - 1].0);
                let _ = write!(
                    self.series,
                    r##"<path class="area" d="{} L{},{} L{},{} Z" fill="{colour}" fill-opacity="0.08" stroke="none"/>"##,
                    self.path(std::slice::from_ref(segment)),
                    f(self.x(last)),
                    f(self.bottom()),
                    f(self.x(first)),
                    f(self.bottom())
                );
            }
        }
        let _ = write!(
            self.series,
            r##"<path class="series" data-version="{}" d="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round"/>"##,
            xml::attr(version),
            self.path(segments)
        );
    }

    /// A line that belongs to no version.
    fn extra_line(&mut self, label: &str, colour: &str, segments: &[Vec<(f64, f64)>]) {
        let _ = write!(
            self.series,
            r##"<path class="extra" data-series="{}" d="{}" fill="none" stroke="{colour}" stroke-width="1.5" stroke-dasharray="2 2"/>"##,
            xml::attr(label),
            self.path(segments)
        );
    }

    /// A stacked band between two edges.
    fn band(&mut self, version: &str, colour: &str, upper: &[(f64, f64)], lower: &[(f64, f64)]) {
        if upper.is_empty() {
            return;
        }
        let mut d = self.path(&[upper.to_vec()]);
        for (t, v) in lower.iter().rev() {
            let _ = write!(d, " L{},{}", f(self.x(*t)), f(self.y(*v)));
        }
        let _ = write!(
            self.series,
            r##"<path class="series" data-version="{}" d="{d} Z" fill="{colour}" fill-opacity="0.85" stroke="{colour}" stroke-width="0.5"/>"##,
            xml::attr(version)
        );
    }

    /// A dashed dark line (the share the ready pods predict).
    fn dashed(&mut self, segments: &[Vec<(f64, f64)>]) {
        if segments.is_empty() {
            return;
        }
        let _ = write!(
            self.series,
            r##"<path class="expected" d="{}" fill="none" stroke="{TEXT}" stroke-width="1.5" stroke-dasharray="6 4"/>"##,
            self.path(segments)
        );
    }

    fn finish(mut self, context: &Context<'_>, legend: &[LegendItem]) -> Chart {
        let x0 = self.right() + 20.0;
        let mut y = self.top + 10.0;
        let mut legend_markup = String::new();
        let mut item = |swatch: String, label: &str, y: &mut f64| {
            let _ = write!(
                legend_markup,
                r##"{swatch}<text x="{}" y="{}" fill="{TEXT}">{}</text>"##,
                f(x0 + 26.0),
                f(*y + 4.0),
                xml::text(label)
            );
            *y += 20.0;
        };
        let line_swatch = |colour: &str, y: f64, extra: &str| {
            format!(
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{colour}" stroke-width="3"{extra}/>"##,
                f(x0),
                f(y),
                f(x0 + 20.0),
                f(y)
            )
        };
        for entry in legend {
            match entry {
                LegendItem::Version(version, colour) => {
                    item(line_swatch(colour, y, ""), version, &mut y);
                }
                LegendItem::Line(label, colour) => {
                    item(
                        line_swatch(colour, y, r#" stroke-dasharray="2 2""#),
                        label,
                        &mut y,
                    );
                }
                LegendItem::Dashed(label) => {
                    let swatch = format!(
                        r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{TEXT}" stroke-width="1.5" stroke-dasharray="6 4"/>"##,
                        f(x0),
                        f(x0 + 20.0),
                    );
                    item(swatch, label, &mut y);
                }
            }
        }
        let kinds: BTreeSet<&str> = context
            .report
            .windows
            .iter()
            .map(|w| w.kind.as_str())
            .collect();
        y += 6.0;
        for (kind, shade, label) in [
            ("observe", OBSERVE_SHADE, "observed phase"),
            ("analyze", ANALYZE_SHADE, "analyzed phase"),
        ] {
            if kinds.contains(kind) {
                let swatch = format!(
                    r##"<rect x="{}" y="{}" width="20" height="12" fill="{shade}" stroke="{GRID}"/>"##,
                    f(x0),
                    f(y - 6.0)
                );
                item(swatch, label, &mut y);
            }
        }
        if context.markers.iter().any(|m| !m.decision) {
            let swatch = format!(
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{MUTED}" stroke-width="1" stroke-dasharray="4 3"/>"##,
                f(x0 + 10.0),
                f(y - 7.0),
                f(x0 + 10.0),
                f(y + 7.0)
            );
            item(swatch, "step", &mut y);
        }
        if let Some(marker) = context.markers.iter().find(|m| m.decision) {
            let swatch = format!(
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"/>"##,
                f(x0 + 10.0),
                f(y - 7.0),
                f(x0 + 10.0),
                f(y + 7.0),
                marker.colour
            );
            item(swatch, "decision", &mut y);
        }
        let _ = write!(self.over, r##"<g class="legend">{legend_markup}</g>"##);
        let svg = format!(
            r##"{}<g class="phases">{}</g><g class="grid">{}</g><g clip-path="url(#{}-plot)">{}</g>{}</svg>"##,
            self.header, self.shading, self.grid, self.name, self.series, self.over
        );
        Chart {
            name: self.name,
            title: self.title,
            svg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_to_readable_numbers() {
        let check = |max: f64, whole: bool, expected: (f64, f64)| {
            assert_eq!(nice_axis(max, whole), expected, "{max} {whole}");
        };
        check(0.0, false, (1.0, 0.2));
        check(1.0, false, (1.0, 0.2));
        check(9.0, false, (10.0, 2.0));
        check(115.0, false, (125.0, 25.0));
        check(12.0, false, (12.5, 2.5));
        check(1234.0, false, (1250.0, 250.0));
        check(11.5, true, (15.0, 5.0));
        check(1.15, true, (2.0, 1.0));
        check(0.0, true, (1.0, 1.0));
    }

    #[test]
    fn tick_labels_keep_the_decimals_their_step_needs() {
        let check = |value: f64, step: f64, expected: &str| {
            assert_eq!(tick_text(value, step), expected, "{value} by {step}");
        };
        check(7.5, 2.5, "7.5");
        check(10.0, 2.5, "10.0");
        check(0.4, 0.2, "0.4");
        check(100.0, 25.0, "100");
        check(0.25, 0.05, "0.25");
    }

    #[test]
    fn time_axes_have_at_most_ten_ticks() {
        let check =
            |end_ms: u64, expected: u64| assert_eq!(time_step(end_ms), expected, "{end_ms}");
        check(1000, 1);
        check(34_000, 5);
        check(100_000, 10);
        check(420_000, 60);
        check(3_600_000, 600);
    }

    #[test]
    fn steps_get_short_labels_from_their_kubectl_command() {
        let check = |kubectl: &str, expected: Option<&str>| {
            let step = StepRecord {
                index: 1,
                section: Section::Main,
                description: String::new(),
                kubectl: vec![kubectl.to_string()],
                started_ms: Some(0),
                finished_ms: Some(1),
                result: lab_core::report::StepResult::Ok,
            };
            assert_eq!(step_label(&step).as_deref(), expected, "{kubectl}");
        };
        check("kubectl apply -f app-v2.yaml", Some("apply app-v2.yaml"));
        check(
            "kubectl scale --replicas=9 deployment/my-app-v1",
            Some("scale my-app-v1 to 9"),
        );
        check(
            "kubectl delete deployment my-app-v1",
            Some("delete my-app-v1"),
        );
        check(
            r#"kubectl patch service my-app -p '{"spec":{"selector":{"app":"my-app","version":"v2.0.0"}}}'"#,
            Some("switch my-app to v2.0.0"),
        );
        check(
            "kubectl rollout status deployment/my-app-v1 --timeout=20s",
            None,
        );
        check("kubectl get pods -l app=my-app -L version", None);
        check("", None);
    }

    #[test]
    fn missing_values_split_a_line() {
        let times = [0.0, 1.0, 2.0, 3.0, 4.0];
        let values = [Some(1.0), None, Some(2.0), Some(3.0), None];
        assert_eq!(
            segments(&times, &values),
            vec![vec![(0.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]
        );
    }
}
