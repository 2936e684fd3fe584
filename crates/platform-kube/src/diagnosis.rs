//! Why a wait timed out: for each Deployment that did not become ready, the
//! pods that were not ready and what the API says of them (the pod's phase, a
//! container's waiting or terminated reason such as `ImagePullBackOff` or
//! `CrashLoopBackOff`, the last `Unhealthy` event: a failed probe).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Pod};
use kube::api::{Api, ListParams};
use std::time::{Duration, SystemTime};

/// How long a timed-out wait may take to say which pods were not ready.
pub(crate) const DIAGNOSIS_LIMIT: Duration = Duration::from_secs(10);

/// At most this many pods are named per Deployment.
const PODS_NAMED: usize = 5;

/// The label selector of a Deployment's pods (`app=my-app,version=v2.0.0`).
fn pod_selector(deployment: &Deployment) -> Option<String> {
    let labels = deployment.spec.as_ref()?.selector.match_labels.as_ref()?;
    (!labels.is_empty()).then(|| {
        labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// When an event happened, as well as its fields say.
pub(crate) fn event_time(event: &CoreEvent) -> SystemTime {
    let micro = event.event_time.as_ref().map(|t| t.0);
    let stamp = event
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
        .or(event.last_timestamp.as_ref().map(|t| t.0))
        .or(micro)
        .or(event.first_timestamp.as_ref().map(|t| t.0))
        .or(event.metadata.creation_timestamp.as_ref().map(|t| t.0));
    stamp
        .map(SystemTime::from)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// One line on a pod that is not ready: its phase, then the first of what the
/// API says of it: a container waiting (`ImagePullBackOff`) or terminated
/// (`Error`, exit code), the last failed probe, an unschedulable condition.
pub fn describe_pod(pod: &Pod, events: &[CoreEvent]) -> String {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.clone().unwrap_or_else(|| "Pending".into());
    let mut said = vec![phase];
    let containers = status.container_statuses.iter().flatten();
    let restarts: i32 = containers.clone().map(|c| c.restart_count.max(0)).sum();
    for container in containers {
        let state = container.state.clone().unwrap_or_default();
        if let Some(waiting) = state.waiting.as_ref().filter(|w| w.reason.is_some()) {
            let reason = waiting.reason.clone().unwrap_or_default();
            // ContainerCreating and PodInitializing only say it is not done yet.
            if !matches!(reason.as_str(), "ContainerCreating" | "PodInitializing") {
                said.push(match &waiting.message {
                    Some(message) => format!("{reason} ({})", one_line(message)),
                    None => reason,
                });
            }
        }
        let last = container
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref());
        if let Some(terminated) = state.terminated.as_ref().or(last) {
            said.push(format!(
                "last exit: {} (exit code {})",
                terminated.reason.as_deref().unwrap_or("terminated"),
                terminated.exit_code
            ));
        }
    }
    if restarts > 0 {
        said.push(format!(
            "{restarts} restart{}",
            if restarts == 1 { "" } else { "s" }
        ));
    }
    let unhealthy = events
        .iter()
        .filter(|e| {
            e.reason.as_deref() == Some("Unhealthy")
                && e.involved_object.name.as_deref() == Some(name)
        })
        .max_by_key(|e| event_time(e));
    if let Some(event) = unhealthy {
        said.push(format!(
            "Unhealthy: {}",
            one_line(event.message.as_deref().unwrap_or_default())
        ));
    }
    for condition in status.conditions.iter().flatten() {
        if condition.type_ == "PodScheduled" && condition.status == "False" {
            said.push(format!(
                "{}: {}",
                condition.reason.as_deref().unwrap_or("not scheduled"),
                one_line(condition.message.as_deref().unwrap_or_default())
            ));
        }
    }
    format!("pod {name}: {}", said.join(", "))
}

fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

/// The pods of `deployments` that are not ready (and not being deleted), one
/// line each, at most [`PODS_NAMED`] per Deployment. Errors from the API only
/// shorten the answer: this explains a timeout, it does not fail it.
pub(crate) async fn unready_pods(
    pods: &Api<Pod>,
    events: &Api<CoreEvent>,
    deployments: &[&Deployment],
) -> Vec<String> {
    let mut found: Vec<Vec<Pod>> = Vec::new();
    for deployment in deployments {
        let Some(selector) = pod_selector(deployment) else {
            continue;
        };
        let Ok(list) = pods.list(&ListParams::default().labels(&selector)).await else {
            continue;
        };
        let mut unready: Vec<Pod> = list
            .items
            .into_iter()
            .filter(|p| !is_ready(p) && p.metadata.deletion_timestamp.is_none())
            .collect();
        unready.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        found.push(unready);
    }
    if found.iter().all(Vec::is_empty) {
        return Vec::new();
    }
    let events = events
        .list(&ListParams::default().fields("reason=Unhealthy"))
        .await
        .map(|list| list.items)
        .unwrap_or_default();
    let mut lines = Vec::new();
    for unready in found {
        for pod in unready.iter().take(PODS_NAMED) {
            lines.push(describe_pod(pod, &events));
        }
        if unready.len() > PODS_NAMED {
            lines.push(format!(
                "and {} more pods not ready",
                unready.len() - PODS_NAMED
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": "my-app-v2-5d9c7b-x2x4z"}, "status": status}),
        )
        .unwrap()
    }

    fn unhealthy(message: &str, at: &str) -> CoreEvent {
        serde_json::from_value(json!({
            "metadata": {"name": "e", "namespace": "canary-lab"},
            "reason": "Unhealthy", "message": message, "lastTimestamp": at,
            "involvedObject": {"kind": "Pod", "name": "my-app-v2-5d9c7b-x2x4z"}
        }))
        .unwrap()
    }

    fn check(status: serde_json::Value, events: &[CoreEvent], expected: &str) {
        assert_eq!(describe_pod(&pod(status), events), expected);
    }

    #[test]
    fn pods_say_why_they_are_not_ready() {
        check(json!({}), &[], "pod my-app-v2-5d9c7b-x2x4z: Pending");
        check(
            json!({"phase": "Pending", "containerStatuses": [{"name": "my-app", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                   "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"canary-lab/demo-app:latest\""}}}]}),
            &[],
            "pod my-app-v2-5d9c7b-x2x4z: Pending, ImagePullBackOff (Back-off pulling image \"canary-lab/demo-app:latest\")",
        );
        check(
            json!({"phase": "Running", "containerStatuses": [{"name": "my-app", "image": "i", "imageID": "", "ready": false, "restartCount": 4,
                   "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                   "lastState": {"terminated": {"reason": "Error", "exitCode": 101}}}]}),
            &[],
            "pod my-app-v2-5d9c7b-x2x4z: Running, CrashLoopBackOff, last exit: Error (exit code 101), 4 restarts",
        );
        check(
            json!({"phase": "Running", "containerStatuses": [{"name": "my-app", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                   "state": {"running": {}}}]}),
            &[
                unhealthy(
                    "Readiness probe failed: HTTP probe failed with statuscode: 500",
                    "2026-01-01T00:00:01Z",
                ),
                unhealthy(
                    "Readiness probe failed: HTTP probe failed with statuscode: 503",
                    "2026-01-01T00:00:09Z",
                ),
            ],
            "pod my-app-v2-5d9c7b-x2x4z: Running, Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503",
        );
        check(
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                   "message": "0/1 nodes are available: 1 Insufficient cpu."}],
                   "containerStatuses": [{"name": "my-app", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                   "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
            &[],
            "pod my-app-v2-5d9c7b-x2x4z: Pending, Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.",
        );
    }
}
