//! KubePlatform against a mocked API server: traffic from inside the cluster,
//! events, teardown, the scrape interval, `lab status` and the manifests'
//! schema check.

mod mock_server;
mod schema;

use http::Method;
use lab_core::object::ObjectKind;
use lab_core::platform::{Platform, PlatformError};
use mock_server::*;
use serde_json::{Value, json};
use std::time::Duration;

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
    // A Service that is not there yet (nor one of a Gateway by that name)
    // is still not found.
    let script = vec![
        expect(Method::GET, "/api/v1/namespaces/canary-lab/services/my-app").answer(
            404,
            status(404, "NotFound", "services \"my-app\" not found"),
        ),
        expect(Method::GET, "/api/v1/namespaces/canary-lab/services")
            .query(
                "labelSelector",
                "gateway.networking.k8s.io/gateway-name=my-app",
            )
            .answer(
                200,
                json!({"apiVersion": "v1", "kind": "ServiceList", "metadata": {}, "items": []}),
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
    let change = platform_kube::lab::ensure_scrape_interval(&client, &repo_root(), wanted)
        .await
        .unwrap();
    assert_eq!(
        change,
        Some(platform_kube::lab::ScrapeIntervalChange {
            was: Some(Duration::from_secs(5)),
            now: wanted,
        })
    );
    drop(client);
    task.await.unwrap();
}

/// What `lab status` asks: the monitoring Deployments (both ready) and the
/// app's Service (not there yet).
fn status_script() -> Vec<Exchange> {
    let ready = json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                       "readyReplicas": 1, "availableReplicas": 1});
    let monitoring = "/apis/apps/v1/namespaces/canary-lab-monitoring/deployments";
    vec![
        expect(Method::GET, &format!("{monitoring}/prometheus"))
            .answer(200, deployment_with_status("prometheus", 1, ready.clone())),
        expect(Method::GET, &format!("{monitoring}/grafana"))
            .answer(200, deployment_with_status("grafana", 1, ready)),
        expect(Method::GET, "/api/v1/namespaces/canary-lab/services/my-app").answer(
            404,
            status(404, "NotFound", "services \"my-app\" not found"),
        ),
    ]
}

#[tokio::test]
async fn lab_status_says_where_the_gateway_is_when_lab_up_installed_it() {
    use platform_kube::NodeAccess;
    use platform_kube::lab::{LabState, status_through};
    use platform_kube::provider::Provider;
    let state = |gateway| LabState {
        provider: Provider::Kind,
        context: "kind-canary-lab".into(),
        demo_app_image: DEMO_IMAGE.into(),
        loadgen_image: "canary-lab/loadgen:0123456789abcdef".into(),
        created: Vec::new(),
        gateway,
    };
    // kind maps 30081 to the host; a node address opens every NodePort; a
    // host mapping without it cannot reach the gateway from here.
    let unmapped = NodeAccess::HostPorts {
        host: "127.0.0.1".into(),
        ports: [(30080, 30080)].into_iter().collect(),
    };
    for (gateway, access, url) in [
        (true, NodeAccess::kind(), Some("http://127.0.0.1:30081")),
        (
            true,
            NodeAccess::Node("192.168.49.2".into()),
            Some("http://192.168.49.2:30081"),
        ),
        (true, unmapped, None),
        (false, NodeAccess::kind(), None),
    ] {
        let (client, task) = serve(status_script());
        let status = status_through(&client, &state(gateway), &access)
            .await
            .unwrap();
        drop(client);
        task.await.unwrap();
        assert_eq!(status.gateway_installed, gateway, "{access:?}");
        assert_eq!(status.gateway.as_deref(), url, "{access:?}");
        assert!(!status.app_deployed);
        assert_eq!(
            status.monitoring,
            [
                ("prometheus".to_string(), "ready".to_string()),
                ("grafana".to_string(), "ready".to_string())
            ]
        );
    }
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

#[tokio::test]
async fn a_gateway_is_reached_through_the_service_its_implementation_made() {
    // No Service is called my-gateway: the one labelled with the Gateway's
    // name (the data plane's, my-gateway-nginx) carries its NodePort.
    let mut data_plane = as_applied(service_manifest());
    data_plane["metadata"]["name"] = json!("my-gateway-nginx");
    data_plane["metadata"]["labels"] =
        json!({"gateway.networking.k8s.io/gateway-name": "my-gateway"});
    data_plane["spec"]["ports"][0]["nodePort"] = json!(30080);
    let missing = || {
        expect(
            Method::GET,
            "/api/v1/namespaces/canary-lab/services/my-gateway",
        )
        .answer(
            404,
            status(404, "NotFound", "services \"my-gateway\" not found"),
        )
    };
    let listed = |items: Vec<Value>| {
        expect(Method::GET, "/api/v1/namespaces/canary-lab/services")
            .query(
                "labelSelector",
                "gateway.networking.k8s.io/gateway-name=my-gateway",
            )
            .answer(
                200,
                json!({"apiVersion": "v1", "kind": "ServiceList", "metadata": {}, "items": items}),
            )
    };
    let script = vec![missing(), listed(vec![data_plane])];
    let url = check(script, async |p| p.service_url("my-gateway").await).await;
    assert_eq!(url.as_deref(), Ok("http://127.0.0.1:30080"));
    // Neither a Service nor a Gateway's: not found, as before.
    let script = vec![missing(), listed(vec![])];
    let url = check(script, async |p| p.service_url("my-gateway").await).await;
    assert_eq!(
        url,
        Err(PlatformError::NotFound {
            kind: ObjectKind::Service,
            name: "my-gateway".into()
        })
    );
}
