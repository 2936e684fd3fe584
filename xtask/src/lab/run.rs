//! `cargo xtask lab run`: a scenario end to end under traffic, judged, reported.

use super::console::{Console, Teaching};
use super::images::{self, ImageArgs};
use super::local;
use super::platform_args::PlatformArgs;
use super::runtime::runtime;
use super::scenario_args::{ScenarioArgs, load_plan_on, parse_connections};
use crate::exit::from_session;
use lab_core::analysis::Outcome;
use lab_core::plan::Plan;
use lab_core::platform::Platform;
use lab_core::report::{Report, RunStatus};
use lab_report::Language;
use lab_runner::{Connections, MirrorCounting};
use lab_session::{Kept, LabSpec, PlatformChoice, Supplies};
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::sync::{mpsc, watch};

/// Options of `lab run`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    platform: PlatformArgs,
    #[command(flatten)]
    images: ImageArgs,
    /// Leave the last state running (pods, Service, Prometheus) until Ctrl-C or
    /// `cargo xtask lab down`, to poke at it.
    #[arg(long)]
    keep: bool,
    /// Print only the result (the live page is still served).
    #[arg(long, conflicts_with_all = ["step", "explain"])]
    quiet: bool,
    /// Do not serve the live page.
    #[arg(long)]
    no_live: bool,
    /// Open the live page in the desktop's browser (xdg-open, or open on macOS).
    #[arg(long, conflicts_with = "no_live")]
    open: bool,
    /// Teaching mode: before each step, explain what it does and why with its
    /// kubectl command, and wait for Enter (traffic keeps flowing).
    #[arg(long)]
    step: bool,
    /// Explain each step like `--step`, without pausing.
    #[arg(long, conflicts_with = "step")]
    explain: bool,
    /// The language of what the run prints, the teaching mode, the live page
    /// and the report (report.md, report.html, the charts): en or ko.
    #[arg(long, value_name = "LANG", default_value = "en")]
    lang: Language,
    /// The Prometheus binary for the local platform (default: from PATH).
    #[arg(long, value_name = "PATH")]
    prometheus: Option<PathBuf>,
    /// Where traffic comes from on a cluster: `host` (this machine, through the
    /// NodePort) or `in-cluster` (a loadgen Job reaching the Service by its DNS name).
    #[arg(long, value_enum, default_value = "host")]
    traffic: TrafficFrom,
    /// Send traffic over this many keep-alive connections (at most 1000)
    /// instead of a new connection per request (each connection then stays on
    /// one pod).
    #[arg(long, value_name = "N", value_parser = parse_connections)]
    keep_alive: Option<u16>,
    /// How the local platform's pods get their network: `netns` (each pod in
    /// its own network namespace, Services as kernel address translation;
    /// needs root, `ip` and `nft`), `loopback` (each pod on its own 127.x
    /// address; apps must listen on $(POD_IP)) or `auto` (netns when
    /// possible, else loopback).
    #[arg(long, value_name = "MODE", default_value = "loopback", value_parser = parse_pod_network)]
    pod_network: platform_local::PodNetworkMode,
    /// Who counts the copies a Gateway mirrors: `auto` (the local gateway's
    /// exact count; on a cluster the mirror targets' metrics in Prometheus)
    /// or `prometheus` (always the targets' metrics, as a cluster counts them).
    #[arg(long, value_enum, value_name = "WHO", default_value = "auto")]
    mirror_count: MirrorCount,
}

/// Who counts mirrored copies (`--mirror-count`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum MirrorCount {
    Auto,
    Prometheus,
}

fn parse_pod_network(text: &str) -> Result<platform_local::PodNetworkMode, String> {
    text.parse()
}

/// Where traffic is generated.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum TrafficFrom {
    /// This machine, through the Service's NodePort (or the local listener).
    Host,
    /// A loadgen Job inside the cluster (cluster platforms only).
    InCluster,
}

impl From<TrafficFrom> for lab_session::TrafficFrom {
    fn from(traffic: TrafficFrom) -> Self {
        match traffic {
            TrafficFrom::Host => lab_session::TrafficFrom::Host,
            TrafficFrom::InCluster => lab_session::TrafficFrom::InCluster,
        }
    }
}

/// Run `lab run`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (chosen, reason) = args.platform.choose()?;
    let plan = load_plan_on(&args.scenario, chosen.placement())?;
    let spec = LabSpec::new(chosen, args.traffic.into()).map_err(from_session)?;
    spec.check_plan(&plan).map_err(from_session)?;
    let home = local::home();
    spec.check_recorded(&home).map_err(from_session)?;
    let teaching = (args.step || args.explain).then_some(Teaching { pause: args.step });
    let console = Console::new(args.quiet, teaching, args.lang);
    if let Some(reason) = reason {
        console.line(&reason);
    }
    if let PlatformChoice::Cluster(provider) = spec.platform()
        && spec.needs_cluster_up(&home).map_err(from_session)?
    {
        // A Gateway scenario brings up the Gateway API with the lab.
        let gateway = lab_session::uses_gateway_api(&plan.manifests);
        console.line(if gateway {
            "no lab is up on the cluster yet: running `lab up --gateway` first"
        } else {
            "no lab is up on the cluster yet: running `lab up` first"
        });
        let options = platform_kube::lab::UpOptions {
            gateway,
            ..Default::default()
        };
        let code = super::up::cluster_up(provider, &options, false)?;
        if code != ExitCode::SUCCESS {
            anyhow::bail!("lab up failed");
        }
    }
    let local = spec.needs_demo_app();
    let images = if local {
        images::programs(&args.images, &plan)?
    } else {
        Default::default()
    };
    let supplies = Supplies {
        demo_app: local.then(local::demo_app).transpose()?,
        prometheus: args.prometheus.clone(),
        images,
        allow_pod_commands: args.images.allow_scenario_commands,
        no_metrics: local
            .then(|| images::metrics_note(&plan, args.lang))
            .flatten(),
        pod_network: local.then_some(args.pod_network),
        language: args.lang,
    };
    let runtime = runtime()?;
    let choices = RunChoices {
        connections: connections(&args),
        keep: args.keep,
        live: (!args.no_live).then_some(args.open),
        language: args.lang,
        mirror_counting: match args.mirror_count {
            MirrorCount::Auto => MirrorCounting::Platform,
            MirrorCount::Prometheus => MirrorCounting::Prometheus,
        },
    };
    let report = runtime.block_on(async {
        let interrupt = interrupts();
        execute(&choices, &spec, &home, &plan, supplies, console, interrupt).await
    })?;
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

/// Ctrl-C and SIGTERM flip the interrupt; a second one is left to the default.
/// Called within the runtime.
pub(super) fn interrupts() -> watch::Receiver<bool> {
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

/// What a run does besides the plan: `lab run` takes it from its flags, `lab
/// compare` sets it for each of its runs.
pub(super) struct RunChoices {
    /// How traffic connects.
    pub(super) connections: Connections,
    /// Keep the last state running after the run (`--keep`).
    pub(super) keep: bool,
    /// Serve the live page, and whether to open it in a browser; `None` serves
    /// none.
    pub(super) live: Option<bool>,
    /// The language of the console and the report.
    pub(super) language: Language,
    /// Who counts mirrored copies.
    pub(super) mirror_counting: MirrorCounting,
}

/// Open the lab, run the plan on it while the console follows, and close it
/// (after Ctrl-C when `--keep` keeps processes of this one running).
/// `interrupt` ends the run as Ctrl-C does.
pub(super) async fn execute(
    choices: &RunChoices,
    spec: &LabSpec,
    home: &lab_session::LabHome,
    plan: &Plan,
    supplies: Supplies,
    console: Console,
    interrupt: watch::Receiver<bool>,
) -> anyhow::Result<Report> {
    let opened = lab_session::open_run(spec, home, plan, supplies, interrupt.clone())
        .await
        .map_err(from_session)?;
    let platform = opened.platform;
    let mut config = opened.config;
    let (events, receiver) = mpsc::unbounded_channel();
    config.connections = choices.connections;
    config.keep = choices.keep;
    config.observer = Some(events);
    config.before_step = console.teaching_hook();
    config.language = choices.language;
    config.mirror_counting = choices.mirror_counting;
    if spec.needs_demo_app() {
        config
            .notes
            .extend(images::unmodelled_note(plan, choices.language));
    }
    for note in &config.notes {
        console.note(note);
    }
    let run_dir = config.run_dir.clone();
    console.header(plan, &platform.name(), &run_dir);
    if let Some(shortfall) = plan.sample_estimate().and_then(|s| s.shortfall()) {
        use lab_report::i18n::Localized;
        console.note(
            &lab_report::run_notes::RunNote::SampleShort(&shortfall).render(choices.language),
        );
    }
    let live = match choices.live {
        None => None,
        Some(open) => match super::live::serve(plan, &run_dir, choices.language).await {
            Ok((server, feed)) => {
                config.live = Some(feed);
                console.line(&format!("live: {}", server.url()));
                if open {
                    super::live::open(&server.url());
                }
                Some(server)
            }
            // A page that cannot be served is no reason not to run.
            Err(error) => {
                console.note(&error.to_string());
                None
            }
        },
    };
    let printer = tokio::spawn(console.clone().follow(receiver, plan.clone()));
    let result = lab_runner::run(&platform, plan, config).await;
    if result.is_ok() {
        let _ = printer.await;
    }
    if let Ok(report) = &result {
        console.summary(report, &run_dir);
        if choices.keep {
            match platform.kept() {
                Kept::UntilInterrupted => {
                    console.line(
                        "kept running: Ctrl-C here, or `cargo xtask lab down` elsewhere, stops it",
                    );
                    platform.hold_until_interrupted(interrupt).await;
                }
                Kept::OnCluster => console
                    .line("kept running on the cluster: `cargo xtask lab down` removes the lab"),
            }
        }
    }
    if let Some(live) = live {
        live.stop().await;
    }
    platform.close().await;
    Ok(result?)
}
