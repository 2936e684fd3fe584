//! `cargo xtask lab plan`.

use super::scenario_args::{ScenarioArgs, load_plan};
use std::process::ExitCode;

/// Options of `lab plan`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    scenario: ScenarioArgs,
}

/// Run `lab plan`: print the scenario's steps with their kubectl equivalents.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = load_plan(&args.scenario)?;
    print!("{plan}");
    Ok(ExitCode::SUCCESS)
}
