//! The lab's namespace on a cluster as the platform and its traffic Jobs share
//! it: the client, the namespace (created once, labelled as the lab's), the
//! loadgen Jobs started in it (so a teardown removes any left behind), and the
//! names every object the lab creates carries.

use crate::error::{api_error, is_status};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Client, Resource};
use lab_core::platform::PlatformError;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// The field manager of every change the lab makes (server-side apply, scale,
/// patches), so `kubectl get -o yaml --show-managed-fields` tells them apart.
pub const FIELD_MANAGER: &str = "canary-lab";

/// The namespace scenarios run in unless told otherwise.
pub const LAB_NAMESPACE: &str = "canary-lab";

/// The label every object the lab creates carries.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";

/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "canary-lab";

/// Server-side apply with the lab's field manager, taking over fields another
/// manager (`kubectl scale` by hand, say) set.
pub fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// The lab namespace as the lab applies it.
pub fn lab_namespace(name: &str) -> Namespace {
    Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(BTreeMap::from([(
                MANAGED_BY_LABEL.to_string(),
                MANAGED_BY.to_string(),
            )])),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Whether an error from the API was a 404.
pub(crate) fn is_not_found(error: &kube::Error) -> bool {
    is_status(error, 404)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The lab namespace through one client. Cheap to clone; clones share the
/// namespace's creation and the Jobs started in it.
#[derive(Clone)]
pub(crate) struct LabNamespace {
    client: Client,
    name: String,
    ready: Arc<tokio::sync::OnceCell<()>>,
    jobs: Arc<Mutex<BTreeSet<String>>>,
}

impl LabNamespace {
    pub(crate) fn new(client: Client, name: &str) -> Self {
        Self {
            client,
            name: name.to_string(),
            ready: Arc::new(tokio::sync::OnceCell::new()),
            jobs: Arc::new(Mutex::new(BTreeSet::new())),
        }
    }

    /// The client the namespace is reached through.
    pub(crate) fn client(&self) -> Client {
        self.client.clone()
    }

    /// The namespace's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The API of a namespaced kind in the lab namespace.
    pub(crate) fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Create the namespace, labelled as the lab's, unless done already.
    pub(crate) async fn ensure(&self) -> Result<(), PlatformError> {
        self.ready
            .get_or_try_init(|| async {
                let namespace = lab_namespace(&self.name);
                let api: Api<Namespace> = Api::all(self.client.clone());
                api.patch(&self.name, &apply_params(), &Patch::Apply(&namespace))
                    .await
                    .map_err(|e| api_error(e, &format!("namespace {}", self.name)))?;
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Remember a Job the lab started, until it is deleted.
    pub(crate) fn remember_job(&self, name: &str) {
        lock(&self.jobs).insert(name.to_string());
    }

    /// The Jobs started and not yet deleted.
    pub(crate) fn jobs(&self) -> Vec<String> {
        lock(&self.jobs).iter().cloned().collect()
    }

    /// Delete a Job and its pod; a Job already gone is fine.
    pub(crate) async fn delete_job(&self, name: &str) -> Result<(), PlatformError> {
        match self
            .api::<Job>()
            .delete(name, &DeleteParams::background())
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(api_error(e, &format!("deleting job {name}"))),
        }
        lock(&self.jobs).remove(name);
        Ok(())
    }
}
