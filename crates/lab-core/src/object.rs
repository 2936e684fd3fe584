//! The Kubernetes objects a scenario may contain, as k8s-openapi types.

use crate::gateway::{Gateway, HttpRoute};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStrategy};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
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
    /// `gateway.networking.k8s.io/v1` Gateway.
    Gateway,
    /// `gateway.networking.k8s.io/v1` HTTPRoute.
    HttpRoute,
}

impl ObjectKind {
    /// Every kind, in the order manifests are applied.
    pub const ALL: [ObjectKind; 4] = [
        ObjectKind::Deployment,
        ObjectKind::Service,
        ObjectKind::Gateway,
        ObjectKind::HttpRoute,
    ];

    /// The name `kubectl` uses for this kind (`deployment`, `service`,
    /// `gateway`, `httproute`).
    pub fn kubectl_name(self) -> &'static str {
        match self {
            ObjectKind::Deployment => "deployment",
            ObjectKind::Service => "service",
            ObjectKind::Gateway => "gateway",
            ObjectKind::HttpRoute => "httproute",
        }
    }

    /// The kind a `kubectl` name names.
    pub fn from_kubectl_name(name: &str) -> Option<ObjectKind> {
        ObjectKind::ALL
            .into_iter()
            .find(|kind| kind.kubectl_name() == name)
    }

    /// The `apiVersion` a manifest of this kind must have.
    pub fn api_version(self) -> &'static str {
        match self {
            ObjectKind::Deployment => "apps/v1",
            ObjectKind::Service => "v1",
            ObjectKind::Gateway | ObjectKind::HttpRoute => crate::gateway::API_VERSION,
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Deployment => "Deployment",
            ObjectKind::Service => "Service",
            ObjectKind::Gateway => "Gateway",
            ObjectKind::HttpRoute => "HTTPRoute",
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
    /// A Gateway (`gateway.networking.k8s.io/v1`).
    Gateway(Box<Gateway>),
    /// An HTTPRoute (`gateway.networking.k8s.io/v1`).
    HttpRoute(Box<HttpRoute>),
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Object::Deployment(_) => ObjectKind::Deployment,
            Object::Service(_) => ObjectKind::Service,
            Object::Gateway(_) => ObjectKind::Gateway,
            Object::HttpRoute(_) => ObjectKind::HttpRoute,
        }
    }

    /// The object's `metadata.name` (validated objects always have one).
    pub fn name(&self) -> &str {
        let meta = match self {
            Object::Deployment(d) => &d.metadata,
            Object::Service(s) => &s.metadata,
            Object::Gateway(g) => &g.metadata,
            Object::HttpRoute(r) => &r.metadata,
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
            _ => None,
        }
    }

    /// The Service, if this object is one.
    pub fn as_service(&self) -> Option<&Service> {
        match self {
            Object::Service(service) => Some(service),
            _ => None,
        }
    }

    /// The Gateway, if this object is one.
    pub fn as_gateway(&self) -> Option<&Gateway> {
        match self {
            Object::Gateway(gateway) => Some(gateway),
            _ => None,
        }
    }

    /// The HTTPRoute, if this object is one.
    pub fn as_route(&self) -> Option<&HttpRoute> {
        match self {
            Object::HttpRoute(route) => Some(route),
            _ => None,
        }
    }

    /// A Service's port numbers (`spec.ports[].port`).
    pub fn service_ports(&self) -> Vec<i32> {
        self.as_service()
            .and_then(|s| s.spec.as_ref())
            .and_then(|spec| spec.ports.as_ref())
            .map(|ports| ports.iter().map(|p| p.port).collect())
            .unwrap_or_default()
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

    /// A Deployment's rollout strategy (`spec.strategy`, Kubernetes' defaults
    /// filled in), or why it is not one Kubernetes accepts.
    pub fn strategy(&self) -> Option<Result<Strategy, StrategyError>> {
        let spec = self.as_deployment()?.spec.as_ref();
        Some(Strategy::of(spec.and_then(|spec| spec.strategy.as_ref())))
    }

    /// A Service's selector (`spec.selector`).
    pub fn service_selector(&self) -> Option<&BTreeMap<String, String>> {
        self.as_service()?.spec.as_ref()?.selector.as_ref()
    }
}

/// How a Deployment replaces its pods when its pod template changes
/// (`spec.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Stop every old pod, then start the new ones: downtime in between.
    Recreate,
    /// Replace pods a few at a time, within the bounds.
    RollingUpdate(RollingUpdate),
}

/// The bounds of a rolling update (`spec.strategy.rollingUpdate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollingUpdate {
    /// How many pods above the desired count may run during the update.
    pub max_surge: PodCount,
    /// How many of the desired pods may be unavailable during the update.
    pub max_unavailable: PodCount,
}

/// A number of pods as a rolling update's bounds give it: absolute, or a
/// percentage of the desired replicas (Kubernetes' `IntOrString`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodCount {
    /// So many pods (`maxSurge: 1`).
    Pods(i32),
    /// A percentage of the desired replicas (`maxSurge: 25%`).
    Percent(i32),
}

/// Which way a percentage of pods rounds to whole pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Up, as `maxSurge` does.
    Up,
    /// Down, as `maxUnavailable` does.
    Down,
}

/// The pod counts a rolling update stays within, for a number of desired
/// replicas (Kubernetes' `ResolveFenceposts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolloutBounds {
    /// Pods that may run above the desired count.
    pub surge: i32,
    /// Desired pods that may be unavailable.
    pub unavailable: i32,
}

/// A `spec.strategy` that Kubernetes would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StrategyError {
    /// The field at fault, as a JSON pointer into the Deployment
    /// (`/spec/strategy/rollingUpdate/maxSurge`).
    pub pointer: &'static str,
    /// What is wrong, lower case, no trailing period.
    pub message: String,
}

impl PodCount {
    /// Kubernetes' default for both bounds: 25%.
    pub const DEFAULT: PodCount = PodCount::Percent(25);

    /// Read an `IntOrString` bound (`1`, `"25%"`); `field` names it in messages.
    pub fn parse(value: &IntOrString, field: &str) -> Result<PodCount, String> {
        let count = match value {
            IntOrString::Int(pods) => PodCount::Pods(*pods),
            IntOrString::String(text) => text
                .strip_suffix('%')
                .and_then(|number| number.parse::<i32>().ok())
                .map(PodCount::Percent)
                .ok_or_else(|| {
                    format!("{field} `{text}` must be a number of pods or a percentage such as 25%")
                })?,
        };
        match count {
            PodCount::Pods(n) | PodCount::Percent(n) if n < 0 => {
                Err(format!("{field} must not be negative ({count})"))
            }
            _ => Ok(count),
        }
    }

    /// Whole pods for `replicas` desired ones: a percentage rounds as asked.
    pub fn scaled(self, replicas: i32, rounding: Rounding) -> i32 {
        match self {
            PodCount::Pods(pods) => pods.max(0),
            PodCount::Percent(percent) => {
                let product = i64::from(replicas.max(0)) * i64::from(percent.max(0));
                let pods = match rounding {
                    Rounding::Up => (product + 99) / 100,
                    Rounding::Down => product / 100,
                };
                i32::try_from(pods).unwrap_or(i32::MAX)
            }
        }
    }
}

impl fmt::Display for PodCount {
    /// As a manifest writes it: `1`, `25%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PodCount::Pods(pods) => write!(f, "{pods}"),
            PodCount::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

impl RollingUpdate {
    /// Kubernetes' default: maxSurge 25%, maxUnavailable 25%.
    pub const DEFAULT: RollingUpdate = RollingUpdate {
        max_surge: PodCount::DEFAULT,
        max_unavailable: PodCount::DEFAULT,
    };

    /// The bounds for `replicas` desired pods: the surge rounds up, the
    /// unavailable count down, and when both come to 0 one pod may be
    /// unavailable, so the update can progress.
    pub fn bounds(&self, replicas: i32) -> RolloutBounds {
        let surge = self.max_surge.scaled(replicas, Rounding::Up);
        let mut unavailable = self.max_unavailable.scaled(replicas, Rounding::Down);
        if surge == 0 && unavailable == 0 {
            unavailable = 1;
        }
        RolloutBounds { surge, unavailable }
    }
}

impl Strategy {
    /// A Deployment's strategy from its `spec.strategy`, Kubernetes' defaults
    /// filled in (RollingUpdate, 25% and 25%); the same checks as the API
    /// server's.
    pub fn of(strategy: Option<&DeploymentStrategy>) -> Result<Strategy, StrategyError> {
        let Some(strategy) = strategy else {
            return Ok(Strategy::RollingUpdate(RollingUpdate::DEFAULT));
        };
        match strategy.type_.as_deref() {
            Some("Recreate") if strategy.rolling_update.is_some() => Err(StrategyError {
                pointer: "/spec/strategy/rollingUpdate",
                message: "rollingUpdate applies only to the RollingUpdate strategy".to_owned(),
            }),
            Some("Recreate") => Ok(Strategy::Recreate),
            None | Some("RollingUpdate") => {
                let rolling = strategy.rolling_update.as_ref();
                let bound = |value: Option<&IntOrString>, field: &str, pointer: &'static str| {
                    value
                        .map_or(Ok(PodCount::DEFAULT), |value| PodCount::parse(value, field))
                        .map_err(|message| StrategyError { pointer, message })
                };
                let max_surge = bound(
                    rolling.and_then(|r| r.max_surge.as_ref()),
                    "maxSurge",
                    "/spec/strategy/rollingUpdate/maxSurge",
                )?;
                let max_unavailable = bound(
                    rolling.and_then(|r| r.max_unavailable.as_ref()),
                    "maxUnavailable",
                    "/spec/strategy/rollingUpdate/maxUnavailable",
                )?;
                if matches!(max_unavailable, PodCount::Percent(p) if p > 100) {
                    return Err(StrategyError {
                        pointer: "/spec/strategy/rollingUpdate/maxUnavailable",
                        message: format!(
                            "maxUnavailable must not be more than 100% ({max_unavailable})"
                        ),
                    });
                }
                let zero =
                    |count: PodCount| matches!(count, PodCount::Pods(0) | PodCount::Percent(0));
                if zero(max_surge) && zero(max_unavailable) {
                    return Err(StrategyError {
                        pointer: "/spec/strategy/rollingUpdate",
                        message: "maxSurge and maxUnavailable cannot both be 0: the update could not progress".to_owned(),
                    });
                }
                Ok(Strategy::RollingUpdate(RollingUpdate {
                    max_surge,
                    max_unavailable,
                }))
            }
            Some(other) => Err(StrategyError {
                pointer: "/spec/strategy/type",
                message: format!("unknown strategy `{other}`: expected RollingUpdate or Recreate"),
            }),
        }
    }

    /// The most pods above the desired `replicas` that a rollout to a new
    /// template may run at once: the surge of a rolling update, none for
    /// Recreate (which stops the old pods first).
    pub fn surge(&self, replicas: i32) -> i32 {
        match self {
            Strategy::Recreate => 0,
            Strategy::RollingUpdate(rolling) => rolling.bounds(replicas).surge,
        }
    }
}

impl serde::Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The k8s-openapi types carry `apiVersion` and `kind`, so the object is
        // written exactly as a manifest would be.
        match self {
            Object::Deployment(deployment) => deployment.serialize(serializer),
            Object::Service(service) => service.serialize(serializer),
            Object::Gateway(gateway) => gateway.serialize(serializer),
            Object::HttpRoute(route) => route.serialize(serializer),
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
            Some("Gateway") => serde_json::from_value(value)
                .map(|gateway| Object::Gateway(Box::new(gateway)))
                .map_err(D::Error::custom),
            Some("HTTPRoute") => serde_json::from_value(value)
                .map(|route| Object::HttpRoute(Box::new(route)))
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

    /// The strategy of a Deployment whose `spec.strategy` is `yaml` (JSON).
    fn strategy(json: serde_json::Value) -> Result<Strategy, String> {
        let strategy: Option<DeploymentStrategy> = serde_json::from_value(json).unwrap();
        Strategy::of(strategy.as_ref()).map_err(|e| format!("{}: {}", e.pointer, e.message))
    }

    #[test]
    fn strategies_get_kubernetes_defaults_and_checks() {
        use serde_json::json;
        let rolling = |surge, unavailable| {
            Ok(Strategy::RollingUpdate(RollingUpdate {
                max_surge: surge,
                max_unavailable: unavailable,
            }))
        };
        let quarter = PodCount::Percent(25);
        assert_eq!(strategy(json!(null)), rolling(quarter, quarter));
        assert_eq!(strategy(json!({})), rolling(quarter, quarter));
        assert_eq!(
            strategy(json!({"type": "Recreate"})),
            Ok(Strategy::Recreate)
        );
        assert_eq!(
            strategy(json!({"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})),
            rolling(PodCount::Pods(1), PodCount::Pods(0))
        );
        assert_eq!(
            strategy(json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%"}})),
            rolling(PodCount::Percent(50), quarter)
        );
        let refused = [
            (
                json!({"type": "Recreate", "rollingUpdate": {}}),
                "/spec/strategy/rollingUpdate: rollingUpdate applies only to the RollingUpdate strategy",
            ),
            (
                json!({"type": "Canary"}),
                "/spec/strategy/type: unknown strategy `Canary`: expected RollingUpdate or Recreate",
            ),
            (
                json!({"rollingUpdate": {"maxSurge": "1"}}),
                "/spec/strategy/rollingUpdate/maxSurge: maxSurge `1` must be a number of pods or a percentage such as 25%",
            ),
            (
                json!({"rollingUpdate": {"maxSurge": -1}}),
                "/spec/strategy/rollingUpdate/maxSurge: maxSurge must not be negative (-1)",
            ),
            (
                json!({"rollingUpdate": {"maxUnavailable": "150%"}}),
                "/spec/strategy/rollingUpdate/maxUnavailable: maxUnavailable must not be more than 100% (150%)",
            ),
            (
                json!({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}),
                "/spec/strategy/rollingUpdate: maxSurge and maxUnavailable cannot both be 0: the update could not progress",
            ),
        ];
        for (json, expected) in refused {
            assert_eq!(strategy(json.clone()), Err(expected.to_owned()), "{json}");
        }
    }

    #[test]
    fn surge_rounds_up_and_unavailable_down() {
        let check =
            |surge: PodCount, unavailable: PodCount, replicas: i32, expected: (i32, i32)| {
                let bounds = RollingUpdate {
                    max_surge: surge,
                    max_unavailable: unavailable,
                }
                .bounds(replicas);
                assert_eq!(
                    (bounds.surge, bounds.unavailable),
                    expected,
                    "{surge}/{unavailable} of {replicas}"
                );
            };
        let quarter = PodCount::Percent(25);
        check(quarter, quarter, 10, (3, 2));
        check(quarter, quarter, 4, (1, 1));
        check(quarter, quarter, 1, (1, 0));
        check(quarter, quarter, 0, (0, 1));
        check(PodCount::Pods(1), PodCount::Pods(0), 10, (1, 0));
        check(PodCount::Percent(0), PodCount::Percent(10), 5, (0, 1));
        check(PodCount::Percent(100), PodCount::Percent(100), 3, (3, 3));
        assert_eq!(
            PodCount::Percent(25).scaled(i32::MAX, Rounding::Up),
            536_870_912
        );
        assert_eq!(Strategy::Recreate.surge(10), 0);
        assert_eq!(Strategy::RollingUpdate(RollingUpdate::DEFAULT).surge(10), 3);
        assert_eq!(format!("{quarter} {}", PodCount::Pods(1)), "25% 1");
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
