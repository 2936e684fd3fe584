//! [`LabPlatform`]: the platform a lab was opened on, local or a cluster, as one
//! `Platform` that delegates to it (the trait is not object-safe), and what is
//! left to do with it after a run.

use lab_core::object::{Object, ObjectKind};
use lab_core::platform::{
    Endpoint, Platform, PlatformError, PlatformEvent, PodState, RemoteTraffic, Urls,
};
use platform_kube::{Grafana, KubePlatform};
use platform_local::LocalPlatform;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// How long the local platform may take to stop after a run.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(40);

/// The platform behind a lab.
enum Place {
    Local(LocalPlatform),
    Cluster(Box<KubePlatform>),
}

/// A lab's platform with its capabilities wired.
pub struct LabPlatform {
    place: Place,
    /// Traffic generated elsewhere instead of the platform's own choice.
    traffic: Option<Arc<dyn RemoteTraffic>>,
    /// A Grafana to annotate besides the platform's own dashboards.
    grafana: Option<Grafana>,
}

/// What `--keep` leaves after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Processes of this one: they run until it is interrupted (or `lab down`).
    UntilInterrupted,
    /// Objects on a cluster: they stay after this process ends, until `lab down`.
    OnCluster,
}

impl LabPlatform {
    pub(crate) fn local(platform: LocalPlatform) -> Self {
        Self {
            place: Place::Local(platform),
            traffic: None,
            grafana: None,
        }
    }

    pub(crate) fn cluster(platform: KubePlatform) -> Self {
        Self {
            place: Place::Cluster(Box::new(platform)),
            traffic: None,
            grafana: None,
        }
    }

    /// The local platform, when the lab runs there (for tests that act on it:
    /// kill a pod, read the Service's tallies).
    pub fn as_local(&self) -> Option<&LocalPlatform> {
        match &self.place {
            Place::Local(platform) => Some(platform),
            Place::Cluster(_) => None,
        }
    }

    /// Generate traffic with `traffic` (a test's own generator) instead of the
    /// platform's choice.
    pub fn with_remote_traffic(mut self, traffic: Arc<dyn RemoteTraffic>) -> Self {
        self.traffic = Some(traffic);
        self
    }

    /// Annotate each step in this Grafana too (the cluster lab's own Grafana is
    /// wired when the lab opens).
    pub fn with_grafana(mut self, grafana: Grafana) -> Self {
        self.grafana = Some(grafana);
        self
    }

    /// What `--keep` leaves after a run.
    pub fn kept(&self) -> Kept {
        match self.place {
            Place::Local(_) => Kept::UntilInterrupted,
            Place::Cluster(_) => Kept::OnCluster,
        }
    }

    /// Hold a kept run until `interrupt`, then tear it down (pods get
    /// [`lab_runner::INTERRUPTED_GRACE`] after SIGTERM).
    pub async fn hold_until_interrupted(&self, mut interrupt: watch::Receiver<bool>) {
        let _ = interrupt.wait_for(|stop| *stop).await;
        self.limit_grace(lab_runner::INTERRUPTED_GRACE);
        let _ = self.teardown().await;
    }

    /// Release what this process runs for the lab (the local platform's
    /// Service listeners and Prometheus, its state file), bounded in time; a
    /// cluster's objects were torn down by the run, or are kept.
    pub async fn close(&self) {
        if let Place::Local(platform) = &self.place {
            // Pods leave their endpoints, then get SIGTERM; SIGKILL after their grace.
            let _ = tokio::time::timeout(SHUTDOWN_LIMIT, Platform::shutdown(platform)).await;
        }
    }
}

/// Call the same method on whichever platform the lab runs on.
macro_rules! delegate {
    ($self:ident, $platform:ident => $call:expr) => {
        match &$self.place {
            Place::Local($platform) => $call,
            Place::Cluster(boxed) => {
                let $platform: &KubePlatform = boxed;
                $call
            }
        }
    };
}

impl Platform for LabPlatform {
    fn name(&self) -> String {
        delegate!(self, p => p.name())
    }

    async fn apply(&self, objects: &[Object]) -> Result<(), PlatformError> {
        delegate!(self, p => p.apply(objects).await)
    }

    async fn scale(&self, deployment: &str, replicas: i32) -> Result<(), PlatformError> {
        delegate!(self, p => p.scale(deployment, replicas).await)
    }

    async fn delete(&self, kind: ObjectKind, name: &str) -> Result<(), PlatformError> {
        delegate!(self, p => p.delete(kind, name).await)
    }

    async fn set_selector(
        &self,
        service: &str,
        selector: &BTreeMap<String, String>,
    ) -> Result<(), PlatformError> {
        delegate!(self, p => p.set_selector(service, selector).await)
    }

    async fn wait_ready(
        &self,
        deployments: &[String],
        timeout: Duration,
    ) -> Result<(), PlatformError> {
        delegate!(self, p => p.wait_ready(deployments, timeout).await)
    }

    async fn pods(&self) -> Result<Vec<PodState>, PlatformError> {
        delegate!(self, p => p.pods().await)
    }

    async fn endpoints(&self, service: &str) -> Result<Vec<Endpoint>, PlatformError> {
        delegate!(self, p => p.endpoints(service).await)
    }

    async fn service_url(&self, service: &str) -> Result<String, PlatformError> {
        delegate!(self, p => p.service_url(service).await)
    }

    fn urls(&self) -> Urls {
        delegate!(self, p => p.urls())
    }

    async fn take_events(&self) -> Vec<PlatformEvent> {
        delegate!(self, p => p.take_events().await)
    }

    async fn teardown(&self) -> Result<(), PlatformError> {
        delegate!(self, p => p.teardown().await)
    }

    fn failed_connections(&self, service: &str) -> Option<BTreeMap<String, u64>> {
        delegate!(self, p => Platform::failed_connections(p, service))
    }

    fn listener_faults(&self) -> Vec<lab_core::platform::ListenerFault> {
        delegate!(self, p => Platform::listener_faults(p))
    }

    fn endpoint_propagation(&self) -> Duration {
        delegate!(self, p => Platform::endpoint_propagation(p))
    }

    fn mirror_copies(&self, gateway: &str) -> Option<lab_core::platform::MirrorCount> {
        delegate!(self, p => Platform::mirror_copies(p, gateway))
    }

    async fn annotate(
        &self,
        at: SystemTime,
        text: &str,
        run_id: &str,
    ) -> Result<(), PlatformError> {
        if let Some(grafana) = &self.grafana {
            grafana
                .annotate(at, text, run_id)
                .await
                .map_err(PlatformError::Unavailable)?;
        }
        delegate!(self, p => p.annotate(at, text, run_id).await)
    }

    fn remote_traffic(&self) -> Option<Arc<dyn RemoteTraffic>> {
        self.traffic
            .clone()
            .or_else(|| delegate!(self, p => p.remote_traffic()))
    }

    fn limit_grace(&self, limit: Duration) {
        delegate!(self, p => Platform::limit_grace(p, limit))
    }

    async fn shutdown(&self) -> Result<(), PlatformError> {
        delegate!(self, p => Platform::shutdown(p).await)
    }
}
