//! The latency the local gateway adds: the median latency of requests through
//! a Gateway and an HTTPRoute to one pod, against the same pod addressed
//! directly, measured side by side with one kept-alive connection (no
//! queueing, so the difference is the gateway's own work per request).

use super::load::{self, Run};
use super::service::{LocalService, Setup};
use super::setup::{Bench, alternate};
use super::statistics::{Goal, Outcome, Stats};
use crate::{prereq, shell};
use anyhow::Context as _;
use lab_core::object::Object;
use platform_local::PodNetworkMode;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Length of each latency run unless `--duration` says otherwise.
const LATENCY_RUN: Duration = Duration::from_secs(5);
/// The scenario the Gateway, the route and the Deployment come from.
const SCENARIO: &str = "canary-weighted";
const MANIFESTS: [&str; 3] = ["app-v1.yaml", "gateway.yaml", "route-v1.yaml"];
const GATEWAY: &str = "my-gateway";
const SERVICE: &str = "my-app-v1";
const DEPLOYMENT: &str = "my-app-v1";
/// The most the gateway may add to the median.
const LIMIT_MS: f64 = 1.0;
/// How long the route may take to answer through the gateway.
const ROUTE_TIMEOUT: Duration = Duration::from_secs(20);

fn oha(url: &str, duration: Duration) -> Command {
    let program = prereq::find(prereq::OHA.binary).unwrap_or_else(|| PathBuf::from("oha"));
    let mut command = Command::new(program);
    command.args(["--no-tui", "--output-format", "json", "-c", "1", "-z"]);
    command.arg(format!("{}ms", duration.as_millis()));
    command.arg(url);
    command
}

/// The plan of `gateway-latency`.
pub fn latency_plan(bench: &Bench) -> Vec<String> {
    let duration = bench.duration_or(LATENCY_RUN);
    let rounds = bench.rounds_or(super::setup::DEFAULT_ROUNDS);
    vec![
        format!(
            "# in this process, on a 2-worker tokio runtime as under `lab run`: the local platform \
             with lab/scenarios/{SCENARIO}/{{{}}} (Gateway {GATEWAY}, an HTTPRoute to Service \
             {SERVICE}, Deployment {DEPLOYMENT} scaled to 1 replica), pods running {}",
            MANIFESTS.join(","),
            bench.binary("demo-app").display()
        ),
        format!(
            "# {rounds} rounds, alternating which goes first; each round's sample is the gateway's \
             median minus the pod's:"
        ),
        shell::display(&oha("http://<gateway address>:80/", duration)),
        shell::display(&oha("http://<pod address>:8080/", duration)),
    ]
}

/// The Gateway, its route and the v1 Deployment with one replica.
fn objects() -> anyhow::Result<Vec<Object>> {
    let root = shell::repo_root();
    let dir = lab_runner::scenario_dir::shipped(&root, SCENARIO);
    let scenario = lab_runner::load_scenario(&dir, &format!("lab/scenarios/{SCENARIO}"))?;
    let mut objects = Vec::new();
    for name in MANIFESTS {
        let manifest = scenario
            .manifest(name)
            .with_context(|| format!("lab/scenarios/{SCENARIO} has no {name}"))?;
        objects.extend(manifest.objects.iter().cloned());
    }
    for object in &mut objects {
        if let Object::Deployment(deployment) = object
            && let Some(spec) = deployment.spec.as_mut()
        {
            spec.replicas = Some(1);
        }
    }
    Ok(objects)
}

/// Wait until the gateway answers a request with a 2xx through the route.
fn wait_for_route(lab: &LocalService) -> anyhow::Result<()> {
    let address = lab
        .service_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let started = Instant::now();
    lab.runtime.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let mut answer = String::new();
            if let Ok(mut stream) = tokio::net::TcpStream::connect(&address).await {
                let request =
                    format!("GET / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
                if stream.write_all(request.as_bytes()).await.is_ok() {
                    let mut bytes = Vec::new();
                    let read = tokio::time::timeout(
                        Duration::from_secs(2),
                        stream.read_to_end(&mut bytes),
                    )
                    .await;
                    if matches!(read, Ok(Ok(_))) {
                        answer = String::from_utf8_lossy(&bytes).into_owned();
                    }
                }
            }
            if answer.starts_with("HTTP/1.1 2") {
                return Ok(());
            }
            if started.elapsed() > ROUTE_TIMEOUT {
                anyhow::bail!(
                    "the gateway at {address} did not answer through its route within {}s: {}",
                    ROUTE_TIMEOUT.as_secs(),
                    answer.lines().next().unwrap_or("no answer")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Gateway vs pod: the median latency the gateway adds.
pub fn latency(bench: &Bench) -> anyhow::Result<Outcome> {
    let duration = bench.duration_or(LATENCY_RUN);
    let rounds = bench.rounds_or(super::setup::DEFAULT_ROUNDS);
    let setup = Setup {
        objects: objects()?,
        deployment: DEPLOYMENT,
        entry: GATEWAY,
        backend: SERVICE,
    };
    let lab = LocalService::start_with(bench, PodNetworkMode::Loopback, setup)?;
    wait_for_route(&lab)?;
    let urls = [lab.service_url.clone(), lab.pod_url.clone()];
    let mut medians: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut failures = [0u64; 2];
    let mut answered = [0u64; 2];
    let measure = |url: &str| -> anyhow::Result<Run> {
        let mut command = oha(url, duration);
        let shown = shell::display(&command);
        let output = load::stdout_of(&mut command)?;
        load::read_oha(&output).with_context(|| format!("the output of {shown}"))
    };
    // Each round measures both sides back to back; its sample is the
    // difference of their medians.
    let mut round_sides: Vec<[Option<f64>; 2]> = vec![[None, None]; rounds];
    alternate(rounds, ["gateway", "pod"], |side, round| {
        let run = measure(&urls[side])?;
        failures[side] += run.failed;
        answered[side] += run.answered;
        let p50 = run.p50_ms.context("oha reported no median latency")?;
        medians[side].push(p50);
        round_sides[round as usize - 1][side] = Some(p50);
        Ok(p50)
    })?;
    drop(lab);
    let added: Vec<f64> = round_sides
        .iter()
        .filter_map(|[gateway, pod]| Some(gateway.as_ref()? - pod.as_ref()?))
        .collect();
    let mut notes = vec![format!(
        "gateway {} and pod {}; {} and {} answers over all rounds",
        urls[0].trim_end_matches('/'),
        urls[1].trim_end_matches('/'),
        answered[0],
        answered[1]
    )];
    for (name, values) in ["gateway", "pod"].iter().zip(&medians) {
        let stats = Stats::of(values);
        notes.push(format!(
            "median latency through the {name}: {:.3} ms (rounds {:.3}–{:.3} ms)",
            stats.median, stats.min, stats.max
        ));
    }
    for (name, failed) in ["gateway", "pod"].iter().zip(failures) {
        if failed > 0 {
            notes.push(format!(
                "oha saw {failed} failed requests through the {name} over all rounds"
            ));
        }
    }
    Ok(Outcome {
        setup: format!(
            "oha, closed loop, 1 kept-alive connection, {} s per run, {rounds} round(s); the local \
             gateway (a Gateway and an HTTPRoute, in this process, 2 tokio workers) in front of \
             one release demo-app pod, vs that pod",
            duration.as_secs_f64()
        ),
        metric: "ms added to the median latency".to_string(),
        sides: vec![super::statistics::Side::new("gateway - pod", added)],
        goal: Goal::AtMost { limit: LIMIT_MS },
        notes,
    })
}
