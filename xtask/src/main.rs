//! `cargo xtask`: canary-lab's command line. It parses arguments and calls the
//! libraries; the work itself lives in the crates under `crates/`.

mod bench;
mod exit;
mod lab;
mod prereq;
mod shell;
mod test;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// canary-lab: Kubernetes rollout scenarios, run under real traffic, measured and judged.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bring up a lab, run scenarios, inspect and tear down.
    #[command(subcommand)]
    Lab(lab::Command),
    /// Run the whole test suite, installing or checking its prerequisites first.
    Test(test::Args),
    /// Run benchmarks side by side with the tools people would use instead.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return exit::command_line(&error),
    };
    let result = match cli.command {
        Command::Lab(command) => lab::run(command),
        Command::Test(args) => test::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => exit::report(&error),
    }
}
