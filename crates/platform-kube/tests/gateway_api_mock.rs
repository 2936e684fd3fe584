//! Gateway API objects through KubePlatform against a mocked API server: an
//! HTTPRoute update is one server-side apply to the Gateway API group, in the
//! lab namespace and labelled as the lab's, followed by reads of its status
//! until its Gateway has accepted it, and deleting it goes to the same
//! resource.

use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use lab_core::object::{Object, ObjectKind};
use lab_core::platform::Platform;
use platform_kube::{KubePlatform, KubeSettings, NodeAccess};
use serde_json::{Value, json};
use std::pin::pin;

const NS: &str = "canary-lab";
const APPLY: &str = "application/apply-patch+yaml";
const ROUTES: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/canary-lab/httproutes";

/// One request the test expects, in order: method, path, content type, body
/// (a GET's is the answer).
struct Exchange {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Value,
}

/// A read of route `my-app` answered with `route` at `generation`, its
/// Gateway's conditions `accepted` and `resolved` written for generation
/// `observed`.
fn status_read(
    route: Value,
    (generation, observed): (i64, i64),
    accepted: &str,
    resolved: &str,
) -> Exchange {
    let mut body = as_applied(route);
    body["metadata"]["generation"] = json!(generation);
    let condition = |kind: &str, status: &str| {
        json!({"type": kind, "status": status, "reason": "Test", "message": "",
            "observedGeneration": observed, "lastTransitionTime": "2026-11-29T00:00:00Z"})
    };
    body["status"] = json!({"parents": [{
        "parentRef": {"name": "my-gateway"},
        "controllerName": "gateway.nginx.org/nginx-gateway-controller",
        "conditions": [condition("Accepted", accepted), condition("ResolvedRefs", resolved)]
    }]});
    Exchange {
        method: Method::GET,
        path: format!("{ROUTES}/my-app"),
        content_type: None,
        body,
    }
}

/// Serves the script, asserting each request against the next exchange, and
/// answers each with its body.
fn serve(script: Vec<Exchange>) -> (Client, tokio::task::JoinHandle<()>) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let task = tokio::spawn(async move {
        let mut handle = pin!(handle);
        for (index, step) in script.into_iter().enumerate() {
            let (request, send) = handle
                .next_request()
                .await
                .unwrap_or_else(|| panic!("request {} never came", index + 1));
            let at = format!("{} {}", request.method(), request.uri());
            assert_eq!(request.method(), step.method, "{at}");
            assert_eq!(request.uri().path(), step.path, "{at}");
            if let Some(content_type) = step.content_type {
                let query = request.uri().query().unwrap_or("");
                assert!(query.contains("fieldManager=canary-lab"), "{at}");
                assert!(query.contains("force=true"), "{at}");
                assert_eq!(
                    request
                        .headers()
                        .get(http::header::CONTENT_TYPE)
                        .map(|v| v.to_str().unwrap()),
                    Some(content_type),
                    "{at}"
                );
            }
            if step.method != Method::GET {
                let bytes = request.into_body().collect_bytes().await.unwrap();
                let actual: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(actual, step.body, "{at}: body");
            }
            let mut response = Response::new(Body::from(serde_json::to_vec(&step.body).unwrap()));
            *response.status_mut() = StatusCode::OK;
            send.send_response(response);
        }
        if let Some((request, _)) = handle.next_request().await {
            panic!("unexpected request {} {}", request.method(), request.uri());
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
            demo_app_image: "canary-lab/demo-app:0123456789abcdef".into(),
            loadgen_image: "canary-lab/loadgen:0123456789abcdef".into(),
            access: NodeAccess::kind(),
            app_node_port: Some(30080),
        },
    )
}

fn route(v1: i32, v2: i32) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "my-app"},
        "spec": {
            "parentRefs": [{"name": "my-gateway"}],
            "rules": [{"backendRefs": [
                {"name": "my-app-v1", "port": 80, "weight": v1},
                {"name": "my-app-v2", "port": 80, "weight": v2}
            ]}]
        }
    })
}

fn as_applied(mut manifest: Value) -> Value {
    manifest["metadata"]["namespace"] = json!(NS);
    manifest["metadata"]["labels"] = json!({"app.kubernetes.io/managed-by": "canary-lab"});
    manifest
}

#[tokio::test]
async fn route_updates_are_server_side_applied_and_deleted() {
    let namespace = Exchange {
        method: Method::PATCH,
        path: "/api/v1/namespaces/canary-lab".into(),
        content_type: Some(APPLY),
        body: json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "canary-lab", "labels": {"app.kubernetes.io/managed-by": "canary-lab"}}
        }),
    };
    let apply = |manifest: Value| Exchange {
        method: Method::PATCH,
        path: format!("{ROUTES}/my-app"),
        content_type: Some(APPLY),
        body: as_applied(manifest),
    };
    let script = vec![
        namespace,
        apply(route(90, 10)),
        status_read(route(90, 10), (1, 1), "True", "True"),
        apply(route(50, 50)),
        // The controller has not caught up with the new generation, then
        // has not resolved a backend yet, then accepts it.
        status_read(route(50, 50), (2, 1), "True", "True"),
        status_read(route(50, 50), (2, 2), "True", "False"),
        status_read(route(50, 50), (2, 2), "True", "True"),
        Exchange {
            method: Method::DELETE,
            path: format!("{ROUTES}/my-app"),
            content_type: None,
            body: json!({"propagationPolicy": "Foreground"}),
        },
    ];
    let (client, task) = serve(script);
    let platform = platform(client);
    let object =
        |manifest: Value| Object::HttpRoute(Box::new(serde_json::from_value(manifest).unwrap()));
    platform.apply(&[object(route(90, 10))]).await.unwrap();
    platform.apply(&[object(route(50, 50))]).await.unwrap();
    platform
        .delete(ObjectKind::HttpRoute, "my-app")
        .await
        .unwrap();
    drop(platform);
    task.await.unwrap();
}
