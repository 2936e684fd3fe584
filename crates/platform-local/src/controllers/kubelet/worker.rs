//! A pod worker: one pod's container from start to the pod's removal. It
//! starts the process, probes it, restarts it with the kubelet's back-off when
//! it exits or fails its liveness probe, and stops it when told to terminate.

use super::container;
use super::probes::{self, Probe};
use super::termination;
use crate::image::PodRuntime;
use crate::node::Node;
use crate::probe::ProbeResult;
use crate::store::Store;
use std::net::Ipv4Addr;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio::time::sleep;

/// Restart back-off as the kubelet does it: 10 s doubling up to 5 min, reset
/// after a container ran for 10 min.
const BACKOFF_INITIAL: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(600);

/// What the kubelet's loop tells a worker.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PodCommand {
    /// The pod's deletion was asked for: stop the container within `grace`,
    /// then remove the pod.
    Terminate { grace: Duration },
}

/// The pod a worker runs.
pub(crate) struct Pod {
    pub(crate) name: String,
    pub(crate) address: Ipv4Addr,
    pub(crate) runtime: Arc<PodRuntime>,
}

/// The delay before each restart.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Backoff {
    delay: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self {
            delay: BACKOFF_INITIAL,
        }
    }

    /// How long to wait before restarting a container that ran for `ran_for`.
    fn next(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= BACKOFF_RESET_AFTER {
            self.delay = BACKOFF_INITIAL;
        }
        let wait = self.delay;
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
        wait
    }
}

enum Ended {
    /// The process exited on its own or was killed.
    Exited(ExitStatus),
    /// The liveness probe failed (or the process could not start).
    Unhealthy,
    /// The pod was terminated; its container is gone.
    Terminated,
}

/// Run a pod until it is terminated, then remove it from the store.
pub(crate) async fn run(
    store: Arc<Store>,
    node: Arc<Node>,
    pod: Pod,
    mut commands: mpsc::UnboundedReceiver<PodCommand>,
) {
    let name = pod.name.as_str();
    let object = format!("pod/{name}");
    let mut backoff = Backoff::new();
    loop {
        let started = Instant::now();
        let ended = match container::spawn(&node, name, pod.address, &pod.runtime) {
            Ok(child) => {
                set_pid(&store, name, child.id());
                store.event("Started", &object, "started container");
                let ended = supervise(&store, &pod, child, &mut commands).await;
                set_pid(&store, name, None);
                ended
            }
            Err(error) => {
                store.event("Failed", &object, format!("cannot start demo-app: {error}"));
                Ended::Unhealthy
            }
        };
        let message = match ended {
            Ended::Terminated => {
                store.write().remove_pod(name);
                store.event("Killed", &object, "container stopped; pod removed");
                return;
            }
            Ended::Exited(status) => format!("container exited ({status})"),
            Ended::Unhealthy => "container stopped after failing its liveness probe".to_string(),
        };
        let wait = backoff.next(started.elapsed());
        store.write().update_pod_status(name, |status| {
            status.ready = false;
            status.restarts += 1;
        });
        store.event(
            "BackOff",
            &object,
            format!("{message}; restarting in {}s", wait.as_secs()),
        );
        // Wait out the back-off, unless the pod is terminated meanwhile.
        tokio::select! {
            _ = sleep(wait) => {}
            Some(PodCommand::Terminate { .. }) | None = commands.recv() => {
                store.write().remove_pod(name);
                store.event("Killed", &object, "pod removed during back-off");
                return;
            }
        }
    }
}

fn set_pid(store: &Store, name: &str, pid: Option<u32>) {
    store
        .write()
        .update_pod_status(name, |status| status.pid = pid);
}

fn set_ready(store: &Store, name: &str, ready: bool) {
    let mut write = store.write();
    if write.pod(name).is_some_and(|pod| pod.terminating()) {
        return;
    }
    write.update_pod_status(name, |status| status.ready = ready);
}

/// Watch one run of the container: its exit, its probes, the loop's commands.
async fn supervise(
    store: &Store,
    pod: &Pod,
    mut child: Child,
    commands: &mut mpsc::UnboundedReceiver<PodCommand>,
) -> Ended {
    let Pod {
        name,
        address,
        runtime,
    } = pod;
    let (name, address) = (name.as_str(), *address);
    let object = format!("pod/{name}");
    let start = tokio::time::Instant::now();
    let mut readiness = runtime.readiness.as_ref().map(|s| Probe::new(s, start));
    let mut liveness = runtime.liveness.as_ref().map(|s| Probe::new(s, start));
    if readiness.is_none() {
        // Without a readiness probe a running container is ready.
        set_ready(store, name, true);
    }
    loop {
        tokio::select! {
            status = child.wait() => {
                let status = status.unwrap_or_else(|_| ExitStatus::default());
                set_ready(store, name, false);
                return Ended::Exited(status);
            }
            command = commands.recv() => {
                // A closed channel means the kubelet is gone: stop as if told.
                let grace = match command {
                    Some(PodCommand::Terminate { grace }) => grace,
                    None => runtime.grace,
                };
                termination::terminate(store, name, &mut child, grace).await;
                return Ended::Terminated;
            }
            _ = probes::tick(&mut readiness) => {
                let probe = readiness.as_mut().expect("ticked");
                let result = probe.run_starting(address, start, &mut child).await;
                if let Some(ready) = probe.thresholds.record(result == ProbeResult::Success) {
                    if !ready {
                        store.event("Unhealthy", &object, format!("readiness probe failed: {}", probes::describe(&result)));
                    }
                    set_ready(store, name, ready);
                }
            }
            _ = probes::tick(&mut liveness) => {
                let probe = liveness.as_mut().expect("ticked");
                let result = probe.run(address).await;
                if probe.thresholds.record(result == ProbeResult::Success) == Some(false) {
                    store.event("Unhealthy", &object, format!("liveness probe failed: {}", probes::describe(&result)));
                    set_ready(store, name, false);
                    termination::stop_container(store, name, &mut child, runtime.grace).await;
                    return Ended::Unhealthy;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_to_five_minutes_and_resets_after_a_long_run() {
        let short = Duration::from_secs(1);
        let mut backoff = Backoff::new();
        let waits: Vec<u64> = (0..7).map(|_| backoff.next(short).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(backoff.next(Duration::from_secs(600)).as_secs(), 10);
        assert_eq!(backoff.next(short).as_secs(), 20);
    }
}
