//! The local platform: a scenario's Deployments and Services run as processes on
//! this machine, with the Kubernetes semantics the lab depends on.
//!
//! - A pod is a `demo-app` process, or the program the user mapped its image to
//!   ([`image_map`]), with its container's env and args; each pod gets
//!   its own loopback address (127.B.x.y) so container ports stay as declared.
//! - Readiness and liveness probes are polled as declared; only ready pods are
//!   endpoints; an exit or a failing liveness probe restarts the pod with back-off.
//! - Deployments scale, roll out template changes with `RollingUpdate` (maxSurge,
//!   maxUnavailable) or `Recreate`, and are deleted with their pods.
//! - Termination runs the preStop hook while the endpoints drop the pod, then
//!   sends SIGTERM, then SIGKILL at `terminationGracePeriodSeconds` counted from
//!   the deletion; the Service learns of the removal after the proxy sync delay.
//! - A Service is a TCP listener that picks a ready endpoint uniformly at random
//!   for each new connection, as kube-proxy does.
//! - With `PodNetworkMode::Netns` (root), each pod runs in its own network
//!   namespace instead, and a Service is nftables address translation with the
//!   same random choice per connection ([`network`]).
//! - A Gateway serves each listener on its own loopback address and routes
//!   every request by the HTTPRoutes attached to it: the matching rule, a
//!   backend drawn by weight per request, a ready endpoint of that Service;
//!   `RequestMirror` copies go out in the background. Routes get `Accepted`
//!   and `ResolvedRefs` conditions as a cluster's controller sets them.
//! - Prometheus is the real server, started as a child process, scraping the pods
//!   through a `file_sd_configs` file whose targets carry the in-cluster labels.
//!
//! It is shaped like Kubernetes:
//!
//! - The [`store`] is the API server: the objects (Deployments, Services with
//!   their endpoints, pods; each a spec and a status), a revision with a watch
//!   signal, and events. It starts nothing and knows no process, socket or
//!   Prometheus.
//! - The [`node`] is this machine: its configuration, loopback block, marker and
//!   the Prometheus beside the pods. [`admission`] turns manifests into store
//!   records, or refuses them before anything changes.
//! - The [`controllers`] are independent loops that watch the store, act, and
//!   write back what they did: `deployment` (creates and deletes pods),
//!   `kubelet` (runs them: process, probes, restarts, termination), `endpoints`
//!   (ready pods → each Service's endpoints), `proxy` (the Service listeners),
//!   `gateway` (the Gateway listeners and their routing), `monitoring` (Prometheus's targets) and `statefile` (the state file).
//! - [`LocalPlatform`] is a facade: the `Platform` calls write to the store,
//!   read from it, and wait for the controllers to catch up.
//!
//! Which module may import which: helpers (`addr`, `config`, `error`,
//! `expansion`, `image`, `image_map`, `network`, `probe`, `process`,
//! `prometheus`, `statefile`, `template_fit`) import only helpers; `store` and `node` import helpers; `admission` imports the store and helpers; a
//! controller imports the store, the node and helpers, never another
//! controller; `controllers` (the list that starts them) imports the
//! controllers; `lib.rs` imports anything. No import cycles
//! (`tests/module_graph.rs` checks both).

mod addr;
mod admission;
mod config;
mod controllers;
mod error;
mod expansion;
mod image;
pub mod image_map;
mod network;
mod node;
mod probe;
mod process;
pub mod prometheus;
pub mod statefile;
mod store;
pub mod template_fit;

use crate::controllers::Controllers;
use crate::controllers::{deployment, kubelet};
use crate::node::Node;
use crate::store::{Applied, Listeners, Objects, Store};
use lab_core::object::{Object, ObjectKind};
use lab_core::platform::{
    Endpoint, ListenerFault, MirrorCopies, MirrorCount, Platform, PlatformError, PlatformEvent,
    PodState, Urls,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use crate::config::{DEFAULT_PROXY_SYNC_DELAY, LocalConfig};
pub use crate::error::LocalError;
pub use crate::image::DEMO_APP_IMAGES;
pub use crate::network::{
    NAME_PREFIX, PodNetworkChosen, PodNetworkMode, present_names, sweep_leftovers,
};
pub use crate::prometheus::{LabPrometheus, PrometheusConfig, start_detached};
pub use crate::store::{BackendStats, NO_ENDPOINT, ServiceStats};

/// How long a change may take to reach the endpoints, or a new Service to get
/// its listeners, before the call that made it gives up waiting (both take
/// microseconds).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The local platform. Cheap to clone; all clones drive the same processes.
#[derive(Clone)]
pub struct LocalPlatform {
    store: Arc<Store>,
    node: Arc<Node>,
    controllers: Arc<Controllers>,
}

impl LocalPlatform {
    /// Reserve a loopback block, start Prometheus (when configured) and the
    /// controllers. Pods start as objects are applied.
    pub async fn start(config: LocalConfig) -> Result<Self, LocalError> {
        if !config.demo_app.is_file() {
            return Err(LocalError::DemoAppMissing(config.demo_app.clone()));
        }
        let store = Arc::new(Store::new(config.max_grace));
        let node = Arc::new(Node::start(config).await?);
        let controllers = Arc::new(Controllers::start(&store, &node));
        Ok(Self {
            store,
            node,
            controllers,
        })
    }

    /// What may run here besides the demo app.
    fn programs(&self) -> image::Programs<'_> {
        image::Programs {
            images: &self.node.config.images,
            allow_pod_commands: self.node.config.allow_pod_commands,
        }
    }

    /// The loopback block's second octet (pods are 127.B.x.y).
    pub fn address_block(&self) -> u8 {
        self.node.block.octet()
    }

    /// What the pods' network is (namespaces or loopback addresses, and why
    /// not namespaces when they were asked for), for the run's notes.
    pub fn pod_network(&self) -> &PodNetworkChosen {
        &self.node.network_chosen
    }

    /// Whether pods run in network namespaces, Services as address translation.
    pub fn pods_in_namespaces(&self) -> bool {
        self.node.network.is_some()
    }

    /// Kill a pod's process with SIGKILL, as a node failure or OOM kill would; the
    /// pod is restarted with back-off. Used to test the lab under faults.
    pub async fn kill_pod(&self, pod: &str) -> Result<(), PlatformError> {
        kubelet::kill(&self.store, pod)
    }

    /// Bound every termination from now on to `limit` (SIGKILL after it), as
    /// `kubectl delete --grace-period` does; the harness calls it when it is
    /// interrupted, so that nothing outlives it for long. Only ever lowers the
    /// bound.
    pub fn limit_grace(&self, limit: Duration) {
        self.store.limit_grace(limit);
    }

    /// A Gateway's tallies by backend Service: the requests it routed there
    /// and the copies it mirrored there, by the version that got them.
    pub fn gateway_stats(&self, gateway: &str) -> Option<BTreeMap<String, BackendStats>> {
        let stats = self.store.read().gateway(gateway)?.stats.clone();
        let stats = stats.lock().unwrap().clone();
        Some(stats)
    }

    /// An HTTPRoute's status as the gateway controller wrote it.
    pub fn route_status(&self, route: &str) -> Option<lab_core::gateway::RouteStatus> {
        self.store.read().route(route)?.status.clone()
    }

    /// Per-version connection tallies of a Service listener.
    pub fn service_stats(&self, service: &str) -> Option<BTreeMap<String, ServiceStats>> {
        let connections = self.store.read().service(service)?.connections.clone();
        let stats = connections.lock().unwrap().clone();
        Some(stats)
    }

    /// Per version, the connections a Service sent to that version's pods that
    /// failed without an answer: refused, or closed before a byte came back (a
    /// pod that crashed or was killed with requests in flight). Connections that
    /// found no ready endpoint belong to no version and are left out.
    pub fn failed_connections(&self, service: &str) -> BTreeMap<String, u64> {
        self.service_stats(service)
            .unwrap_or_default()
            .into_iter()
            .filter(|(version, _)| version != NO_ENDPOINT)
            .map(|(version, stats)| (version, stats.connect_failures + stats.empty_replies))
            .collect()
    }

    /// The Services whose listeners could not accept connections, with what
    /// they met: one fault each, for the report.
    pub fn listener_faults(&self) -> Vec<ListenerFault> {
        let objects = self.store.read();
        objects
            .services()
            .iter()
            .filter_map(|(name, service)| {
                let faults = service.accept_faults.lock().unwrap().clone();
                (faults.failures > 0).then(|| ListenerFault {
                    service: name.clone(),
                    failed_accepts: faults.failures,
                    last_error: faults.last_error,
                    longest_pause: faults.longest_pause,
                })
            })
            .collect()
    }

    /// Process ids of everything this platform runs now (pods and Prometheus).
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self
            .store
            .read()
            .pods()
            .values()
            .filter_map(|p| p.status.pid)
            .collect();
        pids.extend(self.node.prometheus_pid());
        pids
    }

    /// Stop everything: pods (graceful, bounded by `max_grace`), Service
    /// listeners and Prometheus. Idempotent.
    pub async fn shutdown(&self) {
        self.delete_all().await;
        self.node.stop_prometheus().await;
        self.controllers.stop();
        self.node.remove_network();
        if let Some(path) = &self.node.config.state_file {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Wait until the endpoints reflect every change so far, as they did the
    /// moment a change was made when one lock held everything; bounded.
    async fn settle(&self) {
        let revision = self.store.read().revision();
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        self.store
            .wait_until(deadline, |objects| objects.endpoints_revision() >= revision)
            .await;
    }

    /// Wait (bounded) until the listeners of a new Service or Gateway,
    /// read by `listeners`, are no longer pending: their addresses once open,
    /// or, when they failed or never opened, the object deleted again and
    /// the reason.
    async fn settle_listeners(
        &self,
        kind: ObjectKind,
        name: &str,
        listeners: impl Fn(&Objects) -> Option<Listeners>,
    ) -> Result<Vec<std::net::SocketAddr>, PlatformError> {
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        self.store
            .wait_until(deadline, |objects| {
                listeners(objects).is_none_or(|l| l != Listeners::Pending)
            })
            .await;
        let settled = listeners(&self.store.read());
        match settled {
            Some(Listeners::Open(addresses)) => Ok(addresses),
            failed => {
                let mut write = self.store.write();
                if kind == ObjectKind::Gateway {
                    write.delete_gateway(name);
                } else {
                    write.delete_service(name);
                }
                Err(PlatformError::Unavailable(match failed {
                    Some(Listeners::Failed(message)) => message,
                    _ => format!(
                        "{} {name}: no listener after {}s",
                        kind.to_string().to_lowercase(),
                        SETTLE_TIMEOUT.as_secs()
                    ),
                }))
            }
        }
    }

    async fn apply_one(&self, object: &Object) -> Result<(), PlatformError> {
        match object {
            Object::Deployment(deployment) => {
                let (name, spec) = admission::deployment(deployment, &self.programs())?;
                let replicas = spec.replicas;
                let hash = spec.template_hash.clone();
                // The event goes in before the write is published, so that it
                // comes before what the controllers do about it.
                let mut write = self.store.write();
                let message = match write.apply_deployment(&name, spec) {
                    Applied::Created => format!("created with {replicas} replicas"),
                    Applied::TemplateChanged => {
                        format!("template changed: rolling out revision {hash}")
                    }
                    Applied::Configured => "configured".to_string(),
                };
                self.store
                    .event("Applied", format!("deployment/{name}"), message);
                drop(write);
            }
            Object::Service(service) => {
                let (name, spec) = admission::service(service);
                let object = format!("service/{name}");
                let uid = {
                    let mut write = self.store.write();
                    if write.apply_service(&name, spec) == Applied::Configured {
                        self.store.event("Applied", object, "configured");
                        return Ok(());
                    }
                    write.service(&name).map(|s| s.uid)
                };
                // New listeners: wait for the proxy to open them.
                let addresses = self
                    .settle_listeners(ObjectKind::Service, &name, |objects| {
                        objects
                            .service(&name)
                            .filter(|s| Some(s.uid) == uid)
                            .map(|s| s.listeners.clone())
                    })
                    .await?;
                let urls: Vec<String> = addresses.iter().map(ToString::to_string).collect();
                self.store.event(
                    "Applied",
                    object,
                    format!("listening on {}", urls.join(", ")),
                );
            }
            Object::Gateway(gateway) => {
                let name = gateway.name().to_owned();
                let object = format!("gateway/{name}");
                let uid = {
                    let mut write = self.store.write();
                    if write.apply_gateway(&name, (**gateway).clone()) == Applied::Configured {
                        self.store.event("Applied", object, "configured");
                        return Ok(());
                    }
                    write.gateway(&name).map(|g| g.uid)
                };
                // New listeners: wait for the gateway controller to open them.
                self.settle_listeners(ObjectKind::Gateway, &name, |objects| {
                    objects
                        .gateway(&name)
                        .filter(|g| Some(g.uid) == uid)
                        .map(|g| g.listeners.clone())
                })
                .await?;
                self.store.event("Applied", object, "created");
            }
            Object::HttpRoute(route) => {
                let name = route.name().to_owned();
                let message = match self.store.write().apply_route(&name, (**route).clone()) {
                    Applied::Created => "created",
                    _ => "configured",
                };
                self.store
                    .event("Applied", format!("httproute/{name}"), message);
                // The controller writes the status once it routes by the new
                // spec: from then on every request follows it.
                let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
                self.store
                    .wait_until(deadline, |objects| {
                        objects.route(&name).is_none_or(|r| r.status.is_some())
                    })
                    .await;
            }
        }
        Ok(())
    }

    /// Delete every Deployment and Service and wait (bounded) for the pods to exit.
    async fn delete_all(&self) {
        let grace = {
            let mut write = self.store.write();
            let routes: Vec<String> = write.routes().keys().cloned().collect();
            for name in routes {
                write.delete_route(&name);
            }
            let gateways: Vec<String> = write.gateways().keys().cloned().collect();
            for name in gateways {
                write.delete_gateway(&name);
            }
            let services: Vec<String> = write.services().keys().cloned().collect();
            for name in services {
                write.delete_service(&name);
            }
            let deployments: Vec<String> = write.deployments().keys().cloned().collect();
            for name in deployments {
                write.delete_deployment(&name);
            }
            let pods: Vec<String> = write.pods().keys().cloned().collect();
            for name in pods {
                write.delete_pod(&name);
            }
            write
                .pods()
                .values()
                .filter_map(|pod| pod.deletion.map(|d| d.grace))
                .max()
                .unwrap_or_default()
        };
        let deadline = tokio::time::Instant::now() + grace + Duration::from_secs(2);
        self.store
            .wait_until(deadline, |objects| objects.pods().is_empty())
            .await;
    }
}

fn not_found(kind: ObjectKind, name: &str) -> PlatformError {
    PlatformError::NotFound {
        kind,
        name: name.to_string(),
    }
}

impl Platform for LocalPlatform {
    fn name(&self) -> String {
        "local".to_string()
    }

    async fn apply(&self, objects: &[Object]) -> Result<(), PlatformError> {
        for object in objects {
            admission::check(object, &self.programs())?;
        }
        for object in objects {
            self.apply_one(object).await?;
        }
        self.settle().await;
        Ok(())
    }

    async fn scale(&self, deployment: &str, replicas: i32) -> Result<(), PlatformError> {
        {
            let mut write = self.store.write();
            if !write.scale(deployment, replicas) {
                return Err(not_found(ObjectKind::Deployment, deployment));
            }
            self.store.event(
                "Scaled",
                format!("deployment/{deployment}"),
                format!("scaled to {replicas} replicas"),
            );
        }
        self.settle().await;
        Ok(())
    }

    async fn delete(&self, kind: ObjectKind, name: &str) -> Result<(), PlatformError> {
        {
            let mut write = self.store.write();
            let found = match kind {
                ObjectKind::Service => write.delete_service(name),
                ObjectKind::Deployment => write.delete_deployment(name),
                ObjectKind::Gateway => write.delete_gateway(name),
                ObjectKind::HttpRoute => write.delete_route(name),
            };
            if !found {
                return Err(not_found(kind, name));
            }
            self.store.event(
                "Deleted",
                format!("{}/{name}", kind.kubectl_name()),
                "deleted",
            );
        }
        self.settle().await;
        Ok(())
    }

    async fn set_selector(
        &self,
        service: &str,
        selector: &BTreeMap<String, String>,
    ) -> Result<(), PlatformError> {
        {
            let mut write = self.store.write();
            if !write.set_selector(service, selector) {
                return Err(not_found(ObjectKind::Service, service));
            }
            self.store.event(
                "SelectorChanged",
                format!("service/{service}"),
                format!("selector now {selector:?}"),
            );
        }
        self.settle().await;
        Ok(())
    }

    async fn wait_ready(
        &self,
        deployments: &[String],
        timeout: Duration,
    ) -> Result<(), PlatformError> {
        let deadline = tokio::time::Instant::now() + timeout;
        // Ready once every Deployment has rolled out and the endpoints show it.
        let mut outcome = Ok(Vec::new());
        let settled = self
            .store
            .wait_until(deadline, |objects| {
                outcome = deployments
                    .iter()
                    .map(|name| {
                        let spec = objects.deployment(name).map(|d| &d.spec);
                        deployment::rollout_status(name, spec, objects.pods())
                    })
                    .filter_map(Result::transpose)
                    .collect::<Result<Vec<String>, PlatformError>>();
                match &outcome {
                    Ok(not_ready) => {
                        not_ready.is_empty() && objects.endpoints_revision() >= objects.revision()
                    }
                    Err(_) => true,
                }
            })
            .await;
        match outcome? {
            not_ready if not_ready.is_empty() => Ok(()),
            not_ready => {
                debug_assert!(!settled);
                Err(PlatformError::Timeout {
                    waited: timeout,
                    not_ready,
                })
            }
        }
    }

    async fn pods(&self) -> Result<Vec<PodState>, PlatformError> {
        let objects = self.store.read();
        Ok(objects
            .pods()
            .iter()
            .map(|(name, pod)| PodState {
                name: name.clone(),
                deployment: pod.spec.deployment.clone(),
                version: pod.version(),
                address: pod.status.address.to_string(),
                ready: pod.serving(),
                restarts: pod.status.restarts,
                terminating: pod.terminating(),
            })
            .collect())
    }

    async fn endpoints(&self, service: &str) -> Result<Vec<Endpoint>, PlatformError> {
        let objects = self.store.read();
        let record = objects
            .service(service)
            .ok_or_else(|| not_found(ObjectKind::Service, service))?;
        Ok(record
            .first_port_endpoints()
            .iter()
            .map(|target| Endpoint {
                pod: target.pod.clone(),
                version: target.version.clone(),
                address: target.address.to_string(),
            })
            .collect())
    }

    async fn service_url(&self, service: &str) -> Result<String, PlatformError> {
        let objects = self.store.read();
        // A Gateway's first listener, when traffic enters through one.
        let listeners = match (objects.service(service), objects.gateway(service)) {
            (Some(record), _) => &record.listeners,
            (None, Some(gateway)) => &gateway.listeners,
            (None, None) => return Err(not_found(ObjectKind::Service, service)),
        };
        match listeners {
            Listeners::Open(addresses) => match addresses.first() {
                Some(address) => Ok(format!("http://{address}")),
                None => Err(PlatformError::Unavailable(format!(
                    "service {service} declares no ports"
                ))),
            },
            Listeners::Pending => Err(PlatformError::Unavailable(format!(
                "service {service} has no listener yet"
            ))),
            Listeners::Failed(message) => Err(PlatformError::Unavailable(message.clone())),
        }
    }

    fn urls(&self) -> Urls {
        Urls {
            prometheus: self.node.prometheus_url.clone(),
            grafana: None,
        }
    }

    async fn take_events(&self) -> Vec<PlatformEvent> {
        self.store.take_events()
    }

    async fn teardown(&self) -> Result<(), PlatformError> {
        self.delete_all().await;
        Ok(())
    }

    fn mirror_copies(&self, gateway: &str) -> Option<MirrorCount> {
        let mut copies: BTreeMap<String, MirrorCopies> = BTreeMap::new();
        // One reading of the tallies: the copies and the requests they were
        // sent for agree.
        let stats = self.gateway_stats(gateway)?;
        let of_requests: u64 = stats.values().flat_map(|b| b.requests.values()).sum();
        for backend in stats.into_values() {
            for (version, sent) in backend.mirrored {
                if version == NO_ENDPOINT {
                    continue;
                }
                let entry = copies.entry(version.clone()).or_default();
                entry.sent += sent;
                entry.server_errors += backend.mirror_errors.get(&version).copied().unwrap_or(0);
                entry.failed += backend.mirror_failed.get(&version).copied().unwrap_or(0);
                entry.latencies_us.extend(
                    backend
                        .mirror_latencies_us
                        .get(&version)
                        .into_iter()
                        .flatten(),
                );
            }
        }
        Some(MirrorCount {
            of_requests,
            copies,
        })
    }

    fn failed_connections(&self, service: &str) -> Option<BTreeMap<String, u64>> {
        Some(LocalPlatform::failed_connections(self, service))
    }

    fn limit_grace(&self, limit: Duration) {
        LocalPlatform::limit_grace(self, limit);
    }

    fn endpoint_propagation(&self) -> Duration {
        self.node.config.proxy_sync_delay
    }

    fn listener_faults(&self) -> Vec<ListenerFault> {
        LocalPlatform::listener_faults(self)
    }

    async fn shutdown(&self) -> Result<(), PlatformError> {
        LocalPlatform::shutdown(self).await;
        Ok(())
    }
}
