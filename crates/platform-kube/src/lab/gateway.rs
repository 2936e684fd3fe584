//! `lab up --gateway`: the Gateway API CRDs and NGINX Gateway Fabric from the
//! pinned files under `lab/gateway/`, read strictly and applied as written by
//! server-side apply through the dynamic API (one path for built-in and custom
//! kinds: each kind's resource comes from a fixed table, so nothing is
//! discovered at run time), then the waits: every CRD `Established`, and the
//! GatewayClass `Accepted`.

use super::state::{CreatedObject, remember};
use crate::error::{LabError, api_error};
use crate::namespace::apply_params;
use crate::yaml;
use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use lab_core::platform::PlatformError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// The Gateway API Standard install (its CRDs and the safe-upgrades admission
/// policy), relative to the repository root.
pub const GATEWAY_API_FILE: &str = "lab/gateway/gateway-api-v1.5.1-standard-install.yaml";

/// NGINX Gateway Fabric's CRDs, relative to the repository root.
pub const NGF_CRDS_FILE: &str = "lab/gateway/nginx-gateway-fabric-v2.6.7-crds.yaml";

/// NGINX Gateway Fabric's NodePort deployment (with the lab's changes, listed in
/// its header), relative to the repository root.
pub const NGF_DEPLOY_FILE: &str = "lab/gateway/nginx-gateway-fabric-v2.6.7-nodeport-deploy.yaml";

/// The namespace NGINX Gateway Fabric runs in.
pub const NGF_NAMESPACE: &str = "nginx-gateway";

/// NGINX Gateway Fabric's control plane.
pub const NGF_DEPLOYMENT: &str = "nginx-gateway";

/// The GatewayClass the scenarios' Gateways name.
pub const GATEWAY_CLASS: &str = "nginx";

pub use crate::platform::GATEWAY_NODE_PORT;

/// How long `lab up` waits for the CRDs to be `Established`.
pub const CRD_TIMEOUT: Duration = Duration::from_secs(60);

/// How long `lab up` waits for NGINX Gateway Fabric's control plane.
pub const NGF_TIMEOUT: Duration = Duration::from_secs(300);

/// How long `lab up` waits for the GatewayClass to be `Accepted`.
pub const GATEWAY_CLASS_TIMEOUT: Duration = Duration::from_secs(120);

/// The kinds the pinned files may hold: apiVersion, kind, plural, namespaced.
const KINDS: [(&str, &str, &str, bool); 15] = [
    (
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        false,
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        false,
    ),
    ("v1", "Namespace", "namespaces", false),
    ("v1", "ServiceAccount", "serviceaccounts", true),
    ("rbac.authorization.k8s.io/v1", "Role", "roles", true),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    ("v1", "Service", "services", true),
    ("apps/v1", "Deployment", "deployments", true),
    ("batch/v1", "Job", "jobs", true),
    (
        "gateway.networking.k8s.io/v1",
        "GatewayClass",
        "gatewayclasses",
        false,
    ),
    (
        "gateway.nginx.org/v1alpha1",
        "NginxGateway",
        "nginxgateways",
        true,
    ),
    (
        "gateway.nginx.org/v1alpha2",
        "NginxProxy",
        "nginxproxies",
        true,
    ),
];

/// One object of a pinned install file, sent as written.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallObject {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (`None` for cluster-scoped kinds).
    pub namespace: Option<String>,
    /// The kind's plural (the resource in the API path).
    pub plural: String,
    /// The object as the file holds it.
    pub body: Value,
}

impl InstallObject {
    /// `Kind namespace/name` or `Kind name`.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    fn api(&self, client: &Client) -> Api<DynamicObject> {
        let resource = resource(&self.api_version, &self.kind, &self.plural);
        match &self.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        }
    }
}

fn resource(api_version: &str, kind: &str, plural: &str) -> ApiResource {
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    };
    let gvk = GroupVersionKind::gvk(group, version, kind);
    ApiResource::from_gvk_with_plural(&gvk, plural)
}

/// The resource of a kind of the fixed table, and whether it is namespaced.
/// An empty `api_version` (a state an older `lab up` wrote) matches by kind
/// alone: the table holds each kind once.
pub(super) fn kind_resource(api_version: &str, kind: &str) -> Option<(ApiResource, bool)> {
    KINDS
        .iter()
        .find(|(v, k, _, _)| *k == kind && (api_version.is_empty() || *v == api_version))
        .map(|(v, k, plural, namespaced)| (resource(v, k, plural), *namespaced))
}

/// One pinned install file: where it is, what it pins, and its objects.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallFile {
    /// The file, relative to the repository root.
    pub path: String,
    /// What it installs and the version it pins (`Gateway API v1.5.1`).
    pub pin: String,
    /// Its objects, in the file's order.
    pub objects: Vec<InstallObject>,
}

fn check_typed<K: DeserializeOwned>(body: &Value) -> Result<(), String> {
    serde_json::from_value::<K>(body.clone())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Deserialize a built-in kind into its k8s-openapi type, so a field of the
/// wrong shape is found before anything is sent.
fn check_built_in(kind: &str, body: &Value) -> Result<(), String> {
    use k8s_openapi::api::admissionregistration::v1 as admission;
    use k8s_openapi::api::{apps, batch, core, rbac};
    match kind {
        "CustomResourceDefinition" => check_typed::<CustomResourceDefinition>(body),
        "ValidatingAdmissionPolicy" => check_typed::<admission::ValidatingAdmissionPolicy>(body),
        "ValidatingAdmissionPolicyBinding" => {
            check_typed::<admission::ValidatingAdmissionPolicyBinding>(body)
        }
        "Namespace" => check_typed::<core::v1::Namespace>(body),
        "ServiceAccount" => check_typed::<core::v1::ServiceAccount>(body),
        "Role" => check_typed::<rbac::v1::Role>(body),
        "ClusterRole" => check_typed::<rbac::v1::ClusterRole>(body),
        "RoleBinding" => check_typed::<rbac::v1::RoleBinding>(body),
        "ClusterRoleBinding" => check_typed::<rbac::v1::ClusterRoleBinding>(body),
        "Service" => check_typed::<core::v1::Service>(body),
        "Deployment" => check_typed::<apps::v1::Deployment>(body),
        "Job" => check_typed::<batch::v1::Job>(body),
        _ => Ok(()),
    }
}

fn install_object(body: Value) -> Result<InstallObject, String> {
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str);
    let api_version = text("/apiVersion").unwrap_or_default().to_string();
    let kind = text("/kind").unwrap_or_default().to_string();
    let Some((_, _, plural, namespaced)) = KINDS
        .iter()
        .find(|(v, k, _, _)| *v == api_version && *k == kind)
    else {
        return Err(format!(
            "unsupported object {api_version}/{kind} (supported kinds: {})",
            KINDS.map(|(_, k, _, _)| k).join(", ")
        ));
    };
    let name = text("/metadata/name").unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(format!("{kind} without metadata.name"));
    }
    let namespace = text("/metadata/namespace").map(str::to_string);
    match (namespaced, &namespace) {
        (true, None) => return Err(format!("{kind} {name} without metadata.namespace")),
        (false, Some(ns)) => {
            return Err(format!(
                "{kind} {name} is cluster-scoped but names namespace {ns}"
            ));
        }
        _ => {}
    }
    check_built_in(&kind, &body).map_err(|e| format!("{kind} {name}: {e}"))?;
    Ok(InstallObject {
        api_version,
        kind,
        name,
        namespace,
        plural: plural.to_string(),
        body,
    })
}

/// Every object of a pinned install file's text; `path` names it in errors,
/// which name the document too (`document 3: ...`).
pub fn parse_install_file(path: &str, text: &str) -> Result<Vec<InstallObject>, LabError> {
    let bad = |message: String| LabError::BadFile {
        path: path.into(),
        message,
    };
    let documents = yaml::parse_documents(text).map_err(|e| bad(e.message))?;
    if documents.is_empty() {
        return Err(bad("no objects".into()));
    }
    documents
        .into_iter()
        .enumerate()
        .map(|(i, doc)| install_object(doc).map_err(|e| bad(format!("document {}: {e}", i + 1))))
        .collect()
}

/// What a file's name pins: `gateway-api-v1.5.1-...` is Gateway API v1.5.1.
fn pin_of(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let (project, rest) = match file.strip_prefix("gateway-api-") {
        Some(rest) => ("Gateway API", rest),
        None => (
            "NGINX Gateway Fabric",
            file.strip_prefix("nginx-gateway-fabric-").unwrap_or(file),
        ),
    };
    let version = rest.split('-').next().unwrap_or(rest);
    format!("{project} {version}")
}

/// Read and parse one pinned install file.
pub fn install_file(root: &Path, path: &str) -> Result<InstallFile, LabError> {
    let full = root.join(path);
    let text = std::fs::read_to_string(&full).map_err(|e| LabError::io(&full, e))?;
    Ok(InstallFile {
        path: path.to_string(),
        pin: pin_of(path),
        objects: parse_install_file(path, &text)?,
    })
}

/// The names of the CRDs among `files`' objects.
pub fn crd_names(files: &[InstallFile]) -> Vec<String> {
    files
        .iter()
        .flat_map(|f| &f.objects)
        .filter(|o| o.kind == "CustomResourceDefinition")
        .map(|o| o.name.clone())
        .collect()
}

/// Server-side apply each object, in order, with the lab's field manager.
pub async fn apply_install_objects(
    client: &Client,
    objects: &[InstallObject],
) -> Result<(), LabError> {
    for object in objects {
        object
            .api(client)
            .patch(&object.name, &apply_params(), &Patch::Apply(&object.body))
            .await
            .map_err(|e| api_error(e, &format!("applying {}", object.describe())))?;
    }
    Ok(())
}

/// Note which objects among `objects` (one install file's, before it is
/// applied) do not exist yet: those are the lab's to delete on `lab down`.
/// Each is looked up through the dynamic API (not found: the lab creates it),
/// except a namespaced object in a namespace `created` already holds, which
/// goes with its namespace.
pub async fn remember_new_objects(
    client: &Client,
    objects: &[InstallObject],
    created: &mut Vec<CreatedObject>,
) -> Result<(), LabError> {
    for object in objects {
        if let Some(ns) = &object.namespace
            && created.iter().any(|c| c.is_namespace(ns))
        {
            continue;
        }
        let found = object
            .api(client)
            .get_opt(&object.name)
            .await
            .map_err(|e| api_error(e, &format!("looking up {}", object.describe())))?;
        if found.is_none() {
            remember(
                created,
                CreatedObject {
                    kind: object.kind.clone(),
                    name: object.name.clone(),
                    namespace: object.namespace.clone(),
                    api_version: object.api_version.clone(),
                },
            );
        }
    }
    Ok(())
}

/// A condition of an object's `status.conditions`: its status and message.
fn condition(status: Option<&Value>, wanted: &str) -> Option<(String, String)> {
    let conditions = status?.get("conditions")?.as_array()?;
    let found = conditions
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(wanted))?;
    let text = |key: &str| {
        found
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Some((text("status"), text("message")))
}

fn established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
}

/// Wait until every CRD of `names` is `Established`, watching the cluster's
/// CRDs; on timeout, one line naming those that are not.
pub async fn wait_established(
    client: &Client,
    names: &[String],
    timeout: Duration,
) -> Result<(), LabError> {
    let mut waiting: BTreeSet<String> = names.iter().cloned().collect();
    let mut last_error: Option<String> = None;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let watch = async {
        let stream = watcher(api, watcher::Config::default()).default_backoff();
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::InitApply(crd) | watcher::Event::Apply(crd))
                    if established(&crd) =>
                {
                    waiting.remove(&crd.name_any());
                }
                Ok(watcher::Event::Delete(crd)) if names.contains(&crd.name_any()) => {
                    waiting.insert(crd.name_any());
                }
                // The watch retries with back-off; say the last failure if
                // it never recovers.
                Err(error) => last_error = Some(error.to_string()),
                _ => {}
            }
            if waiting.is_empty() {
                return Ok(());
            }
        }
        Err(PlatformError::Unavailable(
            "watch of customresourcedefinitions ended".into(),
        ))
    };
    match tokio::time::timeout(timeout, watch).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(PlatformError::Unavailable(format!(
            "CustomResourceDefinitions not Established after {}s: {}{}",
            timeout.as_secs_f64(),
            waiting.iter().cloned().collect::<Vec<_>>().join(", "),
            last_error
                .map(|error| format!(" (the last watch error: {error})"))
                .unwrap_or_default()
        ))
        .into()),
    }
}

/// The dynamic resource of GatewayClasses.
fn gateway_class_resource() -> ApiResource {
    let gvk = GroupVersionKind::gvk(crate::gateway_api::GATEWAY_GROUP, "v1", "GatewayClass");
    ApiResource::from_gvk_with_plural(&gvk, "gatewayclasses")
}

/// Wait until GatewayClass `name` has condition `Accepted=True`, watching it;
/// on timeout, one line naming it and the condition's last message.
pub async fn wait_gateway_class_accepted(
    client: &Client,
    name: &str,
    timeout: Duration,
) -> Result<(), LabError> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &gateway_class_resource());
    let mut last = "no Accepted condition yet".to_string();
    let watch = async {
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let stream = watcher(api, config).default_backoff();
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::InitApply(class) | watcher::Event::Apply(class)) => {
                    match condition(class.data.get("status"), "Accepted") {
                        Some((status, _)) if status == "True" => return Ok(()),
                        Some((status, message)) => {
                            last = format!("Accepted={status}: {message}");
                        }
                        None => last = "no Accepted condition yet".into(),
                    }
                }
                Ok(watcher::Event::Delete(_)) => last = "it was deleted".into(),
                Ok(watcher::Event::InitDone) => {}
                Ok(watcher::Event::Init) => {}
                Err(e) => last = e.to_string(),
            }
        }
        Err(PlatformError::Unavailable(format!(
            "watch of GatewayClass {name} ended"
        )))
    };
    match tokio::time::timeout(timeout, watch).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(PlatformError::Unavailable(format!(
            "GatewayClass {name} not Accepted after {}s ({last}): is NGINX Gateway Fabric running in namespace {NGF_NAMESPACE}?",
            timeout.as_secs_f64()
        ))
        .into()),
    }
}

/// What a run of a scenario with Gateways needs on the cluster and lacks: the
/// Gateway API CRDs of its objects and GatewayClass [`GATEWAY_CLASS`]. `None`
/// when all are there; otherwise one line ending in what to run.
pub async fn missing_gateway(client: &Client) -> Result<Option<String>, LabError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for plural in ["gateways", "httproutes"] {
        let name = format!("{plural}.{}", crate::gateway_api::GATEWAY_GROUP);
        let found = crds
            .get_opt(&name)
            .await
            .map_err(|e| api_error(e, &format!("looking up CustomResourceDefinition {name}")))?;
        if found.is_none() {
            return Ok(Some(format!(
                "the scenario has Gateway API objects but the cluster has no CustomResourceDefinition {name}: run `cargo xtask lab up --gateway` first"
            )));
        }
    }
    let classes: Api<DynamicObject> = Api::all_with(client.clone(), &gateway_class_resource());
    let found = classes
        .get_opt(GATEWAY_CLASS)
        .await
        .map_err(|e| api_error(e, &format!("looking up GatewayClass {GATEWAY_CLASS}")))?;
    Ok(found.is_none().then(|| {
        format!(
            "the scenario's Gateways name GatewayClass {GATEWAY_CLASS}, which the cluster does not have: run `cargo xtask lab up --gateway` first"
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_come_from_the_file_names() {
        assert_eq!(pin_of(GATEWAY_API_FILE), "Gateway API v1.5.1");
        assert_eq!(pin_of(NGF_CRDS_FILE), "NGINX Gateway Fabric v2.6.7");
        assert_eq!(pin_of(NGF_DEPLOY_FILE), "NGINX Gateway Fabric v2.6.7");
    }

    #[test]
    fn broken_files_name_the_file_and_document() {
        let error = |text: &str| parse_install_file("lab/gateway/x.yaml", text).unwrap_err();
        assert_eq!(
            error("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\n").to_string(),
            format!(
                "lab/gateway/x.yaml: document 2: unsupported object v1/Pod (supported kinds: {})",
                KINDS.map(|(_, k, _, _)| k).join(", ")
            )
        );
        assert_eq!(
            error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n").to_string(),
            "lab/gateway/x.yaml: document 1: Service s without metadata.namespace"
        );
        assert_eq!(
            error("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: n}\nspec: {replicas: many}\n")
                .to_string()
                .split(':')
                .take(3)
                .collect::<Vec<_>>()
                .join(":"),
            "lab/gateway/x.yaml: document 1: Deployment d"
        );
        assert!(
            error("a: [\n")
                .to_string()
                .starts_with("lab/gateway/x.yaml: line ")
        );
        assert_eq!(
            error("# nothing\n").to_string(),
            "lab/gateway/x.yaml: no objects"
        );
    }

    #[test]
    fn conditions_are_read_from_status() {
        let status = serde_json::json!({"conditions": [
            {"type": "Accepted", "status": "False", "message": "invalid parameters"}
        ]});
        assert_eq!(
            condition(Some(&status), "Accepted"),
            Some(("False".into(), "invalid parameters".into()))
        );
        assert_eq!(condition(Some(&status), "Programmed"), None);
        assert_eq!(condition(None, "Accepted"), None);
    }
}
