//! Traffic through a Gateway, as the runner follows it: the HTTPRoutes the
//! steps applied (oldest first, as precedence ties are broken), and at each
//! sample where they send every class of the plan's traffic and what they
//! mirror, given the ready endpoints of the Services they name.

use lab_core::analysis::RouteSample;
use lab_core::gateway::{
    HttpRoute, ReadyByService, Request, RouteTable, mirror_shares, rule_shares,
};
use lab_core::object::Object;
use lab_core::plan::Plan;
use lab_core::platform::{Endpoint, Platform};
use lab_core::scenario::{TrafficClass, traffic_classes};
use std::collections::BTreeMap;

/// The routes in force, in the order they were first applied.
#[derive(Debug, Default, Clone)]
pub(crate) struct AppliedRoutes {
    routes: Vec<HttpRoute>,
}

impl AppliedRoutes {
    /// Note the routes among applied `objects` (a route applied again keeps
    /// its age).
    pub(crate) fn applied(&mut self, objects: &[Object]) {
        for route in objects.iter().filter_map(Object::as_route) {
            match self.routes.iter_mut().find(|r| r.name() == route.name()) {
                Some(known) => *known = route.clone(),
                None => self.routes.push(route.clone()),
            }
        }
    }

    /// Forget a deleted route.
    pub(crate) fn deleted(&mut self, name: &str) {
        self.routes.retain(|route| route.name() != name);
    }

    /// Whether no route is in force: a Gateway answers every request 404.
    pub(crate) fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// The ready endpoints traffic can reach now, with where the routes send each
/// class of it: the entry Service's endpoints, or, through a Gateway, those of
/// every Service its routes name; `None` when the platform could not say.
pub(crate) async fn entry_endpoints<P: Platform>(
    platform: &P,
    plan: &Plan,
    routes: &AppliedRoutes,
) -> Option<(Vec<Endpoint>, RouteSample)> {
    if plan.entry.service().is_some() {
        let endpoints = platform.endpoints(plan.entry.name()).await.ok()?;
        return Some((endpoints, RouteSample::default()));
    }
    let table = RouteTable::new(&routes.routes);
    let mut all = Vec::new();
    let mut ready: ReadyByService = BTreeMap::new();
    for service in table.services() {
        // A Service not created yet has no endpoint: its share gets a 503.
        let endpoints = platform.endpoints(service).await.unwrap_or_default();
        let counts = ready.entry(service.to_owned()).or_default();
        for endpoint in &endpoints {
            *counts.entry(endpoint.version.clone()).or_default() += 1;
        }
        for endpoint in endpoints {
            if !all.iter().any(|e: &Endpoint| e.pod == endpoint.pod) {
                all.push(endpoint);
            }
        }
    }
    Some((
        all,
        route_sample(&table, &ready, &traffic_classes(&plan.traffic)),
    ))
}

/// Where `table` sends each class of traffic (a `GET /` with the class's
/// headers), and the share of all requests it mirrors to each version.
fn route_sample(
    table: &RouteTable,
    ready: &ReadyByService,
    classes: &[TrafficClass],
) -> RouteSample {
    let mut sample = RouteSample::default();
    if table.rules().is_empty() {
        return sample;
    }
    for class in classes {
        let request = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &class.headers,
        };
        let (routed, mirrored) = match table.select(&request) {
            Some(rule) => (rule_shares(rule, ready), mirror_shares(rule, ready)),
            None => Default::default(),
        };
        for (version, share) in mirrored {
            *sample.mirrored.entry(version).or_default() += class.share * share;
        }
        sample.routed.insert(class.name.clone(), routed);
    }
    sample
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::gateway::HttpRouteSpec;

    fn route(rules: serde_json::Value) -> HttpRoute {
        let spec: HttpRouteSpec = serde_json::from_value(serde_json::json!({
            "parentRefs": [{"name": "my-gateway"}],
            "rules": rules
        }))
        .unwrap();
        HttpRoute::new("my-route", spec)
    }

    fn ready(pairs: &[(&str, &str, u32)]) -> ReadyByService {
        let mut ready = ReadyByService::new();
        for (service, version, n) in pairs {
            ready
                .entry((*service).to_owned())
                .or_default()
                .insert((*version).to_owned(), *n);
        }
        ready
    }

    fn classes() -> Vec<TrafficClass> {
        traffic_classes(&[TrafficClass {
            name: "v2-header".into(),
            share: 0.25,
            headers: BTreeMap::from([("X-API-Version".into(), "v2.0.0".into())]),
        }])
    }

    #[test]
    fn a_header_class_and_the_default_class_are_routed_apart() {
        let table_routes = [route(serde_json::json!([
            {"matches": [{"headers": [{"name": "x-api-version", "value": "v2.0.0"}]}],
             "backendRefs": [{"name": "my-app-v2", "port": 80}]},
            {"backendRefs": [{"name": "my-app-v1", "port": 80}]}
        ]))];
        let table = RouteTable::new(&table_routes);
        let ready = ready(&[("my-app-v1", "v1.0.0", 2), ("my-app-v2", "v2.0.0", 1)]);
        let sample = route_sample(&table, &ready, &classes());
        assert_eq!(
            sample.routed,
            BTreeMap::from([
                ("default".into(), BTreeMap::from([("v1.0.0".into(), 1.0)])),
                ("v2-header".into(), BTreeMap::from([("v2.0.0".into(), 1.0)])),
            ])
        );
        assert!(sample.mirrored.is_empty());
    }

    #[test]
    fn mirrors_count_for_every_class_by_its_share() {
        let table_routes = [route(serde_json::json!([{
            "filters": [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "my-app-v2", "port": 80}, "percent": 50}}],
            "backendRefs": [{"name": "my-app-v1", "port": 80, "weight": 3}, {"name": "my-app-v2", "port": 80, "weight": 1}]
        }]))];
        let table = RouteTable::new(&table_routes);
        let ready = ready(&[("my-app-v1", "v1.0.0", 1), ("my-app-v2", "v2.0.0", 1)]);
        let sample = route_sample(&table, &ready, &classes());
        assert_eq!(sample.routed["default"]["v2.0.0"], 0.25);
        assert_eq!(sample.mirrored, BTreeMap::from([("v2.0.0".into(), 0.5)]));
        let empty = route_sample(&RouteTable::default(), &ready, &classes());
        assert!(empty.is_empty());
    }
}
