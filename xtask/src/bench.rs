//! `cargo xtask bench`: comparisons with the tools people would use instead.

use std::process::ExitCode;

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Run only this comparison.
    name: Option<String>,
}

/// Run the benchmarks.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = args.name;
    anyhow::bail!("benchmarks are not built yet")
}
