//! What `lab run` prints while it runs and when it ends.

use lab_core::analysis::{Outcome, Verdict};
use lab_core::plan::Plan;
use lab_core::report::{Report, Section, StepResult};
use lab_runner::{RunEvent, Timed};
use std::path::Path;
use tokio::sync::mpsc::UnboundedReceiver;

/// Prints a run for people.
#[derive(Clone, Debug)]
pub struct Console {
    quiet: bool,
}

fn seconds(ms: u64) -> String {
    format!("{:6.1}s", ms as f64 / 1000.0)
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Promoted => "promoted",
        Outcome::RolledBack => "rolled back",
    }
}

impl Console {
    /// A console; `quiet` prints only the result.
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    /// One line, unless quiet.
    pub fn line(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// What is about to run.
    pub fn header(&self, plan: &Plan, platform: &str, run_dir: &Path) {
        self.line(&format!(
            "{}: {} on {}, profile {} ({} req/s); expected: {}",
            plan.scenario,
            plan.description,
            platform,
            plan.profile.name.as_str(),
            plan.profile.rate,
            outcome(plan.expected)
        ));
        self.line(&format!("run directory {}", run_dir.display()));
    }

    /// Print events as they come until the run ends.
    pub async fn follow(self, mut events: UnboundedReceiver<Timed>) {
        while let Some(timed) = events.recv().await {
            if let Some(text) = self.describe(&timed) {
                self.line(&format!("{} {text}", seconds(timed.t_ms)));
            }
        }
    }

    fn describe(&self, timed: &Timed) -> Option<String> {
        Some(match &timed.event {
            RunEvent::StepStarted {
                index,
                section,
                description,
                kubectl,
            } => {
                let number = match section {
                    Section::Main => format!("step {index}"),
                    Section::Rollback => format!("rollback {index}"),
                };
                format!("{number}: {description}\n         $ {kubectl}")
            }
            RunEvent::StepFinished {
                result: StepResult::Failed { message },
                ..
            } => format!("  failed: {message}"),
            RunEvent::TrafficStarted { url, rate } => {
                format!("traffic: {rate} requests/s to {url}, a new connection each")
            }
            RunEvent::WindowOpened {
                name,
                planned_ms: Some(ms),
                ..
            } => {
                format!("phase {name} for {:.0}s", *ms as f64 / 1000.0)
            }
            RunEvent::WindowClosed {
                name,
                answers,
                failed_requests,
            } if !name.starts_with('→') => {
                let total: u64 = answers.values().sum::<u64>().max(1);
                let split: Vec<String> = answers
                    .iter()
                    .map(|(v, n)| format!("{v} {n} ({:.1}%)", *n as f64 * 100.0 / total as f64))
                    .collect();
                format!(
                    "phase {name} done: {}; {failed_requests} failed",
                    split.join(", ")
                )
            }
            RunEvent::Interim { verdict, .. } => format!("  gates: {verdict}"),
            RunEvent::Decision { outcome: o, reason } => {
                format!("decision: {}: {reason}", outcome(*o))
            }
            RunEvent::Note { message } => format!("note: {message}"),
            // Scale-downs stop pods all the time; faults and restarts are news.
            RunEvent::Platform {
                reason,
                object,
                message,
            } if matches!(reason.as_str(), "BackOff" | "Unhealthy" | "Failed")
                || message.contains("fault injection") =>
            {
                format!("  {object}: {message}")
            }
            _ => return None,
        })
    }

    /// The result: per phase the split, the gates, the decision and where the report is.
    pub fn summary(&self, report: &Report, run_dir: &Path) {
        let verdict = |v: Verdict| match v {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotApplicable => "n/a",
        };
        if !self.quiet {
            eprintln!();
            for window in report.windows.iter().filter(|w| !w.name.starts_with('→')) {
                let shares: Vec<String> = window
                    .split
                    .iter()
                    .map(|s| {
                        let pct = |x: Option<f64>| {
                            x.map_or("–".to_string(), |x| format!("{:.1}%", x * 100.0))
                        };
                        format!(
                            "{} {} (expected {}, {})",
                            s.version,
                            pct(s.observed_share),
                            pct(s.expected_share),
                            verdict(s.verdict)
                        )
                    })
                    .collect();
                eprintln!("phase {:<12} {}", window.name, shares.join("; "));
                for gate in &window.gates {
                    eprintln!(
                        "  gate {:<16} {:<12} {}",
                        gate.gate.as_str(),
                        verdict(gate.verdict),
                        gate.explanation
                    );
                }
            }
        }
        let reached = report.outcome.map_or("no decision", outcome);
        let result = if report.passed {
            "passed"
        } else {
            "did not pass"
        };
        println!(
            "{}: {reached} (expected {}): {result}",
            report.scenario,
            outcome(report.expected)
        );
        if let Some(decision) = &report.decision {
            println!("  {}", decision.reason);
            println!(
                "  decided {:.1}s after the candidate began serving (or was applied), after {} analysis interval(s)",
                decision.time_to_decision_ms as f64 / 1000.0,
                decision.analysis_intervals_elapsed
            );
        }
        println!("  report: {}", run_dir.join("report.md").display());
    }
}
