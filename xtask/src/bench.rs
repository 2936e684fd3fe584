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

mod lab;
mod live_page;
mod load;
mod loadgen;
mod process;
mod server;
mod service;

use crate::exit::Usage;
use crate::{prereq, shell};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
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

/// Default rounds for A/B comparisons.
const DEFAULT_ROUNDS: usize = 5;

/// What every comparison may use.
pub struct Bench {
    /// Rounds asked for on the command line.
    rounds: Option<usize>,
    /// Run length asked for on the command line.
    duration: Option<Duration>,
    /// Where the binaries measured are (`target/release` for a real run).
    binaries: PathBuf,
    /// Where logs and scratch files go (`target/lab/bench`).
    scratch: PathBuf,
}

impl Bench {
    fn rounds_or(&self, default: usize) -> usize {
        self.rounds.unwrap_or(default)
    }

    fn duration_or(&self, default: Duration) -> Duration {
        self.duration.unwrap_or(default)
    }

    fn binary(&self, name: &str) -> PathBuf {
        self.binaries.join(name)
    }
}

/// One comparison: its name, what it shows, what it needs and how to run it.
struct Comparison {
    name: &'static str,
    /// Other names it answers to on the command line.
    aliases: &'static [&'static str],
    about: &'static str,
    /// External programs it runs, installed or asked for before anything runs.
    tools: &'static [prereq::Tool],
    /// The commands it runs, for `--dry-run` and for reproducing it by hand.
    plan: fn(&Bench) -> Vec<String>,
    run: fn(&Bench) -> anyhow::Result<Outcome>,
}

const COMPARISONS: &[Comparison] = &[
    Comparison {
        name: "loadgen-keepalive",
        aliases: &[],
        about: "loadgen vs oha against demo-app, closed loop at full speed, kept-alive connections",
        tools: &[prereq::OHA],
        plan: loadgen::keepalive_plan,
        run: loadgen::keepalive,
    },
    Comparison {
        name: "loadgen-newconn",
        aliases: &[],
        about: "loadgen vs oha against demo-app, closed loop at full speed, a new connection per request",
        tools: &[prereq::OHA],
        plan: loadgen::newconn_plan,
        run: loadgen::newconn,
    },
    Comparison {
        name: "demo-app-keepalive",
        aliases: &[],
        about: "demo-app vs nginx serving the same answer, wrk with kept-alive connections",
        tools: &[prereq::NGINX, prereq::WRK],
        plan: server::keepalive_plan,
        run: server::keepalive,
    },
    Comparison {
        name: "demo-app-newconn",
        aliases: &[],
        about: "demo-app vs nginx serving the same answer, wrk with a new connection per request",
        tools: &[prereq::NGINX, prereq::WRK],
        plan: server::newconn_plan,
        run: server::newconn,
    },
    Comparison {
        name: "service-keepalive",
        aliases: &[],
        about: "the local platform's Service vs its pod addressed directly, oha with kept-alive connections",
        tools: &[prereq::OHA],
        plan: service::keepalive_plan,
        run: service::keepalive,
    },
    Comparison {
        name: "service-newconn",
        aliases: &[],
        about: "the local platform's Service vs its pod addressed directly, oha with a new connection per request",
        tools: &[prereq::OHA],
        plan: service::newconn_plan,
        run: service::newconn,
    },
    Comparison {
        name: "lab-run-canary",
        aliases: &["scenario"],
        about: "wall time of `lab run canary --platform local --profile quick`, the whole process",
        tools: &[prereq::PROMETHEUS],
        plan: lab::canary_plan,
        run: lab::canary,
    },
    Comparison {
        name: "bad-canary-decision",
        aliases: &[],
        about: "time from v2 ready to the roll-back decision of `lab run bad-canary --profile quick`",
        tools: &[prereq::PROMETHEUS],
        plan: lab::bad_canary_plan,
        run: lab::bad_canary,
    },
    Comparison {
        name: "demo-app-memory",
        aliases: &[],
        about: "demo-app's idle resident memory, fresh and after a burst of traffic",
        tools: &[],
        plan: server::memory_plan,
        run: server::memory,
    },
    Comparison {
        name: "loadgen-memory",
        aliases: &[],
        about: "loadgen's peak resident memory during a full-speed run",
        tools: &[],
        plan: loadgen::memory_plan,
        run: loadgen::memory,
    },
    live_page::LIVE_PAGE,
];

/// The samples of one side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// What was measured (`loadgen`, `oha`, `service`).
    pub name: String,
    /// One value per round, in the order measured.
    pub samples: Vec<f64>,
}

impl Side {
    /// A side with its samples.
    pub fn new(name: &str, samples: Vec<f64>) -> Side {
        Side {
            name: name.to_string(),
            samples,
        }
    }

    fn stats(&self) -> Stats {
        Stats::of(&self.samples)
    }
}

/// Min, median and max of a list of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Smallest sample.
    pub min: f64,
    /// Median (the mean of the middle two for an even count).
    pub median: f64,
    /// Largest sample.
    pub max: f64,
}

impl Stats {
    /// Stats of a list of samples (zeros when empty).
    pub fn of(samples: &[f64]) -> Stats {
        if samples.is_empty() {
            return Stats {
                min: 0.0,
                median: 0.0,
                max: 0.0,
            };
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        Stats {
            min: sorted[0],
            median,
            max: sorted[sorted.len() - 1],
        }
    }
}

/// What a comparison aims for; it also says which kind of comparison it is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Goal {
    /// A/B: the median of the per-round ratios first side / second side is at
    /// least `ratio`.
    RatioAtLeast {
        /// The lowest acceptable ratio.
        ratio: f64,
    },
    /// Limit: the median of every side is at most `limit` (in the metric's unit).
    AtMost {
        /// The highest acceptable median.
        limit: f64,
    },
}

/// The result of one comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// How it was run (tools, mode, concurrency, duration).
    pub setup: String,
    /// What the samples are, with their unit (`answered requests/s`, `MB`).
    pub metric: String,
    /// The sides; in an A/B comparison the first is the one judged.
    pub sides: Vec<Side>,
    /// What the comparison aims for.
    pub goal: Goal,
    /// Facts worth keeping next to the figures (errors seen, versions tallied).
    pub notes: Vec<String>,
}

impl Outcome {
    /// The per-round ratios first side / second side of an A/B comparison.
    pub fn round_ratios(&self) -> Vec<f64> {
        match (self.goal, self.sides.as_slice()) {
            (Goal::RatioAtLeast { .. }, [a, b, ..]) => a
                .samples
                .iter()
                .zip(&b.samples)
                .filter(|&(_, &b)| b > 0.0)
                .map(|(a, b)| a / b)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The median of the per-round ratios of an A/B comparison.
    pub fn ratio(&self) -> Option<f64> {
        let ratios = self.round_ratios();
        (!ratios.is_empty()).then(|| Stats::of(&ratios).median)
    }

    /// The first side's median divided by the second's, in an A/B comparison.
    pub fn ratio_of_medians(&self) -> Option<f64> {
        match (self.goal, self.sides.as_slice()) {
            (Goal::RatioAtLeast { .. }, [a, b, ..]) if b.stats().median > 0.0 => {
                Some(a.stats().median / b.stats().median)
            }
            _ => None,
        }
    }

    /// Whether the goal is met.
    pub fn met(&self) -> bool {
        match self.goal {
            Goal::RatioAtLeast { ratio } => self.ratio().is_some_and(|r| r >= ratio),
            Goal::AtMost { limit } => {
                !self.sides.is_empty()
                    && self
                        .sides
                        .iter()
                        .all(|s| !s.samples.is_empty() && s.stats().median <= limit)
            }
        }
    }

    fn goal_text(&self) -> String {
        goal_text(self.goal, &self.sides, &self.metric)
    }

    /// The outcome as it is written to the results file.
    pub fn record(&self, name: &str, load_average_at_start: &str) -> Record {
        Record {
            name: name.to_string(),
            load_average_at_start: load_average_at_start.to_string(),
            load_average_at_end: String::new(),
            setup: self.setup.clone(),
            metric: self.metric.clone(),
            goal: self.goal,
            goal_text: self.goal_text(),
            sides: self
                .sides
                .iter()
                .map(|side| {
                    let stats = side.stats();
                    SideRecord {
                        name: side.name.clone(),
                        samples: side.samples.clone(),
                        min: stats.min,
                        median: stats.median,
                        max: stats.max,
                    }
                })
                .collect(),
            round_ratios: self.round_ratios(),
            median_ratio: self.ratio(),
            ratio_of_medians: self.ratio_of_medians(),
            met: self.met(),
            notes: self.notes.clone(),
            error: None,
        }
    }
}

fn goal_text(goal: Goal, sides: &[impl SideName], metric: &str) -> String {
    match (goal, sides) {
        (Goal::RatioAtLeast { ratio }, [a, b, ..]) => {
            format!("{}/{} >= {ratio}", a.side_name(), b.side_name())
        }
        (Goal::RatioAtLeast { ratio }, _) => format!("ratio >= {ratio}"),
        (Goal::AtMost { limit }, _) => format!("<= {limit} {metric}"),
    }
}

/// Anything with a side's name.
trait SideName {
    fn side_name(&self) -> &str;
}

impl SideName for Side {
    fn side_name(&self) -> &str {
        &self.name
    }
}

impl SideName for SideRecord {
    fn side_name(&self) -> &str {
        &self.name
    }
}

/// One side of a comparison in the results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideRecord {
    /// What was measured.
    pub name: String,
    /// One value per round, in the order measured.
    pub samples: Vec<f64>,
    /// Smallest sample.
    pub min: f64,
    /// Median sample.
    pub median: f64,
    /// Largest sample.
    pub max: f64,
}

/// One comparison in the results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The comparison's name (`cargo xtask bench NAME` runs it alone).
    pub name: String,
    /// `/proc/loadavg`'s 1, 5 and 15 minute load averages when it started.
    pub load_average_at_start: String,
    /// The same when it ended (this comparison's own load included).
    pub load_average_at_end: String,
    /// How it was run.
    pub setup: String,
    /// What the samples are, with their unit.
    pub metric: String,
    /// What it aims for, which also says its kind (`ratio_at_least`, `at_most`).
    pub goal: Goal,
    /// The goal for people (`loadgen/oha >= 0.9`, `<= 60 s`).
    pub goal_text: String,
    /// The sides with their samples, min, median and max.
    pub sides: Vec<SideRecord>,
    /// A/B: the per-round ratios first side / second side; empty otherwise.
    pub round_ratios: Vec<f64>,
    /// A/B: the median of `round_ratios`, the judged figure; `null` otherwise.
    pub median_ratio: Option<f64>,
    /// A/B: the first side's median over the second's; `null` otherwise.
    pub ratio_of_medians: Option<f64>,
    /// Whether the goal was met.
    pub met: bool,
    /// Facts worth keeping next to the figures.
    pub notes: Vec<String>,
    /// Why the comparison could not be measured; `null` when it was.
    pub error: Option<String>,
}

impl Record {
    /// A comparison that failed to run.
    fn failed(name: &str, load_average_at_start: &str, error: &anyhow::Error) -> Record {
        Record {
            name: name.to_string(),
            load_average_at_start: load_average_at_start.to_string(),
            load_average_at_end: String::new(),
            setup: String::new(),
            metric: String::new(),
            goal: Goal::AtMost { limit: 0.0 },
            goal_text: String::new(),
            sides: Vec::new(),
            round_ratios: Vec::new(),
            median_ratio: None,
            ratio_of_medians: None,
            met: false,
            notes: Vec::new(),
            error: Some(format!("{error:#}")),
        }
    }

    fn print(&self) {
        if let Some(error) = &self.error {
            println!("{}: FAILED: {error}", self.name);
            return;
        }
        println!("{}: {}", self.name, self.setup);
        println!(
            "  load average at start: {}, at end: {}",
            self.load_average_at_start, self.load_average_at_end
        );
        for side in &self.sides {
            println!(
                "  {:<10} min {:>10.1}  median {:>10.1}  max {:>10.1}  {}",
                side.name, side.min, side.median, side.max, self.metric
            );
        }
        if let (Some(ratio), Some(of_medians)) = (self.median_ratio, self.ratio_of_medians) {
            println!(
                "  median ratio {}/{} (per round): {ratio:.3}  (ratio of medians {of_medians:.3})",
                self.sides[0].name, self.sides[1].name
            );
        }
        println!(
            "  goal {}: {}",
            self.goal_text,
            if self.met { "met" } else { "MISSED" }
        );
        for note in &self.notes {
            println!("  note: {note}");
        }
    }

    /// One row of the Markdown table: comparison, sides' medians (min–max),
    /// the judged figure, the goal and whether it was met.
    fn markdown_row(&self) -> String {
        if let Some(error) = &self.error {
            return format!(
                "| {} | failed: {error} | | | | {} |",
                self.name, self.load_average_at_start
            );
        }
        let sides: Vec<String> = self
            .sides
            .iter()
            .map(|s| {
                format!(
                    "{} {} ({}–{})",
                    s.name,
                    figure(s.median),
                    figure(s.min),
                    figure(s.max)
                )
            })
            .collect();
        let judged = match (self.goal, self.median_ratio) {
            (Goal::RatioAtLeast { .. }, Some(ratio)) => format!("{ratio:.3}×"),
            (Goal::RatioAtLeast { .. }, None) => "no ratio".to_string(),
            (Goal::AtMost { .. }, _) => self
                .sides
                .iter()
                .map(|s| figure(s.median))
                .collect::<Vec<_>>()
                .join(", "),
        };
        format!(
            "| {} | {} ({}) | {judged} | {} | {} | {} |",
            self.name,
            sides.join("; "),
            self.metric,
            self.goal_text,
            if self.met { "met" } else { "**missed**" },
            self.load_average_at_start
        )
    }
}

/// A figure with as many decimals as its size deserves.
fn figure(value: f64) -> String {
    if value.abs() >= 1000.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The machine a run measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's model name from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// CPUs this process may run on.
    pub cpus: usize,
    /// The kernel release.
    pub kernel: String,
    /// Total memory in MiB.
    pub memory_mib: u64,
    /// `/proc/loadavg`'s 1, 5 and 15 minute load averages when the run started.
    pub load_average_at_start: String,
}

/// The results file: the machine and every comparison run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// When the run started, UTC (`2026-11-26T04-30-00Z`).
    pub started_at: String,
    /// How the binaries measured were built.
    pub build: String,
    /// Where it ran.
    pub machine: Machine,
    /// What was measured, in the order run.
    pub comparisons: Vec<Record>,
}

impl Document {
    /// The Markdown table of the comparisons, for BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut text = format!(
            "Run {} on {} ({} CPUs), Linux {}, {} MiB; load average at start {}; {} build.\n\n",
            self.started_at,
            m.cpu_model,
            m.cpus,
            m.kernel,
            m.memory_mib,
            m.load_average_at_start,
            self.build
        );
        text.push_str(
            "| comparison | medians (min–max) | judged | goal | | load average at start |\n",
        );
        text.push_str("|---|---|---|---|---|---|\n");
        for record in &self.comparisons {
            text.push_str(&record.markdown_row());
            text.push('\n');
        }
        text
    }
}

/// Measure each side once per round, alternating which goes first.
pub fn alternate(
    rounds: usize,
    names: [&str; 2],
    mut measure: impl FnMut(usize, u32) -> anyhow::Result<f64>,
) -> anyhow::Result<Vec<Side>> {
    let mut sides: Vec<Side> = names.iter().map(|n| Side::new(n, Vec::new())).collect();
    for round in 0..rounds {
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            eprintln!("  round {}: {}", round + 1, names[side]);
            let value = measure(side, round as u32 + 1)
                .with_context(|| format!("round {} of {}", round + 1, names[side]))?;
            sides[side].samples.push(value);
        }
    }
    Ok(sides)
}

/// `10s`, `500ms`, `2m` or a number of seconds.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number.trim().parse().ok()?;
    (value > 0.0 && value.is_finite()).then(|| Duration::from_secs_f64(value * scale))
}

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

/// The comparisons named on the command line (all when none is): one by its name
/// or an alias, or a group by the first part of their names (`loadgen` runs
/// `loadgen-keepalive`, `loadgen-newconn` and `loadgen-memory`).
fn choose(name: Option<&str>) -> Result<Vec<&'static Comparison>, Usage> {
    let Some(name) = name else {
        return Ok(COMPARISONS.iter().collect());
    };
    if let Some(one) = COMPARISONS
        .iter()
        .find(|c| c.name == name || c.aliases.contains(&name))
    {
        return Ok(vec![one]);
    }
    let group: Vec<&Comparison> = COMPARISONS
        .iter()
        .filter(|c| {
            c.name
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('-'))
        })
        .collect();
    if !group.is_empty() {
        return Ok(group);
    }
    let names: Vec<&str> = COMPARISONS.iter().map(|c| c.name).collect();
    Err(Usage(format!(
        "bench: no comparison named {name:?} (one of: {}; or a group: {})",
        names.join(", "),
        groups().join(", ")
    )))
}

/// The groups of comparisons: the first parts of names that more than one share.
fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&str> = Vec::new();
    for c in COMPARISONS {
        if let Some((first, _)) = c.name.rsplit_once('-')
            && !groups.contains(&first)
            && COMPARISONS
                .iter()
                .filter(|o| {
                    o.name
                        .strip_prefix(first)
                        .is_some_and(|r| r.starts_with('-'))
                })
                .count()
                > 1
        {
            groups.push(first);
        }
    }
    groups
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
        Some(text) => Some(parse_duration(text).ok_or_else(|| {
            Usage(format!(
                "--duration: not a duration: {text:?} (like 10s, 500ms, 2m)"
            ))
        })?),
    };
    let max_wait = parse_duration(&args.max_wait).ok_or_else(|| {
        Usage(format!(
            "--max-wait: not a duration: {:?} (like 10m, 90s)",
            args.max_wait
        ))
    })?;
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
    fn stats() {
        let check = |samples: &[f64], expected: (f64, f64, f64)| {
            let s = Stats::of(samples);
            assert_eq!((s.min, s.median, s.max), expected, "{samples:?}");
        };
        check(&[3.0, 1.0, 2.0], (1.0, 2.0, 3.0));
        check(&[4.0, 1.0, 3.0, 2.0], (1.0, 2.5, 4.0));
        check(&[7.0], (7.0, 7.0, 7.0));
        check(&[], (0.0, 0.0, 0.0));
    }

    #[test]
    fn durations() {
        let check = |text: &str, expected: Option<Duration>| {
            assert_eq!(parse_duration(text), expected, "{text}")
        };
        check("10s", Some(Duration::from_secs(10)));
        check("500ms", Some(Duration::from_millis(500)));
        check("2m", Some(Duration::from_secs(120)));
        check("3", Some(Duration::from_secs(3)));
        check("0s", None);
        check("soon", None);
    }

    #[test]
    fn utc_stamps() {
        let check = |secs: u64, expected: &str| {
            assert_eq!(utc_stamp(UNIX_EPOCH + Duration::from_secs(secs)), expected);
        };
        check(0, "1970-01-01T00-00-00Z");
        check(951_782_400, "2000-02-29T00-00-00Z");
        check(1_795_667_400, "2026-11-26T04-30-00Z");
    }

    fn outcome(goal: Goal, sides: Vec<Side>) -> Outcome {
        Outcome {
            setup: "s".into(),
            metric: "requests/s".into(),
            sides,
            goal,
            notes: vec![],
        }
    }

    #[test]
    fn alternating_order_and_ratio() {
        let mut order = Vec::new();
        // Both sides drop in round 3, as on a machine that got busier.
        let sides = alternate(3, ["a", "b"], |side, round| {
            order.push((side, round));
            Ok(match (side, round) {
                (0, 3) => 50.0,
                (0, r) => 90.0 + r as f64,
                (_, 3) => 52.0,
                _ => 100.0,
            })
        })
        .unwrap();
        assert_eq!(order, [(0, 1), (1, 1), (1, 2), (0, 2), (0, 3), (1, 3)]);
        assert_eq!(sides[0].samples, [91.0, 92.0, 50.0]);
        let outcome = outcome(Goal::RatioAtLeast { ratio: 0.9 }, sides);
        // Per round 0.91, 0.92 and 0.96; the ratio of medians mixes rounds: 91/100.
        assert_eq!(outcome.ratio(), Some(0.92));
        assert_eq!(outcome.ratio_of_medians(), Some(0.91));
        assert!(outcome.met());
        let missed = Outcome {
            goal: Goal::RatioAtLeast { ratio: 0.95 },
            ..outcome
        };
        assert!(!missed.met());
    }

    #[test]
    fn a_failing_round_names_its_side() {
        let error = alternate(2, ["service", "pod"], |side, round| {
            if (side, round) == (1, 2) {
                anyhow::bail!("no answer")
            }
            Ok(1.0)
        })
        .unwrap_err();
        assert_eq!(format!("{error:#}"), "round 2 of pod: no answer");
    }

    #[test]
    fn goals_judge_the_right_figure() {
        let check = |goal: Goal, sides: &[&[f64]], met: bool| {
            let sides = sides
                .iter()
                .enumerate()
                .map(|(i, s)| Side::new(&format!("s{i}"), s.to_vec()))
                .collect();
            let o = outcome(goal, sides);
            assert_eq!(o.met(), met, "{goal:?} {:?}", o.sides);
        };
        let at_most = Goal::AtMost { limit: 60.0 };
        check(at_most, &[&[40.0, 70.0, 50.0]], true);
        check(at_most, &[&[61.0, 70.0, 50.0]], false);
        // Every side of a limit is held to it.
        check(at_most, &[&[4.0], &[61.0]], false);
        check(at_most, &[], false);
        check(at_most, &[&[]], false);
        let ratio = Goal::RatioAtLeast { ratio: 0.85 };
        check(ratio, &[&[85.0, 80.0], &[100.0, 100.0]], false);
        check(ratio, &[&[86.0, 90.0], &[100.0, 100.0]], true);
        // A lone side has no ratio: never met.
        check(ratio, &[&[86.0]], false);
        // A limit has no ratio, whatever its sides.
        let two = outcome(
            at_most,
            vec![Side::new("a", vec![1.0]), Side::new("b", vec![2.0])],
        );
        assert_eq!((two.ratio(), two.ratio_of_medians()), (None, None));
    }

    fn document() -> Document {
        let ab = outcome(
            Goal::RatioAtLeast { ratio: 0.9 },
            vec![
                Side::new("loadgen", vec![68565.9, 61000.5]),
                Side::new("oha", vec![70000.0, 64000.25]),
            ],
        );
        let limit = Outcome {
            metric: "s".into(),
            notes: vec!["round 1 promoted".into()],
            ..outcome(
                Goal::AtMost { limit: 60.0 },
                vec![Side::new("lab run", vec![41.5, 39.25, 44.0])],
            )
        };
        Document {
            started_at: "2026-11-26T04-30-00Z".into(),
            build: "release".into(),
            machine: Machine {
                cpu_model: "AMD EPYC".into(),
                cpus: 2,
                kernel: "6.1.0".into(),
                memory_mib: 24000,
                load_average_at_start: "0.10 0.20 0.30".into(),
            },
            comparisons: vec![
                ab.record("loadgen-keepalive", "0.50 0.40 0.30"),
                limit.record("lab-run-canary", "0.60 0.40 0.30"),
                Record::failed(
                    "demo-app-keepalive",
                    "0.70 0.40 0.30",
                    &anyhow::anyhow!("nginx exited"),
                ),
            ],
        }
    }

    #[test]
    fn results_read_back_as_written() {
        let document = document();
        let text = serde_json::to_string_pretty(&document).unwrap();
        let back: Document = serde_json::from_str(&text).unwrap();
        assert_eq!(back, document);

        // The fields a reader relies on, by name, as written.
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let ab = &value["comparisons"][0];
        assert_eq!(
            ab["goal"],
            serde_json::json!({"kind": "ratio_at_least", "ratio": 0.9})
        );
        assert_eq!(ab["goal_text"], "loadgen/oha >= 0.9");
        assert_eq!(ab["load_average_at_start"], "0.50 0.40 0.30");
        assert_eq!(ab["sides"][1]["median"], 67000.125);
        let ratios = ab["round_ratios"].as_array().unwrap();
        assert_eq!(ratios.len(), 2);
        let median = ab["median_ratio"].as_f64().unwrap();
        assert!((median - (68565.9 / 70000.0 + 61000.5 / 64000.25) / 2.0).abs() < 1e-12);
        assert_eq!(ab["met"], true);
        assert_eq!(ab["error"], serde_json::Value::Null);
        let limit = &value["comparisons"][1];
        assert_eq!(
            limit["goal"],
            serde_json::json!({"kind": "at_most", "limit": 60.0})
        );
        assert_eq!(limit["goal_text"], "<= 60 s");
        assert_eq!(limit["sides"][0]["median"], 41.5);
        assert_eq!(limit["median_ratio"], serde_json::Value::Null);
        assert_eq!(limit["round_ratios"], serde_json::json!([]));
        let failed = &value["comparisons"][2];
        assert_eq!(failed["met"], false);
        assert_eq!(failed["error"], "nginx exited");
        assert_eq!(value["machine"]["cpus"], 2);
    }

    #[test]
    fn markdown_table_has_a_row_per_comparison() {
        let table = document().markdown();
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(
            rows,
            [
                "| comparison | medians (min–max) | judged | goal | | load average at start |",
                "| loadgen-keepalive | loadgen 64783 (61000–68566); oha 67000 (64000–70000) (requests/s) | 0.966× | loadgen/oha >= 0.9 | met | 0.50 0.40 0.30 |",
                "| lab-run-canary | lab run 41.5 (39.2–44.0) (s) | 41.5 | <= 60 s | met | 0.60 0.40 0.30 |",
                "| demo-app-keepalive | failed: nginx exited | | | | 0.70 0.40 0.30 |",
            ]
        );
    }

    #[test]
    fn every_comparison_has_a_plan_with_its_tools() {
        let bench = Bench {
            rounds: Some(2),
            duration: Some(Duration::from_secs(3)),
            binaries: PathBuf::from("/bin-dir"),
            scratch: PathBuf::from("/scratch"),
        };
        let mut names: Vec<&str> = COMPARISONS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COMPARISONS.len(), "names are unique");
        for comparison in COMPARISONS {
            let plan = (comparison.plan)(&bench).join("\n");
            assert!(!plan.is_empty(), "{} has no plan", comparison.name);
            for tool in comparison.tools {
                assert!(
                    plan.contains(tool.binary),
                    "{}'s plan does not run {}:\n{plan}",
                    comparison.name,
                    tool.binary
                );
            }
            // The run length and the rounds asked for reach the plan.
            assert!(plan.contains("round"), "{}:\n{plan}", comparison.name);
        }
    }

    #[test]
    fn choosing_comparisons() {
        assert_eq!(choose(None).unwrap().len(), COMPARISONS.len());
        let one = choose(Some("service-newconn")).unwrap();
        assert_eq!(
            one.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["service-newconn"]
        );
        let loadgen = choose(Some("loadgen")).unwrap();
        assert_eq!(
            loadgen.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["loadgen-keepalive", "loadgen-newconn", "loadgen-memory"]
        );
        let demo_app = choose(Some("demo-app")).unwrap();
        assert_eq!(
            demo_app.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["demo-app-keepalive", "demo-app-newconn", "demo-app-memory"]
        );
        assert_eq!(groups(), ["loadgen", "demo-app", "service"]);
        assert!(
            choose(Some("load")).is_err(),
            "a group is a whole first part"
        );
        let scenario = choose(Some("scenario")).unwrap();
        assert_eq!(
            scenario.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["lab-run-canary"]
        );
        let error = choose(Some("nope")).err().unwrap().0;
        assert!(
            error.starts_with("bench: no comparison named \"nope\" (one of: loadgen-keepalive,")
        );
    }
}
