//! What a report says, once, as blocks that the Markdown and HTML renderers
//! both draw: so `report.md` and `report.html` never drift apart.
//!
//! Every sentence is a typed message (`messages`) rendered by one table per
//! language (`english`, `korean`; see [`crate::i18n`]). What comes from the
//! run as text (names, commands, the platform's events, notes) is shown as
//! it is.

mod english;
mod korean;
pub(crate) mod messages;

use crate::i18n::{Language, Localized};
use crate::terminal::step_text;
use lab_core::analysis::{
    Comparison, CrossCheckVerdict, GateVerdict, Gates, Outcome, Unit, Verdict, WindowKind,
};
use lab_core::plan::Plan;
use lab_core::report::{Report, Section, StepResult, WindowReport};
use messages::{Column, Message, Section as Part};
pub(crate) use messages::{seconds, value};
use std::collections::BTreeMap;

impl Localized for Message<'_> {
    fn english(&self) -> String {
        english::say(self)
    }

    fn korean(&self) -> String {
        korean::say(self)
    }
}

/// A piece of inline text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Span {
    /// Plain text.
    Text(String),
    /// A command, query or identifier.
    Code(String),
    /// Emphasis.
    Strong(String),
    /// A verdict, shown with its colour.
    Verdict(Verdict),
}

/// A line of spans.
pub(crate) type Line = Vec<Span>;

fn text(s: impl Into<String>) -> Span {
    Span::Text(s.into())
}

fn code(s: impl Into<String>) -> Span {
    Span::Code(s.into())
}

/// How a column lines up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// A table: headers and rows of cells.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    pub(crate) columns: Vec<(String, Align)>,
    pub(crate) rows: Vec<Vec<Line>>,
}

/// One block of the report.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// The report's title; `passed` colours it.
    Title {
        text: String,
        passed: bool,
    },
    /// A section heading with an anchor.
    Heading {
        level: u8,
        text: String,
        id: String,
    },
    Paragraph(Line),
    List(Vec<Line>),
    Table(Table),
    /// Where the charts go.
    Charts,
}

/// The sections of the report, in order, with their anchors (for a table of
/// contents).
pub(crate) fn sections(report: &Report, language: Language) -> Vec<(&'static str, String)> {
    let mut out = vec![Part::Decision, Part::Charts, Part::Phases, Part::Gates];
    if routed(report) {
        out.push(Part::Routes);
    }
    out.extend([Part::CrossCheck, Part::Steps]);
    if !report.events.is_empty() {
        out.push(Part::Events);
    }
    if !notes(report, language).is_empty() {
        out.push(Part::Notes);
    }
    out.into_iter()
        .map(|part| (part.id(), Message::Heading(part).render(language)))
        .collect()
}

/// An outcome in English, for `junit.xml`, which CI reads.
pub(crate) fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::Promoted => "promoted",
        Outcome::RolledBack => "rolled back",
    }
}

/// `canary: promoted (expected promoted), passed`.
pub(crate) fn title(report: &Report, language: Language) -> String {
    Message::Title {
        scenario: &report.scenario,
        reached: report.outcome,
        expected: report.expected,
        passed: report.passed,
    }
    .render(language)
}

fn share(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |v| format!("{:.1}%", v * 100.0))
}

fn comparison(c: Comparison) -> &'static str {
    match c {
        Comparison::AtLeast => "≥",
        Comparison::AtMost => "≤",
        Comparison::Inside => "in",
    }
}

/// The report as blocks, in `language`; the steps are told again from the
/// run's `plan` when there is one.
pub(crate) fn document(report: &Report, language: Language, plan: Option<&Plan>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Title {
            text: title(report, language),
            passed: report.passed,
        },
        Block::Paragraph(vec![text(report.description.clone())]),
    ];
    blocks.push(Block::List(facts(report, language)));
    decision(report, language, &mut blocks);
    heading(&mut blocks, 2, Part::Charts, language);
    blocks.push(Block::Charts);
    phases(report, language, &mut blocks);
    gates(report, language, &mut blocks);
    routes(report, language, &mut blocks);
    cross_checks(report, language, &mut blocks);
    steps(report, language, plan, &mut blocks);
    events(report, language, &mut blocks);
    let notes = notes(report, language);
    if !notes.is_empty() {
        heading(&mut blocks, 2, Part::Notes, language);
        blocks.push(Block::List(
            notes.into_iter().map(|n| vec![text(n)]).collect(),
        ));
    }
    blocks
}

fn heading(blocks: &mut Vec<Block>, level: u8, part: Part, language: Language) {
    blocks.push(Block::Heading {
        level,
        text: Message::Heading(part).render(language),
        id: part.id().to_string(),
    });
}

/// A table's columns in `language`.
fn columns(columns: &[(Column, Align)], language: Language) -> Vec<(String, Align)> {
    columns
        .iter()
        .map(|(column, align)| (Message::Column(*column).render(language), *align))
        .collect()
}

fn facts(report: &Report, language: Language) -> Vec<Line> {
    let say = |message: Message<'_>| text(message.render(language));
    let prometheus = match (&report.prometheus.available, &report.prometheus.url) {
        (true, Some(url)) => vec![say(Message::QueriedAt), code(url.clone())],
        (true, None) => vec![say(Message::Queried)],
        _ => vec![say(Message::ClientOnly)],
    };
    let mut out = vec![
        vec![
            say(Message::Run),
            code(report.run_id.clone()),
            say(Message::Started(&report.started_at)),
        ],
        vec![say(Message::PlatformProfile {
            platform: &report.platform,
            profile: &report.profile,
            proxy_sync_delay: report.proxy_sync_delay_ms.map(|ms| {
                humantime::format_duration(std::time::Duration::from_millis(ms)).to_string()
            }),
        })],
        vec![say(Message::Status(&report.status))],
        vec![say(Message::Versions {
            baseline: report.roles.baseline.as_deref(),
            candidate: &report.roles.candidate,
        })],
    ];
    if let Some(pods) = &report.pods {
        out.push(vec![say(Message::Pods(pods))]);
    }
    let mut line = vec![say(Message::Prometheus)];
    line.extend(prometheus);
    out.push(line);
    out
}

fn decision(report: &Report, language: Language, blocks: &mut Vec<Block>) {
    heading(blocks, 2, Part::Decision, language);
    let Some(decision) = &report.decision else {
        blocks.push(Block::Paragraph(vec![text(
            Message::NoDecision(&report.status).render(language),
        )]));
        return;
    };
    blocks.push(Block::Paragraph(vec![
        Span::Strong(Message::Outcome(decision.outcome).render(language)),
        text(
            Message::Reason {
                decision,
                thresholds: &report.thresholds,
            }
            .render(language),
        ),
    ]));
    blocks.push(Block::Paragraph(vec![text(
        Message::Decided {
            decided_at_ms: decision.decided_at_ms,
            time_to_decision_ms: decision.time_to_decision_ms,
            intervals: decision.analysis_intervals_elapsed,
            window: decision.window.as_deref(),
            passed: report.passed,
            expected: report.expected,
        }
        .render(language),
    )]));
}

fn phases(report: &Report, language: Language, blocks: &mut Vec<Block>) {
    heading(blocks, 2, Part::Phases, language);
    if report.windows.is_empty() {
        blocks.push(Block::Paragraph(vec![text(
            Message::NoTraffic.render(language),
        )]));
        return;
    }
    blocks.push(Block::Paragraph(vec![text(
        Message::PhasesIntro {
            confidence: report.thresholds.confidence,
        }
        .render(language),
    )]));
    for (i, window) in report.windows.iter().enumerate() {
        window_section(i, window, language, blocks);
    }
}

fn window_section(i: usize, window: &WindowReport, language: Language, blocks: &mut Vec<Block>) {
    let length = window.end_ms.saturating_sub(window.start_ms);
    blocks.push(Block::Heading {
        level: 3,
        text: Message::Window {
            name: &window.name,
            kind: window.kind,
            length_ms: length,
            start_ms: window.start_ms,
        }
        .render(language),
        id: format!("phase-{}", i + 1),
    });
    let mut rows = Vec::new();
    for split in &window.split {
        let tally = window.versions.get(&split.version);
        let errors = tally.map_or(0, |t| {
            t.client_errors + t.server_errors + t.attributed_failures
        });
        let latency = tally.and_then(|t| t.latency);
        let interval = split.interval.map_or_else(
            || "–".to_string(),
            |i| format!("{:.1}–{:.1}%", i.low * 100.0, i.high * 100.0),
        );
        rows.push(vec![
            vec![text(split.version.clone())],
            vec![text(split.requests.to_string())],
            vec![text(share(split.observed_share))],
            vec![text(interval)],
            vec![text(share(split.expected_share))],
            vec![Span::Verdict(split.verdict)],
            vec![text(errors.to_string())],
            vec![text(value(latency.map(|l| l.p50_ms), Unit::Ms))],
            vec![text(value(latency.map(|l| l.p99_ms), Unit::Ms))],
        ]);
    }
    blocks.push(Block::Table(Table {
        columns: columns(
            &[
                (Column::Version, Align::Left),
                (Column::Requests, Align::Right),
                (Column::Share, Align::Right),
                (Column::Interval, Align::Right),
                (Column::Expected, Align::Right),
                (Column::Split, Align::Left),
                (Column::Errors, Align::Right),
                (Column::P50, Align::Right),
                (Column::P99, Align::Right),
            ],
            language,
        ),
        rows,
    }));
    let mut facts = Vec::new();
    facts.push(if window.downtime.longest_ms > 0 {
        Message::Downtime {
            longest_ms: window.downtime.longest_ms,
            start_ms: window.downtime.start_ms,
        }
        .render(language)
    } else {
        Message::NoDowntime.render(language)
    });
    let failures = window.connection_failures.total();
    if failures > 0 {
        let f = &window.connection_failures;
        facts.push(
            Message::Unanswered {
                total: failures,
                refused: f.refused,
                reset: f.reset,
                timeout: f.timeout,
                other: f.other,
                unattributed: window.unattributed,
            }
            .render(language),
        );
    }
    let restarted: Vec<(&str, u32)> = window
        .restarts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(v, n)| (v.as_str(), *n))
        .collect();
    if !restarted.is_empty() {
        facts.push(Message::Restarts(restarted).render(language));
    }
    blocks.push(Block::Paragraph(vec![text(facts.join(" "))]));
}

fn gate_table(gates: &[GateVerdict], language: Language) -> Block {
    Block::Table(Table {
        columns: columns(
            &[
                (Column::Gate, Align::Left),
                (Column::Version, Align::Left),
                (Column::Verdict, Align::Left),
                (Column::Measured, Align::Right),
                (Column::Threshold, Align::Right),
                (Column::Samples, Align::Right),
                (Column::Source, Align::Left),
            ],
            language,
        ),
        rows: gates
            .iter()
            .map(|g| {
                vec![
                    vec![code(g.gate.as_str())],
                    vec![text(g.version.clone())],
                    vec![Span::Verdict(g.verdict)],
                    vec![text(value(g.measured, g.unit))],
                    vec![text(format!(
                        "{} {}",
                        comparison(g.comparison),
                        value(g.threshold, g.unit)
                    ))],
                    vec![text(g.samples.to_string())],
                    vec![text(Message::Source(&g.source).render(language))],
                ]
            })
            .collect(),
    })
}

fn gate_details(gates: &[GateVerdict], thresholds: &Gates, language: Language) -> Block {
    Block::List(
        gates
            .iter()
            .map(|g| {
                let mut line = vec![
                    code(g.gate.as_str()),
                    text(" "),
                    Span::Verdict(g.verdict),
                    text(
                        Message::Explanation {
                            gate: g,
                            thresholds,
                        }
                        .render(language),
                    ),
                ];
                if let Some(e) = &g.evidence {
                    line.push(text(Message::Evidence(e).render(language)));
                }
                // A pass the sample cannot resolve says so in its explanation
                // ("passed, but …"): the note would repeat it.
                if let Some(s) = g
                    .sensitivity
                    .as_ref()
                    .filter(|s| s.resolved || g.verdict != Verdict::Pass)
                {
                    line.push(text(Message::Sensitivity(s).render(language)));
                }
                line
            })
            .collect(),
    )
}

fn gates(report: &Report, language: Language, blocks: &mut Vec<Block>) {
    heading(blocks, 2, Part::Gates, language);
    let t = &report.thresholds;
    blocks.push(Block::Paragraph(vec![text(
        Message::GatesIntro(t).render(language),
    )]));
    let mut any = false;
    for window in report.windows.iter().filter(|w| !w.gates.is_empty()) {
        any = true;
        blocks.push(Block::Paragraph(vec![
            text(Message::PhaseGates.render(language)),
            Span::Strong(window.name.clone()),
            text(
                Message::OverTraffic {
                    length_ms: window.end_ms.saturating_sub(window.start_ms),
                }
                .render(language),
            ),
        ]));
        blocks.push(gate_table(&window.gates, language));
        blocks.push(gate_details(&window.gates, t, language));
    }
    if let Some(decision) = &report.decision {
        let same = report
            .windows
            .iter()
            .any(|w| Some(&w.name) == decision.window.as_ref() && w.gates == decision.gates);
        if !same && !decision.gates.is_empty() {
            any = true;
            blocks.push(Block::Paragraph(vec![text(
                Message::AtDecision {
                    decided_at_ms: decision.decided_at_ms,
                }
                .render(language),
            )]));
            blocks.push(gate_table(&decision.gates, language));
            blocks.push(gate_details(&decision.gates, t, language));
        }
    }
    if !any {
        blocks.push(Block::Paragraph(vec![text(
            Message::NoGates.render(language),
        )]));
    }
}

/// Whether any window went through a Gateway's routes.
fn routed(report: &Report) -> bool {
    report
        .windows
        .iter()
        .any(|w| !w.routing.is_empty() || !w.mirror.is_empty())
}

/// The routing and mirror verdicts of every judged window.
fn routes(report: &Report, language: Language, blocks: &mut Vec<Block>) {
    if !routed(report) {
        return;
    }
    heading(blocks, 2, Part::Routes, language);
    blocks.push(Block::Paragraph(vec![text(
        Message::RoutesIntro.render(language),
    )]));
    let judged = || {
        report
            .windows
            .iter()
            .filter(|w| w.kind != WindowKind::Transition)
    };
    let routing: Vec<Vec<Line>> = judged()
        .flat_map(|w| {
            w.routing.iter().map(|r| {
                let answers: Vec<String> =
                    r.answers.iter().map(|(v, n)| format!("{v} {n}")).collect();
                vec![
                    vec![text(w.name.clone())],
                    vec![text(r.class.clone())],
                    vec![Span::Verdict(r.verdict)],
                    vec![text(r.routed_to.join(", "))],
                    vec![text(answers.join(", "))],
                ]
            })
        })
        .collect();
    if !routing.is_empty() {
        blocks.push(Block::Table(Table {
            columns: columns(
                &[
                    (Column::Phase, Align::Left),
                    (Column::Class, Align::Left),
                    (Column::Verdict, Align::Left),
                    (Column::Expected, Align::Left),
                    (Column::Answers, Align::Left),
                ],
                language,
            ),
            rows: routing,
        }));
    }
    let share = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{:.1}%", v * 100.0));
    let mirror: Vec<Vec<Line>> = judged()
        .flat_map(|w| {
            w.mirror.iter().map(|m| {
                vec![
                    vec![text(w.name.clone())],
                    vec![text(m.version.clone())],
                    vec![Span::Verdict(m.verdict)],
                    vec![text(format!("{} / {}", m.mirrored, m.requests))],
                    vec![text(share(m.observed_share))],
                    vec![text(match m.tolerance {
                        Some(t) => format!("{} ± {}", share(m.expected_share), share(Some(t))),
                        None => share(m.expected_share),
                    })],
                    vec![code(m.source.clone())],
                ]
            })
        })
        .collect();
    if !mirror.is_empty() {
        blocks.push(Block::Table(Table {
            columns: columns(
                &[
                    (Column::Phase, Align::Left),
                    (Column::Version, Align::Left),
                    (Column::Verdict, Align::Left),
                    (Column::Mirrored, Align::Right),
                    (Column::Share, Align::Right),
                    (Column::Expected, Align::Right),
                    (Column::Source, Align::Left),
                ],
                language,
            ),
            rows: mirror,
        }));
    }
}

fn cross_check_row(window: &str, c: &CrossCheckVerdict) -> Vec<Line> {
    let number = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.0}"));
    vec![
        vec![text(window.to_string())],
        vec![text(c.version.clone())],
        vec![Span::Verdict(c.verdict)],
        vec![text(c.client_count.to_string())],
        vec![text(number(c.server_count))],
        vec![text(number(c.difference))],
        vec![text(number(c.allowed_difference))],
        vec![code(c.source.clone())],
    ]
}

fn cross_checks(report: &Report, language: Language, blocks: &mut Vec<Block>) {
    heading(blocks, 2, Part::CrossCheck, language);
    let rows: Vec<Vec<Line>> = report
        .windows
        .iter()
        .filter(|w| w.kind != WindowKind::Transition)
        .flat_map(|w| {
            w.cross_check
                .iter()
                .filter(|c| c.verdict != Verdict::NotApplicable)
                .map(|c| cross_check_row(&w.name, c))
        })
        .collect();
    blocks.push(Block::Paragraph(vec![text(
        Message::CrossCheckIntro {
            available: report.prometheus.available,
        }
        .render(language),
    )]));
    if rows.is_empty() {
        return;
    }
    blocks.push(Block::Table(Table {
        columns: columns(
            &[
                (Column::Phase, Align::Left),
                (Column::Version, Align::Left),
                (Column::Verdict, Align::Left),
                (Column::Clients, Align::Right),
                (Column::Prometheus, Align::Right),
                (Column::Difference, Align::Right),
                (Column::Allowed, Align::Right),
                (Column::Query, Align::Left),
            ],
            language,
        ),
        rows,
    }));
}

fn steps(report: &Report, language: Language, plan: Option<&Plan>, blocks: &mut Vec<Block>) {
    heading(blocks, 2, Part::Steps, language);
    let rows = report
        .steps
        .iter()
        .map(|step| {
            let number = match step.section {
                Section::Main => step.index.to_string(),
                Section::Rollback => format!("r{}", step.index),
            };
            let (at, took) = match (step.started_ms, step.finished_ms) {
                (Some(start), Some(end)) => (seconds(start), seconds(end.saturating_sub(start))),
                (Some(start), None) => (seconds(start), "–".to_string()),
                _ => ("–".to_string(), "–".to_string()),
            };
            let result = match &step.result {
                StepResult::Ok => vec![text(Message::StepOk.render(language))],
                StepResult::Skipped => vec![text(Message::StepSkipped.render(language))],
                StepResult::Failed { message } => {
                    vec![Span::Verdict(Verdict::Fail), text(format!(": {message}"))]
                }
            };
            let kubectl = if step.kubectl.is_empty() {
                vec![text("–")]
            } else {
                vec![code(step.kubectl.join("; "))]
            };
            vec![
                vec![text(number)],
                vec![text(step_text(&step.description, plan, language))],
                kubectl,
                vec![text(at)],
                vec![text(took)],
                result,
            ]
        })
        .collect();
    blocks.push(Block::Table(Table {
        columns: columns(
            &[
                (Column::Number, Align::Right),
                (Column::Step, Align::Left),
                (Column::Kubectl, Align::Left),
                (Column::At, Align::Right),
                (Column::Took, Align::Right),
                (Column::Result, Align::Left),
            ],
            language,
        ),
        rows,
    }));
}

/// Events a reader should see one by one: restarts, failing probes, faults.
fn notable_events(report: &Report) -> Vec<&lab_core::report::EventRecord> {
    report
        .events
        .iter()
        .filter(|e| {
            matches!(e.reason.as_str(), "BackOff" | "Unhealthy" | "Failed")
                || e.message.contains("fault injection")
        })
        .collect()
}

fn events(report: &Report, language: Language, blocks: &mut Vec<Block>) {
    if report.events.is_empty() {
        return;
    }
    heading(blocks, 2, Part::Events, language);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &report.events {
        *counts.entry(event.reason.as_str()).or_default() += 1;
    }
    blocks.push(Block::Paragraph(vec![text(
        Message::EventCounts {
            total: report.events.len(),
            counts: counts.into_iter().collect(),
        }
        .render(language),
    )]));
    let notable = notable_events(report);
    if !notable.is_empty() {
        blocks.push(Block::Table(Table {
            columns: columns(
                &[
                    (Column::At, Align::Right),
                    (Column::Reason, Align::Left),
                    (Column::Object, Align::Left),
                    (Column::Message, Align::Left),
                ],
                language,
            ),
            rows: notable
                .iter()
                .map(|e| {
                    vec![
                        vec![text(seconds(e.t_ms))],
                        vec![text(e.reason.clone())],
                        vec![code(e.object.clone())],
                        vec![text(e.message.clone())],
                    ]
                })
                .collect(),
        }));
    }
}

/// The run's notes, Prometheus's notes (both as the run wrote them), and a
/// word when Prometheus was missing.
pub(crate) fn notes(report: &Report, language: Language) -> Vec<String> {
    let mut notes: Vec<String> = report
        .notes
        .iter()
        .chain(&report.prometheus.notes)
        .cloned()
        .collect();
    if !report.prometheus.available
        && !notes
            .iter()
            .any(|n| n.to_lowercase().contains("prometheus"))
    {
        notes.push(Message::PrometheusMissing.render(language));
    }
    notes
}
