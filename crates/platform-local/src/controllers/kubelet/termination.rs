//! Stopping a container, in the order this platform keeps: the pod leaves the
//! endpoints first (its deletion or its failed liveness makes the endpoints
//! controller drop it, and the kubelet waits until it has), then SIGTERM, then
//! SIGKILL once the grace period is over.

use crate::process;
use crate::store::{Objects, Store};
use std::time::Duration;
use tokio::process::Child;

/// How long the endpoints controller may take to drop a pod before the
/// container is stopped anyway (it takes microseconds).
const LEAVE_ENDPOINTS_TIMEOUT: Duration = Duration::from_secs(2);

/// Stop the container of a pod whose deletion was asked for.
pub(crate) async fn terminate(store: &Store, name: &str, child: &mut Child, grace: Duration) {
    store.event(
        "Killing",
        format!("pod/{name}"),
        format!("stopping container (grace {}s)", grace.as_secs_f64()),
    );
    stop_container(store, name, child, grace).await;
}

/// Wait until no Service sends new connections to the pod, then stop its
/// process: SIGTERM, SIGKILL after `grace`.
pub(crate) async fn stop_container(store: &Store, name: &str, child: &mut Child, grace: Duration) {
    let deadline = tokio::time::Instant::now() + LEAVE_ENDPOINTS_TIMEOUT;
    store
        .wait_until(deadline, |objects| !is_endpoint(objects, name))
        .await;
    process::stop(child, grace).await;
}

/// Whether any Service's endpoints list the pod.
fn is_endpoint(objects: &Objects, pod: &str) -> bool {
    objects.services().values().any(|service| {
        service
            .endpoints
            .iter()
            .any(|port| port.borrow().iter().any(|target| target.pod == pod))
    })
}
