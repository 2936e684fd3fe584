//! Where a plan runs, as far as the plan depends on it: a cluster starts pods
//! slower than local processes (new images, probes every few seconds, fewer
//! cores), kube-proxy follows endpoint changes after a delay, and the kubectl
//! lines a learner pastes next to the lab must name its namespace.

use crate::duration::{as_text as duration_text, format_duration as text};
use std::time::Duration;

/// The shortest wait on a cluster unless `--wait-timeout` says otherwise: ten
/// new pods with readiness probes every 5 s, the first use of an image and a
/// 2-vCPU node (minikube's default) take well over the quick profile's 20 s.
pub const CLUSTER_MIN_WAIT_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a phase's window opens after the steps before it on a cluster:
/// kube-proxy applies an EndpointSlice change after its own sync (up to about a
/// second), so traffic before then still follows the old set of pods.
pub const CLUSTER_ENDPOINT_SETTLE: Duration = Duration::from_secs(2);

/// Where a plan runs, as far as its waits, windows and kubectl lines depend on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Placement {
    /// The platform as users see it (`local`, `kind`, `minikube`, `context NAME`).
    pub platform: String,
    /// Every wait lasts at least this long, unless `--wait-timeout` says otherwise.
    #[serde(with = "duration_text")]
    pub min_wait_timeout: Duration,
    /// A phase's window opens this long after the step before it ended, so the
    /// split is judged on traffic that follows the current endpoints.
    #[serde(with = "duration_text")]
    pub endpoint_settle: Duration,
    /// The namespace the kubectl lines name; `None`: the current one.
    pub namespace: Option<String>,
}

impl Placement {
    /// The local platform: processes whose Service follows every change at once.
    pub fn local() -> Placement {
        Placement {
            platform: "local".to_string(),
            min_wait_timeout: Duration::ZERO,
            endpoint_settle: Duration::ZERO,
            namespace: None,
        }
    }

    /// A cluster (`kind`, `minikube`, `context NAME`) whose scenarios run in
    /// `namespace`.
    pub fn cluster(platform: &str, namespace: &str) -> Placement {
        Placement {
            platform: platform.to_string(),
            min_wait_timeout: CLUSTER_MIN_WAIT_TIMEOUT,
            endpoint_settle: CLUSTER_ENDPOINT_SETTLE,
            namespace: Some(namespace.to_string()),
        }
    }

    /// Whether this is the local platform's placement (which plans leave out of
    /// their JSON).
    pub fn is_local(&self) -> bool {
        *self == Placement::local()
    }

    /// What the placement changes, in one line for the plan's header.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.platform.clone()];
        let mut said = Vec::new();
        if !self.min_wait_timeout.is_zero() {
            said.push(format!(
                "waits last at least {} unless --wait-timeout says otherwise",
                text(self.min_wait_timeout)
            ));
        }
        if !self.endpoint_settle.is_zero() {
            said.push(format!(
                "each phase opens {} after the step before it, once kube-proxy follows the endpoints",
                text(self.endpoint_settle)
            ));
        }
        if let Some(namespace) = &self.namespace {
            said.push(format!("kubectl lines in namespace {namespace}"));
        }
        if !said.is_empty() {
            parts.push(said.join("; "));
        }
        parts.join(": ")
    }
}
