//! `cargo xtask lab up`.

use super::platform_args::PlatformArgs;
use super::runtime::runtime;
use super::{cluster, local};
use crate::exit::{Usage, from_session};
use lab_session::{ClusterUp, LocalUp, PlatformChoice, Provider};
use platform_kube::lab::UpOptions;
use std::io::Write;
use std::process::ExitCode;

/// Options of `lab up`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    platform: PlatformArgs,
    /// Print every command and object instead of running and applying them.
    #[arg(long)]
    dry_run: bool,
    /// Also install the Gateway API CRDs (v1.5.1) and NGINX Gateway Fabric
    /// (v2.6.7) from lab/gateway/, for the scenarios with Gateways and
    /// HTTPRoutes (a cluster platform only).
    #[arg(long)]
    gateway: bool,
}

/// Provision the lab on the chosen platform and print where things are reached.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (chosen, reason) = args.platform.choose()?;
    if let Some(reason) = reason {
        eprintln!("{reason}");
    }
    match chosen {
        PlatformChoice::Local if args.gateway => Err(Usage(
            "--gateway: installs the Gateway API on a cluster (--platform kind|minikube or --context); the local platform serves Gateways itself".into(),
        )
        .into()),
        PlatformChoice::Local => local_up(args.dry_run),
        PlatformChoice::Cluster(provider) => {
            let options = UpOptions {
                gateway: args.gateway,
                ..UpOptions::default()
            };
            cluster_up(&provider, &options, args.dry_run)
        }
    }
}

fn print_local_urls(prometheus: &str) {
    println!("Prometheus  {prometheus}");
    println!("Grafana     not on the local platform: every run writes its own report and charts");
    println!(
        "app         a Service listener on 127.x.0.2, started by `cargo xtask lab run <scenario>`"
    );
}

/// `lab up --platform local`: start the lab's Prometheus unless it runs.
fn local_up(dry_run: bool) -> anyhow::Result<ExitCode> {
    let home = local::home();
    match runtime()?
        .block_on(lab_session::local_up(&home, dry_run))
        .map_err(from_session)?
    {
        LocalUp::AlreadyRunning(lab) => {
            println!("lab up on local (already running)");
            print_local_urls(&lab.prometheus.url);
        }
        LocalUp::WouldStart { command, record } => {
            println!("# lab up on local (dry run: nothing is started)");
            println!("{command}");
            println!("# record it in {}", record.display());
        }
        LocalUp::Started(lab) => {
            println!("lab up on local");
            print_local_urls(&lab.prometheus.url);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lab up` on a cluster: create it (kind, minikube) unless it exists, build and
/// load the images unless they exist, apply the monitoring stack, wait for it,
/// and print where Grafana, Prometheus and the app are reached. Idempotent.
pub fn cluster_up(
    provider: &Provider,
    options: &UpOptions,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let home = local::home();
    let up = runtime()?
        .block_on(lab_session::cluster_up(
            &home,
            provider,
            options,
            dry_run,
            &mut std::io::stderr(),
        ))
        .map_err(from_session)?;
    let mut stdout = std::io::stdout().lock();
    match up {
        ClusterUp::WouldRun(plan) => {
            platform_kube::lab::print_plan(&plan, home.repo_root(), &mut stdout)?;
        }
        ClusterUp::Up(status) => {
            writeln!(
                stdout,
                "lab up on {} (context {})",
                status.platform, status.context
            )?;
            // With the gateway's line when the lab has it (`--gateway`, now
            // or before).
            cluster::print_urls(&status, &mut stdout)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
