//! `lab up`, `lab down` and `lab status` on a cluster, and the platform the
//! runner uses afterwards.
//!
//! `lab up` is a list of [`Step`]s, built first and then either printed
//! (`--dry-run`: every command and every object, nothing run or written) or
//! carried out. Each step that can be skipped says how it knows (a probe), so a
//! second `lab up` only does what is missing.

use crate::command::{ExternalCommand, on_path};
use crate::error::{LabError, api_error};
use crate::images::{ImageSpec, LAB_IMAGES};
use crate::monitoring::{
    self, GRAFANA_USER, MONITORING_DEPLOYMENTS, MONITORING_NAMESPACE, Manifest, apply_manifest,
};
use crate::platform::{
    APP_NODE_PORT, GRAFANA_NODE_PORT, KubePlatform, KubeSettings, LAB_NAMESPACE, NodeAccess,
    PROMETHEUS_NODE_PORT, connect, lab_namespace, node_address,
};
use crate::provider::{KIND_CONFIG, Probe, Provider, Requirement, kind_port_mappings};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::Client;
use kube::api::{Api, DeleteParams};
use lab_core::platform::{Platform, PlatformError};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the lab keeps what it needs between commands, relative to the root.
pub const LAB_DIR: &str = "target/lab";

/// What `lab up` recorded, relative to the root.
pub const STATE_FILE: &str = "target/lab/kube-state.json";

/// Grafana's admin password (mode 0600), relative to the root.
pub const PASSWORD_FILE: &str = "target/lab/grafana-admin-password";

/// How long an API server may take to answer the first request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `lab up` waits for Prometheus and Grafana.
pub const MONITORING_TIMEOUT: Duration = Duration::from_secs(300);

/// An object the lab created on a cluster it does not own, to remove on `lab down`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CreatedObject {
    /// `Namespace`, `ClusterRole` or `ClusterRoleBinding`.
    pub kind: String,
    /// Its name.
    pub name: String,
}

/// What `lab up` recorded in [`STATE_FILE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    /// Where the lab runs.
    pub provider: Provider,
    /// The kubeconfig context of its cluster.
    pub context: String,
    /// The demo-app image loaded into the cluster.
    pub demo_app_image: String,
    /// The loadgen image loaded into the cluster.
    pub loadgen_image: String,
    /// What the lab created that existed not before (cluster-wide objects and
    /// namespaces), removed by `lab down` on a cluster the lab does not own.
    pub created: Vec<CreatedObject>,
}

impl LabState {
    /// The state `lab up` left, if a lab is up.
    pub fn load(root: &Path) -> Result<Option<LabState>, LabError> {
        let path = root.join(STATE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| LabError::BadFile {
                    path,
                    message: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LabError::io(path, e)),
        }
    }

    fn save(&self, root: &Path) -> Result<(), LabError> {
        let path = root.join(STATE_FILE);
        let text = serde_json::to_string_pretty(self).expect("the state serializes");
        write_file(&path, text.as_bytes(), 0o644)
    }
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), LabError> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| LabError::io(dir, e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| LabError::io(path, e))?;
    file.write_all(bytes).map_err(|e| LabError::io(path, e))
}

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

fn read_kind_access(root: &Path) -> Result<NodeAccess, LabError> {
    let path = root.join(KIND_CONFIG);
    let text = std::fs::read_to_string(&path).map_err(|e| LabError::io(&path, e))?;
    kind_port_mappings(Path::new(KIND_CONFIG), &text)
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

/// Connect to the cluster of the lab `lab up` recorded, through its own
/// kubeconfig context (`kind-canary-lab`, minikube's `canary-lab` profile, the
/// `--context` given), never the context that happens to be current, so the
/// cluster tests cannot run against another cluster on the machine.
pub async fn connect_lab(state: &LabState) -> Result<kube::Client, LabError> {
    Ok(connect(Some(&state.context), CONNECT_TIMEOUT).await?)
}

/// The placement of a run on the lab of `provider`.
pub fn run_placement(provider: &Provider) -> lab_core::plan::Placement {
    lab_core::plan::Placement::cluster(&provider.name(), LAB_NAMESPACE)
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

fn settings_for(state: &LabState, namespace: &str, access: NodeAccess) -> KubeSettings {
    KubeSettings {
        name: state.provider.name(),
        namespace: namespace.to_string(),
        demo_app_image: state.demo_app_image.clone(),
        loadgen_image: state.loadgen_image.clone(),
        access,
        app_node_port: Some(APP_NODE_PORT),
    }
}

/// The platform a run uses on the lab `lab up` brought up: the recorded context
/// and images, and NodePorts reached as the provider allows.
pub async fn lab_platform(root: &Path) -> Result<KubePlatform, LabError> {
    let state = LabState::load(root)?.ok_or_else(|| {
        LabError::Prerequisite(
            "no lab is up on a cluster: run `cargo xtask lab up --platform kind` first".into(),
        )
    })?;
    let client = connect(Some(&state.context), CONNECT_TIMEOUT).await?;
    let access = node_access(&state.provider, &client, root).await?;
    Ok(KubePlatform::new(
        client,
        settings_for(&state, LAB_NAMESPACE, access),
    ))
}

async fn node_access(
    provider: &Provider,
    client: &Client,
    root: &Path,
) -> Result<NodeAccess, LabError> {
    match provider {
        Provider::Kind => read_kind_access(root),
        Provider::Minikube => {
            let command = provider.node_ip_command().expect("minikube has a node IP");
            let out = command.capture(root).await?;
            let ip = out.stdout.trim().to_string();
            if !out.success || ip.is_empty() {
                return Err(LabError::Command {
                    command: command.to_string(),
                    message: format!("printed no address: {}", out.stderr.trim()),
                });
            }
            Ok(NodeAccess::Node(ip))
        }
        Provider::Context(_) => Ok(NodeAccess::Node(node_address(client).await?)),
    }
}

/// Make the cluster's Prometheus scrape every `interval`, the run's plan's, so
/// the plan's scrape interval (its cross-check tolerance, its final settle,
/// what the report says) is true. When the running config says otherwise,
/// apply Prometheus's config with that interval and its Deployment (whose
/// config hash changes, so the pod restarts: a ConfigMap reaches a running
/// pod only after the kubelet's sync, up to a minute or more) and wait until
/// it is ready. Returns what changed, for the report.
pub async fn ensure_scrape_interval(
    client: &Client,
    root: &Path,
    interval: Duration,
) -> Result<Option<String>, LabError> {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), MONITORING_NAMESPACE);
    let found = maps
        .get_opt(monitoring::PROMETHEUS_CONFIG_MAP)
        .await
        .map_err(|e| {
            api_error(
                e,
                &format!("reading configmap {}", monitoring::PROMETHEUS_CONFIG_MAP),
            )
        })?;
    let running = found
        .as_ref()
        .and_then(|cm| cm.data.as_ref()?.get(monitoring::PROMETHEUS_CONFIG_KEY))
        .and_then(|text| monitoring::scrape_interval_of(text));
    if running == Some(interval) {
        return Ok(None);
    }
    for manifest in monitoring::prometheus_manifests(root, interval)? {
        apply_manifest(client, &manifest).await?;
    }
    let platform = KubePlatform::new(
        client.clone(),
        KubeSettings {
            name: "monitoring".into(),
            namespace: MONITORING_NAMESPACE.into(),
            demo_app_image: String::new(),
            loadgen_image: String::new(),
            access: NodeAccess::Node(String::new()),
            app_node_port: None,
        },
    );
    platform
        .wait_ready(
            &[monitoring::PROMETHEUS_DEPLOYMENT.to_string()],
            MONITORING_TIMEOUT,
        )
        .await?;
    let was = running.map_or("at an unknown interval".to_string(), |d| {
        format!("every {}", monitoring::prometheus_duration(d))
    });
    Ok(Some(format!(
        "the cluster's Prometheus scraped {was}; it was reconfigured and restarted to scrape every {}, as the plan says (metrics of earlier runs are gone from it)",
        monitoring::prometheus_duration(interval)
    )))
}

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

/// What `lab status` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabStatus {
    /// Where the lab runs (`kind`, `minikube`, `context NAME`).
    pub platform: String,
    /// The kubeconfig context.
    pub context: String,
    /// Each monitoring Deployment and how ready it is (`ready` or what is missing).
    pub monitoring: Vec<(String, String)>,
    /// Grafana's URL.
    pub grafana: Option<String>,
    /// Prometheus's URL.
    pub prometheus: Option<String>,
    /// Where the app's Service is reached (its NodePort, or the lab's app
    /// NodePort before a scenario created it).
    pub app: Option<String>,
    /// Whether the app's Service (my-app in the lab namespace) exists.
    pub app_deployed: bool,
    /// The demo-app image in use.
    pub demo_app_image: String,
}

/// Ask the cluster how the lab is doing (every request bounded).
pub async fn status(state: &LabState, root: &Path) -> Result<LabStatus, LabError> {
    let client = connect(Some(&state.context), CONNECT_TIMEOUT).await?;
    let access = node_access(&state.provider, &client, root).await?;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), MONITORING_NAMESPACE);
    let mut monitoring = Vec::new();
    for name in MONITORING_DEPLOYMENTS {
        let found = tokio::time::timeout(CONNECT_TIMEOUT, deployments.get_opt(name))
            .await
            .map_err(|_| {
                PlatformError::Unavailable(format!("deployment {name} did not answer in time"))
            })?
            .map_err(|e| api_error(e, &format!("reading deployment {name}")))?;
        let state = match found {
            None => "missing".to_string(),
            Some(d) => crate::platform::rollout_progress(&d).unwrap_or_else(|| "ready".into()),
        };
        monitoring.push((name.to_string(), state));
    }
    let services: Api<Service> = Api::namespaced(client.clone(), LAB_NAMESPACE);
    let service = tokio::time::timeout(CONNECT_TIMEOUT, services.get_opt("my-app"))
        .await
        .map_err(|_| PlatformError::Unavailable("service my-app did not answer in time".into()))?
        .map_err(|e| api_error(e, "reading service my-app"))?;
    let app_deployed = service.is_some();
    let node_port = service
        .and_then(|s| s.spec?.ports?.iter().find_map(|p| p.node_port))
        .unwrap_or(APP_NODE_PORT);
    let app = access.url(node_port).ok();
    Ok(LabStatus {
        platform: state.provider.name(),
        context: state.context.clone(),
        monitoring,
        grafana: access.url(GRAFANA_NODE_PORT).ok(),
        prometheus: access.url(PROMETHEUS_NODE_PORT).ok(),
        app,
        app_deployed,
        demo_app_image: state.demo_app_image.clone(),
    })
}

/// Whether a lab state and a requested provider disagree (a lab is up elsewhere).
pub fn conflicting_lab(state: &LabState, provider: &Provider) -> Option<String> {
    (state.provider != *provider).then(|| {
        format!(
            "a lab is up on {} already: run `cargo xtask lab down` first",
            state.provider.name()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(LabState::load(dir.path()).unwrap(), None);
        let state = LabState {
            provider: Provider::Context("dev".into()),
            context: "dev".into(),
            demo_app_image: "canary-lab/demo-app:1".into(),
            loadgen_image: "canary-lab/loadgen:2".into(),
            created: vec![CreatedObject {
                kind: "Namespace".into(),
                name: "canary-lab".into(),
            }],
        };
        state.save(dir.path()).unwrap();
        assert_eq!(LabState::load(dir.path()).unwrap(), Some(state.clone()));
        let text = std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap();
        assert!(text.contains("\"context\": \"dev\""), "{text}");
        assert_eq!(
            conflicting_lab(&state, &Provider::Context("dev".into())),
            None
        );
        assert_eq!(
            conflicting_lab(&state, &Provider::Kind).as_deref(),
            Some("a lab is up on context dev already: run `cargo xtask lab down` first")
        );
        assert_eq!(
            plan_down(&state),
            [
                "# delete Namespace canary-lab through context dev",
                "# remove target/lab/kube-state.json and target/lab/grafana-admin-password"
            ]
        );
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
