//! `cargo xtask lab validate`.

use std::process::ExitCode;

/// Options of `lab validate`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `lab validate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {} = args;
    anyhow::bail!("`lab validate` is not built yet")
}
