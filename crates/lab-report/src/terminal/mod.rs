//! What `lab run` prints in a terminal, in English or Korean: the event lines
//! as the run goes, the live block redrawn under them, and the end summary.
//! Pure: events, progress and the report in, lines out; the caller does the
//! terminal's I/O (colours, redraws, pauses).
//!
//! Every text is a typed message (`messages`) rendered by one table per
//! language (`english`, `korean`; see [`crate::i18n`]), so the languages say
//! the same things and a new one is one more table. The summary's result line
//! is the report's own title block in English, so the terminal and
//! `report.md`/`report.html` agree.

mod columns;
mod english;
mod korean;
mod messages;

use crate::document::messages::Message as ReportMessage;
use crate::i18n::{Language, Localized};
use crate::reasons::Why;
use columns::pad;
pub use columns::{CONTINUATION, display_width, fit};
use lab_core::analysis::WindowKind;
use lab_core::plan::{Plan, Step};
use lab_core::report::{Report, Section, StepResult};
use lab_core::run_event::{Progress, RunEvent, Timed};
use messages::{Answered, Message, ShareLine, StepDescription, StepNumber};
use std::path::Path;

impl Localized for Message<'_> {
    fn english(&self) -> String {
        english::say(self)
    }

    fn korean(&self) -> String {
        korean::say(self)
    }
}

impl Localized for StepDescription<'_> {
    fn english(&self) -> String {
        english::describe_step(self.0)
    }

    fn korean(&self) -> String {
        korean::describe_step(self.0)
    }
}

/// How a piece of a terminal line is drawn; the terminal maps it to colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// As it is.
    Plain,
    /// Emphasised (the step).
    Bold,
    /// Muted (nothing wrong).
    Dim,
    /// Something failed.
    Alert,
    /// The colour of the version at this index (the charts' order).
    Version(usize),
}

/// A piece of a terminal line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Styled {
    /// The text.
    pub text: String,
    /// How it is drawn.
    pub style: Style,
}

/// A line of styled pieces.
pub type StyledLine = Vec<Styled>;

fn styled(text: impl Into<String>, style: Style) -> Styled {
    Styled {
        text: text.into(),
        style,
    }
}

/// A styled line's text without styles.
pub fn plain(line: &[Styled]) -> String {
    line.iter().map(|s| s.text.as_str()).collect()
}

fn seconds(ms: u64) -> String {
    format!("{:6.1}s", ms as f64 / 1000.0)
}

fn bar(share: f64, cells: usize) -> String {
    let filled = ((share.clamp(0.0, 1.0) * cells as f64).round() as usize).min(cells);
    format!("{}{}", "█".repeat(filled), "░".repeat(cells - filled))
}

/// The plan's step `index` (from 1) of `section`.
fn plan_step(plan: &Plan, section: Section, index: u32) -> Option<&Step> {
    let steps = match section {
        Section::Main => &plan.steps,
        Section::Rollback => &plan.rollback,
    };
    steps.get(index.checked_sub(1)? as usize)
}

/// What a step does, in `language`; the plan's own words in English.
pub fn describe_step(step: &Step, language: Language) -> String {
    StepDescription(step).render(language)
}

/// A step description from the runner (`Progress::step`) in `language`: the
/// plan's step it names, told again; as it is when the plan does not know it.
pub(crate) fn step_text(description: &str, plan: Option<&Plan>, language: Language) -> String {
    plan.and_then(|plan| {
        plan.steps
            .iter()
            .chain(&plan.rollback)
            .find(|step| step.describe() == description)
    })
    .map_or_else(
        || description.to_string(),
        |step| describe_step(step, language),
    )
}

/// The line before the run starts, and the run directory's.
pub fn header(plan: &Plan, platform: &str, run_dir: &str, language: Language) -> [String; 2] {
    [
        Message::Header {
            scenario: &plan.scenario,
            description: &plan.description,
            platform,
            profile: plan.profile.name.as_str(),
            rate: plan.profile.rate,
            expected: plan.expected,
        }
        .render(language),
        Message::RunDirectory(run_dir).render(language),
    ]
}

/// An event as a line with its time (`  12.0s step 4: …`), or `None` for
/// events the terminal does not print. `plan` tells steps in `language`.
pub fn event_line(timed: &Timed, plan: Option<&Plan>, language: Language) -> Option<String> {
    let told: String;
    let message = match &timed.event {
        RunEvent::StepStarted {
            index,
            section,
            description,
            kubectl,
        } => Message::StepStarted {
            number: StepNumber {
                section: *section,
                index: *index,
            },
            description,
            step: plan.and_then(|p| plan_step(p, *section, *index)),
            kubectl,
        },
        RunEvent::StepFinished {
            result: StepResult::Failed { message },
            ..
        } => Message::StepFailed(message),
        RunEvent::TrafficStarted {
            url,
            rate,
            keep_alive,
        } => Message::Traffic {
            rate: *rate,
            url,
            keep_alive: *keep_alive,
        },
        RunEvent::WindowOpened {
            name,
            kind: WindowKind::Observe | WindowKind::Analyze,
            planned_ms: Some(ms),
            ..
        } => Message::PhaseOpened {
            name,
            planned_ms: *ms,
        },
        RunEvent::WindowClosed {
            name,
            kind: WindowKind::Observe | WindowKind::Analyze,
            answers,
            failed_requests,
            ..
        } => {
            let total: u64 = answers.values().sum::<u64>().max(1);
            Message::PhaseClosed {
                name,
                answered: answers
                    .iter()
                    .map(|(version, n)| Answered {
                        version,
                        count: *n,
                        percent: *n as f64 * 100.0 / total as f64,
                    })
                    .collect(),
                failed: *failed_requests,
            }
        }
        RunEvent::Interim { verdict, .. } => Message::Interim(*verdict),
        RunEvent::Decision {
            outcome,
            reason,
            decision,
        } => {
            // Told from the decision's cause and gates where the plan gives
            // the thresholds; lab-core's English sentence otherwise.
            told = match (decision, plan) {
                (Some(decision), Some(plan)) => Why::Decision {
                    decision,
                    thresholds: &plan.gates,
                }
                .render(language),
                _ => reason.clone(),
            };
            Message::Decision {
                outcome: *outcome,
                reason: &told,
            }
        }
        RunEvent::Note { message } => Message::Note(message),
        // Scale-downs stop pods all the time; faults and restarts are news.
        RunEvent::Platform {
            reason,
            object,
            message,
        } if matches!(reason.as_str(), "BackOff" | "Unhealthy" | "Failed")
            || message.contains("fault injection") =>
        {
            Message::PlatformEvent { object, message }
        }
        _ => return None,
    };
    Some(format!(
        "{} {}",
        seconds(timed.t_ms),
        message.render(language)
    ))
}

/// A remark outside the run's events (`note: …`), as the event lines say it.
pub fn note(message: &str, language: Language) -> String {
    Message::Note(message).render(language)
}

/// The live block for a progress report, one line per row, never reaching
/// `width` columns. `plan` tells the step in `language`.
pub fn live_block(
    progress: &Progress,
    plan: Option<&Plan>,
    width: usize,
    language: Language,
) -> Vec<StyledLine> {
    let mut lines = Vec::new();
    let step = progress
        .step
        .as_deref()
        .map(|s| step_text(s, plan, language));
    let first = Message::LiveStep(step.as_deref()).render(language);
    lines.push(vec![styled(fit(&first, width), Style::Bold)]);
    let timer = match (&progress.window, progress.window_kind) {
        (Some(name), Some(kind)) => match progress.window_planned_ms {
            Some(planned) if kind != WindowKind::Transition => {
                let done = if planned > 0 {
                    progress.window_elapsed_ms as f64 / planned as f64
                } else {
                    1.0
                };
                format!(
                    "{}  {}",
                    Message::PhaseTimer {
                        name,
                        kind,
                        elapsed_ms: progress.window_elapsed_ms,
                        planned_ms: planned,
                    }
                    .render(language),
                    bar(done, 20)
                )
            }
            _ => Message::TransitionTimer {
                name,
                elapsed_ms: progress.window_elapsed_ms,
            }
            .render(language),
        },
        _ => Message::NoTraffic.render(language),
    };
    lines.push(vec![styled(fit(&timer, width), Style::Plain)]);
    let mut versions: Vec<&String> = progress
        .versions
        .keys()
        .chain(progress.ready.keys())
        .collect();
    versions.sort();
    versions.dedup();
    let bar_cells = width.saturating_sub(64).clamp(8, 40);
    let mut errors = 0;
    for (i, version) in versions.iter().enumerate() {
        let traffic = progress.versions.get(*version);
        let ready = progress.ready.get(*version).copied().unwrap_or(0);
        // A version that is gone (no pods, no answers in this window) is news no more.
        if ready == 0 && traffic.is_none_or(|t| t.requests == 0) {
            continue;
        }
        let share = traffic.map_or(0.0, |t| t.share);
        let requests = traffic.map_or(0, |t| t.requests);
        let version_errors = traffic.map_or(0, |t| t.errors);
        errors += version_errors;
        lines.push(vec![
            styled(format!("  {} ", pad(&fit(version, 12), 12)), Style::Plain),
            styled(bar(share, bar_cells), Style::Version(i)),
            styled(
                Message::VersionCounts {
                    share,
                    requests,
                    errors: version_errors,
                    ready,
                }
                .render(language),
                Style::Plain,
            ),
        ]);
    }
    let failed = progress.failed_requests;
    let summary = Message::Errors { errors, failed }.render(language);
    let style = if errors + failed > 0 {
        Style::Alert
    } else {
        Style::Dim
    };
    lines.push(vec![styled(summary, style)]);
    lines
}

/// The end of a run in words: `details` (per phase the split, the gates) for
/// people watching, `result` (the outcome, the decision, where the report is)
/// for everyone, `--quiet` included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The split and the gates of each phase.
    pub details: Vec<String>,
    /// The outcome against the expected one, why, and where the report is.
    pub result: Vec<String>,
}

/// The summary of a report whose files are in `run_dir`.
pub fn summary(report: &Report, run_dir: &Path, language: Language) -> Summary {
    let mut details = Vec::new();
    for window in report
        .windows
        .iter()
        .filter(|w| w.kind != WindowKind::Transition)
    {
        details.push(
            Message::SummaryPhase {
                name: &window.name,
                shares: window
                    .split
                    .iter()
                    .map(|s| ShareLine {
                        version: &s.version,
                        observed: s.observed_share,
                        expected: s.expected_share,
                        verdict: s.verdict,
                    })
                    .collect(),
            }
            .render(language),
        );
        for gate in &window.gates {
            details.push(
                Message::SummaryGate {
                    gate: gate.gate.as_str(),
                    verdict: gate.verdict,
                    explanation: &Why::Gate {
                        gate,
                        thresholds: &report.thresholds,
                    }
                    .render(language),
                }
                .render(language),
            );
        }
    }
    let report_title = ReportMessage::Title {
        scenario: &report.scenario,
        reached: report.outcome,
        expected: report.expected,
        passed: report.passed,
    }
    .english();
    let mut result = vec![
        Message::Title {
            scenario: &report.scenario,
            reached: report.outcome,
            expected: report.expected,
            passed: report.passed,
            report_title: Some(&report_title),
        }
        .render(language),
    ];
    if let Some(decision) = &report.decision {
        result.push(format!(
            "  {}",
            Why::Decision {
                decision,
                thresholds: &report.thresholds,
            }
            .render(language)
        ));
        result.push(
            Message::Decided {
                time_to_decision_ms: decision.time_to_decision_ms,
                intervals: decision.analysis_intervals_elapsed,
            }
            .render(language),
        );
    }
    let html = run_dir.join("report.html").display().to_string();
    let md = run_dir.join("report.md").display().to_string();
    result.push(Message::ReportAt(&html).render(language));
    result.push(Message::ReportMdAt(&md).render(language));
    Summary { details, result }
}

#[cfg(test)]
mod tests;
