//! `cargo xtask lab run`.

use std::process::ExitCode;

/// Options of `lab run`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `lab run`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {} = args;
    anyhow::bail!("`lab run` is not built yet")
}
