//! The local platform's Service against its pod addressed directly: the
//! userspace listener of loopback pods, or (`service-nat-*`) the kernel's
//! address translation of pods in network namespaces.
//!
//! The platform runs in this process, as under `lab run`: the tutorial's Service
//! and its v1 Deployment scaled to one pod, so both sides reach the same demo-app
//! process and the difference is the Service's cost alone.

use super::load::{self, Connections, CpuPerAnswer, Tool};
use super::process::{self, CpuTimes};
use super::setup::{Bench, alternate};
use super::statistics::{Goal, Outcome};
use crate::shell;
use anyhow::Context as _;
use lab_core::object::Object;
use lab_core::platform::Platform;
use platform_local::{LocalConfig, LocalPlatform, PodNetworkMode};
use std::time::Duration;

/// Length of each throughput run unless `--duration` says otherwise.
const THROUGHPUT_RUN: Duration = Duration::from_secs(10);
/// The load tool: a public one, the same on both sides.
const TOOL: Tool = Tool::Oha;
/// The scenario and manifest the Service and Deployment come from.
const SCENARIO: &str = "canary";
const MANIFEST: &str = "app-v1.yaml";
const SERVICE: &str = "my-app";
const DEPLOYMENT: &str = "my-app-v1";
/// How long the pod may take to become ready (its readiness probe runs every 5 s).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

fn plan(bench: &Bench, connections: Connections, network: PodNetworkMode) -> Vec<String> {
    let duration = bench.duration_or(THROUGHPUT_RUN);
    let rounds = bench.rounds_or(super::setup::DEFAULT_ROUNDS);
    let mut lines = vec![format!(
        "# pod network {network}{}",
        match network {
            PodNetworkMode::Netns =>
                ": the pod in its own network namespace, the Service an nft DNAT rule                  (numgen random over the ready endpoints); needs root",
            _ => ": the pod on a loopback address, the Service a userspace listener",
        }
    )];
    lines.extend([
        format!(
            "# in this process, on a 2-worker tokio runtime as under `lab run`: the local platform \
             with lab/scenarios/{SCENARIO}/{MANIFEST} (Service {SERVICE}, Deployment {DEPLOYMENT} \
             scaled to 1 replica), pods running {}",
            bench.binary("demo-app").display()
        ),
        format!("# {rounds} rounds, alternating which goes first:"),
        load::shown(&load::command(
            &TOOL,
            "http://<service address>:80/",
            connections,
            duration,
        )),
        load::shown(&load::command(
            &TOOL,
            "http://<pod address>:8080/",
            connections,
            duration,
        )),
    ]);
    lines
}

/// The plan of `service-keepalive`.
pub fn keepalive_plan(bench: &Bench) -> Vec<String> {
    plan(bench, Connections::KeepAlive, PodNetworkMode::Loopback)
}

/// The plan of `service-newconn`.
pub fn newconn_plan(bench: &Bench) -> Vec<String> {
    plan(bench, Connections::PerRequest, PodNetworkMode::Loopback)
}

/// The plan of `service-nat-keepalive`.
pub fn nat_keepalive_plan(bench: &Bench) -> Vec<String> {
    plan(bench, Connections::KeepAlive, PodNetworkMode::Netns)
}

/// The plan of `service-nat-newconn`.
pub fn nat_newconn_plan(bench: &Bench) -> Vec<String> {
    plan(bench, Connections::PerRequest, PodNetworkMode::Netns)
}

/// The Service and the Deployment with one replica.
fn objects() -> anyhow::Result<Vec<Object>> {
    let root = shell::repo_root();
    let dir = lab_runner::scenario_dir::shipped(&root, SCENARIO);
    let scenario = lab_runner::load_scenario(&dir, &format!("lab/scenarios/{SCENARIO}"))?;
    let manifest = scenario
        .manifest(MANIFEST)
        .with_context(|| format!("lab/scenarios/{SCENARIO} has no {MANIFEST}"))?;
    let mut objects = manifest.objects.clone();
    for object in &mut objects {
        if let Object::Deployment(deployment) = object
            && let Some(spec) = deployment.spec.as_mut()
        {
            spec.replicas = Some(1);
        }
    }
    Ok(objects)
}

/// What a bench runs on the local platform: its objects, the Deployment of
/// one pod, where traffic enters (a Service or a Gateway) and the Service
/// whose endpoint is that pod.
pub(super) struct Setup<'a> {
    pub objects: Vec<Object>,
    pub deployment: &'a str,
    pub entry: &'a str,
    pub backend: &'a str,
}

/// A local platform running one pod behind a Service (or a Gateway), shut
/// down when dropped.
pub(super) struct LocalService {
    pub runtime: tokio::runtime::Runtime,
    pub platform: LocalPlatform,
    /// Where traffic enters, with a trailing `/`.
    pub service_url: String,
    /// The pod addressed directly, with a trailing `/`.
    pub pod_url: String,
}

impl LocalService {
    fn start(bench: &Bench, network: PodNetworkMode) -> anyhow::Result<LocalService> {
        let setup = Setup {
            objects: objects()?,
            deployment: DEPLOYMENT,
            entry: SERVICE,
            backend: SERVICE,
        };
        LocalService::start_with(bench, network, setup)
    }

    /// Start the platform with `setup`'s objects and wait for its one pod.
    pub(super) fn start_with(
        bench: &Bench,
        network: PodNetworkMode,
        setup: Setup<'_>,
    ) -> anyhow::Result<LocalService> {
        let Setup {
            objects,
            deployment,
            entry,
            backend,
        } = setup;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("could not start the async runtime")?;
        let run_dir = process::fresh_dir(&bench.scratch, "service")?;
        let platform = runtime.block_on(LocalPlatform::start(LocalConfig {
            run_dir,
            demo_app: bench.binary("demo-app"),
            prometheus: None,
            namespace: "canary-lab".to_string(),
            state_file: None,
            max_grace: Some(Duration::from_secs(2)),
            proxy_sync_delay: platform_local::DEFAULT_PROXY_SYNC_DELAY,
            images: Default::default(),
            allow_pod_commands: false,
            pod_network: network,
        }))?;
        // From here on, dropping `service` shuts the platform down.
        let mut service = LocalService {
            runtime,
            platform,
            service_url: String::new(),
            pod_url: String::new(),
        };
        let platform = service.platform.clone();
        let (service_url, endpoints) = service.runtime.block_on(async {
            platform.apply(&objects).await?;
            platform
                .wait_ready(&[deployment.to_string()], READY_TIMEOUT)
                .await?;
            let url = platform.service_url(entry).await?;
            let endpoints = platform.endpoints(backend).await?;
            anyhow::Ok((url, endpoints))
        })?;
        let [endpoint] = endpoints.as_slice() else {
            anyhow::bail!("expected one ready endpoint, found {}", endpoints.len());
        };
        service.service_url = format!("{service_url}/");
        service.pod_url = format!("http://{}/", endpoint.address);
        Ok(service)
    }
}

impl Drop for LocalService {
    fn drop(&mut self) {
        self.runtime.block_on(self.platform.shutdown());
    }
}

fn throughput(
    bench: &Bench,
    connections: Connections,
    network: PodNetworkMode,
) -> anyhow::Result<Outcome> {
    let duration = bench.duration_or(THROUGHPUT_RUN);
    let rounds = bench.rounds_or(super::setup::DEFAULT_ROUNDS);
    let lab = LocalService::start(bench, network)?;
    let urls = [lab.service_url.clone(), lab.pod_url.clone()];
    let pod_pid = match lab.platform.pids().as_slice() {
        [pid] => pid.to_string(),
        pids => anyhow::bail!("expected one pod process, found {pids:?}"),
    };
    let mut failures = [0u64; 2];
    // CPU per answer of the client, the pod, and this process (the listener).
    let mut cpu = [[CpuPerAnswer::default(); 3]; 2];
    let sides = alternate(rounds, ["service", "pod"], |side, _| {
        let (listener, pod) = (CpuTimes::of("self"), CpuTimes::of(&pod_pid));
        let run = load::measure(&TOOL, &urls[side], connections, duration)?;
        let listener = CpuTimes::of("self")
            .zip(listener)
            .map(|(b, a)| b.since(a).own);
        let pod = CpuTimes::of(&pod_pid).zip(pod).map(|(b, a)| b.since(a).own);
        failures[side] += run.failed;
        cpu[side][0].add(run.cpu_seconds, run.answered);
        cpu[side][1].add(pod.unwrap_or(0.0), run.answered);
        cpu[side][2].add(listener.unwrap_or(0.0), run.answered);
        Ok(run.answered_per_second)
    })?;
    let stats = lab.platform.service_stats(SERVICE).unwrap_or_default();
    drop(lab);
    let mut notes = vec![format!(
        "pod network {network}: service {} and pod {}",
        urls[0].trim_end_matches('/'),
        urls[1].trim_end_matches('/')
    )];
    for (name, [client, pod, listener]) in ["service", "pod"].iter().zip(cpu) {
        notes.push(format!(
            "CPU per answer through the {name}: {} {}, pod {}, this process (listener and platform) {}",
            TOOL.name(),
            client.text(),
            pod.text(),
            listener.text()
        ));
    }
    for (version, s) in &stats {
        notes.push(format!(
            "the listener sent {} connections to {version}: {} failed to connect, {} got no reply",
            s.connections, s.connect_failures, s.empty_replies
        ));
    }
    for (name, failed) in ["service", "pod"].iter().zip(failures) {
        if failed > 0 {
            notes.push(format!(
                "{} saw {failed} failed requests through the {name} over all rounds",
                TOOL.name()
            ));
        }
    }
    let (service, goal) = match network {
        PodNetworkMode::Netns => (
            "the local platform's Service as nftables DNAT (pods in network namespaces)",
            0.9,
        ),
        _ => (
            "the local platform's Service (a listener in this process, 2 tokio workers)",
            0.85,
        ),
    };
    Ok(Outcome {
        setup: format!(
            "{}, closed loop, {}, {} s per run, {rounds} round(s); {service} in front of one \
             release demo-app pod, vs that pod",
            TOOL.name(),
            connections.describe(),
            duration.as_secs_f64()
        ),
        metric: "answered requests/s".to_string(),
        sides,
        goal: Goal::RatioAtLeast { ratio: goal },
        notes,
    })
}

/// Service vs pod with kept-alive connections.
pub fn keepalive(bench: &Bench) -> anyhow::Result<Outcome> {
    throughput(bench, Connections::KeepAlive, PodNetworkMode::Loopback)
}

/// Service vs pod with a new connection per request.
pub fn newconn(bench: &Bench) -> anyhow::Result<Outcome> {
    throughput(bench, Connections::PerRequest, PodNetworkMode::Loopback)
}

/// The NAT Service vs its pod in a network namespace, kept-alive connections.
pub fn nat_keepalive(bench: &Bench) -> anyhow::Result<Outcome> {
    throughput(bench, Connections::KeepAlive, PodNetworkMode::Netns)
}

/// The NAT Service vs its pod in a network namespace, a new connection per request.
pub fn nat_newconn(bench: &Bench) -> anyhow::Result<Outcome> {
    throughput(bench, Connections::PerRequest, PodNetworkMode::Netns)
}
