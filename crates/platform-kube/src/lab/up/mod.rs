//! `lab up`: the plan of steps, printed for `--dry-run` or carried out.

use super::connect::settings_for;
use super::gateway::{
    self, CRD_TIMEOUT, GATEWAY_API_FILE, GATEWAY_CLASS, GATEWAY_CLASS_TIMEOUT, InstallFile,
    NGF_CRDS_FILE, NGF_DEPLOY_FILE, NGF_DEPLOYMENT, NGF_NAMESPACE, NGF_TIMEOUT,
};
use super::state::{
    CONNECT_TIMEOUT, CreatedObject, LabState, MONITORING_TIMEOUT, PASSWORD_FILE, remember,
    write_file,
};
use crate::command::{ExternalCommand, on_path};
use crate::error::{LabError, api_error};
use crate::images::{ImageSpec, LAB_IMAGES};
use crate::monitoring::{
    self, MONITORING_DEPLOYMENTS, MONITORING_NAMESPACE, Manifest, apply_manifest,
};
use crate::platform::{KubePlatform, LAB_NAMESPACE, NodeAccess, connect, lab_namespace};
use crate::provider::{Probe, Provider, Requirement};
use k8s_openapi::Resource;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::Client;
use kube::api::Api;
use lab_core::platform::Platform;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// One thing `lab up` does.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Check that a tool is installed and answers.
    Require(Requirement),
    /// Run a command unless a probe says it is done; when it fails, run the
    /// fallback commands instead (if any).
    Run {
        /// What the command is for.
        what: String,
        /// The command.
        command: ExternalCommand,
        /// Skip the command when this holds.
        skip_if: Option<Probe>,
        /// Commands that do the same another way.
        fallback: Vec<ExternalCommand>,
    },
    /// Say something the user should know (nothing is run).
    Note(String),
    /// Keep Grafana's admin password in [`PASSWORD_FILE`] (mode 0600).
    WritePassword {
        /// Whether the password is new (otherwise the file is kept).
        new: bool,
    },
    /// Server-side apply objects through the API of the lab's context.
    Apply(Vec<Manifest>),
    /// Wait until Deployments of a namespace are ready.
    WaitReady {
        /// The namespace.
        namespace: String,
        /// The Deployments.
        deployments: Vec<String>,
        /// How long to wait.
        timeout: Duration,
    },
    /// Server-side apply the objects of a pinned install file as written
    /// (`--gateway`).
    ApplyInstall(InstallFile),
    /// Wait until CustomResourceDefinitions are `Established`.
    WaitEstablished {
        /// The CRDs' names.
        crds: Vec<String>,
        /// How long to wait.
        timeout: Duration,
    },
    /// Wait until a GatewayClass has condition `Accepted=True`.
    WaitAccepted {
        /// The GatewayClass.
        gateway_class: String,
        /// How long to wait.
        timeout: Duration,
    },
    /// Record the lab in [`STATE_FILE`](crate::lab::STATE_FILE).
    Record,
}

/// Everything `lab up` will do, and what it knows up front.
#[derive(Debug, Clone, PartialEq)]
pub struct UpPlan {
    /// Where the lab goes.
    pub provider: Provider,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The demo-app image reference.
    pub demo_app_image: String,
    /// The loadgen image reference.
    pub loadgen_image: String,
    /// How often the cluster's Prometheus scrapes.
    pub scrape_interval: Duration,
}

/// What `lab up` may be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpOptions {
    /// How often the cluster's Prometheus scrapes (a run whose plan says
    /// otherwise reconfigures it).
    pub scrape_interval: Duration,
    /// Install the Gateway API CRDs and NGINX Gateway Fabric (`--gateway`).
    pub gateway: bool,
}

impl Default for UpOptions {
    /// The tutorial's 5 s scrapes, no gateway.
    fn default() -> Self {
        UpOptions {
            scrape_interval: monitoring::DEFAULT_SCRAPE_INTERVAL,
            gateway: false,
        }
    }
}

/// Build the plan of `lab up` with the default options. Reads the repository
/// (manifests, dashboards, the image inputs) and whether a password exists;
/// changes nothing.
pub fn plan_up(
    root: &Path,
    provider: &Provider,
    password: &str,
    password_is_new: bool,
) -> Result<UpPlan, LabError> {
    plan_up_with(
        root,
        provider,
        password,
        password_is_new,
        &UpOptions::default(),
    )
}

/// Build the plan of `lab up`. Reads the repository (manifests, dashboards, the
/// image inputs) and whether a password exists; changes nothing.
pub fn plan_up_with(
    root: &Path,
    provider: &Provider,
    password: &str,
    password_is_new: bool,
    options: &UpOptions,
) -> Result<UpPlan, LabError> {
    let mut steps: Vec<Step> = provider
        .requirements()
        .into_iter()
        .map(Step::Require)
        .collect();
    if let Some((command, probe)) = provider.create_cluster() {
        steps.push(Step::Run {
            what: format!(
                "create the {} cluster {}",
                provider.name(),
                crate::provider::CLUSTER_NAME
            ),
            command,
            skip_if: Some(probe),
            fallback: vec![],
        });
    }
    let mut references = Vec::new();
    for image in LAB_IMAGES {
        let tag = image.content_tag(root)?;
        let reference = image.reference(&tag);
        steps.push(build_step(&image, &reference, &image.bases(root)?));
        if let Some(name) = image.manifest_name {
            steps.push(Step::Run {
                what: format!(
                    "tag {reference} as {name}, the image the scenarios' manifests name, so `kubectl apply -f` by hand runs it too"
                ),
                command: ExternalCommand::new("docker", &["tag", &reference, name]),
                skip_if: None,
                fallback: vec![],
            });
        }
        let loaded = match image.manifest_name {
            Some(name) => format!("{reference} (and {name})"),
            None => reference.clone(),
        };
        match provider.load_image(&image, &tag) {
            Some(commands) => {
                for (command, fallback) in commands {
                    steps.push(Step::Run {
                        what: format!("load {loaded} into the cluster"),
                        command,
                        skip_if: None,
                        fallback,
                    });
                }
            }
            None => steps.push(Step::Note(format!(
                "{reference} is not loaded: context {} must see the local Docker images (as Docker Desktop's cluster does)",
                provider.kube_context()
            ))),
        }
        references.push(reference);
    }
    steps.push(Step::WritePassword {
        new: password_is_new,
    });
    let mut objects = vec![Manifest::Namespace(Box::new(lab_namespace(LAB_NAMESPACE)))];
    objects.extend(monitoring::monitoring_stack(
        root,
        password,
        options.scrape_interval,
    )?);
    steps.push(Step::Apply(objects));
    steps.push(Step::WaitReady {
        namespace: MONITORING_NAMESPACE.into(),
        deployments: MONITORING_DEPLOYMENTS
            .iter()
            .map(|d| d.to_string())
            .collect(),
        timeout: MONITORING_TIMEOUT,
    });
    if options.gateway {
        steps.extend(gateway_steps(root)?);
    }
    steps.push(Step::Record);
    Ok(UpPlan {
        provider: provider.clone(),
        steps,
        demo_app_image: references[0].clone(),
        loadgen_image: references[1].clone(),
        scrape_interval: options.scrape_interval,
    })
}

/// The steps of `--gateway`: the CRDs, their `Established`, NGINX Gateway
/// Fabric, its control plane ready and its GatewayClass `Accepted`.
fn gateway_steps(root: &Path) -> Result<Vec<Step>, LabError> {
    let crd_files = [
        gateway::install_file(root, GATEWAY_API_FILE)?,
        gateway::install_file(root, NGF_CRDS_FILE)?,
    ];
    let crds = gateway::crd_names(&crd_files);
    let mut steps: Vec<Step> = crd_files.into_iter().map(Step::ApplyInstall).collect();
    steps.push(Step::WaitEstablished {
        crds,
        timeout: CRD_TIMEOUT,
    });
    steps.push(Step::ApplyInstall(gateway::install_file(
        root,
        NGF_DEPLOY_FILE,
    )?));
    steps.push(Step::WaitReady {
        namespace: NGF_NAMESPACE.into(),
        deployments: vec![NGF_DEPLOYMENT.into()],
        timeout: NGF_TIMEOUT,
    });
    steps.push(Step::WaitAccepted {
        gateway_class: GATEWAY_CLASS.into(),
        timeout: GATEWAY_CLASS_TIMEOUT,
    });
    Ok(steps)
}

fn build_step(image: &ImageSpec, reference: &str, bases: &[String]) -> Step {
    Step::Run {
        what: format!("build {reference} from {}", bases.join(" and ")),
        command: ExternalCommand::new(
            "docker",
            &["build", "-f", image.dockerfile, "-t", reference, "."],
        )
        .timeout(Duration::from_secs(60 * 60)),
        skip_if: Some(Probe::Succeeds(ExternalCommand::new(
            "docker",
            &["image", "inspect", "--format", "{{.Id}}", reference],
        ))),
        fallback: vec![],
    }
}

/// The password `lab up` uses: the one kept from an earlier `lab up`, or a new
/// one. Returns it and whether it is new.
pub fn grafana_password(root: &Path) -> Result<(String, bool), LabError> {
    let path = root.join(PASSWORD_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 24 => Ok((text.trim().to_string(), false)),
        Ok(_) => Ok((monitoring::generate_password(), true)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((monitoring::generate_password(), true))
        }
        Err(e) => Err(LabError::io(path, e)),
    }
}

/// Check every requirement, each within its probe's timeout, and fail with the
/// first one missing.
pub async fn check_requirements(requirements: &[Requirement], root: &Path) -> Result<(), LabError> {
    for requirement in requirements {
        if !on_path(requirement.program) {
            return Err(LabError::Prerequisite(requirement.install.clone()));
        }
        let answered = requirement.probe.capture(root).await;
        match answered {
            Ok(out) if out.success => {}
            Ok(out) => {
                let detail = out.stderr.lines().last().unwrap_or("").trim().to_string();
                return Err(LabError::Prerequisite(if detail.is_empty() {
                    requirement.check.clone()
                } else {
                    format!("{} ({detail})", requirement.check)
                }));
            }
            Err(e) => {
                return Err(LabError::Prerequisite(format!(
                    "{} ({e})",
                    requirement.check
                )));
            }
        }
    }
    Ok(())
}

/// Carry out a plan, telling the user on `progress` what it does.
pub async fn run_up(
    plan: &UpPlan,
    root: &Path,
    password: &str,
    progress: &mut dyn Write,
) -> Result<LabState, LabError> {
    let requirements: Vec<Requirement> = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Require(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    check_requirements(&requirements, root).await?;
    let context = plan.provider.kube_context();
    let mut client: Option<Client> = None;
    let before = LabState::load(root)?;
    let mut state = LabState {
        provider: plan.provider.clone(),
        context: context.clone(),
        demo_app_image: plan.demo_app_image.clone(),
        loadgen_image: plan.loadgen_image.clone(),
        created: before
            .as_ref()
            .map(|s| s.created.clone())
            .unwrap_or_default(),
        // A gateway an earlier `lab up --gateway` installed on this cluster
        // stays (`lab up` without it removes nothing).
        gateway: before.is_some_and(|s| s.gateway && s.context == context),
    };
    let say = |progress: &mut dyn Write, text: String| {
        let _ = writeln!(progress, "{text}");
    };
    for step in &plan.steps {
        match step {
            Step::Require(_) => {}
            Step::Run {
                what,
                command,
                skip_if,
                fallback,
            } => {
                if let Some(probe) = skip_if
                    && probe.holds(root).await?
                {
                    say(progress, format!("{what}: done already"));
                    continue;
                }
                say(progress, format!("{what}\n$ {command}"));
                if let Err(first) = command.run(root).await {
                    if fallback.is_empty() {
                        return Err(first);
                    }
                    say(progress, format!("{first}; trying another way"));
                    prepare_archive_dir(root)?;
                    for c in fallback {
                        say(progress, format!("$ {c}"));
                        c.run(root).await?;
                    }
                }
            }
            Step::Note(note) => say(progress, format!("note: {note}")),
            Step::WritePassword { new } => {
                if *new {
                    write_file(&root.join(PASSWORD_FILE), password.as_bytes(), 0o600)?;
                    say(
                        progress,
                        format!("Grafana admin password written to {PASSWORD_FILE}"),
                    );
                }
            }
            Step::Apply(objects) => {
                let c = connected(&mut client, &context).await?;
                remember_created(&c, objects, &mut state.created).await?;
                // Recorded before applying, so `lab down` finds what a failed
                // `lab up` left behind.
                state.save(root)?;
                say(
                    progress,
                    format!(
                        "applying {} objects through context {context}",
                        objects.len()
                    ),
                );
                for object in objects {
                    apply_manifest(&c, object).await?;
                }
            }
            Step::ApplyInstall(file) => {
                let c = connected(&mut client, &context).await?;
                gateway::remember_new_objects(&c, &file.objects, &mut state.created).await?;
                state.created.sort();
                // Recorded before applying, as above.
                state.save(root)?;
                run_cluster_step(&c, step, &mut state, progress).await?;
            }
            Step::WaitReady { .. } | Step::WaitEstablished { .. } | Step::WaitAccepted { .. } => {
                let c = connected(&mut client, &context).await?;
                run_cluster_step(&c, step, &mut state, progress).await?;
            }
            Step::Record => state.save(root)?,
        }
    }
    Ok(state)
}

/// Carry out one step that only talks to the API (the waits, the pinned
/// install files) through `client`; other steps are left alone (`Ok(false)`).
/// What an install file creates is not recorded here: `run_up` does that
/// first ([`remember_new_objects`](crate::lab::remember_new_objects)) and
/// saves it before the file is applied.
/// A GatewayClass found accepted, the last step of `--gateway`, marks the
/// gateway installed in `state` (saved by the plan's `Record` step).
pub async fn run_cluster_step(
    client: &Client,
    step: &Step,
    state: &mut LabState,
    progress: &mut dyn Write,
) -> Result<bool, LabError> {
    match step {
        Step::WaitReady {
            namespace,
            deployments,
            timeout,
        } => {
            let _ = writeln!(
                progress,
                "waiting for {} in {namespace}",
                deployments.join(", ")
            );
            let platform = KubePlatform::new(
                client.clone(),
                settings_for(state, namespace, NodeAccess::Node(String::new())),
            );
            platform.wait_ready(deployments, *timeout).await?;
        }
        Step::ApplyInstall(file) => {
            let _ = writeln!(
                progress,
                "applying {} objects of {} ({})",
                file.objects.len(),
                file.pin,
                file.path
            );
            gateway::apply_install_objects(client, &file.objects).await?;
        }
        Step::WaitEstablished { crds, timeout } => {
            let _ = writeln!(
                progress,
                "waiting for {} CustomResourceDefinitions to be Established",
                crds.len()
            );
            gateway::wait_established(client, crds, *timeout).await?;
        }
        Step::WaitAccepted {
            gateway_class,
            timeout,
        } => {
            let _ = writeln!(
                progress,
                "waiting for GatewayClass {gateway_class} to be Accepted"
            );
            gateway::wait_gateway_class_accepted(client, gateway_class, *timeout).await?;
            state.gateway = true;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn prepare_archive_dir(root: &Path) -> Result<(), LabError> {
    let dir = root.join(crate::provider::IMAGE_ARCHIVE_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| LabError::io(dir, e))
}

async fn connected(client: &mut Option<Client>, context: &str) -> Result<Client, LabError> {
    if let Some(c) = client {
        return Ok(c.clone());
    }
    let c = connect(Some(context), CONNECT_TIMEOUT).await?;
    *client = Some(c.clone());
    Ok(c)
}

/// Note which namespaces and cluster-wide objects among `objects` do not exist
/// yet: those are the lab's to delete later.
async fn remember_created(
    client: &Client,
    objects: &[Manifest],
    created: &mut Vec<CreatedObject>,
) -> Result<(), LabError> {
    for object in objects {
        let kind = object.kind();
        let name = object.name();
        let api_version = match object {
            Manifest::Namespace(_) => <Namespace as Resource>::API_VERSION,
            Manifest::ClusterRole(_) => <ClusterRole as Resource>::API_VERSION,
            Manifest::ClusterRoleBinding(_) => <ClusterRoleBinding as Resource>::API_VERSION,
            _ => continue,
        };
        let exists = match object {
            Manifest::Namespace(_) => Api::<Namespace>::all(client.clone())
                .get_opt(name)
                .await
                .map(|o| o.is_some()),
            Manifest::ClusterRole(_) => Api::<ClusterRole>::all(client.clone())
                .get_opt(name)
                .await
                .map(|o| o.is_some()),
            Manifest::ClusterRoleBinding(_) => Api::<ClusterRoleBinding>::all(client.clone())
                .get_opt(name)
                .await
                .map(|o| o.is_some()),
            _ => continue,
        }
        .map_err(|e| api_error(e, &format!("looking up {kind} {name}")))?;
        if !exists {
            remember(
                created,
                CreatedObject::cluster_wide(api_version, kind, name),
            );
        }
    }
    created.sort();
    Ok(())
}

#[cfg(test)]
mod tests;
