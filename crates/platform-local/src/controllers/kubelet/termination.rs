//! Stopping a container as the kubelet does. A pod's deletion takes it out of
//! the endpoints at once (the endpoints controller sees the deletion) while,
//! at the same moment, the kubelet runs the preStop hook, then sends SIGTERM,
//! then SIGKILL once the grace period, counted from the start of the deletion
//! and hook included, is over. Nothing waits for the endpoint change to reach
//! the proxy: it takes the proxy's sync delay, and new connections still
//! arrive meanwhile, which is the race a `preStop: sleep` covers.

use crate::image::{Hook, PodRuntime, ProbeAction};
use crate::node::Node;
use crate::probe::{self, ProbeResult};
use crate::statefile::MARKER_VAR;
use crate::store::Store;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// When a hook outlives the grace period, the kubelet grants SIGTERM this much
/// more, once, before SIGKILL.
const HOOK_OVERRUN_GRACE: Duration = Duration::from_secs(2);

/// The container to stop.
pub(crate) struct Stopping<'a> {
    pub(crate) name: &'a str,
    pub(crate) address: Ipv4Addr,
    pub(crate) runtime: &'a PodRuntime,
}

/// Stop the container of a pod whose deletion was asked for.
pub(crate) async fn terminate(
    store: &Store,
    node: &Node,
    pod: &Stopping<'_>,
    child: &mut Child,
    grace: Duration,
) {
    store.event(
        "Killing",
        format!("pod/{}", pod.name),
        format!("stopping container (grace {}s)", grace.as_secs_f64()),
    );
    stop_container(store, node, pod, child, grace).await;
}

/// Run the preStop hook, then SIGTERM, then SIGKILL at `grace` from now (or
/// [`HOOK_OVERRUN_GRACE`] after a hook that outlived it).
pub(crate) async fn stop_container(
    store: &Store,
    node: &Node,
    pod: &Stopping<'_>,
    child: &mut Child,
    grace: Duration,
) {
    let start = Instant::now();
    if let Some(hook) = &pod.runtime.pre_stop {
        let deadline = start + grace;
        tokio::select! {
            outcome = run_hook(node, pod, hook, deadline) => {
                if let Err(message) = outcome {
                    store.event(
                        "FailedPreStopHook",
                        format!("pod/{}", pod.name),
                        format!("preStop hook failed: {message}"),
                    );
                }
            }
            // The container exited during the hook: nothing left to signal.
            _ = child.wait() => return,
        }
    }
    let kill_after = kill_after(grace, start.elapsed());
    if let Some(pid) = child.id() {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        if tokio::time::timeout(kill_after, child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}

/// How long after SIGTERM the kubelet sends SIGKILL: what is left of the grace
/// period once the hook took `hook_took`, or the overrun grace when it is gone.
fn kill_after(grace: Duration, hook_took: Duration) -> Duration {
    match grace.checked_sub(hook_took) {
        Some(left) if !left.is_zero() => left,
        // A hook that used the whole grace period (or a grace of zero with a
        // hook) still leaves SIGTERM its short chance.
        _ if hook_took.is_zero() => Duration::ZERO,
        _ => HOOK_OVERRUN_GRACE,
    }
}

/// Run a preStop hook until it ends or `deadline` passes.
async fn run_hook(
    node: &Node,
    pod: &Stopping<'_>,
    hook: &Hook,
    deadline: Instant,
) -> Result<(), String> {
    let left = deadline.saturating_duration_since(Instant::now());
    let outcome = tokio::time::timeout(left, async {
        match hook {
            Hook::Sleep { duration } => {
                tokio::time::sleep(*duration).await;
                Ok(())
            }
            Hook::HttpGet { port, path } => {
                let action = ProbeAction::HttpGet {
                    port: *port,
                    path: path.clone(),
                };
                match probe::run(&action, pod.address, left.max(Duration::from_millis(1))).await {
                    ProbeResult::Success => Ok(()),
                    ProbeResult::Refused => Err("connection refused".to_string()),
                    ProbeResult::Failure(message) => Err(message),
                }
            }
            Hook::Exec { command } => exec(node, pod, command).await,
        }
    })
    .await;
    outcome.unwrap_or_else(|_| Err("did not finish within the grace period".to_string()))
}

/// Run an `exec` hook's command as a local process with the pod's name.
async fn exec(node: &Node, pod: &Stopping<'_>, command: &[String]) -> Result<(), String> {
    let (program, args) = command.split_first().ok_or("empty command")?;
    let status = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOSTNAME", pod.name)
        .env(MARKER_VAR, &node.marker)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .status()
        .await
        .map_err(|error| format!("cannot run {program}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} exited ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigkill_comes_at_the_grace_period_counted_from_the_deletion() {
        let s = Duration::from_secs;
        for (grace, hook_took, expected) in [
            // No hook: the whole grace period after SIGTERM.
            (30, 0, 30),
            // A 5 s preStop sleep eats into the grace period.
            (30, 5, 25),
            (10, 9, 1),
            // A hook that used it all: the kubelet's one-time 2 s.
            (10, 10, 2),
            (10, 40, 2),
            // Grace zero without a hook: SIGKILL at once.
            (0, 0, 0),
        ] {
            assert_eq!(
                kill_after(s(grace), s(hook_took)),
                s(expected),
                "grace {grace}s, hook took {hook_took}s"
            );
        }
    }
}
