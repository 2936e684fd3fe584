//! Gateway API objects (`Gateway`, `HTTPRoute`) on a cluster: the cluster's
//! CRDs define them, so the lab reaches them through the dynamic API with the
//! lab's typed structs serialized, by server-side apply like every other object.

use crate::namespace::LabNamespace;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch};
use lab_core::object::{Object, ObjectKind};
use serde_json::Value;
use std::time::Duration;

/// The API group of the Gateway API.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// The dynamic resource of a Gateway API kind; `None` for the built-in kinds.
pub fn gateway_resource(kind: ObjectKind) -> Option<ApiResource> {
    let (name, plural) = match kind {
        ObjectKind::Gateway => ("Gateway", "gateways"),
        ObjectKind::HttpRoute => ("HTTPRoute", "httproutes"),
        ObjectKind::Deployment | ObjectKind::Service => return None,
    };
    let gvk = GroupVersionKind::gvk(GATEWAY_GROUP, "v1", name);
    Some(ApiResource::from_gvk_with_plural(&gvk, plural))
}

impl LabNamespace {
    /// The dynamic API of a Gateway API kind in the lab namespace.
    pub(crate) fn gateway_api(&self, resource: &ApiResource) -> Api<DynamicObject> {
        Api::namespaced_with(self.client(), self.name(), resource)
    }
}

/// Server-side applies a Gateway or an HTTPRoute; `Ok(false)` for other kinds.
pub(crate) async fn apply_gateway_object(
    namespace: &LabNamespace,
    object: &Object,
) -> Result<bool, kube::Error> {
    let body = match object {
        Object::Gateway(gateway) => serde_json::to_value(gateway.as_ref()),
        Object::HttpRoute(route) => serde_json::to_value(route.as_ref()),
        Object::Deployment(_) | Object::Service(_) => return Ok(false),
    }
    .map_err(kube::Error::SerdeError)?;
    let Some(resource) = gateway_resource(object.kind()) else {
        return Ok(false);
    };
    namespace
        .gateway_api(&resource)
        .patch(
            object.name(),
            &crate::namespace::apply_params(),
            &Patch::Apply(body),
        )
        .await?;
    Ok(true)
}

/// How long a route may take to be `Accepted` with its references resolved.
pub const ROUTE_ACCEPT_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a route's status is read while waiting.
const ROUTE_POLL: Duration = Duration::from_millis(250);

/// Wait until every parent of HTTPRoute `name` says `Accepted` and
/// `ResolvedRefs` for its current generation; the reason it is not, when
/// `timeout` passes first.
pub(crate) async fn wait_route_accepted(
    namespace: &LabNamespace,
    name: &str,
    timeout: Duration,
) -> Result<(), String> {
    let resource =
        gateway_resource(ObjectKind::HttpRoute).expect("HTTPRoute is a Gateway API kind");
    let api = namespace.gateway_api(&resource);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let why = match tokio::time::timeout(left, api.get(name)).await {
            Ok(Ok(route)) => match route_accepted(&route.data, route.metadata.generation) {
                Ok(()) => return Ok(()),
                Err(why) => why,
            },
            Ok(Err(error)) => error.to_string(),
            Err(_) => "the API did not answer".to_owned(),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "not Accepted with its references resolved after {}s: {why}",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(ROUTE_POLL).await;
    }
}

/// Whether a route's status (`data`, the object without its metadata) says
/// every parent `Accepted` and `ResolvedRefs` for `generation`; else why not.
pub(crate) fn route_accepted(data: &Value, generation: Option<i64>) -> Result<(), String> {
    let parents = data["status"]["parents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if parents.is_empty() {
        return Err("no Gateway controller has written its status yet".to_owned());
    }
    // One status per parent the route names, once each has answered.
    let named = data["spec"]["parentRefs"].as_array().map_or(0, Vec::len);
    if parents.len() < named {
        return Err(format!(
            "{} of its {named} parent Gateways have written its status",
            parents.len()
        ));
    }
    for parent in &parents {
        let gateway = parent["parentRef"]["name"]
            .as_str()
            .unwrap_or("its Gateway");
        let conditions = parent["conditions"].as_array().cloned().unwrap_or_default();
        for wanted in ["Accepted", "ResolvedRefs"] {
            let Some(condition) = conditions.iter().find(|c| c["type"] == wanted) else {
                return Err(format!("{gateway} has not set {wanted}"));
            };
            let observed = condition["observedGeneration"].as_i64();
            if let (Some(observed), Some(generation)) = (observed, generation)
                && observed < generation
            {
                return Err(format!(
                    "{gateway}'s {wanted} is for generation {observed}, not {generation}"
                ));
            }
            if condition["status"] != "True" {
                return Err(format!(
                    "{gateway}'s {wanted} is {}: {} ({})",
                    condition["status"].as_str().unwrap_or("unknown"),
                    condition["reason"].as_str().unwrap_or("no reason"),
                    condition["message"].as_str().unwrap_or("")
                ));
            }
        }
    }
    Ok(())
}

/// Deletes a Gateway or an HTTPRoute by name.
pub(crate) async fn delete_gateway_object(
    namespace: &LabNamespace,
    resource: &ApiResource,
    name: &str,
) -> Result<(), kube::Error> {
    namespace
        .gateway_api(resource)
        .delete(name, &DeleteParams::foreground())
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(conditions: Value) -> Value {
        serde_json::json!({"status": {"parents": [{
            "parentRef": {"name": "my-gateway"},
            "controllerName": "gateway.nginx.org/nginx-gateway-controller",
            "conditions": conditions
        }]}})
    }

    #[test]
    fn a_route_is_ready_when_every_parent_accepts_it_for_its_generation() {
        let condition = |kind: &str, status: &str, generation: i64| {
            serde_json::json!({"type": kind, "status": status, "reason": "R",
                "message": "m", "observedGeneration": generation})
        };
        let both = status(serde_json::json!([
            condition("Accepted", "True", 2),
            condition("ResolvedRefs", "True", 2)
        ]));
        assert_eq!(route_accepted(&both, Some(2)), Ok(()));
        assert_eq!(
            route_accepted(&both, Some(3)),
            Err("my-gateway's Accepted is for generation 2, not 3".to_owned())
        );
        let unresolved = status(serde_json::json!([
            condition("Accepted", "True", 2),
            condition("ResolvedRefs", "False", 2)
        ]));
        assert_eq!(
            route_accepted(&unresolved, Some(2)),
            Err("my-gateway's ResolvedRefs is False: R (m)".to_owned())
        );
        let mut two_parents = both.clone();
        two_parents["spec"] = serde_json::json!({"parentRefs": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(
            route_accepted(&two_parents, Some(2)),
            Err("1 of its 2 parent Gateways have written its status".to_owned())
        );
        let half = status(serde_json::json!([condition("Accepted", "True", 2)]));
        assert_eq!(
            route_accepted(&half, Some(2)),
            Err("my-gateway has not set ResolvedRefs".to_owned())
        );
        assert_eq!(
            route_accepted(&serde_json::json!({}), Some(1)),
            Err("no Gateway controller has written its status yet".to_owned())
        );
    }

    #[test]
    fn routes_are_found_by_their_plural() {
        let resource = gateway_resource(ObjectKind::HttpRoute).unwrap();
        assert_eq!(resource.plural, "httproutes");
        assert_eq!(resource.api_version, "gateway.networking.k8s.io/v1");
        assert!(gateway_resource(ObjectKind::Service).is_none());
    }
}
