//! The monitoring controller: keeps Prometheus's `file_sd_configs` targets
//! equal to the pods that run and ask to be scraped, with the labels of the
//! in-cluster annotation-based job (`app`, `version`, `pod`, `namespace`). The
//! targets are a pure function of the pods ([`target_groups`]).

use crate::node::Node;
use crate::prometheus::{self, TargetGroup};
use crate::store::{PodRecord, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Start the controller when Prometheus runs.
pub(crate) fn start(store: &Arc<Store>, node: &Arc<Node>) -> Option<JoinHandle<()>> {
    let targets = node.prometheus_targets.clone()?;
    let namespace = node.config.namespace.clone();
    Some(tokio::spawn(run(store.clone(), targets, namespace)))
}

/// Rewrite the targets file whenever the set of scrapeable pods changes.
async fn run(store: Arc<Store>, path: PathBuf, namespace: String) {
    let mut changes = store.subscribe();
    let mut last = None;
    loop {
        let groups = target_groups(store.read().pods(), &namespace);
        if last.as_ref() != Some(&groups) {
            if let Err(error) = prometheus::write_targets(&path, &groups) {
                store.event(
                    "Failed",
                    "prometheus",
                    format!("cannot write targets: {error}"),
                );
            }
            last = Some(groups);
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// A pod label as a Prometheus label name (the `labelmap` of the in-cluster job
/// sees sanitized names too: `app.kubernetes.io/name` → `app_kubernetes_io_name`).
fn label_name(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// The target groups for the pods that run now and ask to be scraped.
pub(crate) fn target_groups(
    pods: &BTreeMap<String, PodRecord>,
    namespace: &str,
) -> Vec<TargetGroup> {
    let mut groups = Vec::new();
    for (name, pod) in pods {
        // Only pods with a live process: the in-cluster job drops pods that are
        // not Running.
        let (Some(_), Some(port)) = (pod.status.pid, pod.spec.runtime.scrape_port()) else {
            continue;
        };
        let mut labels: BTreeMap<String, String> = pod
            .spec
            .runtime
            .labels
            .iter()
            .map(|(k, v)| (label_name(k), v.clone()))
            .collect();
        labels.insert("pod".to_string(), name.clone());
        labels.insert("namespace".to_string(), namespace.to_string());
        groups.push(TargetGroup {
            targets: vec![format!("{}:{port}", pod.status.address)],
            labels,
        });
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures;
    use std::time::Duration;

    #[test]
    fn label_names_are_sanitized() {
        for (key, expected) in [
            ("app", "app"),
            ("app.kubernetes.io/name", "app_kubernetes_io_name"),
            ("pod-template-hash", "pod_template_hash"),
            ("9lives", "_9lives"),
        ] {
            assert_eq!(label_name(key), expected);
        }
    }

    #[test]
    fn running_scraped_pods_are_targets_with_the_cluster_labels() {
        let scraped = fixtures::template(&[
            ("app", "my-app"),
            ("version", "v1"),
            ("app.kubernetes.io/part-of", "lab"),
        ]);
        let mut unscraped = (*fixtures::template(&[("app", "my-app")])).clone();
        unscraped.annotations.clear();
        let unscraped = Arc::new(unscraped);
        let pod = |template: &Arc<_>, n: u8, pid: Option<u32>| {
            let mut pod = fixtures::pod("web", "h", template, [127, 9, 1, n], Duration::ZERO);
            pod.status.pid = pid;
            pod
        };
        let pods = BTreeMap::from([
            ("running".to_string(), pod(&scraped, 1, Some(100))),
            ("in-back-off".to_string(), pod(&scraped, 2, None)),
            ("unscraped".to_string(), pod(&unscraped, 3, Some(101))),
        ]);
        let groups = target_groups(&pods, "canary-lab");
        let labels = BTreeMap::from(
            [
                ("app", "my-app"),
                ("version", "v1"),
                ("app_kubernetes_io_part_of", "lab"),
                ("pod", "running"),
                ("namespace", "canary-lab"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        assert_eq!(
            groups,
            [TargetGroup {
                targets: vec!["127.9.1.1:9101".to_string()],
                labels,
            }]
        );
    }
}
