//! `cargo xtask test`: the whole test suite, prerequisites first.

use crate::{prereq, shell};
use std::process::ExitCode;

/// Options of `cargo xtask test`.
#[derive(clap::Args)]
pub struct Args {
    /// Also run the tests that need a Kubernetes cluster (the lab's own context, after `lab up`).
    #[arg(long)]
    cluster: bool,
    /// Skip `cargo fmt --check` and `cargo clippy`.
    #[arg(long)]
    no_lint: bool,
    /// Only run tests whose name contains this filter.
    filter: Option<String>,
}

/// Check prerequisites, lint, build the binaries the end-to-end tests start, and test.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    prereq::ensure(&[prereq::PROMETHEUS, prereq::PROMTOOL, prereq::CHROMIUM])?;
    let validator = prereq::ensure_kubernetes_validate(&shell::repo_root())?;
    if !args.no_lint {
        prereq::ensure_rust_components()?;
        shell::run(shell::cargo().args(["fmt", "--all", "--", "--check"]))?;
        shell::run(shell::cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    // The end-to-end tests start these binaries as processes.
    shell::run(shell::cargo().args(["build", "--workspace", "--bins"]))?;
    let mut test = shell::cargo();
    test.args(["test", "--workspace", "--no-fail-fast"]);
    // The mocked-API tests check what the kube platform sends with it.
    test.env("KUBERNETES_VALIDATE", &validator);
    test.arg("--");
    if let Some(filter) = &args.filter {
        test.arg(filter);
    }
    if args.cluster {
        test.arg("--include-ignored");
    }
    shell::run(&mut test)?;
    Ok(ExitCode::SUCCESS)
}
