//! `--platform` and `--context`, shared by `lab up` and `lab run`, and how
//! `auto` picks a platform.

use crate::exit::Usage;
use crate::shell;
use lab_session::{PlatformChoice, Provider};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where a lab runs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlatformName {
    /// kind when Docker and kind are usable, else local.
    Auto,
    /// Processes on this machine, with the real Prometheus (no Docker needed).
    Local,
    /// A kind cluster named `canary-lab`.
    Kind,
    /// A minikube profile named `canary-lab`.
    Minikube,
}

/// The platform flags.
#[derive(clap::Args, Debug, Clone)]
pub struct PlatformArgs {
    /// Where the lab runs.
    #[arg(long, value_enum, default_value = "auto")]
    pub platform: PlatformName,
    /// Use an existing cluster through this kubeconfig context (provisions nothing).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

impl PlatformArgs {
    /// Resolve `auto`; the reason is printed for `auto` only.
    pub fn choose(&self) -> anyhow::Result<(PlatformChoice, Option<String>)> {
        if let Some(context) = &self.context {
            if context.trim().is_empty() {
                return Err(
                    Usage("--context: needs the name of a kubeconfig context".into()).into(),
                );
            }
            if !matches!(self.platform, PlatformName::Auto) {
                return Err(Usage(
                    "--context: cannot be used with --platform (give one or the other)".into(),
                )
                .into());
            }
            return Ok((
                PlatformChoice::Cluster(Provider::Context(context.clone())),
                None,
            ));
        }
        Ok(match self.platform {
            PlatformName::Local => (PlatformChoice::Local, None),
            PlatformName::Kind => (PlatformChoice::Cluster(Provider::Kind), None),
            PlatformName::Minikube => (PlatformChoice::Cluster(Provider::Minikube), None),
            PlatformName::Auto => match kind_usable() {
                Ok(()) => (
                    PlatformChoice::Cluster(Provider::Kind),
                    Some("platform kind (auto: Docker answers and kind is installed)".to_string()),
                ),
                Err(why) => (
                    PlatformChoice::Local,
                    Some(format!(
                        "platform local (auto: {why}; use --platform kind to insist)"
                    )),
                ),
            },
        })
    }
}

/// Kind is usable when `kind` is on PATH and the Docker engine answers.
fn kind_usable() -> Result<(), String> {
    if shell::which("docker").is_none() {
        return Err("docker is not installed".into());
    }
    if shell::which("kind").is_none() {
        return Err("kind is not installed".into());
    }
    if !answers(
        Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]),
        Duration::from_secs(5),
    ) {
        return Err("docker is installed but its engine does not answer".into());
    }
    Ok(())
}

/// Run a command with a time limit; true when it exits successfully in time.
fn answers(command: &mut Command, limit: Duration) -> bool {
    let Ok(mut child) = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}
