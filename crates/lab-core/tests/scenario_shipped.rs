//! The scenarios shipped in `lab/scenarios` parse without a problem, keep the
//! tutorial's shape and carry the lab's hardening in every manifest.

mod scenario_support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use lab_core::analysis::Outcome;
use lab_core::object::Object;
use lab_core::scenario::{Scenario, parse};
use std::collections::BTreeMap;

fn shipped() -> Vec<Scenario> {
    scenario_support::shipped()
        .iter()
        .map(|dir| {
            let display = format!("lab/scenarios/{}", scenario_support::name(dir));
            let source = scenario_support::read(dir, &display);
            parse(&source).unwrap_or_else(|problems| panic!("{problems}"))
        })
        .collect()
}

#[test]
fn every_shipped_scenario_is_valid() {
    let names: Vec<String> = shipped()
        .into_iter()
        .map(|scenario| scenario.name)
        .collect();
    assert_eq!(
        names,
        [
            "ab-testing",
            "bad-canary",
            "blue-green",
            "blue-green-routes",
            "canary",
            "canary-weighted",
            "crashing-canary",
            "ramped",
            "ramped-no-prestop",
            "ramped-prestop",
            "recreate",
            "shadow",
            "shadow-bad",
            "slow-canary",
            "unready-canary"
        ]
    );
}

#[test]
fn failing_canaries_expect_a_rollback() {
    let expected: BTreeMap<String, Outcome> = shipped()
        .into_iter()
        .map(|scenario| (scenario.name, scenario.expected))
        .collect();
    for (name, outcome) in expected {
        let failing = [
            "bad-canary",
            "slow-canary",
            "crashing-canary",
            "unready-canary",
            "shadow-bad",
        ];
        let want = if failing.contains(&name.as_str()) {
            Outcome::RolledBack
        } else {
            Outcome::Promoted
        };
        assert_eq!(outcome, want, "{name}");
    }
}

/// Every Deployment of every shipped scenario.
fn deployments() -> Vec<(String, Deployment)> {
    shipped()
        .into_iter()
        .flat_map(|scenario| {
            scenario.manifests.into_iter().flat_map(move |manifest| {
                let place = format!("{}/{}", scenario.name, manifest.file);
                manifest
                    .objects
                    .into_iter()
                    .filter_map(move |object| match object {
                        Object::Deployment(deployment) => Some((place.clone(), *deployment)),
                        _ => None,
                    })
            })
        })
        .collect()
}

#[test]
fn every_pod_runs_hardened() {
    let quantity = |text: &str| Quantity(text.to_owned());
    for (place, deployment) in deployments() {
        let name = deployment.metadata.name.clone().unwrap_or_default();
        let pod = deployment.spec.unwrap().template.spec.unwrap();
        let security = pod.security_context.unwrap_or_default();
        assert_eq!(security.run_as_non_root, Some(true), "{place} {name}");
        assert_eq!(security.run_as_user, Some(65532), "{place} {name}");
        for container in pod.containers {
            assert_eq!(
                container.image.as_deref(),
                Some("canary-lab/demo-app:latest"),
                "{place} {name}"
            );
            assert_eq!(
                container.image_pull_policy.as_deref(),
                Some("IfNotPresent"),
                "{place} {name}"
            );
            let security = container.security_context.unwrap_or_default();
            assert_eq!(
                security.read_only_root_filesystem,
                Some(true),
                "{place} {name}"
            );
            assert_eq!(
                security.allow_privilege_escalation,
                Some(false),
                "{place} {name}"
            );
            let drop = security
                .capabilities
                .and_then(|c| c.drop)
                .unwrap_or_default();
            assert_eq!(drop, ["ALL"], "{place} {name}");
            let resources = container.resources.unwrap_or_default();
            let requests = resources.requests.unwrap_or_default();
            let limits = resources.limits.unwrap_or_default();
            assert_eq!(
                requests.get("cpu"),
                Some(&quantity("10m")),
                "{place} {name}"
            );
            assert_eq!(
                requests.get("memory"),
                Some(&quantity("16Mi")),
                "{place} {name}"
            );
            assert_eq!(limits.get("cpu"), Some(&quantity("200m")), "{place} {name}");
            assert_eq!(
                limits.get("memory"),
                Some(&quantity("64Mi")),
                "{place} {name}"
            );
        }
    }
}

#[test]
fn every_pod_keeps_the_tutorials_ports_probes_and_annotations() {
    for (place, deployment) in deployments() {
        let template = deployment.spec.unwrap().template;
        let annotations = template.metadata.unwrap().annotations.unwrap_or_default();
        assert_eq!(
            annotations.get("prometheus.io/scrape").map(String::as_str),
            Some("true"),
            "{place}"
        );
        assert_eq!(
            annotations.get("prometheus.io/port").map(String::as_str),
            Some("9101"),
            "{place}"
        );
        let container = &template.spec.unwrap().containers[0];
        let ports: Vec<(String, i32)> = container
            .ports
            .iter()
            .flatten()
            .map(|port| (port.name.clone().unwrap_or_default(), port.container_port))
            .collect();
        let expected =
            [("http", 8080), ("probe", 8086), ("metrics", 9101)].map(|(n, p)| (n.to_owned(), p));
        assert_eq!(ports, expected, "{place}");
        let liveness = container.liveness_probe.clone().unwrap();
        assert_eq!(
            liveness.http_get.unwrap().path.as_deref(),
            Some("/live"),
            "{place}"
        );
        assert_eq!(
            (liveness.initial_delay_seconds, liveness.period_seconds),
            (Some(5), Some(5)),
            "{place}"
        );
        let readiness = container.readiness_probe.clone().unwrap();
        assert_eq!(
            readiness.http_get.unwrap().path.as_deref(),
            Some("/ready"),
            "{place}"
        );
        assert_eq!(readiness.period_seconds, Some(5), "{place}");
    }
}

#[test]
fn every_service_is_the_tutorials_node_port() {
    // Behind a Gateway, traffic enters through the Gateway's own NodePort.
    for scenario in shipped()
        .into_iter()
        .filter(|s| s.entry.service().is_some())
    {
        let services: Vec<Object> = scenario
            .manifests
            .iter()
            .flat_map(|manifest| manifest.objects.clone())
            .filter(|object| object.as_service().is_some())
            .collect();
        assert_eq!(services.len(), 1, "{}", scenario.name);
        let spec = services[0].as_service().unwrap().spec.clone().unwrap();
        assert_eq!(spec.type_.as_deref(), Some("NodePort"), "{}", scenario.name);
        let port = &spec.ports.unwrap()[0];
        assert_eq!(
            (port.port, port.node_port),
            (80, Some(30080)),
            "{}",
            scenario.name
        );
        assert_eq!(
            spec.selector.unwrap().get("app").map(String::as_str),
            Some("my-app"),
            "{}",
            scenario.name
        );
    }
}

#[test]
fn scenarios_behind_a_gateway_route_to_a_service_per_version() {
    let routed: Vec<Scenario> = shipped()
        .into_iter()
        .filter(|s| s.entry.gateway().is_some())
        .collect();
    assert_eq!(routed.len(), 5);
    for scenario in routed {
        let objects: Vec<Object> = scenario
            .manifests
            .iter()
            .flat_map(|manifest| manifest.objects.clone())
            .collect();
        let gateway = objects.iter().find_map(Object::as_gateway).unwrap();
        assert_eq!(
            gateway.spec.gateway_class_name, "nginx",
            "{}",
            scenario.name
        );
        assert_eq!(gateway.spec.listeners[0].port, 80, "{}", scenario.name);
        for service in objects.iter().filter_map(Object::as_service) {
            let name = service.metadata.name.clone().unwrap();
            let spec = service.spec.clone().unwrap();
            let version = spec.selector.unwrap()["version"].clone();
            assert_eq!(
                name,
                format!("my-app-{}", &version[..2]),
                "{}",
                scenario.name
            );
            assert_eq!(
                spec.type_, None,
                "{}: {name} needs no NodePort",
                scenario.name
            );
        }
        for route in objects.iter().filter_map(Object::as_route) {
            assert_eq!(
                route.parent_refs()[0].name,
                "my-gateway",
                "{}",
                scenario.name
            );
        }
    }
}
