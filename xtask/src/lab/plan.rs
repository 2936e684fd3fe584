//! `cargo xtask lab plan`.

use super::scenario_args::{ScenarioArgs, find_scenario, read_scenario};
use crate::exit::Usage;
use lab_core::plan::Plan;
use std::process::ExitCode;

/// Options of `lab plan`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    scenario: ScenarioArgs,
}

/// Run `lab plan`: print the scenario's steps with their kubectl equivalents.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let args = args.scenario;
    let dir = find_scenario(&args.scenario)?;
    let source = read_scenario(&dir)?;
    let scenario = match lab_core::scenario::parse(&source) {
        Ok(scenario) => scenario,
        Err(problems) => {
            for problem in problems.errors() {
                eprintln!("{problem}");
            }
            let count = problems.errors().len();
            let noun = if count == 1 { "problem" } else { "problems" };
            return Err(Usage(format!("{}: {count} {noun}", dir.display)).into());
        }
    };
    let plan = Plan::build(&scenario, args.profile, &args.overrides())
        .map_err(|error| Usage(error.to_string()))?;
    print!("{plan}");
    Ok(ExitCode::SUCCESS)
}
