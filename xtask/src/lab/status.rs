//! `cargo xtask lab status`.

use std::process::ExitCode;

/// Options of `lab status`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `lab status`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {} = args;
    anyhow::bail!("`lab status` is not built yet")
}
