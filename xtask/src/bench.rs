//! `cargo xtask bench`: comparisons with the tools people would use instead.
//!
//! A comparison measures its sides alternately, A then B, then B then A, for
//! several rounds, so that a machine getting busier or quieter affects both sides
//! alike; it reports min/median/max per side and the median ratio against a goal.
//! The median ratio is the median of the per-round ratios A/B: the two runs of a
//! round are back to back and share the machine's state, so on a machine shared
//! with other work their ratio is steadier than the ratio of the two medians (also
//! reported). Every result goes to `target/lab/bench/<UTC date-time>.json`.
//! Benchmarks are never part of the test suite.

mod loadgen;

use crate::exit::Usage;
use crate::shell;
use anyhow::Context as _;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Run only this comparison (see --list).
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
}

/// Default rounds for A/B comparisons.
const DEFAULT_ROUNDS: usize = 5;

/// What every comparison may use.
pub struct Bench {
    /// Rounds asked for on the command line.
    rounds: Option<usize>,
    /// Run length asked for on the command line.
    duration: Option<Duration>,
    /// Where `cargo build --release` put the binaries.
    release_dir: PathBuf,
}

impl Bench {
    fn rounds_or(&self, default: usize) -> usize {
        self.rounds.unwrap_or(default)
    }

    fn duration_or(&self, default: Duration) -> Duration {
        self.duration.unwrap_or(default)
    }

    fn release_binary(&self, name: &str) -> PathBuf {
        self.release_dir.join(name)
    }
}

/// One comparison: its name, what it shows, and how to run it.
struct Comparison {
    name: &'static str,
    about: &'static str,
    /// It compares with oha, which must be installed first.
    needs_oha: bool,
    run: fn(&Bench) -> anyhow::Result<Outcome>,
}

const COMPARISONS: &[Comparison] = &[
    Comparison {
        name: "loadgen-keepalive",
        about: "loadgen vs oha, closed loop at full speed, kept-alive connections",
        needs_oha: true,
        run: loadgen::keepalive,
    },
    Comparison {
        name: "loadgen-newconn",
        about: "loadgen vs oha, closed loop at full speed, a new connection per request",
        needs_oha: true,
        run: loadgen::newconn,
    },
    Comparison {
        name: "loadgen-memory",
        about: "loadgen's peak resident memory during a full-speed run",
        needs_oha: false,
        run: loadgen::memory,
    },
];

/// The samples of one side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// What was measured (`loadgen`, `oha`).
    pub name: String,
    /// One value per round, in the order measured.
    pub samples: Vec<f64>,
}

impl Side {
    fn stats(&self) -> Stats {
        Stats::of(&self.samples)
    }
}

/// Min, median and max of a side's samples.
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
    /// Stats of a non-empty list of samples (zeros when empty).
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

/// What a comparison aims for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// The first side's median divided by the second's is at least this.
    RatioAtLeast(f64),
    /// The first side's median is at most this.
    AtMost(f64),
}

/// The result of one comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The comparison's name.
    pub name: String,
    /// How it was run (tools, mode, concurrency, duration).
    pub setup: String,
    /// What the samples are, with their unit (`answered requests/s`, `MB`).
    pub metric: String,
    /// The sides; the first is the one judged.
    pub sides: Vec<Side>,
    /// What the first side aims for.
    pub goal: Goal,
    /// Facts worth keeping next to the figures (errors seen, versions tallied).
    pub notes: Vec<String>,
}

impl Outcome {
    /// The median of the per-round ratios first side / second side, when there are two.
    pub fn ratio(&self) -> Option<f64> {
        match self.sides.as_slice() {
            [a, b, ..] => {
                let ratios: Vec<f64> = a
                    .samples
                    .iter()
                    .zip(&b.samples)
                    .filter(|&(_, &b)| b > 0.0)
                    .map(|(a, b)| a / b)
                    .collect();
                (!ratios.is_empty()).then(|| Stats::of(&ratios).median)
            }
            _ => None,
        }
    }

    /// The first side's median divided by the second's, when there are two.
    pub fn ratio_of_medians(&self) -> Option<f64> {
        match self.sides.as_slice() {
            [a, b, ..] if b.stats().median > 0.0 => Some(a.stats().median / b.stats().median),
            _ => None,
        }
    }

    /// Whether the goal is met.
    pub fn met(&self) -> bool {
        match self.goal {
            Goal::RatioAtLeast(goal) => self.ratio().is_some_and(|r| r >= goal),
            Goal::AtMost(limit) => self
                .sides
                .first()
                .is_some_and(|s| s.stats().median <= limit),
        }
    }

    fn goal_text(&self) -> String {
        match (self.goal, self.sides.as_slice()) {
            (Goal::RatioAtLeast(goal), [a, b, ..]) => format!("{}/{} >= {goal}", a.name, b.name),
            (Goal::AtMost(limit), _) => format!("<= {limit} {}", self.metric),
            (Goal::RatioAtLeast(goal), _) => format!("ratio >= {goal}"),
        }
    }

    /// The outcome as it is written to the results file.
    pub fn to_json(&self) -> Value {
        let sides: Vec<Value> = self
            .sides
            .iter()
            .map(|side| {
                let stats = side.stats();
                json!({
                    "name": side.name,
                    "samples": side.samples,
                    "min": stats.min,
                    "median": stats.median,
                    "max": stats.max,
                })
            })
            .collect();
        json!({
            "name": self.name,
            "setup": self.setup,
            "metric": self.metric,
            "sides": sides,
            "median_ratio": self.ratio(),
            "ratio_of_medians": self.ratio_of_medians(),
            "goal": self.goal_text(),
            "met": self.met(),
            "notes": self.notes,
        })
    }

    fn print(&self) {
        println!("{}: {}", self.name, self.setup);
        for side in &self.sides {
            let s = side.stats();
            println!(
                "  {:<8} min {:>10.1}  median {:>10.1}  max {:>10.1}  {}",
                side.name, s.min, s.median, s.max, self.metric
            );
        }
        if let (Some(ratio), Some(of_medians)) = (self.ratio(), self.ratio_of_medians()) {
            println!(
                "  median ratio {}/{} (per round): {ratio:.3}  (ratio of medians {of_medians:.3})",
                self.sides[0].name, self.sides[1].name
            );
        }
        println!(
            "  goal {}: {}",
            self.goal_text(),
            if self.met() { "met" } else { "MISSED" }
        );
        for note in &self.notes {
            println!("  note: {note}");
        }
    }
}

/// Measure each side once per round, alternating which goes first.
pub fn alternate(
    rounds: usize,
    names: [&str; 2],
    mut measure: impl FnMut(usize, u32) -> anyhow::Result<f64>,
) -> anyhow::Result<Vec<Side>> {
    let mut sides: Vec<Side> = names
        .iter()
        .map(|n| Side {
            name: n.to_string(),
            samples: Vec::new(),
        })
        .collect();
    for round in 0..rounds {
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
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
    let meta: Value = serde_json::from_slice(&out.stdout).context("cargo metadata's output")?;
    let dir = meta["target_directory"]
        .as_str()
        .context("cargo metadata gave no target_directory")?;
    Ok(PathBuf::from(dir))
}

fn machine() -> Value {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    json!({
        "cpus": cpus,
        "load_average_at_start": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        "note": "the tools measured and the demo-app they load share these CPUs",
    })
}

/// Run the benchmarks.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.list {
        for c in COMPARISONS {
            println!("{:<20} {}", c.name, c.about);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let chosen: Vec<&Comparison> = match &args.name {
        None => COMPARISONS.iter().collect(),
        Some(name) => match COMPARISONS.iter().find(|c| c.name == name.as_str()) {
            Some(c) => vec![c],
            None => {
                let names: Vec<&str> = COMPARISONS.iter().map(|c| c.name).collect();
                return Err(Usage(format!(
                    "bench: no comparison named {name:?} (one of: {})",
                    names.join(", ")
                ))
                .into());
            }
        },
    };
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

    shell::run(shell::cargo().args(["build", "--release", "-p", "loadgen", "-p", "demo-app"]))?;
    if chosen.iter().any(|c| c.needs_oha) {
        loadgen::ensure_oha()?;
    }
    let bench = Bench {
        rounds: args.rounds,
        duration,
        release_dir: target_dir()?.join("release"),
    };
    let started = SystemTime::now();
    let machine = machine();
    let mut outcomes = Vec::new();
    for comparison in chosen {
        eprintln!("running {}: {}", comparison.name, comparison.about);
        let outcome = (comparison.run)(&bench).with_context(|| comparison.name.to_string())?;
        outcome.print();
        outcomes.push(outcome);
    }
    let document = json!({
        "started_at": utc_stamp(started),
        "machine": machine,
        "comparisons": outcomes.iter().map(Outcome::to_json).collect::<Vec<_>>(),
    });
    let dir = shell::repo_root().join("target/lab/bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{}.json", utc_stamp(started)));
    std::fs::write(&path, serde_json::to_string_pretty(&document)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("results: {}", path.display());
    if outcomes.iter().all(Outcome::met) {
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
        let outcome = Outcome {
            name: "x".into(),
            setup: "s".into(),
            metric: "requests/s".into(),
            sides,
            goal: Goal::RatioAtLeast(0.9),
            notes: vec![],
        };
        // Per round 0.91, 0.92 and 0.96; the ratio of medians mixes rounds: 91/100.
        assert_eq!(outcome.ratio(), Some(0.92));
        assert_eq!(outcome.ratio_of_medians(), Some(0.91));
        assert!(outcome.met());
        let missed = Outcome {
            goal: Goal::RatioAtLeast(0.95),
            ..outcome
        };
        assert!(!missed.met());
    }

    #[test]
    fn results_serialize_well_formed() {
        let outcome = Outcome {
            name: "loadgen-memory".into(),
            setup: "loadgen alone".into(),
            metric: "MB".into(),
            sides: vec![Side {
                name: "loadgen".into(),
                samples: vec![12.5, 11.0],
            }],
            goal: Goal::AtMost(50.0),
            notes: vec!["1000 answers".into()],
        };
        let text = serde_json::to_string_pretty(&outcome.to_json()).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], "loadgen-memory");
        assert_eq!(back["sides"][0]["samples"], json!([12.5, 11.0]));
        assert_eq!(back["sides"][0]["median"], 11.75);
        assert_eq!(back["median_ratio"], Value::Null);
        assert_eq!(back["ratio_of_medians"], Value::Null);
        assert_eq!(back["goal"], "<= 50 MB");
        assert_eq!(back["met"], true);
        assert_eq!(back["notes"][0], "1000 answers");
    }
}
