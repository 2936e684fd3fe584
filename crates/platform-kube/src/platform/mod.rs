//! [`KubePlatform`]: the lab's `Platform` on a real cluster through kube-rs,
//! with the cluster lab's capabilities: step annotations in its Grafana, and
//! traffic from a loadgen Job inside the cluster when the lab was opened so.

mod access;
mod client;
mod observe;

use crate::diagnosis::{self, event_time};
use crate::error::{api_error, object_error};
use crate::grafana::Grafana;
use crate::images;
use crate::namespace::LabNamespace;
use crate::traffic::{self, FollowedJob, JobTraffic};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use lab_core::object::{Object, ObjectKind};
use lab_core::platform::{
    Endpoint, Platform, PlatformError, PlatformEvent, PodState, RemoteTraffic, Urls,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// The label a Gateway API implementation puts on what it runs for a
/// Gateway (its data plane's Service among them), naming the Gateway.
pub const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";

pub use crate::namespace::{
    FIELD_MANAGER, LAB_NAMESPACE, MANAGED_BY, MANAGED_BY_LABEL, apply_params, lab_namespace,
};
pub use access::{
    APP_NODE_PORT, GATEWAY_NODE_PORT, GRAFANA_NODE_PORT, NodeAccess, PROMETHEUS_NODE_PORT,
    node_address,
};
pub use client::{
    check_reachable, connect, connect_kubeconfig_yaml, connect_with, context_config,
    delete_namespace,
};
pub use observe::rollout_progress;
use observe::{Seen, describe_seen, pod_state};

/// Everything [`KubePlatform`] needs to know besides the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeSettings {
    /// Name shown to users (`kind`, `minikube`, `context NAME`).
    pub name: String,
    /// The namespace scenarios run in (created if missing).
    pub namespace: String,
    /// The demo-app image `lab up` loaded (`canary-lab/demo-app:<content tag>`).
    pub demo_app_image: String,
    /// The loadgen image `lab up` loaded, for in-cluster traffic.
    pub loadgen_image: String,
    /// How NodePorts are reached from this machine.
    pub access: NodeAccess,
    /// The nodePort given to a NodePort Service that names none.
    pub app_node_port: Option<i32>,
}

/// A cluster as a lab platform.
pub struct KubePlatform {
    client: Client,
    settings: KubeSettings,
    namespace: LabNamespace,
    created: Mutex<BTreeSet<(ObjectKind, String)>>,
    seen_events: Mutex<HashSet<String>>,
    /// Where each step is annotated.
    grafana: Option<Grafana>,
    /// Traffic from inside the cluster, when the lab was opened with it.
    in_cluster_traffic: Option<Arc<dyn RemoteTraffic>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn patch_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

impl KubePlatform {
    /// A platform on this client (which knows its cluster) with these settings.
    pub fn new(client: Client, settings: KubeSettings) -> Self {
        let namespace = LabNamespace::new(client.clone(), &settings.namespace);
        KubePlatform {
            client,
            settings,
            namespace,
            created: Mutex::new(BTreeSet::new()),
            seen_events: Mutex::new(HashSet::new()),
            grafana: None,
            in_cluster_traffic: None,
        }
    }

    /// Annotate each step of a run in this Grafana.
    pub fn with_grafana(mut self, grafana: Grafana) -> Self {
        self.grafana = Some(grafana);
        self
    }

    /// Generate each run's traffic with a loadgen Job inside the cluster (the
    /// settings' loadgen image), reaching the Service by its DNS name, instead
    /// of from this machine through the NodePort.
    pub fn with_in_cluster_traffic(mut self) -> Self {
        let traffic = JobTraffic::new(self.namespace.clone(), &self.settings.loadgen_image);
        self.in_cluster_traffic = Some(Arc::new(traffic));
        self
    }

    /// The settings this platform runs with.
    pub fn settings(&self) -> &KubeSettings {
        &self.settings
    }

    /// The client, for callers that need more than the `Platform` trait.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn namespaced<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        self.namespace.api()
    }

    /// Create the lab namespace, labelled as the lab's, unless done already.
    pub async fn ensure_namespace(&self) -> Result<(), PlatformError> {
        self.namespace.ensure().await
    }

    /// Start loadgen with `args` as a Job (at most `deadline` long), wait until its
    /// pod runs, and follow its log line by line. Stop it with
    /// [`stop_loadgen`](Self::stop_loadgen): deleting the Job sends the pod SIGTERM,
    /// loadgen prints its final lines, and the log ends.
    pub async fn follow_loadgen(
        &self,
        args: &[String],
        deadline: Duration,
    ) -> Result<FollowedJob, PlatformError> {
        traffic::follow_loadgen(
            &self.namespace,
            &self.settings.loadgen_image,
            args,
            deadline,
        )
        .await
    }

    /// Stop a followed loadgen Job (delete it; a Job already gone is fine).
    pub async fn stop_loadgen(&self, name: &str) -> Result<(), PlatformError> {
        self.namespace.delete_job(name).await
    }

    /// The URL of a Service from inside the cluster (`http://my-app.canary-lab.svc`).
    pub fn in_cluster_url(&self, service: &str) -> String {
        traffic::in_cluster_url(&self.settings.namespace, service)
    }

    /// Run loadgen with `args` (which name the URL, for example
    /// [`in_cluster_url`](Self::in_cluster_url), and `--json`) as a Job in the lab
    /// namespace, wait until it ends (at most `timeout`), and return its log, which
    /// holds loadgen's output. The Job is deleted afterwards.
    pub async fn run_loadgen(
        &self,
        args: &[String],
        timeout: Duration,
    ) -> Result<String, PlatformError> {
        traffic::run_loadgen(&self.namespace, &self.settings.loadgen_image, args, timeout).await
    }

    /// The object as the lab applies it: in the lab namespace, labelled, with the
    /// lab's demo-app image and a NodePort the host can reach.
    pub fn prepare(&self, object: &Object) -> Object {
        let mut object = object.clone();
        match &mut object {
            Object::Deployment(d) => {
                label(&mut d.metadata, &self.settings.namespace);
                images::use_lab_image(d, &self.settings.demo_app_image);
            }
            Object::Service(s) => {
                label(&mut s.metadata, &self.settings.namespace);
                if let Some(port) = self.settings.app_node_port {
                    give_node_port(s, port);
                }
            }
            Object::Gateway(g) => label(&mut g.metadata, &self.settings.namespace),
            Object::HttpRoute(r) => label(&mut r.metadata, &self.settings.namespace),
        }
        object
    }

    async fn apply_one(&self, object: &Object) -> Result<(), PlatformError> {
        let name = object.name().to_string();
        let kind = object.kind();
        let result = match &object {
            Object::Deployment(d) => self
                .namespaced::<Deployment>()
                .patch(&name, &apply_params(), &Patch::Apply(d.as_ref()))
                .await
                .map(|_| ()),
            Object::Service(s) => self
                .namespaced::<Service>()
                .patch(&name, &apply_params(), &Patch::Apply(s.as_ref()))
                .await
                .map(|_| ()),
            Object::Gateway(_) | Object::HttpRoute(_) => {
                crate::gateway_api::apply_gateway_object(&self.namespace, object)
                    .await
                    .map(|_| ())
            }
        };
        result.map_err(|e| object_error(e, kind, &name))?;
        lock(&self.created).insert((kind, name.clone()));
        if kind == ObjectKind::HttpRoute {
            // A window opens only once the Gateway routes by the new rules.
            crate::gateway_api::wait_route_accepted(
                &self.namespace,
                &name,
                crate::gateway_api::ROUTE_ACCEPT_TIMEOUT,
            )
            .await
            .map_err(|why| PlatformError::Unavailable(format!("httproute {name}: {why}")))?;
        }
        Ok(())
    }

    /// The latest state of each Deployment, as a wait sees it.
    async fn watch_until_ready(
        &self,
        name: &str,
        seen: &Mutex<BTreeMap<String, Seen>>,
    ) -> Result<(), PlatformError> {
        use futures::StreamExt;
        let api = self.namespaced::<Deployment>();
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let stream = watcher(api, config).default_backoff();
        let mut stream = std::pin::pin!(stream);
        let mut present = false;
        while let Some(event) = stream.next().await {
            let state = match event {
                Ok(watcher::Event::Init) => {
                    present = false;
                    continue;
                }
                Ok(watcher::Event::InitApply(d) | watcher::Event::Apply(d)) => {
                    present = true;
                    Seen::Deployment(Box::new(d))
                }
                Ok(watcher::Event::Delete(_)) => {
                    present = false;
                    Seen::Missing
                }
                Ok(watcher::Event::InitDone) if !present => Seen::Missing,
                Ok(watcher::Event::InitDone) => continue,
                Err(e) => Seen::Error(e.to_string()),
            };
            let ready = matches!(&state, Seen::Deployment(d) if rollout_progress(d).is_none());
            lock(seen).insert(name.to_string(), state);
            if ready {
                return Ok(());
            }
        }
        Err(PlatformError::Unavailable(format!(
            "watch of deployment {name} ended"
        )))
    }

    async fn pods_by_name(&self) -> Result<BTreeMap<String, Pod>, PlatformError> {
        let list = self
            .namespaced::<Pod>()
            .list(&ListParams::default())
            .await
            .map_err(|e| api_error(e, &format!("listing pods in {}", self.settings.namespace)))?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|pod| pod.metadata.name.clone().map(|name| (name, pod)))
            .collect())
    }

    async fn delete_if_present(&self, kind: ObjectKind, name: &str) -> Result<(), PlatformError> {
        match self.delete(kind, name).await {
            Ok(()) | Err(PlatformError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn wait_gone(
        &self,
        kind: ObjectKind,
        name: &str,
        timeout: Duration,
    ) -> Result<(), PlatformError> {
        use kube::runtime::wait::await_condition;
        let result = match kind {
            ObjectKind::Deployment => {
                let gone = |o: Option<&Deployment>| o.is_none();
                tokio::time::timeout(
                    timeout,
                    await_condition(self.namespaced::<Deployment>(), name, gone),
                )
                .await
                .map(|r| r.map(|_| ()))
            }
            ObjectKind::Service => {
                let gone = |o: Option<&Service>| o.is_none();
                tokio::time::timeout(
                    timeout,
                    await_condition(self.namespaced::<Service>(), name, gone),
                )
                .await
                .map(|r| r.map(|_| ()))
            }
            ObjectKind::Gateway | ObjectKind::HttpRoute => {
                let resource = crate::gateway_api::gateway_resource(kind)
                    .expect("a Gateway API kind has a resource");
                let gone = |o: Option<&kube::api::DynamicObject>| o.is_none();
                tokio::time::timeout(
                    timeout,
                    await_condition(self.namespace.gateway_api(&resource), name, gone),
                )
                .await
                .map(|r| r.map(|_| ()))
            }
        };
        match result {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(PlatformError::Unavailable(format!(
                "waiting for {} {name} to go: {e}",
                kind.kubectl_name()
            ))),
            Err(_) => Err(PlatformError::Timeout {
                waited: timeout,
                not_ready: vec![format!(
                    "{} {name}: still being deleted",
                    kind.kubectl_name()
                )],
            }),
        }
    }
}

fn label(meta: &mut kube::api::ObjectMeta, namespace: &str) {
    meta.namespace = Some(namespace.to_string());
    meta.labels
        .get_or_insert_with(BTreeMap::new)
        .insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string());
}

/// A NodePort Service whose first port names no nodePort gets the lab's, so the
/// port mapped to the host reaches it.
fn give_node_port(service: &mut Service, node_port: i32) {
    let Some(spec) = service.spec.as_mut() else {
        return;
    };
    if spec.type_.as_deref() != Some("NodePort") {
        return;
    }
    if let Some(port) = spec.ports.as_mut().and_then(|ports| ports.first_mut())
        && port.node_port.is_none()
    {
        port.node_port = Some(node_port);
    }
}

impl Platform for KubePlatform {
    fn name(&self) -> String {
        self.settings.name.clone()
    }

    async fn apply(&self, objects: &[Object]) -> Result<(), PlatformError> {
        self.ensure_namespace().await?;
        for object in objects {
            self.apply_one(&self.prepare(object)).await?;
        }
        Ok(())
    }

    async fn scale(&self, deployment: &str, replicas: i32) -> Result<(), PlatformError> {
        let patch = json!({ "spec": { "replicas": replicas } });
        self.namespaced::<Deployment>()
            .patch_scale(deployment, &patch_params(), &Patch::Merge(&patch))
            .await
            .map_err(|e| object_error(e, ObjectKind::Deployment, deployment))?;
        Ok(())
    }

    async fn delete(&self, kind: ObjectKind, name: &str) -> Result<(), PlatformError> {
        let params = DeleteParams::foreground();
        let result = match kind {
            ObjectKind::Deployment => self
                .namespaced::<Deployment>()
                .delete(name, &params)
                .await
                .map(|_| ()),
            ObjectKind::Service => self
                .namespaced::<Service>()
                .delete(name, &params)
                .await
                .map(|_| ()),
            ObjectKind::Gateway | ObjectKind::HttpRoute => {
                let resource = crate::gateway_api::gateway_resource(kind)
                    .expect("a Gateway API kind has a resource");
                crate::gateway_api::delete_gateway_object(&self.namespace, &resource, name).await
            }
        };
        result.map_err(|e| object_error(e, kind, name))?;
        lock(&self.created).remove(&(kind, name.to_string()));
        Ok(())
    }

    async fn set_selector(
        &self,
        service: &str,
        selector: &BTreeMap<String, String>,
    ) -> Result<(), PlatformError> {
        // `$patch: replace` swaps the whole map instead of merging keys into it.
        let mut map = serde_json::Map::new();
        map.insert("$patch".into(), json!("replace"));
        for (key, value) in selector {
            map.insert(key.clone(), json!(value));
        }
        let patch = json!({ "spec": { "selector": map } });
        self.namespaced::<Service>()
            .patch(service, &patch_params(), &Patch::Strategic(&patch))
            .await
            .map_err(|e| object_error(e, ObjectKind::Service, service))?;
        Ok(())
    }

    async fn wait_ready(
        &self,
        deployments: &[String],
        timeout: Duration,
    ) -> Result<(), PlatformError> {
        let started = Instant::now();
        let seen = Mutex::new(BTreeMap::new());
        let waits = deployments
            .iter()
            .map(|name| self.watch_until_ready(name, &seen));
        match tokio::time::timeout(timeout, futures::future::try_join_all(waits)).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => {
                let (mut not_ready, unready): (Vec<String>, Vec<Deployment>) = {
                    let seen = lock(&seen);
                    let waiting: Vec<(&String, Option<&Seen>)> = deployments
                        .iter()
                        .map(|name| (name, seen.get(name)))
                        .filter(|(_, s)| !matches!(s, Some(Seen::Deployment(d)) if rollout_progress(d).is_none()))
                        .collect();
                    let lines = waiting
                        .iter()
                        .map(|(name, s)| describe_seen(name, *s))
                        .collect();
                    let found = waiting
                        .iter()
                        .filter_map(|(_, s)| match s {
                            Some(Seen::Deployment(d)) => Some(d.as_ref().clone()),
                            _ => None,
                        })
                        .collect();
                    (lines, found)
                };
                // Which pods were not ready, and what the API says of them.
                let refs: Vec<&Deployment> = unready.iter().collect();
                let (pod_api, event_api) =
                    (self.namespaced::<Pod>(), self.namespaced::<CoreEvent>());
                let pods = diagnosis::unready_pods(&pod_api, &event_api, &refs);
                if let Ok(lines) = tokio::time::timeout(diagnosis::DIAGNOSIS_LIMIT, pods).await {
                    not_ready.extend(lines);
                }
                Err(PlatformError::Timeout {
                    waited: started.elapsed(),
                    not_ready,
                })
            }
        }
    }

    async fn pods(&self) -> Result<Vec<PodState>, PlatformError> {
        Ok(self
            .pods_by_name()
            .await?
            .values()
            .filter_map(pod_state)
            .collect())
    }

    async fn endpoints(&self, service: &str) -> Result<Vec<Endpoint>, PlatformError> {
        self.namespaced::<Service>()
            .get(service)
            .await
            .map_err(|e| object_error(e, ObjectKind::Service, service))?;
        let selector = format!("kubernetes.io/service-name={service}");
        let slices = self
            .namespaced::<EndpointSlice>()
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| api_error(e, &format!("listing endpoint slices of service {service}")))?;
        let pods = self.pods_by_name().await?;
        let mut endpoints = Vec::new();
        for slice in &slices.items {
            let port = slice.ports.iter().flatten().find_map(|p| p.port);
            for endpoint in &slice.endpoints {
                let conditions = endpoint.conditions.clone().unwrap_or_default();
                // An unset `ready` means ready, as kube-proxy reads it.
                if !conditions.ready.unwrap_or(true) || conditions.terminating.unwrap_or(false) {
                    continue;
                }
                let Some(pod) = endpoint
                    .target_ref
                    .as_ref()
                    .filter(|r| r.kind.as_deref() == Some("Pod"))
                else {
                    continue;
                };
                let pod_name = pod.name.clone().unwrap_or_default();
                let version = pods
                    .get(&pod_name)
                    .and_then(|p| p.metadata.labels.as_ref()?.get("version").cloned())
                    .unwrap_or_default();
                for address in &endpoint.addresses {
                    endpoints.push(Endpoint {
                        pod: pod_name.clone(),
                        version: version.clone(),
                        address: match port {
                            Some(port) => format!("{address}:{port}"),
                            None => address.clone(),
                        },
                    });
                }
            }
        }
        endpoints.sort_by(|a, b| (&a.pod, &a.address).cmp(&(&b.pod, &b.address)));
        Ok(endpoints)
    }

    async fn service_url(&self, entry: &str) -> Result<String, PlatformError> {
        // A Service by that name, or else the one the Gateway API
        // implementation made for a Gateway by that name (labelled with it).
        let (service, found) = match self.namespaced::<Service>().get(entry).await {
            Ok(found) => (entry.to_owned(), found),
            Err(error) => {
                let not_found = object_error(error, ObjectKind::Service, entry);
                if !matches!(not_found, PlatformError::NotFound { .. }) {
                    return Err(not_found);
                }
                let of_gateway =
                    ListParams::default().labels(&format!("{GATEWAY_NAME_LABEL}={entry}"));
                let listed = self
                    .namespaced::<Service>()
                    .list(&of_gateway)
                    .await
                    .map_err(|e| object_error(e, ObjectKind::Gateway, entry))?;
                let Some(found) = listed.items.into_iter().next() else {
                    return Err(not_found);
                };
                let name = found.metadata.name.clone().unwrap_or_default();
                (name, found)
            }
        };
        let service = service.as_str();
        if self.in_cluster_traffic.is_some() {
            // Traffic starts inside the cluster and reaches the Service by its
            // DNS name: a ClusterIP Service or an unmapped nodePort will do.
            return Ok(self.in_cluster_url(service));
        }
        let node_port = found
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .and_then(|ports| ports.iter().find_map(|p| p.node_port));
        let Some(node_port) = node_port else {
            return Err(PlatformError::Unsupported {
                kind: ObjectKind::Service,
                name: service.to_string(),
                message:
                    "has no nodePort: traffic from this machine enters through a NodePort Service"
                        .into(),
            });
        };
        self.settings
            .access
            .url(node_port)
            .map_err(|message| PlatformError::Unsupported {
                kind: ObjectKind::Service,
                name: service.to_string(),
                message,
            })
    }

    fn urls(&self) -> Urls {
        Urls {
            prometheus: self.settings.access.url(PROMETHEUS_NODE_PORT).ok(),
            grafana: self.settings.access.url(GRAFANA_NODE_PORT).ok(),
        }
    }

    async fn take_events(&self) -> Vec<PlatformEvent> {
        let Ok(list) = self
            .namespaced::<CoreEvent>()
            .list(&ListParams::default())
            .await
        else {
            return Vec::new();
        };
        let mut seen = lock(&self.seen_events);
        let mut events: Vec<PlatformEvent> = list
            .items
            .iter()
            .filter(|e| {
                // An event that repeats is updated in place: each version is news.
                let key = format!(
                    "{}/{}",
                    e.metadata.uid.as_deref().unwrap_or_default(),
                    e.metadata.resource_version.as_deref().unwrap_or_default()
                );
                seen.insert(key)
            })
            .map(|e| PlatformEvent {
                at: event_time(e),
                reason: e.reason.clone().unwrap_or_default(),
                object: format!(
                    "{}/{}",
                    e.involved_object
                        .kind
                        .as_deref()
                        .unwrap_or_default()
                        .to_lowercase(),
                    e.involved_object.name.as_deref().unwrap_or_default()
                ),
                message: e.message.clone().unwrap_or_default(),
            })
            .collect();
        events.sort_by(|a, b| (a.at, &a.object).cmp(&(b.at, &b.object)));
        events
    }

    async fn teardown(&self) -> Result<(), PlatformError> {
        for job in self.namespace.jobs() {
            self.namespace.delete_job(&job).await?;
        }
        let created: Vec<(ObjectKind, String)> = lock(&self.created).iter().cloned().collect();
        for (kind, name) in &created {
            self.delete_if_present(*kind, name).await?;
        }
        // Foreground deletion returns before the pods are gone; the next run may
        // reuse the names, so wait until they are.
        for (kind, name) in &created {
            self.wait_gone(*kind, name, Duration::from_secs(120))
                .await?;
        }
        Ok(())
    }

    async fn annotate(
        &self,
        at: SystemTime,
        text: &str,
        run_id: &str,
    ) -> Result<(), PlatformError> {
        match &self.grafana {
            Some(grafana) => grafana
                .annotate(at, text, run_id)
                .await
                .map_err(PlatformError::Unavailable),
            None => Ok(()),
        }
    }

    fn remote_traffic(&self) -> Option<Arc<dyn RemoteTraffic>> {
        self.in_cluster_traffic.clone()
    }
}
