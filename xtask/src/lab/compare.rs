//! `cargo xtask lab compare`: run scenarios one after another with the same
//! traffic and write their measures side by side.
//!
//! Each scenario runs as its own `lab run` process; its row is read from the
//! run's `report.json` (the model is `lab_report::compare`). The files are
//! rewritten after every row, so an interrupted comparison keeps its finished
//! rows, and a scenario that fails to run is a row saying why.

use super::local::run_dirs;
use super::scenario_args::{find_scenario, load_scenario, shipped_scenarios};
use anyhow::Context as _;
use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::report::Report;
use lab_report::Language;
use lab_report::compare::{COMPARE_SCHEMA_VERSION, Comparison, Row};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// Options of `lab compare`.
#[derive(clap::Args)]
pub struct Args {
    /// Scenarios to run, by shipped name or folder (default: every folder under
    /// lab/scenarios).
    scenarios: Vec<String>,
    /// How fast to run every scenario: `quick` or `seed`.
    #[arg(long, default_value = "quick", value_parser = super::scenario_args::parse_profile)]
    profile: ProfileName,
    /// The platform every scenario runs on (passed to `lab run`).
    #[arg(long, default_value = "local")]
    platform: String,
    /// Language of every run's report and of the comparison's pages: en or ko.
    #[arg(long, value_name = "LANG", default_value = "en")]
    lang: Language,
}

/// Run `lab compare`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dirs = if args.scenarios.is_empty() {
        shipped_scenarios()?
    } else {
        args.scenarios
            .iter()
            .map(|s| find_scenario(s))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let root = super::local::lab_dir();
    let id = chrono_id();
    let out = root.join("compare").join(&id);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut comparison = Comparison {
        schema_version: COMPARE_SCHEMA_VERSION,
        id: id.clone(),
        profile: args.profile.as_str().to_owned(),
        platform: args.platform.clone(),
        language: args.lang,
        rows: Vec::new(),
    };
    let runs = root.join("runs");
    for dir in &dirs {
        let name = dir
            .path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        eprintln!("lab compare: {name}");
        let peak = load_scenario(dir)
            .ok()
            .and_then(|s| Plan::build(&s, args.profile, &Overrides::default()).ok())
            .and_then(|p| p.peak_pods_above_steady());
        let row = match run_one(&args, &dir.path, &runs, &out, &name) {
            Ok((report, report_dir)) => {
                let link = relative(&out, &report_dir.join("report.html"));
                Row::ran(&report, link, peak)
            }
            Err(error) => Row::failed(&name, format!("{error:#}")),
        };
        comparison.rows.push(row);
        write(&out, &comparison)?;
    }
    println!("{}", out.join("compare.html").display());
    Ok(ExitCode::SUCCESS)
}

fn run_one(
    args: &Args,
    scenario: &Path,
    runs: &Path,
    out: &Path,
    name: &str,
) -> anyhow::Result<(Report, PathBuf)> {
    let before = run_dirs(runs);
    let log_path = out.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let status = Command::new(std::env::current_exe().context("finding xtask")?)
        .args(["lab", "run"])
        .arg(scenario)
        .args(["--profile", args.profile.as_str()])
        .args(["--platform", &args.platform, "--no-live", "--quiet"])
        .args(["--lang", args.lang.code()])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("starting lab run")?;
    let new: Vec<PathBuf> = run_dirs(runs).difference(&before).cloned().collect();
    let [dir] = new.as_slice() else {
        anyhow::bail!(
            "lab run exited with {status} and left {} new runs (see {})",
            new.len(),
            log_path.display()
        );
    };
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("lab run exited with {status}: reading {}", path.display()))?;
    let report = Report::from_json(&text).with_context(|| path.display().to_string())?;
    Ok((report, dir.clone()))
}

fn write(out: &Path, comparison: &Comparison) -> anyhow::Result<()> {
    for (file, text) in [
        ("compare.json", comparison.to_json_pretty()),
        ("compare.md", comparison.markdown()),
        ("compare.html", comparison.html()),
    ] {
        let path = out.join(file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `../../runs/<id>/report.html` from the comparison's directory.
fn relative(out: &Path, target: &Path) -> String {
    let base = out.parent().and_then(Path::parent);
    match base.and_then(|b| target.strip_prefix(b).ok()) {
        Some(rest) => format!("../../{}", rest.display()),
        None => target.display().to_string(),
    }
}

/// A sortable id from the clock: seconds since the epoch.
fn chrono_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("compare-{secs}")
}
