//! Reading what a cluster reports: rollout progress, pods as the runner sees them.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use lab_core::platform::PodState;

/// What a wait last saw of a Deployment.
pub(super) enum Seen {
    Deployment(Box<Deployment>),
    Missing,
    Error(String),
}

/// `None` once a Deployment has rolled out completely with every desired replica
/// ready (what `kubectl rollout status` waits for); otherwise what is missing, as
/// `0/1 ready, 1 updated`.
pub fn rollout_progress(deployment: &Deployment) -> Option<String> {
    let desired = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let status = deployment.status.clone().unwrap_or_default();
    let ready = status.ready_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let observed = match (deployment.metadata.generation, status.observed_generation) {
        (Some(generation), Some(observed)) => observed >= generation,
        (Some(_), None) => false,
        (None, _) => true,
    };
    let done = observed
        && updated == desired
        && total == updated
        && available >= desired
        && ready >= desired;
    if done {
        return None;
    }
    let mut text = format!("{ready}/{desired} ready, {updated} updated");
    if total > updated {
        text.push_str(&format!(", {} old pending termination", total - updated));
    }
    if !observed {
        text.push_str(", change not yet observed");
    }
    let stalled = status.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if stalled {
        text.push_str(", progress deadline exceeded");
    }
    Some(text)
}

pub(super) fn describe_seen(name: &str, seen: Option<&Seen>) -> String {
    match seen {
        None => format!("deployment {name}: no answer from the API server"),
        Some(Seen::Missing) => format!("deployment {name}: not found"),
        Some(Seen::Error(e)) => format!("deployment {name}: {e}"),
        Some(Seen::Deployment(d)) => match rollout_progress(d) {
            Some(progress) => format!("deployment {name}: {progress}"),
            None => format!("deployment {name}: ready"),
        },
    }
}

pub(super) fn pod_state(pod: &Pod) -> Option<PodState> {
    let name = pod.metadata.name.clone()?;
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    // Deployment pods are owned by a ReplicaSet named `<deployment>-<pod-template-hash>`.
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "ReplicaSet")?;
    let deployment = match labels.get("pod-template-hash") {
        Some(hash) => owner
            .name
            .strip_suffix(&format!("-{hash}"))
            .unwrap_or(&owner.name)
            .to_string(),
        None => owner.name.clone(),
    };
    let status = pod.status.clone().unwrap_or_default();
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let restarts = status
        .container_statuses
        .iter()
        .flatten()
        .map(|c| c.restart_count.max(0) as u32)
        .sum();
    Some(PodState {
        name,
        deployment,
        version: labels.get("version").cloned().unwrap_or_default(),
        address: status.pod_ip.unwrap_or_default(),
        ready,
        restarts,
        terminating: pod.metadata.deletion_timestamp.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(spec_replicas: i32, status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "my-app-v2", "generation": 2},
            "spec": {"replicas": spec_replicas, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    fn check(spec_replicas: i32, status: serde_json::Value, expected: Option<&str>) {
        assert_eq!(
            rollout_progress(&deployment(spec_replicas, status)).as_deref(),
            expected
        );
    }

    #[test]
    fn rollout_progress_names_what_is_missing() {
        check(
            1,
            json!({}),
            Some("0/1 ready, 0 updated, change not yet observed"),
        );
        check(
            1,
            json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1}),
            Some("0/1 ready, 1 updated"),
        );
        check(
            10,
            json!({"observedGeneration": 2, "replicas": 12, "updatedReplicas": 10, "readyReplicas": 12, "availableReplicas": 12}),
            Some("12/10 ready, 10 updated, 2 old pending termination"),
        );
        check(
            1,
            json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
            Some("1/1 ready, 1 updated, change not yet observed"),
        );
        check(
            1,
            json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 0, "availableReplicas": 0,
                   "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
            Some("0/1 ready, 1 updated, progress deadline exceeded"),
        );
        check(
            1,
            json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
            None,
        );
        check(0, json!({"observedGeneration": 2}), None);
    }

    #[test]
    fn pods_know_their_deployment_and_version() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {
                "name": "my-app-v2-5d9c7b-x2x4z",
                "labels": {"app": "my-app", "version": "v2.0.0", "pod-template-hash": "5d9c7b"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "my-app-v2-5d9c7b", "uid": "u"}]
            },
            "status": {
                "podIP": "10.244.0.7",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "my-app", "image": "x", "imageID": "", "ready": true, "restartCount": 2}]
            }
        }))
        .unwrap();
        assert_eq!(
            pod_state(&pod),
            Some(PodState {
                name: "my-app-v2-5d9c7b-x2x4z".into(),
                deployment: "my-app-v2".into(),
                version: "v2.0.0".into(),
                address: "10.244.0.7".into(),
                ready: true,
                restarts: 2,
                terminating: false,
            })
        );
        let job_pod: Pod =
            serde_json::from_value(json!({"metadata": {"name": "loadgen-abc"}})).unwrap();
        assert_eq!(pod_state(&job_pod), None);
    }
}
