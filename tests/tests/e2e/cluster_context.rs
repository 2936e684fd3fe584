//! The kube platform on the lab's own cluster, as `cargo xtask test --cluster`
//! runs it after `cargo xtask lab up` (the lab's images must be in that
//! cluster). It connects through the context `lab up` recorded (`kind-canary-lab`,
//! minikube's `canary-lab`), never the current one, so it cannot touch another
//! cluster on the machine. Works in its own namespace, deleted at the end.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use lab_core::object::{Object, ObjectKind};
use lab_core::platform::{Platform, PlatformError};
use platform_kube::lab::connect_lab;
use platform_kube::platform::delete_namespace;
use platform_kube::{KubePlatform, KubeSettings, LabState, NodeAccess};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const NS: &str = "canary-lab-cluster-test";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn service() -> Object {
    let value = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "my-app", "labels": {"app": "my-app"}},
        "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
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
                "metadata": {"labels": {"app": "my-app", "version": version}},
                "spec": {"containers": [{
                    "name": "my-app", "image": "containersol/k8s-deployment-strategies",
                    "ports": [{"name": "http", "containerPort": 8080}, {"name": "probe", "containerPort": 8086}],
                    "env": [{"name": "VERSION", "value": version}],
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": "probe"}, "periodSeconds": 2}
                }]}
            }
        }
    });
    Object::Deployment(Box::new(
        serde_json::from_value::<Deployment>(value).unwrap(),
    ))
}

#[tokio::test]
#[ignore = "needs a cluster"]
async fn lab_context_runs_a_canary_with_in_cluster_traffic() {
    let state = LabState::load(&root()).unwrap().expect(
        "no lab is up: run `cargo xtask lab up` first, so the cluster has the lab's images",
    );
    let client = connect_lab(&state).await.unwrap();
    delete_namespace(&client, NS, Duration::from_secs(120))
        .await
        .unwrap();
    let p = KubePlatform::new(
        client.clone(),
        KubeSettings {
            name: state.provider.name(),
            namespace: NS.into(),
            demo_app_image: state.demo_app_image.clone(),
            loadgen_image: state.loadgen_image.clone(),
            access: NodeAccess::Node("127.0.0.1".into()),
            app_node_port: None,
        },
    );
    let ready = Duration::from_secs(180);

    p.apply(&[service(), deployment("v1.0.0", 2)])
        .await
        .unwrap();
    p.apply(&[deployment("v2.0.0", 1)]).await.unwrap();
    p.wait_ready(&["my-app-v1".into(), "my-app-v2".into()], ready)
        .await
        .unwrap();

    // A Deployment that cannot become ready is named when the wait gives up.
    let missing = p
        .wait_ready(&["my-app-v9".into()], Duration::from_secs(3))
        .await;
    assert!(
        matches!(&missing, Err(PlatformError::Timeout { not_ready, .. }) if not_ready == &["deployment my-app-v9: not found"]),
        "{missing:?}"
    );

    let url = p.in_cluster_url("my-app");
    let args: Vec<String> = [
        "--url",
        url.as_str(),
        "--concurrency",
        "4",
        "--requests",
        "300",
        "--json",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let log = p
        .run_loadgen(&args, Duration::from_secs(120))
        .await
        .unwrap();
    let report: Value =
        serde_json::from_str(log.lines().rfind(|l| l.starts_with('{')).unwrap_or(&log))
            .unwrap_or_else(|e| panic!("loadgen printed no JSON report ({e}): {log}"));
    let versions = report["versions"]
        .as_object()
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        versions.contains_key("v1.0.0") && versions.contains_key("v2.0.0"),
        "{report}"
    );

    p.delete(ObjectKind::Deployment, "my-app-v1").await.unwrap();
    let events = p.take_events().await;
    assert!(!events.is_empty());
    p.teardown().await.unwrap();
    delete_namespace(&client, NS, Duration::from_secs(120))
        .await
        .unwrap();
}
