//! The scenario and profile flags shared by `lab plan` and `lab run`, and reading a
//! scenario folder into memory for lab-core.

use crate::exit::{Problems, Usage};
use crate::shell::repo_root;
use anyhow::Context;
use lab_core::duration::parse_duration;
use lab_core::limits;
use lab_core::plan::{Overrides, Placement, Plan, PlanError, ProfileName};
use lab_core::scenario::{Scenario, ScenarioSource};
use lab_runner::LoadError;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where shipped scenarios live, relative to the repository root.
pub const SCENARIOS_DIR: &str = "lab/scenarios";

/// A scenario, a profile and overrides of the profile's values.
///
/// Durations resolve from the most specific source: these flags, then the step's
/// own `for`/`timeout` in scenario.toml, then the profile.
#[derive(clap::Args, Debug, Clone)]
pub struct ScenarioArgs {
    /// A shipped scenario's name (canary, bad-canary, …) or a path to a scenario folder.
    pub scenario: String,

    /// How fast to run: `quick` (seconds-long phases, for tests) or `seed` (the
    /// tutorial's pace: 2-minute phases, 10 requests/s).
    #[arg(long, default_value = "seed", value_parser = parse_profile)]
    pub profile: ProfileName,

    /// Length of every observe phase (e.g. 30s), instead of the profile's and the
    /// steps'; at most 1h.
    #[arg(long, value_name = "DURATION", value_parser = parse_phase)]
    pub observe: Option<Duration>,

    /// Length of the analyze phase; at most 1h.
    #[arg(long, value_name = "DURATION", value_parser = parse_phase)]
    pub analyze: Option<Duration>,

    /// How often the gates are checked during the analyze phase; at least 100ms.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub interval: Option<Duration>,

    /// Timeout of every wait step; at most 1h.
    #[arg(long, value_name = "DURATION", value_parser = parse_wait)]
    pub wait_timeout: Option<Duration>,

    /// Prometheus's scrape interval, from 100ms to 1m.
    #[arg(long, value_name = "DURATION", value_parser = parse_scrape_interval)]
    pub scrape_interval: Option<Duration>,

    /// Traffic sent through the Service, in requests per second; at most 5000.
    #[arg(long, value_name = "REQUESTS_PER_SECOND", value_parser = parse_rate,
          allow_negative_numbers = true)]
    pub rate: Option<f64>,
}

impl ScenarioArgs {
    /// The overrides given on the command line.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            observe: self.observe,
            analyze: self.analyze,
            analysis_interval: self.interval,
            wait_timeout: self.wait_timeout,
            scrape_interval: self.scrape_interval,
            rate: self.rate,
        }
    }
}

pub(super) fn parse_profile(text: &str) -> Result<ProfileName, String> {
    text.parse()
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => limits::rate(rate).map(|()| rate),
        _ => Err(format!(
            "`{text}` is not a positive number of requests per second"
        )),
    }
}

/// A duration flag within a limit (`lab_core::limits`).
fn limited(text: &str, limit: fn(Duration) -> Result<(), String>) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    limit(duration).map(|()| duration)
}

fn parse_phase(text: &str) -> Result<Duration, String> {
    limited(text, limits::phase)
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    limited(text, limits::interval)
}

fn parse_wait(text: &str) -> Result<Duration, String> {
    limited(text, limits::wait)
}

fn parse_scrape_interval(text: &str) -> Result<Duration, String> {
    limited(text, limits::scrape_interval)
}

/// `--keep-alive`: a number of connections within the lab's limit.
pub fn parse_connections(text: &str) -> Result<u16, String> {
    let connections: u64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of connections"))?;
    limits::connections(connections)?;
    u16::try_from(connections).map_err(|_| format!("`{text}` is too many connections"))
}

/// A scenario folder found from a command-line argument.
#[derive(Debug, Clone)]
pub struct ScenarioDir {
    /// Where it is on disk.
    pub path: PathBuf,
    /// How messages show it: `lab/scenarios/<name>` for a shipped scenario, the
    /// path as given otherwise.
    pub display: String,
}

/// Find a scenario: a shipped name (`canary` is `lab/scenarios/canary` in the
/// repository) or a path to a folder. An unknown name is a usage error that lists
/// the shipped names.
pub fn find_scenario(argument: &str) -> anyhow::Result<ScenarioDir> {
    let is_name =
        !argument.is_empty() && !argument.contains('/') && argument != "." && argument != "..";
    if is_name {
        let shipped = repo_root().join(SCENARIOS_DIR).join(argument);
        if shipped.is_dir() {
            return Ok(ScenarioDir {
                path: shipped,
                display: format!("{SCENARIOS_DIR}/{argument}"),
            });
        }
    }
    let path = Path::new(argument);
    if path.is_dir() {
        return Ok(ScenarioDir {
            path: path.to_path_buf(),
            display: argument.trim_end_matches('/').to_owned(),
        });
    }
    if is_name {
        let names = shipped_scenarios()?
            .iter()
            .map(|dir| {
                dir.path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Usage(format!(
            "{argument}: no such scenario: not a folder, nor one of the shipped scenarios {names}"
        ))
        .into());
    }
    Err(Usage(format!("{argument}: no such scenario folder")).into())
}

/// Every folder under `lab/scenarios`, sorted by name.
pub fn shipped_scenarios() -> anyhow::Result<Vec<ScenarioDir>> {
    let root = repo_root().join(SCENARIOS_DIR);
    let entries =
        std::fs::read_dir(&root).with_context(|| format!("cannot list {}", root.display()))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", root.display()))?;
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            dirs.push(ScenarioDir {
                path: entry.path(),
                display: format!("{SCENARIOS_DIR}/{name}"),
            });
        }
    }
    dirs.sort_by(|a, b| a.display.cmp(&b.display));
    Ok(dirs)
}

/// Read a scenario folder's files; a file that is not text is bad input.
pub fn read_scenario(dir: &ScenarioDir) -> anyhow::Result<ScenarioSource> {
    lab_runner::read_scenario(&dir.path, &dir.display).map_err(load_error)
}

/// Read and check a scenario folder: every problem is bad input, one line each.
pub fn load_scenario(dir: &ScenarioDir) -> anyhow::Result<Scenario> {
    lab_runner::load_scenario(&dir.path, &dir.display).map_err(load_error)
}

fn load_error(error: LoadError) -> anyhow::Error {
    match error {
        LoadError::Invalid(problems) => problems_of(&problems).into(),
        error @ LoadError::NotText { .. } => Problems(vec![error.to_string()]).into(),
        error @ LoadError::TooLarge { .. } => Problems(vec![format!("error: {error}")]).into(),
        error @ LoadError::Io { .. } => error.into(),
    }
}

/// A scenario's problems, one `file:line:col: message` line each.
pub fn problems_of(problems: &lab_core::scenario::ScenarioErrors) -> Problems {
    Problems(problems.errors().iter().map(ToString::to_string).collect())
}

/// Load the scenario and build its plan for the platform `placement`
/// describes; bad input is a usage error (exit 2).
pub fn load_plan_on(args: &ScenarioArgs, placement: Placement) -> anyhow::Result<Plan> {
    let dir = find_scenario(&args.scenario)?;
    let scenario = load_scenario(&dir)?;
    Plan::build_on(&scenario, args.profile, &args.overrides(), placement)
        .map_err(|error| plan_error(error).into())
}

/// A plan that cannot be built, said in terms of the flag to change.
fn plan_error(error: PlanError) -> Usage {
    Usage(match error {
        PlanError::ZeroDuration { what } => format!("{what}: must be longer than zero"),
        PlanError::OverLimit { what, problem } => format!("{what}: {problem}"),
        PlanError::Rate(rate) => {
            format!("--rate: must be a positive number of requests per second, not {rate}")
        }
        PlanError::IntervalTooLong {
            phase,
            interval,
            duration,
        } => format!(
            "--interval: the analysis interval ({interval}) is longer than analyze phase `{phase}` ({duration}); give a shorter --interval or a longer --analyze"
        ),
    })
}
