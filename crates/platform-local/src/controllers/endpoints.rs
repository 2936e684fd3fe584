//! The endpoints controller: computes each Service's ready endpoints from the
//! pods and publishes them in the store, as the EndpointSlice controller does.
//! A pod is an endpoint of a Service while its labels match the selector, it
//! is ready and it is not terminating; the choice is pure ([`endpoints_of`]).

use crate::node::Node;
use crate::store::{PodRecord, ServiceSpec, Store, Target};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Start the controller.
pub(crate) fn start(store: &Arc<Store>, _node: &Arc<Node>) -> Option<JoinHandle<()>> {
    Some(tokio::spawn(run(store.clone())))
}

/// Recompute on every change until the platform shuts down.
async fn run(store: Arc<Store>) {
    let mut changes = store.subscribe();
    loop {
        sync(&store);
        if changes.changed().await.is_err() {
            return;
        }
    }
}

fn sync(store: &Store) {
    let mut write = store.write();
    let computed: Vec<(String, Vec<Vec<Target>>)> = write
        .services()
        .iter()
        .map(|(name, service)| (name.clone(), endpoints_of(&service.spec, write.pods())))
        .collect();
    for (name, ports) in computed {
        write.publish_endpoints(&name, ports);
    }
    write.mark_endpoints_computed();
}

/// A Service's ready endpoints, one list per port, ordered by pod name.
pub(crate) fn endpoints_of(
    service: &ServiceSpec,
    pods: &BTreeMap<String, PodRecord>,
) -> Vec<Vec<Target>> {
    // An empty selector selects nothing (Kubernetes leaves such a Service's
    // endpoints to be managed by hand).
    let selected = |pod: &PodRecord| {
        !service.selector.is_empty()
            && service
                .selector
                .iter()
                .all(|(key, value)| pod.spec.runtime.labels.get(key) == Some(value))
    };
    service
        .ports
        .iter()
        .map(|port| {
            pods.iter()
                .filter(|(_, pod)| pod.serving() && selected(pod))
                .filter_map(|(name, pod)| {
                    let target = pod.spec.runtime.resolve_port(&port.target)?;
                    Some(Target {
                        address: SocketAddr::from((pod.status.address, target)),
                        pod: name.clone(),
                        version: pod.version(),
                    })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Deletion, ServicePort, fixtures};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use std::time::Duration;

    /// Pods as (name, version label, ready, terminating); pod n is 127.9.1.n.
    fn pods(specs: &[(&str, &str, bool, bool)]) -> BTreeMap<String, PodRecord> {
        specs
            .iter()
            .enumerate()
            .map(|(n, &(name, version, ready, terminating))| {
                let template = fixtures::template(&[("app", "my-app"), ("version", version)]);
                let address = [127, 9, 1, n as u8 + 1];
                let mut pod = fixtures::pod("web", "h", &template, address, Duration::ZERO);
                pod.status.ready = ready;
                if terminating {
                    pod.deletion = Some(Deletion {
                        grace: Duration::from_secs(1),
                    });
                }
                (name.to_string(), pod)
            })
            .collect()
    }

    fn service(selector: &[(&str, &str)], targets: &[IntOrString]) -> ServiceSpec {
        ServiceSpec {
            selector: selector
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ports: targets
                .iter()
                .map(|target| ServicePort {
                    port: 80,
                    target: target.clone(),
                })
                .collect(),
        }
    }

    /// Each port's endpoints as `pod@address`.
    fn check(service: &ServiceSpec, pods: &BTreeMap<String, PodRecord>, expected: &[&[&str]]) {
        let found: Vec<Vec<String>> = endpoints_of(service, pods)
            .iter()
            .map(|port| {
                port.iter()
                    .map(|t| format!("{}@{}", t.pod, t.address))
                    .collect()
            })
            .collect();
        assert_eq!(found, expected, "{service:?}");
    }

    #[test]
    fn only_ready_selected_pods_that_are_not_terminating_are_endpoints() {
        let http = [IntOrString::String("http".into())];
        let pods = pods(&[
            ("a", "v1", true, false),
            ("b", "v1", false, false),
            ("c", "v1", true, true),
            ("d", "v2", true, false),
        ]);
        check(
            &service(&[("app", "my-app")], &http),
            &pods,
            &[&["a@127.9.1.1:8080", "d@127.9.1.4:8080"]],
        );
        check(
            &service(&[("app", "my-app"), ("version", "v2")], &http),
            &pods,
            &[&["d@127.9.1.4:8080"]],
        );
        check(&service(&[("app", "other")], &http), &pods, &[&[]]);
        check(&service(&[], &http), &pods, &[&[]]);
    }

    #[test]
    fn target_ports_resolve_by_number_or_container_port_name() {
        let pods = pods(&[("a", "v1", true, false)]);
        check(
            &service(
                &[("app", "my-app")],
                &[
                    IntOrString::String("probe".into()),
                    IntOrString::Int(9000),
                    IntOrString::String("9100".into()),
                    IntOrString::String("missing".into()),
                ],
            ),
            &pods,
            &[
                &["a@127.9.1.1:8086"],
                &["a@127.9.1.1:9000"],
                &["a@127.9.1.1:9100"],
                &[],
            ],
        );
    }

    #[test]
    fn endpoints_are_ordered_by_pod_name() {
        let pods = pods(&[("z", "v1", true, false), ("m", "v1", true, false)]);
        let endpoints = endpoints_of(
            &service(&[("app", "my-app")], &[IntOrString::Int(8080)]),
            &pods,
        );
        let names: Vec<&str> = endpoints[0].iter().map(|t| t.pod.as_str()).collect();
        assert_eq!(names, ["m", "z"]);
    }
}
