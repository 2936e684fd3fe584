//! `junit.xml`: a run as a test suite, for CI systems that read JUnit.
//!
//! One `testsuite` named after the scenario holds a `testcase` for whether the
//! expected outcome was met, one per gate verdict, and one per judged split and
//! cross-check verdict (transitions are not judged). A `fail` verdict is a
//! `failure` with the verdict's explanation; `inconclusive` and
//! `not_applicable` are `skipped` with theirs. In a scenario that expects a roll
//! back, a gate that fails is what the scenario is for: its testcase passes and
//! says the gate failed as expected, so a CI report is red only when the lab
//! did not do what the scenario expects.

use crate::document::outcome_text;
use crate::xml;
use lab_core::analysis::{Outcome, Unit, Verdict, WindowKind};
use lab_core::report::{Report, RunStatus};
use std::fmt::Write;

/// One testcase.
struct Case {
    name: String,
    classname: String,
    time_s: f64,
    verdict: Verdict,
    /// One line: what was measured and why it passed or not.
    message: String,
    /// The numbers behind it, one per line.
    details: String,
}

fn number(v: Option<f64>, unit: Unit) -> String {
    crate::document::value(v, unit)
}

fn cases(report: &Report) -> Vec<Case> {
    let run_s = run_seconds(report);
    let (verdict, message) = expected_outcome(report);
    let mut cases = vec![Case {
        name: format!("expected outcome: {}", outcome_text(report.expected)),
        classname: report.scenario.clone(),
        time_s: run_s,
        verdict,
        message,
        details: format!(
            "expected: {}\noutcome: {}\nstatus: {}\ndecision: {}\nsource: the run's status and decision",
            report.expected.as_str(),
            report.outcome.map_or("none", |o| o.as_str()),
            match report.status {
                RunStatus::Completed => "completed",
                RunStatus::Interrupted => "interrupted",
                RunStatus::Failed { .. } => "failed",
            },
            report
                .decision
                .as_ref()
                .map_or("none", |d| d.reason.as_str()),
        ),
    }];
    let mut any_gates = false;
    for window in &report.windows {
        // Transitions are shown, not judged.
        let judged = window.kind != WindowKind::Transition;
        let classname = format!("{}.{}", report.scenario, window.name);
        let time_s = window.end_ms.saturating_sub(window.start_ms) as f64 / 1000.0;
        for gate in &window.gates {
            any_gates = true;
            cases.push(gate_case(gate, &classname, time_s, report.expected));
        }
        for split in window
            .split
            .iter()
            .filter(|s| judged && s.verdict != Verdict::NotApplicable)
        {
            let share =
                |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{:.2}%", v * 100.0));
            cases.push(Case {
                name: format!("split {}", split.version),
                classname: classname.clone(),
                time_s,
                verdict: split.verdict,
                message: split.explanation.clone(),
                details: format!(
                    "observed share: {}\nexpected share: {}\ninterval: {}\nconfidence: {}\nrequests: {} of {}\nsource: {}",
                    share(split.observed_share),
                    share(split.expected_share),
                    split.interval.map_or("–".to_string(), |i| format!(
                        "{:.2}–{:.2}%",
                        i.low * 100.0,
                        i.high * 100.0
                    )),
                    split.confidence,
                    split.requests,
                    split.samples,
                    split.source
                ),
            });
        }
        for check in window
            .cross_check
            .iter()
            .filter(|c| judged && c.verdict != Verdict::NotApplicable)
        {
            let count = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1}"));
            cases.push(Case {
                name: format!("cross-check {}", check.version),
                classname: classname.clone(),
                time_s,
                verdict: check.verdict,
                message: check.explanation.clone(),
                details: format!(
                    "client count: {}\nserver count: {}\ndifference: {}\nallowed difference: {}\nsource: {}",
                    check.client_count,
                    count(check.server_count),
                    count(check.difference),
                    count(check.allowed_difference),
                    check.source
                ),
            });
        }
    }
    // A decision taken on gates no window kept (an interrupted analysis) still counts.
    if !any_gates && let Some(decision) = &report.decision {
        let classname = format!("{}.decision", report.scenario);
        for gate in &decision.gates {
            cases.push(gate_case(gate, &classname, 0.0, report.expected));
        }
    }
    cases
}

fn gate_case(
    gate: &lab_core::analysis::GateVerdict,
    classname: &str,
    time_s: f64,
    expected: Outcome,
) -> Case {
    let (verdict, message) = match (gate.verdict, expected) {
        (Verdict::Fail, Outcome::RolledBack) => (
            Verdict::Pass,
            format!("failed, as the scenario expects: {}", gate.explanation),
        ),
        (verdict, _) => (verdict, gate.explanation.clone()),
    };
    Case {
        name: format!("gate {} ({})", gate.gate.as_str(), gate.version),
        classname: classname.to_string(),
        time_s,
        verdict,
        message,
        details: format!(
            "measured: {}\nthreshold: {} {}\nsamples: {}\nsource: {}",
            number(gate.measured, gate.unit),
            gate.comparison.symbol(),
            number(gate.threshold, gate.unit),
            gate.samples,
            gate.source
        ) + &gate
            .sensitivity
            .as_ref()
            .map(|s| format!("\ncan detect: {}", s.describe()))
            .unwrap_or_default(),
    }
}

/// Whether the run met its expected outcome, as a verdict and a line.
fn expected_outcome(report: &Report) -> (Verdict, String) {
    if report.passed {
        return (
            Verdict::Pass,
            format!("{} as expected", outcome_text(report.expected)),
        );
    }
    let message = match &report.status {
        RunStatus::Interrupted => "the run was interrupted before it finished".to_string(),
        RunStatus::Failed { error } => format!("the run failed: {error}"),
        RunStatus::Completed => match report.outcome {
            Some(outcome) => format!(
                "expected {}, got {}",
                outcome_text(report.expected),
                outcome_text(outcome)
            ),
            None => format!(
                "expected {}, but no decision was reached",
                outcome_text(report.expected)
            ),
        },
    };
    (Verdict::Fail, message)
}

/// The run's length: to its last window, step or decision.
fn run_seconds(report: &Report) -> f64 {
    let end = report
        .windows
        .iter()
        .map(|w| w.end_ms)
        .chain(report.steps.iter().filter_map(|s| s.finished_ms))
        .chain(report.decision.as_ref().map(|d| d.decided_at_ms))
        .max()
        .unwrap_or(0);
    end as f64 / 1000.0
}

/// Render a report as JUnit XML.
pub fn junit(report: &Report) -> String {
    let cases = cases(report);
    let failures = cases.iter().filter(|c| c.verdict == Verdict::Fail).count();
    let skipped = cases
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Inconclusive | Verdict::NotApplicable))
        .count();
    let time = format!("{:.3}", run_seconds(report));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        r#"<testsuites name="canary-lab" tests="{}" failures="{failures}" errors="0" skipped="{skipped}" time="{time}">"#,
        cases.len()
    );
    let _ = writeln!(
        out,
        r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="{skipped}" time="{time}" timestamp="{}">"#,
        xml::attr(&report.scenario),
        cases.len(),
        xml::attr(&report.started_at)
    );
    out.push_str("    <properties>\n");
    let properties = [
        ("run_id", report.run_id.clone()),
        ("platform", report.platform.clone()),
        ("profile", report.profile.clone()),
        ("expected", report.expected.as_str().to_string()),
        (
            "outcome",
            report
                .outcome
                .map_or("none".to_string(), |o| o.as_str().to_string()),
        ),
        ("passed", report.passed.to_string()),
    ];
    for (name, value) in properties {
        let _ = writeln!(
            out,
            r#"      <property name="{name}" value="{}"/>"#,
            xml::attr(&value)
        );
    }
    out.push_str("    </properties>\n");
    for case in &cases {
        let open = format!(
            r#"    <testcase name="{}" classname="{}" time="{:.3}""#,
            xml::attr(&case.name),
            xml::attr(&case.classname),
            case.time_s
        );
        match case.verdict {
            Verdict::Pass => {
                let _ = writeln!(
                    out,
                    "{open}>\n      <system-out>{}</system-out>\n    </testcase>",
                    xml::text(&format!("{}\n{}", case.message, case.details))
                );
            }
            Verdict::Fail => {
                let _ = writeln!(
                    out,
                    "{open}>\n      <failure message=\"{}\" type=\"fail\">{}</failure>\n    </testcase>",
                    xml::attr(&case.message),
                    xml::text(&case.details)
                );
            }
            Verdict::Inconclusive | Verdict::NotApplicable => {
                let _ = writeln!(
                    out,
                    "{open}>\n      <skipped message=\"{}: {}\"/>\n    </testcase>",
                    case.verdict.as_str(),
                    xml::attr(&case.message)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
