//! The state file: what a local lab runs, so that `lab status` can show it and
//! `lab down` can clean up after a harness that was killed. Every child process
//! also carries a marker in its environment, so cleanup finds them even if the
//! file is gone. Its format, reading and the cleanup live here; the
//! `statefile` controller rewrites it on every change.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The environment variable that marks a process as started by a local lab; its
/// value is the lab's run directory.
pub const MARKER_VAR: &str = "CANARY_LAB_MARKER";

/// One pod as recorded in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedPod {
    /// Pod name.
    pub name: String,
    /// Its `version` label.
    pub version: String,
    /// Whether it is a ready endpoint.
    pub ready: bool,
    /// Its process id, while it has a process.
    pub pid: Option<u32>,
}

/// What a local lab runs, as written to the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    /// Process id of the harness that drives the lab.
    pub owner_pid: u32,
    /// The harness's start time (clock ticks since boot, from /proc), so a
    /// recycled pid is never mistaken for it.
    pub owner_start: Option<u64>,
    /// The marker every child carries (see [`MARKER_VAR`]).
    pub marker: String,
    /// The run directory.
    pub run_dir: PathBuf,
    /// Prometheus's URL, when it runs.
    pub prometheus: Option<String>,
    /// Each Service's URL.
    pub services: BTreeMap<String, String>,
    /// Each Gateway's URL (its first listener).
    #[serde(default)]
    pub gateways: BTreeMap<String, String>,
    /// Each HTTPRoute's conditions as its Gateway's controller set them, as
    /// `kubectl get httproute` shows them: `Accepted=True (Accepted)`, ….
    #[serde(default)]
    pub routes: BTreeMap<String, Vec<String>>,
    /// Every pod.
    pub pods: Vec<RecordedPod>,
    /// Process ids of every child (pods and Prometheus).
    pub pids: Vec<u32>,
}

/// Errors reading a state file.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// The file exists but cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The state file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a state file.
    #[error("{path}: not a lab state file: {message}")]
    Parse {
        /// The state file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
}

/// Write a state file atomically.
pub fn write(path: &Path, state: &LabState) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension("tmp");
    std::fs::write(
        &temporary,
        serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(&temporary, path)
}

/// Read a state file; `Ok(None)` when there is none.
pub fn read(path: &Path) -> Result<Option<LabState>, StateFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateFileError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|error| StateFileError::Parse {
            path: path.to_path_buf(),
            message: error.to_string(),
        })
}

/// Whether a process is alive (and not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses: "123 (name) S ...".
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The marker in a process's environment, if any.
fn marker_of(pid: u32) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ.split(|b| *b == 0).find_map(|entry| {
        let entry = std::str::from_utf8(entry).ok()?;
        entry
            .strip_prefix(MARKER_VAR)?
            .strip_prefix('=')
            .map(str::to_string)
    })
}

/// Every live process whose marker starts with `prefix`.
pub fn marked_processes(prefix: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .filter(|pid| marker_of(*pid).is_some_and(|m| m.starts_with(prefix)) && alive(*pid))
        .collect()
}

/// What a cleanup did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// The harness process that was asked to stop, if one still ran.
    pub owner: Option<u32>,
    /// Processes stopped with SIGTERM.
    pub terminated: Vec<u32>,
    /// Processes that needed SIGKILL.
    pub killed: Vec<u32>,
}

/// Stop a lab: ask its harness to stop (SIGTERM; it tears down in order), then
/// stop every process carrying a marker under `marker_prefix`, SIGKILL after
/// `grace`. Idempotent: with nothing running it does nothing.
pub async fn cleanup(state: Option<&LabState>, marker_prefix: &str, grace: Duration) -> Cleanup {
    let mut report = Cleanup::default();
    if let Some(state) = state {
        let owner = state.owner_pid;
        let same_process = state.owner_start.is_some() && start_time(owner) == state.owner_start;
        if owner != std::process::id() && alive(owner) && same_process {
            let _ = kill(Pid::from_raw(owner as i32), Signal::SIGTERM);
            report.owner = Some(owner);
            wait_gone(&[owner], grace).await;
        }
    }
    let mut pids = marked_processes(marker_prefix);
    if let Some(state) = state {
        for pid in &state.pids {
            if !pids.contains(pid)
                && alive(*pid)
                && marker_of(*pid).as_deref() == Some(&state.marker)
            {
                pids.push(*pid);
            }
        }
    }
    for pid in &pids {
        let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGTERM);
    }
    report.terminated = pids.clone();
    wait_gone(&pids, grace).await;
    for pid in pids.iter().filter(|pid| alive(**pid)) {
        let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
        report.killed.push(*pid);
    }
    wait_gone(&report.killed, Duration::from_secs(2)).await;
    report
}

/// A process's start time in clock ticks since boot (field 22 of /proc/PID/stat).
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // After the command name: field 3 is the state, so field 22 is index 19 here.
    rest.split_whitespace().nth(19)?.parse().ok()
}

async fn wait_gone(pids: &[u32], limit: Duration) {
    let start = Instant::now();
    while pids.iter().any(|pid| alive(*pid)) && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
