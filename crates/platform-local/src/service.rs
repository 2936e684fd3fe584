//! A Service as kube-proxy makes it: a TCP listener that sends each new
//! connection to a ready endpoint picked uniformly at random. Keep-alive
//! connections stay on their pod, as they do in a cluster.

use crate::state::Inner;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a connection to a chosen endpoint may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// One ready endpoint a connection can be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) address: SocketAddr,
    pub(crate) pod: String,
    pub(crate) version: String,
}

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

/// Recompute every Service's endpoints from the pods; listeners see the new
/// list on their next connection.
pub(crate) fn refresh_endpoints(inner: &Inner) {
    for service in inner.services.values() {
        for port in &service.ports {
            let mut targets: Vec<Target> = inner
                .pods
                .iter()
                .filter(|(_, pod)| pod.ready && !pod.terminating)
                .filter(|(_, pod)| {
                    service
                        .selector
                        .iter()
                        .all(|(key, value)| pod.runtime.labels.get(key) == Some(value))
                })
                // An empty selector selects nothing (Kubernetes leaves such a
                // Service's endpoints to be managed by hand).
                .filter(|_| !service.selector.is_empty())
                .filter_map(|(name, pod)| {
                    let port = pod.runtime.resolve_port(&port.target)?;
                    Some(Target {
                        address: SocketAddr::from((pod.address, port)),
                        pod: name.clone(),
                        version: pod.runtime.version(),
                    })
                })
                .collect();
            targets.sort_by(|a, b| a.pod.cmp(&b.pod));
            port.endpoints.send_if_modified(|current| {
                if **current == targets {
                    false
                } else {
                    *current = Arc::new(std::mem::take(&mut targets));
                    true
                }
            });
        }
    }
}

/// Bind the Service's port on its own loopback address; fall back to a free
/// port when the declared one needs privileges we lack (port 80 as non-root).
pub(crate) async fn bind(
    address: Ipv4Addr,
    port: u16,
) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = match TcpListener::bind((address, port)).await {
        Ok(listener) => listener,
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
            TcpListener::bind((address, 0)).await?
        }
        Err(error) => return Err(error),
    };
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Accept connections until the task is aborted.
pub(crate) async fn serve(
    listener: TcpListener,
    endpoints: watch::Receiver<Arc<Vec<Target>>>,
    stats: Arc<Mutex<BTreeMap<String, ServiceStats>>>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let targets = endpoints.borrow().clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            forward(client, &targets, &stats).await;
        });
    }
}

fn tally(
    stats: &Mutex<BTreeMap<String, ServiceStats>>,
    version: &str,
    update: impl FnOnce(&mut ServiceStats),
) {
    let mut stats = stats.lock().unwrap();
    match stats.get_mut(version) {
        Some(entry) => update(entry),
        None => update(stats.entry(version.to_string()).or_default()),
    }
}

/// Refuse a connection the way an iptables REJECT would look to the client: a reset.
fn reset(client: TcpStream) {
    let _ = client.set_zero_linger();
    drop(client);
}

async fn forward(
    client: TcpStream,
    targets: &[Target],
    stats: &Mutex<BTreeMap<String, ServiceStats>>,
) {
    if targets.is_empty() {
        tally(stats, NO_ENDPOINT, |s| s.connections += 1);
        reset(client);
        return;
    }
    let target = &targets[rand::random_range(0..targets.len())];
    tally(stats, &target.version, |s| s.connections += 1);
    let upstream =
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target.address)).await {
            Ok(Ok(upstream)) => upstream,
            _ => {
                tally(stats, &target.version, |s| s.connect_failures += 1);
                reset(client);
                return;
            }
        };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let replied = relay(client, upstream).await;
    if !replied {
        tally(stats, &target.version, |s| s.empty_replies += 1);
    }
}

/// Copy both ways until both sides are done; true when the endpoint sent bytes.
async fn relay(client: TcpStream, upstream: TcpStream) -> bool {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let to_upstream = async {
        let _ = tokio::io::copy(&mut client_read, &mut upstream_write).await;
        let _ = upstream_write.shutdown().await;
    };
    let to_client = async {
        let mut buffer = vec![0u8; 16 * 1024];
        let mut sent = false;
        loop {
            match upstream_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    sent = true;
                    if client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = client_write.shutdown().await;
        sent
    };
    let ((), sent) = tokio::join!(to_upstream, to_client);
    sent
}
