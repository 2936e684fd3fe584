//! How the lab reaches a cluster's NodePorts from this machine.

use crate::error::api_error;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::{Api, ListParams};
use lab_core::platform::PlatformError;
use std::collections::BTreeMap;

/// The NodePort a scenario's NodePort Service gets when it names none, so the
/// host port mapped by `lab/kind.yaml` reaches it.
pub const APP_NODE_PORT: i32 = 30080;

/// The NodePort of a Gateway's port-80 listener, pinned by the NginxProxy of
/// `lab up --gateway` (see `lab/gateway/`).
pub const GATEWAY_NODE_PORT: i32 = 30081;

/// Prometheus's NodePort (see `lab/monitoring/prometheus.yaml`).
pub const PROMETHEUS_NODE_PORT: i32 = 30090;

/// Grafana's NodePort (see `lab/monitoring/grafana.yaml`).
pub const GRAFANA_NODE_PORT: i32 = 30030;

/// How NodePorts are reached from this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeAccess {
    /// The cluster maps some NodePorts to ports on a host address (kind's
    /// `extraPortMappings` in `lab/kind.yaml`): nodePort → host port.
    HostPorts {
        /// The host address (`127.0.0.1`).
        host: String,
        /// nodePort → port on the host.
        ports: BTreeMap<i32, u16>,
    },
    /// Every NodePort is open on this node address (`minikube ip`, or a node's
    /// ExternalIP/InternalIP for an existing context).
    Node(String),
}

impl NodeAccess {
    /// kind with `lab/kind.yaml`: the app, Gateway, Prometheus and Grafana
    /// NodePorts on 127.0.0.1 under the same numbers.
    pub fn kind() -> Self {
        let ports = [
            APP_NODE_PORT,
            GATEWAY_NODE_PORT,
            PROMETHEUS_NODE_PORT,
            GRAFANA_NODE_PORT,
        ]
        .into_iter()
        .map(|p| (p, p as u16))
        .collect();
        NodeAccess::HostPorts {
            host: "127.0.0.1".into(),
            ports,
        }
    }

    /// The base URL of a NodePort, or why it cannot be reached from here.
    pub fn url(&self, node_port: i32) -> Result<String, String> {
        match self {
            NodeAccess::HostPorts { host, ports } => match ports.get(&node_port) {
                Some(port) => Ok(format!("http://{host}:{port}")),
                None => Err(format!(
                    "nodePort {node_port} is not mapped to the host (mapped: {})",
                    ports
                        .keys()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            },
            NodeAccess::Node(address) => Ok(format!("http://{address}:{node_port}")),
        }
    }
}

/// The first node address reachable from outside the cluster: an ExternalIP if
/// a node has one, otherwise an InternalIP (for an existing context, where
/// NodePorts are reached on a node's address).
pub async fn node_address(client: &Client) -> Result<String, PlatformError> {
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes
        .list(&ListParams::default())
        .await
        .map_err(|e| api_error(e, "listing nodes"))?;
    let addresses: Vec<_> = list
        .items
        .iter()
        .filter_map(|n| n.status.as_ref()?.addresses.clone())
        .flatten()
        .collect();
    ["ExternalIP", "InternalIP"]
        .iter()
        .find_map(|wanted| addresses.iter().find(|a| a.type_ == *wanted))
        .map(|a| a.address.clone())
        .ok_or_else(|| {
            PlatformError::Unavailable("no node has an ExternalIP or InternalIP address".into())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_access_urls() {
        let kind = NodeAccess::kind();
        assert_eq!(kind.url(30080).as_deref(), Ok("http://127.0.0.1:30080"));
        assert_eq!(kind.url(30030).as_deref(), Ok("http://127.0.0.1:30030"));
        assert_eq!(
            kind.url(31000).unwrap_err(),
            "nodePort 31000 is not mapped to the host (mapped: 30030, 30080, 30081, 30090)"
        );
        let node = NodeAccess::Node("192.168.49.2".into());
        assert_eq!(node.url(31000).as_deref(), Ok("http://192.168.49.2:31000"));
    }
}
