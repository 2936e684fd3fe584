//! `report.md`: the run's story for terminals and pull requests.

use lab_core::analysis::{Comparison, GateVerdict, Outcome, Unit, Verdict};
use lab_core::report::{Report, RunStatus, Section, StepResult, WindowReport};
use std::fmt::Write;

/// How a verdict reads in a table.
fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "**FAIL**",
        Verdict::Inconclusive => "inconclusive",
        Verdict::NotApplicable => "n/a",
    }
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Promoted => "promoted",
        Outcome::RolledBack => "rolled back",
    }
}

fn status(s: &RunStatus) -> String {
    match s {
        RunStatus::Completed => "completed".to_string(),
        RunStatus::Interrupted => "interrupted".to_string(),
        RunStatus::Failed { error } => format!("failed: {error}"),
    }
}

fn value(v: Option<f64>, unit: Unit) -> String {
    match (v, unit) {
        (None, _) => "–".to_string(),
        (Some(v), Unit::Ratio) => format!("{:.2}%", v * 100.0),
        (Some(v), Unit::Ms) => format!("{v:.1} ms"),
        (Some(v), Unit::Count) => format!("{v:.0}"),
    }
}

fn comparison(c: Comparison) -> &'static str {
    match c {
        Comparison::AtLeast => "≥",
        Comparison::AtMost => "≤",
        Comparison::Inside => "in",
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// Escape a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn gate_table(out: &mut String, gates: &[GateVerdict]) {
    let _ = writeln!(
        out,
        "| gate | version | verdict | measured | threshold | samples | source |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for g in gates {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} {} | {} | {} |",
            g.gate.as_str(),
            g.version,
            verdict(g.verdict),
            value(g.measured, g.unit),
            comparison(g.comparison),
            value(g.threshold, g.unit),
            g.samples,
            cell(&g.source),
        );
    }
    for g in gates {
        let _ = writeln!(
            out,
            "\n- {} ({}): {}",
            g.gate.as_str(),
            verdict(g.verdict),
            g.explanation
        );
    }
}

fn window_section(out: &mut String, window: &WindowReport) {
    let length = window.end_ms.saturating_sub(window.start_ms);
    let _ = writeln!(
        out,
        "\n### {} ({}, {} from {})\n",
        window.name,
        window.kind.as_str(),
        seconds(length),
        seconds(window.start_ms)
    );
    let _ = writeln!(
        out,
        "| version | requests | share | expected | interval | errors | p50 | p99 |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for split in &window.split {
        let tally = window.versions.get(&split.version);
        let errors = tally.map_or(0, |t| t.client_errors + t.server_errors);
        let latency = tally.and_then(|t| t.latency);
        let interval = split.interval.map_or_else(
            || "–".to_string(),
            |i| format!("{:.1}–{:.1}%", i.low * 100.0, i.high * 100.0),
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            split.version,
            split.requests,
            value(split.observed_share, Unit::Ratio),
            value(split.expected_share, Unit::Ratio),
            interval,
            errors,
            value(latency.map(|l| l.p50_ms), Unit::Ms),
            value(latency.map(|l| l.p99_ms), Unit::Ms),
        );
    }
    let failures = window.connection_failures.total();
    if failures > 0 {
        let f = &window.connection_failures;
        let _ = writeln!(
            out,
            "\nRequests without an answer: {failures} (refused {}, reset {}, timeout {}, other {}).",
            f.refused, f.reset, f.timeout, f.other
        );
    }
    if window.downtime.longest_ms > 0 {
        let _ = writeln!(
            out,
            "\nLongest time without a successful answer: {} (from {}).",
            seconds(window.downtime.longest_ms),
            seconds(window.downtime.start_ms)
        );
    }
    let restarted: Vec<String> = window
        .restarts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(v, n)| format!("{v}: {n}"))
        .collect();
    if !restarted.is_empty() {
        let _ = writeln!(out, "\nRestarts so far: {}.", restarted.join(", "));
    }
    if !window.gates.is_empty() {
        let _ = writeln!(out, "\nGates:\n");
        gate_table(out, &window.gates);
    }
    let checks: Vec<String> = window
        .cross_check
        .iter()
        .filter(|c| c.verdict != Verdict::NotApplicable)
        .map(|c| format!("- {} {}: {}", c.version, verdict(c.verdict), c.explanation))
        .collect();
    if !checks.is_empty() {
        let _ = writeln!(out, "\nClient against Prometheus:\n\n{}", checks.join("\n"));
    }
}

/// Render a report as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let verdict_line = if report.passed {
        "passed"
    } else {
        "**did not pass**"
    };
    let reached = report.outcome.map_or("no decision", outcome);
    let _ = writeln!(
        out,
        "# {}: {} (expected {}), {}\n",
        report.scenario,
        reached,
        outcome(report.expected),
        verdict_line
    );
    let _ = writeln!(out, "{}\n", report.description);
    let _ = writeln!(
        out,
        "- run: `{}`, started {}",
        report.run_id, report.started_at
    );
    let _ = writeln!(
        out,
        "- platform: {}, profile: {}",
        report.platform, report.profile
    );
    let _ = writeln!(out, "- status: {}", status(&report.status));
    let _ = writeln!(
        out,
        "- versions: baseline {}, candidate {}",
        report.roles.baseline.as_deref().unwrap_or("–"),
        report.roles.candidate
    );
    let prometheus = match (&report.prometheus.available, &report.prometheus.url) {
        (true, Some(url)) => format!("queried at {url}"),
        _ => "not available: client-side measurements only".to_string(),
    };
    let _ = writeln!(out, "- prometheus: {prometheus}");

    let _ = writeln!(out, "\n## Decision\n");
    match &report.decision {
        Some(decision) => {
            let _ = writeln!(out, "{}: {}\n", outcome(decision.outcome), decision.reason);
            let _ = writeln!(
                out,
                "Decided at {}, {} after the candidate began serving (or was applied), after {} analysis interval(s).",
                seconds(decision.decided_at_ms),
                seconds(decision.time_to_decision_ms),
                decision.analysis_intervals_elapsed
            );
            if !decision.gates.is_empty() {
                let _ = writeln!(out);
                gate_table(&mut out, &decision.gates);
            }
        }
        None => {
            let _ = writeln!(out, "No decision was reached.");
        }
    }

    let _ = writeln!(out, "\n## Phases");
    for window in &report.windows {
        window_section(&mut out, window);
    }

    let _ = writeln!(out, "\n## Steps\n");
    let _ = writeln!(out, "| # | step | kubectl | at | took | result |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for step in &report.steps {
        let number = match step.section {
            Section::Main => step.index.to_string(),
            Section::Rollback => format!("r{}", step.index),
        };
        let (at, took) = match (step.started_ms, step.finished_ms) {
            (Some(start), Some(end)) => (seconds(start), seconds(end.saturating_sub(start))),
            _ => ("–".to_string(), "–".to_string()),
        };
        let result = match &step.result {
            StepResult::Ok => "ok".to_string(),
            StepResult::Skipped => "skipped".to_string(),
            StepResult::Failed { message } => format!("failed: {message}"),
        };
        let _ = writeln!(
            out,
            "| {number} | {} | `{}` | {at} | {took} | {} |",
            cell(&step.description),
            cell(&step.kubectl.join("; ")),
            cell(&result)
        );
    }
    if !report.notes.is_empty() {
        let _ = writeln!(out, "\n## Notes\n");
        for note in &report.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}
