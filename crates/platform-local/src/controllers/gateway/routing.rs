//! The routes attached to a Gateway, compiled with the Services they name into
//! what each request is routed with, and the status a route gets: `Accepted`
//! by each Gateway it names that exists, `ResolvedRefs` when every Service it
//! names exists.

use crate::store::{Objects, RouteRecord, ServiceRecord, Target};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use lab_core::gateway::{
    Gateway, HttpRoute, ParentReference, RouteParentStatus, RouteStatus, RouteTable,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::watch;

/// The controller name written in the routes' status.
pub(super) const CONTROLLER_NAME: &str = "canary-lab.dev/local-gateway";

/// What a Gateway routes requests with: the table of its routes' rules, and
/// the ready endpoints of every Service they name that exists.
#[derive(Default)]
pub(super) struct Routing {
    pub(super) table: RouteTable,
    pub(super) backends: BTreeMap<String, watch::Receiver<Arc<Vec<Target>>>>,
}

impl Routing {
    /// The routing of Gateway `gateway` as the store holds it now.
    pub(super) fn compile(objects: &Objects, gateway: &str) -> Routing {
        let Some(record) = objects.gateway(gateway) else {
            return Routing::default();
        };
        let mut attached: Vec<&RouteRecord> = objects
            .routes()
            .values()
            .filter(|route| {
                route
                    .spec
                    .parent_refs()
                    .iter()
                    .any(|parent| attaches(parent, &record.spec))
            })
            .collect();
        attached.sort_by_key(|route| route.age);
        let table = RouteTable::new(attached.iter().map(|route| &route.spec));
        let mut backends = BTreeMap::new();
        for rule in table.rules() {
            let named = rule
                .backends
                .iter()
                .map(|b| (&b.service, b.port))
                .chain(rule.mirrors.iter().map(|m| (&m.service, m.port)));
            for (service, port) in named {
                if let Some(endpoints) = objects
                    .service(service)
                    .and_then(|record| port_endpoints(record, port))
                {
                    backends.entry(service.clone()).or_insert(endpoints);
                }
            }
        }
        Routing { table, backends }
    }
}

/// The endpoints channel of the Service port a backendRef names (the first
/// port when it names none or one the Service lacks).
fn port_endpoints(
    service: &ServiceRecord,
    port: Option<i32>,
) -> Option<watch::Receiver<Arc<Vec<Target>>>> {
    let index = port
        .and_then(|port| {
            service
                .spec
                .ports
                .iter()
                .position(|p| i32::from(p.port) == port)
        })
        .unwrap_or(0);
    service.endpoints.get(index).map(watch::Sender::subscribe)
}

/// Whether a parent reference names this Gateway (and, when it names a
/// listener by name or port, one of its listeners).
fn attaches(parent: &ParentReference, gateway: &Gateway) -> bool {
    let is_gateway = parent.kind.as_deref().is_none_or(|kind| kind == "Gateway")
        && parent
            .group
            .as_deref()
            .is_none_or(|group| group == lab_core::gateway::GROUP);
    is_gateway
        && parent.name == gateway.name()
        && gateway.spec.listeners.iter().any(|listener| {
            parent
                .section_name
                .as_ref()
                .is_none_or(|section| *section == listener.name)
                && parent.port.is_none_or(|port| port == listener.port)
        })
}

/// The status each route should have now, with the resource version it was
/// computed for: one entry per parent reference that names a Gateway in the
/// store (a parent no controller serves gets no entry, as in a cluster).
pub(super) fn route_statuses(objects: &Objects) -> Vec<(String, u64, RouteStatus)> {
    objects
        .routes()
        .iter()
        .map(|(name, record)| {
            let previous = record.status.as_ref();
            let parents = record
                .spec
                .parent_refs()
                .iter()
                .filter_map(|parent| {
                    let gateway = objects.gateway(&parent.name)?;
                    let accepted = attaches(parent, &gateway.spec);
                    let conditions = vec![
                        accepted_condition(accepted, parent),
                        resolved_condition(&record.spec, objects),
                    ];
                    let earlier = previous
                        .and_then(|status| status.parents.iter().find(|p| p.parent_ref == *parent));
                    Some(RouteParentStatus {
                        parent_ref: parent.clone(),
                        controller_name: CONTROLLER_NAME.to_owned(),
                        conditions: conditions
                            .into_iter()
                            .map(|c| keep_transition_time(c, earlier))
                            .collect(),
                    })
                })
                .collect();
            (
                name.clone(),
                record.resource_version,
                RouteStatus { parents },
            )
        })
        .collect()
}

fn condition(type_: &str, holds: bool, reason: &str, message: String) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: if holds { "True" } else { "False" }.to_owned(),
        reason: reason.to_owned(),
        message,
        last_transition_time: Time(now()),
        observed_generation: None,
    }
}

/// Now, to the second, as the API's timestamps are.
fn now() -> k8s_openapi::jiff::Timestamp {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    k8s_openapi::jiff::Timestamp::from_second(i64::try_from(seconds).unwrap_or(0))
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
}

fn accepted_condition(accepted: bool, parent: &ParentReference) -> Condition {
    if accepted {
        condition(
            "Accepted",
            true,
            "Accepted",
            format!("attached to gateway {}", parent.name),
        )
    } else {
        condition(
            "Accepted",
            false,
            "NoMatchingParent",
            format!("gateway {} has no listener this route names", parent.name),
        )
    }
}

fn resolved_condition(route: &HttpRoute, objects: &Objects) -> Condition {
    let missing: Vec<&str> = route
        .services()
        .into_iter()
        .map(|(service, _)| service)
        .filter(|service| objects.service(service).is_none())
        .collect();
    if missing.is_empty() {
        condition(
            "ResolvedRefs",
            true,
            "ResolvedRefs",
            "every backend service exists".to_owned(),
        )
    } else {
        condition(
            "ResolvedRefs",
            false,
            "BackendNotFound",
            format!("service {} not found", missing.join(", ")),
        )
    }
}

/// A condition keeps its last transition time while its status stays the
/// same, as the API's conventions ask.
fn keep_transition_time(mut new: Condition, earlier: Option<&RouteParentStatus>) -> Condition {
    if let Some(old) = earlier.and_then(|parent| {
        parent
            .conditions
            .iter()
            .find(|c| c.type_ == new.type_ && c.status == new.status)
    }) {
        new.last_transition_time = old.last_transition_time.clone();
    }
    new
}
