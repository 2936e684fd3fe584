//! Admission: an applied manifest becomes a store record, or is refused before
//! anything changes (a Deployment whose pods cannot run here, or whose
//! strategy Kubernetes would refuse).
//!
//! The Deployment's `spec.strategy` is lab-core's [`Strategy`], read in
//! [`strategy`] alone: Kubernetes' defaults filled in, its checks applied.

use crate::image::{self, Programs};
use crate::store::{DeploymentSpec, ServicePort, ServiceSpec};
use k8s_openapi::api::apps::v1::{self as apps, Deployment};
use k8s_openapi::api::core::v1::{PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use lab_core::object::{Object, ObjectKind, Strategy};
use lab_core::platform::PlatformError;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// Check before anything changes that `object` can run here and that a
/// Deployment's strategy is one Kubernetes accepts.
pub(crate) fn check(object: &Object, programs: &Programs) -> Result<(), PlatformError> {
    image::check_runnable(object, programs)?;
    if let Some(spec) = object.as_deployment().and_then(|d| d.spec.as_ref()) {
        strategy(object.name(), spec)?;
    }
    Ok(())
}

/// A Deployment's name and spec as the store holds it.
pub(crate) fn deployment(
    deployment: &Deployment,
    programs: &Programs,
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
    let template = Arc::new(image::pod_runtime(&name, &spec.template, programs)?);
    let record = DeploymentSpec {
        replicas: spec.replicas.unwrap_or(1).max(0),
        template_hash: template_hash(&spec.template),
        template,
        strategy: strategy(&name, spec)?,
    };
    Ok((name, record))
}

/// How the Deployment replaces pods: `Recreate`, or `RollingUpdate` with
/// Kubernetes' defaults (25% surge, 25% unavailable); refused, naming the
/// field, where the API server would refuse it.
fn strategy(name: &str, spec: &apps::DeploymentSpec) -> Result<Strategy, PlatformError> {
    Strategy::of(spec.strategy.as_ref()).map_err(|problem| PlatformError::Unsupported {
        kind: ObjectKind::Deployment,
        name: name.to_string(),
        message: format!("{}: {}", problem.pointer, problem.message),
    })
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
    use lab_core::object::{PodCount, RollingUpdate};
    use serde_json::json;

    fn spec(strategy: serde_json::Value) -> apps::DeploymentSpec {
        serde_json::from_value(json!({
            "selector": {},
            "template": {},
            "strategy": strategy,
        }))
        .unwrap()
    }

    fn rolling(surge: PodCount, unavailable: PodCount) -> Strategy {
        Strategy::RollingUpdate(RollingUpdate {
            max_surge: surge,
            max_unavailable: unavailable,
        })
    }

    #[test]
    fn strategies_read_with_kubernetes_defaults() {
        let quarter = PodCount::Percent(25);
        for (manifest, expected) in [
            (json!({"type": "Recreate"}), Strategy::Recreate),
            (json!({}), rolling(quarter, quarter)),
            (json!({"type": "RollingUpdate"}), rolling(quarter, quarter)),
            (
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
                rolling(PodCount::Pods(1), PodCount::Pods(0)),
            ),
            (
                json!({"rollingUpdate": {"maxUnavailable": "50%"}}),
                rolling(quarter, PodCount::Percent(50)),
            ),
        ] {
            assert_eq!(
                strategy("web", &spec(manifest.clone())),
                Ok(expected),
                "{manifest}"
            );
        }
    }

    #[test]
    fn strategies_kubernetes_refuses_are_refused_naming_the_field() {
        for (manifest, expected) in [
            (
                json!({"type": "Blue"}),
                "/spec/strategy/type: unknown strategy `Blue`: expected RollingUpdate or Recreate",
            ),
            (
                json!({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}),
                "/spec/strategy/rollingUpdate: maxSurge and maxUnavailable cannot both be 0: the update could not progress",
            ),
        ] {
            assert_eq!(
                strategy("web", &spec(manifest.clone())),
                Err(PlatformError::Unsupported {
                    kind: ObjectKind::Deployment,
                    name: "web".into(),
                    message: expected.into(),
                }),
                "{manifest}"
            );
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
