//! The one interface between the runner and a place where Kubernetes objects run.
//!
//! Two implementations exist: `platform-local` (processes on loopback) and
//! `platform-kube` (kube-rs against a cluster). The runner only ever sees this
//! trait, so a scenario means the same thing on both.
//!
//! Besides the Kubernetes verbs, a platform may offer capabilities that only some
//! places have; each is a method with a default that means "not here":
//!
//! - [`Platform::failed_connections`]: the Service's own count of failed
//!   connections per version (the local Service listener keeps one);
//! - [`Platform::annotate`]: marking a step on the platform's dashboards (the
//!   cluster lab's Grafana);
//! - [`Platform::remote_traffic`]: traffic generated where the platform is (a
//!   loadgen Job in the cluster) instead of in the runner's process;
//! - [`Platform::listener_faults`]: the platform's own listeners that could
//!   not accept connections (the local Services');
//! - [`Platform::limit_grace`] and [`Platform::shutdown`]: a bound on pods'
//!   termination grace after an interrupt, and stopping what the platform runs
//!   beside the lab's objects.

use crate::object::{Object, ObjectKind};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Why a platform call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlatformError {
    /// The object does not exist.
    #[error("{kind} {name} not found")]
    NotFound {
        /// Kind of the missing object.
        kind: ObjectKind,
        /// Name of the missing object.
        name: String,
    },
    /// A wait ran out of time; `not_ready` names what was still not ready, one
    /// entry per Deployment (for example `deployment my-app-v2: 0/1 ready`).
    #[error("timed out after {}s waiting for: {}", waited.as_secs_f64(), not_ready.join("; "))]
    Timeout {
        /// How long the wait lasted.
        waited: Duration,
        /// What was not ready when the wait gave up.
        not_ready: Vec<String>,
    },
    /// The change conflicts with the object's current state.
    #[error("conflict on {kind} {name}: {message}")]
    Conflict {
        /// Kind of the object.
        kind: ObjectKind,
        /// Name of the object.
        name: String,
        /// What the platform said.
        message: String,
    },
    /// The object cannot run on this platform (for example an image that the local
    /// platform cannot map to a binary).
    #[error("{kind} {name}: {message}")]
    Unsupported {
        /// Kind of the object.
        kind: ObjectKind,
        /// Name of the object.
        name: String,
        /// What is not supported.
        message: String,
    },
    /// The platform itself is unreachable or broken (cluster down, process failed
    /// to start, I/O error).
    #[error("{0}")]
    Unavailable(String),
}

/// The observed state of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodState {
    /// Pod name (unique within the lab).
    pub name: String,
    /// The Deployment that owns the pod.
    pub deployment: String,
    /// The pod's `version` label.
    pub version: String,
    /// The pod's address (an IP, without port).
    pub address: String,
    /// Whether the readiness probe currently passes.
    pub ready: bool,
    /// How often the container has been restarted.
    pub restarts: u32,
    /// Whether the pod is being terminated.
    pub terminating: bool,
}

/// A ready endpoint behind a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The pod serving this endpoint.
    pub pod: String,
    /// The pod's `version` label.
    pub version: String,
    /// `ip:port` of the endpoint.
    pub address: String,
}

/// A gateway's count so far of the copies its `RequestMirror` filters sent,
/// read at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorCount {
    /// The requests the gateway had answered, on every route, when the
    /// copies were counted: between two counts, a version's copies over these
    /// requests is the share copied to it, whatever was in flight when each
    /// count was read.
    pub of_requests: u64,
    /// Per version, the copies sent to it and what came of them.
    pub copies: BTreeMap<String, MirrorCopies>,
}

/// The copies mirrored to one version so far, as a gateway counted them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorCopies {
    /// Copies sent.
    pub sent: u64,
    /// Copies answered with a 5xx status.
    pub server_errors: u64,
    /// Copies that got no answer.
    pub failed: u64,
    /// How long each answered copy took, in microseconds, in the order they
    /// were answered (so that a later count extends an earlier one).
    pub latencies_us: Vec<u64>,
}

/// A Service listener of the platform that could not accept connections
/// (out of file descriptors, say), as the platform tallied it; the runner
/// states it in the report's notes, in the run's language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerFault {
    /// The Service whose listener it is.
    pub service: String,
    /// How many accepts failed.
    pub failed_accepts: u64,
    /// The last error, as the system said it; `None` when it gave none.
    pub last_error: Option<String>,
    /// The longest pause the listener took before trying again.
    pub longest_pause: Duration,
}

/// Where a user or the runner reaches the lab.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Urls {
    /// Prometheus's base URL, when Prometheus runs.
    pub prometheus: Option<String>,
    /// Grafana's base URL, when Grafana runs.
    pub grafana: Option<String>,
}

/// Something the platform reports happened (a pod started, was killed, restarted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformEvent {
    /// When it happened.
    pub at: SystemTime,
    /// Short machine-readable reason (`Started`, `Killing`, `BackOff`, `Unhealthy`).
    pub reason: String,
    /// The object it concerns (`pod/my-app-v2-abc12`).
    pub object: String,
    /// What happened, for people.
    pub message: String,
}

/// A place where the lab's Kubernetes objects run.
///
/// Methods take `&self`; implementations keep their state behind their own locks so
/// the runner can sample pods and endpoints while a step is in progress.
pub trait Platform: Send + Sync {
    /// Short name shown to users (`local`, `kind`, `minikube`, `context NAME`).
    fn name(&self) -> String;

    /// Create or update objects (`kubectl apply`). A changed Deployment template is
    /// rolled out with the Deployment's strategy.
    fn apply(&self, objects: &[Object]) -> impl Future<Output = Result<(), PlatformError>> + Send;

    /// Set a Deployment's replica count (`kubectl scale`).
    fn scale(
        &self,
        deployment: &str,
        replicas: i32,
    ) -> impl Future<Output = Result<(), PlatformError>> + Send;

    /// Delete an object (`kubectl delete`); its pods leave the endpoints first.
    fn delete(
        &self,
        kind: ObjectKind,
        name: &str,
    ) -> impl Future<Output = Result<(), PlatformError>> + Send;

    /// Replace a Service's selector (`kubectl patch service`).
    fn set_selector(
        &self,
        service: &str,
        selector: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), PlatformError>> + Send;

    /// Wait until every named Deployment has finished rolling out and all of its
    /// desired replicas are ready (`kubectl rollout status`), or time out.
    fn wait_ready(
        &self,
        deployments: &[String],
        timeout: Duration,
    ) -> impl Future<Output = Result<(), PlatformError>> + Send;

    /// Every pod of the lab, ready or not.
    fn pods(&self) -> impl Future<Output = Result<Vec<PodState>, PlatformError>> + Send;

    /// The ready endpoints of a Service right now.
    fn endpoints(
        &self,
        service: &str,
    ) -> impl Future<Output = Result<Vec<Endpoint>, PlatformError>> + Send;

    /// The base URL (`http://host:port`) where traffic reaches a Service from this
    /// machine: a local listener, or a NodePort mapped to the host.
    fn service_url(
        &self,
        service: &str,
    ) -> impl Future<Output = Result<String, PlatformError>> + Send;

    /// Where Prometheus and Grafana are reached.
    fn urls(&self) -> Urls;

    /// Events recorded since the previous call.
    fn take_events(&self) -> impl Future<Output = Vec<PlatformEvent>> + Send;

    /// Remove everything this run created. Idempotent.
    fn teardown(&self) -> impl Future<Output = Result<(), PlatformError>> + Send;

    /// Per version, the connections a Service sent to that version's pods that
    /// failed without an answer (refused, or closed before a byte came back),
    /// cumulative since the Service was created. The clients see such a request
    /// fail without knowing its version; with these counts the runner attributes
    /// it. `None`: the platform keeps no such count (a cluster's kube-proxy does not).
    fn failed_connections(&self, service: &str) -> Option<BTreeMap<String, u64>> {
        let _ = service;
        None
    }

    /// The copies a Gateway's `RequestMirror` filters sent so far, per
    /// version, and what came of them, as the gateway itself counted them
    /// (the clients never see a copy); `None` when the platform does not
    /// count them.
    fn mirror_copies(&self, gateway: &str) -> Option<MirrorCount> {
        let _ = gateway;
        None
    }

    /// What went wrong with the platform's own listeners so far, one fault
    /// per listener, for the report's notes (a Service that could not accept
    /// connections, say, out of file descriptors). By default nothing.
    fn listener_faults(&self) -> Vec<ListenerFault> {
        Vec::new()
    }

    /// How long a Service may still send new connections to a pod after it left
    /// the endpoints (kube-proxy's sync delay, where the platform models it); the
    /// runner opens a phase's window only after it, so the window sees the
    /// current endpoints. By default nothing is known to lag.
    fn endpoint_propagation(&self) -> Duration {
        Duration::ZERO
    }

    /// Mark a step of run `run_id` at `at` on the platform's dashboards (a
    /// Grafana annotation). By default there is nothing to annotate. The error
    /// says why the mark is missing, for the report's notes.
    fn annotate(
        &self,
        at: SystemTime,
        text: &str,
        run_id: &str,
    ) -> impl Future<Output = Result<(), PlatformError>> + Send {
        let _ = (at, text, run_id);
        std::future::ready(Ok(()))
    }

    /// Traffic generated where the platform is (a loadgen Job inside the
    /// cluster), chosen when the lab was opened. `None` (the default): the
    /// runner sends traffic from this process through [`Platform::service_url`].
    fn remote_traffic(&self) -> Option<Arc<dyn RemoteTraffic>> {
        None
    }

    /// Bound every pod termination from now on to `limit` after SIGTERM (as
    /// `kubectl delete --grace-period` does); the runner asks for it when it is
    /// interrupted, so nothing outlives it for long. Only ever lowers the bound.
    /// By default the pods' own grace periods stand.
    fn limit_grace(&self, limit: Duration) {
        let _ = limit;
    }

    /// Stop everything: the lab's objects and what the platform runs beside
    /// them for this process (Service listeners, Prometheus). Idempotent. By
    /// default, a [`Platform::teardown`].
    fn shutdown(&self) -> impl Future<Output = Result<(), PlatformError>> + Send {
        self.teardown()
    }
}

/// A boxed future, for the object-safe [`RemoteTraffic`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What remote traffic is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteLoad {
    /// The Service the traffic goes through.
    pub service: String,
    /// Requests per second, open loop.
    pub rate: f64,
    /// Stop on its own after this long at the latest.
    pub limit: Duration,
    /// Keep-alive connections instead of a new connection per request.
    pub keep_alive: Option<usize>,
    /// The scenario's classes of requests (a share each, with its headers),
    /// tallied per class; empty: every request alike.
    pub classes: Vec<crate::scenario::TrafficClass>,
}

/// Where the output lines of remote traffic go, in order (`loadgen --snapshots
/// --json`). Dropping it says that the lines have ended.
pub struct LineSink(Box<dyn FnMut(String) -> bool + Send>);

impl LineSink {
    /// A sink that hands each line to `deliver`, which says whether anyone still
    /// listens.
    pub fn new(deliver: impl FnMut(String) -> bool + Send + 'static) -> Self {
        Self(Box::new(deliver))
    }

    /// Pass one line on; `false` once nobody listens any more (stop sending).
    pub fn send(&mut self, line: String) -> bool {
        (self.0)(line)
    }
}

impl std::fmt::Debug for LineSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LineSink")
    }
}

/// Traffic generated elsewhere: `loadgen --snapshots --json` running where the
/// platform is, its output lines passed back as they come.
pub trait RemoteTraffic: Send + Sync {
    /// Start the generator; its output lines go to `lines` until it ends.
    fn start(&self, load: RemoteLoad, lines: LineSink) -> BoxFuture<'_, Result<(), PlatformError>>;
    /// Ask it to stop (it prints its final snapshot, then its lines end).
    fn stop(&self) -> BoxFuture<'_, ()>;
}
