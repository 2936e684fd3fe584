//! The state file writer: rewrites the state file (see [`crate::statefile`])
//! whenever what runs changes, when the platform is configured with one.

use crate::node::Node;
use crate::statefile::{self, LabState, RecordedPod};
use crate::store::{Listeners, Objects, Store};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Start the writer when a state file is configured.
pub(crate) fn start(store: &Arc<Store>, node: &Arc<Node>) -> Option<JoinHandle<()>> {
    node.config.state_file.as_ref()?;
    Some(tokio::spawn(run(store.clone(), node.clone())))
}

async fn run(store: Arc<Store>, node: Arc<Node>) {
    let Some(path) = node.config.state_file.clone() else {
        return;
    };
    let mut changes = store.subscribe();
    let mut last = None;
    loop {
        let (pods, services) = recorded(&store.read());
        let (gateways, routes) = recorded_gateways(&store.read());
        let mut pids: Vec<u32> = pods.iter().filter_map(|p| p.pid).collect();
        pids.extend(node.prometheus_pid());
        let state = LabState {
            owner_pid: std::process::id(),
            owner_start: statefile::start_time(std::process::id()),
            marker: node.marker.clone(),
            run_dir: node.config.run_dir.clone(),
            prometheus: node.prometheus_url.clone(),
            services,
            gateways,
            routes,
            pods,
            pids,
        };
        if last.as_ref() != Some(&state) {
            let _ = statefile::write(&path, &state);
            last = Some(state);
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// The pods and each Service's URL, as the state file records them.
fn recorded(objects: &Objects) -> (Vec<RecordedPod>, BTreeMap<String, String>) {
    let pods = objects
        .pods()
        .iter()
        .map(|(name, pod)| RecordedPod {
            name: name.clone(),
            version: pod.version(),
            ready: pod.serving(),
            pid: pod.status.pid,
        })
        .collect();
    let services = objects
        .services()
        .iter()
        .filter_map(|(name, service)| match &service.listeners {
            Listeners::Open(addresses) => {
                Some((name.clone(), format!("http://{}", addresses.first()?)))
            }
            Listeners::Pending | Listeners::Failed(_) => None,
        })
        .collect();
    (pods, services)
}

/// Each Gateway's URL and each route's conditions, as the state file records
/// them.
fn recorded_gateways(
    objects: &Objects,
) -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    let gateways = objects
        .gateways()
        .iter()
        .filter_map(|(name, gateway)| match &gateway.listeners {
            Listeners::Open(addresses) => {
                Some((name.clone(), format!("http://{}", addresses.first()?)))
            }
            Listeners::Pending | Listeners::Failed(_) => None,
        })
        .collect();
    let routes = objects
        .routes()
        .iter()
        .map(|(name, route)| {
            let conditions = route
                .status
                .iter()
                .flat_map(|status| &status.parents)
                .flat_map(|parent| {
                    parent.conditions.iter().map(move |c| {
                        format!(
                            "{}: {}={} ({})",
                            parent.parent_ref.name, c.type_, c.status, c.reason
                        )
                    })
                })
                .collect();
            (name.clone(), conditions)
        })
        .collect();
    (gateways, routes)
}
