//! How far a pod template fits the local platform, decided before anything
//! starts: the fields it does not model (reported, never silently dropped)
//! and the ones whose behaviour it cannot reproduce (refused).
//!
//! A pod here is one process on loopback: its first container's program,
//! args, env, ports, probes, preStop hook and grace period. Everything else a
//! template may say (volumes, resources, security contexts, scheduling) has no
//! local counterpart; the run goes on without it and says so.

use k8s_openapi::api::core::v1::PodSpec;
use serde_json::Value;
use std::collections::BTreeSet;

/// Pod spec fields the local platform acts on.
const MODELLED_POD_FIELDS: &[&str] = &["containers", "terminationGracePeriodSeconds"];

/// Container fields the local platform acts on (`lifecycle` is looked into).
const MODELLED_CONTAINER_FIELDS: &[&str] = &[
    "name",
    "image",
    "command",
    "args",
    "env",
    "ports",
    "readinessProbe",
    "livenessProbe",
    "startupProbe",
    "lifecycle",
];

/// A template field the lab refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The YAML key to point at (`ports`, `restartPolicy`).
    pub key: &'static str,
    /// The name of the container it belongs to.
    pub container: String,
    /// Why, in one lower-case phrase.
    pub why: String,
}

/// What a pod spec says that the local platform does not model, as field
/// paths (`volumes`, `containers[].resources`), sorted.
pub fn unmodelled_fields(spec: &PodSpec) -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    let Ok(Value::Object(pod)) = serde_json::to_value(spec) else {
        return fields;
    };
    for key in pod.keys() {
        if !MODELLED_POD_FIELDS.contains(&key.as_str()) {
            fields.insert(key.clone());
        }
    }
    if spec.containers.len() > 1 {
        fields.insert("containers[1..] (only the first container runs)".to_string());
    }
    for container in spec.containers.iter().take(1) {
        let Ok(Value::Object(fields_of)) = serde_json::to_value(container) else {
            continue;
        };
        for key in fields_of.keys() {
            if !MODELLED_CONTAINER_FIELDS.contains(&key.as_str()) {
                fields.insert(format!("containers[].{key}"));
            }
        }
        if container
            .lifecycle
            .as_ref()
            .is_some_and(|l| l.post_start.is_some())
        {
            fields.insert("containers[].lifecycle.postStart".to_string());
        }
    }
    fields
}

/// What a pod spec asks that the local platform cannot reproduce: a second
/// container serving traffic (a sidecar with ports) and an init container
/// that keeps running (`restartPolicy: Always`, a native sidecar).
pub fn refusals(spec: &PodSpec) -> Vec<Refusal> {
    let mut refused = Vec::new();
    for container in spec.containers.iter().skip(1) {
        if container.ports.as_ref().is_some_and(|p| !p.is_empty()) {
            refused.push(Refusal {
                key: "ports",
                container: container.name.clone(),
                why: format!(
                    "container {} is a second container with ports: the local platform runs one process per pod, so the traffic it would serve cannot be reproduced",
                    container.name
                ),
            });
        }
    }
    for init in spec.init_containers.iter().flatten() {
        if init.restart_policy.as_deref() == Some("Always") {
            refused.push(Refusal {
                key: "restartPolicy",
                container: init.name.clone(),
                why: format!(
                    "init container {} has restartPolicy Always (a sidecar running beside the app): the local platform runs one process per pod and cannot reproduce it",
                    init.name
                ),
            });
        }
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: Value) -> PodSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn unmodelled_fields_are_listed_and_modelled_ones_are_not() {
        let found = unmodelled_fields(&spec(json!({
            "containers": [{
                "name": "app",
                "image": "canary-lab/demo-app",
                "resources": {"limits": {"cpu": "200m"}},
                "securityContext": {"runAsNonRoot": true},
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8086}},
                "lifecycle": {
                    "postStart": {"exec": {"command": ["true"]}},
                    "preStop": {"sleep": {"seconds": 3}}
                }
            }],
            "terminationGracePeriodSeconds": 10,
            "volumes": [{"name": "cache", "emptyDir": {}}],
            "nodeSelector": {"disk": "ssd"}
        })));
        let found: Vec<&str> = found.iter().map(String::as_str).collect();
        assert_eq!(
            found,
            [
                "containers[].lifecycle.postStart",
                "containers[].resources",
                "containers[].securityContext",
                "nodeSelector",
                "volumes"
            ]
        );
        let plain = spec(json!({"containers": [{"name": "app", "image": "canary-lab/demo-app"}]}));
        assert!(unmodelled_fields(&plain).is_empty());
    }

    #[test]
    fn sidecars_that_serve_or_keep_running_are_refused() {
        let refused = refusals(&spec(json!({
            "containers": [
                {"name": "app", "image": "canary-lab/demo-app"},
                {"name": "proxy", "image": "envoy", "ports": [{"containerPort": 15001}]},
                {"name": "logs", "image": "fluent-bit"}
            ],
            "initContainers": [
                {"name": "setup", "image": "busybox"},
                {"name": "mesh", "image": "linkerd", "restartPolicy": "Always"}
            ]
        })));
        let keys: Vec<(&str, &str)> = refused
            .iter()
            .map(|r| (r.key, r.container.as_str()))
            .collect();
        assert_eq!(keys, [("ports", "proxy"), ("restartPolicy", "mesh")]);
    }
}
