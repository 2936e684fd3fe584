//! `cargo xtask bench`: comparisons with the tools people would use instead, and
//! the lab's own figures against their targets.
//!
//! Two kinds of comparison:
//! - **A/B**: two sides measured alternately, A then B, then B then A, for several
//!   rounds, so that a machine getting busier or quieter affects both alike. The
//!   judged figure is the median of the per-round ratios A/B: the two runs of a
//!   round are back to back and share the machine's state, so on a machine shared
//!   with other work their ratio is steadier than the ratio of the two medians
//!   (also reported).
//! - **limit**: one figure (a wall time, a memory peak) measured once per round;
//!   the median of every side must stay within the limit.
//!
//! Both print min/median/max per side. Every run writes
//! `target/lab/bench/<UTC date-time>.json` (and a Markdown table beside it), with
//! the machine and the load average at the start of each comparison.
//! Benchmarks are never part of the test suite. Debug builds measure nothing worth
//! keeping, so `cargo xtask bench` builds itself and the binaries it measures in
//! release mode and runs that build.

//!
//! The modules: `registry` names the comparisons (`loadgen`, `server`,
//! `service` and `lab` run them, with `process` and `load` for starting the
//! parties and reading their figures), `setup` is what they share,
//! `statistics` their figures and `record` the results file.

mod gateway;
mod lab;
mod live_page;
mod load;
mod loadgen;
mod process;
mod record;
mod registry;
mod server;
mod service;
mod setup;
mod statistics;

use crate::exit::Usage;
use crate::{prereq, shell};
use anyhow::Context as _;
use lab_core::duration::parse_duration;
use record::{Document, Machine, Record};
use registry::{COMPARISONS, choose, groups};
use setup::Bench;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Run only this comparison, or this group (`loadgen`, `demo-app`, `service`); see --list.
    name: Option<String>,
    /// Rounds per comparison; each round measures every side once.
    #[arg(long, value_name = "N")]
    rounds: Option<usize>,
    /// Length of each measured run (10s, 500ms, 2m); each comparison has its own default.
    #[arg(long, value_name = "D")]
    duration: Option<String>,
    /// List the comparisons and exit.
    #[arg(long)]
    list: bool,
    /// Print what each comparison would run, build nothing and run nothing.
    #[arg(long)]
    dry_run: bool,
    /// Before each comparison, wait until the 1-minute load average is at most
    /// this (the machine may be shared), re-checking every 15 s.
    #[arg(long, value_name = "L")]
    max_load: Option<f64>,
    /// Wait at most this long for --max-load, then start anyway and say so.
    #[arg(long, value_name = "D", default_value = "15m")]
    max_wait: String,
}

/// How often the load average is read while waiting for a quieter machine.
const LOAD_CHECK_EVERY: Duration = Duration::from_secs(15);

/// `2026-11-26T04-30-00Z` for now, safe in a file name.
fn utc_stamp(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Where `cargo build` puts things, as cargo itself reports it.
fn target_dir() -> anyhow::Result<PathBuf> {
    let out = shell::cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("could not run cargo metadata")?;
    anyhow::ensure!(out.status.success(), "cargo metadata failed");
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata's output")?;
    let dir = meta["target_directory"]
        .as_str()
        .context("cargo metadata gave no target_directory")?;
    Ok(PathBuf::from(dir))
}

/// Wait until the 1-minute load average is at most `max`, for at most `patience`;
/// returns how long it waited and whether the load got that low.
fn wait_for_load(max: f64, patience: Duration) -> (Duration, bool) {
    let started = std::time::Instant::now();
    loop {
        let load = load_average();
        let one_minute: f64 = load
            .split_whitespace()
            .next()
            .and_then(|l| l.parse().ok())
            .unwrap_or(f64::MAX);
        if one_minute <= max {
            return (started.elapsed(), true);
        }
        if started.elapsed() >= patience {
            return (started.elapsed(), false);
        }
        eprintln!(
            "load average {load} is above {max}: waiting (for at most {} s more)",
            (patience - started.elapsed()).as_secs()
        );
        std::thread::sleep(LOAD_CHECK_EVERY.min(patience - started.elapsed()));
    }
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    Machine {
        cpu_model,
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string()),
        memory_mib: memory_kib / 1024,
        load_average_at_start: load_average(),
    }
}

/// The release build of this command, built with the binaries it measures.
fn build_release() -> anyhow::Result<PathBuf> {
    shell::run(shell::cargo().args([
        "build",
        "--release",
        "-p",
        "xtask",
        "-p",
        "loadgen",
        "-p",
        "demo-app",
    ]))?;
    Ok(target_dir()?.join("release"))
}

/// Run the benchmarks.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.list {
        for c in COMPARISONS {
            println!("{:<20} {}", c.name, c.about);
            for alias in c.aliases {
                println!("{:<20} (the same as {})", alias, c.name);
            }
        }
        for group in groups() {
            println!("{group:<20} (every {group}-* comparison)");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let chosen = choose(args.name.as_deref())?;
    if args.rounds == Some(0) {
        return Err(Usage("--rounds: must be > 0".into()).into());
    }
    let duration = match &args.duration {
        None => None,
        Some(text) => {
            Some(parse_duration(text).map_err(|problem| Usage(format!("--duration: {problem}")))?)
        }
    };
    let max_wait = parse_duration(&args.max_wait)
        .map_err(|problem| Usage(format!("--max-wait: {problem}")))?;
    if let Some(max) = args.max_load
        && !(max > 0.0 && max.is_finite())
    {
        return Err(Usage(format!("--max-load: must be a number > 0, not {max}")).into());
    }
    let scratch = shell::repo_root().join("target/lab/bench");
    if args.dry_run {
        let bench = Bench {
            rounds: args.rounds,
            duration,
            binaries: target_dir()?.join("release"),
            scratch,
        };
        for comparison in chosen {
            println!("# {}: {}", comparison.name, comparison.about);
            for line in (comparison.plan)(&bench) {
                println!("{line}");
            }
            println!();
        }
        return Ok(ExitCode::SUCCESS);
    }

    if cfg!(debug_assertions) {
        // Measure optimized code only: build the release binaries and hand over to
        // this command's release build, with the same arguments.
        let release = build_release()?;
        let exe = release.join("xtask");
        let mut command = std::process::Command::new(&exe);
        command.args(std::env::args_os().skip(1));
        eprintln!("$ {}", shell::display(&command));
        let error = std::os::unix::process::CommandExt::exec(&mut command);
        return Err(error).with_context(|| format!("could not start {}", exe.display()));
    }

    let mut tools: Vec<prereq::Tool> = Vec::new();
    for tool in chosen.iter().flat_map(|c| c.tools) {
        if !tools.iter().any(|t| t.binary == tool.binary) {
            tools.push(*tool);
        }
    }
    if tools.iter().any(|t| t.binary == prereq::OHA.binary) {
        loadgen::announce_oha_install();
    }
    prereq::ensure(&tools)?;
    let binaries = std::env::current_exe()
        .context("cannot find this program")?
        .parent()
        .context("this program has no directory")?
        .to_path_buf();
    let bench = Bench {
        rounds: args.rounds,
        duration,
        binaries,
        scratch,
    };
    std::fs::create_dir_all(&bench.scratch)
        .with_context(|| format!("creating {}", bench.scratch.display()))?;

    let started = SystemTime::now();
    let machine = machine();
    eprintln!("load average at start: {}", machine.load_average_at_start);
    let mut records = Vec::new();
    for comparison in chosen {
        let mut waited = None;
        if let Some(max) = args.max_load {
            let (time, reached) = wait_for_load(max, max_wait);
            waited = Some(format!(
                "waited {} s for the 1-minute load average to reach {max}{}",
                time.as_secs(),
                if reached { "" } else { ", in vain" }
            ));
        }
        let load = load_average();
        eprintln!(
            "running {}: {} (load average {load})",
            comparison.name, comparison.about
        );
        let mut record = match (comparison.run)(&bench) {
            Ok(outcome) => outcome.record(comparison.name, &load),
            Err(error) => Record::failed(comparison.name, &load, &error),
        };
        record.load_average_at_end = load_average();
        record.notes.extend(waited);
        record.print();
        records.push(record);
    }
    let document = Document {
        started_at: utc_stamp(started),
        build: "release".to_string(),
        machine,
        comparisons: records,
    };
    let stem = bench.scratch.join(utc_stamp(started));
    let json_path = stem.with_extension("json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&document)? + "\n")
        .with_context(|| format!("writing {}", json_path.display()))?;
    let markdown_path = stem.with_extension("md");
    std::fs::write(&markdown_path, document.markdown())
        .with_context(|| format!("writing {}", markdown_path.display()))?;
    println!("results: {}", json_path.display());
    println!("table:   {}", markdown_path.display());
    if document.comparisons.iter().all(|r| r.met) {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        let check = |secs: u64, expected: &str| {
            assert_eq!(utc_stamp(UNIX_EPOCH + Duration::from_secs(secs)), expected);
        };
        check(0, "1970-01-01T00-00-00Z");
        check(951_782_400, "2000-02-29T00-00-00Z");
        check(1_795_667_400, "2026-11-26T04-30-00Z");
    }
}
