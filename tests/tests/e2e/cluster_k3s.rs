//! The kube platform on a real (if small) cluster: K3s in a container started
//! with testcontainers, the demo-app image imported at K3s's start. Needs a
//! Docker engine; run by `cargo xtask test --cluster`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use lab_core::object::{Object, ObjectKind};
use lab_core::platform::{Endpoint, Platform};
use platform_kube::images::DEMO_APP;
use platform_kube::platform::connect_kubeconfig_yaml;
use platform_kube::{KubePlatform, KubeSettings, NodeAccess};
use serde_json::{Value, json};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use testcontainers::core::Mount;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ImageExt};
use testcontainers_modules::k3s::{K3s, KUBE_SECURE_PORT};

const NS: &str = "canary-lab";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn docker(args: &[&str]) -> bool {
    Command::new("docker")
        .args(args)
        .current_dir(root())
        .status()
        .is_ok_and(|s| s.success())
}

/// Build the demo-app image unless it exists, and save it where K3s imports
/// images from when it starts.
fn demo_app_archive(dir: &Path) -> String {
    let tag = DEMO_APP.content_tag(&root()).unwrap();
    let image = DEMO_APP.reference(&tag);
    if !docker(&["image", "inspect", "--format", "{{.Id}}", &image]) {
        assert!(
            docker(&["build", "-f", DEMO_APP.dockerfile, "-t", &image, "."]),
            "docker build of {image} failed"
        );
    }
    let archive = dir.join("demo-app.tar");
    assert!(
        docker(&["save", "-o", archive.to_str().unwrap(), &image]),
        "docker save of {image} failed"
    );
    image
}

async fn k3s(images: &Path, config: &Path) -> ContainerAsync<K3s> {
    K3s::default()
        .with_conf_mount(config)
        .with_privileged(true)
        .with_userns_mode("host")
        .with_mount(Mount::bind_mount(
            images.to_str().unwrap(),
            "/var/lib/rancher/k3s/agent/images",
        ))
        .with_startup_timeout(Duration::from_secs(180))
        .start()
        .await
        .expect("K3s did not start: cluster tests need a Docker engine")
}

async fn platform(container: &ContainerAsync<K3s>, image: &str) -> KubePlatform {
    let port = container
        .get_host_port_ipv4(KUBE_SECURE_PORT)
        .await
        .unwrap();
    let text = container.image().read_kube_config().unwrap();
    let server = format!("https://127.0.0.1:{port}");
    let client = connect_kubeconfig_yaml(&text, Some(&server), Duration::from_secs(30))
        .await
        .unwrap();
    KubePlatform::new(
        client,
        KubeSettings {
            name: "k3s".into(),
            namespace: NS.into(),
            demo_app_image: image.into(),
            loadgen_image: String::new(),
            access: NodeAccess::Node("127.0.0.1".into()),
            app_node_port: None,
        },
    )
}

fn service() -> Object {
    let value = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "my-app", "labels": {"app": "my-app"}},
        "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                 "selector": {"app": "my-app"}}
    });
    Object::Service(Box::new(serde_json::from_value::<Service>(value).unwrap()))
}

fn deployment(version: &str, replicas: i32) -> Object {
    let value: Value = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("my-app-{}", &version[..2]), "labels": {"app": "my-app"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "my-app", "version": version}},
            "template": {
                "metadata": {"labels": {"app": "my-app", "version": version},
                             "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9101"}},
                "spec": {"containers": [{
                    "name": "my-app", "image": "containersol/k8s-deployment-strategies",
                    "ports": [{"name": "http", "containerPort": 8080}, {"name": "probe", "containerPort": 8086}],
                    "env": [{"name": "VERSION", "value": version}],
                    "livenessProbe": {"httpGet": {"path": "/live", "port": "probe"}, "initialDelaySeconds": 5, "periodSeconds": 5},
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": "probe"}, "periodSeconds": 5}
                }]}
            }
        }
    });
    Object::Deployment(Box::new(
        serde_json::from_value::<Deployment>(value).unwrap(),
    ))
}

/// Ask until the answer is what we want, or fail after `timeout` with the last answer.
async fn eventually<T: std::fmt::Debug, F: Future<Output = T>>(
    what: &str,
    timeout: Duration,
    mut ask: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let answer = ask().await;
        if done(&answer) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still {answer:?} after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn versions(endpoints: &[Endpoint]) -> Vec<&str> {
    let mut v: Vec<&str> = endpoints.iter().map(|e| e.version.as_str()).collect();
    v.sort_unstable();
    v
}

#[tokio::test]
#[ignore = "needs a cluster"]
async fn k3s_runs_the_canary_steps() {
    let images = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let image = demo_app_archive(images.path());
    let container = k3s(images.path(), config.path()).await;
    let p = platform(&container, &image).await;
    let ready = Duration::from_secs(180);

    p.apply(&[service(), deployment("v1.0.0", 3)])
        .await
        .unwrap();
    p.wait_ready(&["my-app-v1".into()], ready).await.unwrap();
    let seen = eventually(
        "3 v1 endpoints",
        Duration::from_secs(60),
        || p.endpoints("my-app"),
        |e| e.as_ref().is_ok_and(|e| versions(e) == ["v1.0.0"; 3]),
    )
    .await;
    assert!(seen.unwrap().iter().all(|e| e.address.ends_with(":8080")));

    p.apply(&[deployment("v2.0.0", 1)]).await.unwrap();
    p.scale("my-app-v1", 2).await.unwrap();
    p.wait_ready(&["my-app-v1".into(), "my-app-v2".into()], ready)
        .await
        .unwrap();
    let _ = eventually(
        "2 v1 and 1 v2 endpoints",
        Duration::from_secs(60),
        || p.endpoints("my-app"),
        |e| {
            e.as_ref()
                .is_ok_and(|e| versions(e) == ["v1.0.0", "v1.0.0", "v2.0.0"])
        },
    )
    .await;

    p.scale("my-app-v2", 3).await.unwrap();
    p.delete(ObjectKind::Deployment, "my-app-v1").await.unwrap();
    p.wait_ready(&["my-app-v2".into()], ready).await.unwrap();
    let _ = eventually(
        "only v2 endpoints",
        Duration::from_secs(90),
        || p.endpoints("my-app"),
        |e| e.as_ref().is_ok_and(|e| versions(e) == ["v2.0.0"; 3]),
    )
    .await;
    let pods = p.pods().await.unwrap();
    assert!(
        pods.iter()
            .filter(|pod| !pod.terminating)
            .all(|pod| pod.deployment == "my-app-v2"),
        "{pods:?}"
    );

    let events = p.take_events().await;
    assert!(
        events.iter().any(|e| e.reason == "ScalingReplicaSet"),
        "{events:?}"
    );

    p.teardown().await.unwrap();
    assert!(p.pods().await.unwrap().is_empty());
}
