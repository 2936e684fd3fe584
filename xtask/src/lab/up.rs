//! `cargo xtask lab up`.

use std::process::ExitCode;

/// Options of `lab up`.
#[derive(clap::Args)]
pub struct Args {}

/// Run `lab up`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {} = args;
    anyhow::bail!("`lab up` is not built yet")
}
