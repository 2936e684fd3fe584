//! An in-memory [`Platform`] for tests of the runner: no process, no socket, no
//! cluster. Deployments and Services are records; a pod is ready at once unless
//! its version is told never to be; a Service's endpoints are its selected ready
//! pods. Traffic is the platform's [`RemoteTraffic`]: loadgen snapshot lines
//! synthesised from the ready endpoints (requests spread over them in turn) and
//! each version's behaviour (share of errors, latency).

use lab_core::object::{Object, ObjectKind, labels_match};
use lab_core::platform::{
    BoxFuture, Endpoint, LineSink, ListenerFault, Platform, PlatformError, PlatformEvent, PodState,
    RemoteLoad, RemoteTraffic, Urls,
};
use loadgen::stream::{SnapshotFeed, to_text};
use loadgen::{Second, Snapshot, VersionStats};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// How often the fake traffic sends requests and prints a snapshot line.
const TICK: Duration = Duration::from_millis(50);

/// How one version's pods behave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Behaviour {
    /// Share of its answers that are 500s.
    pub error_share: f64,
    /// How long each answer takes.
    pub latency: Duration,
    /// Whether its pods ever pass their readiness probe.
    pub ready: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            error_share: 0.0,
            latency: Duration::from_millis(2),
            ready: true,
        }
    }
}

struct FakeDeployment {
    version: String,
    labels: BTreeMap<String, String>,
    replicas: u32,
}

#[derive(Default)]
struct State {
    deployments: BTreeMap<String, FakeDeployment>,
    services: BTreeMap<String, BTreeMap<String, String>>,
    /// Gateways and HTTPRoutes by kind and name; the fake routes nothing.
    gateway_objects: BTreeSet<(ObjectKind, String)>,
    behaviour: BTreeMap<String, Behaviour>,
    events: Vec<PlatformEvent>,
    annotations: Vec<String>,
    /// Why every annotation fails, when it does.
    annotation_error: Option<String>,
    grace_limit: Option<Duration>,
    teardowns: u32,
    listener_faults: Vec<ListenerFault>,
}

impl State {
    fn behaviour(&self, version: &str) -> Behaviour {
        self.behaviour.get(version).copied().unwrap_or_default()
    }

    fn pods(&self) -> Vec<PodState> {
        let mut pods = Vec::new();
        for (name, deployment) in &self.deployments {
            for i in 0..deployment.replicas {
                pods.push(PodState {
                    name: format!("{name}-{i}"),
                    deployment: name.clone(),
                    version: deployment.version.clone(),
                    address: format!("10.0.{}.{i}", self.deployments.len()),
                    ready: self.behaviour(&deployment.version).ready,
                    restarts: 0,
                    terminating: false,
                });
            }
        }
        pods
    }

    fn endpoints(&self, service: &str) -> Result<Vec<Endpoint>, PlatformError> {
        let selector = self.services.get(service).ok_or(PlatformError::NotFound {
            kind: ObjectKind::Service,
            name: service.to_string(),
        })?;
        let selected: Vec<&String> = self
            .deployments
            .iter()
            .filter(|(_, d)| labels_match(selector, &d.labels))
            .map(|(name, _)| name)
            .collect();
        Ok(self
            .pods()
            .into_iter()
            .filter(|pod| pod.ready && selected.contains(&&pod.deployment))
            .map(|pod| Endpoint {
                address: format!("{}:8080", pod.address),
                pod: pod.name,
                version: pod.version,
            })
            .collect())
    }

    fn event(&mut self, reason: &str, object: String, message: String) {
        self.events.push(PlatformEvent {
            at: SystemTime::now(),
            reason: reason.to_string(),
            object,
            message,
        });
    }
}

/// The in-memory platform. Cheap to clone; clones share the same objects.
#[derive(Clone, Default)]
pub struct FakePlatform {
    state: Arc<Mutex<State>>,
    traffic: Arc<FakeTraffic>,
}

impl FakePlatform {
    /// An empty platform; every version behaves well until told otherwise.
    pub fn new() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        Self {
            traffic: Arc::new(FakeTraffic {
                state: state.clone(),
                stop: Mutex::new(None),
            }),
            state,
        }
    }

    /// Make the pods of `version` behave so.
    pub fn behave(&self, version: &str, behaviour: Behaviour) -> &Self {
        self.lock().behaviour.insert(version.to_string(), behaviour);
        self
    }

    /// The steps annotated so far.
    pub fn annotations(&self) -> Vec<String> {
        self.lock().annotations.clone()
    }

    /// The bound on termination grace the runner asked for, if any.
    pub fn grace_limit(&self) -> Option<Duration> {
        self.lock().grace_limit
    }

    /// Say, from now on, that a listener of the platform met `fault`.
    pub fn listener_fault(&self, fault: ListenerFault) -> &Self {
        self.lock().listener_faults.push(fault);
        self
    }

    /// Refuse every annotation from now on, saying `error`.
    pub fn refuse_annotations(&self, error: &str) -> &Self {
        self.lock().annotation_error = Some(error.to_string());
        self
    }

    /// How often the lab was torn down.
    pub fn teardowns(&self) -> u32 {
        self.lock().teardowns
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

impl Platform for FakePlatform {
    fn name(&self) -> String {
        "fake".to_string()
    }

    async fn apply(&self, objects: &[Object]) -> Result<(), PlatformError> {
        let mut state = self.lock();
        for object in objects {
            match object {
                Object::Deployment(_) => {
                    let deployment = FakeDeployment {
                        version: object.version().unwrap_or_default().to_string(),
                        labels: object.pod_labels().cloned().unwrap_or_default(),
                        replicas: object.replicas().unwrap_or(1).max(0) as u32,
                    };
                    state.event(
                        "ScalingReplicaSet",
                        format!("deployment/{}", object.name()),
                        format!("scaled to {}", deployment.replicas),
                    );
                    state
                        .deployments
                        .insert(object.name().to_string(), deployment);
                }
                Object::Service(_) => {
                    let selector = object.service_selector().cloned().unwrap_or_default();
                    state.services.insert(object.name().to_string(), selector);
                }
                Object::Gateway(_) | Object::HttpRoute(_) => {
                    state
                        .gateway_objects
                        .insert((object.kind(), object.name().to_string()));
                }
            }
        }
        Ok(())
    }

    async fn scale(&self, deployment: &str, replicas: i32) -> Result<(), PlatformError> {
        let mut state = self.lock();
        let found = state
            .deployments
            .get_mut(deployment)
            .ok_or(PlatformError::NotFound {
                kind: ObjectKind::Deployment,
                name: deployment.to_string(),
            })?;
        found.replicas = replicas.max(0) as u32;
        Ok(())
    }

    async fn delete(&self, kind: ObjectKind, name: &str) -> Result<(), PlatformError> {
        let mut state = self.lock();
        let found = match kind {
            ObjectKind::Deployment => state.deployments.remove(name).is_some(),
            ObjectKind::Service => state.services.remove(name).is_some(),
            ObjectKind::Gateway | ObjectKind::HttpRoute => {
                state.gateway_objects.remove(&(kind, name.to_string()))
            }
        };
        if !found {
            return Err(PlatformError::NotFound {
                kind,
                name: name.to_string(),
            });
        }
        state.event(
            "Deleted",
            format!("{}/{name}", kind.kubectl_name()),
            "deleted".to_string(),
        );
        Ok(())
    }

    async fn set_selector(
        &self,
        service: &str,
        selector: &BTreeMap<String, String>,
    ) -> Result<(), PlatformError> {
        let mut state = self.lock();
        let found = state
            .services
            .get_mut(service)
            .ok_or(PlatformError::NotFound {
                kind: ObjectKind::Service,
                name: service.to_string(),
            })?;
        *found = selector.clone();
        Ok(())
    }

    async fn wait_ready(
        &self,
        deployments: &[String],
        timeout: Duration,
    ) -> Result<(), PlatformError> {
        let not_ready: Vec<String> = {
            let state = self.lock();
            deployments
                .iter()
                .filter_map(|name| match state.deployments.get(name) {
                    None => Some(format!("deployment {name}: not found")),
                    Some(d) if d.replicas > 0 && !state.behaviour(&d.version).ready => {
                        Some(format!("deployment {name}: 0/{} ready", d.replicas))
                    }
                    Some(_) => None,
                })
                .collect()
        };
        if not_ready.is_empty() {
            return Ok(());
        }
        // Pods that never become ready: the wait lasts its whole timeout.
        tokio::time::sleep(timeout).await;
        Err(PlatformError::Timeout {
            waited: timeout,
            not_ready,
        })
    }

    async fn pods(&self) -> Result<Vec<PodState>, PlatformError> {
        Ok(self.lock().pods())
    }

    async fn endpoints(&self, service: &str) -> Result<Vec<Endpoint>, PlatformError> {
        self.lock().endpoints(service)
    }

    async fn service_url(&self, service: &str) -> Result<String, PlatformError> {
        self.lock().endpoints(service)?;
        Ok(format!("http://{service}.fake.invalid"))
    }

    fn urls(&self) -> Urls {
        Urls::default()
    }

    async fn take_events(&self) -> Vec<PlatformEvent> {
        std::mem::take(&mut self.lock().events)
    }

    async fn teardown(&self) -> Result<(), PlatformError> {
        let mut state = self.lock();
        state.deployments.clear();
        state.services.clear();
        state.teardowns += 1;
        Ok(())
    }

    async fn annotate(
        &self,
        _at: SystemTime,
        text: &str,
        _run_id: &str,
    ) -> Result<(), PlatformError> {
        let mut state = self.lock();
        if let Some(error) = &state.annotation_error {
            return Err(PlatformError::Unavailable(error.clone()));
        }
        state.annotations.push(text.to_string());
        Ok(())
    }

    fn remote_traffic(&self) -> Option<Arc<dyn RemoteTraffic>> {
        Some(self.traffic.clone())
    }

    fn limit_grace(&self, limit: Duration) {
        let mut state = self.lock();
        state.grace_limit = Some(state.grace_limit.map_or(limit, |l| l.min(limit)));
    }

    fn listener_faults(&self) -> Vec<ListenerFault> {
        self.lock().listener_faults.clone()
    }
}

/// Traffic through a fake Service, as loadgen's snapshot lines.
#[derive(Default)]
struct FakeTraffic {
    state: Arc<Mutex<State>>,
    stop: Mutex<Option<watch::Sender<bool>>>,
}

/// The fake generator's tallies.
struct Generator {
    snapshot: Snapshot,
    /// Requests sent to each version, and how many of them failed.
    sent: BTreeMap<String, (u64, u64)>,
    /// Which endpoint the next request goes to.
    next: usize,
}

impl Generator {
    /// Send one request through `service` at `t_ms`.
    fn send(&mut self, state: &State, service: &str, t_ms: u64) {
        let second = (t_ms / 1000) as usize;
        let series = &mut self.snapshot.series;
        while series.len() <= second {
            let n = series.len() as u64;
            series.push(Second {
                second: n,
                ..Second::default()
            });
        }
        self.snapshot.issued += 1;
        let endpoints = state.endpoints(service).unwrap_or_default();
        if endpoints.is_empty() {
            self.snapshot.errors.connect_refused += 1;
            series[second].errors.connect_refused += 1;
            return;
        }
        let endpoint = &endpoints[self.next % endpoints.len()];
        self.next += 1;
        let behaviour = state.behaviour(&endpoint.version);
        let (sent, failed) = self.sent.entry(endpoint.version.clone()).or_default();
        *sent += 1;
        // Spread the errors evenly: the n-th answer fails when the share says so.
        let fails = ((*sent as f64) * behaviour.error_share).floor() as u64 > *failed;
        if fails {
            *failed += 1;
        }
        let stats = self
            .snapshot
            .versions
            .entry(endpoint.version.clone())
            .or_insert_with(|| VersionStats {
                statuses: Default::default(),
                latency: loadgen::tally::new_latency_histogram(),
            });
        let per_second = series[second]
            .versions
            .entry(endpoint.version.clone())
            .or_default();
        if fails {
            stats.statuses.server_error += 1;
            per_second.server_error += 1;
        } else {
            stats.statuses.success += 1;
            per_second.success += 1;
            self.snapshot.last_success_ms = Some(t_ms);
        }
        stats
            .latency
            .saturating_record(behaviour.latency.as_micros().max(1) as u64);
    }
}

impl RemoteTraffic for FakeTraffic {
    fn start(
        &self,
        load: RemoteLoad,
        mut lines: LineSink,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let (stop, mut stopped) = watch::channel(false);
        *self.stop.lock().unwrap() = Some(stop);
        let state = self.state.clone();
        Box::pin(async move {
            tokio::spawn(async move {
                let started = Instant::now();
                let mut generator = Generator {
                    snapshot: Snapshot::empty(),
                    sent: BTreeMap::new(),
                    next: 0,
                };
                let mut feed = SnapshotFeed::new();
                let mut ticks = tokio::time::interval(TICK);
                loop {
                    let done = tokio::select! {
                        _ = ticks.tick() => started.elapsed() >= load.limit,
                        _ = stopped.changed() => true,
                    };
                    let t_ms = started.elapsed().as_millis() as u64;
                    let due = (t_ms as f64 / 1000.0 * load.rate) as u64;
                    {
                        let state = state.lock().unwrap();
                        while generator.snapshot.issued < due {
                            generator.send(&state, &load.service, t_ms);
                        }
                    }
                    generator.snapshot.to_ms = t_ms;
                    if !lines.send(to_text(&feed.line(&generator.snapshot))) || done {
                        // Dropping the sink ends the lines.
                        return;
                    }
                }
            });
            Ok(())
        })
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(stop) = self.stop.lock().unwrap().take() {
                let _ = stop.send(true);
            }
        })
    }
}
