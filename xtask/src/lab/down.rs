//! `cargo xtask lab down`.

use super::local;
use super::platform_args::{PlatformArgs, PlatformName};
use super::runtime::runtime;
use crate::exit::from_session;
use lab_session::{ClusterDown, LabHome, PlatformChoice, Provider};
use std::process::ExitCode;

/// Options of `lab down`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    platform: PlatformArgs,
    /// Print what would be stopped or deleted instead of doing it.
    #[arg(long)]
    dry_run: bool,
}

/// Stop whatever the lab runs: locally, and the cluster lab `lab up` recorded.
/// With `--platform kind|minikube` or `--context`, only that cluster. Idempotent.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let home = local::home();
    let platform = args.platform.platform;
    let explicit_cluster = args.platform.context.is_some()
        || matches!(platform, PlatformName::Kind | PlatformName::Minikube);
    if explicit_cluster && let (PlatformChoice::Cluster(provider), _) = args.platform.choose()? {
        return cluster_down(&home, Some(&provider), args.dry_run);
    }
    let cluster = platform != PlatformName::Local
        && platform_kube::lab::LabState::load(home.repo_root())?.is_some();
    if args.dry_run {
        println!("# lab down (dry run: nothing is stopped)");
        println!(
            "# stop the running `lab run` recorded in {}, every process marked as the lab's, and the lab's Prometheus",
            home.run_state_file().display()
        );
        if cluster {
            println!(
                "# then remove the cluster lab recorded by `lab up` (see `cargo xtask lab down --platform kind --dry-run`)"
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let stopped = runtime()?
        .block_on(lab_session::local_down(&home))
        .map_err(from_session)?;
    if let Some(stopped) = &stopped {
        println!("lab down on local: stopped {}", stopped.join(" and "));
    }
    if cluster {
        return cluster_down(&home, None, false);
    }
    if stopped.is_none() {
        println!("no lab is running: nothing to stop");
    }
    Ok(ExitCode::SUCCESS)
}

/// `lab down` on a cluster: the one named, or the one `lab up` recorded.
fn cluster_down(
    home: &LabHome,
    target: Option<&Provider>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let down = runtime()?
        .block_on(lab_session::cluster_down(
            home,
            target,
            dry_run,
            &mut std::io::stderr(),
        ))
        .map_err(from_session)?;
    match down {
        ClusterDown::NothingUp => println!("no lab is up on a cluster: nothing to remove"),
        ClusterDown::WouldRun { platform, lines } => {
            println!("# lab down on {platform} (dry run: nothing is run or deleted)");
            for line in lines {
                println!("{line}");
            }
        }
        ClusterDown::Down { platform } => println!("lab down on {platform}"),
    }
    Ok(ExitCode::SUCCESS)
}
