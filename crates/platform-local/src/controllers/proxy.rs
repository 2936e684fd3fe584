//! The proxy: each Service as kube-proxy makes it. For every Service in the
//! store it opens a TCP listener per port on the Service's own loopback address
//! and sends each new connection to one of the port's ready endpoints, picked
//! uniformly at random. Keep-alive connections stay on their pod, as they do in
//! a cluster. It reports the listeners' addresses (or why one could not open)
//! as the Service's status, and tallies connections by version.
//!
//! Per connection it reads the endpoints from the port's watch channel only;
//! the store is not touched.

use crate::node::Node;
use crate::store::{
    AcceptFaults, ConnectionStats, Listeners, NO_ENDPOINT, ServiceRecord, ServiceStats, Store,
    Target,
};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a connection to a chosen endpoint may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The pause after a first failed accept. It doubles with each failure in a
/// row up to [`LONGEST_ACCEPT_PAUSE`] and starts over after a success: a
/// listener out of file descriptors must not spin on a core while the
/// descriptors it waits for are being closed.
const FIRST_ACCEPT_PAUSE: Duration = Duration::from_millis(5);

/// The longest pause between two tries to accept.
const LONGEST_ACCEPT_PAUSE: Duration = Duration::from_secs(1);

/// Start the proxy.
pub(crate) fn start(store: &Arc<Store>, node: &Arc<Node>) -> Option<JoinHandle<()>> {
    Some(tokio::spawn(run(store.clone(), node.clone())))
}

/// The listeners opened for one Service (its `uid`); closed when dropped.
struct Opened {
    uid: u64,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Opened {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A Service whose listeners are to be opened.
struct ToOpen {
    name: String,
    uid: u64,
    ports: Vec<u16>,
    endpoints: Vec<watch::Receiver<Arc<Vec<Target>>>>,
    connections: Arc<ConnectionStats>,
    accept_faults: Arc<Mutex<AcceptFaults>>,
}

/// Which Services to close (gone, or replaced) and which to open (new, or
/// replaced), given the uids whose listeners are open.
fn listener_changes(
    services: &BTreeMap<String, ServiceRecord>,
    open: &BTreeMap<String, u64>,
) -> (Vec<String>, Vec<String>) {
    let close = open
        .iter()
        .filter(|(name, uid)| services.get(*name).is_none_or(|s| s.uid != **uid))
        .map(|(name, _)| name.clone())
        .collect();
    let to_open = services
        .iter()
        .filter(|(name, s)| open.get(*name) != Some(&s.uid))
        .map(|(name, _)| name.clone())
        .collect();
    (close, to_open)
}

/// Follow the Services until the platform shuts down; aborting this task
/// closes every listener.
async fn run(store: Arc<Store>, node: Arc<Node>) {
    let mut opened: BTreeMap<String, Opened> = BTreeMap::new();
    // Each opened Service gets the next address of the block, never reused.
    let mut next_address = 0u32;
    let mut changes = store.subscribe();
    loop {
        let to_open: Vec<ToOpen> = {
            let objects = store.read();
            let uids = opened.iter().map(|(n, o)| (n.clone(), o.uid)).collect();
            let (close, open) = listener_changes(objects.services(), &uids);
            for name in close {
                opened.remove(&name);
            }
            open.into_iter()
                .filter_map(|name| {
                    let service = objects.service(&name)?;
                    Some(ToOpen {
                        uid: service.uid,
                        ports: service.spec.ports.iter().map(|p| p.port).collect(),
                        endpoints: service.endpoints.iter().map(|e| e.subscribe()).collect(),
                        connections: service.connections.clone(),
                        accept_faults: service.accept_faults.clone(),
                        name,
                    })
                })
                .collect()
        };
        for service in to_open {
            opened.remove(&service.name);
            let address = node.block.service_address(next_address);
            next_address += 1;
            let (uid, name) = (service.uid, service.name.clone());
            let (listeners, tasks) = match open(service, address).await {
                Ok((addresses, tasks)) => (Listeners::Open(addresses), tasks),
                Err(message) => (Listeners::Failed(message), Vec::new()),
            };
            opened.insert(name.clone(), Opened { uid, tasks });
            store.write().set_listeners(&name, uid, listeners);
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// Open a Service's listeners on `address` and serve them.
async fn open(
    service: ToOpen,
    address: Ipv4Addr,
) -> Result<(Vec<SocketAddr>, Vec<JoinHandle<()>>), String> {
    let mut addresses = Vec::new();
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    for (port, endpoints) in service.ports.into_iter().zip(service.endpoints) {
        let (listener, listen) = match bind(address, port).await {
            Ok(bound) => bound,
            Err(error) => {
                for task in tasks {
                    task.abort();
                }
                return Err(format!(
                    "service {}: cannot listen on {address}:{port}: {error}",
                    service.name
                ));
            }
        };
        addresses.push(listen);
        tasks.push(tokio::spawn(serve(
            listener,
            endpoints,
            service.connections.clone(),
            service.accept_faults.clone(),
        )));
    }
    Ok((addresses, tasks))
}

/// Bind the Service's port on its own loopback address; fall back to a free
/// port when the declared one needs privileges we lack (port 80 as non-root).
async fn bind(address: Ipv4Addr, port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
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

/// Accept connections until the Service is gone from the store (deleted, or
/// replaced because its ports changed) or the task is aborted. The port's
/// endpoints channel closes with the Service record, so the listener closes
/// the moment the Service is deleted, not on the proxy's next pass.
async fn serve(
    listener: TcpListener,
    endpoints: watch::Receiver<Arc<Vec<Target>>>,
    stats: Arc<ConnectionStats>,
    faults: Arc<Mutex<AcceptFaults>>,
) {
    let mut deleted = endpoints.clone();
    let listener = &listener;
    let forward_each = |client: TcpStream| {
        let targets = endpoints.borrow().clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            forward(client, &targets, &stats).await;
        });
    };
    tokio::select! {
        () = accept(|| async move { listener.accept().await.map(|(client, _)| client) }, &faults, forward_each) => {}
        () = closed(&mut deleted) => {}
    }
}

/// Returns once the channel's sender (the Service record) is dropped.
async fn closed(channel: &mut watch::Receiver<Arc<Vec<Target>>>) {
    while channel.changed().await.is_ok() {}
}

/// The pauses between tries to accept after failures in a row.
#[derive(Debug)]
struct AcceptPause {
    next: Duration,
}

impl AcceptPause {
    fn new() -> Self {
        Self {
            next: FIRST_ACCEPT_PAUSE,
        }
    }

    /// The pause after one more failure.
    fn after_failure(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(LONGEST_ACCEPT_PAUSE);
        pause
    }

    /// A connection was accepted: the next failure pauses briefly again.
    fn after_success(&mut self) {
        self.next = FIRST_ACCEPT_PAUSE;
    }
}

/// Hand each accepted connection to `handle`; never returns. A failed accept
/// is tallied in `faults` and followed by a pause that grows while the
/// failures go on.
async fn accept<C, A, F>(mut next: A, faults: &Mutex<AcceptFaults>, mut handle: impl FnMut(C))
where
    A: FnMut() -> F,
    F: Future<Output = std::io::Result<C>>,
{
    let mut pause = AcceptPause::new();
    loop {
        match next().await {
            Ok(connection) => {
                pause.after_success();
                handle(connection);
            }
            Err(error) => {
                let wait = pause.after_failure();
                {
                    let mut faults = faults.lock().unwrap();
                    faults.failures += 1;
                    faults.last_error = Some(error.to_string());
                    faults.longest_pause = faults.longest_pause.max(wait);
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

fn tally(stats: &ConnectionStats, version: &str, update: impl FnOnce(&mut ServiceStats)) {
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

async fn forward(client: TcpStream, targets: &[Target], stats: &ConnectionStats) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ServicePort, ServiceSpec};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn services(uids: &[(&str, u64)]) -> BTreeMap<String, ServiceRecord> {
        uids.iter()
            .map(|&(name, uid)| {
                let record = ServiceRecord {
                    resource_version: 1,
                    uid,
                    spec: ServiceSpec {
                        selector: BTreeMap::new(),
                        ports: vec![ServicePort {
                            port: 80,
                            target: IntOrString::Int(8080),
                        }],
                    },
                    listeners: Listeners::Pending,
                    endpoints: vec![watch::channel(Arc::new(Vec::new())).0],
                    connections: Arc::default(),
                    accept_faults: Arc::default(),
                };
                (name.to_string(), record)
            })
            .collect()
    }

    #[test]
    fn listeners_follow_the_services_and_their_uids() {
        let open = BTreeMap::from([
            ("kept".to_string(), 1),
            ("replaced".to_string(), 2),
            ("deleted".to_string(), 3),
        ]);
        let now = services(&[("kept", 1), ("replaced", 4), ("new", 5)]);
        let (close, to_open) = listener_changes(&now, &open);
        assert_eq!(close, ["deleted", "replaced"]);
        assert_eq!(to_open, ["new", "replaced"]);
        let (close, to_open) = listener_changes(
            &now,
            &BTreeMap::from([
                ("kept".to_string(), 1),
                ("replaced".to_string(), 4),
                ("new".to_string(), 5),
            ]),
        );
        assert!(close.is_empty() && to_open.is_empty());
    }

    #[test]
    fn accept_pauses_double_up_to_a_second_and_start_over_after_a_success() {
        let mut pause = AcceptPause::new();
        let pauses: Vec<u64> = (0..10)
            .map(|_| pause.after_failure().as_millis() as u64)
            .collect();
        assert_eq!(pauses, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        pause.after_success();
        assert_eq!(pause.after_failure(), Duration::from_millis(5));
    }

    /// A listener that cannot accept (out of file descriptors) is tried
    /// again after pauses, not at once: over one second of (paused, so
    /// exact) time it is tried 8 times, where a loop that retried at once
    /// would have spun through every failure the stand-in has without the
    /// clock moving.
    #[tokio::test(start_paused = true)]
    async fn a_listener_that_cannot_accept_backs_off() {
        const FAILURES: u32 = 1_000;
        let tries = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let faults = Arc::new(Mutex::new(AcceptFaults::default()));
        let (counted, recorded) = (tries.clone(), faults.clone());
        let started = tokio::time::Instant::now();
        let looping = tokio::spawn(async move {
            let next = || {
                let tries = counted.clone();
                async move {
                    let n = tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    if n > FAILURES {
                        std::future::pending::<()>().await;
                    }
                    Err::<(), _>(std::io::Error::from_raw_os_error(nix::libc::EMFILE))
                }
            };
            accept(next, &recorded, |()| {}).await;
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        let tried = tries.load(std::sync::atomic::Ordering::SeqCst);
        // Tries at 0, 5, 15, 35, 75, 155, 315 and 635 ms; the next at 1275 ms.
        assert_eq!(tried, 8, "tries in the first second");
        let seen = faults.lock().unwrap().clone();
        assert_eq!(seen.failures, 8);
        assert_eq!(seen.longest_pause, Duration::from_millis(640));
        assert!(
            seen.last_error
                .as_deref()
                .is_some_and(|e| e.contains("Too many open files")),
            "{seen:?}"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        looping.abort();
    }
}
