//! The gateway: each Gateway as a cluster's Gateway API implementation makes
//! it. For every Gateway in the store it serves each listener on the
//! Gateway's own loopback address, and routes every request by the HTTPRoutes
//! attached to it: the rule that matches (path, method, header, query, with
//! the spec's precedence), a backend picked by weight for each request, a
//! ready endpoint of that backend Service, reached through a pool of
//! keep-alive connections. A `RequestMirror` filter sends a copy to its
//! Service in the background; its answer is dropped and the user's answer
//! never waits for it.
//!
//! It writes back what a cluster's controller would: the listeners' addresses
//! as the Gateway's status, `Accepted` and `ResolvedRefs` as each route's, and
//! per backend the requests it sent and the copies it mirrored, by version.
//!
//! - `routing`: the routes attached to a Gateway, compiled with the Services
//!   they name into what a request is routed with, and the routes' status.
//! - `forward`: serving a listener, and sending requests and copies on.

mod forward;
mod routing;

use crate::node::Node;
use crate::store::{GatewayStats, Listeners, Store};
use forward::Pools;
use routing::Routing;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Start the gateway controller.
pub(crate) fn start(store: &Arc<Store>, node: &Arc<Node>) -> Option<JoinHandle<()>> {
    Some(tokio::spawn(run(store.clone(), node.clone())))
}

/// The listeners opened for one Gateway (its `uid`) and the routing they
/// serve with; the listeners close when dropped.
struct Opened {
    uid: u64,
    routing: watch::Sender<Arc<Routing>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Opened {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A Gateway whose listeners are to be opened.
struct ToOpen {
    name: String,
    uid: u64,
    ports: Vec<(String, u16)>,
    stats: Arc<GatewayStats>,
}

/// Follow the Gateways, the routes and the Services until the platform shuts
/// down; aborting this task closes every listener.
async fn run(store: Arc<Store>, node: Arc<Node>) {
    let mut opened: BTreeMap<String, Opened> = BTreeMap::new();
    let mut next_address = 0u32;
    let pools = Arc::new(Pools::default());
    let mut changes = store.subscribe();
    loop {
        let (to_open, statuses) = {
            let objects = store.read();
            opened.retain(|name, open| objects.gateway(name).is_some_and(|g| g.uid == open.uid));
            for (name, open) in &opened {
                open.routing
                    .send_replace(Arc::new(Routing::compile(&objects, name)));
            }
            let to_open: Vec<ToOpen> = objects
                .gateways()
                .iter()
                .filter(|(name, _)| !opened.contains_key(*name))
                .map(|(name, gateway)| ToOpen {
                    name: name.clone(),
                    uid: gateway.uid,
                    ports: gateway
                        .spec
                        .spec
                        .listeners
                        .iter()
                        .map(|l| (l.name.clone(), u16::try_from(l.port).unwrap_or(0)))
                        .collect(),
                    stats: gateway.stats.clone(),
                })
                .collect();
            (to_open, routing::route_statuses(&objects))
        };
        {
            let mut write = store.write();
            for (route, resource_version, status) in statuses {
                write.set_route_status(&route, resource_version, status);
            }
        }
        for gateway in to_open {
            let address = node.block.gateway_address(next_address);
            next_address += 1;
            let routing = {
                let objects = store.read();
                Arc::new(Routing::compile(&objects, &gateway.name))
            };
            let (sender, receiver) = watch::channel(routing);
            let (uid, name) = (gateway.uid, gateway.name.clone());
            let (listeners, tasks) = match open(&gateway, address, receiver, pools.clone()).await {
                Ok((addresses, tasks)) => (Listeners::Open(addresses), tasks),
                Err(message) => (Listeners::Failed(message), Vec::new()),
            };
            opened.insert(
                name.clone(),
                Opened {
                    uid,
                    routing: sender,
                    tasks,
                },
            );
            if let Listeners::Open(addresses) = &listeners {
                let urls: Vec<String> = addresses.iter().map(|a| format!("http://{a}")).collect();
                store.event(
                    "Programmed",
                    format!("gateway/{name}"),
                    format!("listening on {}", urls.join(", ")),
                );
            }
            store.write().set_gateway_listeners(&name, uid, listeners);
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// Open a Gateway's listeners on `address` and serve them.
async fn open(
    gateway: &ToOpen,
    address: Ipv4Addr,
    routing: watch::Receiver<Arc<Routing>>,
    pools: Arc<Pools>,
) -> Result<(Vec<SocketAddr>, Vec<JoinHandle<()>>), String> {
    let mut addresses = Vec::new();
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    for (listener_name, port) in &gateway.ports {
        let bound = match TcpListener::bind((address, *port)).await {
            // Port 80 needs privileges the lab does not have: any free port.
            Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
                TcpListener::bind((address, 0)).await
            }
            other => other,
        };
        let listener = match bound.and_then(|l| l.local_addr().map(|a| (l, a))) {
            Ok((listener, local)) => {
                addresses.push(local);
                listener
            }
            Err(error) => {
                for task in tasks {
                    task.abort();
                }
                return Err(format!(
                    "gateway {} listener {listener_name}: cannot listen on {address}:{port}: {error}",
                    gateway.name
                ));
            }
        };
        tasks.push(tokio::spawn(forward::serve(
            listener,
            routing.clone(),
            gateway.stats.clone(),
            pools.clone(),
        )));
    }
    Ok((addresses, tasks))
}
