//! What every chart of a report shares: the versions and their colours, the
//! time axis's end, the step and decision markers, the client counts per second.

use super::messages::{Message, StepLabel};
use super::style::*;
use crate::i18n::{Language, Localized};
use lab_core::analysis::Outcome;
use lab_core::report::{ClientSecond, Report, Section, StepRecord};
use std::collections::BTreeSet;

/// What every chart of a report shares: the versions, the time axis, the markers.
pub(super) struct Context<'a> {
    pub(super) report: &'a Report,
    pub(super) language: Language,
    pub(super) versions: Vec<String>,
    pub(super) end_ms: u64,
    pub(super) markers: Vec<Marker>,
}

pub(super) struct Marker {
    pub(super) t_ms: u64,
    pub(super) label: String,
    pub(super) colour: &'static str,
    pub(super) decision: bool,
}

impl<'a> Context<'a> {
    pub(super) fn new(report: &'a Report, language: Language) -> Self {
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
                    label: format!(
                        "{}: {}",
                        step_number(step),
                        Message::StepLabel(&step_label(step)?).render(language)
                    ),
                    colour: MUTED,
                    decision: false,
                })
            })
            .collect();
        if let Some(decision) = &report.decision {
            let colour = match decision.outcome {
                Outcome::Promoted => PROMOTED,
                Outcome::RolledBack => ROLLED_BACK,
            };
            markers.push(Marker {
                t_ms: decision.decided_at_ms,
                label: Message::Decided(decision.outcome).render(language),
                colour,
                decision: true,
            });
        }
        // The decision comes before the steps it leads to.
        markers.sort_by_key(|m| (m.t_ms, !m.decision));
        Context {
            report,
            language,
            versions: versions.into_iter().collect(),
            end_ms,
            markers,
        }
    }

    pub(super) fn colour(&self, version: &str) -> &'static str {
        let index = self.versions.iter().position(|v| v == version).unwrap_or(0);
        COLOURS[index % COLOURS.len()]
    }
}

/// `4` for a main step, `r1` for a rollback step.
pub(super) fn step_number(step: &StepRecord) -> String {
    match step.section {
        Section::Main => step.index.to_string(),
        Section::Rollback => format!("r{}", step.index),
    }
}

/// A short label for a step that changes the cluster (`apply app-v2.yaml`,
/// `scale my-app-v1 to 9`); `None` for waits and phases, which the shading shows.
pub(crate) fn step_label(step: &StepRecord) -> Option<StepLabel> {
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
            Some(StepLabel::Apply {
                file: file.to_string(),
            })
        }
        "scale" => {
            let replicas = words.iter().find_map(|w| w.strip_prefix("--replicas="))?;
            let target = words
                .iter()
                .skip(2)
                .find(|w| !w.starts_with('-'))
                .map(|w| w.rsplit('/').next().unwrap_or(w))?;
            Some(StepLabel::Scale {
                target: target.to_string(),
                replicas: replicas.to_string(),
            })
        }
        "delete" => {
            let name = words.last()?;
            Some(StepLabel::Delete {
                name: name.rsplit('/').next().unwrap_or(name).to_string(),
            })
        }
        "patch" => {
            let service = words.get(3).copied().unwrap_or("service");
            let version = command
                .split("\"version\":\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next());
            Some(StepLabel::Switch {
                service: service.to_string(),
                version: version.map(str::to_string),
            })
        }
        _ => None,
    }
}

/// The per-second client counts, with each version's lifetime: from the first
/// second it answered to the last; seconds without its answers inside the
/// lifetime count as zero.
pub(super) struct ClientGrid<'a> {
    pub(super) seconds: &'a [ClientSecond],
    /// When traffic stopped: the last second is cut short there.
    pub(super) end_ms: Option<u64>,
}

/// A second with less traffic time than this is too short to show as a rate.
pub(super) const SHORTEST_SECOND: f64 = 0.25;

impl<'a> ClientGrid<'a> {
    pub(super) fn new(report: &'a Report) -> Self {
        Self {
            seconds: &report.series.client,
            end_ms: report.windows.iter().map(|w| w.end_ms).max(),
        }
    }

    /// How much of second `i` had traffic, from 0 to 1.
    pub(super) fn covered(&self, i: usize) -> f64 {
        let start = self.seconds[i].t_ms;
        self.end_ms.map_or(1.0, |end| {
            (end.saturating_sub(start) as f64 / 1000.0).min(1.0)
        })
    }

    /// The middle of each second's traffic, in ms.
    pub(super) fn mid_times(&self) -> Vec<f64> {
        (0..self.seconds.len())
            .map(|i| self.seconds[i].t_ms as f64 + 500.0 * self.covered(i))
            .collect()
    }

    pub(super) fn lifetime(&self, version: &str) -> Option<(usize, usize)> {
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

    pub(super) fn answers(&self, version: &str, i: usize) -> u64 {
        self.seconds[i]
            .versions
            .get(version)
            .map_or(0, |c| c.successes + c.errors)
    }

    /// At low rates one second holds a handful of requests: average over enough
    /// seconds for about 50 answers (at most 15 s) so the split stays readable.
    pub(super) fn smoothing(&self) -> usize {
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
    pub(super) fn window(i: usize, window: usize, (first, last): (usize, usize)) -> (usize, usize) {
        let half = window / 2;
        let from = i.saturating_sub(half).max(first);
        let to = (i + (window - 1 - half)).min(last);
        (from, to)
    }

    /// A version's answers summed over the window around second `i`.
    pub(super) fn window_sum(&self, version: &str, i: usize, window: usize) -> u64 {
        let all = (0, self.seconds.len().saturating_sub(1));
        let (from, to) = Self::window(i, window, all);
        (from..=to).map(|j| self.answers(version, j)).sum()
    }

    /// Answers per second over the version's lifetime, averaged over `window`.
    pub(super) fn rates(&self, version: &str, window: usize) -> Option<Vec<Option<f64>>> {
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
    pub(super) fn errors(&self, version: &str) -> Option<Vec<Option<f64>>> {
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
pub(super) fn segments(times: &[f64], values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
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
pub(super) fn expected_boundary(
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

pub(super) fn max_value<'v>(values: impl Iterator<Item = &'v f64>) -> f64 {
    values
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
}

pub(super) enum LegendItem {
    Version(String, &'static str),
    Line(String, String),
    Dashed(String),
}

pub(super) fn legend_versions<'v>(
    context: &Context<'_>,
    versions: impl Iterator<Item = &'v String>,
) -> Vec<LegendItem> {
    versions
        .map(|v| LegendItem::Version(v.clone(), context.colour(v)))
        .collect()
}
