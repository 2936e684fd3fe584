//! What `lab run` prints while it runs and when it ends. The words come from
//! `lab_report::terminal` (in English or Korean); this module does the
//! terminal's I/O: colours, redrawing the live block, the teaching mode's pauses.
//!
//! On a terminal (stderr, with `NO_COLOR` unset) a compact live block is redrawn
//! once a second below the event lines: the step, the phase timer, a bar per
//! version with its share and counts, errors and ready pods. Elsewhere the
//! events are plain lines. `--quiet` prints only the result.
//!
//! The teaching mode (`--step`, `--explain`) narrates each step before it runs,
//! and with `--step` waits for Enter on stdin; at the end of stdin it goes on
//! without pausing.

use lab_core::plan::Plan;
use lab_core::report::Report;
use lab_core::run_event::{Progress, RunEvent, Timed};
use lab_report::Language;
use lab_report::narration;
use lab_report::terminal::{self, CONTINUATION, Style, Styled};
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
    /// The language of every line.
    language: Language,
    /// The plan, once known: it tells the steps in the console's language.
    plan: Arc<Mutex<Option<Plan>>>,
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

/// A styled line as the terminal draws it: with colours, or without.
fn paint(line: &[Styled], colour: bool) -> String {
    line.iter()
        .map(|piece| {
            let code = match piece.style {
                Style::Plain => None,
                Style::Bold => Some(BOLD),
                Style::Dim => Some(DIM),
                Style::Alert => Some(RED),
                Style::Version(i) => Some(VERSION_COLOURS[i % VERSION_COLOURS.len()]),
            };
            match code {
                Some(code) if colour => format!("{code}{}{RESET}", piece.text),
                _ => piece.text.clone(),
            }
        })
        .collect()
}

/// The live block for a progress report, one string per line.
fn live_block(
    progress: &Progress,
    plan: Option<&Plan>,
    width: usize,
    colour: bool,
    language: Language,
) -> Vec<String> {
    terminal::live_block(progress, plan, width, language)
        .iter()
        .map(|line| paint(line, colour))
        .collect()
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
    pub fn new(quiet: bool, teaching: Option<Teaching>, language: Language) -> Self {
        let live = !quiet && std::io::stderr().is_terminal() && colours_allowed();
        Self {
            quiet,
            live,
            width: if live { terminal_width() } else { 80 },
            teaching,
            language,
            plan: Arc::new(Mutex::new(None)),
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
        let plan = self.plan.lock().unwrap();
        let lines = live_block(progress, plan.as_ref(), self.width, true, self.language);
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
        *self.plan.lock().unwrap() = Some(plan.clone());
        let dir = run_dir.display().to_string();
        for line in terminal::header(plan, platform, &dir, self.language) {
            self.line(&line);
        }
    }

    /// A remark before the run starts, as the event lines say it.
    pub fn note(&self, message: &str) {
        self.line(&terminal::note(message, self.language));
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
                            if let Some(text) = terminal::event_line(&timed, Some(&plan), self.language) {
                                self.line(&text);
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
                        self.line(&format!("{CONTINUATION}{}", narration::no_more_pauses(self.language)));
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
        if self.teaching.is_none() {
            return;
        }
        let index = pause.step.index.saturating_sub(1) as usize;
        let mut text = String::new();
        match lab_report::narrate(plan, pause.step.section, index, self.language) {
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
                narration::prompt(self.language)
            ));
        }
        self.line(&text);
    }

    /// The result: per phase the split, the gates, the decision and where the
    /// report is (the result also when quiet, on stdout).
    pub fn summary(&self, report: &Report, run_dir: &Path) {
        let summary = terminal::summary(report, run_dir, self.language);
        if !self.quiet {
            eprintln!();
            for line in &summary.details {
                eprintln!("{line}");
            }
        }
        for line in &summary.result {
            println!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::analysis::WindowKind;
    use lab_core::run_event::VersionProgress;
    use std::collections::BTreeMap;

    fn progress() -> Progress {
        Progress {
            step: Some("observe phase `canary` for 8s".to_string()),
            window: Some("canary".to_string()),
            window_kind: Some(WindowKind::Observe),
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
                        errors: 0,
                        share: 0.1,
                    },
                ),
            ]
            .into(),
            failed_requests: 0,
            ready: BTreeMap::from([("v1.0.0".to_string(), 9), ("v2.0.0".to_string(), 1)]),
        }
    }

    #[test]
    fn colours_wrap_the_bars_only_when_asked() {
        let plain = live_block(&progress(), None, 80, false, Language::English).join("\n");
        assert!(!plain.contains('\x1b'));
        let coloured = live_block(&progress(), None, 80, true, Language::English).join("\n");
        assert!(coloured.contains("\x1b[38;5;208m"), "v2 is orange");
        assert!(coloured.contains(&format!("{DIM}  errors 0")), "{coloured}");
    }
}
