//! The lab itself, timed: a whole `lab run` process, and how soon a bad canary
//! is rolled back once it is ready.

use super::setup::Bench;
use super::statistics::{Goal, Outcome, Side};
use crate::lab::local::run_dirs;
use crate::{prereq, shell};
use anyhow::{Context as _, bail};
use lab_core::plan::{Profile, ProfileName};
use lab_core::report::Report;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Rounds of each lab comparison unless `--rounds` says otherwise.
const ROUNDS: usize = 3;
/// The profile both comparisons run.
const PROFILE: ProfileName = ProfileName::Quick;

fn lab_run(bench: &Bench, scenario: &str) -> Command {
    let mut command = Command::new(bench.binary("xtask"));
    command.args(["lab", "run", scenario, "--platform", "local"]);
    command.args(["--profile", PROFILE.as_str()]);
    command
}

fn plan(bench: &Bench, scenario: &str, what: &str) -> Vec<String> {
    let rounds = bench.rounds_or(ROUNDS);
    vec![
        format!(
            "# needs {} on PATH (Debian package prometheus)",
            prereq::PROMETHEUS.binary
        ),
        "cargo build --release -p demo-app   # `lab run` builds it first: done beforehand, so no compilation is timed"
            .to_string(),
        format!("# {rounds} rounds, one after the other; {what}:"),
        shell::display(&lab_run(bench, scenario)),
    ]
}

/// The plan of `lab-run-canary`.
pub fn canary_plan(bench: &Bench) -> Vec<String> {
    plan(bench, "canary", "each timed from start to exit")
}

/// The plan of `bad-canary-decision`.
pub fn bad_canary_plan(bench: &Bench) -> Vec<String> {
    plan(
        bench,
        "bad-canary",
        "each read back from target/lab/runs/<run>/report.json: decision.time_to_decision_ms",
    )
}

/// One timed `lab run`: its wall time, exit status and report.
struct Timed {
    wall: Duration,
    status: std::process::ExitStatus,
    report: Report,
}

fn timed_run(bench: &Bench, scenario: &str, round: usize) -> anyhow::Result<Timed> {
    let runs = crate::lab::local::lab_dir().join("runs");
    let before = run_dirs(&runs);
    let log_path = bench
        .scratch
        .join(format!("lab-run-{scenario}-{round}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let mut command = lab_run(bench, scenario);
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    eprintln!(
        "  round {round}: {} (log: {})",
        shell::display(&command),
        log_path.display()
    );
    let started = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("starting {}", shell::display(&command)))?;
    let wall = started.elapsed();
    let new: Vec<PathBuf> = run_dirs(&runs).difference(&before).cloned().collect();
    let [dir] = new.as_slice() else {
        bail!(
            "expected one new run under {}, found {} ({status}; see {})",
            runs.display(),
            new.len(),
            log_path.display()
        );
    };
    let path = dir.join("report.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let report = Report::from_json(&text).with_context(|| path.display().to_string())?;
    Ok(Timed {
        wall,
        status,
        report,
    })
}

/// What a run ended with, for a note.
fn ending(timed: &Timed) -> String {
    let outcome = timed
        .report
        .outcome
        .map_or("no decision".to_string(), |o| o.as_str().to_string());
    format!(
        "exit {}, {outcome}, {}, Prometheus {}",
        timed
            .status
            .code()
            .map_or("by signal".to_string(), |c| c.to_string()),
        if timed.report.passed {
            "passed"
        } else {
            "NOT passed"
        },
        if timed.report.prometheus.available {
            "answered"
        } else {
            "unavailable"
        }
    )
}

/// Build demo-app as `lab run` would (the release one, next to this release
/// xtask), so that no compilation is timed.
fn prebuild_demo_app() -> anyhow::Result<()> {
    crate::lab::local::demo_app().map(drop)
}

/// Wall time of `lab run canary --platform local --profile quick`.
pub fn canary(bench: &Bench) -> anyhow::Result<Outcome> {
    let rounds = bench.rounds_or(ROUNDS);
    prebuild_demo_app()?;
    let mut samples = Vec::new();
    let mut notes = Vec::new();
    for round in 1..=rounds {
        let timed = timed_run(bench, "canary", round)?;
        samples.push(timed.wall.as_secs_f64());
        notes.push(format!(
            "round {round}: {:.1} s, {}",
            timed.wall.as_secs_f64(),
            ending(&timed)
        ));
    }
    let profile = Profile::named(PROFILE);
    Ok(Outcome {
        setup: format!(
            "the release xtask binary, `lab run canary --platform local --profile {}` (observe {} s, \
             analyze {} s), from start to exit, Prometheus included, {rounds} round(s) one after the other",
            PROFILE.as_str(),
            profile.observe.as_secs(),
            profile.analyze.as_secs()
        ),
        metric: "s".to_string(),
        sides: vec![Side::new("lab run", samples)],
        goal: Goal::AtMost { limit: 60.0 },
        notes,
    })
}

/// Time from v2 ready to the roll-back of `bad-canary`, in analysis intervals.
pub fn bad_canary(bench: &Bench) -> anyhow::Result<Outcome> {
    let rounds = bench.rounds_or(ROUNDS);
    let interval = Profile::named(PROFILE).analysis_interval;
    prebuild_demo_app()?;
    let mut samples = Vec::new();
    let mut notes = Vec::new();
    for round in 1..=rounds {
        let timed = timed_run(bench, "bad-canary", round)?;
        let decision = timed.report.decision.as_ref().with_context(|| {
            format!(
                "round {round}: the run reached no decision ({})",
                ending(&timed)
            )
        })?;
        samples.push(in_intervals(decision.time_to_decision_ms, interval));
        notes.push(format!(
            "round {round}: decided {} ms after v2 was ready ({} intervals elapsed): {}; {}",
            decision.time_to_decision_ms,
            decision.analysis_intervals_elapsed,
            decision.reason,
            ending(&timed)
        ));
    }
    Ok(Outcome {
        setup: format!(
            "the release xtask binary, `lab run bad-canary --platform local --profile {}` (analysis \
             interval {} s), decision.time_to_decision_ms of its report, {rounds} round(s)",
            PROFILE.as_str(),
            interval.as_secs_f64()
        ),
        metric: format!("analysis intervals of {} s", interval.as_secs_f64()),
        sides: vec![Side::new("bad-canary", samples)],
        goal: Goal::AtMost { limit: 3.0 },
        notes,
    })
}

/// A time in ms as a number of analysis intervals.
fn in_intervals(ms: u64, interval: Duration) -> f64 {
    ms as f64 / (interval.as_secs_f64() * 1000.0)
}

/// The plan of `lab-compare-quick`.
pub fn compare_plan(bench: &Bench) -> Vec<String> {
    let mut command = Command::new(bench.binary("xtask"));
    command.args(["lab", "compare", "--profile", PROFILE.as_str()]);
    vec![
        format!(
            "# needs {} on PATH (Debian package prometheus)",
            prereq::PROMETHEUS.binary
        ),
        "cargo build --release -p demo-app   # built beforehand, so no compilation is timed"
            .to_string(),
        "# one round, timed from start to exit, every scenario under lab/scenarios:".to_string(),
        shell::display(&command),
    ]
}

/// Wall time of `lab compare --profile quick` over every shipped scenario.
pub fn compare(bench: &Bench) -> anyhow::Result<Outcome> {
    prebuild_demo_app()?;
    let rounds = bench.rounds_or(1);
    let mut samples = Vec::new();
    let mut notes = Vec::new();
    for round in 1..=rounds {
        let mut command = Command::new(bench.binary("xtask"));
        command.args(["lab", "compare", "--profile", PROFILE.as_str()]);
        command.stdin(Stdio::null());
        let started = Instant::now();
        let status = command
            .status()
            .with_context(|| format!("starting {}", shell::display(&command)))?;
        let wall = started.elapsed().as_secs_f64();
        if !status.success() {
            bail!("{} exited with {status}", shell::display(&command));
        }
        samples.push(wall);
        notes.push(format!("round {round}: {wall:.1} s"));
    }
    Ok(Outcome {
        setup: format!(
            "the release xtask binary, `lab compare --profile {}` over every folder under lab/scenarios, \
             one after another, from start to exit",
            PROFILE.as_str()
        ),
        metric: "s".to_string(),
        sides: vec![Side::new("lab compare", samples)],
        goal: Goal::AtMost { limit: 600.0 },
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        let check = |ms: u64, interval_ms: u64, expected: f64| {
            assert_eq!(
                in_intervals(ms, Duration::from_millis(interval_ms)),
                expected
            );
        };
        check(4_000, 2_000, 2.0);
        check(5_000, 2_000, 2.5);
        check(0, 2_000, 0.0);
    }
}
