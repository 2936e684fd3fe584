//! The kubelet: runs the store's pods as processes on this node.
//!
//! Its loop admits every new pod and gives it a worker ([`worker`]) that starts
//! the container, probes it ([`probes`]), restarts it with back-off and, once
//! the pod's deletion is asked for, stops it ([`termination`]) and removes the
//! pod from the store. The worker reports what it sees (pid, readiness,
//! restarts) as the pod's status. The loop's decision is pure: [`sync`].

mod container;
mod probes;
mod termination;
mod worker;

use crate::image::PodRuntime;
use crate::node::Node;
use crate::store::{PodRecord, Store};
use lab_core::object::ObjectKind;
use lab_core::platform::PlatformError;
use nix::sys::signal::{Signal, kill as signal};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use worker::PodCommand;

/// Start the kubelet.
pub(crate) fn start(store: &Arc<Store>, node: &Arc<Node>) -> Option<JoinHandle<()>> {
    Some(tokio::spawn(run(store.clone(), node.clone())))
}

/// A pod worker as the loop knows it.
struct Worker {
    commands: mpsc::UnboundedSender<PodCommand>,
    /// Told to terminate already.
    terminating: bool,
}

/// What the loop does for one pod.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    /// A new pod: start its worker.
    Start {
        name: String,
        address: Ipv4Addr,
        runtime: Arc<PodRuntime>,
    },
    /// Its deletion was asked for: tell its worker.
    Terminate { name: String, grace: Duration },
    /// Deleted before it was started: remove it, there is nothing to stop.
    Discard { name: String },
    /// Gone from the store (its worker removed it): forget the worker.
    Forget { name: String },
}

/// Compare the pods with the workers (name → told to terminate).
fn sync(pods: &BTreeMap<String, PodRecord>, workers: &BTreeMap<String, bool>) -> Vec<Action> {
    let mut actions = Vec::new();
    for (name, pod) in pods {
        let name = name.clone();
        match (workers.get(&name), pod.deletion) {
            (None, None) => actions.push(Action::Start {
                name,
                address: pod.status.address,
                runtime: pod.spec.runtime.clone(),
            }),
            (None, Some(_)) => actions.push(Action::Discard { name }),
            (Some(false), Some(deletion)) => actions.push(Action::Terminate {
                name,
                grace: deletion.grace,
            }),
            (Some(_), _) => {}
        }
    }
    for name in workers.keys().filter(|name| !pods.contains_key(*name)) {
        actions.push(Action::Forget { name: name.clone() });
    }
    actions
}

/// Follow the store until the platform shuts down (the task is aborted; the
/// workers, told to terminate by then, finish on their own).
async fn run(store: Arc<Store>, node: Arc<Node>) {
    let mut workers: BTreeMap<String, Worker> = BTreeMap::new();
    let mut changes = store.subscribe();
    loop {
        let actions = {
            let told: BTreeMap<String, bool> = workers
                .iter()
                .map(|(name, worker)| (name.clone(), worker.terminating))
                .collect();
            sync(store.read().pods(), &told)
        };
        for action in actions {
            match action {
                Action::Start {
                    name,
                    address,
                    runtime,
                } => {
                    let (commands, receiver) = mpsc::unbounded_channel();
                    let pod = worker::Pod {
                        name: name.clone(),
                        address,
                        runtime,
                    };
                    let (store, node) = (store.clone(), node.clone());
                    tokio::spawn(async move {
                        worker::run(store, node.clone(), pod, receiver).await;
                        // The pod is gone: its network namespace and address go too.
                        node.release_pod(address);
                    });
                    let worker = Worker {
                        commands,
                        terminating: false,
                    };
                    workers.insert(name, worker);
                }
                Action::Terminate { name, grace } => {
                    if let Some(worker) = workers.get_mut(&name) {
                        let _ = worker.commands.send(PodCommand::Terminate { grace });
                        worker.terminating = true;
                    }
                }
                Action::Discard { name } => {
                    store.write().remove_pod(&name);
                    store.event(
                        "Killed",
                        format!("pod/{name}"),
                        "pod removed before it started",
                    );
                }
                Action::Forget { name } => {
                    workers.remove(&name);
                }
            }
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// Kill a pod's process with SIGKILL, as a node failure or OOM kill would; its
/// worker sees the exit and restarts it with back-off. A pod without a process
/// (in back-off) or being terminated is left alone.
pub(crate) fn kill(store: &Store, pod: &str) -> Result<(), PlatformError> {
    let objects = store.read();
    let record = objects.pod(pod).ok_or_else(|| PlatformError::NotFound {
        kind: ObjectKind::Deployment,
        name: format!("pod {pod}"),
    })?;
    if let (Some(pid), false) = (record.status.pid, record.terminating()) {
        store.event(
            "Killing",
            format!("pod/{pod}"),
            "killed with SIGKILL (fault injection)",
        );
        let _ = signal(Pid::from_raw(pid as i32), Signal::SIGKILL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Deletion, fixtures};

    #[test]
    fn the_loop_starts_new_pods_and_terminates_deleted_ones_once() {
        let template = fixtures::template(&[("app", "web")]);
        let pod = |deleted: bool| {
            let mut pod = fixtures::pod("web", "h", &template, [127, 9, 1, 7], Duration::ZERO);
            if deleted {
                pod.deletion = Some(Deletion {
                    grace: Duration::from_secs(3),
                });
            }
            pod
        };
        let pods = BTreeMap::from([
            ("new".to_string(), pod(false)),
            ("running".to_string(), pod(false)),
            ("deleted".to_string(), pod(true)),
            ("told".to_string(), pod(true)),
            ("never-started".to_string(), pod(true)),
        ]);
        let workers = BTreeMap::from([
            ("running".to_string(), false),
            ("deleted".to_string(), false),
            ("told".to_string(), true),
            ("removed".to_string(), true),
        ]);
        let names = |name: &str| name.to_string();
        assert_eq!(
            sync(&pods, &workers),
            [
                Action::Terminate {
                    name: names("deleted"),
                    grace: Duration::from_secs(3)
                },
                Action::Discard {
                    name: names("never-started")
                },
                Action::Start {
                    name: names("new"),
                    address: Ipv4Addr::new(127, 9, 1, 7),
                    runtime: template.clone(),
                },
                Action::Forget {
                    name: names("removed")
                },
            ]
        );
    }
}
