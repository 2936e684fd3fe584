//! `cargo xtask lab plan`.

use std::process::ExitCode;

/// Options of `lab plan`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `lab plan`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {} = args;
    anyhow::bail!("`lab plan` is not built yet")
}
