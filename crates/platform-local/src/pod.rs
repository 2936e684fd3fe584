//! One pod: its process, its probes, its restarts and its termination.

use crate::image::{EnvValue, PodRuntime, ProbeSpec};
use crate::probe::{self, ProbeResult};
use crate::state::{PodRec, Shared};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::net::Ipv4Addr;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior, interval_at, sleep};

/// Restart back-off as the kubelet does it: 10 s doubling up to 5 min, reset
/// after a container ran for 10 min.
const BACKOFF_INITIAL: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(600);

/// While a process starts, a refused probe is retried this soon instead of a
/// whole period later: binding a port takes milliseconds here, while in a
/// cluster the container start takes longer than that.
const STARTING_RETRY: Duration = Duration::from_millis(50);
const STARTING_WINDOW: Duration = Duration::from_secs(3);

/// What the platform asks of a pod.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PodCommand {
    /// Leave the endpoints, SIGTERM, SIGKILL after the grace period, go away.
    Terminate { grace: Option<Duration> },
    /// SIGKILL the process (a fault); the pod restarts it.
    Kill,
}

/// Mark a pod terminating (so it leaves the endpoints at once) and tell its
/// supervisor to stop it.
pub(crate) fn terminate(pod: &mut PodRec, max_grace: Option<Duration>) {
    if pod.terminating {
        return;
    }
    pod.terminating = true;
    pod.ready = false;
    let _ = pod
        .commands
        .send(PodCommand::Terminate { grace: max_grace });
}

enum Ended {
    /// The process exited on its own or was killed.
    Exited(ExitStatus),
    /// The liveness probe failed; the process was stopped.
    Unhealthy,
    /// The pod was terminated and is gone.
    Terminated,
}

/// Run a pod until it is terminated: start the process, probe it, restart it.
pub(crate) async fn supervise(
    shared: Arc<Shared>,
    name: String,
    address: Ipv4Addr,
    runtime: Arc<PodRuntime>,
    mut commands: mpsc::UnboundedReceiver<PodCommand>,
) {
    let object = format!("pod/{name}");
    let mut backoff = BACKOFF_INITIAL;
    loop {
        let started = Instant::now();
        let ended = match spawn(&shared, &name, address, &runtime) {
            Ok(child) => {
                set_pid(&shared, &name, child.id());
                shared.event("Started", &object, "started container");
                let ended = run(&shared, &name, address, &runtime, child, &mut commands).await;
                set_pid(&shared, &name, None);
                ended
            }
            Err(error) => {
                shared.event("Failed", &object, format!("cannot start demo-app: {error}"));
                Ended::Unhealthy
            }
        };
        let message = match ended {
            Ended::Terminated => {
                remove(&shared, &name);
                shared.event("Killed", &object, "container stopped; pod removed");
                return;
            }
            Ended::Exited(status) => format!("container exited ({status})"),
            Ended::Unhealthy => "container stopped after failing its liveness probe".to_string(),
        };
        if started.elapsed() >= BACKOFF_RESET_AFTER {
            backoff = BACKOFF_INITIAL;
        }
        {
            let mut inner = shared.lock();
            if let Some(pod) = inner.pods.get_mut(&name) {
                pod.ready = false;
                pod.restarts += 1;
            }
            shared.bump(&inner);
        }
        shared.event(
            "BackOff",
            &object,
            format!("{message}; restarting in {}s", backoff.as_secs()),
        );
        // Wait out the back-off, unless the pod is terminated meanwhile.
        let wait = sleep(backoff);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => break,
                command = commands.recv() => match command {
                    Some(PodCommand::Terminate { .. }) | None => {
                        remove(&shared, &name);
                        shared.event("Killed", &object, "pod removed during back-off");
                        return;
                    }
                    Some(PodCommand::Kill) => {}
                },
            }
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

fn spawn(
    shared: &Shared,
    name: &str,
    address: Ipv4Addr,
    runtime: &PodRuntime,
) -> std::io::Result<Child> {
    let logs = shared.config.run_dir.join("pods");
    std::fs::create_dir_all(&logs)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join(format!("{name}.log")))?;
    let mut command = Command::new(&shared.config.demo_app);
    command
        .args(runtime.args_for(address))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOSTNAME", name)
        .env(crate::statefile::MARKER_VAR, &shared.marker);
    for (key, value) in &runtime.env {
        let value = match value {
            EnvValue::Literal(text) => text.clone(),
            EnvValue::PodName => name.to_string(),
            EnvValue::PodNamespace => shared.config.namespace.clone(),
            EnvValue::PodIp => address.to_string(),
        };
        command.env(key, value);
    }
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C in the terminal reaches the harness,
        // which then terminates pods in order.
        .process_group(0)
        .kill_on_drop(true);
    command.spawn()
}

fn set_pid(shared: &Shared, name: &str, pid: Option<u32>) {
    let mut inner = shared.lock();
    if let Some(pod) = inner.pods.get_mut(name) {
        pod.pid = pid;
    }
    shared.bump(&inner);
}

fn remove(shared: &Shared, name: &str) {
    let mut inner = shared.lock();
    inner.pods.remove(name);
    shared.bump(&inner);
}

fn set_ready(shared: &Shared, name: &str, ready: bool) {
    let mut inner = shared.lock();
    if let Some(pod) = inner.pods.get_mut(name) {
        if pod.terminating || pod.ready == ready {
            return;
        }
        pod.ready = ready;
    }
    shared.bump(&inner);
}

/// A probe's schedule and its run of consecutive results.
struct ProbeState {
    spec: ProbeSpec,
    ticks: Interval,
    successes: u32,
    failures: u32,
}

impl ProbeState {
    fn new(spec: &ProbeSpec, start: tokio::time::Instant) -> Self {
        let mut ticks = interval_at(start + spec.initial_delay, spec.period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            spec: spec.clone(),
            ticks,
            successes: 0,
            failures: 0,
        }
    }

    /// Record one result; returns Some(passing) when the threshold flips state.
    fn record(&mut self, success: bool) -> Option<bool> {
        if success {
            self.failures = 0;
            self.successes += 1;
            (self.successes == self.spec.success_threshold).then_some(true)
        } else {
            self.successes = 0;
            self.failures += 1;
            (self.failures == self.spec.failure_threshold).then_some(false)
        }
    }
}

async fn tick(probe: &mut Option<ProbeState>) {
    match probe {
        Some(state) => {
            state.ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn run(
    shared: &Shared,
    name: &str,
    address: Ipv4Addr,
    runtime: &PodRuntime,
    mut child: Child,
    commands: &mut mpsc::UnboundedReceiver<PodCommand>,
) -> Ended {
    let object = format!("pod/{name}");
    let start = tokio::time::Instant::now();
    let mut readiness = runtime
        .readiness
        .as_ref()
        .map(|s| ProbeState::new(s, start));
    let mut liveness = runtime.liveness.as_ref().map(|s| ProbeState::new(s, start));
    if readiness.is_none() {
        // Without a readiness probe a running container is ready.
        set_ready(shared, name, true);
    }
    loop {
        tokio::select! {
            status = child.wait() => {
                let status = status.unwrap_or_else(|_| ExitStatus::default());
                set_ready(shared, name, false);
                return Ended::Exited(status);
            }
            command = commands.recv() => match command {
                Some(PodCommand::Kill) => {
                    shared.event("Killing", &object, "killed with SIGKILL (fault injection)");
                    let _ = child.start_kill();
                }
                command @ (Some(PodCommand::Terminate { .. }) | None) => {
                    let cap = match command {
                        Some(PodCommand::Terminate { grace }) => grace,
                        _ => None,
                    };
                    let grace = cap.map_or(runtime.grace, |g| g.min(runtime.grace));
                    shared.event("Killing", &object, format!("stopping container (grace {}s)", grace.as_secs_f64()));
                    stop(&mut child, grace).await;
                    return Ended::Terminated;
                }
            },
            _ = tick(&mut readiness) => {
                let state = readiness.as_mut().expect("ticked");
                let mut result = probe::run(&state.spec.action, address, state.spec.timeout).await;
                while result == ProbeResult::Refused && start.elapsed() < STARTING_WINDOW {
                    sleep(STARTING_RETRY).await;
                    if child.try_wait().ok().flatten().is_some() {
                        break;
                    }
                    result = probe::run(&state.spec.action, address, state.spec.timeout).await;
                }
                if let Some(ready) = state.record(result == ProbeResult::Success) {
                    if !ready {
                        shared.event("Unhealthy", &object, format!("readiness probe failed: {}", describe(&result)));
                    }
                    set_ready(shared, name, ready);
                }
            }
            _ = tick(&mut liveness) => {
                let state = liveness.as_mut().expect("ticked");
                let result = probe::run(&state.spec.action, address, state.spec.timeout).await;
                if state.record(result == ProbeResult::Success) == Some(false) {
                    shared.event("Unhealthy", &object, format!("liveness probe failed: {}", describe(&result)));
                    set_ready(shared, name, false);
                    stop(&mut child, runtime.grace).await;
                    return Ended::Unhealthy;
                }
            }
        }
    }
}

fn describe(result: &ProbeResult) -> String {
    match result {
        ProbeResult::Success => "ok".to_string(),
        ProbeResult::Refused => "connection refused".to_string(),
        ProbeResult::Failure(message) => message.clone(),
    }
}

/// SIGTERM, then SIGKILL once the grace period is over.
pub(crate) async fn stop(child: &mut Child, grace: Duration) {
    if let Some(pid) = child.id() {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        if tokio::time::timeout(grace, child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}
