//! The local gateway with real demo-app processes on loopback: weights,
//! header matches, mirrors and route status.
//!
//! These tests start the `demo-app` binary; `cargo xtask test` builds it first.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use lab_core::object::Object;
use lab_core::platform::Platform;
use platform_local::image_map::ImageMap;
use platform_local::{DEFAULT_PROXY_SYNC_DELAY, LocalConfig, LocalPlatform, PodNetworkMode};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it first",
        path.display()
    );
    path
}

const TIMEOUT: Duration = Duration::from_secs(20);

/// v1 and v2 of the demo app, each ready behind its own Service, and the
/// Gateway `my-gateway`; returns the platform and the gateway's URL.
async fn two_versions(dir: &tempfile::TempDir) -> (LocalPlatform, String) {
    let config = LocalConfig {
        run_dir: dir.path().join("run"),
        demo_app: binary("demo-app"),
        prometheus: None,
        namespace: "canary-lab".into(),
        state_file: Some(dir.path().join("state.json")),
        max_grace: Some(Duration::from_secs(2)),
        images: ImageMap::default(),
        allow_pod_commands: false,
        pod_network: PodNetworkMode::Loopback,
        proxy_sync_delay: DEFAULT_PROXY_SYNC_DELAY,
    };
    let platform = LocalPlatform::start(config).await.unwrap();
    let mut objects = Vec::new();
    for version in ["v1", "v2"] {
        objects.push(service(version));
        objects.push(deployment(version));
    }
    objects.push(object(json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "my-gateway"},
        "spec": {"gatewayClassName": "nginx", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}
    })));
    platform.apply(&objects).await.unwrap();
    platform
        .wait_ready(&["my-app-v1".into(), "my-app-v2".into()], TIMEOUT)
        .await
        .unwrap();
    let url = platform.service_url("my-gateway").await.unwrap();
    (platform, url)
}

fn deployment(version: &str) -> Object {
    let value = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": format!("my-app-{version}")},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "my-app", "version": version}},
            "template": {
                "metadata": {"labels": {"app": "my-app", "version": version}},
                "spec": {"containers": [{
                    "name": "my-app",
                    "image": "crisis513/strategies-test",
                    "ports": [{"name": "http", "containerPort": 8080}, {"name": "probe", "containerPort": 8086}],
                    "env": [{"name": "VERSION", "value": version}],
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": "probe"}, "periodSeconds": 1}
                }]}
            }
        }
    });
    Object::Deployment(Box::new(
        serde_json::from_value::<Deployment>(value).unwrap(),
    ))
}

fn service(version: &str) -> Object {
    let value = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": format!("my-app-{version}")},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                 "selector": {"app": "my-app", "version": version}}
    });
    Object::Service(Box::new(serde_json::from_value::<Service>(value).unwrap()))
}

fn object(value: serde_json::Value) -> Object {
    serde_json::from_value(value).unwrap()
}

/// The route `my-route` on `my-gateway` with `rules`.
fn route(rules: serde_json::Value) -> Object {
    object(json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "my-route"},
        "spec": {"parentRefs": [{"name": "my-gateway"}], "rules": rules}
    }))
}

/// `n` GETs on one keep-alive client, tallied by the version that answered
/// (`X-Version`), or by the status when it is not 200.
async fn tally(url: &str, n: usize, header: Option<(&str, &str)>) -> BTreeMap<String, usize> {
    let client = reqwest::Client::new();
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        let mut request = client
            .get(format!("{url}/"))
            .timeout(Duration::from_secs(5));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let key = match request.send().await {
            Ok(response) if response.status() == 200 => response
                .headers()
                .get("x-version")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(no version)")
                .to_owned(),
            Ok(response) => response.status().as_str().to_owned(),
            Err(error) => format!("error: {error}"),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_headers_and_mirrors_route_as_the_spec_says() {
    let dir = tempfile::tempdir().unwrap();
    let (platform, url) = two_versions(&dir).await;

    // Weighted: 80/20, drawn per request even on one keep-alive connection.
    platform
        .apply(&[route(json!([{"backendRefs": [
            {"name": "my-app-v1", "port": 80, "weight": 80},
            {"name": "my-app-v2", "port": 80, "weight": 20}
        ]}]))])
        .await
        .unwrap();
    let seen = tally(&url, 400, None).await;
    let v2 = seen.get("v2").copied().unwrap_or(0);
    assert_eq!(seen.values().sum::<usize>(), 400, "{seen:?}");
    assert_eq!(seen.get("v1").copied().unwrap_or(0) + v2, 400, "{seen:?}");
    // 20% of 400 is 80, standard deviation 8: five of them either side.
    assert!((40..=120).contains(&v2), "{seen:?}");
    let stats = platform.gateway_stats("my-gateway").unwrap();
    assert_eq!(
        stats["my-app-v2"].requests.get("v2").copied(),
        Some(v2 as u64)
    );

    // A header match sends the targeted group to v2, everyone else to v1.
    platform
        .apply(&[route(json!([
            {"matches": [{"headers": [{"name": "x-canary", "value": "always"}]}],
             "backendRefs": [{"name": "my-app-v2", "port": 80}]},
            {"backendRefs": [{"name": "my-app-v1", "port": 80}]}
        ]))])
        .await
        .unwrap();
    assert_eq!(
        tally(&url, 50, Some(("X-Canary", "always"))).await,
        counts(&[("v2", 50)])
    );
    assert_eq!(tally(&url, 50, None).await, counts(&[("v1", 50)]));

    // A mirror: users see only v1, v2 gets a copy of each request.
    let before = platform.gateway_stats("my-gateway").unwrap();
    let mirrored_before = before
        .get("my-app-v2")
        .and_then(|s| s.mirrored.get("v2").copied())
        .unwrap_or(0);
    assert_eq!(mirrored_before, 0);
    platform
        .apply(&[route(json!([{
            "filters": [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "my-app-v2", "port": 80}}}],
            "backendRefs": [{"name": "my-app-v1", "port": 80}]
        }]))])
        .await
        .unwrap();
    let at_start = Platform::mirror_copies(&platform, "my-gateway").unwrap();
    assert_eq!(tally(&url, 100, None).await, counts(&[("v1", 100)]));
    // The copies are counted with the answers they copy: once the clients
    // have their answers, the count holds every copy, in flight or not.
    let now = Platform::mirror_copies(&platform, "my-gateway").unwrap();
    assert_eq!(now.of_requests - at_start.of_requests, 100);
    assert_eq!(now.copies["v2"].sent, 100);
    assert!(!now.copies.contains_key("v1"), "{now:?}");
    platform.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_to_an_unknown_service_is_accepted_with_unresolved_refs() {
    let dir = tempfile::tempdir().unwrap();
    let (platform, url) = two_versions(&dir).await;
    platform
        .apply(&[route(
            json!([{"backendRefs": [{"name": "my-app-v3", "port": 80}]}]),
        )])
        .await
        .unwrap();
    let status = platform.route_status("my-route").unwrap();
    let conditions: Vec<(String, String, String)> = status.parents[0]
        .conditions
        .iter()
        .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
        .collect();
    assert_eq!(
        conditions,
        [
            ("Accepted".into(), "True".into(), "Accepted".into()),
            (
                "ResolvedRefs".into(),
                "False".into(),
                "BackendNotFound".into()
            )
        ]
    );
    assert_eq!(tally(&url, 5, None).await, counts(&[("500", 5)]));
    // The state file shows it as `kubectl get httproute -o yaml` would.
    let path = dir.path().join("state.json");
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains("my-gateway: ResolvedRefs=False (BackendNotFound)") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Once the Service exists, the same route resolves.
    platform.apply(&[service("v3")]).await.unwrap();
    let start = Instant::now();
    while platform.route_status("my-route").unwrap().parents[0].conditions[1].status != "True" {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still unresolved"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Resolved but without a ready endpoint: 503, as the spec asks.
    assert_eq!(tally(&url, 3, None).await, counts(&[("503", 3)]));
    platform.shutdown().await;
}
