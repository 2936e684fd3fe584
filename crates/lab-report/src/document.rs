//! What a report says, once, as blocks that the Markdown and HTML renderers
//! both draw: so `report.md` and `report.html` never drift apart.

use lab_core::analysis::{
    Comparison, Counted, CrossCheckVerdict, GateVerdict, Outcome, Unit, Verdict, WindowKind,
};
use lab_core::report::{Report, RunStatus, Section, StepResult, WindowReport};
use std::collections::BTreeMap;

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
    pub(crate) columns: Vec<(&'static str, Align)>,
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
pub(crate) fn sections(report: &Report) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![
        ("decision", "Decision"),
        ("charts", "Charts"),
        ("phases", "Phases"),
        ("gates", "Gates"),
        ("cross-check", "Client against Prometheus"),
        ("steps", "Steps"),
    ];
    if !report.events.is_empty() {
        out.push(("events", "Platform events"));
    }
    if !notes(report).is_empty() {
        out.push(("notes", "Notes"));
    }
    out
}

pub(crate) fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::Promoted => "promoted",
        Outcome::RolledBack => "rolled back",
    }
}

/// `canary: promoted (expected promoted), passed`.
pub(crate) fn title(report: &Report) -> String {
    let reached = report.outcome.map_or("no decision", outcome_text);
    let verdict = if report.passed {
        "passed"
    } else {
        "did not pass"
    };
    format!(
        "{}: {reached} (expected {}), {verdict}",
        report.scenario,
        outcome_text(report.expected)
    )
}

fn status(s: &RunStatus) -> String {
    match s {
        RunStatus::Completed => "completed".to_string(),
        RunStatus::Interrupted => "interrupted".to_string(),
        RunStatus::Failed { error } => format!("failed: {error}"),
    }
}

pub(crate) fn value(v: Option<f64>, unit: Unit) -> String {
    match (v, unit) {
        (None, _) => "–".to_string(),
        (Some(v), Unit::Ratio) => format!("{:.2}%", v * 100.0),
        (Some(v), Unit::Ms) => format!("{v:.1} ms"),
        (Some(v), Unit::Count) => format!("{v:.0}"),
    }
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

pub(crate) fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// A length of time: `21 ms` below a second, else `2.4 s`.
fn duration_text(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        seconds(ms)
    }
}

fn confidence(c: f64) -> String {
    let text = format!("{:.2}", c * 100.0);
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

/// Where a gate's numbers came from, for people.
fn source_text(source: &str) -> String {
    match source {
        "client" => "client-side tallies".to_string(),
        "platform" => "container restarts reported by the platform".to_string(),
        other => other.to_string(),
    }
}

/// The report as blocks.
pub(crate) fn document(report: &Report) -> Vec<Block> {
    let mut blocks = vec![
        Block::Title {
            text: title(report),
            passed: report.passed,
        },
        Block::Paragraph(vec![text(report.description.clone())]),
    ];
    blocks.push(Block::List(facts(report)));
    decision(report, &mut blocks);
    heading(&mut blocks, 2, "Charts", "charts");
    blocks.push(Block::Charts);
    phases(report, &mut blocks);
    gates(report, &mut blocks);
    cross_checks(report, &mut blocks);
    steps(report, &mut blocks);
    events(report, &mut blocks);
    let notes = notes(report);
    if !notes.is_empty() {
        heading(&mut blocks, 2, "Notes", "notes");
        blocks.push(Block::List(
            notes.into_iter().map(|n| vec![text(n)]).collect(),
        ));
    }
    blocks
}

fn heading(blocks: &mut Vec<Block>, level: u8, text: &str, id: &str) {
    blocks.push(Block::Heading {
        level,
        text: text.to_string(),
        id: id.to_string(),
    });
}

fn facts(report: &Report) -> Vec<Line> {
    let prometheus = match (&report.prometheus.available, &report.prometheus.url) {
        (true, Some(url)) => vec![text("queried at "), code(url.clone())],
        (true, None) => vec![text("queried")],
        _ => vec![text("not available: client-side measurements only")],
    };
    let mut out = vec![
        vec![
            text("run "),
            code(report.run_id.clone()),
            text(format!(", started {}", report.started_at)),
        ],
        vec![text(format!(
            "platform {}, profile {}",
            report.platform, report.profile
        ))],
        vec![text(format!("status: {}", status(&report.status)))],
        vec![text(format!(
            "versions: baseline {}, candidate {}",
            report.roles.baseline.as_deref().unwrap_or("–"),
            report.roles.candidate
        ))],
    ];
    let mut line = vec![text("Prometheus: ")];
    line.extend(prometheus);
    out.push(line);
    out
}

fn decision(report: &Report, blocks: &mut Vec<Block>) {
    heading(blocks, 2, "Decision", "decision");
    let Some(decision) = &report.decision else {
        blocks.push(Block::Paragraph(vec![text(match &report.status {
            RunStatus::Completed => "No decision was reached.".to_string(),
            RunStatus::Interrupted => {
                "No decision was reached: the run was interrupted.".to_string()
            }
            RunStatus::Failed { error } => {
                format!("No decision was reached: the run failed: {error}.")
            }
        })]));
        return;
    };
    blocks.push(Block::Paragraph(vec![
        Span::Strong(outcome_text(decision.outcome).to_string()),
        text(format!(": {}", decision.reason)),
    ]));
    let expected = if report.passed {
        format!(
            "This is the outcome the scenario expects ({}).",
            outcome_text(report.expected)
        )
    } else {
        format!("The scenario expects {}.", outcome_text(report.expected))
    };
    let intervals = match decision.analysis_intervals_elapsed {
        1 => "1 analysis interval".to_string(),
        n => format!("{n} analysis intervals"),
    };
    blocks.push(Block::Paragraph(vec![text(format!(
        "Decided {} into the run, {} after the candidate began serving (or was applied), after {intervals}{}. {expected}",
        seconds(decision.decided_at_ms),
        seconds(decision.time_to_decision_ms),
        decision
            .window
            .as_ref()
            .map_or(String::new(), |w| format!(" of phase {w}")),
    ))]));
}

fn phases(report: &Report, blocks: &mut Vec<Block>) {
    heading(blocks, 2, "Phases", "phases");
    if report.windows.is_empty() {
        blocks.push(Block::Paragraph(vec![text("No traffic was measured.")]));
        return;
    }
    blocks.push(Block::Paragraph(vec![text(format!(
        "Each version's share of the answers, with its {} Wilson interval, against the share its ready pods predict. Transitions (the steps between phases) are shown, not judged.",
        confidence(report.thresholds.confidence)
    ))]));
    for (i, window) in report.windows.iter().enumerate() {
        window_section(i, window, blocks);
    }
}

fn window_section(i: usize, window: &WindowReport, blocks: &mut Vec<Block>) {
    let length = window.end_ms.saturating_sub(window.start_ms);
    heading(
        blocks,
        3,
        &format!(
            "{} ({}, {} from {})",
            window.name,
            window.kind.as_str(),
            seconds(length),
            seconds(window.start_ms)
        ),
        &format!("phase-{}", i + 1),
    );
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
        columns: vec![
            ("version", Align::Left),
            ("requests", Align::Right),
            ("share", Align::Right),
            ("interval", Align::Right),
            ("expected", Align::Right),
            ("split", Align::Left),
            ("errors", Align::Right),
            ("p50", Align::Right),
            ("p99", Align::Right),
        ],
        rows,
    }));
    let mut facts = Vec::new();
    facts.push(if window.downtime.longest_ms > 0 {
        format!(
            "Downtime: the longest time without a successful answer was {} (from {}).",
            duration_text(window.downtime.longest_ms),
            seconds(window.downtime.start_ms)
        )
    } else {
        "Downtime: none.".to_string()
    });
    let failures = window.connection_failures.total();
    if failures > 0 {
        let f = &window.connection_failures;
        facts.push(format!(
            "Requests without an answer: {failures} (refused {}, reset {}, timeout {}, other {}; {} not attributed to a version).",
            f.refused, f.reset, f.timeout, f.other, window.unattributed
        ));
    }
    let restarted: Vec<String> = window
        .restarts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(v, n)| format!("{v}: {n}"))
        .collect();
    if !restarted.is_empty() {
        facts.push(format!("Container restarts: {}.", restarted.join(", ")));
    }
    blocks.push(Block::Paragraph(vec![text(facts.join(" "))]));
}

fn gate_table(gates: &[GateVerdict]) -> Block {
    Block::Table(Table {
        columns: vec![
            ("gate", Align::Left),
            ("version", Align::Left),
            ("verdict", Align::Left),
            ("measured", Align::Right),
            ("threshold", Align::Right),
            ("samples", Align::Right),
            ("source", Align::Left),
        ],
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
                    vec![text(source_text(&g.source))],
                ]
            })
            .collect(),
    })
}

fn gate_details(gates: &[GateVerdict]) -> Block {
    Block::List(
        gates
            .iter()
            .map(|g| {
                let mut line = vec![
                    code(g.gate.as_str()),
                    text(" "),
                    Span::Verdict(g.verdict),
                    text(format!(": {}", g.explanation)),
                ];
                if let Some(e) = &g.evidence {
                    let counted = match e.counted {
                        Counted::Successes => "successes",
                        Counted::SlowerThanMaxP99 => "answers slower than the p99 limit",
                        Counted::SlowerThanBaselineLimit => {
                            "answers slower than the limit from the baseline's p99"
                        }
                    };
                    line.push(text(format!(
                        " (evidence: {} {counted} of {}, {} Wilson interval {:.2}–{:.2}%, held against {:.2}%)",
                        e.count,
                        e.total,
                        confidence(e.confidence),
                        e.interval.low * 100.0,
                        e.interval.high * 100.0,
                        e.limit * 100.0
                    )));
                }
                if let Some(s) = &g.sensitivity {
                    line.push(text(format!(
                        " (what the sample can detect: {}{})",
                        s.describe(),
                        if s.resolved { "" } else { "; not enough to resolve the threshold" }
                    )));
                }
                line
            })
            .collect(),
    )
}

fn gates(report: &Report, blocks: &mut Vec<Block>) {
    heading(blocks, 2, "Gates", "gates");
    let t = &report.thresholds;
    blocks.push(Block::Paragraph(vec![text(format!(
        "The candidate is judged in the analyze phase: success rate ≥ {:.2}%, p99 ≤ {:.0} ms, p99 ≤ max({} × the baseline's, the baseline's + {:.0} ms), at most {} restarts; no gate passes on fewer than {} requests.",
        t.min_success_rate * 100.0,
        t.max_p99_ms,
        t.max_p99_ratio,
        t.p99_ratio_allowance_ms,
        t.max_restarts,
        t.min_samples
    ))]));
    let mut any = false;
    for window in report.windows.iter().filter(|w| !w.gates.is_empty()) {
        any = true;
        blocks.push(Block::Paragraph(vec![
            text("Phase "),
            Span::Strong(window.name.clone()),
            text(format!(
                ", over its {} of traffic:",
                seconds(window.end_ms.saturating_sub(window.start_ms))
            )),
        ]));
        blocks.push(gate_table(&window.gates));
        blocks.push(gate_details(&window.gates));
    }
    if let Some(decision) = &report.decision {
        let same = report
            .windows
            .iter()
            .any(|w| Some(&w.name) == decision.window.as_ref() && w.gates == decision.gates);
        if !same && !decision.gates.is_empty() {
            any = true;
            blocks.push(Block::Paragraph(vec![text(format!(
                "At the decision ({} into the run):",
                seconds(decision.decided_at_ms)
            ))]));
            blocks.push(gate_table(&decision.gates));
            blocks.push(gate_details(&decision.gates));
        }
    }
    if !any {
        blocks.push(Block::Paragraph(vec![text(
            "No gate was evaluated: the run did not reach its analyze phase.",
        )]));
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

fn cross_checks(report: &Report, blocks: &mut Vec<Block>) {
    heading(blocks, 2, "Client against Prometheus", "cross-check");
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
    blocks.push(Block::Paragraph(vec![text(if report.prometheus.available {
        "Requests each version answered, as the clients counted them and as Prometheus's increase() over the same window saw them."
    } else {
        "Prometheus was not available, so the clients' counts could not be checked against the server's."
    })]));
    if rows.is_empty() {
        return;
    }
    blocks.push(Block::Table(Table {
        columns: vec![
            ("phase", Align::Left),
            ("version", Align::Left),
            ("verdict", Align::Left),
            ("clients", Align::Right),
            ("Prometheus", Align::Right),
            ("difference", Align::Right),
            ("allowed", Align::Right),
            ("query", Align::Left),
        ],
        rows,
    }));
}

fn steps(report: &Report, blocks: &mut Vec<Block>) {
    heading(blocks, 2, "Steps", "steps");
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
                StepResult::Ok => vec![text("ok")],
                StepResult::Skipped => vec![text("skipped")],
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
                vec![text(step.description.clone())],
                kubectl,
                vec![text(at)],
                vec![text(took)],
                result,
            ]
        })
        .collect();
    blocks.push(Block::Table(Table {
        columns: vec![
            ("#", Align::Right),
            ("step", Align::Left),
            ("kubectl", Align::Left),
            ("at", Align::Right),
            ("took", Align::Right),
            ("result", Align::Left),
        ],
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

fn events(report: &Report, blocks: &mut Vec<Block>) {
    if report.events.is_empty() {
        return;
    }
    heading(blocks, 2, "Platform events", "events");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &report.events {
        *counts.entry(event.reason.as_str()).or_default() += 1;
    }
    let counts: Vec<String> = counts.iter().map(|(r, n)| format!("{r} {n}")).collect();
    blocks.push(Block::Paragraph(vec![text(format!(
        "{} events: {}.",
        report.events.len(),
        counts.join(", ")
    ))]));
    let notable = notable_events(report);
    if !notable.is_empty() {
        blocks.push(Block::Table(Table {
            columns: vec![
                ("at", Align::Right),
                ("reason", Align::Left),
                ("object", Align::Left),
                ("message", Align::Left),
            ],
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

/// The run's notes, Prometheus's notes, and a word when Prometheus was missing.
pub(crate) fn notes(report: &Report) -> Vec<String> {
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
        notes.push(
            "Prometheus was not available: the charts and verdicts come from the clients' counts only, and the cross-check is inconclusive".to_string(),
        );
    }
    notes
}
