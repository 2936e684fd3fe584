//! `lab up --gateway` against a mocked API server: every object of the pinned
//! files is server-side applied as written, in order; the CRDs are waited on
//! until `Established`, NGINX Gateway Fabric's control plane until ready and
//! the GatewayClass until `Accepted`, and a GatewayClass that is never accepted
//! is one clear line once the wait's timeout has passed. Before a file is
//! applied, what of it the cluster lacks is recorded (and nothing else), and
//! `lab down` deletes exactly that, dependents first.

mod mock_server;
mod schema;

use http::Method;
use mock_server::*;
use platform_kube::Provider;
use platform_kube::lab::{
    CreatedObject, GATEWAY_API_FILE, InstallFile, InstallObject, LabState, NGF_CRDS_FILE,
    NGF_DEPLOY_FILE, Step, UpOptions, delete_created, plan_down, plan_up_with,
    remember_new_objects, run_cluster_step,
};
use serde_json::{Value, json};
use std::time::Duration;

fn state() -> LabState {
    LabState {
        provider: Provider::Kind,
        context: "kind-canary-lab".into(),
        demo_app_image: DEMO_IMAGE.into(),
        loadgen_image: "canary-lab/loadgen:0123456789abcdef".into(),
        created: vec![],
        gateway: false,
    }
}

/// The steps `--gateway` adds to the plan, in order.
fn gateway_steps() -> Vec<Step> {
    let options = UpOptions {
        gateway: true,
        ..UpOptions::default()
    };
    let plan = plan_up_with(&repo_root(), &Provider::Kind, "hunter2", true, &options).unwrap();
    plan.steps
        .into_iter()
        .filter(|step| match step {
            Step::ApplyInstall(_) | Step::WaitEstablished { .. } | Step::WaitAccepted { .. } => {
                true
            }
            Step::WaitReady { namespace, .. } => namespace == "nginx-gateway",
            _ => false,
        })
        .collect()
}

/// The API path of an object, from its apiVersion, kind and namespace as the
/// file writes them.
fn path_of(body: &Value) -> String {
    let api_version = body["apiVersion"].as_str().unwrap();
    let prefix = if api_version == "v1" {
        "/api/v1".to_string()
    } else {
        format!("/apis/{api_version}")
    };
    let kind = body["kind"].as_str().unwrap().to_lowercase();
    let plural = match kind.as_str() {
        "nginxproxy" => "nginxproxies".to_string(),
        "gatewayclass" => "gatewayclasses".to_string(),
        "validatingadmissionpolicy" => "validatingadmissionpolicies".to_string(),
        _ => format!("{kind}s"),
    };
    let name = body["metadata"]["name"].as_str().unwrap();
    match body["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{prefix}/namespaces/{ns}/{plural}/{name}"),
        None => format!("{prefix}/{plural}/{name}"),
    }
}

/// Each object applied as written, in the file's order.
fn applies(objects: &[InstallObject]) -> Vec<Exchange> {
    objects
        .iter()
        .map(|o| {
            expect(Method::PATCH, &path_of(&o.body))
                .applied()
                .body(o.body.clone())
                .answer(200, o.body.clone())
        })
        .collect()
}

fn crd(name: &str, established: bool) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": name, "resourceVersion": "7"},
           "spec": {"group": "g", "names": {"kind": "K", "plural": "ks"}, "scope": "Namespaced", "versions": []},
           "status": {"conditions": [{"type": "Established", "status": if established { "True" } else { "False" }}]}})
}

fn gateway_class(accepted: &str, message: &str) -> Value {
    json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
           "metadata": {"name": "nginx", "resourceVersion": "7"},
           "spec": {"controllerName": "gateway.nginx.org/nginx-gateway-controller"},
           "status": {"conditions": [{"type": "Accepted", "status": accepted, "message": message}]}})
}

fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "7"}, "items": items})
}

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const CLASSES: &str = "/apis/gateway.networking.k8s.io/v1/gatewayclasses";

fn class_list(class: Value) -> Exchange {
    expect(Method::GET, CLASSES)
        .query("fieldSelector", "metadata.name=nginx")
        .answer(200, list("GatewayClassList", vec![class]))
}

fn class_watch() -> Exchange {
    expect(Method::GET, CLASSES)
        .query("fieldSelector", "metadata.name=nginx")
        .query("watch", "true")
        .query("resourceVersion", "7")
}

#[tokio::test]
async fn the_gateway_is_applied_and_waited_on_in_order() {
    let steps = gateway_steps();
    let [
        Step::ApplyInstall(gateway_api),
        Step::ApplyInstall(ngf_crds),
        Step::WaitEstablished { crds, .. },
        Step::ApplyInstall(deploy),
        Step::WaitReady { .. },
        Step::WaitAccepted { .. },
    ] = &steps[..]
    else {
        panic!("unexpected gateway steps {steps:#?}");
    };
    assert_eq!(gateway_api.path, GATEWAY_API_FILE);
    assert_eq!(ngf_crds.path, NGF_CRDS_FILE);
    assert_eq!(deploy.path, NGF_DEPLOY_FILE);
    assert!(
        deploy
            .objects
            .iter()
            .any(|o| o.kind == "Job" && o.name == "nginx-gateway-cert-generator")
    );
    let mut script = applies(&gateway_api.objects);
    script.extend(applies(&ngf_crds.objects));
    // Every CRD but the last is Established when listed; the last becomes so
    // in the watch that follows. An unrelated CRD is ignored.
    let last = crds.last().unwrap();
    let mut items: Vec<Value> = crds.iter().map(|name| crd(name, name != last)).collect();
    items.push(crd("other.example.com", false));
    script.push(expect(Method::GET, CRDS).answer(200, list("CustomResourceDefinitionList", items)));
    script.push(
        expect(Method::GET, CRDS)
            .query("watch", "true")
            .query("resourceVersion", "7")
            .answer(200, json!({"type": "MODIFIED", "object": crd(last, true)})),
    );
    script.extend(applies(&deploy.objects));
    script.push(
        expect(Method::GET, "/apis/apps/v1/namespaces/nginx-gateway/deployments")
            .query("fieldSelector", "metadata.name=nginx-gateway")
            .answer(200, json!({"apiVersion": "apps/v1", "kind": "DeploymentList", "metadata": {"resourceVersion": "7"}, "items": [
                {"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": "nginx-gateway", "namespace": "nginx-gateway", "generation": 1, "resourceVersion": "7"},
                 "spec": {"replicas": 1, "selector": {}, "template": {}},
                 "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}}
            ]})),
    );
    script.push(class_list(gateway_class(
        "Unknown",
        "Waiting for controller",
    )));
    script.push(class_watch().answer(
        200,
        json!({"type": "MODIFIED", "object": gateway_class("True", "GatewayClass is accepted")}),
    ));
    let (client, task) = serve(script);
    let mut progress = Vec::new();
    let mut state = state();
    for step in &steps {
        assert!(
            !state.gateway,
            "recorded before its GatewayClass was accepted"
        );
        assert!(
            run_cluster_step(&client, step, &mut state, &mut progress)
                .await
                .unwrap()
        );
    }
    // `lab status` says where a Gateway is reached from now on.
    assert!(state.gateway);
    drop(client);
    task.await.unwrap();
    let progress = String::from_utf8(progress).unwrap();
    assert!(
        progress.contains("waiting for GatewayClass nginx to be Accepted"),
        "{progress}"
    );
}

#[tokio::test]
async fn a_gateway_class_never_accepted_is_one_clear_line() {
    let step = Step::WaitAccepted {
        gateway_class: "nginx".into(),
        timeout: Duration::from_millis(300),
    };
    let script = vec![
        class_list(gateway_class(
            "False",
            "invalid parameters: NginxProxy not found",
        )),
        class_watch().hang(),
    ];
    let (client, task) = serve(script);
    let started = std::time::Instant::now();
    let mut state = state();
    let error = run_cluster_step(&client, &step, &mut state, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!state.gateway, "a class never accepted is no gateway");
    drop(client);
    task.await.unwrap();
    assert_eq!(
        error.to_string(),
        "GatewayClass nginx not Accepted after 0.3s (Accepted=False: invalid parameters: NginxProxy not found): is NGINX Gateway Fabric running in namespace nginx-gateway?"
    );
}

#[tokio::test]
async fn crds_never_established_are_named() {
    let step = Step::WaitEstablished {
        crds: vec![
            "gateways.gateway.networking.k8s.io".into(),
            "httproutes.gateway.networking.k8s.io".into(),
        ],
        timeout: Duration::from_millis(300),
    };
    let script = vec![
        expect(Method::GET, CRDS).answer(
            200,
            list(
                "CustomResourceDefinitionList",
                vec![crd("gateways.gateway.networking.k8s.io", true)],
            ),
        ),
        expect(Method::GET, CRDS).query("watch", "true").hang(),
    ];
    let (client, task) = serve(script);
    let error = run_cluster_step(&client, &step, &mut state(), &mut Vec::new())
        .await
        .unwrap_err();
    drop(client);
    task.await.unwrap();
    assert_eq!(
        error.to_string(),
        "CustomResourceDefinitions not Established after 0.3s: httproutes.gateway.networking.k8s.io"
    );
}

const GATEWAYS_CRD: &str =
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gateways.gateway.networking.k8s.io";
const ROUTES_CRD: &str =
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/httproutes.gateway.networking.k8s.io";
const NGINX_CLASS: &str = "/apis/gateway.networking.k8s.io/v1/gatewayclasses/nginx";

async fn missing(script: Vec<Exchange>) -> Option<String> {
    let (client, task) = serve(script);
    let missing = platform_kube::lab::missing_gateway(&client).await.unwrap();
    drop(client);
    task.await.unwrap();
    missing
}

fn not_found(what: &str) -> Value {
    status(404, "NotFound", &format!("{what} not found"))
}

#[tokio::test]
async fn a_run_without_the_gateway_api_is_told_to_run_lab_up_gateway() {
    let routes = crd("httproutes.gateway.networking.k8s.io", true);
    let gateways = crd("gateways.gateway.networking.k8s.io", true);
    // No CRDs at all: the first one missing is named.
    assert_eq!(
        missing(vec![expect(Method::GET, GATEWAYS_CRD).answer(404, not_found("gateways"))]).await,
        Some("the scenario has Gateway API objects but the cluster has no CustomResourceDefinition gateways.gateway.networking.k8s.io: run `cargo xtask lab up --gateway` first".into())
    );
    // The CRDs but no GatewayClass nginx (another implementation, or none).
    assert_eq!(
        missing(vec![
            expect(Method::GET, GATEWAYS_CRD).answer(200, gateways.clone()),
            expect(Method::GET, ROUTES_CRD).answer(200, routes.clone()),
            expect(Method::GET, NGINX_CLASS).answer(404, not_found("nginx")),
        ])
        .await,
        Some("the scenario's Gateways name GatewayClass nginx, which the cluster does not have: run `cargo xtask lab up --gateway` first".into())
    );
    // Everything there.
    assert_eq!(
        missing(vec![
            expect(Method::GET, GATEWAYS_CRD).answer(200, gateways),
            expect(Method::GET, ROUTES_CRD).answer(200, routes),
            expect(Method::GET, NGINX_CLASS).answer(200, gateway_class("True", "accepted")),
        ])
        .await,
        None
    );
}

/// A GET of an object by its path: found (200) or not (404).
fn lookup(body: &Value, exists: bool) -> Exchange {
    let get = expect(Method::GET, &path_of(body));
    if exists {
        get.answer(200, body.clone())
    } else {
        get.answer(404, not_found(body["metadata"]["name"].as_str().unwrap()))
    }
}

fn created(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> CreatedObject {
    CreatedObject {
        kind: kind.into(),
        name: name.into(),
        namespace: namespace.map(str::to_string),
        api_version: api_version.into(),
    }
}

/// Look up, then apply, each install file as `lab up` does, on a cluster that
/// has the objects `exists` says; returns what the lab recorded.
async fn install_on(
    files: &[InstallFile],
    exists: impl Fn(&InstallObject) -> bool,
    looked_up: impl Fn(&InstallObject) -> bool,
    mut recorded: Vec<CreatedObject>,
) -> Vec<CreatedObject> {
    let mut script = Vec::new();
    for file in files {
        for object in file.objects.iter().filter(|o| looked_up(o)) {
            script.push(lookup(&object.body, exists(object)));
        }
        script.extend(applies(&file.objects));
    }
    let (client, task) = serve(script);
    let mut state = state();
    for file in files {
        remember_new_objects(&client, &file.objects, &mut recorded)
            .await
            .unwrap();
        state.created = recorded.clone();
        run_cluster_step(
            &client,
            &Step::ApplyInstall(file.clone()),
            &mut state,
            &mut Vec::new(),
        )
        .await
        .unwrap();
    }
    drop(client);
    task.await.unwrap();
    recorded
}

fn install_files() -> Vec<InstallFile> {
    gateway_steps()
        .into_iter()
        .filter_map(|step| match step {
            Step::ApplyInstall(file) => Some(file),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_install_on_a_shared_cluster_records_only_what_was_not_there() {
    let files = install_files();
    let lab_namespace = created("v1", "Namespace", None, "canary-lab");
    // The Gateway API is there already but for its ListenerSet CRD, and so is
    // namespace nginx-gateway with one of its ServiceAccounts and the
    // ClusterRoleBinding; NGINX Gateway Fabric's CRDs and the rest are not.
    let there = |o: &InstallObject| match o.kind.as_str() {
        "CustomResourceDefinition" => {
            o.name.ends_with(".gateway.networking.k8s.io")
                && o.name != "listenersets.gateway.networking.k8s.io"
        }
        "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding" => true,
        "Namespace" | "ClusterRoleBinding" => true,
        "ServiceAccount" => o.name == "nginx-gateway",
        _ => false,
    };
    let recorded = install_on(&files, there, |_| true, vec![lab_namespace.clone()]).await;
    let mut wanted = vec![
        lab_namespace.clone(),
        created(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "listenersets.gateway.networking.k8s.io",
        ),
    ];
    wanted.extend(files[1].objects.iter().map(|o| {
        created(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            &o.name,
        )
    }));
    let ngf = Some("nginx-gateway");
    wanted.extend([
        created("v1", "ServiceAccount", ngf, "nginx-gateway-cert-generator"),
        created(
            "rbac.authorization.k8s.io/v1",
            "Role",
            ngf,
            "nginx-gateway-cert-generator",
        ),
        created(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            None,
            "nginx-gateway",
        ),
        created(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            ngf,
            "nginx-gateway-cert-generator",
        ),
        created("v1", "Service", ngf, "nginx-gateway"),
        created("apps/v1", "Deployment", ngf, "nginx-gateway"),
        created("batch/v1", "Job", ngf, "nginx-gateway-cert-generator"),
        created(
            "gateway.networking.k8s.io/v1",
            "GatewayClass",
            None,
            "nginx",
        ),
        created(
            "gateway.nginx.org/v1alpha1",
            "NginxGateway",
            ngf,
            "nginx-gateway-config",
        ),
        created(
            "gateway.nginx.org/v1alpha2",
            "NginxProxy",
            ngf,
            "nginx-gateway-proxy-config",
        ),
    ]);
    assert_eq!(recorded, wanted);

    // The same install again finds everything: nothing more is recorded.
    let again = install_on(&files, |_| true, |_| true, recorded.clone()).await;
    assert_eq!(again, recorded);
}

#[tokio::test]
async fn objects_in_a_namespace_the_lab_creates_go_with_it() {
    let files = install_files();
    let deploy = &files[2..];
    // Nothing of NGINX Gateway Fabric is there: its namespace is recorded, and
    // what goes in it is not even looked up.
    let recorded = install_on(deploy, |_| false, |o| o.namespace.is_none(), Vec::new()).await;
    assert_eq!(
        recorded,
        [
            created("v1", "Namespace", None, "nginx-gateway"),
            created(
                "rbac.authorization.k8s.io/v1",
                "ClusterRole",
                None,
                "nginx-gateway"
            ),
            created(
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                None,
                "nginx-gateway"
            ),
            created(
                "gateway.networking.k8s.io/v1",
                "GatewayClass",
                None,
                "nginx"
            ),
        ]
    );
}

/// What a DELETE of a recorded object answers: the object, or not found.
fn deletion(path: &str, body: Value, gone: bool) -> Exchange {
    let delete = expect(Method::DELETE, path).body(json!({"propagationPolicy": "Foreground"}));
    if gone {
        delete.answer(404, not_found(path.rsplit('/').next().unwrap()))
    } else {
        delete.answer(200, body)
    }
}

#[tokio::test]
async fn lab_down_deletes_what_the_lab_created_dependents_first() {
    let ngf = Some("nginx-gateway-shared");
    // As `lab up` records them (sorted), with two of an older state file that
    // named no apiVersion.
    let mut recorded = vec![
        created("v1", "Namespace", None, "canary-lab"),
        CreatedObject {
            kind: "ClusterRole".into(),
            name: "canary-lab-prometheus".into(),
            namespace: None,
            api_version: String::new(),
        },
        CreatedObject {
            kind: "ClusterRoleBinding".into(),
            name: "canary-lab-prometheus".into(),
            namespace: None,
            api_version: String::new(),
        },
        created(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "nginxproxies.gateway.nginx.org",
        ),
        created(
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicy",
            None,
            "safe-upgrades.gateway.networking.k8s.io",
        ),
        created(
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicyBinding",
            None,
            "safe-upgrades.gateway.networking.k8s.io",
        ),
        created(
            "gateway.networking.k8s.io/v1",
            "GatewayClass",
            None,
            "nginx",
        ),
        created("v1", "ServiceAccount", ngf, "nginx-gateway"),
        created("rbac.authorization.k8s.io/v1", "Role", ngf, "certs"),
        created("rbac.authorization.k8s.io/v1", "RoleBinding", ngf, "certs"),
        created("apps/v1", "Deployment", ngf, "nginx-gateway"),
        created(
            "gateway.nginx.org/v1alpha2",
            "NginxProxy",
            ngf,
            "nginx-gateway-proxy-config",
        ),
        created("v1", "Namespace", None, "nginx-gateway"),
    ];
    recorded.sort();
    let ns = "nginx-gateway-shared";
    let object = |api_version: &str, kind: &str| json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}});
    let wanted = [
        (
            format!("/apis/apps/v1/namespaces/{ns}/deployments/nginx-gateway"),
            object("apps/v1", "Deployment"),
            false,
        ),
        // Gone already with its CRD's controller: fine.
        (
            format!("/apis/gateway.nginx.org/v1alpha2/namespaces/{ns}/nginxproxies/nginx-gateway-proxy-config"),
            object("gateway.nginx.org/v1alpha2", "NginxProxy"),
            true,
        ),
        (
            format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings/certs"),
            object("rbac.authorization.k8s.io/v1", "RoleBinding"),
            false,
        ),
        (
            format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles/certs"),
            object("rbac.authorization.k8s.io/v1", "Role"),
            false,
        ),
        (
            format!("/api/v1/namespaces/{ns}/serviceaccounts/nginx-gateway"),
            object("v1", "ServiceAccount"),
            false,
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/canary-lab-prometheus".into(),
            object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
            false,
        ),
        (
            "/apis/gateway.networking.k8s.io/v1/gatewayclasses/nginx".into(),
            object("gateway.networking.k8s.io/v1", "GatewayClass"),
            false,
        ),
        (
            "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/safe-upgrades.gateway.networking.k8s.io".into(),
            object("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"),
            false,
        ),
        (
            "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/safe-upgrades.gateway.networking.k8s.io".into(),
            object("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"),
            false,
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/canary-lab-prometheus".into(),
            object("rbac.authorization.k8s.io/v1", "ClusterRole"),
            false,
        ),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/nginxproxies.gateway.nginx.org".into(),
            object("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
            false,
        ),
        (
            "/api/v1/namespaces/canary-lab".into(),
            object("v1", "Namespace"),
            false,
        ),
        (
            "/api/v1/namespaces/nginx-gateway".into(),
            object("v1", "Namespace"),
            true,
        ),
    ];
    let script = wanted
        .iter()
        .map(|(path, body, gone)| deletion(path, body.clone(), *gone))
        .collect();
    let (client, task) = serve(script);
    let mut progress = Vec::new();
    delete_created(&client, &recorded, &mut progress)
        .await
        .unwrap();
    drop(client);
    task.await.unwrap();
    let progress = String::from_utf8(progress).unwrap();
    assert!(
        progress.starts_with(
            "deleting Deployment nginx-gateway-shared/nginx-gateway\ndeleting NginxProxy "
        ),
        "{progress}"
    );
    assert!(
        progress.ends_with("deleting Namespace nginx-gateway\n"),
        "{progress}"
    );

    // The dry run lists them in the same order.
    let mut state = state();
    state.provider = Provider::Context("shared".into());
    state.context = "shared".into();
    state.created = recorded;
    let lines = plan_down(&state);
    let deletes: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("# delete "))
        .filter_map(|l| l.strip_suffix(" through context shared"))
        .collect();
    assert_eq!(
        deletes,
        [
            "Deployment nginx-gateway-shared/nginx-gateway",
            "NginxProxy nginx-gateway-shared/nginx-gateway-proxy-config",
            "RoleBinding nginx-gateway-shared/certs",
            "Role nginx-gateway-shared/certs",
            "ServiceAccount nginx-gateway-shared/nginx-gateway",
            "ClusterRoleBinding canary-lab-prometheus",
            "GatewayClass nginx",
            "ValidatingAdmissionPolicyBinding safe-upgrades.gateway.networking.k8s.io",
            "ValidatingAdmissionPolicy safe-upgrades.gateway.networking.k8s.io",
            "ClusterRole canary-lab-prometheus",
            "CustomResourceDefinition nginxproxies.gateway.nginx.org",
            "Namespace canary-lab",
            "Namespace nginx-gateway",
        ]
    );
    assert_eq!(lines.len(), deletes.len() + 1, "{lines:?}");
}

#[tokio::test]
async fn an_unknown_kind_in_the_state_file_deletes_nothing() {
    for (object, message) in [
        (
            created("v1", "Pod", Some("default"), "p"),
            "target/lab/kube-state.json: unknown kind v1/Pod in created objects (Pod default/p)",
        ),
        (
            created("v1", "Service", None, "s"),
            "target/lab/kube-state.json: v1/Service s in created objects is namespaced but names no namespace",
        ),
    ] {
        // Nothing is asked of the API server, not even for the valid one.
        let (client, task) = serve(vec![]);
        let recorded = vec![created("v1", "Namespace", None, "canary-lab"), object];
        let error = delete_created(&client, &recorded, &mut Vec::new())
            .await
            .unwrap_err();
        drop(client);
        task.await.unwrap();
        assert_eq!(error.to_string(), message);
    }
}
