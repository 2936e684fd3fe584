//! `cargo xtask lab …`: bring up a lab, run scenarios, inspect and tear down.
//!
//! Each subcommand lives in its own file; this one only wires them together.

mod cluster;
mod console;
mod down;
pub(crate) mod local;
mod plan;
mod platform_args;
mod report;
mod run;
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
}

/// The async runtime the lab's commands drive the libraries with (two workers:
/// this machine's size, and plenty for a lab's I/O).
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

/// A lab session's error for the command line: bad input exits 2.
fn session_error(error: lab_session::SessionError) -> anyhow::Error {
    if error.is_usage() {
        crate::exit::Usage(error.to_string()).into()
    } else {
        error.into()
    }
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
    }
}
