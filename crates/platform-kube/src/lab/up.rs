//! `lab up`: the plan of steps, printed for `--dry-run` or carried out.

use super::connect::{read_kind_access, run_placement, settings_for};
use super::state::{
    CONNECT_TIMEOUT, CreatedObject, LabState, MONITORING_TIMEOUT, PASSWORD_FILE, STATE_FILE,
    write_file,
};
use crate::command::{ExternalCommand, on_path};
use crate::error::{LabError, api_error};
use crate::images::{ImageSpec, LAB_IMAGES};
use crate::monitoring::{
    self, GRAFANA_USER, MONITORING_DEPLOYMENTS, MONITORING_NAMESPACE, Manifest, apply_manifest,
};
use crate::platform::{
    APP_NODE_PORT, GRAFANA_NODE_PORT, KubePlatform, LAB_NAMESPACE, NodeAccess,
    PROMETHEUS_NODE_PORT, connect, lab_namespace,
};
use crate::provider::{Probe, Provider, Requirement};
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
    /// Record the lab in [`STATE_FILE`].
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
}

impl Default for UpOptions {
    /// The tutorial's 5 s scrapes.
    fn default() -> Self {
        UpOptions {
            scrape_interval: monitoring::DEFAULT_SCRAPE_INTERVAL,
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
    steps.push(Step::Record);
    Ok(UpPlan {
        provider: provider.clone(),
        steps,
        demo_app_image: references[0].clone(),
        loadgen_image: references[1].clone(),
        scrape_interval: options.scrape_interval,
    })
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

/// Where a NodePort is reached, in words when it is only known on a live cluster.
fn url_hint(provider: &Provider, node_port: i32, root: &Path) -> String {
    match provider {
        Provider::Kind => match read_kind_access(root) {
            Ok(access) => access.url(node_port).unwrap_or_else(|e| e),
            Err(e) => e.to_string(),
        },
        Provider::Minikube => format!("http://$(minikube ip --profile canary-lab):{node_port}"),
        Provider::Context(_) => format!("http://<a node's ExternalIP or InternalIP>:{node_port}"),
    }
}

/// Write the plan for people: every command (`$ ...`) and every object (YAML)
/// in the order `lab up` runs and applies them.
pub fn print_plan(plan: &UpPlan, root: &Path, out: &mut dyn Write) -> std::io::Result<()> {
    let context = plan.provider.kube_context();
    writeln!(
        out,
        "# lab up on {} (dry run: nothing is run, written or applied)",
        plan.provider.name()
    )?;
    for step in &plan.steps {
        match step {
            Step::Require(r) => {
                writeln!(
                    out,
                    "\n# check that {} is installed and answers (within {:?})",
                    r.program, r.probe.timeout
                )?;
                writeln!(out, "$ {}", r.probe)?;
            }
            Step::Run {
                what,
                command,
                skip_if,
                fallback,
            } => {
                writeln!(out, "\n# {what}")?;
                if let Some(probe) = skip_if {
                    writeln!(out, "# (skipped when {})", probe.describe())?;
                }
                writeln!(out, "$ {command}")?;
                if !fallback.is_empty() {
                    writeln!(out, "# if that fails:")?;
                    for c in fallback {
                        writeln!(out, "$ {c}")?;
                    }
                }
            }
            Step::Note(note) => writeln!(out, "\n# note: {note}")?,
            Step::WritePassword { new } => {
                if *new {
                    writeln!(
                        out,
                        "\n# write a new Grafana admin password to {PASSWORD_FILE} (mode 0600)"
                    )?;
                } else {
                    writeln!(
                        out,
                        "\n# keep the Grafana admin password in {PASSWORD_FILE}"
                    )?;
                }
            }
            Step::Apply(objects) => {
                writeln!(
                    out,
                    "\n# server-side apply (field manager canary-lab) through context {context}: {} objects",
                    objects.len()
                )?;
                for object in objects {
                    write!(out, "{}", object.to_display_yaml())?;
                }
            }
            Step::WaitReady {
                namespace,
                deployments,
                timeout,
            } => {
                writeln!(
                    out,
                    "\n# wait up to {}s until deployments {} in {namespace} are ready",
                    timeout.as_secs(),
                    deployments.join(", ")
                )?;
            }
            Step::Record => writeln!(out, "\n# record the lab in {STATE_FILE}")?,
        }
    }
    writeln!(out, "\n# then:")?;
    for line in url_lines(&plan.provider, root) {
        writeln!(out, "{line}")?;
    }
    writeln!(
        out,
        "\n# runs on this lab (cargo xtask lab run <scenario> --platform {}):",
        plan.provider.name()
    )?;
    for line in run_lines(plan) {
        writeln!(out, "#   {line}")?;
    }
    Ok(())
}

/// What a run on this lab does differently from the local platform: longer
/// waits, the endpoint settle, kubectl lines in the lab's namespace, and
/// Prometheus scraping at the plan's interval.
pub fn run_lines(plan: &UpPlan) -> Vec<String> {
    let placement = run_placement(&plan.provider);
    vec![
        format!(
            "waits last at least {}s unless --wait-timeout says otherwise",
            placement.min_wait_timeout.as_secs()
        ),
        format!(
            "each phase opens {}s after the step before it, once kube-proxy follows the endpoint change (the endpoint settle)",
            placement.endpoint_settle.as_secs_f64()
        ),
        format!(
            "kubectl lines name namespace {}",
            placement.namespace.as_deref().unwrap_or_default()
        ),
        format!(
            "Prometheus scrapes every {} until a run's plan says otherwise; then the run reconfigures and restarts it",
            monitoring::prometheus_duration(plan.scrape_interval)
        ),
    ]
}

/// The lines `lab up` ends with: where Grafana, Prometheus and the app are.
pub fn url_lines(provider: &Provider, root: &Path) -> Vec<String> {
    vec![
        format!(
            "Grafana     {}  (user {GRAFANA_USER}, password in {PASSWORD_FILE}; viewing needs no login)",
            url_hint(provider, GRAFANA_NODE_PORT, root)
        ),
        format!(
            "Prometheus  {}",
            url_hint(provider, PROMETHEUS_NODE_PORT, root)
        ),
        format!(
            "app         {}  (Service my-app in namespace {LAB_NAMESPACE}, once a scenario runs)",
            url_hint(provider, APP_NODE_PORT, root)
        ),
    ]
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
    let mut state = LabState {
        provider: plan.provider.clone(),
        context: context.clone(),
        demo_app_image: plan.demo_app_image.clone(),
        loadgen_image: plan.loadgen_image.clone(),
        created: LabState::load(root)?.map(|s| s.created).unwrap_or_default(),
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
            Step::WaitReady {
                namespace,
                deployments,
                timeout,
            } => {
                let c = connected(&mut client, &context).await?;
                say(
                    progress,
                    format!("waiting for {} in {namespace}", deployments.join(", ")),
                );
                let platform = KubePlatform::new(
                    c,
                    settings_for(&state, namespace, NodeAccess::Node(String::new())),
                );
                platform.wait_ready(deployments, *timeout).await?;
            }
            Step::Record => state.save(root)?,
        }
    }
    Ok(state)
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
        let entry = CreatedObject {
            kind: kind.to_string(),
            name: name.to_string(),
        };
        if !exists && !created.contains(&entry) {
            created.push(entry);
        }
    }
    created.sort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn password_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (first, new) = grafana_password(dir.path()).unwrap();
        assert!(new);
        write_file(&dir.path().join(PASSWORD_FILE), first.as_bytes(), 0o600).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(PASSWORD_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(grafana_password(dir.path()).unwrap(), (first, false));
    }

    fn sh(script: &str) -> ExternalCommand {
        ExternalCommand::new("sh", &["-c", script])
    }

    #[tokio::test]
    async fn steps_skip_what_is_done_and_fall_back_when_a_command_fails() {
        let dir = tempfile::tempdir().unwrap();
        let run = |what: &str, command, skip_if, fallback| Step::Run {
            what: what.into(),
            command,
            skip_if,
            fallback,
        };
        let plan = UpPlan {
            provider: Provider::Kind,
            steps: vec![
                run(
                    "done already",
                    sh("echo skipped >> log"),
                    Some(Probe::Succeeds(sh("true"))),
                    vec![],
                ),
                run(
                    "fails, then works another way",
                    sh("echo first >> log; exit 1"),
                    Some(Probe::PrintsLine(
                        sh("echo other-cluster"),
                        "canary-lab".into(),
                    )),
                    vec![sh("echo second >> log"), sh("echo third >> log")],
                ),
                run("runs", sh("echo fourth >> log"), None, vec![]),
                Step::Record,
            ],
            demo_app_image: "canary-lab/demo-app:1".into(),
            loadgen_image: "canary-lab/loadgen:2".into(),
            scrape_interval: Duration::from_secs(5),
        };
        let mut progress = Vec::new();
        let state = run_up(&plan, dir.path(), "unused", &mut progress)
            .await
            .unwrap();
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert_eq!(log, "first\nsecond\nthird\nfourth\n");
        assert_eq!(LabState::load(dir.path()).unwrap(), Some(state));
        let progress = String::from_utf8(progress).unwrap();
        assert!(
            progress.starts_with("done already: done already\n"),
            "{progress}"
        );
        assert!(
            progress.contains("failed (exit status: 1); trying another way"),
            "{progress}"
        );
    }

    #[tokio::test]
    async fn a_failing_command_without_fallback_stops_the_plan() {
        let dir = tempfile::tempdir().unwrap();
        let plan = UpPlan {
            provider: Provider::Minikube,
            steps: vec![
                Step::Run {
                    what: "breaks".into(),
                    command: sh("exit 3"),
                    skip_if: None,
                    fallback: vec![],
                },
                Step::Record,
            ],
            demo_app_image: String::new(),
            loadgen_image: String::new(),
            scrape_interval: Duration::from_secs(5),
        };
        let error = run_up(&plan, dir.path(), "unused", &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`sh -c 'exit 3'` failed (exit status: 3)"
        );
        assert_eq!(LabState::load(dir.path()).unwrap(), None);
    }

    #[tokio::test]
    async fn a_missing_tool_is_one_clear_message() {
        let requirement = Requirement {
            program: "no-such-tool-here",
            probe: ExternalCommand::new("no-such-tool-here", &["version"]),
            install: "no-such-tool-here is not installed: install it".into(),
            check: "unused".into(),
        };
        let error = check_requirements(&[requirement], &root())
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "no-such-tool-here is not installed: install it"
        );
    }

    #[tokio::test]
    async fn a_tool_that_does_not_answer_is_reported_within_its_timeout() {
        let requirement = Requirement {
            program: "sh",
            probe: ExternalCommand::new(
                "sh",
                &[
                    "-c",
                    "echo 'Cannot connect to the Docker daemon' >&2; exit 1",
                ],
            ),
            install: "unused".into(),
            check: "docker is installed but its engine does not answer: start Docker".into(),
        };
        let error = check_requirements(&[requirement], &root())
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "docker is installed but its engine does not answer: start Docker (Cannot connect to the Docker daemon)"
        );
    }
}
