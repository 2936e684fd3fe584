//! The controllers: independent loops that watch the store and act, as the
//! control plane, the kubelet and kube-proxy do in a cluster.
//!
//! Each is one module with a `start(store, node)` function; it depends on the
//! store, the node and the helpers only, never on another controller. They
//! meet in the store: the deployment controller creates and deletes pods, the
//! kubelet runs them and reports their status, the endpoints controller turns
//! ready pods into endpoints, the proxy serves the endpoints, the gateway
//! routes requests to them by the HTTPRoutes, monitoring and
//! the state file writer record what runs. Adding a controller is one module
//! and one line in [`CONTROLLERS`].

pub(crate) mod deployment;
mod endpoints;
mod gateway;
pub(crate) mod kubelet;
mod monitoring;
mod proxy;
mod statefile;

use crate::node::Node;
use crate::store::Store;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// Starts a controller's loop; `None` when the node's configuration leaves it
/// nothing to do (no Prometheus, no state file).
type Start = fn(&Arc<Store>, &Arc<Node>) -> Option<JoinHandle<()>>;

/// Every controller the platform runs.
const CONTROLLERS: &[Start] = &[
    deployment::start,
    kubelet::start,
    endpoints::start,
    proxy::start,
    gateway::start,
    monitoring::start,
    statefile::start,
];

/// The running controllers.
pub(crate) struct Controllers {
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Controllers {
    /// Start every controller on `store` and `node`.
    pub(crate) fn start(store: &Arc<Store>, node: &Arc<Node>) -> Self {
        let tasks = CONTROLLERS
            .iter()
            .filter_map(|start| start(store, node))
            .collect();
        Self {
            tasks: Mutex::new(tasks),
        }
    }

    /// Stop every controller (their tasks are aborted). Idempotent.
    pub(crate) fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// A platform dropped without a shutdown stops its controllers too, so the
/// node they hold (and the pod network with it) goes.
impl Drop for Controllers {
    fn drop(&mut self) {
        self.stop();
    }
}
