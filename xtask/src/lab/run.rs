//! `cargo xtask lab run`: a scenario end to end under traffic, judged, reported.

use super::console::{Console, Teaching};
use super::local;
use super::platform_args::{Chosen, PlatformArgs};
use super::scenario_args::{ScenarioArgs, load_plan};
use crate::exit::Usage;
use crate::shell::repo_root;
use anyhow::Context;
use lab_core::analysis::Outcome;
use lab_core::plan::Plan;
use lab_core::platform::Platform;
use lab_core::report::{Report, RunStatus};
use lab_report::Language;
use lab_runner::{Connections, FailedConnections, RunConfig};
use platform_local::{LocalConfig, LocalPlatform};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Options of `lab run`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    platform: PlatformArgs,
    /// Leave the last state running (pods, Service, Prometheus) until Ctrl-C or
    /// `cargo xtask lab down`, to poke at it.
    #[arg(long)]
    keep: bool,
    /// Print only the result.
    #[arg(long, conflicts_with_all = ["step", "explain"])]
    quiet: bool,
    /// Teaching mode: before each step, explain what it does and why with its
    /// kubectl command, and wait for Enter (traffic keeps flowing).
    #[arg(long)]
    step: bool,
    /// Explain each step like `--step`, without pausing.
    #[arg(long, conflicts_with = "step")]
    explain: bool,
    /// The language of the explanations: en or ko.
    #[arg(long, value_name = "LANG", default_value = "en")]
    lang: Language,
    /// The Prometheus binary for the local platform (default: from PATH).
    #[arg(long, value_name = "PATH")]
    prometheus: Option<PathBuf>,
    /// Where traffic comes from on a cluster: `host` (this machine, through the
    /// NodePort) or `in-cluster` (a loadgen Job reaching the Service by its DNS name).
    #[arg(long, value_enum, default_value = "host")]
    traffic: TrafficFrom,
    /// Send traffic over this many keep-alive connections instead of a new
    /// connection per request (each connection then stays on one pod).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    keep_alive: Option<u16>,
}

/// Where traffic is generated.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum TrafficFrom {
    /// This machine, through the Service's NodePort (or the local listener).
    Host,
    /// A loadgen Job inside the cluster (cluster platforms only).
    InCluster,
}

/// Run `lab run`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = load_plan(&args.scenario)?;
    let (chosen, reason) = args.platform.choose()?;
    if args.traffic == TrafficFrom::InCluster && chosen == Chosen::Local {
        return Err(Usage(
            "--traffic in-cluster: needs a cluster platform (--platform kind|minikube or --context); the local platform has no cluster".into(),
        )
        .into());
    }
    let teaching = (args.step || args.explain).then_some(Teaching {
        pause: args.step,
        language: args.lang,
    });
    let console = Console::new(args.quiet, teaching);
    if let Some(reason) = reason {
        console.line(&reason);
    }
    if let Chosen::Kube(provider) = &chosen
        && platform_kube::lab::LabState::load(&repo_root())?.is_none()
    {
        // `lab up` has its own runtime: provision before entering ours.
        console.line("no lab is up on the cluster yet: running `lab up` first");
        let code = super::kube::up(&PlatformArgs::target(provider.clone(), false))?;
        if code != ExitCode::SUCCESS {
            anyhow::bail!("lab up failed");
        }
    }
    let runtime = super::runtime()?;
    let report = match chosen {
        Chosen::Local => runtime.block_on(run_local(&args, &plan, console))?,
        Chosen::Kube(_) => runtime.block_on(run_kube(&args, &plan, console))?,
    };
    Ok(exit_status(&report))
}

/// 0 when the expected outcome was met; 1 when not, or the run failed; 130 when
/// interrupted.
fn exit_status(report: &Report) -> ExitCode {
    let name = |o: Outcome| o.as_str().replace('_', "-");
    match &report.status {
        RunStatus::Interrupted => {
            eprintln!("interrupted: the report says what ran");
            ExitCode::from(130)
        }
        RunStatus::Failed { error } => {
            eprintln!("error: the run failed: {error}");
            ExitCode::from(1)
        }
        RunStatus::Completed if report.passed => ExitCode::SUCCESS,
        RunStatus::Completed => {
            let got = report.outcome.map_or("no decision".to_string(), name);
            let why = report
                .decision
                .as_ref()
                .map_or(String::new(), |d| format!(": {}", d.reason));
            eprintln!("error: expected {}, got {got}{why}", name(report.expected));
            ExitCode::from(1)
        }
    }
}

/// A run id and its directory under `target/lab/runs`.
fn new_run(plan: &Plan) -> (String, PathBuf) {
    let id = lab_runner::run_id(&plan.scenario, jiff::Timestamp::now());
    let dir = local::lab_dir().join("runs").join(&id);
    (id, dir)
}

/// Ctrl-C and SIGTERM flip the interrupt; a second one is left to the default.
fn interrupts() -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(term) => {
                    term.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
        }
        let _ = sender.send(true);
        // Keep the sender alive so the interrupt stays set.
        std::future::pending::<()>().await;
    });
    receiver
}

fn connections(args: &Args) -> Connections {
    args.keep_alive.map_or(Connections::PerRequest, |n| {
        Connections::KeepAlive(usize::from(n))
    })
}

/// After an interrupt, pods get this long to stop before SIGKILL.
const INTERRUPTED_GRACE: Duration = Duration::from_secs(1);

/// Where a run's files go, and everything else the runner needs.
struct RunSetup {
    run_id: String,
    run_dir: PathBuf,
    notes: Vec<String>,
    grafana: Option<lab_runner::Grafana>,
    interrupt: watch::Receiver<bool>,
    failed_connections: Option<FailedConnections>,
    remote_traffic: Option<Arc<dyn lab_runner::traffic::RemoteTraffic>>,
}

async fn execute<P: Platform>(
    platform: &P,
    plan: &Plan,
    args: &Args,
    console: Console,
    setup: RunSetup,
) -> anyhow::Result<(Report, watch::Receiver<bool>)> {
    let RunSetup {
        run_id,
        run_dir,
        notes,
        grafana,
        interrupt,
        failed_connections,
        remote_traffic,
    } = setup;
    let (events, receiver) = mpsc::unbounded_channel();
    let mut config = RunConfig::new(run_id, run_dir.clone(), interrupt.clone());
    config.connections = connections(args);
    config.keep = args.keep;
    config.observer = Some(events);
    config.notes = notes;
    config.grafana = grafana;
    config.failed_connections = failed_connections;
    config.remote_traffic = remote_traffic;
    config.before_step = console.teaching_hook();
    console.header(plan, &platform.name(), &run_dir);
    let printer = tokio::spawn(console.clone().follow(receiver, plan.clone()));
    let report = lab_runner::run(platform, plan, config).await?;
    let _ = printer.await;
    console.summary(&report, &run_dir);
    Ok((report, interrupt))
}

async fn run_local(args: &Args, plan: &Plan, console: Console) -> anyhow::Result<Report> {
    let mut notes = Vec::new();
    let prometheus = match local::prometheus_for_run(
        args.prometheus.as_deref(),
        plan.profile.scrape_interval,
    )? {
        Ok(config) => Some(config),
        Err(missing) => {
            console.line(&format!("note: {missing}"));
            notes.push(missing);
            None
        }
    };
    let demo_app = local::demo_app()?;
    let (run_id, run_dir) = new_run(plan);
    let platform = LocalPlatform::start(LocalConfig {
        run_dir: run_dir.join("platform"),
        demo_app,
        prometheus,
        namespace: "canary-lab".to_string(),
        state_file: Some(local::run_state_file()),
        max_grace: None,
    })
    .await
    .context("could not start the local platform")?;
    let interrupt = interrupts();
    let mut interrupted = interrupt.clone();
    let limiter = platform.clone();
    tokio::spawn(async move {
        if interrupted.wait_for(|stop| *stop).await.is_ok() {
            limiter.limit_grace(INTERRUPTED_GRACE);
        }
    });
    let counter = platform.clone();
    let service = plan.service.clone();
    let setup = RunSetup {
        run_id,
        run_dir,
        notes,
        grafana: None,
        interrupt,
        failed_connections: Some(FailedConnections::new(move || {
            counter.failed_connections(&service)
        })),
        remote_traffic: None,
    };
    let result = execute(&platform, plan, args, console.clone(), setup).await;
    if let Ok((_, interrupt)) = &result
        && args.keep
    {
        console.line("kept running: Ctrl-C here, or `cargo xtask lab down` elsewhere, stops it");
        let mut interrupt = interrupt.clone();
        let _ = interrupt.wait_for(|stop| *stop).await;
        let _ = platform.teardown().await;
    }
    // Pods leave their endpoints, then get SIGTERM; SIGKILL after their grace.
    tokio::time::timeout(Duration::from_secs(40), platform.shutdown())
        .await
        .ok();
    result.map(|(report, _)| report)
}

async fn run_kube(args: &Args, plan: &Plan, console: Console) -> anyhow::Result<Report> {
    let root = repo_root();
    let platform = Arc::new(platform_kube::lab::lab_platform(&root).await?);
    let grafana = platform.urls().grafana.and_then(|url| {
        let password =
            std::fs::read_to_string(root.join(platform_kube::lab::PASSWORD_FILE)).ok()?;
        Some(lab_runner::Grafana::new(
            url,
            platform_kube::monitoring::GRAFANA_USER,
            password.trim().to_string(),
        ))
    });
    let remote_traffic = (args.traffic == TrafficFrom::InCluster).then(|| {
        Arc::new(super::in_cluster::JobTraffic::new(platform.clone()))
            as Arc<dyn lab_runner::traffic::RemoteTraffic>
    });
    let (run_id, run_dir) = new_run(plan);
    let setup = RunSetup {
        run_id,
        run_dir,
        notes: Vec::new(),
        grafana,
        interrupt: interrupts(),
        failed_connections: None,
        remote_traffic,
    };
    let (report, interrupt) = execute(&*platform, plan, args, console.clone(), setup).await?;
    if args.keep {
        console.line("kept running on the cluster: `cargo xtask lab down` removes the lab");
        let _ = interrupt;
    }
    Ok(report)
}
