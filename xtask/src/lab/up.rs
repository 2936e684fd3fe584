//! `cargo xtask lab up`.

use super::platform_args::{Chosen, PlatformArgs};
use super::{kube, local};
use std::process::ExitCode;

/// Options of `lab up`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    platform: PlatformArgs,
    /// Print every command and object instead of running and applying them.
    #[arg(long)]
    dry_run: bool,
}

/// Provision the lab on the chosen platform and print where things are reached.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (chosen, reason) = args.platform.choose()?;
    if let Some(reason) = reason {
        eprintln!("{reason}");
    }
    match chosen {
        Chosen::Local => local::up(args.dry_run),
        Chosen::Kube(provider) => kube::up(&PlatformArgs::target(provider, args.dry_run)),
    }
}
