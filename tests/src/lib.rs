//! Shared helpers of the end-to-end tests: find the binaries and Prometheus, run
//! a shipped scenario on the local platform opened as `lab run` opens it
//! (`lab_session::open_run`, optionally doing something to the lab while it
//! runs), and drive the built command line.

use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::platform::RemoteTraffic;
use lab_core::report::Report;
use lab_session::{Grafana, LabHome, LabSpec, PlatformChoice, Supplies, TrafficFrom};
use platform_local::{LocalPlatform, ServiceStats};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// The Service listener's per-version connection tallies, as last seen
    /// before teardown.
    pub service: BTreeMap<String, ServiceStats>,
    /// Every process id the platform ran at some point.
    pub pids: Vec<u32>,
    /// The run's directory, under `home`.
    pub run_dir: PathBuf,
    /// The lab's home (kept until this value is dropped).
    pub home: tempfile::TempDir,
}

/// Run a plan on the local platform with Prometheus, opened as `lab run` opens it.
pub async fn run_local(plan: &Plan) -> Outcome {
    run_local_with(plan, |_| None).await
}

/// [`run_local`] with traffic from elsewhere, built from the running platform.
pub async fn run_local_with(
    plan: &Plan,
    remote: impl FnOnce(&LocalPlatform) -> Option<Arc<dyn RemoteTraffic>>,
) -> Outcome {
    run_local_inner(plan, remote, None, |_| {}, |_, _| async {}).await
}

/// [`run_local`] with the run's configuration changed first (e.g. who
/// counts mirrored copies).
pub async fn run_local_configured(
    plan: &Plan,
    configure: impl FnOnce(&mut lab_runner::RunConfig),
) -> Outcome {
    run_local_inner(plan, |_| None, None, configure, |_, _| async {}).await
}

/// Run a plan as [`run_local`] does, annotating `grafana` when given, while
/// `during` gets the platform and the run's `events.jsonl` to act on the lab
/// (kill a pod, kill Prometheus). A panic in `during` fails the test.
pub async fn run_local_during<F, Fut>(plan: &Plan, grafana: Option<Grafana>, during: F) -> Outcome
where
    F: FnOnce(LocalPlatform, PathBuf) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_local_inner(plan, |_| None, grafana, |_| {}, during).await
}

async fn run_local_inner<F, Fut>(
    plan: &Plan,
    remote: impl FnOnce(&LocalPlatform) -> Option<Arc<dyn RemoteTraffic>>,
    grafana: Option<Grafana>,
    configure: impl FnOnce(&mut lab_runner::RunConfig),
    during: F,
) -> Outcome
where
    F: FnOnce(LocalPlatform, PathBuf) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let home = tempfile::tempdir().unwrap();
    let spec = LabSpec::new(PlatformChoice::Local, TrafficFrom::Host).unwrap();
    let supplies = Supplies {
        demo_app: Some(binary("demo-app")),
        prometheus: Some(prometheus()),
        ..Supplies::default()
    };
    let (_interrupt, interrupted) = tokio::sync::watch::channel(false);
    let opened = lab_session::open_run(
        &spec,
        &LabHome::at(repo_root(), home.path()),
        plan,
        supplies,
        interrupted,
    )
    .await
    .unwrap();
    let mut config = opened.config;
    configure(&mut config);
    let mut lab = opened.platform;
    let platform = lab.as_local().expect("a local lab").clone();
    if let Some(remote) = remote(&platform) {
        lab = lab.with_remote_traffic(remote);
    }
    if let Some(grafana) = grafana {
        lab = lab.with_grafana(grafana);
    }
    let run_dir = config.run_dir.clone();
    let acting = tokio::spawn(during(platform.clone(), run_dir.join("events.jsonl")));
    // Sample the pids while the run goes, to check none is left afterwards, and
    // the Service's tallies, which go with the Service at teardown.
    let watcher = platform.clone();
    let pids = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let tallies = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let (seen, tallied) = (pids.clone(), tallies.clone());
    let service = plan.entry.name().to_owned();
    let sampling = tokio::spawn(async move {
        loop {
            seen.lock().unwrap().extend(watcher.pids());
            if let Some(stats) = watcher.service_stats(&service) {
                *tallied.lock().unwrap() = stats;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let report = lab_runner::run(&lab, plan, config).await.unwrap();
    sampling.abort();
    let acted = acting.await;
    let service = tallies.lock().unwrap().clone();
    lab.close().await;
    let pids = pids.lock().unwrap().iter().copied().collect();
    if let Err(error) = acted {
        std::panic::resume_unwind(error.into_panic());
    }
    Outcome {
        report,
        service,
        pids,
        run_dir,
        home,
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

/// Each of `versions` answered requests in window `name`.
pub fn assert_window_answered_by(report: &Report, name: &str, versions: &[&str]) {
    let window = report
        .windows
        .iter()
        .find(|window| window.name == name)
        .unwrap_or_else(|| panic!("no {name} window"));
    for version in versions {
        let answered = window.versions.get(*version).map_or(0, |v| v.requests);
        assert!(
            answered > 0,
            "{version} answered nothing: {:?}",
            window.versions
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

/// Wait until `ready` holds, checking every 50 ms; panics with `what` after `limit`.
pub async fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The events of a run so far, from its `events.jsonl`.
pub fn events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Whether an event is `kind` (`window_opened`, `step_started`, …) and has every
/// field of `fields` with that value.
pub fn is_event(event: &serde_json::Value, kind: &str, fields: &[(&str, &str)]) -> bool {
    event["event"] == kind
        && fields.iter().all(|(key, value)| match &event[*key] {
            serde_json::Value::String(text) => text == value,
            other => value
                .parse::<serde_json::Value>()
                .is_ok_and(|v| v == *other),
        })
}

/// Wait until the run's events include one that `is_event(kind, fields)`.
pub async fn wait_for_event(path: &Path, limit: Duration, kind: &str, fields: &[(&str, &str)]) {
    let what = format!("event {kind} {fields:?} in {}", path.display());
    wait_until(limit, &what, || {
        events(path).iter().any(|e| is_event(e, kind, fields))
    })
    .await;
}

/// `cargo xtask` as built (`target/debug/xtask`), with the lab's files under
/// `home` (`CANARY_LAB_HOME`) and pods running the built demo-app, run from the
/// repository root.
pub fn lab_command(home: &Path) -> Command {
    let mut command = Command::new(binary("xtask"));
    command
        .current_dir(repo_root())
        .env("CANARY_LAB_HOME", home)
        .env("CANARY_LAB_DEMO_APP", binary("demo-app"))
        .env("NO_COLOR", "1");
    command
}

/// Live processes started by a lab whose files are under `home`: every child of
/// a local lab carries its directory as a marker.
pub fn lab_processes(home: &Path) -> Vec<u32> {
    platform_local::statefile::marked_processes(&format!("{}/", home.display()))
}

/// None of these processes runs any more.
pub fn assert_gone(pids: &[u32]) {
    for pid in pids {
        assert!(
            !platform_local::statefile::alive(*pid),
            "pid {pid} outlived the run"
        );
    }
}

/// A failing canary was rolled back and the baseline is back as before it:
/// the run completed as expected, every rollback step ran and succeeded, the
/// candidate's Deployment (`removed`) was deleted, and the last ready-endpoints
/// sample is the baseline alone at `replicas` endpoints (also in the last window).
pub fn assert_rolled_back(report: &Report, removed: &str, baseline: &str, replicas: u32) {
    use lab_core::analysis::Outcome;
    use lab_core::report::{RunStatus, Section, StepResult};
    assert_eq!(report.status, RunStatus::Completed, "{:#?}", report.notes);
    assert_eq!(report.outcome, Some(Outcome::RolledBack));
    assert!(report.passed, "{:#?}", report.decision);
    let rollback: Vec<_> = report
        .steps
        .iter()
        .filter(|s| s.section == Section::Rollback)
        .collect();
    assert!(!rollback.is_empty(), "no rollback steps");
    for step in &rollback {
        assert_eq!(
            step.result,
            StepResult::Ok,
            "rollback: {}",
            step.description
        );
        assert!(step.finished_ms.is_some(), "{}", step.description);
    }
    // Nothing after the decision point ran in the main section.
    let analyze = report
        .steps
        .iter()
        .position(|s| s.description.starts_with("analyze"))
        .expect("an analyze step");
    for step in &report.steps[analyze + 1..] {
        if step.section == Section::Main {
            assert_eq!(step.result, StepResult::Skipped, "{}", step.description);
        }
    }
    let deleted = format!("deployment/{removed}");
    assert!(
        report
            .events
            .iter()
            .any(|e| e.reason == "Deleted" && e.object == deleted),
        "no Deleted event for {deleted}"
    );
    let last = report.timeline.last().expect("a ready-endpoints timeline");
    assert_eq!(
        last.ready,
        BTreeMap::from([(baseline.to_string(), replicas)]),
        "last ready sample at {} ms",
        last.t_ms
    );
    let last_window = report.windows.last().expect("windows");
    assert_eq!(
        last_window.versions.keys().collect::<Vec<_>>(),
        [baseline],
        "window {}",
        last_window.name
    );
}

/// The decision's time is measured from the candidate's first ready sample, or
/// from when it was applied when it never became ready.
pub fn assert_time_to_decision_consistent(report: &Report) {
    let decision = report.decision.as_ref().expect("a decision");
    let candidate = &report.roles.candidate;
    let ready = report
        .timeline
        .iter()
        .find(|s| s.ready.get(candidate).copied().unwrap_or(0) > 0)
        .map(|s| s.t_ms);
    let from = match ready {
        Some(ready) => ready,
        None => {
            let apply = report
                .steps
                .iter()
                .find(|s| s.description.starts_with("apply") && s.description.contains(candidate))
                .expect("the candidate's apply step");
            apply.started_ms.expect("it ran")
        }
    };
    let expected = decision.decided_at_ms.saturating_sub(from);
    assert!(
        decision.time_to_decision_ms.abs_diff(expected) <= 50,
        "time to decision {} ms, expected about {expected} ms",
        decision.time_to_decision_ms
    );
}

/// The baseline came to no harm while the candidate was tried: no request it
/// answered was an error, no failed connection went to one of its pods (the
/// Service's own tallies), every failed request was attributed to a version
/// (so to the candidate), and no connection found the Service without endpoints.
pub fn assert_blast_radius(
    report: &Report,
    service: &BTreeMap<String, ServiceStats>,
    baseline: &str,
) {
    for window in &report.windows {
        if let Some(tally) = window.versions.get(baseline) {
            assert_eq!(
                (
                    tally.client_errors,
                    tally.server_errors,
                    tally.attributed_failures
                ),
                (0, 0, 0),
                "window {}: {baseline} had errors",
                window.name
            );
            assert_eq!(tally.successes, tally.requests, "window {}", window.name);
        }
        assert_eq!(
            window.unattributed, 0,
            "window {}: failed requests not attributed to a version: {:?}",
            window.name, window.connection_failures
        );
    }
    let stats = service.get(baseline).expect("the baseline had connections");
    assert!(stats.connections > 0);
    assert_eq!(
        (stats.connect_failures, stats.empty_replies),
        (0, 0),
        "the Service saw failed connections to {baseline}"
    );
    assert!(
        !service.contains_key(platform_local::NO_ENDPOINT),
        "connections found no endpoint: {service:?}"
    );
}

/// Requests per kind of error, per version, over the whole run: 4xx and 5xx
/// answers and attributed failures.
pub fn errors_by_version(report: &Report) -> BTreeMap<String, u64> {
    let mut errors = BTreeMap::new();
    for window in &report.windows {
        for (version, tally) in &window.versions {
            *errors.entry(version.clone()).or_default() +=
                tally.client_errors + tally.server_errors + tally.attributed_failures;
        }
    }
    errors
}

/// The decision's gate `gate`, which must be the one that failed, with what it
/// measured.
pub fn failed_gate(
    report: &Report,
    gate: lab_core::analysis::GateName,
) -> lab_core::analysis::GateVerdict {
    failed_gates(report, &[gate]).remove(0)
}

/// The decision's gates `gates`, which must be exactly the ones that failed, in
/// the decision's order, with what they measured.
pub fn failed_gates(
    report: &Report,
    gates: &[lab_core::analysis::GateName],
) -> Vec<lab_core::analysis::GateVerdict> {
    let decision = report.decision.as_ref().expect("a decision");
    assert_eq!(
        decision.cause,
        lab_core::analysis::DecisionCause::GatesFailed {
            gates: gates.to_vec()
        },
        "{}",
        decision.reason
    );
    gates
        .iter()
        .map(|&gate| {
            assert!(
                decision.reason.contains(gate.as_str()),
                "the reason does not name {gate}: {}",
                decision.reason
            );
            let verdict = decision
                .gates
                .iter()
                .find(|g| g.gate == gate)
                .cloned()
                .expect("the failing gate among the decision's gates");
            assert_eq!(verdict.verdict, lab_core::analysis::Verdict::Fail);
            assert!(verdict.measured.is_some() && verdict.threshold.is_some());
            verdict
        })
        .collect()
}

/// Wait (blocking) until `ready` holds, checking every 50 ms; panics with `what`
/// after `limit`.
pub fn poll_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Send a signal (`INT`, `TERM`, `KILL`) to a process.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {name} {pid} failed");
}

/// A `lab run` (or any lab command) running in the background with its files
/// under a temporary `CANARY_LAB_HOME`. Dropping it kills the command and every
/// process it left, so a failing test leaves nothing behind.
pub struct Background {
    /// The command's process.
    pub child: std::process::Child,
    /// The lab's home for this command.
    pub home: PathBuf,
    /// The home, when this command owns it.
    _owned: Option<tempfile::TempDir>,
    /// Run directories that existed before this command started.
    earlier: Vec<PathBuf>,
}

impl Background {
    /// Start `lab` with these arguments in a new home; stdout and stderr go to
    /// files beside it.
    pub fn start(args: &[&str]) -> Self {
        let owned = tempfile::tempdir().unwrap();
        let mut started = Self::start_in(owned.path(), args);
        started._owned = Some(owned);
        started
    }

    /// Start `lab` with these arguments in an existing home (left in place).
    pub fn start_in(home: &Path, args: &[&str]) -> Self {
        let earlier = run_dirs(home);
        let output = |name: &str| std::fs::File::create(home.join(name)).unwrap();
        let child = lab_command(home)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(output("stdout.log"))
            .stderr(output("stderr.log"))
            .spawn()
            .unwrap();
        Self {
            child,
            home: home.to_path_buf(),
            _owned: None,
            earlier,
        }
    }

    /// The run's directory under `runs/`, once the run has created it.
    pub fn run_dir(&self) -> PathBuf {
        let mut found = None;
        poll_until(Duration::from_secs(60), "a run directory", || {
            found = run_dirs(&self.home)
                .into_iter()
                .find(|dir| !self.earlier.contains(dir) && dir.join("events.jsonl").is_file());
            found.is_some()
        });
        found.unwrap()
    }

    /// Wait until the run's events include one that `is_event(kind, fields)`.
    pub fn wait_for_event(&self, kind: &str, fields: &[(&str, &str)]) {
        let path = self.run_dir().join("events.jsonl");
        let what = format!("event {kind} {fields:?}; stderr: {}", self.stderr());
        poll_until(Duration::from_secs(90), &what, || {
            events(&path).iter().any(|e| is_event(e, kind, fields))
        });
    }

    /// Wait for the command to exit within `limit`; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let mut status = None;
        poll_until(limit, "the lab command to exit", || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status.unwrap().code()
    }

    /// What the command wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.home.join("stderr.log")).unwrap_or_default()
    }

    /// What the command wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.home.join("stdout.log")).unwrap_or_default()
    }

    /// The run's report, once written.
    pub fn report(&self) -> Report {
        let path = self.run_dir().join("report.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; stderr: {}", path.display(), self.stderr()));
        Report::from_json(&text).unwrap()
    }
}

/// The run directories under `home/runs`.
fn run_dirs(home: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(home.join("runs"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name() != "latest" && e.path().is_dir())
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in lab_processes(&self.home) {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .status();
        }
    }
}

/// Debian's chromium, for the live page's browser test. Fails, never skips,
/// when it is missing.
pub fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .expect(
            "chromium is not installed: `cargo xtask test` installs it (Debian package `chromium`)",
        )
}

/// The live page's address that `lab run` printed (`live: http://127.0.0.1:PORT/`).
pub fn live_url(output: &str) -> Option<String> {
    output
        .lines()
        .find_map(|line| line.strip_prefix("live: "))
        .map(|url| url.trim().to_string())
}
