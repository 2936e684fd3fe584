//! The node the pods run on: this machine as the platform found it at start.
//!
//! Its configuration, the loopback block it owns (pod and Service addresses),
//! the pods' network namespaces when it has them, the marker its children
//! carry, and the Prometheus beside it. Controllers read it; only the facade
//! starts and stops it.

use crate::addr::Block;
use crate::config::LocalConfig;
use crate::error::LocalError;
use crate::network::{self, PodNetwork};
use crate::prometheus::{self, PrometheusServer};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// This machine, prepared to run pods.
pub(crate) struct Node {
    pub(crate) config: LocalConfig,
    /// The pods' network namespaces; `None` runs pods on loopback addresses.
    /// Declared before the block so that it is removed while the block, whose
    /// octet its names carry, is still held.
    pub(crate) network: Option<PodNetwork>,
    pub(crate) block: Block,
    /// What the pod network is, said once in the run's notes.
    pub(crate) network_chosen: crate::network::PodNetworkChosen,
    /// The marker every child process carries in its environment.
    pub(crate) marker: String,
    /// The Prometheus this platform uses, until it is stopped.
    prometheus: Mutex<Option<PrometheusServer>>,
    pub(crate) prometheus_url: Option<String>,
    /// The `file_sd_configs` file Prometheus reads, when it runs.
    pub(crate) prometheus_targets: Option<PathBuf>,
    next_pod: AtomicU32,
}

impl Node {
    /// Reserve a loopback block, create the run directory, start (or attach to)
    /// Prometheus when configured.
    pub(crate) async fn start(config: LocalConfig) -> Result<Self, LocalError> {
        let block = Block::reserve()?;
        let (network, network_chosen) =
            network::choose(config.pod_network, block.octet()).map_err(LocalError::PodNetwork)?;
        std::fs::create_dir_all(&config.run_dir).map_err(|source| LocalError::Io {
            path: config.run_dir.clone(),
            source,
        })?;
        let marker = marker_for(&config);
        let prometheus = match &config.prometheus {
            Some(settings) => Some(prometheus::start(settings, &config.run_dir, &marker).await?),
            None => None,
        };
        Ok(Self {
            prometheus_url: prometheus.as_ref().map(|p| p.url.clone()),
            prometheus_targets: prometheus.as_ref().map(|p| p.targets_path.clone()),
            prometheus: Mutex::new(prometheus),
            config,
            block,
            network,
            network_chosen,
            marker,
            next_pod: AtomicU32::new(0),
        })
    }

    /// A new pod's address: the next one of the block, never reused.
    /// In a namespace, the lowest free address of the pod range instead.
    pub(crate) fn pod_address(&self) -> Ipv4Addr {
        match &self.network {
            Some(network) => network.pod_address(),
            None => self
                .block
                .pod_address(self.next_pod.fetch_add(1, Ordering::Relaxed)),
        }
    }

    /// The command that runs `program` as the pod at `address`: in the pod's
    /// network namespace (created on first use) when pods have them.
    pub(crate) fn pod_command(
        &self,
        address: Ipv4Addr,
        program: &std::ffi::OsStr,
    ) -> std::io::Result<tokio::process::Command> {
        match &self.network {
            Some(network) => {
                let (ip, enter) = network.enter(address)?;
                let mut command = tokio::process::Command::new(ip);
                command.args(enter).arg(program);
                Ok(command)
            }
            None => Ok(tokio::process::Command::new(program)),
        }
    }

    /// The pod at `address` is gone for good: free what its network held.
    pub(crate) fn release_pod(&self, address: Ipv4Addr) {
        if let Some(network) = &self.network {
            network.release(address);
        }
    }

    /// Remove the pods' namespaces, links and rules. Idempotent.
    pub(crate) fn remove_network(&self) {
        if let Some(network) = &self.network {
            network.remove();
        }
    }

    /// Prometheus's process id, while this platform's own Prometheus runs.
    pub(crate) fn prometheus_pid(&self) -> Option<u32> {
        self.prometheus
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|p| p.pid())
    }

    /// Stop Prometheus (or, when attached, empty its targets). Idempotent.
    pub(crate) async fn stop_prometheus(&self) {
        let server = self.prometheus.lock().unwrap().take();
        if let Some(server) = server {
            server.stop().await;
        }
    }
}

/// The marker of a run: its run directory's absolute path.
fn marker_for(config: &LocalConfig) -> String {
    std::path::absolute(&config.run_dir)
        .unwrap_or_else(|_| config.run_dir.clone())
        .display()
        .to_string()
}
