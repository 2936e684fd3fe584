//! `cargo xtask lab down`.

use super::platform_args::{Chosen, PlatformArgs, PlatformName};
use super::{kube, local};
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
    let platform = args.platform.platform;
    let explicit_cluster = args.platform.context.is_some()
        || matches!(platform, PlatformName::Kind | PlatformName::Minikube);
    if explicit_cluster && let (Chosen::Kube(provider), _) = args.platform.choose()? {
        return kube::down(Some(&PlatformArgs::target(provider, args.dry_run)));
    }
    let cluster = platform != PlatformName::Local
        && platform_kube::lab::LabState::load(&crate::shell::repo_root())?.is_some();
    if args.dry_run {
        println!("# lab down (dry run: nothing is stopped)");
        println!(
            "# stop the running `lab run` recorded in {}, every process marked as the lab's, and the lab's Prometheus",
            local::run_state_file().display()
        );
        if cluster {
            println!(
                "# then remove the cluster lab recorded by `lab up` (see `cargo xtask lab down --platform kind --dry-run`)"
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let stopped_local = local::down()?;
    if cluster {
        return kube::down(None);
    }
    if !stopped_local {
        println!("no lab is running: nothing to stop");
    }
    Ok(ExitCode::SUCCESS)
}
