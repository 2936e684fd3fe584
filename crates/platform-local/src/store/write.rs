//! Changes to the store: a [`Write`] holds the lock, stamps every record it
//! changes with the coming revision, and publishes the change when dropped.

use super::objects::{
    ConnectionStats, Deletion, DeploymentRecord, DeploymentSpec, GatewayRecord, GatewayStats,
    Listeners, Objects, PodRecord, PodSpec, PodStatus, RouteRecord, ServiceRecord, ServiceSpec,
    Target,
};
use lab_core::gateway::{Gateway, HttpRoute, RouteStatus};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::ops::Deref;
use std::sync::{Arc, MutexGuard};
use std::time::Instant;
use tokio::sync::watch;

/// What an apply did to an existing object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// It did not exist (or, for a Service, its ports changed: it was replaced).
    Created,
    /// A Deployment's pod template changed: a new revision rolls out.
    TemplateChanged,
    /// Same shape; replicas, selector or strategy may have changed.
    Configured,
}

/// A change in progress, holding the store's lock. Every method that changes
/// a record stamps it with the coming revision; dropping the `Write` raises
/// the revision and wakes the watchers, if anything changed.
pub(crate) struct Write<'a> {
    objects: MutexGuard<'a, Objects>,
    changes: &'a watch::Sender<u64>,
    dirty: bool,
    endpoints_computed: bool,
}

impl Deref for Write<'_> {
    type Target = Objects;

    fn deref(&self) -> &Objects {
        &self.objects
    }
}

impl Drop for Write<'_> {
    fn drop(&mut self) {
        if !self.dirty {
            return;
        }
        self.objects.revision += 1;
        let revision = self.objects.revision;
        if self.endpoints_computed {
            self.objects.endpoints_revision = revision;
        }
        self.changes.send_replace(revision);
    }
}

impl<'a> Write<'a> {
    /// Take the store's lock to change `objects`; `changes` is the signal to
    /// send when done.
    pub(super) fn new(objects: MutexGuard<'a, Objects>, changes: &'a watch::Sender<u64>) -> Self {
        Self {
            objects,
            changes,
            dirty: false,
            endpoints_computed: false,
        }
    }

    /// Note a change; the revision the changed records get.
    fn change(&mut self) -> u64 {
        self.dirty = true;
        self.objects.revision + 1
    }

    /// Create or update a Deployment.
    pub(crate) fn apply_deployment(&mut self, name: &str, spec: DeploymentSpec) -> Applied {
        let applied = match self.objects.deployments.get(name) {
            None => Applied::Created,
            Some(existing) if existing.spec.template_hash != spec.template_hash => {
                Applied::TemplateChanged
            }
            Some(_) => Applied::Configured,
        };
        let resource_version = self.change();
        self.objects.deployments.insert(
            name.to_string(),
            DeploymentRecord {
                resource_version,
                spec,
            },
        );
        applied
    }

    /// Set a Deployment's replicas; false when there is no such Deployment.
    pub(crate) fn scale(&mut self, name: &str, replicas: i32) -> bool {
        if !self.objects.deployments.contains_key(name) {
            return false;
        }
        let resource_version = self.change();
        let record = self.objects.deployments.get_mut(name).expect("checked");
        record.spec.replicas = replicas.max(0);
        record.resource_version = resource_version;
        true
    }

    /// Delete a Deployment and, as the garbage collector does, its pods.
    pub(crate) fn delete_deployment(&mut self, name: &str) -> bool {
        if self.objects.deployments.remove(name).is_none() {
            return false;
        }
        self.change();
        let owned: Vec<String> = self
            .objects
            .pods
            .iter()
            .filter(|(_, pod)| pod.spec.deployment == name)
            .map(|(pod, _)| pod.clone())
            .collect();
        for pod in owned {
            self.delete_pod(&pod);
        }
        true
    }

    /// Create or update a Service. A Service whose ports changed (a port or a
    /// target) is replaced: new uid, new Endpoints, new tallies, listeners to be
    /// opened again; dropping the old record closes the old listeners.
    pub(crate) fn apply_service(&mut self, name: &str, spec: ServiceSpec) -> Applied {
        let resource_version = self.change();
        if let Some(existing) = self.objects.services.get_mut(name) {
            // A port is where the listener is bound, a target where it sends:
            // a change to either needs new listeners.
            if existing.spec.ports == spec.ports {
                existing.spec.selector = spec.selector;
                existing.resource_version = resource_version;
                return Applied::Configured;
            }
        }
        self.objects.next_uid += 1;
        let record = ServiceRecord {
            resource_version,
            uid: self.objects.next_uid,
            endpoints: spec
                .ports
                .iter()
                .map(|_| watch::channel(Arc::new(Vec::new())).0)
                .collect(),
            spec,
            listeners: Listeners::Pending,
            connections: Arc::new(ConnectionStats::default()),
            accept_faults: Arc::default(),
        };
        self.objects.services.insert(name.to_string(), record);
        Applied::Created
    }

    /// Replace a Service's selector; false when there is no such Service.
    pub(crate) fn set_selector(&mut self, name: &str, selector: &BTreeMap<String, String>) -> bool {
        if !self.objects.services.contains_key(name) {
            return false;
        }
        let resource_version = self.change();
        let record = self.objects.services.get_mut(name).expect("checked");
        record.spec.selector = selector.clone();
        record.resource_version = resource_version;
        true
    }

    pub(crate) fn delete_service(&mut self, name: &str) -> bool {
        if self.objects.services.remove(name).is_none() {
            return false;
        }
        self.change();
        true
    }

    /// Record the state of a Service's listeners, if the Service is still the
    /// one (`uid`) they were opened for.
    pub(crate) fn set_listeners(&mut self, name: &str, uid: u64, listeners: Listeners) -> bool {
        let current = self.objects.services.get(name);
        if current.is_none_or(|s| s.uid != uid || s.listeners == listeners) {
            return false;
        }
        let resource_version = self.change();
        let record = self.objects.services.get_mut(name).expect("checked");
        record.listeners = listeners;
        record.resource_version = resource_version;
        true
    }

    /// Create or update a Gateway. One whose listeners changed is replaced
    /// (new uid and tallies), so that the controller opens them again.
    pub(crate) fn apply_gateway(&mut self, name: &str, spec: Gateway) -> Applied {
        let resource_version = self.change();
        if let Some(existing) = self.objects.gateways.get_mut(name)
            && existing.spec.spec.listeners == spec.spec.listeners
        {
            existing.spec = spec;
            existing.resource_version = resource_version;
            return Applied::Configured;
        }
        self.objects.next_uid += 1;
        let record = GatewayRecord {
            resource_version,
            uid: self.objects.next_uid,
            spec,
            listeners: Listeners::Pending,
            stats: Arc::new(GatewayStats::default()),
        };
        self.objects.gateways.insert(name.to_string(), record);
        Applied::Created
    }

    pub(crate) fn delete_gateway(&mut self, name: &str) -> bool {
        if self.objects.gateways.remove(name).is_none() {
            return false;
        }
        self.change();
        true
    }

    /// Record the state of a Gateway's listeners, if the Gateway is still the
    /// one (`uid`) they were opened for.
    pub(crate) fn set_gateway_listeners(
        &mut self,
        name: &str,
        uid: u64,
        listeners: Listeners,
    ) -> bool {
        let current = self.objects.gateways.get(name);
        if current.is_none_or(|g| g.uid != uid || g.listeners == listeners) {
            return false;
        }
        let resource_version = self.change();
        let record = self.objects.gateways.get_mut(name).expect("checked");
        record.listeners = listeners;
        record.resource_version = resource_version;
        true
    }

    /// Create or update an HTTPRoute; an update keeps its age and clears the
    /// status until the controller writes it again.
    pub(crate) fn apply_route(&mut self, name: &str, spec: HttpRoute) -> Applied {
        let resource_version = self.change();
        if let Some(existing) = self.objects.routes.get_mut(name) {
            existing.spec = spec;
            existing.status = None;
            existing.resource_version = resource_version;
            return Applied::Configured;
        }
        let age = self.objects.next_route_age;
        self.objects.next_route_age += 1;
        self.objects.routes.insert(
            name.to_string(),
            RouteRecord {
                resource_version,
                age,
                spec,
                status: None,
            },
        );
        Applied::Created
    }

    pub(crate) fn delete_route(&mut self, name: &str) -> bool {
        if self.objects.routes.remove(name).is_none() {
            return false;
        }
        self.change();
        true
    }

    /// Record the status a route's Gateway controller gave it, for the
    /// route's spec at `resource_version`; false when it changed since.
    pub(crate) fn set_route_status(
        &mut self,
        name: &str,
        resource_version: u64,
        status: RouteStatus,
    ) -> bool {
        let current = self.objects.routes.get(name);
        if current.is_none_or(|r| {
            r.resource_version != resource_version || r.status.as_ref() == Some(&status)
        }) {
            return false;
        }
        let version = self.change();
        let record = self.objects.routes.get_mut(name).expect("checked");
        record.status = Some(status);
        record.resource_version = version;
        true
    }

    /// Publish a Service's ready endpoints, one list per port; the proxy sees
    /// a changed list on its next connection.
    pub(crate) fn publish_endpoints(&mut self, name: &str, ports: Vec<Vec<Target>>) {
        let Some(service) = self.objects.services.get(name) else {
            return;
        };
        let mut modified = false;
        for (channel, mut targets) in service.endpoints.iter().zip(ports) {
            modified |= channel.send_if_modified(|current| {
                if **current == targets {
                    false
                } else {
                    *current = Arc::new(std::mem::take(&mut targets));
                    true
                }
            });
        }
        if modified {
            let resource_version = self.change();
            let record = self.objects.services.get_mut(name).expect("checked");
            record.resource_version = resource_version;
        }
    }

    /// The endpoints of every Service now reflect every change so far.
    pub(crate) fn mark_endpoints_computed(&mut self) {
        if self.objects.endpoints_revision != self.objects.revision {
            self.dirty = true;
        }
        self.endpoints_computed = true;
    }

    /// Create a pod named after `prefix` with a random suffix, as `generateName`
    /// does; its name.
    pub(crate) fn create_pod(&mut self, prefix: &str, spec: PodSpec, address: Ipv4Addr) -> String {
        let name = loop {
            let name = format!("{prefix}-{}", random_suffix());
            if !self.objects.pods.contains_key(&name) {
                break name;
            }
        };
        let resource_version = self.change();
        self.objects.pods.insert(
            name.clone(),
            PodRecord {
                resource_version,
                created: Instant::now(),
                deletion: None,
                spec,
                status: PodStatus {
                    address,
                    ready: false,
                    restarts: 0,
                    pid: None,
                },
            },
        );
        name
    }

    /// Change a pod's status; true when it changed.
    pub(crate) fn update_pod_status(
        &mut self,
        name: &str,
        update: impl FnOnce(&mut PodStatus),
    ) -> bool {
        let Some(pod) = self.objects.pods.get(name) else {
            return false;
        };
        let mut status = pod.status.clone();
        update(&mut status);
        if status == pod.status {
            return false;
        }
        let resource_version = self.change();
        let pod = self.objects.pods.get_mut(name).expect("checked");
        pod.status = status;
        pod.resource_version = resource_version;
        true
    }

    /// Ask for a pod's deletion: it gets its template's grace period, bounded by
    /// the store's limit. False when it is gone or already being deleted.
    pub(crate) fn delete_pod(&mut self, name: &str) -> bool {
        let limit = self.objects.grace_limit;
        let Some(pod) = self.objects.pods.get(name) else {
            return false;
        };
        if pod.terminating() {
            return false;
        }
        let grace = pod.spec.runtime.grace;
        let grace = limit.map_or(grace, |limit| limit.min(grace));
        let resource_version = self.change();
        let pod = self.objects.pods.get_mut(name).expect("checked");
        pod.deletion = Some(Deletion { grace });
        pod.resource_version = resource_version;
        true
    }

    /// Remove a pod for good (the kubelet, once its container is gone).
    pub(crate) fn remove_pod(&mut self, name: &str) -> bool {
        if self.objects.pods.remove(name).is_none() {
            return false;
        }
        self.change();
        true
    }
}

fn random_suffix() -> String {
    // Kubernetes' alphabet for generated names: no vowels, no confusable digits.
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}
