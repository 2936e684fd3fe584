//! `lab down`: remove what `lab up` made.

use super::gateway::kind_resource;
use super::state::{CONNECT_TIMEOUT, CreatedObject, LabState, PASSWORD_FILE, STATE_FILE};
use crate::command::on_path;
use crate::error::{LabError, api_error};
use crate::platform::connect;
use kube::Client;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `lab down` will do, for `--dry-run` and for the record.
pub fn plan_down(state: &LabState) -> Vec<String> {
    let mut lines = Vec::new();
    match state.provider.delete_cluster() {
        Some(command) => lines.push(format!("$ {command}")),
        None => {
            for object in deletion_order(&state.created) {
                lines.push(format!(
                    "# delete {} through context {}",
                    object.describe(),
                    state.context
                ));
            }
            if state.created.is_empty() {
                lines.push(format!(
                    "# nothing to delete: the lab created nothing on context {}",
                    state.context
                ));
            }
        }
    }
    lines.push(format!("# remove {STATE_FILE} and {PASSWORD_FILE}"));
    lines
}

/// Take the lab down: delete the cluster the lab created, or on an existing
/// context only what the lab created there; then forget the lab.
pub async fn run_down(
    state: &LabState,
    root: &Path,
    progress: &mut dyn Write,
) -> Result<(), LabError> {
    match state.provider.delete_cluster() {
        Some(command) => {
            let _ = writeln!(progress, "$ {command}");
            if on_path(&command.program) {
                command.run(root).await?;
            } else {
                return Err(LabError::Prerequisite(format!(
                    "{} is not installed: it is needed to delete the lab's cluster",
                    command.program
                )));
            }
        }
        None => {
            // A state file naming a kind the lab cannot delete fails before
            // anything is deleted or connected to.
            for object in &state.created {
                resource_of(object)?;
            }
            let client = connect(Some(&state.context), CONNECT_TIMEOUT).await?;
            delete_created(&client, &state.created, progress).await?;
        }
    }
    for file in [STATE_FILE, PASSWORD_FILE] {
        match std::fs::remove_file(root.join(file)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LabError::io(root.join(file), e)),
        }
    }
    Ok(())
}

/// The order `lab down` deletes what the lab created in, the reverse of
/// what depends on what: namespaced objects (bindings before roles before
/// service accounts), then cluster-wide bindings, the GatewayClass, the
/// admission policy's binding and policy, cluster roles, then the
/// CustomResourceDefinitions (deleting one deletes its objects) and the
/// namespaces last (deleting one deletes what it holds). Within a rank, the
/// recorded order.
pub fn deletion_order(created: &[CreatedObject]) -> Vec<CreatedObject> {
    let rank = |o: &CreatedObject| match (o.namespace.is_some(), o.kind.as_str()) {
        (true, "RoleBinding") => 1,
        (true, "Role") => 2,
        (true, "ServiceAccount") => 3,
        (true, _) => 0,
        (false, "ClusterRoleBinding") => 4,
        (false, "GatewayClass") => 5,
        (false, "ValidatingAdmissionPolicyBinding") => 6,
        (false, "ValidatingAdmissionPolicy") => 7,
        (false, "ClusterRole") => 8,
        (false, "CustomResourceDefinition") => 10,
        (false, "Namespace") => 11,
        (false, _) => 9,
    };
    let mut objects = created.to_vec();
    objects.sort_by_key(rank);
    objects
}

/// Delete what the lab created through `client`, in [`deletion_order`],
/// saying each on `progress`; an object already gone is fine. A kind the lab
/// cannot delete fails before anything is deleted, naming the state file.
pub async fn delete_created(
    client: &Client,
    created: &[CreatedObject],
    progress: &mut dyn Write,
) -> Result<(), LabError> {
    let objects = deletion_order(created);
    let resources = objects
        .iter()
        .map(resource_of)
        .collect::<Result<Vec<_>, _>>()?;
    let params = DeleteParams::foreground();
    for (object, resource) in objects.iter().zip(resources) {
        let _ = writeln!(progress, "deleting {}", object.describe());
        let api: Api<DynamicObject> = match &object.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        match api.delete(&object.name, &params).await {
            Ok(_) => {}
            Err(e) if crate::namespace::is_not_found(&e) => {}
            Err(e) => {
                return Err(api_error(e, &format!("deleting {}", object.describe())).into());
            }
        }
    }
    Ok(())
}

/// The resource a recorded object is deleted through: its kind must be one of
/// the install files' table, with a namespace exactly when the kind has one.
fn resource_of(object: &CreatedObject) -> Result<ApiResource, LabError> {
    let bad = |message: String| LabError::BadFile {
        path: PathBuf::from(STATE_FILE),
        message,
    };
    let what = if object.api_version.is_empty() {
        object.kind.clone()
    } else {
        format!("{}/{}", object.api_version, object.kind)
    };
    let Some((resource, namespaced)) = kind_resource(&object.api_version, &object.kind) else {
        return Err(bad(format!(
            "unknown kind {what} in created objects ({})",
            object.describe()
        )));
    };
    if namespaced != object.namespace.is_some() {
        return Err(bad(format!(
            "{what} {} in created objects {}",
            object.name,
            if namespaced {
                "is namespaced but names no namespace"
            } else {
                "is cluster-scoped but names a namespace"
            }
        )));
    }
    Ok(resource)
}
