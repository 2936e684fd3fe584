//! The Kubernetes objects a scenario may contain, as k8s-openapi types.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use std::collections::BTreeMap;
use std::fmt;

/// A kind of object the lab knows how to run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ObjectKind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `v1` Service.
    Service,
}

impl ObjectKind {
    /// The name `kubectl` uses for this kind (`deployment`, `service`).
    pub fn kubectl_name(self) -> &'static str {
        match self {
            ObjectKind::Deployment => "deployment",
            ObjectKind::Service => "service",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Deployment => "Deployment",
            ObjectKind::Service => "Service",
        })
    }
}

/// One object from a scenario's manifests.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// A Deployment (`apps/v1`).
    Deployment(Box<Deployment>),
    /// A Service (`v1`).
    Service(Box<Service>),
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Object::Deployment(_) => ObjectKind::Deployment,
            Object::Service(_) => ObjectKind::Service,
        }
    }

    /// The object's `metadata.name` (validated objects always have one).
    pub fn name(&self) -> &str {
        let meta = match self {
            Object::Deployment(d) => &d.metadata,
            Object::Service(s) => &s.metadata,
        };
        meta.name.as_deref().unwrap_or("")
    }
}

/// The pod label that names an app's version; the lab splits traffic and results by it.
pub const VERSION_LABEL: &str = "version";

impl Object {
    /// The Deployment, if this object is one.
    pub fn as_deployment(&self) -> Option<&Deployment> {
        match self {
            Object::Deployment(deployment) => Some(deployment),
            Object::Service(_) => None,
        }
    }

    /// The Service, if this object is one.
    pub fn as_service(&self) -> Option<&Service> {
        match self {
            Object::Service(service) => Some(service),
            Object::Deployment(_) => None,
        }
    }

    /// A Deployment's pod template labels (`spec.template.metadata.labels`).
    pub fn pod_labels(&self) -> Option<&BTreeMap<String, String>> {
        self.as_deployment()?
            .spec
            .as_ref()?
            .template
            .metadata
            .as_ref()?
            .labels
            .as_ref()
    }

    /// A Deployment's version: the `version` label of its pod template.
    pub fn version(&self) -> Option<&str> {
        self.pod_labels()?.get(VERSION_LABEL).map(String::as_str)
    }

    /// A Deployment's desired replicas (Kubernetes defaults an absent count to 1).
    pub fn replicas(&self) -> Option<i32> {
        let spec = self.as_deployment()?.spec.as_ref();
        Some(spec.and_then(|spec| spec.replicas).unwrap_or(1))
    }

    /// A Service's selector (`spec.selector`).
    pub fn service_selector(&self) -> Option<&BTreeMap<String, String>> {
        self.as_service()?.spec.as_ref()?.selector.as_ref()
    }
}

impl serde::Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The k8s-openapi types carry `apiVersion` and `kind`, so the object is
        // written exactly as a manifest would be.
        match self {
            Object::Deployment(deployment) => deployment.serialize(serializer),
            Object::Service(service) => service.serialize(serializer),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let kind = value.get("kind").and_then(serde_json::Value::as_str);
        match kind {
            Some("Deployment") => serde_json::from_value(value)
                .map(|deployment| Object::Deployment(Box::new(deployment)))
                .map_err(D::Error::custom),
            Some("Service") => serde_json::from_value(value)
                .map(|service| Object::Service(Box::new(service)))
                .map_err(D::Error::custom),
            Some(other) => Err(D::Error::custom(format!("unsupported kind {other}"))),
            None => Err(D::Error::custom("object without a kind")),
        }
    }
}

/// Whether a label selector selects a set of labels, with Kubernetes semantics:
/// every `matchLabels` pair and every `matchExpressions` requirement must hold. An
/// empty selector selects everything (callers that forbid it check that first).
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let pairs_hold = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.get(key) == Some(value));
    let expressions_hold = selector
        .match_expressions
        .iter()
        .flatten()
        .all(|requirement| requirement_holds(requirement, labels));
    pairs_hold && expressions_hold
}

fn requirement_holds(
    requirement: &LabelSelectorRequirement,
    labels: &BTreeMap<String, String>,
) -> bool {
    let value = labels.get(&requirement.key);
    let values = requirement.values.as_deref().unwrap_or_default();
    match requirement.operator.as_str() {
        "In" => value.is_some_and(|value| values.contains(value)),
        "NotIn" => value.is_none_or(|value| !values.contains(value)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        // An unknown operator selects nothing, as the API server would reject it.
        _ => false,
    }
}

/// Whether a plain equality selector (a Service's) selects a set of labels.
pub fn labels_match(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector
        .iter()
        .all(|(key, value)| labels.get(key) == Some(value))
}

/// Labels as people read them: `{app: my-app, version: v2.0.0}`.
pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(key, value)| format!("{key}: {value}"))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// A label selector as people read it: `{app: my-app, tier in (a, b)}`.
pub fn format_selector(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(key, value)| format!("{key}: {value}"))
        .collect();
    for requirement in selector.match_expressions.iter().flatten() {
        let values = requirement.values.as_deref().unwrap_or_default().join(", ");
        parts.push(match requirement.operator.as_str() {
            "In" => format!("{} in ({values})", requirement.key),
            "NotIn" => format!("{} notin ({values})", requirement.key),
            "Exists" => requirement.key.clone(),
            "DoesNotExist" => format!("!{}", requirement.key),
            other => format!("{} {other} ({values})", requirement.key),
        });
    }
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Whether `selector` (match labels and `key operator values` expressions)
    /// selects the pod labels `{app: my-app, version: v1.0.0}`.
    fn check(match_labels: &[(&str, &str)], expressions: &[(&str, &str, &[&str])], expected: bool) {
        let selector = LabelSelector {
            match_labels: Some(labels(match_labels)),
            match_expressions: Some(
                expressions
                    .iter()
                    .map(|(key, operator, values)| LabelSelectorRequirement {
                        key: key.to_string(),
                        operator: operator.to_string(),
                        values: Some(values.iter().map(|v| v.to_string()).collect()),
                    })
                    .collect(),
            ),
        };
        let pod = labels(&[("app", "my-app"), ("version", "v1.0.0")]);
        assert_eq!(
            selector_matches(&selector, &pod),
            expected,
            "{}",
            format_selector(&selector)
        );
    }

    #[test]
    fn selectors_follow_kubernetes_semantics() {
        check(&[("app", "my-app")], &[], true);
        check(&[("app", "my-app"), ("version", "v1.0.0")], &[], true);
        check(&[("app", "my-app"), ("version", "v2.0.0")], &[], false);
        check(&[("tier", "web")], &[], false);
        check(&[], &[("version", "In", &["v1.0.0", "v1.1.0"])], true);
        check(&[], &[("version", "In", &["v2.0.0"])], false);
        check(&[], &[("version", "NotIn", &["v2.0.0"])], true);
        check(&[], &[("tier", "NotIn", &["web"])], true);
        check(&[], &[("app", "Exists", &[])], true);
        check(&[], &[("tier", "Exists", &[])], false);
        check(&[], &[("tier", "DoesNotExist", &[])], true);
        check(&[], &[("app", "Matches", &["my-app"])], false);
        check(
            &[("app", "my-app")],
            &[("version", "DoesNotExist", &[])],
            false,
        );
    }

    #[test]
    fn selectors_read_like_kubectl() {
        let selector = LabelSelector {
            match_labels: Some(labels(&[("app", "my-app")])),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "version".to_owned(),
                operator: "In".to_owned(),
                values: Some(vec!["v1".to_owned(), "v2".to_owned()]),
            }]),
        };
        assert_eq!(
            format_selector(&selector),
            "{app: my-app, version in (v1, v2)}"
        );
        assert_eq!(
            format_labels(&labels(&[("b", "2"), ("a", "1")])),
            "{a: 1, b: 2}"
        );
        assert!(labels_match(
            &labels(&[("app", "my-app")]),
            &labels(&[("app", "my-app"), ("v", "1")])
        ));
        assert!(!labels_match(
            &labels(&[("app", "x")]),
            &labels(&[("app", "my-app")])
        ));
    }
}
