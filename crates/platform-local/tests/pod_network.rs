//! Pods in network namespaces (`PodNetworkMode::Netns`): real namespaces,
//! veths, a bridge and nftables rules, with demo-app processes in them.
//!
//! They need root (to create namespaces) and `nft`; `cargo xtask test`
//! installs nftables. Without root they fail, unless
//! `CANARY_LAB_SKIP_NETNS=1` is set: then each says it was skipped.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use lab_core::object::Object;
use lab_core::platform::Platform;
use platform_local::{LocalConfig, LocalPlatform, PodNetworkMode};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Whether this test may create namespaces; fails when it may not, unless
/// skipping was asked for.
fn namespaces_allowed(test: &str) -> bool {
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if root {
        return true;
    }
    assert!(
        std::env::var_os("CANARY_LAB_SKIP_NETNS").is_some(),
        "{test} needs root to create network namespaces; set CANARY_LAB_SKIP_NETNS=1 to skip it"
    );
    eprintln!("skipped {test}: not root and CANARY_LAB_SKIP_NETNS is set");
    false
}

fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it first (cargo build -p {name})",
        path.display()
    );
    path
}

async fn start(dir: &tempfile::TempDir) -> LocalPlatform {
    LocalPlatform::start(LocalConfig {
        run_dir: dir.path().join("run"),
        demo_app: binary("demo-app"),
        prometheus: None,
        namespace: "canary-lab".into(),
        state_file: None,
        max_grace: Some(Duration::from_secs(2)),
        images: Default::default(),
        allow_pod_commands: false,
        pod_network: PodNetworkMode::Netns,
        proxy_sync_delay: Duration::ZERO,
    })
    .await
    .unwrap()
}

fn objects(replicas: i32) -> Vec<Object> {
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "my-app"},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "http"}], "selector": {"app": "my-app"}}
    });
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "my-app"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "my-app"}},
            "template": {
                "metadata": {"labels": {"app": "my-app", "version": "v1"}},
                "spec": {"containers": [{
                    "name": "my-app",
                    "image": "crisis513/strategies-test",
                    "ports": [{"name": "http", "containerPort": 8080}, {"name": "probe", "containerPort": 8086}],
                    "env": [{"name": "VERSION", "value": "v1"}, {"name": "DRAIN_PERIOD", "value": "200ms"}],
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": "probe"}, "periodSeconds": 1}
                }]}
            }
        }
    });
    vec![
        Object::Service(Box::new(
            serde_json::from_value::<Service>(service).unwrap(),
        )),
        Object::Deployment(Box::new(
            serde_json::from_value::<Deployment>(deployment).unwrap(),
        )),
    ]
}

/// One GET / on a new connection: the pod that answered (`Host: …`).
async fn host(url: &str) -> Option<String> {
    let address = url.trim_start_matches("http://");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: my-app\r\nConnection: close\r\n\r\n")
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(3), exchange)
        .await
        .ok()?
        .ok()?;
    let body = response.rsplit("\r\n\r\n").next()?;
    let (host, _) = body.trim().split_once(", ")?;
    Some(host.trim_start_matches("Host: ").to_string())
}

/// The pod network's names of block `octet` present on this machine.
fn names_of(octet: u8) -> Vec<String> {
    let prefix = format!("{}{octet}", platform_local::NAME_PREFIX);
    platform_local::present_names()
        .into_iter()
        .filter(|name| name == &prefix || name.starts_with(&format!("{prefix}-")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_translates_to_a_random_pod_per_connection_and_follows_its_endpoints() {
    if !namespaces_allowed("a_service_translates_to_a_random_pod_per_connection") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let platform = start(&dir).await;
    assert!(platform.pods_in_namespaces());
    let octet = platform.address_block();
    platform.apply(&objects(3)).await.unwrap();
    platform
        .wait_ready(&["my-app".to_string()], Duration::from_secs(30))
        .await
        .unwrap();
    for pod in platform.pods().await.unwrap() {
        assert!(
            pod.address.starts_with(&format!("10.244.{octet}.")),
            "{pod:?}"
        );
        // A lookup from the pod fails at once rather than waiting for the
        // machine's name server, which a pod address cannot reach.
        let last = pod.address.rsplit('.').next().unwrap();
        let namespace = format!("{}{octet}-{last}", platform_local::NAME_PREFIX);
        let resolver = std::fs::read_to_string(format!("/etc/netns/{namespace}/resolv.conf"))
            .unwrap_or_else(|e| panic!("{namespace}: {e}"));
        assert!(resolver.contains("nameserver 127.0.0.1"), "{resolver}");
    }
    let url = platform.service_url("my-app").await.unwrap();
    assert_eq!(url, format!("http://10.96.{octet}.1:80"));
    // Each new connection picks a pod at random among the endpoints the
    // rules hold, which follow the ready pods a moment after they change
    // (the last pod to become ready may not be among them yet): all three
    // answer within the bound.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut hosts = BTreeSet::new();
    let mut connections = 0;
    while hosts.len() < 3 {
        assert!(
            Instant::now() < deadline,
            "only {hosts:?} after {connections} connections"
        );
        hosts.insert(host(&url).await.expect("an answer through the Service"));
        connections += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Scaled to one pod, the rules follow the endpoints: soon every
    // connection reaches the one pod left, and none fails.
    platform.scale("my-app", 1).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut seen = BTreeSet::new();
        for _ in 0..20 {
            seen.insert(host(&url).await.unwrap_or_default());
        }
        if seen.len() == 1 && !seen.contains("") {
            break;
        }
        assert!(Instant::now() < deadline, "still reached {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!names_of(octet).is_empty(), "the lab's network exists");
    platform.shutdown().await;
    assert_eq!(names_of(octet), Vec::<String>::new(), "left after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_removes_what_a_crashed_lab_left_and_a_dropped_lab_leaves_nothing() {
    if !namespaces_allowed("a_start_removes_what_a_crashed_lab_left") {
        return;
    }
    // The leftovers of a lab on block 253, which no lab holds (blocks are
    // 16 to 250): a namespace, a bridge and an nft table.
    let dead = format!("{}253", platform_local::NAME_PREFIX);
    let run = |program: &str, args: &[&str], input: Option<&str>| {
        let mut command = Command::new(program);
        command.args(args).stdin(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        if let Some(input) = input {
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success(), "{program} {args:?}");
    };
    run("ip", &["netns", "add", &format!("{dead}-7")], None);
    run(
        "ip",
        &["link", "add", &format!("{dead}-br"), "type", "bridge"],
        None,
    );
    run(
        "nft",
        &["-f", "-"],
        Some(&format!("table ip {dead} {{}}\n")),
    );
    assert_eq!(names_of(253).len(), 3, "{:?}", names_of(253));
    let dir = tempfile::tempdir().unwrap();
    let platform = start(&dir).await;
    assert_eq!(names_of(253), Vec::<String>::new(), "left after a start");
    // A lab dropped without a shutdown (a panic in the harness) removes its
    // network too.
    let octet = platform.address_block();
    platform.apply(&objects(1)).await.unwrap();
    platform
        .wait_ready(&["my-app".to_string()], Duration::from_secs(30))
        .await
        .unwrap();
    assert!(names_of(octet).len() >= 3, "{:?}", names_of(octet));
    platform.teardown().await.unwrap();
    drop(platform);
    // The controllers' tasks, which hold the node, end at their next poll.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !names_of(octet).is_empty() {
        assert!(
            Instant::now() < deadline,
            "left after a drop: {:?}",
            names_of(octet)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
