//! [`KubePlatform`]: the lab's `Platform` on a real cluster through kube-rs,
//! with the cluster lab's capabilities: step annotations in its Grafana, and
//! traffic from a loadgen Job inside the cluster when the lab was opened so.

use crate::diagnosis::{self, event_time};
use crate::error::{api_error, describe, object_error};
use crate::grafana::Grafana;
use crate::images;
use crate::namespace::{LabNamespace, is_not_found};
use crate::traffic::{self, FollowedJob, JobTraffic};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Namespace, Node, Pod, Service};
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

pub use crate::namespace::{
    FIELD_MANAGER, LAB_NAMESPACE, MANAGED_BY, MANAGED_BY_LABEL, apply_params, lab_namespace,
};

/// The NodePort a scenario's NodePort Service gets when it names none, so the
/// host port mapped by `lab/kind.yaml` reaches it.
pub const APP_NODE_PORT: i32 = 30080;

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
    /// kind with `lab/kind.yaml`: the app, Prometheus and Grafana NodePorts on
    /// 127.0.0.1 under the same numbers.
    pub fn kind() -> Self {
        let ports = [APP_NODE_PORT, PROMETHEUS_NODE_PORT, GRAFANA_NODE_PORT]
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
        lock(&self.created).insert((kind, name));
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

/// What a wait last saw of a Deployment.
enum Seen {
    Deployment(Box<Deployment>),
    Missing,
    Error(String),
}

/// `None` once a Deployment has rolled out completely with every desired replica
/// ready (what `kubectl rollout status` waits for); otherwise what is missing, as
/// `0/1 ready, 1 updated`.
pub fn rollout_progress(deployment: &Deployment) -> Option<String> {
    let desired = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let status = deployment.status.clone().unwrap_or_default();
    let ready = status.ready_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let observed = match (deployment.metadata.generation, status.observed_generation) {
        (Some(generation), Some(observed)) => observed >= generation,
        (Some(_), None) => false,
        (None, _) => true,
    };
    let done = observed
        && updated == desired
        && total == updated
        && available >= desired
        && ready >= desired;
    if done {
        return None;
    }
    let mut text = format!("{ready}/{desired} ready, {updated} updated");
    if total > updated {
        text.push_str(&format!(", {} old pending termination", total - updated));
    }
    if !observed {
        text.push_str(", change not yet observed");
    }
    let stalled = status.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if stalled {
        text.push_str(", progress deadline exceeded");
    }
    Some(text)
}

fn describe_seen(name: &str, seen: Option<&Seen>) -> String {
    match seen {
        None => format!("deployment {name}: no answer from the API server"),
        Some(Seen::Missing) => format!("deployment {name}: not found"),
        Some(Seen::Error(e)) => format!("deployment {name}: {e}"),
        Some(Seen::Deployment(d)) => match rollout_progress(d) {
            Some(progress) => format!("deployment {name}: {progress}"),
            None => format!("deployment {name}: ready"),
        },
    }
}

fn pod_state(pod: &Pod) -> Option<PodState> {
    let name = pod.metadata.name.clone()?;
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    // Deployment pods are owned by a ReplicaSet named `<deployment>-<pod-template-hash>`.
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "ReplicaSet")?;
    let deployment = match labels.get("pod-template-hash") {
        Some(hash) => owner
            .name
            .strip_suffix(&format!("-{hash}"))
            .unwrap_or(&owner.name)
            .to_string(),
        None => owner.name.clone(),
    };
    let status = pod.status.clone().unwrap_or_default();
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let restarts = status
        .container_statuses
        .iter()
        .flatten()
        .map(|c| c.restart_count.max(0) as u32)
        .sum();
    Some(PodState {
        name,
        deployment,
        version: labels.get("version").cloned().unwrap_or_default(),
        address: status.pod_ip.unwrap_or_default(),
        ready,
        restarts,
        terminating: pod.metadata.deletion_timestamp.is_some(),
    })
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

    async fn service_url(&self, service: &str) -> Result<String, PlatformError> {
        let found = self
            .namespaced::<Service>()
            .get(service)
            .await
            .map_err(|e| object_error(e, ObjectKind::Service, service))?;
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

/// Connect to the cluster of a kubeconfig context (the current one when `None`)
/// and check, within `timeout`, that its API server answers.
pub async fn connect(context: Option<&str>, timeout: Duration) -> Result<Client, PlatformError> {
    let kubeconfig = kube::config::Kubeconfig::read()
        .map_err(|e| PlatformError::Unavailable(format!("cannot read the kubeconfig: {e}")))?;
    connect_with(kubeconfig, context, timeout).await
}

/// Connect with a given kubeconfig (a K3s container's, say) to one of its
/// contexts (its current one when `None`), checking within `timeout` that the
/// API server answers.
pub async fn connect_with(
    kubeconfig: kube::config::Kubeconfig,
    context: Option<&str>,
    timeout: Duration,
) -> Result<Client, PlatformError> {
    // Several TLS backends may be linked in (kube's ring, reqwest's aws-lc);
    // rustls then needs to be told which one to use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let which = match context {
        Some(name) => format!("context {name}"),
        None => "the current context".to_string(),
    };
    let config = context_config(kubeconfig, context).await?;
    let client = Client::try_from(config)
        .map_err(|e| PlatformError::Unavailable(format!("{which}: {}", describe(&e))))?;
    check_reachable(&client, &which, timeout).await?;
    Ok(client)
}

/// The client configuration of a kubeconfig's context `context` (its current
/// one when `None`), whatever context is current.
pub async fn context_config(
    kubeconfig: kube::config::Kubeconfig,
    context: Option<&str>,
) -> Result<kube::Config, PlatformError> {
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let which = match context {
        Some(name) => format!("context {name}"),
        None => "the current context".to_string(),
    };
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| PlatformError::Unavailable(format!("kubeconfig {which}: {e}")))
}

/// Connect with a kubeconfig given as YAML text (a K3s container's), optionally
/// pointing its clusters at another server address (the port Docker mapped).
pub async fn connect_kubeconfig_yaml(
    yaml: &str,
    server: Option<&str>,
    timeout: Duration,
) -> Result<Client, PlatformError> {
    let mut kubeconfig = kube::config::Kubeconfig::from_yaml(yaml)
        .map_err(|e| PlatformError::Unavailable(format!("kubeconfig: {e}")))?;
    if let Some(server) = server {
        for cluster in &mut kubeconfig.clusters {
            if let Some(c) = cluster.cluster.as_mut() {
                c.server = Some(server.to_string());
            }
        }
    }
    connect_with(kubeconfig, None, timeout).await
}

/// Delete a namespace and wait, at most `timeout`, until it is gone; a
/// namespace that does not exist is fine.
pub async fn delete_namespace(
    client: &Client,
    name: &str,
    timeout: Duration,
) -> Result<(), PlatformError> {
    let api: Api<Namespace> = Api::all(client.clone());
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(api_error(e, &format!("deleting namespace {name}"))),
    }
    let gone = |o: Option<&Namespace>| o.is_none();
    match tokio::time::timeout(
        timeout,
        kube::runtime::wait::await_condition(api, name, gone),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(PlatformError::Unavailable(format!(
            "waiting for namespace {name} to go: {e}"
        ))),
        Err(_) => Err(PlatformError::Timeout {
            waited: timeout,
            not_ready: vec![format!("namespace {name}: still being deleted")],
        }),
    }
}

/// Check that the API server answers within `timeout`.
pub async fn check_reachable(
    client: &Client,
    which: &str,
    timeout: Duration,
) -> Result<(), PlatformError> {
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(PlatformError::Unavailable(format!(
            "the cluster of {which} does not answer: {}",
            describe(&e)
        ))),
        Err(_) => Err(PlatformError::Unavailable(format!(
            "the cluster of {which} did not answer within {}s",
            timeout.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kubeconfig whose current context is someone else's cluster, beside
    /// the lab's.
    fn two_clusters() -> kube::config::Kubeconfig {
        kube::config::Kubeconfig::from_yaml(
            r#"
apiVersion: v1
kind: Config
current-context: prod
clusters:
  - name: prod
    cluster: {server: "https://10.9.9.9:6443"}
  - name: kind-canary-lab
    cluster: {server: "https://127.0.0.1:40001"}
contexts:
  - name: prod
    context: {cluster: prod, user: prod}
  - name: kind-canary-lab
    context: {cluster: kind-canary-lab, user: kind-canary-lab, namespace: default}
users:
  - name: prod
    user: {token: prod-token}
  - name: kind-canary-lab
    user: {token: lab-token}
"#,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_named_context_is_used_whatever_context_is_current() {
        let lab = context_config(two_clusters(), Some("kind-canary-lab"))
            .await
            .unwrap();
        assert_eq!(lab.cluster_url.to_string(), "https://127.0.0.1:40001/");
        let current = context_config(two_clusters(), None).await.unwrap();
        assert_eq!(current.cluster_url.to_string(), "https://10.9.9.9:6443/");
        let missing = context_config(two_clusters(), Some("minikube")).await;
        assert!(
            missing.is_err(),
            "an unknown context is refused, not replaced"
        );
    }

    fn deployment(spec_replicas: i32, status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "my-app-v2", "generation": 2},
            "spec": {"replicas": spec_replicas, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    fn check(spec_replicas: i32, status: serde_json::Value, expected: Option<&str>) {
        assert_eq!(
            rollout_progress(&deployment(spec_replicas, status)).as_deref(),
            expected
        );
    }

    #[test]
    fn rollout_progress_names_what_is_missing() {
        check(
            1,
            json!({}),
            Some("0/1 ready, 0 updated, change not yet observed"),
        );
        check(
            1,
            json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1}),
            Some("0/1 ready, 1 updated"),
        );
        check(
            10,
            json!({"observedGeneration": 2, "replicas": 12, "updatedReplicas": 10, "readyReplicas": 12, "availableReplicas": 12}),
            Some("12/10 ready, 10 updated, 2 old pending termination"),
        );
        check(
            1,
            json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
            Some("1/1 ready, 1 updated, change not yet observed"),
        );
        check(
            1,
            json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 0, "availableReplicas": 0,
                   "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
            Some("0/1 ready, 1 updated, progress deadline exceeded"),
        );
        check(
            1,
            json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
            None,
        );
        check(0, json!({"observedGeneration": 2}), None);
    }

    #[tokio::test]
    async fn an_unreachable_cluster_is_one_message() {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(
            "apiVersion: v1\nkind: Config\ncurrent-context: lab\n\
             clusters: [{name: lab, cluster: {server: 'https://127.0.0.1:9'}}]\n\
             users: [{name: lab, user: {token: t}}]\n\
             contexts: [{name: lab, context: {cluster: lab, user: lab}}]\n",
        )
        .unwrap();
        let Err(error) = connect_with(kubeconfig.clone(), None, Duration::from_secs(10)).await
        else {
            panic!("connected to nothing");
        };
        match error {
            PlatformError::Unavailable(message) => assert!(
                message.starts_with(
                    "the cluster of the current context does not answer: cannot reach the Kubernetes API"
                ),
                "{message}"
            ),
            other => panic!("{other:?}"),
        }
        let Err(error) = connect_with(kubeconfig, Some("other"), Duration::from_secs(10)).await
        else {
            panic!("connected to an unknown context");
        };
        assert!(
            matches!(&error, PlatformError::Unavailable(m) if m.starts_with("kubeconfig context other:")),
            "{error:?}"
        );
    }

    #[test]
    fn node_access_urls() {
        let kind = NodeAccess::kind();
        assert_eq!(kind.url(30080).as_deref(), Ok("http://127.0.0.1:30080"));
        assert_eq!(kind.url(30030).as_deref(), Ok("http://127.0.0.1:30030"));
        assert_eq!(
            kind.url(31000).unwrap_err(),
            "nodePort 31000 is not mapped to the host (mapped: 30030, 30080, 30090)"
        );
        let node = NodeAccess::Node("192.168.49.2".into());
        assert_eq!(node.url(31000).as_deref(), Ok("http://192.168.49.2:31000"));
    }

    #[test]
    fn pods_know_their_deployment_and_version() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {
                "name": "my-app-v2-5d9c7b-x2x4z",
                "labels": {"app": "my-app", "version": "v2.0.0", "pod-template-hash": "5d9c7b"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "my-app-v2-5d9c7b", "uid": "u"}]
            },
            "status": {
                "podIP": "10.244.0.7",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "my-app", "image": "x", "imageID": "", "ready": true, "restartCount": 2}]
            }
        }))
        .unwrap();
        assert_eq!(
            pod_state(&pod),
            Some(PodState {
                name: "my-app-v2-5d9c7b-x2x4z".into(),
                deployment: "my-app-v2".into(),
                version: "v2.0.0".into(),
                address: "10.244.0.7".into(),
                ready: true,
                restarts: 2,
                terminating: false,
            })
        );
        let job_pod: Pod =
            serde_json::from_value(json!({"metadata": {"name": "loadgen-abc"}})).unwrap();
        assert_eq!(pod_state(&job_pod), None);
    }
}
