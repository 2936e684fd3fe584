//! Gateway API objects (`Gateway`, `HTTPRoute`) on a cluster: the cluster's
//! CRDs define them, so the lab reaches them through the dynamic API with the
//! lab's typed structs serialized, by server-side apply like every other object.

use crate::namespace::LabNamespace;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch};
use lab_core::object::{Object, ObjectKind};

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

    #[test]
    fn routes_are_found_by_their_plural() {
        let resource = gateway_resource(ObjectKind::HttpRoute).unwrap();
        assert_eq!(resource.plural, "httproutes");
        assert_eq!(resource.api_version, "gateway.networking.k8s.io/v1");
        assert!(gateway_resource(ObjectKind::Service).is_none());
    }
}
