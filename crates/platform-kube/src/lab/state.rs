//! What `lab up` records between commands, and where.

use crate::error::LabError;
use crate::provider::Provider;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Where the lab keeps what it needs between commands, relative to the root.
pub const LAB_DIR: &str = "target/lab";

/// What `lab up` recorded, relative to the root.
pub const STATE_FILE: &str = "target/lab/kube-state.json";

/// Grafana's admin password (mode 0600), relative to the root.
pub const PASSWORD_FILE: &str = "target/lab/grafana-admin-password";

/// How long an API server may take to answer the first request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `lab up` waits for Prometheus and Grafana.
pub const MONITORING_TIMEOUT: Duration = Duration::from_secs(300);

/// An object the lab created on a cluster it does not own, to remove on `lab down`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CreatedObject {
    /// Its kind: one the pinned install files may hold (`Namespace`,
    /// `ClusterRole`, `CustomResourceDefinition`, `GatewayClass`, ...).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its namespace, for a namespaced object created in a namespace the lab
    /// did not create (objects in a namespace the lab created go with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its `apiVersion`. A state an older `lab up` wrote has none (it
    /// recorded only `v1` Namespaces and `rbac.authorization.k8s.io/v1`
    /// roles and bindings); the kind alone names the resource then.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
}

impl CreatedObject {
    /// A cluster-scoped object or a namespace.
    pub fn cluster_wide(api_version: &str, kind: &str, name: &str) -> CreatedObject {
        CreatedObject {
            kind: kind.to_string(),
            name: name.to_string(),
            namespace: None,
            api_version: api_version.to_string(),
        }
    }

    /// `Kind namespace/name` or `Kind name`.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// The same object (kind, name and namespace), whether or not either
    /// record says its `apiVersion`.
    pub fn same_object(&self, other: &CreatedObject) -> bool {
        self.kind == other.kind && self.name == other.name && self.namespace == other.namespace
    }

    /// A Namespace the lab created.
    pub fn is_namespace(&self, name: &str) -> bool {
        self.kind == "Namespace" && self.name == name && self.namespace.is_none()
    }
}

/// Add `object` to `created` unless it is there already.
pub(super) fn remember(created: &mut Vec<CreatedObject>, object: CreatedObject) {
    if !created.iter().any(|o| o.same_object(&object)) {
        created.push(object);
    }
}

/// What `lab up` recorded in [`STATE_FILE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    /// Where the lab runs.
    pub provider: Provider,
    /// The kubeconfig context of its cluster.
    pub context: String,
    /// The demo-app image loaded into the cluster.
    pub demo_app_image: String,
    /// The loadgen image loaded into the cluster.
    pub loadgen_image: String,
    /// What the lab created that existed not before (cluster-wide objects,
    /// namespaces, and namespaced objects in namespaces it did not create), by
    /// `lab up` and by `lab up --gateway`; removed by `lab down` on a cluster
    /// the lab does not own.
    pub created: Vec<CreatedObject>,
    /// Whether `lab up --gateway` installed the Gateway API and NGINX Gateway
    /// Fabric (GatewayClass `nginx` accepted), so a Gateway's port-80
    /// listener is reached on NodePort 30081. A state an older `lab up` wrote
    /// has no such field and reads as `false`.
    #[serde(default)]
    pub gateway: bool,
}

impl LabState {
    /// The state `lab up` left, if a lab is up.
    pub fn load(root: &Path) -> Result<Option<LabState>, LabError> {
        let path = root.join(STATE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| LabError::BadFile {
                    path,
                    message: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LabError::io(path, e)),
        }
    }

    pub(super) fn save(&self, root: &Path) -> Result<(), LabError> {
        let path = root.join(STATE_FILE);
        let text = serde_json::to_string_pretty(self).expect("the state serializes");
        write_file(&path, text.as_bytes(), 0o644)
    }
}

pub(super) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), LabError> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| LabError::io(dir, e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| LabError::io(path, e))?;
    file.write_all(bytes).map_err(|e| LabError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::{conflicting_lab, plan_down};
    use crate::provider::Provider;

    #[test]
    fn state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(LabState::load(dir.path()).unwrap(), None);
        let state = LabState {
            provider: Provider::Context("dev".into()),
            context: "dev".into(),
            demo_app_image: "canary-lab/demo-app:1".into(),
            loadgen_image: "canary-lab/loadgen:2".into(),
            created: vec![
                CreatedObject::cluster_wide("v1", "Namespace", "canary-lab"),
                CreatedObject {
                    kind: "Service".into(),
                    name: "nginx-gateway".into(),
                    namespace: Some("shared".into()),
                    api_version: "v1".into(),
                },
            ],
            gateway: true,
        };
        state.save(dir.path()).unwrap();
        assert_eq!(LabState::load(dir.path()).unwrap(), Some(state.clone()));
        let text = std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap();
        assert!(text.contains("\"context\": \"dev\""), "{text}");
        assert_eq!(
            conflicting_lab(&state, &Provider::Context("dev".into())),
            None
        );
        assert_eq!(
            conflicting_lab(&state, &Provider::Kind).as_deref(),
            Some("a lab is up on context dev already: run `cargo xtask lab down` first")
        );
        assert_eq!(
            plan_down(&state),
            [
                "# delete Service shared/nginx-gateway through context dev",
                "# delete Namespace canary-lab through context dev",
                "# remove target/lab/kube-state.json and target/lab/grafana-admin-password"
            ]
        );
    }

    #[test]
    fn a_state_written_before_the_gateway_was_recorded_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            r#"{"provider": "kind", "context": "kind-canary-lab",
                "demo_app_image": "canary-lab/demo-app:1", "loadgen_image": "canary-lab/loadgen:2",
                "created": []}"#,
        )
        .unwrap();
        let state = LabState::load(dir.path()).unwrap().unwrap();
        assert_eq!(state.provider, Provider::Kind);
        assert!(!state.gateway);
    }

    #[test]
    fn created_objects_recorded_without_namespace_or_api_version_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            r#"{"provider": {"context": "dev"}, "context": "dev",
                "demo_app_image": "canary-lab/demo-app:1", "loadgen_image": "canary-lab/loadgen:2",
                "created": [{"kind": "ClusterRole", "name": "canary-lab-prometheus"},
                            {"kind": "Namespace", "name": "canary-lab"}]}"#,
        )
        .unwrap();
        let state = LabState::load(dir.path()).unwrap().unwrap();
        assert_eq!(
            state.created,
            [
                CreatedObject::cluster_wide("", "ClusterRole", "canary-lab-prometheus"),
                CreatedObject::cluster_wide("", "Namespace", "canary-lab"),
            ]
        );
        // Saved again, a record still has no namespace and no empty apiVersion.
        state.save(dir.path()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("namespace\""), "{text}");
        assert!(!text.contains("api_version"), "{text}");
        // One the lab records again is not recorded twice.
        let mut created = state.created.clone();
        remember(
            &mut created,
            CreatedObject::cluster_wide("v1", "Namespace", "canary-lab"),
        );
        assert_eq!(created, state.created);
    }
}
