//! The scripted API server the mocked-API tests share: each test lists the
//! requests it expects and the answers to give.

// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use crate::schema;
use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use lab_core::object::Object;
use platform_kube::{KubePlatform, KubeSettings, NodeAccess};
use serde_json::{Value, json};
use std::pin::pin;
use std::time::Duration;
use tokio::task::JoinHandle;

pub const NS: &str = "canary-lab";
pub const DEMO_IMAGE: &str = "canary-lab/demo-app:0123456789abcdef";
pub const APPLY: &str = "application/apply-patch+yaml";
pub const MERGE: &str = "application/merge-patch+json";
pub const STRATEGIC: &str = "application/strategic-merge-patch+json";

/// What the mock answers to one request.
pub enum Answer {
    /// An HTTP status with a JSON body.
    Json(u16, Value),
    /// Never answer (a watch that sees no change); held until the client is gone.
    Hang,
    /// Fail the connection, as an unreachable server does.
    Refuse,
    /// 200 with a plain-text body (a pod's log).
    Text(String),
}

/// One request the test expects, in order, and its answer.
pub struct Exchange {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    content_type: Option<&'static str>,
    body: Option<Value>,
    answer: Answer,
}

pub fn expect(method: Method, path: &str) -> Exchange {
    Exchange {
        method,
        path: path.to_string(),
        query: Vec::new(),
        content_type: None,
        body: None,
        answer: Answer::Json(200, json!({})),
    }
}

impl Exchange {
    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.query.push((key.to_string(), value.to_string()));
        self
    }
    pub fn applied(self) -> Self {
        let mut this = self
            .query("fieldManager", "canary-lab")
            .query("force", "true");
        this.content_type = Some(APPLY);
        this
    }
    pub fn content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = Some(content_type);
        self
    }
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    pub fn answer(mut self, status: u16, body: Value) -> Self {
        self.answer = Answer::Json(status, body);
        self
    }
    pub fn hang(mut self) -> Self {
        self.answer = Answer::Hang;
        self
    }
    pub fn refuse(mut self) -> Self {
        self.answer = Answer::Refuse;
        self
    }
    pub fn text(mut self, body: &str) -> Self {
        self.answer = Answer::Text(body.to_string());
        self
    }
}

pub fn query_pairs(request: &Request<Body>) -> Vec<(String, String)> {
    request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                k.to_string(),
                v.replace("%3D", "=")
                    .replace("%2F", "/")
                    .replace("%2C", ","),
            )
        })
        .collect()
}

/// Serve the script: every request must match the next exchange. Returns the
/// task; awaiting it re-raises an assertion that failed inside and checks that
/// the whole script was used.
pub fn serve(script: Vec<Exchange>) -> (Client, JoinHandle<()>) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let task = tokio::spawn(async move {
        let mut handle = pin!(handle);
        let mut held = Vec::new();
        // Every object body sent, for the schema check at the end.
        let mut sent = Vec::new();
        let total = script.len();
        for (index, step) in script.into_iter().enumerate() {
            let Some((request, send)) = handle.next_request().await else {
                panic!(
                    "request {} of {total} ({} {}) never came",
                    index + 1,
                    step.method,
                    step.path
                );
            };
            let at = format!(
                "request {} ({} {})",
                index + 1,
                request.method(),
                request.uri()
            );
            assert_eq!(request.method(), step.method, "{at}");
            assert_eq!(request.uri().path(), step.path, "{at}");
            let pairs = query_pairs(&request);
            for wanted in &step.query {
                assert!(
                    pairs.contains(wanted),
                    "{at}: query lacks {}={}",
                    wanted.0,
                    wanted.1
                );
            }
            if let Some(content_type) = step.content_type {
                assert_eq!(
                    request
                        .headers()
                        .get(http::header::CONTENT_TYPE)
                        .map(|v| v.to_str().unwrap()),
                    Some(content_type),
                    "{at}"
                );
            }
            let sends_object = matches!(
                *request.method(),
                Method::POST | Method::PUT | Method::PATCH
            );
            let bytes = request.into_body().collect_bytes().await.unwrap();
            if sends_object
                && let Ok(body) = serde_json::from_slice::<Value>(&bytes)
                && schema::is_object(&body)
            {
                sent.push(body);
            }
            if let Some(expected) = &step.body {
                let actual: Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("{at}: body is not JSON: {e}"));
                assert_eq!(&actual, expected, "{at}: body");
            }
            match step.answer {
                Answer::Json(status, body) => {
                    let mut response =
                        Response::new(Body::from(serde_json::to_vec(&body).unwrap()));
                    *response.status_mut() = StatusCode::from_u16(status).unwrap();
                    send.send_response(response);
                }
                Answer::Text(body) => {
                    send.send_response(Response::new(Body::from(body.into_bytes())))
                }
                Answer::Hang => held.push(send),
                Answer::Refuse => send.send_error(std::io::Error::new(
                    std::io::ErrorKind::ConnectionRefused,
                    "connection refused",
                )),
            }
        }
        // Nothing more may be asked; the stream ends when the client is dropped.
        if let Some((request, _)) = handle.next_request().await {
            panic!("unexpected request {} {}", request.method(), request.uri());
        }
        drop(held);
        if let Err(problems) = schema::check(&sent) {
            panic!("a body the API server would reject was sent:\n{problems}");
        }
    });
    (Client::new(service, NS), task)
}

pub fn platform(client: Client) -> KubePlatform {
    KubePlatform::new(
        client,
        KubeSettings {
            name: "kind".into(),
            namespace: NS.into(),
            demo_app_image: DEMO_IMAGE.into(),
            loadgen_image: "canary-lab/loadgen:0123456789abcdef".into(),
            access: NodeAccess::kind(),
            app_node_port: Some(30080),
        },
    )
}

/// Run one platform call against a script, then check the script was used up.
pub async fn check<T>(script: Vec<Exchange>, call: impl AsyncFnOnce(&KubePlatform) -> T) -> T {
    let (client, task) = serve(script);
    let platform = platform(client);
    let result = call(&platform).await;
    drop(platform);
    task.await.unwrap();
    result
}

pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

// The tutorial's objects, as a scenario holds them.

pub fn service_manifest() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "my-app", "labels": {"app": "my-app"}},
        "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                 "selector": {"app": "my-app"}}
    })
}

pub fn deployment_manifest(version: &str, replicas: i32) -> Value {
    let name = format!("my-app-{}", &version[..2]);
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": "my-app"}},
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
    })
}

pub fn object(manifest: Value) -> Object {
    match manifest["kind"].as_str() {
        Some("Deployment") => {
            Object::Deployment(Box::new(serde_json::from_value(manifest).unwrap()))
        }
        Some("Service") => Object::Service(Box::new(serde_json::from_value(manifest).unwrap())),
        other => panic!("no object kind {other:?}"),
    }
}

/// The manifest as the lab sends it: in the lab namespace, labelled, with the
/// lab's image (Deployments) or NodePort (Services).
pub fn as_applied(mut manifest: Value) -> Value {
    manifest["metadata"]["namespace"] = json!(NS);
    manifest["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("canary-lab");
    if manifest["kind"] == "Deployment" {
        let container = &mut manifest["spec"]["template"]["spec"]["containers"][0];
        container["image"] = json!(DEMO_IMAGE);
        container["imagePullPolicy"] = json!("IfNotPresent");
    } else {
        manifest["spec"]["ports"][0]["nodePort"] = json!(30080);
    }
    manifest
}

pub fn namespace_apply() -> Exchange {
    expect(Method::PATCH, "/api/v1/namespaces/canary-lab").applied().body(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "canary-lab", "labels": {"app.kubernetes.io/managed-by": "canary-lab"}}
    })).answer(200, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "canary-lab"}}))
}

pub fn apply(path: &str, manifest: Value) -> Exchange {
    let sent = as_applied(manifest);
    expect(Method::PATCH, path)
        .applied()
        .body(sent.clone())
        .answer(200, sent)
}

pub fn scale(name: &str, replicas: i32) -> Exchange {
    expect(Method::PATCH, &format!("/apis/apps/v1/namespaces/canary-lab/deployments/{name}/scale"))
        .query("fieldManager", "canary-lab")
        .content_type(MERGE)
        .body(json!({"spec": {"replicas": replicas}}))
        .answer(200, json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
                            "metadata": {"name": name, "namespace": NS}, "spec": {"replicas": replicas}}))
}

pub fn deployment_with_status(name: &str, replicas: i32, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": NS, "generation": 1, "resourceVersion": "7"},
           "spec": {"replicas": replicas, "selector": {}, "template": {}},
           "status": status})
}

pub fn deployment_list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DeploymentList", "metadata": {"resourceVersion": "7"}, "items": items})
}

pub fn watch_list(name: &str) -> Exchange {
    expect(
        Method::GET,
        "/apis/apps/v1/namespaces/canary-lab/deployments",
    )
    .query("fieldSelector", &format!("metadata.name={name}"))
}

pub fn watch(name: &str) -> Exchange {
    watch_list(name)
        .query("watch", "true")
        .query("resourceVersion", "7")
}

pub fn pod(name: &str, version: &str, ip: &str, ready: bool) -> Value {
    let hash = "5d9c7b";
    let deployment = format!("my-app-{}", &version[..2]);
    json!({
        "metadata": {"name": name, "namespace": NS,
                     "labels": {"app": "my-app", "version": version, "pod-template-hash": hash},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{deployment}-{hash}"), "uid": "u"}]},
        "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    })
}

pub fn pod_list() -> Value {
    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [
        pod("my-app-v1-5d9c7b-aaaaa", "v1.0.0", "10.244.0.5", true),
        pod("my-app-v2-5d9c7b-bbbbb", "v2.0.0", "10.244.0.6", true),
        pod("my-app-v2-5d9c7b-ccccc", "v2.0.0", "10.244.0.7", false),
    ]})
}

pub fn in_cluster(client: Client) -> KubePlatform {
    platform(client).with_in_cluster_traffic()
}

pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn prometheus_config_map(interval: Duration) -> Value {
    let manifests =
        platform_kube::monitoring::prometheus_manifests(&repo_root(), interval).unwrap();
    manifests[0].to_value()
}
