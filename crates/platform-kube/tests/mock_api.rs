//! KubePlatform against a mocked API server (kube's tower-test pattern): each test
//! scripts the requests it expects, asserting method, path, query, content type
//! and body, and answers with canned responses.

mod schema;

use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use lab_core::object::{Object, ObjectKind};
use lab_core::platform::{Endpoint, Platform, PlatformError};
use platform_kube::{KubePlatform, KubeSettings, NodeAccess};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::pin::pin;
use std::time::Duration;
use tokio::task::JoinHandle;

const NS: &str = "canary-lab";
const DEMO_IMAGE: &str = "canary-lab/demo-app:0123456789abcdef";
const APPLY: &str = "application/apply-patch+yaml";
const MERGE: &str = "application/merge-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";

/// What the mock answers to one request.
enum Answer {
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
struct Exchange {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    content_type: Option<&'static str>,
    body: Option<Value>,
    answer: Answer,
}

fn expect(method: Method, path: &str) -> Exchange {
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
    fn query(mut self, key: &str, value: &str) -> Self {
        self.query.push((key.to_string(), value.to_string()));
        self
    }
    fn applied(self) -> Self {
        let mut this = self
            .query("fieldManager", "canary-lab")
            .query("force", "true");
        this.content_type = Some(APPLY);
        this
    }
    fn content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = Some(content_type);
        self
    }
    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    fn answer(mut self, status: u16, body: Value) -> Self {
        self.answer = Answer::Json(status, body);
        self
    }
    fn hang(mut self) -> Self {
        self.answer = Answer::Hang;
        self
    }
    fn refuse(mut self) -> Self {
        self.answer = Answer::Refuse;
        self
    }
    fn text(mut self, body: &str) -> Self {
        self.answer = Answer::Text(body.to_string());
        self
    }
}

fn query_pairs(request: &Request<Body>) -> Vec<(String, String)> {
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
fn serve(script: Vec<Exchange>) -> (Client, JoinHandle<()>) {
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

fn platform(client: Client) -> KubePlatform {
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
async fn check<T>(script: Vec<Exchange>, call: impl AsyncFnOnce(&KubePlatform) -> T) -> T {
    let (client, task) = serve(script);
    let platform = platform(client);
    let result = call(&platform).await;
    drop(platform);
    task.await.unwrap();
    result
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

// The tutorial's objects, as a scenario holds them.

fn service_manifest() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "my-app", "labels": {"app": "my-app"}},
        "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                 "selector": {"app": "my-app"}}
    })
}

fn deployment_manifest(version: &str, replicas: i32) -> Value {
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

fn object(manifest: Value) -> Object {
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
fn as_applied(mut manifest: Value) -> Value {
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

fn namespace_apply() -> Exchange {
    expect(Method::PATCH, "/api/v1/namespaces/canary-lab").applied().body(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "canary-lab", "labels": {"app.kubernetes.io/managed-by": "canary-lab"}}
    })).answer(200, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "canary-lab"}}))
}

fn apply(path: &str, manifest: Value) -> Exchange {
    let sent = as_applied(manifest);
    expect(Method::PATCH, path)
        .applied()
        .body(sent.clone())
        .answer(200, sent)
}

fn scale(name: &str, replicas: i32) -> Exchange {
    expect(Method::PATCH, &format!("/apis/apps/v1/namespaces/canary-lab/deployments/{name}/scale"))
        .query("fieldManager", "canary-lab")
        .content_type(MERGE)
        .body(json!({"spec": {"replicas": replicas}}))
        .answer(200, json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
                            "metadata": {"name": name, "namespace": NS}, "spec": {"replicas": replicas}}))
}

#[tokio::test]
async fn canary_steps_send_the_expected_requests() {
    let v1 = deployment_manifest("v1.0.0", 10);
    let v2 = deployment_manifest("v2.0.0", 1);
    let script = vec![
        namespace_apply(),
        apply(
            "/api/v1/namespaces/canary-lab/services/my-app",
            service_manifest(),
        ),
        apply(
            "/apis/apps/v1/namespaces/canary-lab/deployments/my-app-v1",
            v1.clone(),
        ),
        apply(
            "/apis/apps/v1/namespaces/canary-lab/deployments/my-app-v2",
            v2.clone(),
        ),
        scale("my-app-v1", 9),
        scale("my-app-v2", 10),
        expect(
            Method::DELETE,
            "/apis/apps/v1/namespaces/canary-lab/deployments/my-app-v1",
        )
        .body(json!({"propagationPolicy": "Foreground"}))
        .answer(200, as_applied(v1.clone())),
    ];
    check(script, async |p| {
        p.apply(&[object(service_manifest()), object(v1.clone())])
            .await
            .unwrap();
        p.apply(&[object(v2.clone())]).await.unwrap();
        p.scale("my-app-v1", 9).await.unwrap();
        p.scale("my-app-v2", 10).await.unwrap();
        p.delete(ObjectKind::Deployment, "my-app-v1").await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn service_with_its_own_node_port_keeps_it() {
    let mut manifest = service_manifest();
    manifest["spec"]["ports"][0]["nodePort"] = json!(31111);
    let mut sent = manifest.clone();
    sent["metadata"]["namespace"] = json!(NS);
    sent["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("canary-lab");
    let script = vec![
        namespace_apply(),
        expect(
            Method::PATCH,
            "/api/v1/namespaces/canary-lab/services/my-app",
        )
        .applied()
        .body(sent.clone())
        .answer(200, sent),
    ];
    check(script, async |p| {
        p.apply(&[object(manifest.clone())]).await.unwrap()
    })
    .await;
}

#[tokio::test]
async fn selector_switch_replaces_the_whole_selector() {
    let script = vec![
        expect(Method::PATCH, "/api/v1/namespaces/canary-lab/services/my-app")
            .query("fieldManager", "canary-lab")
            .content_type(STRATEGIC)
            .body(json!({"spec": {"selector": {"$patch": "replace", "app": "my-app", "version": "v2.0.0"}}}))
            .answer(200, as_applied(service_manifest())),
    ];
    let selector = BTreeMap::from([
        ("app".to_string(), "my-app".to_string()),
        ("version".to_string(), "v2.0.0".to_string()),
    ]);
    check(script, async |p| {
        p.set_selector("my-app", &selector).await.unwrap()
    })
    .await;
}

#[tokio::test]
async fn conflict_is_a_conflict() {
    let script = vec![
        namespace_apply(),
        apply(
            "/apis/apps/v1/namespaces/canary-lab/deployments/my-app-v1",
            deployment_manifest("v1.0.0", 10),
        )
        .answer(
            409,
            status(
                409,
                "Conflict",
                "Apply failed with 1 conflict: conflict with \"kubectl\"",
            ),
        ),
    ];
    let error = check(script, async |p| {
        p.apply(&[object(deployment_manifest("v1.0.0", 10))]).await
    })
    .await;
    assert_eq!(
        error,
        Err(PlatformError::Conflict {
            kind: ObjectKind::Deployment,
            name: "my-app-v1".into(),
            message: "Apply failed with 1 conflict: conflict with \"kubectl\"".into(),
        })
    );
}

#[tokio::test]
async fn missing_objects_are_not_found() {
    let not_found = status(404, "NotFound", "deployments.apps \"my-app-v3\" not found");
    let script = vec![
        expect(
            Method::PATCH,
            "/apis/apps/v1/namespaces/canary-lab/deployments/my-app-v3/scale",
        )
        .answer(404, not_found.clone()),
        expect(
            Method::DELETE,
            "/apis/apps/v1/namespaces/canary-lab/deployments/my-app-v3",
        )
        .answer(404, not_found),
    ];
    let (scaled, deleted) = check(script, async |p| {
        (
            p.scale("my-app-v3", 2).await,
            p.delete(ObjectKind::Deployment, "my-app-v3").await,
        )
    })
    .await;
    let expected = Err(PlatformError::NotFound {
        kind: ObjectKind::Deployment,
        name: "my-app-v3".into(),
    });
    assert_eq!(scaled, expected);
    assert_eq!(deleted, expected);
}

#[tokio::test]
async fn unreachable_api_is_unavailable() {
    let script = vec![
        expect(
            Method::PATCH,
            "/apis/apps/v1/namespaces/canary-lab/deployments/my-app-v1/scale",
        )
        .refuse(),
    ];
    let error = check(script, async |p| p.scale("my-app-v1", 9).await).await;
    match error {
        Err(PlatformError::Unavailable(message)) => {
            assert!(
                message.starts_with("deployment my-app-v1: cannot reach the Kubernetes API"),
                "{message}"
            )
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn deployment_with_status(name: &str, replicas: i32, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": NS, "generation": 1, "resourceVersion": "7"},
           "spec": {"replicas": replicas, "selector": {}, "template": {}},
           "status": status})
}

fn deployment_list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DeploymentList", "metadata": {"resourceVersion": "7"}, "items": items})
}

fn watch_list(name: &str) -> Exchange {
    expect(
        Method::GET,
        "/apis/apps/v1/namespaces/canary-lab/deployments",
    )
    .query("fieldSelector", &format!("metadata.name={name}"))
}

fn watch(name: &str) -> Exchange {
    watch_list(name)
        .query("watch", "true")
        .query("resourceVersion", "7")
}

#[tokio::test]
async fn wait_ready_returns_once_the_rollout_is_complete() {
    let ready = deployment_with_status(
        "my-app-v2",
        1,
        json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
    );
    let script = vec![watch_list("my-app-v2").answer(200, deployment_list(vec![ready]))];
    let result = check(script, async |p| {
        p.wait_ready(&["my-app-v2".to_string()], Duration::from_secs(30))
            .await
    })
    .await;
    assert_eq!(result, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn wait_ready_timeout_names_what_was_not_ready() {
    let updating = deployment_with_status(
        "my-app-v2",
        1,
        json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1}),
    );
    let ready = deployment_with_status(
        "my-app-v1",
        9,
        json!({"observedGeneration": 1, "replicas": 9, "updatedReplicas": 9, "readyReplicas": 9, "availableReplicas": 9}),
    );
    let script = vec![
        watch_list("my-app-v1").answer(200, deployment_list(vec![ready])),
        watch_list("my-app-v2").answer(200, deployment_list(vec![updating])),
        watch("my-app-v2").hang(),
    ];
    let names = ["my-app-v1".to_string(), "my-app-v2".to_string()];
    let result = check(script, async |p| {
        p.wait_ready(&names, Duration::from_secs(60)).await
    })
    .await;
    assert_eq!(
        result,
        Err(PlatformError::Timeout {
            waited: Duration::from_secs(60),
            not_ready: vec!["deployment my-app-v2: 0/1 ready, 1 updated".into()],
        })
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "timed out after 60s waiting for: deployment my-app-v2: 0/1 ready, 1 updated"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_ready_timeout_names_the_pods_that_were_not_ready() {
    let mut updating = deployment_with_status(
        "my-app-v2",
        2,
        json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2}),
    );
    updating["spec"]["selector"] = json!({"matchLabels": {"app": "my-app", "version": "v2.0.0"}});
    let pod = |name: &str, status: Value| json!({"metadata": {"name": name, "namespace": NS}, "status": status});
    let pods = json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [
        pod("my-app-v2-5d9c7b-aaaaa", json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "my-app", "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": {"running": {}}}]})),
        pod("my-app-v2-5d9c7b-bbbbb", json!({"phase": "Pending",
            "containerStatuses": [{"name": "my-app", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                                   "state": {"waiting": {"reason": "ErrImageNeverPull", "message": "image not present"}}}]})),
        pod("my-app-v2-5d9c7b-ccccc", json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]})),
    ]});
    let events = json!({"apiVersion": "v1", "kind": "EventList", "metadata": {}, "items": [
        {"metadata": {"name": "e1", "namespace": NS}, "reason": "Unhealthy", "lastTimestamp": "2026-01-01T00:00:05Z",
         "message": "Readiness probe failed: HTTP probe failed with statuscode: 503",
         "involvedObject": {"kind": "Pod", "name": "my-app-v2-5d9c7b-aaaaa"}}
    ]});
    let script = vec![
        watch_list("my-app-v2").answer(200, deployment_list(vec![updating])),
        watch("my-app-v2").hang(),
        expect(Method::GET, "/api/v1/namespaces/canary-lab/pods")
            .query("labelSelector", "app=my-app,version=v2.0.0")
            .answer(200, pods),
        expect(Method::GET, "/api/v1/namespaces/canary-lab/events")
            .query("fieldSelector", "reason=Unhealthy")
            .answer(200, events),
    ];
    let result = check(script, async |p| {
        p.wait_ready(&["my-app-v2".to_string()], Duration::from_secs(120))
            .await
    })
    .await;
    assert_eq!(
        result,
        Err(PlatformError::Timeout {
            waited: Duration::from_secs(120),
            not_ready: vec![
                "deployment my-app-v2: 0/2 ready, 2 updated".into(),
                "pod my-app-v2-5d9c7b-aaaaa: Running, Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
                "pod my-app-v2-5d9c7b-bbbbb: Pending, ErrImageNeverPull (image not present)".into(),
            ],
        })
    );
}

#[tokio::test(start_paused = true)]
async fn wait_ready_timeout_names_a_missing_deployment() {
    let script = vec![
        watch_list("my-app-v3").answer(200, deployment_list(vec![])),
        watch("my-app-v3").hang(),
    ];
    let result = check(script, async |p| {
        p.wait_ready(&["my-app-v3".to_string()], Duration::from_secs(5))
            .await
    })
    .await;
    assert_eq!(
        result,
        Err(PlatformError::Timeout {
            waited: Duration::from_secs(5),
            not_ready: vec!["deployment my-app-v3: not found".into()],
        })
    );
}

fn pod(name: &str, version: &str, ip: &str, ready: bool) -> Value {
    let hash = "5d9c7b";
    let deployment = format!("my-app-{}", &version[..2]);
    json!({
        "metadata": {"name": name, "namespace": NS,
                     "labels": {"app": "my-app", "version": version, "pod-template-hash": hash},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{deployment}-{hash}"), "uid": "u"}]},
        "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    })
}

fn pod_list() -> Value {
    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [
        pod("my-app-v1-5d9c7b-aaaaa", "v1.0.0", "10.244.0.5", true),
        pod("my-app-v2-5d9c7b-bbbbb", "v2.0.0", "10.244.0.6", true),
        pod("my-app-v2-5d9c7b-ccccc", "v2.0.0", "10.244.0.7", false),
    ]})
}

#[tokio::test]
async fn endpoints_are_the_ready_addresses_with_their_pods_version() {
    let endpoint = |ip: &str, pod: &str, ready: bool, terminating: bool| {
        json!({"addresses": [ip], "conditions": {"ready": ready, "terminating": terminating},
               "targetRef": {"kind": "Pod", "name": pod, "namespace": NS}})
    };
    let slices = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSliceList", "metadata": {}, "items": [{
        "metadata": {"name": "my-app-x1", "labels": {"kubernetes.io/service-name": "my-app"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [
            endpoint("10.244.0.6", "my-app-v2-5d9c7b-bbbbb", true, false),
            endpoint("10.244.0.5", "my-app-v1-5d9c7b-aaaaa", true, false),
            endpoint("10.244.0.7", "my-app-v2-5d9c7b-ccccc", false, false),
            endpoint("10.244.0.9", "my-app-v1-5d9c7b-ddddd", true, true),
        ]
    }]});
    let script = vec![
        expect(Method::GET, "/api/v1/namespaces/canary-lab/services/my-app")
            .answer(200, as_applied(service_manifest())),
        expect(
            Method::GET,
            "/apis/discovery.k8s.io/v1/namespaces/canary-lab/endpointslices",
        )
        .query("labelSelector", "kubernetes.io/service-name=my-app")
        .answer(200, slices),
        expect(Method::GET, "/api/v1/namespaces/canary-lab/pods").answer(200, pod_list()),
    ];
    let endpoints = check(script, async |p| p.endpoints("my-app").await)
        .await
        .unwrap();
    let endpoint = |pod: &str, version: &str, address: &str| Endpoint {
        pod: pod.into(),
        version: version.into(),
        address: address.into(),
    };
    assert_eq!(
        endpoints,
        vec![
            endpoint("my-app-v1-5d9c7b-aaaaa", "v1.0.0", "10.244.0.5:8080"),
            endpoint("my-app-v2-5d9c7b-bbbbb", "v2.0.0", "10.244.0.6:8080"),
        ]
    );
}

#[tokio::test]
async fn pods_list_every_deployment_pod() {
    let script =
        vec![expect(Method::GET, "/api/v1/namespaces/canary-lab/pods").answer(200, pod_list())];
    let pods = check(script, async |p| p.pods().await).await.unwrap();
    let summary: Vec<(String, String, bool)> = pods
        .into_iter()
        .map(|p| (p.deployment, p.version, p.ready))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("my-app-v1".into(), "v1.0.0".into(), true),
            ("my-app-v2".into(), "v2.0.0".into(), true),
            ("my-app-v2".into(), "v2.0.0".into(), false),
        ]
    );
}

#[tokio::test]
async fn service_url_is_the_node_port_mapped_to_the_host() {
    let script = vec![
        expect(Method::GET, "/api/v1/namespaces/canary-lab/services/my-app")
            .answer(200, as_applied(service_manifest())),
    ];
    let url = check(script, async |p| p.service_url("my-app").await).await;
    assert_eq!(url.as_deref(), Ok("http://127.0.0.1:30080"));
}

#[tokio::test]
async fn service_url_of_an_unmapped_node_port_says_so() {
    let mut service = as_applied(service_manifest());
    service["spec"]["ports"][0]["nodePort"] = json!(31111);
    let script = vec![
        expect(Method::GET, "/api/v1/namespaces/canary-lab/services/my-app").answer(200, service),
    ];
    let url = check(script, async |p| p.service_url("my-app").await).await;
    assert_eq!(
        url,
        Err(PlatformError::Unsupported {
            kind: ObjectKind::Service,
            name: "my-app".into(),
            message: "nodePort 31111 is not mapped to the host (mapped: 30030, 30080, 30090)"
                .into(),
        })
    );
}

fn in_cluster(client: Client) -> KubePlatform {
    platform(client).with_in_cluster_traffic()
}

#[tokio::test]
async fn in_cluster_traffic_needs_no_node_port() {
    // A ClusterIP Service, and a NodePort Service on a port kind does not map:
    // traffic from inside the cluster reaches both by their DNS name.
    let mut cluster_ip = as_applied(service_manifest());
    cluster_ip["spec"]["type"] = json!("ClusterIP");
    cluster_ip["spec"]["ports"][0]
        .as_object_mut()
        .unwrap()
        .remove("nodePort");
    let mut unmapped = as_applied(service_manifest());
    unmapped["spec"]["ports"][0]["nodePort"] = json!(31111);
    for service in [cluster_ip, unmapped] {
        let script = vec![
            expect(Method::GET, "/api/v1/namespaces/canary-lab/services/my-app")
                .answer(200, service),
        ];
        let (client, task) = serve(script);
        let p = in_cluster(client);
        assert_eq!(
            p.service_url("my-app").await.as_deref(),
            Ok("http://my-app.canary-lab.svc")
        );
        drop(p);
        task.await.unwrap();
    }
    // A Service that is not there yet is still not found.
    let script = vec![
        expect(Method::GET, "/api/v1/namespaces/canary-lab/services/my-app").answer(
            404,
            status(404, "NotFound", "services \"my-app\" not found"),
        ),
    ];
    let (client, task) = serve(script);
    let p = in_cluster(client);
    assert_eq!(
        p.service_url("my-app").await,
        Err(PlatformError::NotFound {
            kind: ObjectKind::Service,
            name: "my-app".into()
        })
    );
    drop(p);
    task.await.unwrap();
}

#[tokio::test]
async fn events_are_reported_once() {
    let events = json!({"apiVersion": "v1", "kind": "EventList", "metadata": {}, "items": [
        {"metadata": {"name": "e2", "uid": "u2", "resourceVersion": "2"}, "reason": "Killing",
         "message": "Stopping container my-app", "lastTimestamp": "2026-01-01T00:00:02Z",
         "involvedObject": {"kind": "Pod", "name": "my-app-v1-5d9c7b-aaaaa"}},
        {"metadata": {"name": "e1", "uid": "u1", "resourceVersion": "1"}, "reason": "ScalingReplicaSet",
         "message": "Scaled down replica set my-app-v1-5d9c7b from 10 to 9", "lastTimestamp": "2026-01-01T00:00:01Z",
         "involvedObject": {"kind": "Deployment", "name": "my-app-v1"}}
    ]});
    let script = vec![
        expect(Method::GET, "/api/v1/namespaces/canary-lab/events").answer(200, events.clone()),
        expect(Method::GET, "/api/v1/namespaces/canary-lab/events").answer(200, events),
    ];
    let (first, second) = check(script, async |p| {
        (p.take_events().await, p.take_events().await)
    })
    .await;
    let objects: Vec<(&str, &str)> = first
        .iter()
        .map(|e| (e.reason.as_str(), e.object.as_str()))
        .collect();
    assert_eq!(
        objects,
        vec![
            ("ScalingReplicaSet", "deployment/my-app-v1"),
            ("Killing", "pod/my-app-v1-5d9c7b-aaaaa")
        ]
    );
    assert!(second.is_empty(), "{second:?}");
}

#[tokio::test]
async fn teardown_deletes_what_the_run_created_and_waits_until_it_is_gone() {
    let v1 = deployment_manifest("v1.0.0", 10);
    let script = vec![
        namespace_apply(),
        apply(
            "/apis/apps/v1/namespaces/canary-lab/deployments/my-app-v1",
            v1.clone(),
        ),
        expect(
            Method::DELETE,
            "/apis/apps/v1/namespaces/canary-lab/deployments/my-app-v1",
        )
        .body(json!({"propagationPolicy": "Foreground"}))
        .answer(200, as_applied(v1.clone())),
        watch_list("my-app-v1").answer(200, deployment_list(vec![])),
    ];
    check(script, async |p| {
        p.apply(&[object(v1.clone())]).await.unwrap();
        p.teardown().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn in_cluster_traffic_runs_loadgen_as_a_job_and_returns_its_log() {
    let report = r#"{"schema_version":1,"versions":{"v1.0.0":{}}}"#;
    let job = |conditions: Value| {
        json!({"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "loadgen-x7k2p", "namespace": NS, "resourceVersion": "9"},
               "spec": {"template": {"spec": {"containers": []}}},
               "status": {"conditions": conditions}})
    };
    let script = vec![
        namespace_apply(),
        expect(Method::POST, "/apis/batch/v1/namespaces/canary-lab/jobs")
            .query("fieldManager", "canary-lab")
            .answer(201, job(json!([]))),
        expect(Method::GET, "/apis/batch/v1/namespaces/canary-lab/jobs")
            .query("fieldSelector", "metadata.name=loadgen-x7k2p")
            .answer(
                200,
                json!({"apiVersion": "batch/v1", "kind": "JobList", "metadata": {"resourceVersion": "9"},
                       "items": [job(json!([{"type": "Complete", "status": "True"}]))]}),
            ),
        expect(Method::GET, "/api/v1/namespaces/canary-lab/pods")
            .query("labelSelector", "job-name=loadgen-x7k2p")
            .answer(
                200,
                json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
                       "items": [{"metadata": {"name": "loadgen-x7k2p-abcde"}}]}),
            ),
        expect(Method::GET, "/api/v1/namespaces/canary-lab/pods/loadgen-x7k2p-abcde/log")
            .query("container", "loadgen")
            .answer(200, serde_json::from_str(report).unwrap()),
        expect(Method::DELETE, "/apis/batch/v1/namespaces/canary-lab/jobs/loadgen-x7k2p")
            .body(json!({"propagationPolicy": "Background"}))
            .answer(200, job(json!([]))),
    ];
    let log = check(script, async |p| {
        let url = p.in_cluster_url("my-app");
        assert_eq!(url, "http://my-app.canary-lab.svc");
        let args = vec!["--url".to_string(), url, "--json".to_string()];
        p.run_loadgen(&args, Duration::from_secs(60)).await
    })
    .await
    .unwrap();
    let parsed: Value = serde_json::from_str(&log).unwrap();
    assert_eq!(parsed, serde_json::from_str::<Value>(report).unwrap());
}

#[tokio::test]
async fn followed_loadgen_streams_its_log_until_stopped() {
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
                     "metadata": {"name": "loadgen-q9w8e", "namespace": NS},
                     "spec": {"template": {"spec": {"containers": []}}}});
    let pods = |phase: &str| {
        json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
               "items": [{"metadata": {"name": "loadgen-q9w8e-zzzzz"}, "status": {"phase": phase}}]})
    };
    let log = "{\"snapshot\":{\"to_ms\":1000}}\n{\"snapshot\":{\"to_ms\":2000}}\n";
    let script = vec![
        namespace_apply(),
        expect(Method::POST, "/apis/batch/v1/namespaces/canary-lab/jobs")
            .query("fieldManager", "canary-lab")
            .answer(201, job.clone()),
        // The pod is pending first, then runs.
        expect(Method::GET, "/api/v1/namespaces/canary-lab/pods")
            .query("labelSelector", "job-name=loadgen-q9w8e")
            .answer(200, pods("Pending")),
        expect(Method::GET, "/api/v1/namespaces/canary-lab/pods")
            .query("labelSelector", "job-name=loadgen-q9w8e")
            .answer(200, pods("Running")),
        expect(
            Method::GET,
            "/api/v1/namespaces/canary-lab/pods/loadgen-q9w8e-zzzzz/log",
        )
        .query("container", "loadgen")
        .query("follow", "true")
        .text(log),
        expect(
            Method::DELETE,
            "/apis/batch/v1/namespaces/canary-lab/jobs/loadgen-q9w8e",
        )
        .body(json!({"propagationPolicy": "Background"}))
        .answer(200, job),
    ];
    let lines = check(script, async |p| {
        let args = vec!["--snapshots".to_string()];
        let mut followed = p
            .follow_loadgen(&args, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(followed.name, "loadgen-q9w8e");
        let mut lines = Vec::new();
        while let Some(line) = followed.lines.recv().await {
            lines.push(line);
        }
        p.stop_loadgen(&followed.name).await.unwrap();
        lines
    })
    .await;
    assert_eq!(
        lines,
        [
            "{\"snapshot\":{\"to_ms\":1000}}",
            "{\"snapshot\":{\"to_ms\":2000}}"
        ]
    );
}

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn prometheus_config_map(interval: Duration) -> Value {
    let manifests =
        platform_kube::monitoring::prometheus_manifests(&repo_root(), interval).unwrap();
    manifests[0].to_value()
}

#[tokio::test]
async fn a_run_keeps_the_clusters_scrape_interval_when_it_is_the_plans() {
    let script = vec![
        expect(
            Method::GET,
            "/api/v1/namespaces/canary-lab-monitoring/configmaps/prometheus-config",
        )
        .answer(200, prometheus_config_map(Duration::from_secs(1))),
    ];
    let (client, task) = serve(script);
    let note =
        platform_kube::lab::ensure_scrape_interval(&client, &repo_root(), Duration::from_secs(1))
            .await
            .unwrap();
    assert_eq!(note, None);
    drop(client);
    task.await.unwrap();
}

#[tokio::test]
async fn a_run_reconfigures_prometheus_to_the_plans_scrape_interval() {
    let wanted = Duration::from_secs(1);
    let manifests = platform_kube::monitoring::prometheus_manifests(&repo_root(), wanted).unwrap();
    let (config_map, deployment) = (manifests[0].to_value(), manifests[1].to_value());
    assert!(
        config_map["data"]["prometheus.yml"]
            .as_str()
            .unwrap()
            .contains("scrape_interval: 1s")
    );
    let rolled_out = json!({"apiVersion": "apps/v1", "kind": "DeploymentList", "metadata": {"resourceVersion": "8"},
        "items": [{"metadata": {"name": "prometheus", "namespace": "canary-lab-monitoring", "generation": 2},
                   "spec": {"replicas": 1, "selector": {}, "template": {}},
                   "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}}]});
    let script = vec![
        expect(
            Method::GET,
            "/api/v1/namespaces/canary-lab-monitoring/configmaps/prometheus-config",
        )
        .answer(200, prometheus_config_map(Duration::from_secs(5))),
        expect(
            Method::PATCH,
            "/api/v1/namespaces/canary-lab-monitoring/configmaps/prometheus-config",
        )
        .applied()
        .body(config_map.clone())
        .answer(200, config_map),
        expect(
            Method::PATCH,
            "/apis/apps/v1/namespaces/canary-lab-monitoring/deployments/prometheus",
        )
        .applied()
        .body(deployment.clone())
        .answer(200, deployment),
        expect(
            Method::GET,
            "/apis/apps/v1/namespaces/canary-lab-monitoring/deployments",
        )
        .query("fieldSelector", "metadata.name=prometheus")
        .answer(200, rolled_out),
    ];
    let (client, task) = serve(script);
    let note = platform_kube::lab::ensure_scrape_interval(&client, &repo_root(), wanted)
        .await
        .unwrap();
    assert_eq!(
        note.as_deref(),
        Some(
            "the cluster's Prometheus scraped every 5s; it was reconfigured and restarted to scrape every 1s, as the plan says (metrics of earlier runs are gone from it)"
        )
    );
    drop(client);
    task.await.unwrap();
}

/// A Deployment as the lab applies it, made invalid in two ways a real API
/// server refuses: a string where the schema wants an integer, and a field
/// that does not exist.
fn invalid_deployment() -> Value {
    let mut body = as_applied(deployment_manifest("v2.0.0", 1));
    body["spec"]["replicas"] = json!("one");
    body["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] =
        json!({"path": "/ready", "port": "probe"});
    body
}

#[test]
fn the_schema_check_passes_what_the_lab_applies_and_rejects_an_invalid_body() {
    let valid = as_applied(deployment_manifest("v2.0.0", 1));
    assert_eq!(schema::check(std::slice::from_ref(&valid)), Ok(()));
    let problems = schema::check(&[valid, invalid_deployment()]).unwrap_err();
    assert!(problems.contains("01-deployment.json"), "{problems}");
    assert!(!problems.contains("00-deployment.json"), "{problems}");

    let mut unknown_field = as_applied(service_manifest());
    unknown_field["spec"]["nodeport"] = json!(30080);
    let problems = schema::check(&[unknown_field]).unwrap_err();
    assert!(problems.contains("'nodeport' was unexpected"), "{problems}");
}

#[tokio::test]
async fn a_mocked_api_that_receives_an_invalid_object_fails_the_test() {
    use k8s_openapi::api::apps::v1::Deployment;
    use kube::api::{Api, Patch, PatchParams};
    let script = vec![
        expect(
            Method::PATCH,
            "/apis/apps/v1/namespaces/canary-lab/deployments/my-app-v2",
        )
        .applied()
        .answer(200, as_applied(deployment_manifest("v2.0.0", 1))),
    ];
    let (client, task) = serve(script);
    let api: Api<Deployment> = Api::namespaced(client, NS);
    api.patch(
        "my-app-v2",
        &PatchParams::apply("canary-lab").force(),
        &Patch::Apply(invalid_deployment()),
    )
    .await
    .unwrap();
    drop(api);
    let failed = task.await.unwrap_err();
    let message = failed
        .into_panic()
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default();
    assert!(
        message.contains("a body the API server would reject was sent")
            && message.contains("replicas"),
        "{message}"
    );
}
