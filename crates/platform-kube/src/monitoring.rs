//! The in-cluster monitoring stack: the manifests under `lab/monitoring/` as
//! typed objects, the Grafana ConfigMaps and Secret generated from `grafana/` at
//! `lab up` time, and server-side apply of all of them.

use crate::error::{LabError, api_error};
use crate::platform::{MANAGED_BY, MANAGED_BY_LABEL, apply_params};
use crate::yaml;
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, ObjectMeta, Patch};
use kube::{Client, Resource, ResourceExt};
use lab_core::platform::PlatformError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The namespace Prometheus and Grafana run in.
pub const MONITORING_NAMESPACE: &str = "canary-lab-monitoring";

/// Where the monitoring manifests live, relative to the repository root.
pub const MONITORING_DIR: &str = "lab/monitoring";

/// The Secret holding Grafana's admin password.
pub const GRAFANA_SECRET: &str = "grafana-admin";

/// The key of the password in [`GRAFANA_SECRET`].
pub const GRAFANA_PASSWORD_KEY: &str = "admin-password";

/// Grafana's admin user.
pub const GRAFANA_USER: &str = "admin";

/// The Deployments `lab up` waits for.
pub const MONITORING_DEPLOYMENTS: [&str; 2] = ["prometheus", "grafana"];

/// The ConfigMap holding Prometheus's configuration.
pub const PROMETHEUS_CONFIG_MAP: &str = "prometheus-config";

/// The key of the configuration in [`PROMETHEUS_CONFIG_MAP`].
pub const PROMETHEUS_CONFIG_KEY: &str = "prometheus.yml";

/// The Prometheus Deployment.
pub const PROMETHEUS_DEPLOYMENT: &str = "prometheus";

/// How often the cluster's Prometheus scrapes unless told otherwise: the
/// tutorial's 5 s.
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(5);

/// The pod-template annotation that changes when a Deployment's mounted config
/// changes, so `lab up` restarts Prometheus or Grafana only when needed.
pub const CONFIG_HASH_ANNOTATION: &str = "canary-lab/config-hash";

/// One object of the monitoring stack, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Manifest {
    /// `v1` Namespace.
    Namespace(Box<Namespace>),
    /// `v1` ServiceAccount.
    ServiceAccount(Box<ServiceAccount>),
    /// `rbac.authorization.k8s.io/v1` ClusterRole.
    ClusterRole(Box<ClusterRole>),
    /// `rbac.authorization.k8s.io/v1` ClusterRoleBinding.
    ClusterRoleBinding(Box<ClusterRoleBinding>),
    /// `v1` ConfigMap.
    ConfigMap(Box<ConfigMap>),
    /// `v1` Secret.
    Secret(Box<Secret>),
    /// `apps/v1` Deployment.
    Deployment(Box<Deployment>),
    /// `v1` Service.
    Service(Box<Service>),
}

/// The kinds a monitoring manifest may hold, in the order they are applied
/// (what others refer to comes first).
pub const MANIFEST_KINDS: [&str; 8] = [
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Deployment",
    "Service",
];

fn typed<K: DeserializeOwned>(value: Value) -> Result<Box<K>, String> {
    serde_json::from_value(value)
        .map(Box::new)
        .map_err(|e| e.to_string())
}

impl Manifest {
    /// A typed object from a JSON value with `apiVersion` and `kind`.
    pub fn from_value(value: Value) -> Result<Manifest, String> {
        let api_version = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let manifest = match (api_version.as_str(), kind.as_str()) {
            ("v1", "Namespace") => Manifest::Namespace(typed(value)?),
            ("v1", "ServiceAccount") => Manifest::ServiceAccount(typed(value)?),
            ("rbac.authorization.k8s.io/v1", "ClusterRole") => Manifest::ClusterRole(typed(value)?),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
                Manifest::ClusterRoleBinding(typed(value)?)
            }
            ("v1", "ConfigMap") => Manifest::ConfigMap(typed(value)?),
            ("v1", "Secret") => Manifest::Secret(typed(value)?),
            ("apps/v1", "Deployment") => Manifest::Deployment(typed(value)?),
            ("v1", "Service") => Manifest::Service(typed(value)?),
            _ => {
                return Err(format!(
                    "unsupported object {api_version}/{kind} (supported kinds: {})",
                    MANIFEST_KINDS.join(", ")
                ));
            }
        };
        if manifest.name().is_empty() {
            return Err(format!("{kind} without metadata.name"));
        }
        Ok(manifest)
    }

    /// The object's kind (`ConfigMap`).
    pub fn kind(&self) -> &'static str {
        match self {
            Manifest::Namespace(_) => "Namespace",
            Manifest::ServiceAccount(_) => "ServiceAccount",
            Manifest::ClusterRole(_) => "ClusterRole",
            Manifest::ClusterRoleBinding(_) => "ClusterRoleBinding",
            Manifest::ConfigMap(_) => "ConfigMap",
            Manifest::Secret(_) => "Secret",
            Manifest::Deployment(_) => "Deployment",
            Manifest::Service(_) => "Service",
        }
    }

    fn meta(&self) -> &ObjectMeta {
        match self {
            Manifest::Namespace(o) => o.meta(),
            Manifest::ServiceAccount(o) => o.meta(),
            Manifest::ClusterRole(o) => o.meta(),
            Manifest::ClusterRoleBinding(o) => o.meta(),
            Manifest::ConfigMap(o) => o.meta(),
            Manifest::Secret(o) => o.meta(),
            Manifest::Deployment(o) => o.meta(),
            Manifest::Service(o) => o.meta(),
        }
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace` (`None` for cluster-scoped objects).
    pub fn namespace(&self) -> Option<&str> {
        self.meta().namespace.as_deref()
    }

    /// The object as JSON, exactly as it is sent to the API server.
    pub fn to_value(&self) -> Value {
        let value = match self {
            Manifest::Namespace(o) => serde_json::to_value(o),
            Manifest::ServiceAccount(o) => serde_json::to_value(o),
            Manifest::ClusterRole(o) => serde_json::to_value(o),
            Manifest::ClusterRoleBinding(o) => serde_json::to_value(o),
            Manifest::ConfigMap(o) => serde_json::to_value(o),
            Manifest::Secret(o) => serde_json::to_value(o),
            Manifest::Deployment(o) => serde_json::to_value(o),
            Manifest::Service(o) => serde_json::to_value(o),
        };
        value.expect("k8s-openapi objects serialize to JSON")
    }

    /// The object as YAML for people: what is applied, except that a Secret's
    /// values are replaced by where they are kept.
    pub fn to_display_yaml(&self) -> String {
        let mut value = self.to_value();
        if let Manifest::Secret(_) = self
            && let Some(data) = value.get_mut("data").and_then(Value::as_object_mut)
        {
            for (key, v) in data.iter_mut() {
                *v = Value::String(format!("<{key}: not shown>"));
            }
        }
        yaml::to_yaml(&value)
    }

    /// `Kind namespace/name` or `Kind name`.
    pub fn describe(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{} {ns}/{}", self.kind(), self.name()),
            None => format!("{} {}", self.kind(), self.name()),
        }
    }

    fn order(&self) -> usize {
        MANIFEST_KINDS
            .iter()
            .position(|k| *k == self.kind())
            .unwrap_or(MANIFEST_KINDS.len())
    }
}

/// Every object of a (multi-document) YAML manifest file.
pub fn parse_manifests(path: &Path, text: &str) -> Result<Vec<Manifest>, LabError> {
    let bad = |message: String| LabError::BadFile {
        path: path.to_path_buf(),
        message,
    };
    let documents = yaml::parse_documents(text).map_err(|e| bad(e.message))?;
    documents
        .into_iter()
        .enumerate()
        .map(|(i, doc)| {
            Manifest::from_value(doc).map_err(|e| bad(format!("document {}: {e}", i + 1)))
        })
        .collect()
}

/// The YAML files of a directory, sorted by name.
pub fn yaml_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, LabError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| LabError::io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<String, LabError> {
    std::fs::read_to_string(path).map_err(|e| LabError::io(path, e))
}

/// The manifests under `lab/monitoring/`, as written.
pub fn monitoring_manifests(repo_root: &Path) -> Result<Vec<Manifest>, LabError> {
    let mut manifests = Vec::new();
    for file in yaml_files(&repo_root.join(MONITORING_DIR))? {
        manifests.extend(parse_manifests(&file, &read(&file)?)?);
    }
    Ok(manifests)
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(MONITORING_NAMESPACE.to_string()),
        labels: Some(BTreeMap::from([
            ("app.kubernetes.io/name".to_string(), "grafana".to_string()),
            (
                "app.kubernetes.io/part-of".to_string(),
                "canary-lab".to_string(),
            ),
            (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
        ])),
        ..ObjectMeta::default()
    }
}

/// A ConfigMap holding every file of a directory that ends with one of `extensions`.
fn config_map_of(name: &str, dir: &Path, extensions: &[&str]) -> Result<Manifest, LabError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| LabError::io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
        })
        .collect();
    entries.sort();
    if entries.is_empty() {
        return Err(LabError::BadFile {
            path: dir.to_path_buf(),
            message: format!("no {} file", extensions.join(" or ")),
        });
    }
    let mut data = BTreeMap::new();
    for path in entries {
        let key = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        data.insert(key, read(&path)?);
    }
    Ok(Manifest::ConfigMap(Box::new(ConfigMap {
        metadata: meta(name),
        data: Some(data),
        ..ConfigMap::default()
    })))
}

/// The ConfigMaps Grafana mounts, generated from the files under `grafana/`:
/// the datasource, the dashboard providers and the dashboards.
pub fn grafana_config_maps(repo_root: &Path) -> Result<Vec<Manifest>, LabError> {
    let grafana = repo_root.join("grafana");
    Ok(vec![
        config_map_of(
            "grafana-datasources",
            &grafana.join("provisioning/datasources"),
            &["yaml", "yml"],
        )?,
        config_map_of(
            "grafana-dashboard-providers",
            &grafana.join("provisioning/dashboards"),
            &["yaml", "yml"],
        )?,
        config_map_of("grafana-dashboards", &grafana.join("dashboards"), &["json"])?,
    ])
}

/// The Secret with Grafana's admin password.
pub fn grafana_secret(password: &str) -> Manifest {
    Manifest::Secret(Box::new(Secret {
        metadata: meta(GRAFANA_SECRET),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            GRAFANA_PASSWORD_KEY.to_string(),
            ByteString(password.as_bytes().to_vec()),
        )])),
        ..Secret::default()
    }))
}

/// A new admin password: 32 random letters and digits from the thread's
/// cryptographically secure generator.
pub fn generate_password() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// The whole stack in apply order: the manifests (Prometheus scraping every
/// `scrape_interval`), the generated ConfigMaps and Secret, and on each
/// Deployment a hash of the config it mounts.
pub fn monitoring_stack(
    repo_root: &Path,
    grafana_password: &str,
    scrape_interval: Duration,
) -> Result<Vec<Manifest>, LabError> {
    let mut manifests = monitoring_manifests(repo_root)?;
    set_scrape_interval(repo_root, &mut manifests, scrape_interval)?;
    manifests.extend(grafana_config_maps(repo_root)?);
    manifests.push(grafana_secret(grafana_password));
    annotate_config_hashes(&mut manifests);
    manifests.sort_by_key(Manifest::order);
    Ok(manifests)
}

/// Prometheus's ConfigMap (scraping every `scrape_interval`) and Deployment,
/// with the hash of that config on the Deployment's pod template: applying
/// them rolls Prometheus onto the new interval.
pub fn prometheus_manifests(
    repo_root: &Path,
    scrape_interval: Duration,
) -> Result<Vec<Manifest>, LabError> {
    let mut manifests: Vec<Manifest> = monitoring_manifests(repo_root)?
        .into_iter()
        .filter(|m| match m {
            Manifest::ConfigMap(_) => m.name() == PROMETHEUS_CONFIG_MAP,
            Manifest::Deployment(_) => m.name() == PROMETHEUS_DEPLOYMENT,
            _ => false,
        })
        .collect();
    set_scrape_interval(repo_root, &mut manifests, scrape_interval)?;
    annotate_config_hashes(&mut manifests);
    manifests.sort_by_key(Manifest::order);
    Ok(manifests)
}

/// A duration as Prometheus writes it: `5s`, `800ms`.
pub fn prometheus_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

/// The global scrape interval of a Prometheus configuration, if it names one
/// Prometheus and the lab both read.
pub fn scrape_interval_of(config: &str) -> Option<Duration> {
    let document = yaml::parse_documents(config).ok()?.into_iter().next()?;
    let text = document["global"]["scrape_interval"].as_str()?;
    lab_core::duration::parse_duration(text).ok()
}

/// Template Prometheus's configuration (on the typed value, never as text):
/// scrape and evaluate every `interval`, time a scrape out at four fifths of
/// it (Prometheus refuses a timeout longer than the interval).
fn set_scrape_interval(
    repo_root: &Path,
    manifests: &mut [Manifest],
    interval: Duration,
) -> Result<(), LabError> {
    let bad = |message: String| LabError::BadFile {
        path: repo_root.join(MONITORING_DIR),
        message,
    };
    if interval < Duration::from_millis(100) {
        return Err(bad(format!(
            "a scrape interval of {} is too short for Prometheus",
            prometheus_duration(interval)
        )));
    }
    let config_map = manifests.iter_mut().find_map(|m| match m {
        Manifest::ConfigMap(cm) if cm.metadata.name.as_deref() == Some(PROMETHEUS_CONFIG_MAP) => {
            Some(cm)
        }
        _ => None,
    });
    let Some(config_map) = config_map else {
        return Err(bad(format!("no ConfigMap {PROMETHEUS_CONFIG_MAP}")));
    };
    let data = config_map.data.get_or_insert_with(BTreeMap::new);
    let text = data.get(PROMETHEUS_CONFIG_KEY).ok_or_else(|| {
        bad(format!(
            "ConfigMap {PROMETHEUS_CONFIG_MAP} has no {PROMETHEUS_CONFIG_KEY}"
        ))
    })?;
    let timeout = Duration::from_millis((interval.as_millis() as u64 * 4 / 5).min(10_000));
    let text = yaml::set_in_section(
        text,
        "global",
        &[
            ("scrape_interval", prometheus_duration(interval)),
            ("scrape_timeout", prometheus_duration(timeout)),
            ("evaluation_interval", prometheus_duration(interval)),
        ],
    )
    .map_err(|e| bad(format!("{PROMETHEUS_CONFIG_KEY}: {}", e.message)))?;
    data.insert(PROMETHEUS_CONFIG_KEY.to_string(), text);
    Ok(())
}

/// Put on each Deployment's pod template a hash of the ConfigMaps and Secrets it
/// refers to, so a changed dashboard or config rolls the pod and an unchanged
/// one leaves it alone.
pub fn annotate_config_hashes(manifests: &mut [Manifest]) {
    let mut config: BTreeMap<(String, String), Value> = BTreeMap::new();
    for manifest in manifests.iter() {
        if let Manifest::ConfigMap(_) | Manifest::Secret(_) = manifest {
            let value = manifest.to_value();
            let data = json_pick(&value, &["data", "binaryData", "stringData"]);
            config.insert(
                (manifest.kind().to_string(), manifest.name().to_string()),
                data,
            );
        }
    }
    for manifest in manifests.iter_mut() {
        let Manifest::Deployment(deployment) = manifest else {
            continue;
        };
        let refs = referenced_config(deployment);
        if refs.is_empty() {
            continue;
        }
        let mut hasher = Sha256::new();
        for key in &refs {
            hasher.update(format!("{}/{}\n", key.0, key.1));
            if let Some(data) = config.get(key) {
                hasher.update(data.to_string());
            }
        }
        let hash: String = hasher
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        if let Some(spec) = deployment.spec.as_mut() {
            spec.template
                .metadata
                .get_or_insert_with(ObjectMeta::default)
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .insert(CONFIG_HASH_ANNOTATION.to_string(), hash);
        }
    }
}

fn json_pick(value: &Value, keys: &[&str]) -> Value {
    let mut out = serde_json::Map::new();
    for key in keys {
        if let Some(v) = value.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// The (kind, name) of every ConfigMap and Secret a Deployment's pods mount or
/// read environment variables from.
fn referenced_config(deployment: &Deployment) -> Vec<(String, String)> {
    let mut refs = Vec::new();
    let Some(pod) = deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
    else {
        return refs;
    };
    for volume in pod.volumes.iter().flatten() {
        if let Some(cm) = &volume.config_map {
            refs.push(("ConfigMap".to_string(), cm.name.clone()));
        }
        if let Some(secret) = volume.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            refs.push(("Secret".to_string(), secret));
        }
    }
    for container in &pod.containers {
        for env in container.env.iter().flatten() {
            let Some(from) = &env.value_from else {
                continue;
            };
            if let Some(cm) = &from.config_map_key_ref {
                refs.push(("ConfigMap".to_string(), cm.name.clone()));
            }
            if let Some(secret) = &from.secret_key_ref {
                refs.push(("Secret".to_string(), secret.name.clone()));
            }
        }
    }
    refs.sort();
    refs.dedup();
    refs
}

async fn apply_namespaced<K>(client: &Client, object: &K) -> Result<(), kube::Error>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Serialize
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
    <K as Resource>::DynamicType: Default,
{
    let namespace = object
        .namespace()
        .unwrap_or_else(|| MONITORING_NAMESPACE.to_string());
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    api.patch(&object.name_any(), &apply_params(), &Patch::Apply(object))
        .await?;
    Ok(())
}

async fn apply_cluster_wide<K>(client: &Client, object: &K) -> Result<(), kube::Error>
where
    K: Resource<Scope = k8s_openapi::ClusterResourceScope>
        + Serialize
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
    <K as Resource>::DynamicType: Default,
{
    let api: Api<K> = Api::all(client.clone());
    api.patch(&object.name_any(), &apply_params(), &Patch::Apply(object))
        .await?;
    Ok(())
}

/// Server-side apply one object with the lab's field manager.
pub async fn apply_manifest(client: &Client, manifest: &Manifest) -> Result<(), PlatformError> {
    let result = match manifest {
        Manifest::Namespace(o) => apply_cluster_wide(client, o.as_ref()).await,
        Manifest::ServiceAccount(o) => apply_namespaced(client, o.as_ref()).await,
        Manifest::ClusterRole(o) => apply_cluster_wide(client, o.as_ref()).await,
        Manifest::ClusterRoleBinding(o) => apply_cluster_wide(client, o.as_ref()).await,
        Manifest::ConfigMap(o) => apply_namespaced(client, o.as_ref()).await,
        Manifest::Secret(o) => apply_namespaced(client, o.as_ref()).await,
        Manifest::Deployment(o) => apply_namespaced(client, o.as_ref()).await,
        Manifest::Service(o) => apply_namespaced(client, o.as_ref()).await,
    };
    result.map_err(|e| api_error(e, &format!("applying {}", manifest.describe())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_rejected(value: Value, expected: &str) {
        assert_eq!(Manifest::from_value(value).unwrap_err(), expected);
    }

    #[test]
    fn unknown_kinds_and_nameless_objects_are_rejected() {
        check_rejected(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}),
            "unsupported object v1/Pod (supported kinds: Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, ConfigMap, Secret, Deployment, Service)",
        );
        check_rejected(
            json!({"apiVersion": "apps/v1", "kind": "Namespace"}),
            "unsupported object apps/v1/Namespace (supported kinds: Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, ConfigMap, Secret, Deployment, Service)",
        );
        check_rejected(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
            "ConfigMap without metadata.name",
        );
    }

    #[test]
    fn parse_errors_name_the_file_and_document() {
        let error = parse_manifests(Path::new("lab/monitoring/x.yaml"), "kind: Namespace\napiVersion: v1\nmetadata: {name: a}\n---\nkind: Pod\napiVersion: v1\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("lab/monitoring/x.yaml: document 2: unsupported object v1/Pod"),
            "{error}"
        );
    }

    #[test]
    fn secrets_are_not_shown() {
        let text = grafana_secret("hunter2hunter2").to_display_yaml();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("admin-password: \"<admin-password: not shown>\""),
            "{text}"
        );
    }

    #[test]
    fn passwords_are_long_and_different() {
        let a = generate_password();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, generate_password());
    }

    fn deployment_mounting(config_map: &str) -> Manifest {
        Manifest::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {}, "template": {"spec": {
                "containers": [{"name": "c"}],
                "volumes": [{"name": "v", "configMap": {"name": config_map}}]
            }}}
        }))
        .unwrap()
    }

    fn config_map(data: &str) -> Manifest {
        Manifest::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": data}})).unwrap()
    }

    fn hash_of(manifests: &[Manifest]) -> Option<String> {
        manifests.iter().find_map(|m| match m {
            Manifest::Deployment(d) => d
                .spec
                .as_ref()?
                .template
                .metadata
                .as_ref()?
                .annotations
                .as_ref()?
                .get(CONFIG_HASH_ANNOTATION)
                .cloned(),
            _ => None,
        })
    }

    #[test]
    fn config_hash_follows_the_mounted_config_only() {
        let mut a = vec![deployment_mounting("cm"), config_map("one")];
        let mut b = vec![deployment_mounting("cm"), config_map("two")];
        let mut c = vec![deployment_mounting("other"), config_map("two")];
        let mut a2 = vec![deployment_mounting("cm"), config_map("one")];
        for set in [&mut a, &mut b, &mut c, &mut a2] {
            annotate_config_hashes(set);
        }
        assert!(hash_of(&a).is_some());
        assert_eq!(hash_of(&a), hash_of(&a2));
        assert_ne!(hash_of(&a), hash_of(&b));
        assert_ne!(hash_of(&b), hash_of(&c));
    }
}
