//! `cargo xtask lab report`.

use std::process::ExitCode;

/// Options of `lab report`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `lab report`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {} = args;
    anyhow::bail!("`lab report` is not built yet")
}
