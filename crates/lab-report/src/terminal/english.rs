//! The terminal's messages in English.

use super::columns::{CONTINUATION, pad};
use super::messages::{Message, ShareLine};
use crate::i18n::Localized;
use crate::terms::Term;
use lab_core::analysis::{Outcome, Verdict};
use lab_core::plan::Step;
use lab_core::report::Section;

fn outcome(o: Outcome) -> String {
    Term::Outcome(o).english()
}

fn verdict(v: Verdict) -> String {
    Term::Verdict(v).english()
}

fn percent(x: Option<f64>) -> String {
    x.map_or("–".to_string(), |x| format!("{:.1}%", x * 100.0))
}

fn share(s: &ShareLine<'_>) -> String {
    format!(
        "{} {} (expected {}, {})",
        s.version,
        percent(s.observed),
        percent(s.expected),
        verdict(s.verdict)
    )
}

/// What a step does: the plan's own words.
pub(super) fn describe_step(step: &Step) -> String {
    step.describe()
}

pub(super) fn say(message: &Message<'_>) -> String {
    match message {
        Message::Header {
            scenario,
            description,
            platform,
            profile,
            rate,
            expected,
        } => format!(
            "{scenario}: {description} on {platform}, profile {profile} ({rate} req/s); expected: {}",
            outcome(*expected)
        ),
        Message::RunDirectory(dir) => format!("run directory {dir}"),
        // The runner's description is already the plan's own words.
        Message::StepStarted {
            number,
            description,
            step: _,
            kubectl,
        } => {
            let number = match number.section {
                Section::Main => format!("step {}", number.index),
                Section::Rollback => format!("rollback {}", number.index),
            };
            format!("{number}: {description}\n{CONTINUATION}$ {kubectl}")
        }
        Message::StepFailed(message) => format!("  failed: {message}"),
        Message::Traffic {
            rate,
            url,
            keep_alive: None,
        } => format!("traffic: {rate} requests/s to {url}, a new connection each"),
        Message::Traffic {
            rate,
            url,
            keep_alive: Some(n),
        } => format!("traffic: {rate} requests/s to {url} over {n} kept-alive connections"),
        Message::PhaseOpened { name, planned_ms } => {
            format!("phase {name} for {:.0}s", *planned_ms as f64 / 1000.0)
        }
        Message::PhaseClosed {
            name,
            answered,
            failed,
        } => {
            let split: Vec<String> = answered
                .iter()
                .map(|a| format!("{} {} ({:.1}%)", a.version, a.count, a.percent))
                .collect();
            format!("phase {name} done: {}; {failed} failed", split.join(", "))
        }
        Message::Interim(look) => format!("  gates: {}", Term::Interim(*look).english()),
        Message::Decision { outcome: o, reason } => {
            format!("decision: {}: {reason}", outcome(*o))
        }
        Message::Note(message) => format!("note: {message}"),
        Message::PlatformEvent { object, message } => format!("  {object}: {message}"),
        Message::LiveStep(step) => format!("▶ {}", step.unwrap_or("starting")),
        Message::PhaseTimer {
            name,
            kind,
            elapsed_ms,
            planned_ms,
        } => format!(
            "  phase {name} ({})  {:.1}s / {:.0}s",
            Term::WindowKind(*kind).english(),
            *elapsed_ms as f64 / 1000.0,
            *planned_ms as f64 / 1000.0
        ),
        Message::TransitionTimer { name, elapsed_ms } => {
            format!("  transition {name}  {:.1}s", *elapsed_ms as f64 / 1000.0)
        }
        Message::NoTraffic => "  no traffic yet".to_string(),
        Message::VersionCounts {
            share,
            requests,
            errors,
            ready,
        } => format!(
            " {:>5.1}%  {requests:>7} answers  {errors:>4} errors  {ready:>2} ready",
            share * 100.0
        ),
        Message::Errors { errors, failed } => {
            format!("  errors {errors}, without an answer {failed}")
        }
        Message::SummaryPhase { name, shares } => {
            let shares: Vec<String> = shares.iter().map(share).collect();
            format!("phase {} {}", pad(name, 12), shares.join("; "))
        }
        Message::SummaryGate {
            gate,
            verdict: v,
            explanation,
        } => format!(
            "  gate {} {} {explanation}",
            pad(gate, 16),
            pad(&verdict(*v), 12)
        ),
        // The report's own title block, so the terminal and the report agree.
        Message::Title {
            report_title: Some(title),
            ..
        } => (*title).to_string(),
        Message::Title {
            scenario,
            reached,
            expected,
            passed,
            report_title: None,
        } => format!(
            "{scenario}: {} (expected {}), {}",
            reached.map_or_else(|| "no decision".to_string(), outcome),
            outcome(*expected),
            if *passed { "passed" } else { "did not pass" }
        ),
        Message::Decided {
            time_to_decision_ms,
            intervals,
        } => format!(
            "  decided {:.1}s after the candidate began serving (or was applied), after {intervals} analysis interval(s)",
            *time_to_decision_ms as f64 / 1000.0
        ),
        Message::ReportAt(path) => format!("  report: {path}"),
        Message::ReportMdAt(path) => {
            format!("          {path} (and junit.xml, the charts as SVG)")
        }
    }
}
