//! The lab on a cluster (kind, minikube, an existing context): the checks
//! around `platform_kube::lab`'s up, down and status, so that a lab recorded on
//! one cluster is not mistaken for another.

use crate::error::SessionError;
use crate::home::LabHome;
use platform_kube::Provider;
use platform_kube::lab::{self, LabState, LabStatus, UpPlan};
use std::io::Write;

fn check_provider(provider: &Provider) -> Result<(), SessionError> {
    if let Provider::Context(name) = provider
        && name.trim().is_empty()
    {
        return Err(SessionError::Usage(
            "--context needs the name of a kubeconfig context".into(),
        ));
    }
    Ok(())
}

/// The cluster lab `lab up` recorded, if any.
pub(crate) fn recorded(home: &LabHome) -> Result<Option<LabState>, SessionError> {
    Ok(LabState::load(home.repo_root())?)
}

/// What `lab up` on a cluster did, or would do.
#[derive(Debug)]
pub enum ClusterUp {
    /// A dry run: the plan, to print.
    WouldRun(Box<UpPlan>),
    /// The lab is up.
    Up(Box<LabStatus>),
}

/// `lab up` on a cluster: create it (kind, minikube) unless it exists, build and
/// load the images unless they exist, apply the monitoring stack and wait for
/// it, telling `progress` what it does. Idempotent.
pub async fn cluster_up(
    home: &LabHome,
    provider: &Provider,
    options: &lab::UpOptions,
    dry_run: bool,
    progress: &mut dyn Write,
) -> Result<ClusterUp, SessionError> {
    check_provider(provider)?;
    let root = home.repo_root();
    if let Some(state) = recorded(home)?
        && let Some(message) = lab::conflicting_lab(&state, provider)
    {
        return Err(SessionError::Usage(message));
    }
    let (password, new) = lab::grafana_password(root)?;
    let plan = lab::plan_up_with(root, provider, &password, new, options)?;
    if dry_run {
        return Ok(ClusterUp::WouldRun(Box::new(plan)));
    }
    let state = lab::run_up(&plan, root, &password, progress).await?;
    let status = lab::status(&state, root).await?;
    Ok(ClusterUp::Up(Box::new(status)))
}

/// What `lab down` on a cluster did, or would do.
#[derive(Debug)]
pub enum ClusterDown {
    /// No lab is up on a cluster, and none was named.
    NothingUp,
    /// A dry run: where, and what would be done.
    WouldRun {
        /// The platform's name.
        platform: String,
        /// One line per command or deletion.
        lines: Vec<String>,
    },
    /// The lab on this platform is down.
    Down {
        /// The platform's name.
        platform: String,
    },
}

/// `lab down` on a cluster: delete the cluster the lab created (kind,
/// minikube), or on an existing context only what the lab created there. With
/// no `target`, the lab that `lab up` recorded. Idempotent.
pub async fn cluster_down(
    home: &LabHome,
    target: Option<&Provider>,
    dry_run: bool,
    progress: &mut dyn Write,
) -> Result<ClusterDown, SessionError> {
    if let Some(provider) = target {
        check_provider(provider)?;
    }
    let state = match (recorded(home)?, target) {
        (Some(state), Some(provider)) if state.provider != *provider => {
            return Err(SessionError::Usage(format!(
                "the lab is up on {}, not on {}: run `cargo xtask lab down` without a platform",
                state.provider.name(),
                provider.name()
            )));
        }
        (Some(state), _) => state,
        // Nothing recorded: a cluster the lab names can still be deleted; on an
        // existing context nothing is known to be the lab's.
        (None, Some(provider)) if provider.owns_cluster() => LabState {
            provider: provider.clone(),
            context: provider.kube_context(),
            demo_app_image: String::new(),
            loadgen_image: String::new(),
            created: Vec::new(),
            gateway: false,
        },
        (None, _) => return Ok(ClusterDown::NothingUp),
    };
    let platform = state.provider.name();
    if dry_run {
        return Ok(ClusterDown::WouldRun {
            platform,
            lines: lab::plan_down(&state),
        });
    }
    lab::run_down(&state, home.repo_root(), progress).await?;
    Ok(ClusterDown::Down { platform })
}

/// Where the cluster lab runs and how it does; `None` when none is up.
pub async fn cluster_status(home: &LabHome) -> Result<Option<LabStatus>, SessionError> {
    match recorded(home)? {
        Some(state) => Ok(Some(lab::status(&state, home.repo_root()).await?)),
        None => Ok(None),
    }
}
