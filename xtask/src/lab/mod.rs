//! `cargo xtask lab …`: bring up a lab, run scenarios, inspect and tear down.

use std::process::ExitCode;

/// The lab's subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Run a scenario end to end under traffic and write its report.
    Run(RunArgs),
}

/// Options of `lab run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// A shipped scenario name (`canary`) or the path of a scenario folder.
    scenario: String,
}

/// Dispatch a lab subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => {
            let _ = args.scenario;
            anyhow::bail!(
                "`lab run` is not built yet: the scenario core, traffic generator and platforms come first"
            )
        }
    }
}
