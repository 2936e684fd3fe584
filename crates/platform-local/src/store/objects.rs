//! The records the store holds, each with a spec (what was asked for) and a
//! status (what the controllers observed or did), as Kubernetes objects have.

use crate::image::PodRuntime;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use lab_core::object::Strategy;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What a Deployment asks for.
#[derive(Debug, Clone)]
pub(crate) struct DeploymentSpec {
    pub(crate) replicas: i32,
    /// Hash of the pod template; pods with another hash are old.
    pub(crate) template_hash: String,
    /// The pod template, ready to run.
    pub(crate) template: Arc<PodRuntime>,
    /// How pods are replaced when the template changes.
    pub(crate) strategy: Strategy,
}

/// A Deployment in the store.
#[derive(Debug, Clone)]
pub(crate) struct DeploymentRecord {
    pub(crate) resource_version: u64,
    pub(crate) spec: DeploymentSpec,
}

/// What a pod is: its owner, the template revision it was made from, and what
/// runs in it.
#[derive(Debug, Clone)]
pub(crate) struct PodSpec {
    pub(crate) deployment: String,
    pub(crate) template_hash: String,
    pub(crate) runtime: Arc<PodRuntime>,
}

/// What the kubelet reports about a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodStatus {
    /// The pod's own loopback address (its pod IP), given when it is created.
    pub(crate) address: Ipv4Addr,
    /// The readiness probe passes (or there is none and the container runs).
    pub(crate) ready: bool,
    pub(crate) restarts: u32,
    /// The container's process id while it runs.
    pub(crate) pid: Option<u32>,
}

/// A pod being deleted: its grace period, fixed when the deletion was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deletion {
    pub(crate) grace: Duration,
}

/// A pod in the store.
#[derive(Debug, Clone)]
pub(crate) struct PodRecord {
    pub(crate) resource_version: u64,
    pub(crate) created: Instant,
    /// Set once the pod is being deleted (its deletion timestamp).
    pub(crate) deletion: Option<Deletion>,
    pub(crate) spec: PodSpec,
    pub(crate) status: PodStatus,
}

impl PodRecord {
    /// Being deleted: no longer counted by its Deployment, never an endpoint.
    pub(crate) fn terminating(&self) -> bool {
        self.deletion.is_some()
    }

    /// Ready and not terminating: what endpoints, `pods()` and the state file
    /// call ready.
    pub(crate) fn serving(&self) -> bool {
        self.status.ready && !self.terminating()
    }

    /// The pods' `version` label.
    pub(crate) fn version(&self) -> String {
        self.spec.runtime.version()
    }
}

/// One port of a Service: where it listens and where it sends connections.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServicePort {
    pub(crate) port: u16,
    /// A container port number or name.
    pub(crate) target: IntOrString,
}

/// What a Service asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServiceSpec {
    pub(crate) selector: BTreeMap<String, String>,
    pub(crate) ports: Vec<ServicePort>,
}

/// Whether a Service's listeners are open, as the proxy reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Listeners {
    /// The proxy has not opened them yet.
    Pending,
    /// One address per port, in the order of the ports.
    Open(Vec<SocketAddr>),
    /// A port could not be opened; the message says which and why.
    Failed(String),
}

/// One ready endpoint a connection can be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) address: SocketAddr,
    pub(crate) pod: String,
    pub(crate) version: String,
}

/// A port's ready endpoints, published on a channel that the proxy reads once
/// per connection.
pub(crate) type EndpointsChannel = watch::Sender<Arc<Vec<Target>>>;

/// What a Service listener saw for one version (or `(none)` when no endpoint
/// was ready).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ServiceStats {
    /// Connections sent to this version's pods.
    pub connections: u64,
    /// Connections whose endpoint refused or did not answer the connect.
    pub connect_failures: u64,
    /// Connections the endpoint closed without sending a byte back.
    pub empty_replies: u64,
}

/// The version key for connections that found no ready endpoint.
pub const NO_ENDPOINT: &str = "(none)";

/// A Service's connection tallies by version, kept by the proxy.
pub(crate) type ConnectionStats = Mutex<BTreeMap<String, ServiceStats>>;

/// The times a Service's listener could not accept a connection (out of file
/// descriptors, say), kept by the proxy, which backs off between tries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptFaults {
    /// Failed accepts.
    pub failures: u64,
    /// The last error, as the system said it.
    pub last_error: Option<String>,
    /// The longest pause the listener took before trying again.
    pub longest_pause: Duration,
}

/// A Service in the store, with its Endpoints (one channel per port, written
/// by the endpoints controller) and its listeners' state and tallies (written
/// by the proxy).
#[derive(Debug)]
pub(crate) struct ServiceRecord {
    pub(crate) resource_version: u64,
    /// New whenever the Service is created or its ports change, so that the
    /// proxy knows to open new listeners.
    pub(crate) uid: u64,
    pub(crate) spec: ServiceSpec,
    pub(crate) listeners: Listeners,
    pub(crate) endpoints: Vec<EndpointsChannel>,
    pub(crate) connections: Arc<ConnectionStats>,
    pub(crate) accept_faults: Arc<Mutex<AcceptFaults>>,
}

impl ServiceRecord {
    /// The ready endpoints of the first port now.
    pub(crate) fn first_port_endpoints(&self) -> Arc<Vec<Target>> {
        self.endpoints
            .first()
            .map(|channel| channel.borrow().clone())
            .unwrap_or_default()
    }
}

/// Everything the store holds, as one consistent view.
#[derive(Default)]
pub(crate) struct Objects {
    pub(super) revision: u64,
    /// The revision the endpoints were last computed at.
    pub(super) endpoints_revision: u64,
    pub(super) next_uid: u64,
    /// Upper bound on pods' deletion grace periods.
    pub(super) grace_limit: Option<Duration>,
    pub(super) deployments: BTreeMap<String, DeploymentRecord>,
    pub(super) services: BTreeMap<String, ServiceRecord>,
    pub(super) pods: BTreeMap<String, PodRecord>,
    pub(super) gateways: BTreeMap<String, GatewayRecord>,
    pub(super) routes: BTreeMap<String, RouteRecord>,
    /// The creation order given to the next route (older routes win ties).
    pub(super) next_route_age: u64,
}

/// What a Gateway saw for one backend Service, kept by the gateway
/// controller: the requests it sent there, by the version that answered, and
/// the copies it mirrored there.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackendStats {
    /// Requests sent to the backend, by the version of the pod that answered
    /// ([`NO_ENDPOINT`] when none was ready or the pod did not answer).
    pub requests: BTreeMap<String, u64>,
    /// Answers with a 5xx status, by version.
    pub errors: BTreeMap<String, u64>,
    /// Copies sent by a `RequestMirror` filter, by the version that got them,
    /// counted with the answer to the request they copy (so that `requests`
    /// and `mirrored` read together always agree).
    pub mirrored: BTreeMap<String, u64>,
    /// Copies answered with a 5xx status, by version.
    pub mirror_errors: BTreeMap<String, u64>,
    /// Copies that got no answer, by version.
    pub mirror_failed: BTreeMap<String, u64>,
    /// How long each answered copy took, in microseconds, by version, in the
    /// order they were answered (at most [`MAX_MIRROR_LATENCIES`] each).
    pub mirror_latencies_us: BTreeMap<String, Vec<u64>>,
}

/// The most copy latencies kept per version: a long run keeps its first
/// ones, a bounded memory.
pub const MAX_MIRROR_LATENCIES: usize = 200_000;

/// A Gateway's tallies by backend Service.
pub(crate) type GatewayStats = Mutex<BTreeMap<String, BackendStats>>;

/// A Gateway in the store, with its listeners' state (written by the gateway
/// controller) and its tallies.
#[derive(Debug)]
pub(crate) struct GatewayRecord {
    pub(crate) resource_version: u64,
    /// New whenever the Gateway is created or its listeners change.
    pub(crate) uid: u64,
    pub(crate) spec: lab_core::gateway::Gateway,
    pub(crate) listeners: Listeners,
    pub(crate) stats: Arc<GatewayStats>,
}

/// An HTTPRoute in the store, with the status its Gateway's controller wrote.
#[derive(Debug, Clone)]
pub(crate) struct RouteRecord {
    pub(crate) resource_version: u64,
    /// Its creation order: older routes win precedence ties.
    pub(crate) age: u64,
    pub(crate) spec: lab_core::gateway::HttpRoute,
    pub(crate) status: Option<lab_core::gateway::RouteStatus>,
}

impl Objects {
    pub(crate) fn gateways(&self) -> &BTreeMap<String, GatewayRecord> {
        &self.gateways
    }

    pub(crate) fn gateway(&self, name: &str) -> Option<&GatewayRecord> {
        self.gateways.get(name)
    }

    pub(crate) fn routes(&self) -> &BTreeMap<String, RouteRecord> {
        &self.routes
    }

    pub(crate) fn route(&self, name: &str) -> Option<&RouteRecord> {
        self.routes.get(name)
    }

    /// Raised by every change.
    pub(crate) fn revision(&self) -> u64 {
        self.revision
    }

    /// The revision the endpoints controller last computed the endpoints at:
    /// equal to [`Objects::revision`] when they reflect every change so far.
    pub(crate) fn endpoints_revision(&self) -> u64 {
        self.endpoints_revision
    }

    pub(crate) fn deployments(&self) -> &BTreeMap<String, DeploymentRecord> {
        &self.deployments
    }

    pub(crate) fn deployment(&self, name: &str) -> Option<&DeploymentRecord> {
        self.deployments.get(name)
    }

    pub(crate) fn services(&self) -> &BTreeMap<String, ServiceRecord> {
        &self.services
    }

    pub(crate) fn service(&self, name: &str) -> Option<&ServiceRecord> {
        self.services.get(name)
    }

    pub(crate) fn pods(&self) -> &BTreeMap<String, PodRecord> {
        &self.pods
    }

    pub(crate) fn pod(&self, name: &str) -> Option<&PodRecord> {
        self.pods.get(name)
    }
}
