//! `lab up|down|status` on a Kubernetes cluster (kind, minikube, an existing context).
//!
//! The work is in `platform_kube::lab`; this file turns the command line's choice
//! into a [`Target`], prints for people, and picks exit statuses.

use crate::exit::Usage;
use crate::shell::repo_root;
use platform_kube::lab::{self, LabState, PASSWORD_FILE};
use std::io::Write;
use std::process::ExitCode;

pub use platform_kube::Provider;

/// Where `lab up` / `lab down` act, and whether only to show what they would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// kind (default), minikube, or an existing context.
    pub provider: Provider,
    /// Print every command and object instead of running and applying them.
    pub dry_run: bool,
}

fn check_target(target: &Target) -> anyhow::Result<()> {
    if let Provider::Context(name) = &target.provider
        && name.trim().is_empty()
    {
        return Err(Usage("--context needs the name of a kubeconfig context".into()).into());
    }
    Ok(())
}

/// `lab up` on a cluster: create it (kind, minikube) unless it exists, build and
/// load the images unless they exist, apply the monitoring stack, wait for it,
/// and print where Grafana, Prometheus and the app are reached. Idempotent.
pub fn up(target: &Target) -> anyhow::Result<ExitCode> {
    check_target(target)?;
    let root = repo_root();
    if let Some(state) = LabState::load(&root)?
        && let Some(message) = lab::conflicting_lab(&state, &target.provider)
    {
        return Err(Usage(message).into());
    }
    let (password, new) = lab::grafana_password(&root)?;
    let plan = lab::plan_up(&root, &target.provider, &password, new)?;
    let mut stdout = std::io::stdout().lock();
    if target.dry_run {
        lab::print_plan(&plan, &root, &mut stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = super::runtime()?;
    let state = runtime.block_on(lab::run_up(&plan, &root, &password, &mut std::io::stderr()))?;
    let status = runtime.block_on(lab::status(&state, &root))?;
    writeln!(
        stdout,
        "lab up on {} (context {})",
        status.platform, status.context
    )?;
    print_urls(&status, &mut stdout)?;
    Ok(ExitCode::SUCCESS)
}

fn print_urls(status: &lab::LabStatus, out: &mut dyn Write) -> std::io::Result<()> {
    let url = |u: &Option<String>| {
        u.clone()
            .unwrap_or_else(|| "(not reachable from this machine)".into())
    };
    writeln!(
        out,
        "Grafana     {}  (user {}, password in {PASSWORD_FILE}; viewing needs no login)",
        url(&status.grafana),
        platform_kube::monitoring::GRAFANA_USER
    )?;
    writeln!(out, "Prometheus  {}", url(&status.prometheus))?;
    let app_note = if status.app_deployed {
        "Service my-app"
    } else {
        "once a scenario runs"
    };
    writeln!(out, "app         {}  ({app_note})", url(&status.app))?;
    Ok(())
}

/// `lab down` on a cluster: delete the cluster the lab created (kind, minikube),
/// or on an existing context only what the lab created there. With no target,
/// the lab that `lab up` recorded. Idempotent.
pub fn down(target: Option<&Target>) -> anyhow::Result<ExitCode> {
    if let Some(target) = target {
        check_target(target)?;
    }
    let root = repo_root();
    let recorded = LabState::load(&root)?;
    let state = match (recorded, target) {
        (Some(state), Some(target)) if state.provider != target.provider => {
            return Err(Usage(format!(
                "the lab is up on {}, not on {}: run `cargo xtask lab down` without a platform",
                state.provider.name(),
                target.provider.name()
            ))
            .into());
        }
        (Some(state), _) => state,
        // Nothing recorded: a cluster the lab names can still be deleted; on an
        // existing context nothing is known to be the lab's.
        (None, Some(target)) if target.provider.owns_cluster() => LabState {
            provider: target.provider.clone(),
            context: target.provider.kube_context(),
            demo_app_image: String::new(),
            loadgen_image: String::new(),
            created: Vec::new(),
        },
        (None, _) => {
            println!("no lab is up on a cluster: nothing to remove");
            return Ok(ExitCode::SUCCESS);
        }
    };
    if target.is_some_and(|t| t.dry_run) {
        println!(
            "# lab down on {} (dry run: nothing is run or deleted)",
            state.provider.name()
        );
        for line in lab::plan_down(&state) {
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    super::runtime()?.block_on(lab::run_down(&state, &root, &mut std::io::stderr()))?;
    println!("lab down on {}", state.provider.name());
    Ok(ExitCode::SUCCESS)
}

/// `lab status` of a lab on a cluster: where it runs, whether Prometheus and
/// Grafana are ready, and the URLs. Exit status 1 when the cluster does not answer.
pub fn status(json: bool) -> anyhow::Result<ExitCode> {
    let root = repo_root();
    let Some(state) = LabState::load(&root)? else {
        if json {
            println!("{}", serde_json::json!({ "up": false }));
        } else {
            println!("no lab is up on a cluster");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let status = super::runtime()?.block_on(lab::status(&state, &root))?;
    let mut stdout = std::io::stdout().lock();
    if json {
        let mut value = serde_json::to_value(&status)?;
        value["up"] = serde_json::json!(true);
        value["password_file"] = serde_json::json!(PASSWORD_FILE);
        writeln!(stdout, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(
            stdout,
            "lab on {} (context {})",
            status.platform, status.context
        )?;
        for (name, progress) in &status.monitoring {
            writeln!(stdout, "{name:<11} {progress}")?;
        }
        print_urls(&status, &mut stdout)?;
        writeln!(stdout, "demo-app    {}", status.demo_app_image)?;
    }
    let ready = status.monitoring.iter().all(|(_, p)| p == "ready");
    Ok(if ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
