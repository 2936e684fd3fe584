//! `lab status`: what runs where.

use super::connect::node_access;
use super::state::{CONNECT_TIMEOUT, LabState};
use crate::error::{LabError, api_error};
use crate::monitoring::{MONITORING_DEPLOYMENTS, MONITORING_NAMESPACE};
use crate::platform::{
    APP_NODE_PORT, GATEWAY_NODE_PORT, GRAFANA_NODE_PORT, LAB_NAMESPACE, NodeAccess,
    PROMETHEUS_NODE_PORT, connect,
};
use crate::provider::Provider;
use k8s_openapi::api::core::v1::Service;
use kube::Client;
use kube::api::Api;
use lab_core::platform::PlatformError;
use serde::Serialize;
use std::path::Path;

/// What `lab status` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabStatus {
    /// Where the lab runs (`kind`, `minikube`, `context NAME`).
    pub platform: String,
    /// The kubeconfig context.
    pub context: String,
    /// Each monitoring Deployment and how ready it is (`ready` or what is missing).
    pub monitoring: Vec<(String, String)>,
    /// Grafana's URL.
    pub grafana: Option<String>,
    /// Prometheus's URL.
    pub prometheus: Option<String>,
    /// Where the app's Service is reached (its NodePort, or the lab's app
    /// NodePort before a scenario created it).
    pub app: Option<String>,
    /// Whether the app's Service (my-app in the lab namespace) exists.
    pub app_deployed: bool,
    /// Whether `lab up --gateway` installed the Gateway API and NGINX Gateway
    /// Fabric (GatewayClass `nginx`), as it recorded.
    pub gateway_installed: bool,
    /// Where a Gateway's port-80 listener is reached (NodePort 30081), once a
    /// scenario applies one; `None` without the gateway or when this machine
    /// cannot reach the NodePort.
    pub gateway: Option<String>,
    /// The demo-app image in use.
    pub demo_app_image: String,
}

/// Ask the cluster how the lab is doing (every request bounded).
pub async fn status(state: &LabState, root: &Path) -> Result<LabStatus, LabError> {
    let client = connect(Some(&state.context), CONNECT_TIMEOUT).await?;
    let access = node_access(&state.provider, &client, root).await?;
    status_through(&client, state, &access).await
}

/// How the lab `state` records is doing, asked through `client`, with its
/// NodePorts reached as `access` says (every request bounded).
pub async fn status_through(
    client: &Client,
    state: &LabState,
    access: &NodeAccess,
) -> Result<LabStatus, LabError> {
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), MONITORING_NAMESPACE);
    let mut monitoring = Vec::new();
    for name in MONITORING_DEPLOYMENTS {
        let found = tokio::time::timeout(CONNECT_TIMEOUT, deployments.get_opt(name))
            .await
            .map_err(|_| {
                PlatformError::Unavailable(format!("deployment {name} did not answer in time"))
            })?
            .map_err(|e| api_error(e, &format!("reading deployment {name}")))?;
        let state = match found {
            None => "missing".to_string(),
            Some(d) => crate::platform::rollout_progress(&d).unwrap_or_else(|| "ready".into()),
        };
        monitoring.push((name.to_string(), state));
    }
    let services: Api<Service> = Api::namespaced(client.clone(), LAB_NAMESPACE);
    let service = tokio::time::timeout(CONNECT_TIMEOUT, services.get_opt("my-app"))
        .await
        .map_err(|_| PlatformError::Unavailable("service my-app did not answer in time".into()))?
        .map_err(|e| api_error(e, "reading service my-app"))?;
    let app_deployed = service.is_some();
    let node_port = service
        .and_then(|s| s.spec?.ports?.iter().find_map(|p| p.node_port))
        .unwrap_or(APP_NODE_PORT);
    let app = access.url(node_port).ok();
    Ok(LabStatus {
        platform: state.provider.name(),
        context: state.context.clone(),
        monitoring,
        grafana: access.url(GRAFANA_NODE_PORT).ok(),
        prometheus: access.url(PROMETHEUS_NODE_PORT).ok(),
        app,
        app_deployed,
        gateway_installed: state.gateway,
        gateway: state
            .gateway
            .then(|| access.url(GATEWAY_NODE_PORT).ok())
            .flatten(),
        demo_app_image: state.demo_app_image.clone(),
    })
}

/// Whether a lab state and a requested provider disagree (a lab is up elsewhere).
pub fn conflicting_lab(state: &LabState, provider: &Provider) -> Option<String> {
    (state.provider != *provider).then(|| {
        format!(
            "a lab is up on {} already: run `cargo xtask lab down` first",
            state.provider.name()
        )
    })
}
