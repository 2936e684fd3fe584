//! The platform's shared state: Deployments, Services and pods, behind one lock,
//! with a generation counter that wakes the controller, the Service listeners,
//! the Prometheus targets writer and waiters whenever anything changes.

use crate::addr::Block;
use crate::image::{self, PodRuntime};
use crate::pod::{self, PodCommand};
use crate::prometheus::{self, PrometheusServer};
use crate::service::{self, ServiceStats, Target};
use crate::statefile;
use crate::{LocalConfig, LocalError};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use lab_core::object::{Object, ObjectKind};
use lab_core::platform::{Endpoint, PlatformError, PlatformEvent, PodState};
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// How a Deployment replaces pods when its template changes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Strategy {
    Recreate,
    RollingUpdate {
        max_surge: IntOrString,
        max_unavailable: IntOrString,
    },
}

pub(crate) struct DeploymentRec {
    pub(crate) replicas: i32,
    /// Hash of the pod template; pods with another hash are old.
    pub(crate) hash: String,
    pub(crate) runtime: Arc<PodRuntime>,
    pub(crate) strategy: Strategy,
}

pub(crate) struct PodRec {
    pub(crate) deployment: String,
    pub(crate) hash: String,
    pub(crate) address: Ipv4Addr,
    pub(crate) runtime: Arc<PodRuntime>,
    pub(crate) ready: bool,
    pub(crate) terminating: bool,
    pub(crate) restarts: u32,
    pub(crate) created: Instant,
    pub(crate) pid: Option<u32>,
    pub(crate) commands: mpsc::UnboundedSender<PodCommand>,
}

pub(crate) struct ServiceRec {
    pub(crate) selector: BTreeMap<String, String>,
    pub(crate) ports: Vec<ServicePort>,
    pub(crate) stats: Arc<Mutex<BTreeMap<String, ServiceStats>>>,
}

pub(crate) struct ServicePort {
    pub(crate) target: IntOrString,
    pub(crate) listen: SocketAddr,
    pub(crate) endpoints: watch::Sender<Arc<Vec<Target>>>,
    pub(crate) task: JoinHandle<()>,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) deployments: BTreeMap<String, DeploymentRec>,
    pub(crate) services: BTreeMap<String, ServiceRec>,
    pub(crate) pods: BTreeMap<String, PodRec>,
    next_pod: u32,
    next_service: u32,
}

/// Everything the platform's tasks share.
pub(crate) struct Shared {
    pub(crate) config: LocalConfig,
    pub(crate) block: Block,
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
    events: Mutex<Vec<PlatformEvent>>,
    prometheus: Mutex<Option<PrometheusServer>>,
    prometheus_url: Option<String>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Upper bound on termination grace periods: `config.max_grace`, lowered by
    /// [`Shared::limit_grace`].
    grace_cap: Mutex<Option<Duration>>,
    /// The marker every child process carries in its environment.
    pub(crate) marker: String,
}

impl Shared {
    pub(crate) async fn start(config: LocalConfig) -> Result<Arc<Self>, LocalError> {
        let block = Block::reserve()?;
        std::fs::create_dir_all(&config.run_dir).map_err(|source| LocalError::Io {
            path: config.run_dir.clone(),
            source,
        })?;
        let marker = statefile::marker_for(&config);
        let prometheus = match &config.prometheus {
            Some(settings) => Some(prometheus::start(settings, &config.run_dir, &marker).await?),
            None => None,
        };
        let prometheus_url = prometheus.as_ref().map(|p| p.url.clone());
        let (changed, _) = watch::channel(0u64);
        let grace_cap = Mutex::new(config.max_grace);
        let shared = Arc::new(Self {
            config,
            block,
            inner: Mutex::new(Inner::default()),
            changed,
            events: Mutex::new(Vec::new()),
            prometheus: Mutex::new(prometheus),
            prometheus_url,
            tasks: Mutex::new(Vec::new()),
            grace_cap,
            marker,
        });
        let mut tasks = vec![tokio::spawn(crate::controller::run(shared.clone()))];
        if let Some(targets) = shared.prometheus_targets_path() {
            tasks.push(tokio::spawn(prometheus::write_targets_on_change(
                shared.clone(),
                targets,
            )));
        }
        if shared.config.state_file.is_some() {
            tasks.push(tokio::spawn(statefile::write_on_change(shared.clone())));
        }
        *shared.tasks.lock().unwrap() = tasks;
        Ok(shared)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wake everything that follows the state; call after each change.
    pub(crate) fn bump(&self, inner: &Inner) {
        service::refresh_endpoints(inner);
        self.changed.send_modify(|generation| *generation += 1);
    }

    /// The upper bound on pods' termination grace periods now.
    pub(crate) fn max_grace(&self) -> Option<Duration> {
        *self.grace_cap.lock().unwrap()
    }

    /// Lower the bound on grace periods for every termination from now on.
    pub(crate) fn limit_grace(&self, limit: Duration) {
        let mut cap = self.grace_cap.lock().unwrap();
        *cap = Some(cap.map_or(limit, |current| current.min(limit)));
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

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

    pub(crate) fn take_events(&self) -> Vec<PlatformEvent> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }

    pub(crate) fn prometheus_url(&self) -> Option<String> {
        self.prometheus_url.clone()
    }

    fn prometheus_targets_path(&self) -> Option<std::path::PathBuf> {
        self.prometheus
            .lock()
            .unwrap()
            .as_ref()
            .map(|p| p.targets_path.clone())
    }

    pub(crate) fn prometheus_pid(&self) -> Option<u32> {
        self.prometheus
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|p| p.pid())
    }

    pub(crate) async fn apply(self: &Arc<Self>, object: &Object) -> Result<(), PlatformError> {
        match object {
            Object::Deployment(deployment) => self.apply_deployment(deployment),
            Object::Service(service) => self.apply_service(service).await,
        }
    }

    fn apply_deployment(&self, deployment: &Deployment) -> Result<(), PlatformError> {
        let name = deployment.metadata.name.clone().unwrap_or_default();
        let spec = deployment
            .spec
            .as_ref()
            .ok_or_else(|| PlatformError::Unsupported {
                kind: ObjectKind::Deployment,
                name: name.clone(),
                message: "has no spec".into(),
            })?;
        let runtime = Arc::new(image::pod_runtime(&name, &spec.template)?);
        let hash = template_hash(&spec.template);
        let strategy = match spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) {
            Some("Recreate") => Strategy::Recreate,
            _ => {
                let rolling = spec
                    .strategy
                    .as_ref()
                    .and_then(|s| s.rolling_update.as_ref());
                let percent = || IntOrString::String("25%".to_string());
                Strategy::RollingUpdate {
                    max_surge: rolling
                        .and_then(|r| r.max_surge.clone())
                        .unwrap_or_else(percent),
                    max_unavailable: rolling
                        .and_then(|r| r.max_unavailable.clone())
                        .unwrap_or_else(percent),
                }
            }
        };
        let replicas = spec.replicas.unwrap_or(1).max(0);
        let mut inner = self.lock();
        let message = match inner.deployments.get(&name) {
            None => format!("created with {replicas} replicas"),
            Some(existing) if existing.hash != hash => {
                format!("template changed: rolling out revision {hash}")
            }
            Some(_) => "configured".to_string(),
        };
        inner.deployments.insert(
            name.clone(),
            DeploymentRec {
                replicas,
                hash,
                runtime,
                strategy,
            },
        );
        self.event("Applied", format!("deployment/{name}"), message);
        self.bump(&inner);
        Ok(())
    }

    async fn apply_service(self: &Arc<Self>, service: &Service) -> Result<(), PlatformError> {
        let name = service.metadata.name.clone().unwrap_or_default();
        let spec = service.spec.clone().unwrap_or_default();
        let selector = spec.selector.clone().unwrap_or_default();
        let declared: Vec<(u16, IntOrString)> = spec
            .ports
            .iter()
            .flatten()
            .map(|port| {
                let target = port
                    .target_port
                    .clone()
                    .unwrap_or(IntOrString::Int(port.port));
                (u16::try_from(port.port).unwrap_or(80), target)
            })
            .collect();
        {
            let mut inner = self.lock();
            if let Some(existing) = inner.services.get_mut(&name) {
                let same_ports = existing.ports.len() == declared.len()
                    && existing
                        .ports
                        .iter()
                        .zip(&declared)
                        .all(|(have, (_, target))| &have.target == target);
                if same_ports {
                    existing.selector = selector;
                    self.event("Applied", format!("service/{name}"), "configured");
                    self.bump(&inner);
                    return Ok(());
                }
            }
        }
        // New Service, or its ports changed: (re)open listeners.
        self.delete_service(&name);
        let stats = Arc::new(Mutex::new(BTreeMap::new()));
        let index = {
            let mut inner = self.lock();
            inner.next_service += 1;
            inner.next_service - 1
        };
        let address = self.block.service_address(index);
        let mut ports = Vec::new();
        for (port, target) in declared {
            let (listener, listen) = service::bind(address, port).await.map_err(|error| {
                PlatformError::Unavailable(format!(
                    "service {name}: cannot listen on {address}:{port}: {error}"
                ))
            })?;
            let (endpoints, receiver) = watch::channel(Arc::new(Vec::new()));
            let task = tokio::spawn(service::serve(listener, receiver, stats.clone()));
            ports.push(ServicePort {
                target,
                listen,
                endpoints,
                task,
            });
        }
        let mut inner = self.lock();
        let urls: Vec<String> = ports.iter().map(|p| p.listen.to_string()).collect();
        inner.services.insert(
            name.clone(),
            ServiceRec {
                selector,
                ports,
                stats,
            },
        );
        self.event(
            "Applied",
            format!("service/{name}"),
            format!("listening on {}", urls.join(", ")),
        );
        self.bump(&inner);
        Ok(())
    }

    fn delete_service(&self, name: &str) -> bool {
        let mut inner = self.lock();
        let Some(service) = inner.services.remove(name) else {
            return false;
        };
        for port in service.ports {
            port.task.abort();
        }
        self.bump(&inner);
        true
    }

    pub(crate) fn scale(&self, deployment: &str, replicas: i32) -> Result<(), PlatformError> {
        let mut inner = self.lock();
        let record = inner
            .deployments
            .get_mut(deployment)
            .ok_or_else(|| not_found(ObjectKind::Deployment, deployment))?;
        record.replicas = replicas.max(0);
        self.event(
            "Scaled",
            format!("deployment/{deployment}"),
            format!("scaled to {replicas} replicas"),
        );
        self.bump(&inner);
        Ok(())
    }

    pub(crate) async fn delete(&self, kind: ObjectKind, name: &str) -> Result<(), PlatformError> {
        let found = match kind {
            ObjectKind::Service => self.delete_service(name),
            ObjectKind::Deployment => {
                let mut inner = self.lock();
                let found = inner.deployments.remove(name).is_some();
                if found {
                    let grace = self.max_grace();
                    for pod in inner.pods.values_mut().filter(|p| p.deployment == name) {
                        pod::terminate(pod, grace);
                    }
                    self.bump(&inner);
                }
                found
            }
        };
        if !found {
            return Err(not_found(kind, name));
        }
        self.event(
            "Deleted",
            format!("{}/{name}", kind.kubectl_name()),
            "deleted",
        );
        Ok(())
    }

    pub(crate) fn set_selector(
        &self,
        service: &str,
        selector: &BTreeMap<String, String>,
    ) -> Result<(), PlatformError> {
        let mut inner = self.lock();
        let record = inner
            .services
            .get_mut(service)
            .ok_or_else(|| not_found(ObjectKind::Service, service))?;
        record.selector = selector.clone();
        self.event(
            "SelectorChanged",
            format!("service/{service}"),
            format!("selector now {selector:?}"),
        );
        self.bump(&inner);
        Ok(())
    }

    pub(crate) async fn wait_ready(
        &self,
        deployments: &[String],
        timeout: Duration,
    ) -> Result<(), PlatformError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.subscribe();
        loop {
            let not_ready = {
                let inner = self.lock();
                let mut not_ready = Vec::new();
                for name in deployments {
                    match rollout_status(&inner, name) {
                        Ok(None) => {}
                        Ok(Some(status)) => not_ready.push(status),
                        Err(error) => return Err(error),
                    }
                }
                not_ready
            };
            if not_ready.is_empty() {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                return Err(PlatformError::Timeout {
                    waited: timeout,
                    not_ready,
                });
            }
        }
    }

    pub(crate) fn pod_states(&self) -> Vec<PodState> {
        let inner = self.lock();
        inner
            .pods
            .iter()
            .map(|(name, pod)| PodState {
                name: name.clone(),
                deployment: pod.deployment.clone(),
                version: pod.runtime.version(),
                address: pod.address.to_string(),
                ready: pod.ready && !pod.terminating,
                restarts: pod.restarts,
                terminating: pod.terminating,
            })
            .collect()
    }

    pub(crate) fn endpoints(&self, service: &str) -> Result<Vec<Endpoint>, PlatformError> {
        let inner = self.lock();
        let record = inner
            .services
            .get(service)
            .ok_or_else(|| not_found(ObjectKind::Service, service))?;
        let Some(port) = record.ports.first() else {
            return Ok(Vec::new());
        };
        Ok(port
            .endpoints
            .borrow()
            .iter()
            .map(|target| Endpoint {
                pod: target.pod.clone(),
                version: target.version.clone(),
                address: target.address.to_string(),
            })
            .collect())
    }

    pub(crate) fn service_url(&self, service: &str) -> Result<String, PlatformError> {
        let inner = self.lock();
        let record = inner
            .services
            .get(service)
            .ok_or_else(|| not_found(ObjectKind::Service, service))?;
        let port = record.ports.first().ok_or_else(|| {
            PlatformError::Unavailable(format!("service {service} declares no ports"))
        })?;
        Ok(format!("http://{}", port.listen))
    }

    pub(crate) fn service_stats(&self, service: &str) -> Option<BTreeMap<String, ServiceStats>> {
        let inner = self.lock();
        let record = inner.services.get(service)?;
        let stats = record.stats.lock().unwrap().clone();
        Some(stats)
    }

    pub(crate) fn pids(&self) -> Vec<u32> {
        let inner = self.lock();
        let mut pids: Vec<u32> = inner.pods.values().filter_map(|p| p.pid).collect();
        drop(inner);
        pids.extend(self.prometheus_pid());
        pids
    }

    pub(crate) async fn kill_pod(&self, pod: &str) -> Result<(), PlatformError> {
        let inner = self.lock();
        let record = inner.pods.get(pod).ok_or_else(|| PlatformError::NotFound {
            kind: ObjectKind::Deployment,
            name: format!("pod {pod}"),
        })?;
        let _ = record.commands.send(PodCommand::Kill);
        Ok(())
    }

    /// Create a pod record for a Deployment and start its supervisor.
    pub(crate) fn create_pod(self: &Arc<Self>, inner: &mut Inner, deployment: &str) {
        let Some(record) = inner.deployments.get(deployment) else {
            return;
        };
        let (hash, runtime) = (record.hash.clone(), record.runtime.clone());
        let address = self.block.pod_address(inner.next_pod);
        inner.next_pod += 1;
        let name = format!(
            "{deployment}-{}-{}",
            &hash[..hash.len().min(10)],
            random_suffix()
        );
        let (commands, receiver) = mpsc::unbounded_channel();
        inner.pods.insert(
            name.clone(),
            PodRec {
                deployment: deployment.to_string(),
                hash,
                address,
                runtime: runtime.clone(),
                ready: false,
                terminating: false,
                restarts: 0,
                created: Instant::now(),
                pid: None,
                commands,
            },
        );
        self.event(
            "Scheduled",
            format!("pod/{name}"),
            format!("assigned address {address}"),
        );
        tokio::spawn(pod::supervise(
            self.clone(),
            name,
            address,
            runtime,
            receiver,
        ));
    }

    /// Delete every Deployment and Service and wait (bounded) for the pods to exit.
    pub(crate) async fn delete_all(&self) {
        let names: Vec<String> = self.lock().services.keys().cloned().collect();
        for name in names {
            self.delete_service(&name);
        }
        let grace = {
            let mut inner = self.lock();
            inner.deployments.clear();
            let grace = self.max_grace();
            let mut longest = Duration::ZERO;
            for pod in inner.pods.values_mut() {
                longest =
                    longest.max(grace.map_or(pod.runtime.grace, |g| g.min(pod.runtime.grace)));
                pod::terminate(pod, grace);
            }
            self.bump(&inner);
            longest
        };
        let mut changes = self.subscribe();
        let deadline = tokio::time::Instant::now() + grace + Duration::from_secs(2);
        while !self.lock().pods.is_empty() {
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                break;
            }
        }
    }

    pub(crate) async fn shutdown(&self) {
        self.delete_all().await;
        let server = self.prometheus.lock().unwrap().take();
        if let Some(server) = server {
            server.stop().await;
        }
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
        if let Some(path) = &self.config.state_file {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `None` when the Deployment has rolled out and all replicas are ready, else a
/// line saying what is missing (`deployment my-app-v2: 0/1 ready, 1 updated`).
fn rollout_status(inner: &Inner, name: &str) -> Result<Option<String>, PlatformError> {
    let deployment = inner
        .deployments
        .get(name)
        .ok_or_else(|| not_found(ObjectKind::Deployment, name))?;
    let live = inner
        .pods
        .values()
        .filter(|p| p.deployment == name && !p.terminating);
    let (mut updated, mut ready, mut old) = (0i32, 0i32, 0i32);
    for pod in live {
        if pod.hash == deployment.hash {
            updated += 1;
            ready += i32::from(pod.ready);
        } else {
            old += 1;
        }
    }
    let replicas = deployment.replicas;
    if updated == replicas && ready == replicas && old == 0 {
        return Ok(None);
    }
    let mut status = format!("deployment {name}: {ready}/{replicas} ready, {updated} updated");
    if old > 0 {
        status.push_str(&format!(", {old} old"));
    }
    Ok(Some(status))
}

fn not_found(kind: ObjectKind, name: &str) -> PlatformError {
    PlatformError::NotFound {
        kind,
        name: name.to_string(),
    }
}

/// A stable hash of a pod template: a changed template is a new revision.
fn template_hash(template: &k8s_openapi::api::core::v1::PodTemplateSpec) -> String {
    let json = serde_json::to_string(template).unwrap_or_default();
    let mut hasher = DefaultHasher::new();
    json.hash(&mut hasher);
    format!("{:010x}", hasher.finish() & 0xff_ffff_ffff)
}

fn random_suffix() -> String {
    // Kubernetes' alphabet for generated names: no vowels, no confusable digits.
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}
