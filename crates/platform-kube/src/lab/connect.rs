//! Reaching the lab `lab up` brought up: its cluster, its nodes, its platform.

use super::state::{CONNECT_TIMEOUT, LabState, MONITORING_TIMEOUT};
use crate::error::{LabError, api_error};
use crate::monitoring::{self, MONITORING_NAMESPACE, apply_manifest};
use crate::platform::{
    APP_NODE_PORT, KubePlatform, KubeSettings, LAB_NAMESPACE, NodeAccess, connect, node_address,
};
use crate::provider::{KIND_CONFIG, Provider, kind_port_mappings};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::Api;
use lab_core::platform::Platform;
use std::path::Path;
use std::time::Duration;

/// Connect to the cluster of the lab `lab up` recorded, through its own
/// kubeconfig context (`kind-canary-lab`, minikube's `canary-lab` profile, the
/// `--context` given), never the context that happens to be current, so the
/// cluster tests cannot run against another cluster on the machine.
pub async fn connect_lab(state: &LabState) -> Result<kube::Client, LabError> {
    Ok(connect(Some(&state.context), CONNECT_TIMEOUT).await?)
}

/// The placement of a run on the lab of `provider`.
pub fn run_placement(provider: &Provider) -> lab_core::plan::Placement {
    lab_core::plan::Placement::cluster(&provider.name(), LAB_NAMESPACE)
}

pub(super) fn settings_for(state: &LabState, namespace: &str, access: NodeAccess) -> KubeSettings {
    KubeSettings {
        name: state.provider.name(),
        namespace: namespace.to_string(),
        demo_app_image: state.demo_app_image.clone(),
        loadgen_image: state.loadgen_image.clone(),
        access,
        app_node_port: Some(APP_NODE_PORT),
    }
}

/// The platform a run uses on the lab `lab up` brought up: the recorded context
/// and images, and NodePorts reached as the provider allows.
pub async fn lab_platform(root: &Path) -> Result<KubePlatform, LabError> {
    let state = LabState::load(root)?.ok_or_else(|| {
        LabError::Prerequisite(
            "no lab is up on a cluster: run `cargo xtask lab up --platform kind` first".into(),
        )
    })?;
    let client = connect(Some(&state.context), CONNECT_TIMEOUT).await?;
    let access = node_access(&state.provider, &client, root).await?;
    Ok(KubePlatform::new(
        client,
        settings_for(&state, LAB_NAMESPACE, access),
    ))
}

pub(super) async fn node_access(
    provider: &Provider,
    client: &Client,
    root: &Path,
) -> Result<NodeAccess, LabError> {
    match provider {
        Provider::Kind => read_kind_access(root),
        Provider::Minikube => {
            let command = provider.node_ip_command().expect("minikube has a node IP");
            let out = command.capture(root).await?;
            let ip = out.stdout.trim().to_string();
            if !out.success || ip.is_empty() {
                return Err(LabError::Command {
                    command: command.to_string(),
                    message: format!("printed no address: {}", out.stderr.trim()),
                });
            }
            Ok(NodeAccess::Node(ip))
        }
        Provider::Context(_) => Ok(NodeAccess::Node(node_address(client).await?)),
    }
}

/// Make the cluster's Prometheus scrape every `interval`, the run's plan's, so
/// the plan's scrape interval (its cross-check tolerance, its final settle,
/// what the report says) is true. When the running config says otherwise,
/// apply Prometheus's config with that interval and its Deployment (whose
/// config hash changes, so the pod restarts: a ConfigMap reaches a running
/// pod only after the kubelet's sync, up to a minute or more) and wait until
/// it is ready. Returns what changed, for the report's notes.
pub async fn ensure_scrape_interval(
    client: &Client,
    root: &Path,
    interval: Duration,
) -> Result<Option<ScrapeIntervalChange>, LabError> {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), MONITORING_NAMESPACE);
    let found = maps
        .get_opt(monitoring::PROMETHEUS_CONFIG_MAP)
        .await
        .map_err(|e| {
            api_error(
                e,
                &format!("reading configmap {}", monitoring::PROMETHEUS_CONFIG_MAP),
            )
        })?;
    let running = found
        .as_ref()
        .and_then(|cm| cm.data.as_ref()?.get(monitoring::PROMETHEUS_CONFIG_KEY))
        .and_then(|text| monitoring::scrape_interval_of(text));
    if running == Some(interval) {
        return Ok(None);
    }
    for manifest in monitoring::prometheus_manifests(root, interval)? {
        apply_manifest(client, &manifest).await?;
    }
    let platform = KubePlatform::new(
        client.clone(),
        KubeSettings {
            name: "monitoring".into(),
            namespace: MONITORING_NAMESPACE.into(),
            demo_app_image: String::new(),
            loadgen_image: String::new(),
            access: NodeAccess::Node(String::new()),
            app_node_port: None,
        },
    );
    platform
        .wait_ready(
            &[monitoring::PROMETHEUS_DEPLOYMENT.to_string()],
            MONITORING_TIMEOUT,
        )
        .await?;
    Ok(Some(ScrapeIntervalChange {
        was: running,
        now: interval,
    }))
}

/// The cluster's Prometheus was reconfigured and restarted to scrape at the
/// plan's interval: what [`ensure_scrape_interval`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrapeIntervalChange {
    /// The interval it scraped at before, if its configuration said.
    pub was: Option<Duration>,
    /// The interval it scrapes at now, the plan's.
    pub now: Duration,
}

/// The ports of the kind node, as `lab up` configured them.
pub(super) fn read_kind_access(root: &Path) -> Result<NodeAccess, LabError> {
    let path = root.join(KIND_CONFIG);
    let text = std::fs::read_to_string(&path).map_err(|e| LabError::io(&path, e))?;
    kind_port_mappings(Path::new(KIND_CONFIG), &text)
}
