//! `cargo xtask lab …`: bring up a lab, run scenarios, inspect and tear down.
//!
//! Each subcommand lives in its own file; this one only wires them together.

mod cluster;
mod compare;
mod console;
mod down;
mod images;
mod live;
pub(crate) mod local;
mod plan;
mod platform_args;
mod report;
mod run;
mod runtime;
mod scenario_args;
mod status;
mod up;
mod validate;

use std::process::ExitCode;

/// The lab's subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Provision a lab: a cluster (kind or minikube) or the local platform, with
    /// Prometheus and Grafana, and print where everything is reached.
    Up(up::Args),
    /// Run a scenario end to end under traffic, judge it and write its report.
    Run(run::Args),
    /// Show what runs: the platform, the Service, Prometheus and Grafana URLs.
    Status(status::Args),
    /// Stop and remove everything the lab started. Idempotent.
    Down(down::Args),
    /// Print a scenario's plan, one line per step with its kubectl equivalent.
    Plan(plan::Args),
    /// Validate scenario folders and list every problem found.
    Validate(validate::Args),
    /// Render or open the report of a run.
    Report(report::Args),
    /// Run scenarios one after another and compare their measures side by side.
    Compare(compare::Args),
}

/// Dispatch a lab subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Up(args) => up::run(args),
        Command::Run(args) => run::run(args),
        Command::Status(args) => status::run(args),
        Command::Down(args) => down::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Report(args) => report::run(args),
        Command::Compare(args) => compare::run(args),
    }
}
