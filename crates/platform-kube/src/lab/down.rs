//! `lab down`: remove what `lab up` made.

use super::state::{CONNECT_TIMEOUT, CreatedObject, LabState, PASSWORD_FILE, STATE_FILE};
use crate::command::on_path;
use crate::error::{LabError, api_error};
use crate::platform::connect;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::Client;
use kube::api::{Api, DeleteParams};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `lab down` will do, for `--dry-run` and for the record.
pub fn plan_down(state: &LabState) -> Vec<String> {
    let mut lines = Vec::new();
    match state.provider.delete_cluster() {
        Some(command) => lines.push(format!("$ {command}")),
        None => {
            for object in state.created.iter().rev() {
                lines.push(format!(
                    "# delete {} {} through context {}",
                    object.kind, object.name, state.context
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
            let client = connect(Some(&state.context), CONNECT_TIMEOUT).await?;
            // Bindings before roles before namespaces: the reverse of creation.
            let mut objects = state.created.clone();
            objects.sort_by_key(|o| match o.kind.as_str() {
                "ClusterRoleBinding" => 0,
                "ClusterRole" => 1,
                _ => 2,
            });
            for object in &objects {
                let _ = writeln!(progress, "deleting {} {}", object.kind, object.name);
                delete_cluster_object(&client, object).await?;
            }
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

async fn delete_cluster_object(client: &Client, object: &CreatedObject) -> Result<(), LabError> {
    let params = DeleteParams::foreground();
    let result = match object.kind.as_str() {
        "Namespace" => Api::<Namespace>::all(client.clone())
            .delete(&object.name, &params)
            .await
            .map(|_| ()),
        "ClusterRole" => Api::<ClusterRole>::all(client.clone())
            .delete(&object.name, &params)
            .await
            .map(|_| ()),
        "ClusterRoleBinding" => Api::<ClusterRoleBinding>::all(client.clone())
            .delete(&object.name, &params)
            .await
            .map(|_| ()),
        other => {
            return Err(LabError::BadFile {
                path: PathBuf::from(STATE_FILE),
                message: format!("unknown kind {other} in created objects"),
            });
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if crate::namespace::is_not_found(&e) => Ok(()),
        Err(e) => Err(api_error(e, &format!("deleting {} {}", object.kind, object.name)).into()),
    }
}
