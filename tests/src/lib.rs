//! Shared helpers of the end-to-end tests: find the binaries and Prometheus, and
//! run a shipped scenario on the local platform the way `lab run` does.

use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::report::Report;
use platform_local::{LocalConfig, LocalPlatform, PrometheusConfig, ServiceStats};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A workspace binary next to the test executable (`cargo xtask test` builds
/// them first). Fails, never skips, when it is missing.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask test`, or `cargo build -p {name}` first",
        path.display()
    );
    path
}

/// Prometheus from PATH. Fails, never skips, when it is missing.
pub fn prometheus() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("prometheus"))
        .find(|p| p.is_file())
        .expect("prometheus is not on PATH: `cargo xtask test` installs it (Debian package `prometheus`)")
}

/// The plan of a shipped scenario with the quick profile.
pub fn quick_plan(scenario: &str) -> Plan {
    let dir = lab_runner::scenario_dir::shipped(&repo_root(), scenario);
    let scenario = lab_runner::load_scenario(&dir, &format!("lab/scenarios/{scenario}"))
        .unwrap_or_else(|e| panic!("{e}"));
    Plan::build(&scenario, ProfileName::Quick, &Overrides::default()).unwrap()
}

/// What a scenario run left behind for the assertions.
pub struct Outcome {
    /// The report, as written to `report.json`.
    pub report: Report,
    /// The Service listener's per-version connection tallies.
    pub service: BTreeMap<String, ServiceStats>,
    /// Every process id the platform ran at some point.
    pub pids: Vec<u32>,
    /// The run directory (kept until this value is dropped).
    pub dir: tempfile::TempDir,
}

/// Run a plan on the local platform with Prometheus, as `lab run` does.
pub async fn run_local(plan: &Plan) -> Outcome {
    run_local_with(plan, |_| None).await
}

/// [`run_local`] with traffic from elsewhere, built from the running platform.
pub async fn run_local_with(
    plan: &Plan,
    remote: impl FnOnce(
        &LocalPlatform,
    ) -> Option<std::sync::Arc<dyn lab_runner::traffic::RemoteTraffic>>,
) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let platform = LocalPlatform::start(LocalConfig {
        run_dir: run_dir.clone(),
        demo_app: binary("demo-app"),
        prometheus: Some(PrometheusConfig::Start {
            binary: prometheus(),
            scrape_interval: plan.profile.scrape_interval,
        }),
        namespace: "canary-lab".into(),
        state_file: Some(dir.path().join("state.json")),
        max_grace: None,
    })
    .await
    .unwrap();
    let (_interrupt, interrupted) = tokio::sync::watch::channel(false);
    let mut config = lab_runner::RunConfig::new("test-run", run_dir, interrupted);
    config.remote_traffic = remote(&platform);
    // Sample the pids while the run goes, to check none is left afterwards.
    let watcher = platform.clone();
    let pids = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let seen = pids.clone();
    let sampling = tokio::spawn(async move {
        loop {
            seen.lock().unwrap().extend(watcher.pids());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let report = lab_runner::run(&platform, plan, config).await.unwrap();
    sampling.abort();
    let service = platform.service_stats(&plan.service).unwrap_or_default();
    platform.shutdown().await;
    let pids = pids.lock().unwrap().iter().copied().collect();
    Outcome {
        report,
        service,
        pids,
        dir,
    }
}

/// Every process the run started is gone.
pub fn assert_no_process_left(run: &Outcome) {
    assert!(!run.pids.is_empty(), "the run started no process");
    for pid in &run.pids {
        assert!(
            !platform_local::statefile::alive(*pid),
            "pid {pid} outlived the run"
        );
    }
}

/// No request failed in any window: every request got a successful answer.
pub fn assert_no_failed_request(report: &Report) {
    for window in &report.windows {
        assert_eq!(
            window.connection_failures.total(),
            0,
            "window {}: requests without an answer",
            window.name
        );
        for (version, tally) in &window.versions {
            assert_eq!(
                tally.successes, tally.requests,
                "window {}: {version} answered errors",
                window.name
            );
        }
    }
}

/// Whether a version's observed share of a window is consistent with `expected`
/// at 99.99% confidence: a correct lab fails this less than once in 10,000 runs.
pub fn share_consistent(report: &Report, window: &str, version: &str, expected: f64) -> bool {
    use lab_core::analysis::{wilson_interval, z_for_confidence};
    let window = report
        .windows
        .iter()
        .find(|w| w.name == window)
        .unwrap_or_else(|| panic!("no window {window}"));
    let count = window.versions.get(version).map_or(0, |t| t.requests);
    let total: u64 = window.versions.values().map(|t| t.requests).sum();
    let interval = wilson_interval(count, total, z_for_confidence(0.9999))
        .unwrap_or_else(|| panic!("no requests in window {}", window.name));
    interval.contains(expected)
}
