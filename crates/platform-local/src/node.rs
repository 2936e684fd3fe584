//! The node the pods run on: this machine as the platform found it at start.
//!
//! Its configuration, the loopback block it owns (pod and Service addresses),
//! the marker its children carry, and the Prometheus beside it. Controllers
//! read it; only the facade starts and stops it.

use crate::addr::Block;
use crate::config::LocalConfig;
use crate::error::LocalError;
use crate::prometheus::{self, PrometheusServer};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// This machine, prepared to run pods.
pub(crate) struct Node {
    pub(crate) config: LocalConfig,
    pub(crate) block: Block,
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
            marker,
            next_pod: AtomicU32::new(0),
        })
    }

    /// A new pod's address: the next one of the block, never reused.
    pub(crate) fn pod_address(&self) -> Ipv4Addr {
        self.block
            .pod_address(self.next_pod.fetch_add(1, Ordering::Relaxed))
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
