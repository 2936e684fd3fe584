//! KubePlatform against a mocked API server (kube's tower-test pattern): each test
//! scripts the requests it expects, asserting method, path, query, content type
//! and body, and answers with canned responses.

mod mock_server;
mod schema;

use http::Method;
use lab_core::object::ObjectKind;
use lab_core::platform::{Endpoint, Platform, PlatformError};
use mock_server::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

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
            message:
                "nodePort 31111 is not mapped to the host (mapped: 30030, 30080, 30081, 30090)"
                    .into(),
        })
    );
}
