//! The local platform: a scenario's Deployments and Services run as processes on
//! this machine, with the Kubernetes semantics the lab depends on.
//!
//! - A pod is a `demo-app` process with its container's env and args; each pod gets
//!   its own loopback address (127.B.x.y) so container ports stay as declared.
//! - Readiness and liveness probes are polled as declared; only ready pods are
//!   endpoints; an exit or a failing liveness probe restarts the pod with back-off.
//! - Deployments scale, roll out template changes with `RollingUpdate` (maxSurge,
//!   maxUnavailable) or `Recreate`, and are deleted with their pods.
//! - Termination leaves the endpoints first, then sends SIGTERM, then SIGKILL after
//!   `terminationGracePeriodSeconds`.
//! - A Service is a TCP listener that picks a ready endpoint uniformly at random
//!   for each new connection, as kube-proxy does.
//! - Prometheus is the real server, started as a child process, scraping the pods
//!   through a `file_sd_configs` file whose targets carry the in-cluster labels.

mod addr;
mod controller;
mod image;
mod pod;
mod probe;
pub mod prometheus;
mod service;
mod state;
pub mod statefile;

use crate::state::Shared;
use lab_core::object::{Object, ObjectKind};
use lab_core::platform::{Endpoint, Platform, PlatformError, PlatformEvent, PodState, Urls};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use crate::prometheus::{LabPrometheus, PrometheusConfig, start_detached};
pub use crate::service::{NO_ENDPOINT, ServiceStats};

/// Images the local platform runs with the demo-app binary: the lab's own image
/// and the tutorial's originals, so the tutorial's YAML files run unchanged.
pub const DEMO_APP_IMAGES: &[&str] = &[
    "canary-lab/demo-app",
    "crisis513/strategies-test",
    "containersol/k8s-deployment-strategies",
];

/// How to run the local platform.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Directory for pod logs, the Prometheus config, targets and data.
    pub run_dir: PathBuf,
    /// The `demo-app` binary that pods run.
    pub demo_app: PathBuf,
    /// Prometheus to start beside the pods; `None` runs without it.
    pub prometheus: Option<PrometheusConfig>,
    /// Namespace label given to pods (as in the cluster).
    pub namespace: String,
    /// Where to record the processes this platform started, so that a later
    /// `lab down` can clean up after a harness that was killed.
    pub state_file: Option<PathBuf>,
    /// Upper bound on any pod's termination grace period (teardown after an
    /// interrupt uses a short one so nothing outlives the harness for long).
    pub max_grace: Option<Duration>,
}

/// Errors of the local platform's own machinery.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// No free block of loopback addresses could be reserved.
    #[error("could not reserve a loopback address block: {0}")]
    AddressBlock(String),
    /// Prometheus could not be started or did not become ready.
    #[error("prometheus: {0}")]
    Prometheus(String),
    /// A file under the run directory could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The demo-app binary is missing.
    #[error("demo-app binary not found at {0} (build it with `cargo build -p demo-app`)")]
    DemoAppMissing(PathBuf),
}

impl From<LocalError> for PlatformError {
    fn from(error: LocalError) -> Self {
        PlatformError::Unavailable(error.to_string())
    }
}

/// The local platform. Cheap to clone; all clones drive the same processes.
#[derive(Clone)]
pub struct LocalPlatform {
    shared: Arc<Shared>,
}

impl LocalPlatform {
    /// Reserve a loopback block, start Prometheus (when configured) and the
    /// controllers. Pods start as objects are applied.
    pub async fn start(config: LocalConfig) -> Result<Self, LocalError> {
        if !config.demo_app.is_file() {
            return Err(LocalError::DemoAppMissing(config.demo_app.clone()));
        }
        let shared = Shared::start(config).await?;
        Ok(Self { shared })
    }

    /// The loopback block's second octet (pods are 127.B.x.y).
    pub fn address_block(&self) -> u8 {
        self.shared.block.octet()
    }

    /// Kill a pod's process with SIGKILL, as a node failure or OOM kill would; the
    /// pod is restarted with back-off. Used to test the lab under faults.
    pub async fn kill_pod(&self, pod: &str) -> Result<(), PlatformError> {
        self.shared.kill_pod(pod).await
    }

    /// Bound every termination from now on to `limit` (SIGKILL after it), as
    /// `kubectl delete --grace-period` does; the harness calls it when it is
    /// interrupted, so that nothing outlives it for long. Only ever lowers the
    /// bound.
    pub fn limit_grace(&self, limit: Duration) {
        self.shared.limit_grace(limit);
    }

    /// Per-version connection tallies of a Service listener.
    pub fn service_stats(&self, service: &str) -> Option<BTreeMap<String, ServiceStats>> {
        self.shared.service_stats(service)
    }

    /// Per version, the connections a Service sent to that version's pods that
    /// failed without an answer: refused, or closed before a byte came back (a
    /// pod that crashed or was killed with requests in flight). Connections that
    /// found no ready endpoint belong to no version and are left out.
    pub fn failed_connections(&self, service: &str) -> BTreeMap<String, u64> {
        self.service_stats(service)
            .unwrap_or_default()
            .into_iter()
            .filter(|(version, _)| version != service::NO_ENDPOINT)
            .map(|(version, stats)| (version, stats.connect_failures + stats.empty_replies))
            .collect()
    }

    /// Process ids of everything this platform runs now (pods and Prometheus).
    pub fn pids(&self) -> Vec<u32> {
        self.shared.pids()
    }

    /// Stop everything: pods (graceful, bounded by `max_grace`), Service
    /// listeners and Prometheus. Idempotent.
    pub async fn shutdown(&self) {
        self.shared.shutdown().await;
    }
}

impl Platform for LocalPlatform {
    fn name(&self) -> String {
        "local".to_string()
    }

    async fn apply(&self, objects: &[Object]) -> Result<(), PlatformError> {
        for object in objects {
            image::check_runnable(object)?;
        }
        for object in objects {
            self.shared.apply(object).await?;
        }
        Ok(())
    }

    async fn scale(&self, deployment: &str, replicas: i32) -> Result<(), PlatformError> {
        self.shared.scale(deployment, replicas)
    }

    async fn delete(&self, kind: ObjectKind, name: &str) -> Result<(), PlatformError> {
        self.shared.delete(kind, name).await
    }

    async fn set_selector(
        &self,
        service: &str,
        selector: &BTreeMap<String, String>,
    ) -> Result<(), PlatformError> {
        self.shared.set_selector(service, selector)
    }

    async fn wait_ready(
        &self,
        deployments: &[String],
        timeout: Duration,
    ) -> Result<(), PlatformError> {
        self.shared.wait_ready(deployments, timeout).await
    }

    async fn pods(&self) -> Result<Vec<PodState>, PlatformError> {
        Ok(self.shared.pod_states())
    }

    async fn endpoints(&self, service: &str) -> Result<Vec<Endpoint>, PlatformError> {
        self.shared.endpoints(service)
    }

    async fn service_url(&self, service: &str) -> Result<String, PlatformError> {
        self.shared.service_url(service)
    }

    fn urls(&self) -> Urls {
        Urls {
            prometheus: self.shared.prometheus_url(),
            grafana: None,
        }
    }

    async fn take_events(&self) -> Vec<PlatformEvent> {
        self.shared.take_events()
    }

    async fn teardown(&self) -> Result<(), PlatformError> {
        self.shared.delete_all().await;
        Ok(())
    }

    fn failed_connections(&self, service: &str) -> Option<BTreeMap<String, u64>> {
        Some(LocalPlatform::failed_connections(self, service))
    }

    fn limit_grace(&self, limit: Duration) {
        LocalPlatform::limit_grace(self, limit);
    }

    async fn shutdown(&self) -> Result<(), PlatformError> {
        LocalPlatform::shutdown(self).await;
        Ok(())
    }
}
