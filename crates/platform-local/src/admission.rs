//! Admission: an applied manifest becomes a store record, or is refused before
//! anything changes (a Deployment whose pods cannot run here).
//!
//! The Deployment's `spec.strategy` is read in [`strategy`] alone.

use crate::image;
use crate::store::{DeploymentSpec, ServicePort, ServiceSpec, Strategy};
use k8s_openapi::api::apps::v1::{self as apps, Deployment};
use k8s_openapi::api::core::v1::{PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use lab_core::object::{Object, ObjectKind};
use lab_core::platform::PlatformError;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// Check before anything changes that `object` can run here.
pub(crate) fn check(object: &Object) -> Result<(), PlatformError> {
    image::check_runnable(object)
}

/// A Deployment's name and spec as the store holds it.
pub(crate) fn deployment(
    deployment: &Deployment,
) -> Result<(String, DeploymentSpec), PlatformError> {
    let name = deployment.metadata.name.clone().unwrap_or_default();
    let spec = deployment
        .spec
        .as_ref()
        .ok_or_else(|| PlatformError::Unsupported {
            kind: ObjectKind::Deployment,
            name: name.clone(),
            message: "has no spec".into(),
        })?;
    let template = Arc::new(image::pod_runtime(&name, &spec.template)?);
    let record = DeploymentSpec {
        replicas: spec.replicas.unwrap_or(1).max(0),
        template_hash: template_hash(&spec.template),
        template,
        strategy: strategy(spec),
    };
    Ok((name, record))
}

/// How the Deployment replaces pods: `Recreate`, or `RollingUpdate` with
/// Kubernetes' defaults (25% surge, 25% unavailable).
fn strategy(spec: &apps::DeploymentSpec) -> Strategy {
    let strategy = spec.strategy.as_ref();
    if strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate") {
        return Strategy::Recreate;
    }
    let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
    let percent = || IntOrString::String("25%".to_string());
    Strategy::RollingUpdate {
        max_surge: rolling
            .and_then(|r| r.max_surge.clone())
            .unwrap_or_else(percent),
        max_unavailable: rolling
            .and_then(|r| r.max_unavailable.clone())
            .unwrap_or_else(percent),
    }
}

/// A Service's name and spec as the store holds it.
pub(crate) fn service(service: &Service) -> (String, ServiceSpec) {
    let name = service.metadata.name.clone().unwrap_or_default();
    let spec = service.spec.clone().unwrap_or_default();
    let ports = spec
        .ports
        .iter()
        .flatten()
        .map(|port| ServicePort {
            port: u16::try_from(port.port).unwrap_or(80),
            target: port
                .target_port
                .clone()
                .unwrap_or(IntOrString::Int(port.port)),
        })
        .collect();
    let selector = spec.selector.unwrap_or_default();
    (name, ServiceSpec { selector, ports })
}

/// A stable hash of a pod template: a changed template is a new revision.
fn template_hash(template: &PodTemplateSpec) -> String {
    let json = serde_json::to_string(template).unwrap_or_default();
    let mut hasher = DefaultHasher::new();
    json.hash(&mut hasher);
    format!("{:010x}", hasher.finish() & 0xff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(strategy: serde_json::Value) -> apps::DeploymentSpec {
        serde_json::from_value(json!({
            "selector": {},
            "template": {},
            "strategy": strategy,
        }))
        .unwrap()
    }

    fn rolling(surge: IntOrString, unavailable: IntOrString) -> Strategy {
        Strategy::RollingUpdate {
            max_surge: surge,
            max_unavailable: unavailable,
        }
    }

    #[test]
    fn strategies_read_with_kubernetes_defaults() {
        let quarter = || IntOrString::String("25%".into());
        for (manifest, expected) in [
            (json!({"type": "Recreate"}), Strategy::Recreate),
            (json!({}), rolling(quarter(), quarter())),
            (
                json!({"type": "RollingUpdate"}),
                rolling(quarter(), quarter()),
            ),
            (
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
                rolling(IntOrString::Int(1), IntOrString::Int(0)),
            ),
            (
                json!({"rollingUpdate": {"maxUnavailable": "50%"}}),
                rolling(quarter(), IntOrString::String("50%".into())),
            ),
        ] {
            assert_eq!(strategy(&spec(manifest.clone())), expected, "{manifest}");
        }
    }

    #[test]
    fn service_ports_default_their_target_to_the_port() {
        let service: Service = serde_json::from_value(json!({
            "metadata": {"name": "my-app"},
            "spec": {
                "selector": {"app": "my-app"},
                "ports": [{"port": 80, "targetPort": "http"}, {"port": 9000}],
            },
        }))
        .unwrap();
        let (name, spec) = super::service(&service);
        assert_eq!(name, "my-app");
        assert_eq!(spec.selector["app"], "my-app");
        let ports: Vec<(u16, IntOrString)> =
            spec.ports.into_iter().map(|p| (p.port, p.target)).collect();
        assert_eq!(
            ports,
            [
                (80, IntOrString::String("http".into())),
                (9000, IntOrString::Int(9000)),
            ]
        );
    }

    #[test]
    fn the_template_hash_follows_the_template() {
        let a: PodTemplateSpec =
            serde_json::from_value(json!({"metadata": {"labels": {"version": "v1"}}})).unwrap();
        let b: PodTemplateSpec =
            serde_json::from_value(json!({"metadata": {"labels": {"version": "v2"}}})).unwrap();
        assert_eq!(template_hash(&a), template_hash(&a.clone()));
        assert_ne!(template_hash(&a), template_hash(&b));
        assert_eq!(template_hash(&a).len(), 10);
    }
}
