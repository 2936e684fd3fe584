//! The local lab: `lab up --platform local` starts a long-lived Prometheus that
//! later runs attach to (without it, each run starts and stops its own);
//! `lab down` stops whatever a run or the lab left, also after a harness that
//! was killed; `lab status` says what runs.

use crate::error::SessionError;
use crate::home::LabHome;
use platform_local::statefile::{self, LabState};
use platform_local::{LabPrometheus, PrometheusConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Scrape interval of the lab's long-lived Prometheus until a run sets its own.
const LAB_SCRAPE_INTERVAL: Duration = Duration::from_secs(5);

/// How long `lab down` gives each process it stops.
const DOWN_GRACE: Duration = Duration::from_secs(5);

/// Directories searched for Prometheus besides PATH (Debian puts some tools there).
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin"];

/// What `lab up --platform local` started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalLab {
    /// The long-lived Prometheus.
    pub prometheus: LabPrometheus,
}

/// Prometheus on this machine: on PATH or in the usual system directories.
pub(crate) fn installed_prometheus() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join("prometheus"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The local lab recorded by `lab up`, if its Prometheus still runs.
pub(crate) fn running_lab(home: &LabHome) -> Result<Option<LocalLab>, SessionError> {
    let path = home.lab_file();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(SessionError::File(format!(
                "cannot read {}: {error}",
                path.display()
            )));
        }
    };
    let lab: LocalLab = serde_json::from_str(&text).map_err(|error| {
        SessionError::File(format!(
            "{}: not a lab file (remove it, or run `cargo xtask lab down`): {error}",
            path.display()
        ))
    })?;
    Ok(statefile::alive(lab.prometheus.pid).then_some(lab))
}

/// Prometheus for a run: the lab's, or `explicit` (which must be a file), or
/// the one installed; without any, why the run measures on the client side
/// only, in `language`.
pub(crate) fn prometheus_for_run(
    home: &LabHome,
    explicit: Option<&Path>,
    scrape_interval: Duration,
    language: lab_report::Language,
) -> Result<Result<PrometheusConfig, String>, SessionError> {
    if let Some(lab) = running_lab(home)? {
        return Ok(Ok(PrometheusConfig::Attach {
            server: lab.prometheus,
            scrape_interval,
        }));
    }
    let binary = match explicit {
        Some(path) if path.is_file() => Some(path.to_path_buf()),
        Some(path) => {
            return Err(SessionError::Usage(format!(
                "--prometheus: {} is not a file",
                path.display()
            )));
        }
        None => installed_prometheus(),
    };
    Ok(match binary {
        Some(binary) => Ok(PrometheusConfig::Start {
            binary,
            scrape_interval,
        }),
        None => Err({
            use lab_report::i18n::Localized;
            lab_report::run_notes::RunNote::NoPrometheus.render(language)
        }),
    })
}

/// What `lab up --platform local` did.
#[derive(Debug)]
pub enum LocalUp {
    /// The lab's Prometheus already ran.
    AlreadyRunning(LocalLab),
    /// A dry run: the command that would start Prometheus, and where it would
    /// be recorded.
    WouldStart {
        /// The Prometheus command line.
        command: String,
        /// The file recording the lab.
        record: PathBuf,
    },
    /// The lab's Prometheus was started.
    Started(LocalLab),
}

/// `lab up --platform local`: start the lab's Prometheus unless it runs.
pub async fn local_up(home: &LabHome, dry_run: bool) -> Result<LocalUp, SessionError> {
    if let Some(lab) = running_lab(home)? {
        return Ok(LocalUp::AlreadyRunning(lab));
    }
    let dir = home.local_dir().join("prometheus");
    let Some(binary) = installed_prometheus() else {
        return Err(SessionError::Missing(
            "prometheus is not installed: install the Debian/Ubuntu package `prometheus` (sudo apt-get install prometheus) or put it on PATH".to_string(),
        ));
    };
    if dry_run {
        return Ok(LocalUp::WouldStart {
            command: format!(
                "{} --config.file={}/prometheus.yml --storage.tsdb.path={}/data --web.listen-address=127.0.0.1:<free port>",
                binary.display(),
                dir.display(),
                dir.display()
            ),
            record: home.lab_file(),
        });
    }
    let marker = home.local_dir().display().to_string();
    let prometheus = platform_local::start_detached(&binary, &dir, LAB_SCRAPE_INTERVAL, &marker)
        .await
        .map_err(|error| SessionError::Local(format!("could not start Prometheus: {error}")))?;
    let lab = LocalLab { prometheus };
    let file = home.lab_file();
    let text = serde_json::to_string_pretty(&lab).expect("the lab record serializes");
    std::fs::write(&file, text)
        .map_err(|error| SessionError::File(format!("cannot write {}: {error}", file.display())))?;
    Ok(LocalUp::Started(lab))
}

/// `lab down` on the local platform: stop a running `lab run` (from its state
/// file), every process marked as the lab's, and the lab's Prometheus. `None`
/// when nothing was running; else what was stopped.
pub async fn local_down(home: &LabHome) -> Result<Option<Vec<String>>, SessionError> {
    let state = statefile::read(&home.run_state_file())?;
    let marker = home.local_dir().display().to_string();
    let lab = running_lab(home)?;
    let runs = home.runs_dir().display().to_string();
    // Processes of runs carry their run directory as marker, the lab's
    // Prometheus the local directory: stop both.
    let from_runs = statefile::cleanup(state.as_ref(), &runs, DOWN_GRACE).await;
    let from_lab = statefile::cleanup(None, &marker, DOWN_GRACE).await;
    let mut stopped = Vec::new();
    if let Some(owner) = from_runs.owner {
        stopped.push(format!("the running `lab run` (pid {owner})"));
    }
    let processes = from_runs.terminated.len() + from_lab.terminated.len();
    if processes > 0 {
        stopped.push(format!("{processes} process(es)"));
    }
    // What pods in network namespaces left, once nothing of theirs runs.
    let removed = platform_local::sweep_leftovers();
    if !removed.is_empty() {
        stopped.push(format!(
            "the pod network ({}: {})",
            removed.len(),
            removed.join(", ")
        ));
    }
    let _ = std::fs::remove_file(home.run_state_file());
    let _ = std::fs::remove_file(home.lab_file());
    if stopped.is_empty() && lab.is_none() {
        return Ok(None);
    }
    Ok(Some(stopped))
}

/// What the local platform runs now, for `lab status`.
#[derive(Debug, Serialize)]
pub struct LocalStatus {
    /// The lab's long-lived Prometheus, if `lab up` started one.
    pub lab_prometheus: Option<String>,
    /// A `lab run` in progress (or kept with --keep), if any.
    pub run: Option<RunningRun>,
}

/// A running `lab run`.
#[derive(Debug, Serialize)]
pub struct RunningRun {
    /// Its process id.
    pub pid: u32,
    /// Its run directory.
    pub run_dir: PathBuf,
    /// Its Prometheus.
    pub prometheus: Option<String>,
    /// Each Service and its URL.
    pub services: BTreeMap<String, String>,
    /// Ready pods per version.
    pub ready: BTreeMap<String, u32>,
    /// All pods.
    pub pods: usize,
}

/// What runs locally.
pub fn local_status(home: &LabHome) -> Result<LocalStatus, SessionError> {
    let lab = running_lab(home)?;
    let run = statefile::read(&home.run_state_file())?
        .filter(|state: &LabState| statefile::alive(state.owner_pid))
        .map(|state| {
            let mut ready = BTreeMap::new();
            for pod in state.pods.iter().filter(|p| p.ready) {
                *ready.entry(pod.version.clone()).or_insert(0) += 1;
            }
            RunningRun {
                pid: state.owner_pid,
                run_dir: state.run_dir,
                prometheus: state.prometheus,
                services: state.services,
                ready,
                pods: state.pods.len(),
            }
        });
    Ok(LocalStatus {
        lab_prometheus: lab.map(|lab| lab.prometheus.url),
        run,
    })
}
