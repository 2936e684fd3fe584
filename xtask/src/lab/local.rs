//! `lab up|down|status` on the local platform, and what `lab run` needs from it:
//! the demo-app binary, Prometheus, and the files under `target/lab/`.
//!
//! `lab up --platform local` starts a long-lived Prometheus; a later `lab run`
//! attaches to it. Without it, each run starts and stops its own.

use crate::shell;
use crate::{exit::Usage, prereq};
use anyhow::{Context, bail};
use platform_local::statefile::{self, LabState};
use platform_local::{LabPrometheus, PrometheusConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Scrape interval of the lab's long-lived Prometheus until a run sets its own.
const LAB_SCRAPE_INTERVAL: Duration = Duration::from_secs(5);

/// The environment variable that moves the lab's files (runs, the local lab's
/// state) away from `target/lab`, for tests that must not touch the real ones.
pub const HOME_VAR: &str = "CANARY_LAB_HOME";

/// The environment variable naming the demo-app binary pods run; without it,
/// `lab run` builds demo-app with cargo and takes the one next to xtask.
pub const DEMO_APP_VAR: &str = "CANARY_LAB_DEMO_APP";

/// `target/lab` (or `$CANARY_LAB_HOME`): everything the lab writes.
pub fn lab_dir() -> PathBuf {
    match std::env::var_os(HOME_VAR) {
        Some(home) if !home.is_empty() => PathBuf::from(home),
        _ => shell::repo_root().join("target").join("lab"),
    }
}

/// `target/lab/local`: the local lab's files.
pub fn local_dir() -> PathBuf {
    lab_dir().join("local")
}

/// The state file a running `lab run` keeps current.
pub fn run_state_file() -> PathBuf {
    local_dir().join("run-state.json")
}

fn lab_file() -> PathBuf {
    local_dir().join("lab.json")
}

/// What `lab up --platform local` started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalLab {
    /// The long-lived Prometheus.
    pub prometheus: LabPrometheus,
}

/// The local lab recorded by `lab up`, if its Prometheus still runs.
pub fn running_lab() -> anyhow::Result<Option<LocalLab>> {
    let path = lab_file();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let lab: LocalLab = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a lab file (remove it, or run `cargo xtask lab down`)",
            path.display()
        )
    })?;
    Ok(statefile::alive(lab.prometheus.pid).then_some(lab))
}

/// Find Prometheus for a run: the lab's, or a binary to start.
pub fn prometheus_for_run(
    explicit: Option<&Path>,
    scrape_interval: Duration,
) -> anyhow::Result<Result<PrometheusConfig, String>> {
    if let Some(lab) = running_lab()? {
        return Ok(Ok(PrometheusConfig::Attach {
            server: lab.prometheus,
            scrape_interval,
        }));
    }
    let binary = match explicit {
        Some(path) if path.is_file() => Some(path.to_path_buf()),
        Some(path) => {
            return Err(Usage(format!("--prometheus: {} is not a file", path.display())).into());
        }
        None => prereq::find("prometheus"),
    };
    Ok(match binary {
        Some(binary) => Ok(PrometheusConfig::Start {
            binary,
            scrape_interval,
        }),
        None => Err("prometheus is not installed (Debian: apt-get install prometheus; or pass --prometheus PATH): \
             this run measures on the client side only, and the cross-check against Prometheus is inconclusive"
            .to_string()),
    })
}

/// Build the demo app and return its path (next to this xtask binary), or the
/// one `$CANARY_LAB_DEMO_APP` names.
pub fn demo_app() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(DEMO_APP_VAR).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(Usage(format!("{DEMO_APP_VAR}: {} is not a file", path.display())).into());
        }
        return Ok(path);
    }
    let status = shell::cargo()
        .args(["build", "--quiet", "--package", "demo-app"])
        .status()
        .context("could not run cargo to build demo-app")?;
    if !status.success() {
        bail!("building demo-app failed");
    }
    let exe = std::env::current_exe().context("cannot find the xtask binary")?;
    let path = exe.with_file_name("demo-app");
    if !path.is_file() {
        bail!("demo-app was built but is not at {}", path.display());
    }
    Ok(path)
}

fn print_urls(prometheus: &str) {
    println!("Prometheus  {prometheus}");
    println!("Grafana     not on the local platform: every run writes its own report and charts");
    println!(
        "app         a Service listener on 127.x.0.2, started by `cargo xtask lab run <scenario>`"
    );
}

/// `lab up --platform local`: start the lab's Prometheus unless it runs.
pub fn up(dry_run: bool) -> anyhow::Result<ExitCode> {
    if let Some(lab) = running_lab()? {
        println!("lab up on local (already running)");
        print_urls(&lab.prometheus.url);
        return Ok(ExitCode::SUCCESS);
    }
    let dir = local_dir().join("prometheus");
    let Some(binary) = prereq::find("prometheus") else {
        bail!(
            "prometheus is not installed: install the Debian/Ubuntu package `prometheus` (sudo apt-get install prometheus) or put it on PATH"
        );
    };
    if dry_run {
        println!("# lab up on local (dry run: nothing is started)");
        println!(
            "{} --config.file={}/prometheus.yml --storage.tsdb.path={}/data --web.listen-address=127.0.0.1:<free port>",
            binary.display(),
            dir.display(),
            dir.display()
        );
        println!("# record it in {}", lab_file().display());
        return Ok(ExitCode::SUCCESS);
    }
    let marker = local_dir().display().to_string();
    let prometheus = super::runtime()?
        .block_on(platform_local::start_detached(
            &binary,
            &dir,
            LAB_SCRAPE_INTERVAL,
            &marker,
        ))
        .context("could not start Prometheus")?;
    let lab = LocalLab { prometheus };
    std::fs::write(lab_file(), serde_json::to_string_pretty(&lab)?)
        .with_context(|| format!("cannot write {}", lab_file().display()))?;
    println!("lab up on local");
    print_urls(&lab.prometheus.url);
    Ok(ExitCode::SUCCESS)
}

/// `lab down` on the local platform: stop a running `lab run` (from its state
/// file), every process marked as the lab's, and the lab's Prometheus.
/// Returns whether anything was running.
pub fn down() -> anyhow::Result<bool> {
    let state = statefile::read(&run_state_file())?;
    let marker = local_dir().display().to_string();
    let lab = running_lab()?;
    let runs = lab_dir().join("runs").display().to_string();
    let runtime = super::runtime()?;
    let grace = Duration::from_secs(5);
    // Processes of runs carry their run directory as marker, the lab's
    // Prometheus the local directory: stop both.
    let from_runs = runtime.block_on(statefile::cleanup(state.as_ref(), &runs, grace));
    let from_lab = runtime.block_on(statefile::cleanup(None, &marker, grace));
    let mut stopped = Vec::new();
    if let Some(owner) = from_runs.owner {
        stopped.push(format!("the running `lab run` (pid {owner})"));
    }
    let processes = from_runs.terminated.len() + from_lab.terminated.len();
    if processes > 0 {
        stopped.push(format!("{processes} process(es)"));
    }
    let _ = std::fs::remove_file(run_state_file());
    let _ = std::fs::remove_file(lab_file());
    if stopped.is_empty() && lab.is_none() {
        return Ok(false);
    }
    println!("lab down on local: stopped {}", stopped.join(" and "));
    Ok(true)
}

/// What the local platform runs now, for `lab status`.
#[derive(Debug, Serialize)]
pub struct LocalStatus {
    /// The lab's long-lived Prometheus, if `lab up` started one.
    pub lab_prometheus: Option<String>,
    /// A `lab run` in progress (or kept with --keep), if any.
    pub run: Option<RunStatus>,
}

/// A running `lab run`.
#[derive(Debug, Serialize)]
pub struct RunStatus {
    /// Its process id.
    pub pid: u32,
    /// Its run directory.
    pub run_dir: PathBuf,
    /// Its Prometheus.
    pub prometheus: Option<String>,
    /// Each Service and its URL.
    pub services: std::collections::BTreeMap<String, String>,
    /// Ready pods per version.
    pub ready: std::collections::BTreeMap<String, u32>,
    /// All pods.
    pub pods: usize,
}

/// What runs locally.
pub fn status() -> anyhow::Result<LocalStatus> {
    let lab = running_lab()?;
    let run = statefile::read(&run_state_file())?
        .filter(|state: &LabState| statefile::alive(state.owner_pid))
        .map(|state| {
            let mut ready = std::collections::BTreeMap::new();
            for pod in state.pods.iter().filter(|p| p.ready) {
                *ready.entry(pod.version.clone()).or_insert(0) += 1;
            }
            RunStatus {
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
