//! `cargo xtask lab compare`: run scenarios one after another with the same
//! traffic and write their measures side by side.
//!
//! Every scenario runs in this process, as `lab run` runs one (through
//! lab-session and `lab_runner::run`), so each runs the lab that was built
//! with this command; its row is read from the run's report (the model is
//! `lab_report::compare`). The files are rewritten after every row; Ctrl-C
//! ends the current run as it ends `lab run`, and the files keep the rows
//! finished before it. A scenario that fails to run is a row saying why.

use super::console::Console;
use super::images::{self, ImageArgs};
use super::local;
use super::platform_args::{PlatformArgs, PlatformName};
use super::run::{RunChoices, execute, interrupts};
use super::runtime::runtime;
use super::scenario_args::{find_scenario, load_scenario, shipped_scenarios};
use crate::exit::from_session;
use anyhow::Context as _;
use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::report::{Report, RunStatus};
use lab_report::Language;
use lab_report::compare::{COMPARE_SCHEMA_VERSION, Comparison, Row};
use lab_runner::{Connections, MirrorCounting};
use lab_session::{LabHome, LabSpec, PlatformChoice, Supplies, TrafficFrom};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokio::sync::watch;

/// Options of `lab compare`.
#[derive(clap::Args)]
pub struct Args {
    /// Scenarios to run, by shipped name or folder (default: every folder under
    /// lab/scenarios).
    scenarios: Vec<String>,
    /// How fast to run every scenario: `quick` or `seed`.
    #[arg(long, default_value = "quick", value_parser = super::scenario_args::parse_profile)]
    profile: ProfileName,
    /// The platform every scenario runs on.
    #[arg(long, value_enum, default_value = "local")]
    platform: PlatformName,
    #[command(flatten)]
    images: ImageArgs,
    /// Language of every run's report and of the comparison's pages: en or ko.
    #[arg(long, value_name = "LANG", default_value = "en")]
    lang: Language,
}

/// What every run of the comparison shares.
struct Lab {
    spec: LabSpec,
    home: LabHome,
    demo_app: Option<PathBuf>,
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
    let platform = PlatformArgs {
        platform: args.platform,
        context: None,
    };
    let (chosen, reason) = platform.choose()?;
    if let Some(reason) = reason {
        eprintln!("{reason}");
    }
    let spec = LabSpec::new(chosen, TrafficFrom::Host).map_err(from_session)?;
    let home = local::home();
    spec.check_recorded(&home).map_err(from_session)?;
    let platform_name = match spec.platform() {
        PlatformChoice::Local => "local".to_owned(),
        PlatformChoice::Cluster(provider) => {
            if spec.needs_cluster_up(&home).map_err(from_session)? {
                // The Gateway API comes with the lab when a compared
                // scenario routes through a Gateway.
                let gateway = dirs.iter().any(|dir| {
                    load_scenario(dir)
                        .is_ok_and(|scenario| lab_session::uses_gateway_api(&scenario.manifests))
                });
                eprintln!(
                    "no lab is up on the cluster yet: running `lab up{}` first",
                    if gateway { " --gateway" } else { "" }
                );
                let options = platform_kube::lab::UpOptions {
                    gateway,
                    ..Default::default()
                };
                if super::up::cluster_up(provider, &options, false)? != ExitCode::SUCCESS {
                    anyhow::bail!("lab up failed");
                }
            }
            provider.name().to_owned()
        }
    };
    // Built once, before the first run: every run starts the same pods.
    let demo_app = spec.needs_demo_app().then(local::demo_app).transpose()?;
    let lab = Lab {
        spec,
        home,
        demo_app,
    };
    let root = lab.home.dir().to_path_buf();
    let id = chrono_id();
    let out = root.join("compare").join(&id);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut comparison = Comparison {
        schema_version: COMPARE_SCHEMA_VERSION,
        id: id.clone(),
        profile: args.profile.as_str().to_owned(),
        platform: platform_name,
        language: args.lang,
        rows: Vec::new(),
    };
    let runtime = runtime()?;
    let interrupt = {
        let _inside = runtime.enter();
        interrupts()
    };
    let mut interrupted = false;
    for dir in &dirs {
        if *interrupt.borrow() {
            interrupted = true;
            break;
        }
        let name = dir
            .path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        eprintln!("lab compare: {name}");
        let ran = load_scenario(dir).and_then(|scenario| {
            let plan = Plan::build_on(
                &scenario,
                args.profile,
                &Overrides::default(),
                lab.spec.platform().placement(),
            )?;
            let report = runtime.block_on(run_one(&args, &lab, &plan, interrupt.clone()))?;
            Ok((report, plan.peak_pods_above_steady()))
        });
        let row = match ran {
            Ok((report, _)) if report.status == RunStatus::Interrupted => {
                // Not a finished row: the table keeps those before it.
                interrupted = true;
                break;
            }
            Ok((report, planned_peak)) => {
                let report_dir = lab.home.runs_dir().join(&report.run_id);
                let link = relative(&out, &report_dir.join("report.html"));
                Row::ran(&report, link, planned_peak)
            }
            Err(error) => Row::failed(&name, format!("{error:#}")),
        };
        comparison.rows.push(row);
        write(&out, &comparison)?;
    }
    write(&out, &comparison)?;
    println!("{}", out.join("compare.html").display());
    if interrupted {
        eprintln!(
            "interrupted: the comparison keeps the {} finished row(s)",
            comparison.rows.len()
        );
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}

/// Run one plan on a lab of its own, as `lab run --no-live --quiet` does.
async fn run_one(
    args: &Args,
    lab: &Lab,
    plan: &Plan,
    interrupt: watch::Receiver<bool>,
) -> anyhow::Result<Report> {
    lab.spec.check_plan(plan).map_err(from_session)?;
    let local = lab.spec.needs_demo_app();
    let supplies = Supplies {
        demo_app: lab.demo_app.clone(),
        prometheus: None,
        images: if local {
            images::programs(&args.images, plan)?
        } else {
            Default::default()
        },
        allow_pod_commands: args.images.allow_scenario_commands,
        no_metrics: local
            .then(|| images::metrics_note(plan, args.lang))
            .flatten(),
        pod_network: None,
        language: args.lang,
    };
    let choices = RunChoices {
        connections: Connections::PerRequest,
        keep: false,
        live: None,
        language: args.lang,
        mirror_counting: MirrorCounting::Platform,
    };
    let console = Console::new(true, None, args.lang);
    execute(
        &choices, &lab.spec, &lab.home, plan, supplies, console, interrupt,
    )
    .await
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
