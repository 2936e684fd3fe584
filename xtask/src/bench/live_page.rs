//! What the live page costs a run: CPU time (user + system) of the whole
//! `lab run` process tree for a quick canary with the live page served and a
//! headless chromium on it (its script fetching the page's changing part every
//! second), against the same canary with `--no-live`, alternating.
//!
//! The tree's CPU time is read from this process's `cutime` and `cstime`
//! (`/proc/self/stat`) before and after `lab run`: `lab run` waits for every
//! process it starts (pods, Prometheus), so their time is in it. The browser
//! is ended and reaped only after the second reading, so the viewer's own
//! CPU is not counted: only what serving it costs the lab.

use super::setup::Bench;
use super::statistics::{Goal, Outcome, Side};
use crate::{prereq, shell};
use anyhow::{Context as _, bail};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Rounds unless `--rounds` says otherwise; each runs both sides.
const ROUNDS: usize = 3;
/// The live page may cost at most 5% more CPU: judged as `--no-live` / live,
/// which must stay at least 1 / 1.05.
const LIMIT: f64 = 1.05;
/// How long `lab run` may take to print its `live:` line.
const LIVE_LINE_LIMIT: Duration = Duration::from_secs(120);

fn lab_run(bench: &Bench, live: bool) -> Command {
    let mut command = Command::new(bench.binary("xtask"));
    command.args([
        "lab",
        "run",
        "canary",
        "--platform",
        "local",
        "--profile",
        "quick",
    ]);
    if !live {
        command.arg("--no-live");
    }
    command
}

fn browser(url: &str, profile: &Path) -> Command {
    let mut command = Command::new("chromium");
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url);
    command
}

/// The plan of `live-page-cpu`.
pub fn plan(bench: &Bench) -> Vec<String> {
    let rounds = bench.rounds_or(ROUNDS);
    vec![
        format!(
            "# needs {} on PATH (Debian package prometheus) and {} (Debian package chromium)",
            prereq::PROMETHEUS.binary,
            prereq::CHROMIUM.binary
        ),
        "cargo build -p demo-app   # done beforehand, so no compilation is timed".to_string(),
        format!(
            "# {rounds} rounds, the two sides alternating; CPU = cutime + cstime of the bench process around each run:"
        ),
        format!(
            "{}   # then, on its live: line:",
            shell::display(&lab_run(bench, true))
        ),
        format!(
            "{}   # kept open until the run ends",
            shell::display(&browser(
                "http://127.0.0.1:PORT/",
                Path::new("<new temp dir>")
            ))
        ),
        shell::display(&lab_run(bench, false)),
    ]
}

/// CPU seconds (user + system) of this process's waited-for children so far.
fn children_cpu() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("/proc/self/stat: no command name")?
        .1
        .split_whitespace()
        .collect();
    // cutime and cstime are fields 16 and 17 of the whole line: 14 and 15 here.
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("/proc/self/stat: too few fields")?
            .parse::<f64>()?)
    };
    Ok((ticks(13)? + ticks(14)?) / clock_ticks())
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The `live:` address in a run's log, once printed.
fn live_url(log: &Path, child: &mut Child) -> anyhow::Result<String> {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(url) = text.lines().find_map(|l| l.strip_prefix("live: ")) {
            return Ok(url.trim().to_string());
        }
        if child.try_wait()?.is_some() || started.elapsed() > LIVE_LINE_LIMIT {
            bail!("no live: line from lab run (see {})", log.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One `lab run`: the CPU seconds of its process tree.
fn cpu_of_run(bench: &Bench, round: usize, live: bool) -> anyhow::Result<(f64, String)> {
    let side = if live { "live" } else { "no-live" };
    let log_path = bench.scratch.join(format!("live-page-{round}-{side}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let mut command = lab_run(bench, live);
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    eprintln!(
        "  round {round}: {} (log: {})",
        shell::display(&command),
        log_path.display()
    );
    let before = children_cpu()?;
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", shell::display(&command)))?;
    // A new browser profile each time, nothing carried over.
    let profile = bench.scratch.join(format!("chromium-profile-{round}"));
    let _ = std::fs::remove_dir_all(&profile);
    let mut viewer = None;
    if live {
        let url = live_url(&log_path, &mut child)?;
        // Its own process group, so that the browser and its helpers end together.
        let started = browser(&url, &profile)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("starting chromium")?;
        viewer = Some(started);
    }
    let status = child.wait()?;
    let cpu = children_cpu()? - before;
    if let Some(mut viewer) = viewer {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", viewer.id())])
            .status();
        let _ = viewer.wait();
    }
    let _ = std::fs::remove_dir_all(&profile);
    if !status.success() {
        bail!("lab run failed ({status}); see {}", log_path.display());
    }
    Ok((cpu, format!("round {round} {side}: {cpu:.2} s CPU")))
}

/// CPU time of a quick canary with the live page and a browser on it,
/// against `--no-live`.
pub fn run(bench: &Bench) -> anyhow::Result<Outcome> {
    let rounds = bench.rounds_or(ROUNDS);
    shell::run(shell::cargo().args(["build", "--quiet", "-p", "demo-app"]))?;
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut notes = Vec::new();
    for round in 1..=rounds {
        // A then B, then B then A: a machine getting busier affects both alike.
        let order = if round % 2 == 1 {
            [false, true]
        } else {
            [true, false]
        };
        for live in order {
            let (cpu, note) = cpu_of_run(bench, round, live)?;
            if live {
                with.push(cpu);
            } else {
                without.push(cpu);
            }
            notes.push(note);
        }
    }
    Ok(Outcome {
        setup: format!(
            "the release xtask binary, `lab run canary --platform local --profile quick`, CPU time \
             (user + system) of its whole process tree (pods and Prometheus included), with the live \
             page served and headless chromium on it against `--no-live`, {rounds} alternating \
             round(s); judged as --no-live / live >= 1/{LIMIT} (the page costs less than {:.0}% more CPU)",
            (LIMIT - 1.0) * 100.0
        ),
        metric: "CPU s".to_string(),
        sides: vec![
            Side::new("--no-live", without),
            Side::new("live page + browser", with),
        ],
        goal: Goal::RatioAtLeast { ratio: 1.0 / LIMIT },
        notes,
    })
}
