//! `cargo xtask lab down`.

use std::process::ExitCode;

/// Options of `lab down`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `lab down`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {} = args;
    anyhow::bail!("`lab down` is not built yet")
}
