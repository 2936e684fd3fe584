//! What `lab run` prints while it runs and when it ends.
//!
//! On a terminal (stderr, with `NO_COLOR` unset) a compact live block is redrawn
//! once a second below the event lines: the step, the phase timer, a bar per
//! version with its share and counts, errors and ready pods. Elsewhere the
//! events are plain lines. `--quiet` prints only the result.
//!
//! The teaching mode (`--step`, `--explain`) narrates each step before it runs,
//! and with `--step` waits for Enter on stdin; at the end of stdin it goes on
//! without pausing.

use lab_core::analysis::{Outcome, Verdict, WindowKind};
use lab_core::plan::Plan;
use lab_core::report::{Report, Section, StepResult};
use lab_core::run_event::{Progress, RunEvent, Timed};
use lab_report::narration::{self, Language};
use lab_runner::BeforeStep;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

/// How the teaching mode narrates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Teaching {
    /// Wait for Enter before each step (`--step`); else only narrate (`--explain`).
    pub pause: bool,
    /// The narration's language.
    pub language: Language,
}

/// Prints a run for people.
#[derive(Clone, Debug)]
pub struct Console {
    quiet: bool,
    /// Redraw a live block (a terminal, colours allowed).
    live: bool,
    /// The terminal's width, which the live block's lines never reach.
    width: usize,
    teaching: Option<Teaching>,
    screen: Arc<Mutex<Screen>>,
    /// The receiving end of the runner's `before_step` hook, taken by `follow`.
    pauses: Arc<Mutex<Option<UnboundedReceiver<BeforeStep>>>>,
}

/// What the live block shows and how much of it is on the screen.
#[derive(Debug, Default)]
struct Screen {
    /// Lines of the live block drawn below the last event line.
    drawn: usize,
    progress: Option<Progress>,
    /// No redraws while the teaching mode waits for Enter.
    suspended: bool,
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

/// Colours are for terminals that want them (<https://no-color.org>).
fn colours_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// The terminal's width: `COLUMNS` when the shell exports it, else what
/// `stty size` says about the controlling terminal, else 80.
fn terminal_width() -> usize {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok());
    let from_tty = || {
        let tty = std::fs::File::open("/dev/tty").ok()?;
        let out = std::process::Command::new("stty")
            .arg("size")
            .stdin(tty)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        text.split_whitespace().nth(1)?.parse::<usize>().ok()
    };
    from_env.or_else(from_tty).unwrap_or(80).clamp(72, 160)
}

/// The version colours of the charts, as ANSI: blue, orange, green, red, …
const VERSION_COLOURS: [&str; 8] = [
    "\x1b[38;5;32m",
    "\x1b[38;5;208m",
    "\x1b[38;5;34m",
    "\x1b[38;5;160m",
    "\x1b[38;5;98m",
    "\x1b[38;5;94m",
    "\x1b[38;5;170m",
    "\x1b[38;5;142m",
];
const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";

/// Cut a line to fit the terminal, so that it never wraps (a wrapped line would
/// throw off the redraw).
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() < width {
        text.to_string()
    } else {
        let cut: String = text.chars().take(width.saturating_sub(2)).collect();
        format!("{cut}…")
    }
}

fn bar(share: f64, cells: usize) -> String {
    let filled = ((share.clamp(0.0, 1.0) * cells as f64).round() as usize).min(cells);
    format!("{}{}", "█".repeat(filled), "░".repeat(cells - filled))
}

/// The live block for a progress report, one string per line.
fn live_block(progress: &Progress, width: usize, colour: bool) -> Vec<String> {
    let paint = |code: &str, text: &str| {
        if colour {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let mut lines = Vec::new();
    let step = progress.step.as_deref().unwrap_or("starting");
    lines.push(paint(BOLD, &fit(&format!("▶ {step}"), width)));
    let timer = match (&progress.window, progress.window_kind) {
        (Some(name), Some(kind)) => {
            let elapsed = progress.window_elapsed_ms as f64 / 1000.0;
            match progress.window_planned_ms {
                Some(planned) if kind != WindowKind::Transition => {
                    let planned_s = planned as f64 / 1000.0;
                    let done = if planned > 0 {
                        progress.window_elapsed_ms as f64 / planned as f64
                    } else {
                        1.0
                    };
                    format!(
                        "  phase {name} ({})  {elapsed:.1}s / {planned_s:.0}s  {}",
                        kind.as_str(),
                        bar(done, 20)
                    )
                }
                _ => format!("  transition {name}  {elapsed:.1}s"),
            }
        }
        _ => "  no traffic yet".to_string(),
    };
    lines.push(fit(&timer, width));
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
        let colour_code = VERSION_COLOURS[i % VERSION_COLOURS.len()];
        let label = fit(version, 12);
        lines.push(format!(
            "  {label:<12} {} {:>5.1}%  {requests:>7} answers  {:>4} errors  {ready:>2} ready",
            paint(colour_code, &bar(share, bar_cells)),
            share * 100.0,
            version_errors,
        ));
    }
    let failed = progress.failed_requests;
    let summary = format!("  errors {errors}, without an answer {failed}");
    lines.push(if errors + failed > 0 {
        paint(RED, &summary)
    } else {
        paint(DIM, &summary)
    });
    lines
}

/// A request for one line of stdin, and where the answer goes (`None` at its end).
type LineRequest = std::sync::mpsc::Sender<UnboundedSender<Option<String>>>;

/// A thread that reads stdin one line per request. A thread rather than a
/// blocking task, so that a read still waiting when the run ends never holds
/// the process up.
fn stdin_reader() -> LineRequest {
    let (requests, incoming) = std::sync::mpsc::channel::<UnboundedSender<Option<String>>>();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for answer in incoming {
            let mut line = String::new();
            let read = match stdin.lock().read_line(&mut line) {
                Ok(0) | Err(_) => None,
                Ok(_) => Some(line),
            };
            let _ = answer.send(read);
        }
    });
    requests
}

impl Console {
    /// A console; `quiet` prints only the result; `teaching` narrates the steps.
    pub fn new(quiet: bool, teaching: Option<Teaching>) -> Self {
        let live = !quiet && std::io::stderr().is_terminal() && colours_allowed();
        Self {
            quiet,
            live,
            width: if live { terminal_width() } else { 80 },
            teaching,
            screen: Arc::new(Mutex::new(Screen::default())),
            pauses: Arc::new(Mutex::new(None)),
        }
    }

    /// The runner's `before_step` hook, when the teaching mode is on.
    pub fn teaching_hook(&self) -> Option<UnboundedSender<BeforeStep>> {
        self.teaching?;
        let (hook, pauses) = mpsc::unbounded_channel();
        *self.pauses.lock().unwrap() = Some(pauses);
        Some(hook)
    }

    /// Print text above the live block (and redraw the block under it).
    fn print(&self, text: &str) {
        let mut screen = self.screen.lock().unwrap();
        let mut out = String::new();
        if self.live && screen.drawn > 0 {
            out.push_str(&format!("\x1b[{}F\x1b[J", screen.drawn));
            screen.drawn = 0;
        }
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
        if self.live && !screen.suspended {
            out.push_str(&self.draw(&mut screen));
        }
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(out.as_bytes());
        let _ = stderr.flush();
    }

    /// The live block as text, and how many lines it takes.
    fn draw(&self, screen: &mut Screen) -> String {
        let Some(progress) = &screen.progress else {
            return String::new();
        };
        let lines = live_block(progress, self.width, true);
        screen.drawn = lines.len();
        let mut out = lines.join("\n");
        out.push('\n');
        out
    }

    /// Redraw the live block with new progress.
    fn update(&self, progress: Progress) {
        let mut screen = self.screen.lock().unwrap();
        screen.progress = Some(progress);
        if screen.suspended {
            return;
        }
        let mut out = String::new();
        if screen.drawn > 0 {
            out.push_str(&format!("\x1b[{}F\x1b[J", screen.drawn));
        }
        out.push_str(&self.draw(&mut screen));
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(out.as_bytes());
        let _ = stderr.flush();
    }

    /// Take the live block off the screen, for good.
    fn clear(&self) {
        let mut screen = self.screen.lock().unwrap();
        screen.progress = None;
        if self.live && screen.drawn > 0 {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\x1b[{}F\x1b[J", screen.drawn);
            let _ = stderr.flush();
            screen.drawn = 0;
        }
    }

    fn suspend(&self, suspended: bool) {
        let mut screen = self.screen.lock().unwrap();
        screen.suspended = suspended;
        if suspended && self.live && screen.drawn > 0 {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\x1b[{}F\x1b[J", screen.drawn);
            let _ = stderr.flush();
            screen.drawn = 0;
        }
    }

    /// One line, unless quiet.
    pub fn line(&self, text: &str) {
        if !self.quiet {
            self.print(text);
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

    /// Print events as they come until the run ends; narrate (and pause before)
    /// each step in the teaching mode.
    pub async fn follow(self, mut events: UnboundedReceiver<Timed>, plan: Plan) {
        let mut pauses = self.pauses.lock().unwrap().take();
        let mut reader: Option<LineRequest> = None;
        let mut pausing = self.teaching.is_some_and(|t| t.pause);
        // The step waiting for Enter, and the line it waits for.
        let mut waiting: Option<(
            tokio::sync::oneshot::Sender<()>,
            UnboundedReceiver<Option<String>>,
        )> = None;
        loop {
            tokio::select! {
                // Events sent before a step's pause are printed before its narration.
                biased;
                event = events.recv() => {
                    let Some(timed) = event else { break };
                    match timed.event {
                        RunEvent::Progress(progress) if self.live => self.update(progress),
                        _ => {
                            if let Some(text) = self.describe(&timed) {
                                self.line(&format!("{} {text}", seconds(timed.t_ms)));
                            }
                        }
                    }
                }
                pause = async { pauses.as_mut()?.recv().await }, if pauses.is_some() && waiting.is_none() => {
                    let Some(pause) = pause else {
                        pauses = None;
                        continue;
                    };
                    self.narrate(&plan, &pause, pausing);
                    if pausing {
                        self.suspend(true);
                        let (answer, line) = mpsc::unbounded_channel();
                        let requests = reader.get_or_insert_with(stdin_reader);
                        if requests.send(answer).is_ok() {
                            waiting = Some((pause.resume, line));
                        } else {
                            self.suspend(false);
                            let _ = pause.resume.send(());
                        }
                    } else {
                        let _ = pause.resume.send(());
                    }
                }
                line = async { waiting.as_mut()?.1.recv().await.flatten() }, if waiting.is_some() => {
                    let Some((resume, _)) = waiting.take() else { continue };
                    if line.is_none() {
                        pausing = false;
                        let language = self.teaching.map_or(Language::English, |t| t.language);
                        self.line(&format!("         {}", narration::no_more_pauses(language)));
                    }
                    self.suspend(false);
                    let _ = resume.send(());
                }
            }
        }
        self.clear();
    }

    /// The narration of the step about to run.
    fn narrate(&self, plan: &Plan, pause: &BeforeStep, pausing: bool) {
        let Some(teaching) = self.teaching else {
            return;
        };
        let index = pause.step.index.saturating_sub(1) as usize;
        let mut text = String::new();
        match lab_report::narrate(plan, pause.step.section, index, teaching.language) {
            Some(narration) => {
                text.push_str(&format!("         ── {} ──\n", narration.heading));
                for line in &narration.lines {
                    text.push_str(&format!("         {line}\n"));
                }
                text.push_str(&format!("         $ {}", narration.kubectl));
            }
            // A step the plan does not know: say what the runner says.
            None => text.push_str(&format!(
                "         {}\n         $ {}",
                pause.step.description, pause.step.kubectl
            )),
        }
        if pausing {
            text.push_str(&format!(
                "\n         [{}]",
                narration::prompt(teaching.language)
            ));
        }
        self.line(&text);
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
            RunEvent::TrafficStarted {
                url,
                rate,
                keep_alive,
            } => match keep_alive {
                None => format!("traffic: {rate} requests/s to {url}, a new connection each"),
                Some(n) => {
                    format!("traffic: {rate} requests/s to {url} over {n} kept-alive connections")
                }
            },
            RunEvent::WindowOpened {
                name,
                kind: WindowKind::Observe | WindowKind::Analyze,
                planned_ms: Some(ms),
                ..
            } => {
                format!("phase {name} for {:.0}s", *ms as f64 / 1000.0)
            }
            RunEvent::WindowClosed {
                name,
                kind: WindowKind::Observe | WindowKind::Analyze,
                answers,
                failed_requests,
                ..
            } => {
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
            RunEvent::Interim { verdict, .. } => format!("  gates: {}", verdict.as_str()),
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
            for window in report
                .windows
                .iter()
                .filter(|w| w.kind != WindowKind::Transition)
            {
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
        println!("  report: {}", run_dir.join("report.html").display());
        println!(
            "          {} (and junit.xml, the charts as SVG)",
            run_dir.join("report.md").display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::run_event::VersionProgress;
    use std::collections::BTreeMap;

    fn progress() -> Progress {
        Progress {
            step: Some(
                "analyze phase `canary` for 8s, checking the gates every 2s: promote or roll back"
                    .to_string(),
            ),
            window: Some("canary".to_string()),
            window_kind: Some(WindowKind::Analyze),
            window_leads_to: None,
            window_elapsed_ms: 4000,
            window_planned_ms: Some(8000),
            versions: [
                (
                    "v1.0.0".to_string(),
                    VersionProgress {
                        requests: 360,
                        errors: 0,
                        share: 0.9,
                    },
                ),
                (
                    "v2.0.0".to_string(),
                    VersionProgress {
                        requests: 40,
                        errors: 2,
                        share: 0.1,
                    },
                ),
            ]
            .into(),
            failed_requests: 1,
            ready: BTreeMap::from([("v1.0.0".to_string(), 9), ("v2.0.0".to_string(), 1)]),
        }
    }

    #[test]
    fn the_live_block_shows_step_timer_bars_and_ready_pods() {
        let lines = live_block(&progress(), 80, false);
        let check = |i: usize, expected: &str| {
            assert_eq!(lines[i], expected, "line {i}");
        };
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(lines.iter().all(|l| l.chars().count() < 80), "{lines:#?}");
        check(
            0,
            "▶ analyze phase `canary` for 8s, checking the gates every 2s: promote or roll …",
        );
        check(
            1,
            "  phase canary (analyze)  4.0s / 8s  ██████████░░░░░░░░░░",
        );
        check(
            2,
            "  v1.0.0       ██████████████░░  90.0%      360 answers     0 errors   9 ready",
        );
        check(
            3,
            "  v2.0.0       ██░░░░░░░░░░░░░░  10.0%       40 answers     2 errors   1 ready",
        );
        check(4, "  errors 2, without an answer 1");
    }

    #[test]
    fn versions_that_are_gone_leave_the_live_block() {
        let mut gone = progress();
        gone.versions.get_mut("v1.0.0").unwrap().requests = 0;
        gone.ready.insert("v1.0.0".to_string(), 0);
        let lines = live_block(&gone, 80, false);
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[2].starts_with("  v2.0.0 "), "{lines:#?}");
    }

    #[test]
    fn the_live_block_fits_narrow_terminals_and_waits_for_traffic() {
        let mut quiet = progress();
        quiet.window = None;
        quiet.window_kind = None;
        quiet.versions.clear();
        let lines = live_block(&quiet, 72, false);
        assert_eq!(lines[1], "  no traffic yet");
        assert!(lines.iter().all(|l| l.chars().count() < 72), "{lines:#?}");
        assert_eq!(lines[0].chars().count(), 71);
    }

    #[test]
    fn colours_wrap_the_bars_only_when_asked() {
        let plain = live_block(&progress(), 80, false).join("\n");
        assert!(!plain.contains('\x1b'));
        let coloured = live_block(&progress(), 80, true).join("\n");
        assert!(coloured.contains("\x1b[38;5;208m"), "v2 is orange");
    }
}
