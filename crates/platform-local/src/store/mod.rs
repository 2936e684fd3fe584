//! The store: the platform's objects and nothing else, as the API server holds
//! them for a cluster.
//!
//! - Deployments, Services (with their Endpoints) and pods, each a record with a
//!   spec and a status ([`objects`]).
//! - A revision that every change raises by one, stamped on the records it
//!   touched (their resource version), and a watch signal carrying it, which
//!   wakes every controller and waiter.
//! - Events, drained by the runner.
//!
//! It starts nothing and knows nothing of processes, sockets or Prometheus:
//! controllers read it, act, and write what they did back. Reads take
//! [`Store::read`]; changes go through a [`Write`] ([`write`]), which raises
//! the revision and sends the signal when it is dropped, if anything changed.
//!
//! Two things are read without the lock, because the proxy touches them on
//! every connection: each Service port's endpoints are also published on a
//! watch channel of their own (a per-object watch), and a Service's connection
//! tallies are counters the proxy raises in place, without a new revision (as
//! metrics, which nothing watches).

#[cfg(test)]
pub(crate) mod fixtures;
mod objects;
mod write;

#[cfg(test)]
pub(crate) use objects::Deletion;
pub use objects::{AcceptFaults, BackendStats, MAX_MIRROR_LATENCIES, NO_ENDPOINT, ServiceStats};
pub(crate) use objects::{
    ConnectionStats, DeploymentSpec, GatewayStats, Listeners, Objects, PodRecord, PodSpec,
    RouteRecord, ServicePort, ServiceRecord, ServiceSpec, Target,
};
pub(crate) use write::{Applied, Write};

use lab_core::platform::PlatformEvent;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// The objects, their revision and the watch signal.
pub(crate) struct Store {
    objects: Mutex<Objects>,
    changes: watch::Sender<u64>,
    events: Mutex<Vec<PlatformEvent>>,
}

impl Store {
    /// An empty store whose pod deletions get at most `grace_limit`.
    pub(crate) fn new(grace_limit: Option<Duration>) -> Self {
        Self {
            objects: Mutex::new(Objects {
                grace_limit,
                ..Objects::default()
            }),
            changes: watch::channel(0).0,
            events: Mutex::new(Vec::new()),
        }
    }

    /// A consistent view of every object; hold it briefly.
    pub(crate) fn read(&self) -> MutexGuard<'_, Objects> {
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Change objects; the change is published when the `Write` is dropped.
    pub(crate) fn write(&self) -> Write<'_> {
        Write::new(self.read(), &self.changes)
    }

    /// The watch signal: the latest revision, sent after every change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Wait until `done` holds for the objects, or until `deadline`; true when
    /// it holds.
    pub(crate) async fn wait_until(
        &self,
        deadline: tokio::time::Instant,
        mut done: impl FnMut(&Objects) -> bool,
    ) -> bool {
        let mut changes = self.subscribe();
        loop {
            let holds = done(&self.read());
            if holds {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return false,
            }
        }
    }

    /// Lower the bound on grace periods for every deletion from now on (as
    /// `kubectl delete --grace-period` does); never raises it.
    pub(crate) fn limit_grace(&self, limit: Duration) {
        let mut objects = self.read();
        objects.grace_limit = Some(objects.grace_limit.map_or(limit, |g| g.min(limit)));
    }

    /// Record an event about an object (`pod/my-app-v1-…`).
    pub(crate) fn event(
        &self,
        reason: &str,
        object: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.events.lock().unwrap().push(PlatformEvent {
            at: SystemTime::now(),
            reason: reason.to_string(),
            object: object.into(),
            message: message.into(),
        });
    }

    /// The events recorded since the last call.
    pub(crate) fn take_events(&self) -> Vec<PlatformEvent> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use lab_core::object::Strategy;
    use std::collections::BTreeMap;
    use std::net::Ipv4Addr;
    use std::net::SocketAddr;
    use std::sync::Arc;

    fn deployment(hash: &str, replicas: i32) -> DeploymentSpec {
        DeploymentSpec {
            replicas,
            template_hash: hash.to_string(),
            template: fixtures::template(&[("app", "my-app")]),
            strategy: Strategy::Recreate,
        }
    }

    fn pod_spec(deployment: &str) -> PodSpec {
        PodSpec {
            deployment: deployment.to_string(),
            template_hash: "h1".to_string(),
            runtime: fixtures::template(&[("app", "my-app")]),
        }
    }

    fn service(targets: &[&str]) -> ServiceSpec {
        ServiceSpec {
            selector: BTreeMap::from([("app".to_string(), "my-app".to_string())]),
            ports: targets
                .iter()
                .map(|t| ServicePort {
                    port: 80,
                    target: IntOrString::String(t.to_string()),
                })
                .collect(),
        }
    }

    const ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 9, 1, 1);

    #[test]
    fn every_change_raises_the_revision_and_stamps_what_it_touched() {
        let store = Store::new(None);
        assert_eq!(store.read().revision(), 0);
        let applied = store.write().apply_deployment("web", deployment("h1", 2));
        assert_eq!(applied, Applied::Created);
        assert_eq!(store.read().revision(), 1);
        assert_eq!(store.read().deployment("web").unwrap().resource_version, 1);

        let pod = store.write().create_pod("web-h1", pod_spec("web"), ADDRESS);
        assert!(
            pod.starts_with("web-h1-") && pod.len() == "web-h1-".len() + 5,
            "{pod}"
        );
        assert_eq!(store.read().pod(&pod).unwrap().resource_version, 2);
        assert_eq!(store.read().deployment("web").unwrap().resource_version, 1);

        assert!(store.write().scale("web", 3));
        assert_eq!(store.read().deployment("web").unwrap().resource_version, 3);
        assert_eq!(store.read().deployment("web").unwrap().spec.replicas, 3);

        let changed = store.write().apply_deployment("web", deployment("h2", 3));
        assert_eq!(changed, Applied::TemplateChanged);
        let same = store.write().apply_deployment("web", deployment("h2", 1));
        assert_eq!(same, Applied::Configured);
        assert_eq!(store.read().revision(), 5);
    }

    #[test]
    fn a_write_that_changes_nothing_keeps_the_revision() {
        let store = Store::new(None);
        let pod = store.write().create_pod("web-h1", pod_spec("web"), ADDRESS);
        let before = store.read().revision();
        {
            let mut write = store.write();
            assert!(!write.scale("missing", 1));
            assert!(!write.update_pod_status(&pod, |status| status.ready = false));
            assert!(!write.remove_pod("missing"));
        }
        assert_eq!(store.read().revision(), before);
        assert!(store.write().update_pod_status(&pod, |s| s.ready = true));
        assert_eq!(store.read().revision(), before + 1);
    }

    #[tokio::test]
    async fn the_watch_wakes_on_a_change_and_not_before() {
        let store = Arc::new(Store::new(None));
        let mut changes = store.subscribe();
        store.write().scale("missing", 1);
        assert!(
            !changes.has_changed().unwrap(),
            "woken by a write that changed nothing"
        );
        let writer = store.clone();
        let wake = tokio::spawn(async move {
            writer.write().apply_deployment("web", deployment("h1", 1));
        });
        tokio::time::timeout(Duration::from_secs(5), changes.changed())
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(*changes.borrow(), 1);
        wake.await.unwrap();
    }

    #[tokio::test]
    async fn wait_until_returns_when_the_condition_holds_or_at_the_deadline() {
        let store = Arc::new(Store::new(None));
        let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
        assert!(
            !store
                .wait_until(deadline, |o| o.deployment("web").is_some())
                .await
        );
        let writer = store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            writer.write().apply_deployment("web", deployment("h1", 1));
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        assert!(
            store
                .wait_until(deadline, |o| o.deployment("web").is_some())
                .await
        );
    }

    #[test]
    fn events_are_drained_once() {
        let store = Store::new(None);
        store.event("Scaled", "deployment/web", "scaled to 2 replicas");
        store.event("Deleted", "deployment/web", "deleted");
        let events = store.take_events();
        let reasons: Vec<&str> = events.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, ["Scaled", "Deleted"]);
        assert_eq!(events[0].object, "deployment/web");
        assert!(store.take_events().is_empty());
    }

    #[test]
    fn deleting_a_deployment_deletes_its_pods_with_the_bounded_grace() {
        let store = Store::new(Some(Duration::from_secs(5)));
        store.write().apply_deployment("web", deployment("h1", 1));
        let mine = store.write().create_pod("web-h1", pod_spec("web"), ADDRESS);
        let other = store.write().create_pod("api-h1", pod_spec("api"), ADDRESS);
        store.limit_grace(Duration::from_secs(2));
        // Only ever lowers the limit.
        store.limit_grace(Duration::from_secs(60));
        assert!(store.write().delete_deployment("web"));
        let objects = store.read();
        assert_eq!(
            objects.pod(&mine).unwrap().deletion,
            Some(Deletion {
                grace: Duration::from_secs(2)
            })
        );
        assert!(!objects.pod(&mine).unwrap().serving());
        assert_eq!(objects.pod(&other).unwrap().deletion, None);
        assert!(objects.deployment("web").is_none());
    }

    #[test]
    fn a_deleted_pod_keeps_its_first_grace_period() {
        let store = Store::new(None);
        let pod = store.write().create_pod("web-h1", pod_spec("web"), ADDRESS);
        assert!(store.write().delete_pod(&pod));
        store.limit_grace(Duration::from_secs(1));
        assert!(!store.write().delete_pod(&pod));
        let grace = store.read().pod(&pod).unwrap().deletion.unwrap().grace;
        assert_eq!(grace, Duration::from_secs(30));
    }

    #[test]
    fn a_service_is_replaced_only_when_its_ports_change() {
        let port = |port: u16, target: &str| ServicePort {
            port,
            target: IntOrString::String(target.to_string()),
        };
        let http = || vec![port(80, "http")];
        // (ports applied second, selector applied second, what the apply does)
        for (ports, version, expected) in [
            (http(), None, Applied::Configured),
            (http(), Some("v2"), Applied::Configured),
            (vec![port(81, "http")], None, Applied::Created),
            (vec![port(80, "probe")], None, Applied::Created),
            (
                vec![port(80, "http"), port(81, "probe")],
                None,
                Applied::Created,
            ),
            (Vec::new(), None, Applied::Created),
        ] {
            let store = Store::new(None);
            store.write().apply_service("web", service(&["http"]));
            let uid = store.read().service("web").unwrap().uid;
            let mut spec = ServiceSpec {
                ports: ports.clone(),
                ..service(&[])
            };
            if let Some(version) = version {
                spec.selector.insert("version".into(), version.into());
            }
            let applied = store.write().apply_service("web", spec.clone());
            assert_eq!(applied, expected, "{ports:?}");
            let objects = store.read();
            let record = objects.service("web").unwrap();
            assert_eq!(record.spec, spec);
            assert_eq!(record.uid == uid, expected == Applied::Configured);
            assert_eq!(record.endpoints.len(), ports.len());
            if expected == Applied::Created {
                assert_eq!(record.listeners, Listeners::Pending);
            }
        }
    }

    #[test]
    fn a_services_endpoints_channels_close_when_it_is_replaced_or_deleted() {
        let store = Store::new(None);
        store.write().apply_service("web", service(&["http"]));
        let first = store.read().service("web").unwrap().endpoints[0].subscribe();
        store.write().apply_service("web", service(&["http"]));
        assert!(first.has_changed().is_ok(), "closed by a configure");
        store.write().apply_service("web", service(&["probe"]));
        assert!(first.has_changed().is_err(), "open after a replace");
        let second = store.read().service("web").unwrap().endpoints[0].subscribe();
        assert!(second.has_changed().is_ok());
        assert!(store.write().delete_service("web"));
        assert!(second.has_changed().is_err(), "open after a delete");
    }

    #[test]
    fn listeners_are_recorded_only_for_the_service_they_were_opened_for() {
        let store = Store::new(None);
        store.write().apply_service("web", service(&["http"]));
        let uid = store.read().service("web").unwrap().uid;
        let open = Listeners::Open(vec![SocketAddr::from(([127, 9, 0, 2], 80))]);
        assert!(!store.write().set_listeners("web", uid + 1, open.clone()));
        assert!(store.write().set_listeners("web", uid, open.clone()));
        assert_eq!(store.read().service("web").unwrap().listeners, open);
    }

    #[test]
    fn published_endpoints_raise_the_revision_only_when_they_change() {
        let store = Store::new(None);
        store.write().apply_service("web", service(&["http"]));
        let mut endpoints = store.read().service("web").unwrap().endpoints[0].subscribe();
        let target = Target {
            address: SocketAddr::from((ADDRESS, 8080)),
            pod: "web-h1-abcde".into(),
            version: "v1".into(),
        };
        {
            let mut write = store.write();
            write.publish_endpoints("web", vec![vec![target.clone()]]);
            write.mark_endpoints_computed();
        }
        assert!(endpoints.has_changed().unwrap());
        assert_eq!(
            endpoints.borrow_and_update().as_slice(),
            std::slice::from_ref(&target)
        );
        let revision = store.read().revision();
        assert_eq!(store.read().endpoints_revision(), revision);
        {
            let mut write = store.write();
            write.publish_endpoints("web", vec![vec![target]]);
            write.mark_endpoints_computed();
        }
        assert!(!endpoints.has_changed().unwrap());
        assert_eq!(store.read().revision(), revision);
        // Another change leaves the endpoints behind until they are computed again.
        store.write().apply_deployment("web", deployment("h1", 1));
        let objects = store.read();
        assert!(objects.endpoints_revision() < objects.revision());
    }
}
