//! The local platform with real demo-app processes on loopback.
//!
//! These tests start the `demo-app` binary; `cargo xtask test` builds it first.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use lab_core::object::{Object, ObjectKind};
use lab_core::platform::{Platform, PlatformError};
use platform_local::image_map::ImageMap;
use platform_local::{LocalConfig, LocalPlatform, PrometheusConfig};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The workspace's target directory holds the binaries next to `deps/`.
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it first (cargo build -p {name}, or run cargo xtask test)",
        path.display()
    );
    path
}

fn prometheus_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("prometheus"))
        .find(|p| p.is_file())
        .expect("prometheus is not on PATH: cargo xtask test installs it")
}

struct Lab {
    platform: LocalPlatform,
    _dir: tempfile::TempDir,
}

async fn lab(prometheus: bool) -> Lab {
    lab_mapping(prometheus, None).await
}

/// A lab whose mapping file (written beside it) holds `mapping`.
async fn lab_mapping(prometheus: bool, mapping: Option<&str>) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let images = match mapping {
        Some(text) => {
            let path = dir.path().join("images.toml");
            std::fs::write(&path, text).unwrap();
            ImageMap::parse(&path, text).unwrap()
        }
        None => ImageMap::default(),
    };
    let config = LocalConfig {
        run_dir: dir.path().join("run"),
        demo_app: binary("demo-app"),
        prometheus: prometheus.then(|| PrometheusConfig::Start {
            binary: prometheus_binary(),
            scrape_interval: Duration::from_secs(1),
        }),
        namespace: "canary-lab".into(),
        state_file: Some(dir.path().join("state.json")),
        max_grace: Some(Duration::from_secs(5)),
        images,
        allow_pod_commands: false,
    };
    let platform = LocalPlatform::start(config).await.unwrap();
    Lab {
        platform,
        _dir: dir,
    }
}

fn deployment(
    name: &str,
    version: &str,
    replicas: i32,
    extra_env: &[(&str, &str)],
    strategy: serde_json::Value,
) -> Object {
    let mut env = vec![
        json!({"name": "VERSION", "value": version}),
        json!({"name": "DRAIN_PERIOD", "value": "200ms"}),
    ];
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v})),
    );
    let value = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": "my-app"}},
        "spec": {
            "replicas": replicas,
            "strategy": strategy,
            "selector": {"matchLabels": {"app": "my-app", "version": version}},
            "template": {
                "metadata": {
                    "labels": {"app": "my-app", "version": version},
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9101"}
                },
                "spec": {
                    "containers": [{
                        "name": "my-app",
                        "image": "crisis513/strategies-test",
                        "ports": [{"name": "http", "containerPort": 8080}, {"name": "probe", "containerPort": 8086}],
                        "env": env,
                        "livenessProbe": {"httpGet": {"path": "/live", "port": "probe"}, "initialDelaySeconds": 5, "periodSeconds": 5},
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": "probe"}, "periodSeconds": 1}
                    }]
                }
            }
        }
    });
    Object::Deployment(Box::new(
        serde_json::from_value::<Deployment>(value).unwrap(),
    ))
}

fn service(selector: serde_json::Value) -> Object {
    let value = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "my-app"},
        "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "targetPort": "http"}], "selector": selector}
    });
    Object::Service(Box::new(serde_json::from_value::<Service>(value).unwrap()))
}

/// The Service listening on `port` (a free one, so it is honoured as non-root).
fn service_on_port(port: u16) -> Object {
    let mut object = service(json!({"app": "my-app"}));
    if let Object::Service(service) = &mut object {
        service.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = i32::from(port);
    }
    object
}

/// Whether a connection to `url` is refused: nothing listens there.
async fn refused(url: &str) -> bool {
    let address = url.trim_start_matches("http://");
    matches!(
        tokio::net::TcpStream::connect(address).await,
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

/// Wait until nothing listens at `url`; panics after `limit`.
async fn until_refused(url: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    while !refused(url).await {
        assert!(
            start.elapsed() < limit,
            "{url} still accepts after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

fn rolling(surge: i32, unavailable: i32) -> serde_json::Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
}

/// One GET / on a new connection; returns the body.
async fn get(url: &str) -> std::io::Result<String> {
    let address = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: my-app\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}

/// Tally `n` requests by the `Host: …, Version: …` line of each body.
async fn tally(url: &str, n: usize) -> (BTreeMap<String, usize>, BTreeSet<String>, usize) {
    let mut versions = BTreeMap::new();
    let mut hosts = BTreeSet::new();
    let mut failures = 0;
    for _ in 0..n {
        match tokio::time::timeout(Duration::from_secs(5), get(url)).await {
            Ok(Ok(response)) if response.starts_with("HTTP/1.1 200") => {
                let body = response.rsplit("\r\n\r\n").next().unwrap_or("");
                let (host, version) = body.trim().split_once(", ").unwrap();
                hosts.insert(host.trim_start_matches("Host: ").to_string());
                *versions
                    .entry(version.trim_start_matches("Version: ").to_string())
                    .or_default() += 1;
            }
            _ => failures += 1,
        }
    }
    (versions, hosts, failures)
}

async fn endpoint_versions(platform: &LocalPlatform) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for endpoint in platform.endpoints("my-app").await.unwrap() {
        *counts.entry(endpoint.version).or_default() += 1;
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

const TIMEOUT: Duration = Duration::from_secs(20);

/// The Service (selecting `app: my-app`) and a Deployment of v1, ready.
async fn serve_v1(p: &LocalPlatform, name: &str, replicas: i32, strategy: serde_json::Value) {
    p.apply(&[
        service(json!({"app": "my-app"})),
        deployment(name, "v1.0.0", replicas, &[], strategy),
    ])
    .await
    .unwrap();
    p.wait_ready(&[name.into()], TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tutorial_canary_splits_traffic_by_ready_pods() {
    let lab = lab(false).await;
    let p = &lab.platform;
    serve_v1(p, "my-app-v1", 10, rolling(1, 0)).await;
    assert_eq!(endpoint_versions(p).await, counts(&[("v1.0.0", 10)]));

    let url = p.service_url("my-app").await.unwrap();
    let (versions, hosts, failures) = tally(&url, 200).await;
    assert_eq!((versions, failures), (counts(&[("v1.0.0", 200)]), 0));
    // Random per connection: 200 requests over 10 pods reach nearly all of them.
    assert!(hosts.len() >= 9, "only {} pods answered", hosts.len());

    p.apply(&[deployment("my-app-v2", "v2.0.0", 1, &[], rolling(1, 0))])
        .await
        .unwrap();
    p.scale("my-app-v1", 9).await.unwrap();
    p.wait_ready(&["my-app-v1".into(), "my-app-v2".into()], TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        endpoint_versions(p).await,
        counts(&[("v1.0.0", 9), ("v2.0.0", 1)])
    );
    let (versions, _, failures) = tally(&url, 400).await;
    assert_eq!(failures, 0);
    // 10% of 400: a binomial(400, 0.1) lies in 15..=70 except once in 10^7 runs.
    let v2 = versions.get("v2.0.0").copied().unwrap_or(0);
    assert!((15..=70).contains(&v2), "v2 got {v2} of 400");

    p.scale("my-app-v2", 10).await.unwrap();
    p.delete(ObjectKind::Deployment, "my-app-v1").await.unwrap();
    p.wait_ready(&["my-app-v2".into()], TIMEOUT).await.unwrap();
    assert_eq!(endpoint_versions(p).await, counts(&[("v2.0.0", 10)]));
    let (versions, _, failures) = tally(&url, 100).await;
    assert_eq!((versions, failures), (counts(&[("v2.0.0", 100)]), 0));

    let pids = p.pids();
    assert!(!pids.is_empty());
    p.shutdown().await;
    for pid in pids {
        assert!(
            !platform_local::statefile::alive(pid),
            "pid {pid} outlived shutdown"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_update_keeps_every_replica_available() {
    let lab = lab(false).await;
    let p = &lab.platform;
    serve_v1(p, "my-app", 4, rolling(1, 0)).await;
    p.apply(&[deployment("my-app", "v2.0.0", 4, &[], rolling(1, 0))])
        .await
        .unwrap();
    let start = Instant::now();
    let mut seen_mixed = false;
    loop {
        let endpoints = endpoint_versions(p).await;
        let total: usize = endpoints.values().sum();
        assert!(
            total >= 4,
            "only {total} ready endpoints during the rollout: {endpoints:?}"
        );
        seen_mixed |= endpoints.len() == 2;
        if endpoints == counts(&[("v2.0.0", 4)]) {
            break;
        }
        assert!(start.elapsed() < TIMEOUT, "rollout stuck at {endpoints:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        seen_mixed,
        "never saw both versions serving during the rollout"
    );
    p.wait_ready(&["my-app".into()], TIMEOUT).await.unwrap();
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_stops_every_old_pod_before_starting_new_ones() {
    let lab = lab(false).await;
    let p = &lab.platform;
    let recreate = json!({"type": "Recreate"});
    serve_v1(p, "my-app", 3, recreate.clone()).await;
    p.apply(&[deployment("my-app", "v2.0.0", 3, &[], recreate)])
        .await
        .unwrap();
    let start = Instant::now();
    let mut saw_gap = false;
    loop {
        let pods = p.pods().await.unwrap();
        let versions: BTreeSet<&str> = pods
            .iter()
            .filter(|p| !p.terminating)
            .map(|p| p.version.as_str())
            .collect();
        assert!(
            versions.len() <= 1,
            "old and new pods ran together: {pods:?}"
        );
        saw_gap |= endpoint_versions(p).await.is_empty();
        if endpoint_versions(p).await == counts(&[("v2.0.0", 3)]) {
            break;
        }
        assert!(start.elapsed() < TIMEOUT, "recreate stuck");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        saw_gap,
        "recreate should leave the Service without endpoints for a while"
    );
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_pod_leaves_the_endpoints_and_comes_back_after_back_off() {
    let lab = lab(false).await;
    let p = &lab.platform;
    serve_v1(p, "my-app-v1", 2, rolling(1, 0)).await;
    let victim = p.pods().await.unwrap()[0].name.clone();
    p.kill_pod(&victim).await.unwrap();
    let start = Instant::now();
    // It leaves the endpoints as soon as its process is gone.
    while endpoint_versions(p).await != counts(&[("v1.0.0", 1)]) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "killed pod still an endpoint"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The kubelet's first back-off is 10 s; then it is ready again, restarted once.
    p.wait_ready(&["my-app-v1".into()], Duration::from_secs(20))
        .await
        .unwrap();
    let pod = p
        .pods()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == victim)
        .unwrap();
    assert_eq!((pod.restarts, pod.ready), (1, true));
    assert!(
        start.elapsed() >= Duration::from_secs(9),
        "restarted before the back-off"
    );
    let events = p.take_events().await;
    assert!(
        events
            .iter()
            .any(|e| e.reason == "BackOff" && e.object.ends_with(&victim)),
        "{events:?}"
    );
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_grace_period_cuts_a_long_drain_short() {
    let lab = lab(false).await;
    let p = &lab.platform;
    // A drain of 20 s inside the pod's grace of 30 s (the lab's cap here is 5 s).
    p.apply(&[deployment(
        "my-app-v1",
        "v1.0.0",
        2,
        &[("DRAIN_PERIOD", "20s")],
        rolling(1, 0),
    )])
    .await
    .unwrap();
    p.wait_ready(&["my-app-v1".into()], TIMEOUT).await.unwrap();
    let pids = p.pids();
    assert_eq!(pids.len(), 2, "{pids:?}");
    p.limit_grace(Duration::from_millis(300));
    // Only ever lowers it.
    p.limit_grace(Duration::from_secs(60));
    let start = Instant::now();
    p.teardown().await.unwrap();
    for pid in &pids {
        while platform_local::statefile::alive(*pid) {
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "pid {pid} still runs: the limit did not apply"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_never_gets_ready_times_out_naming_it() {
    let lab = lab(false).await;
    let p = &lab.platform;
    p.apply(&[deployment(
        "my-app-v2",
        "v2.0.0",
        1,
        &[("NEVER_READY", "true")],
        rolling(1, 0),
    )])
    .await
    .unwrap();
    let error = p
        .wait_ready(&["my-app-v2".into()], Duration::from_secs(2))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        PlatformError::Timeout {
            waited: Duration::from_secs(2),
            not_ready: vec!["deployment my-app-v2: 0/1 ready, 1 updated".into()],
        }
    );
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmapped_images_are_refused_before_anything_starts() {
    let lab = lab(false).await;
    let p = &lab.platform;
    let mut object = deployment("web", "v1", 1, &[], rolling(1, 0));
    if let Object::Deployment(d) = &mut object {
        d.spec
            .as_mut()
            .unwrap()
            .template
            .spec
            .as_mut()
            .unwrap()
            .containers[0]
            .image = Some("nginx:1.27".into());
    }
    let error = p
        .apply(&[service(json!({"app": "my-app"})), object])
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("Deployment web: image \"nginx:1.27\" is not mapped to a local program; map it in .canary-lab/images.toml"),
        "{error}"
    );
    // Nothing was applied: not even the Service that came first.
    assert!(p.service_url("my-app").await.is_err());
    p.shutdown().await;
}

/// An HTTP server in Python that answers with its arguments and two env vars.
const ECHO_SERVER: &str = r#"
import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = "|".join(sys.argv[1:] + [os.environ["GREETING"], os.environ["WHERE"], os.getcwd()]).encode()
        self.send_response(200)
        self.send_header("X-Version", "v1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
HTTPServer((os.environ["POD_IP"], 8080), H).serve_forever()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_image_runs_its_program_with_expanded_args_and_the_downward_api() {
    let mapping = format!(
        "[[images]]\nimage = \"example.com/echo\"\ncommand = [\"python3\", \"-c\", {ECHO_SERVER:?}]\n"
    );
    let lab = lab_mapping(false, Some(&mapping)).await;
    let p = &lab.platform;
    let value = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "echo"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "my-app"}},
            "template": {
                "metadata": {"labels": {"app": "my-app", "version": "v1"}},
                "spec": {"containers": [{
                    "name": "echo",
                    "image": "example.com/echo:v1",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "args": ["$(POD_IP)", "$$(POD_IP)", "$(UNDEFINED)"],
                    "env": [
                        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        {"name": "GREETING", "value": "hello $(POD_NAME)"},
                        {"name": "WHERE", "value": "$(NS)"}
                    ],
                    "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 1}
                }]}
            }
        }
    });
    let object = Object::Deployment(Box::new(
        serde_json::from_value::<Deployment>(value).unwrap(),
    ));
    p.apply(&[service(json!({"app": "my-app"})), object])
        .await
        .unwrap();
    p.wait_ready(&["echo".into()], TIMEOUT).await.unwrap();
    let url = p.service_url("my-app").await.unwrap();
    let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let parts: Vec<&str> = body.split('|').collect();
    let [ip, escaped, undefined, greeting, namespace, cwd] = parts.as_slice() else {
        panic!("{body}");
    };
    assert!(ip.starts_with("127."), "{body}");
    assert_eq!((*escaped, *undefined), ("$(POD_IP)", "$(UNDEFINED)"));
    assert!(greeting.starts_with("hello echo-"), "{body}");
    assert_eq!(*namespace, "canary-lab");
    // The program runs in its mapping file's directory.
    assert_eq!(
        std::fs::canonicalize(cwd).unwrap(),
        std::fs::canonicalize(lab._dir.path()).unwrap()
    );
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_every_pod_with_the_cluster_labels() {
    let lab = lab(true).await;
    let p = &lab.platform;
    serve_v1(p, "my-app-v1", 2, rolling(1, 0)).await;
    let prometheus = p.urls().prometheus.expect("prometheus runs");
    assert!(prometheus.starts_with("http://127.0.0.1:"), "{prometheus}");
    let pods: BTreeSet<String> = p
        .pods()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    let client = reqwest::Client::new();
    let start = Instant::now();
    loop {
        let targets: serde_json::Value = client
            .get(format!("{prometheus}/api/v1/targets"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let up: BTreeSet<String> = targets["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["health"] == "up")
            .inspect(|t| {
                let labels = &t["labels"];
                assert_eq!(labels["app"], "my-app");
                assert_eq!(labels["version"], "v1.0.0");
                assert_eq!(labels["namespace"], "canary-lab");
                assert_eq!(labels["job"], "kubernetes-pods");
            })
            .map(|t| t["labels"]["pod"].as_str().unwrap().to_string())
            .collect();
        if up == pods {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "targets up {up:?}, pods {pods:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let pids = p.pids();
    assert_eq!(pids.len(), 3, "two pods and Prometheus");
    p.shutdown().await;
    for pid in pids {
        assert!(
            !platform_local::statefile::alive(pid),
            "pid {pid} outlived shutdown"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_stops_marked_processes_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("run").display().to_string();
    let mut orphan = std::process::Command::new("sleep")
        .arg("60")
        .env(platform_local::statefile::MARKER_VAR, &marker)
        .spawn()
        .unwrap();
    let pid = orphan.id();
    let start = Instant::now();
    while !platform_local::statefile::marked_processes(&marker).contains(&pid) {
        assert!(start.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let report = platform_local::statefile::cleanup(None, &marker, Duration::from_secs(2)).await;
    assert_eq!(report.terminated, vec![pid]);
    let status = orphan.wait().unwrap();
    assert!(!status.success());
    // A second cleanup finds nothing: idempotent.
    let again = platform_local::statefile::cleanup(None, &marker, Duration::from_secs(2)).await;
    assert!(again.terminated.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_service_reopens_and_a_deleted_one_stops_accepting() {
    let lab = lab(false).await;
    let p = &lab.platform;
    p.apply(&[
        service_on_port(18080),
        deployment("my-app-v1", "v1.0.0", 1, &[], rolling(1, 0)),
    ])
    .await
    .unwrap();
    p.wait_ready(&["my-app-v1".into()], TIMEOUT).await.unwrap();
    let first = p.service_url("my-app").await.unwrap();
    assert!(first.ends_with(":18080"), "{first}");
    assert_eq!(tally(&first, 5).await.0, counts(&[("v1.0.0", 5)]));

    // The Deployment's event comes before what the controllers did about it.
    let events = p.take_events().await;
    let position = |reason: &str, object: &str| {
        events
            .iter()
            .position(|e| e.reason == reason && e.object.starts_with(object))
            .unwrap_or_else(|| panic!("no {reason} event of {object}: {events:#?}"))
    };
    assert!(position("Applied", "deployment/my-app-v1") < position("Scheduled", "pod/my-app-v1"));

    // The same ports again: the same listener.
    p.apply(&[service_on_port(18080)]).await.unwrap();
    assert_eq!(p.service_url("my-app").await.unwrap(), first);

    // Another port: a new listener there, and the old one closed by the time
    // the apply returns (or a moment later, as a closed socket settles).
    p.apply(&[service_on_port(18081)]).await.unwrap();
    let second = p.service_url("my-app").await.unwrap();
    assert!(second.ends_with(":18081"), "{second}");
    until_refused(&first, Duration::from_millis(500)).await;
    assert_eq!(tally(&second, 5).await.0, counts(&[("v1.0.0", 5)]));

    // Deleted: it stops accepting at once, and is gone.
    p.delete(ObjectKind::Service, "my-app").await.unwrap();
    until_refused(&second, Duration::from_millis(500)).await;
    assert!(matches!(
        p.service_url("my-app").await,
        Err(PlatformError::NotFound { .. })
    ));
    p.shutdown().await;
}
