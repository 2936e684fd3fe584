//! Where the cluster comes from: kind (default), minikube, or an existing
//! kubeconfig context; what each needs installed, and the commands that create,
//! load images into and delete its cluster.

use crate::command::ExternalCommand;
use crate::error::LabError;
use crate::images::ImageSpec;
use crate::platform::NodeAccess;
use crate::yaml;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The name of the lab's cluster (kind) or profile (minikube).
pub const CLUSTER_NAME: &str = "canary-lab";

/// The kind release the lab is tested with; its node image is pinned in
/// `lab/kind.yaml` by the digest the release notes give.
pub const KIND_VERSION: &str = "v0.33.0";

/// The kind config, relative to the repository root.
pub const KIND_CONFIG: &str = "lab/kind.yaml";

/// The Kubernetes version minikube runs (the same minor as the kind node image
/// and the API types the lab is built against).
pub const MINIKUBE_KUBERNETES_VERSION: &str = "v1.34.11";

/// Where image archives go when `kind load docker-image` fails.
pub const IMAGE_ARCHIVE_DIR: &str = "target/lab/images";

const LONG: Duration = Duration::from_secs(15 * 60);

/// A place to run the lab's cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// A kind cluster named `canary-lab`, created from `lab/kind.yaml`.
    Kind,
    /// A minikube profile named `canary-lab`.
    Minikube,
    /// An existing cluster, by kubeconfig context name; nothing is provisioned.
    Context(String),
}

/// A tool the lab needs, how to check it, and what to tell a user who lacks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The program.
    pub program: &'static str,
    /// A command that succeeds quickly when the tool works.
    pub probe: ExternalCommand,
    /// What to do when it is not installed.
    pub install: String,
    /// What to check when it is installed but the probe fails.
    pub check: String,
}

impl Provider {
    /// The name users see (`kind`, `minikube`, `context NAME`).
    pub fn name(&self) -> String {
        match self {
            Provider::Kind => "kind".into(),
            Provider::Minikube => "minikube".into(),
            Provider::Context(name) => format!("context {name}"),
        }
    }

    /// The kubeconfig context of the lab's cluster.
    pub fn kube_context(&self) -> String {
        match self {
            Provider::Kind => format!("kind-{CLUSTER_NAME}"),
            Provider::Minikube => CLUSTER_NAME.into(),
            Provider::Context(name) => name.clone(),
        }
    }

    /// Whether the lab created the cluster (and so deletes it on `lab down`).
    pub fn owns_cluster(&self) -> bool {
        !matches!(self, Provider::Context(_))
    }

    /// The tools `lab up` needs, in the order they are checked.
    pub fn requirements(&self) -> Vec<Requirement> {
        let mut needs = vec![Requirement {
            program: "docker",
            probe: ExternalCommand::new("docker", &["version", "--format", "{{.Server.Version}}"]),
            install: "docker is not installed: install Docker Engine or Docker Desktop (https://docs.docker.com/engine/install/); it builds the lab's images".into(),
            check: "docker is installed but its engine does not answer: start Docker (or check DOCKER_HOST and that your user may use the socket)".into(),
        }];
        match self {
            Provider::Kind => needs.push(Requirement {
                program: "kind",
                probe: ExternalCommand::new("kind", &["version"]),
                install: format!(
                    "kind is not installed: install kind {KIND_VERSION} (`go install sigs.k8s.io/kind@{KIND_VERSION}` or the release binary, https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
                ),
                check: "kind is installed but `kind version` fails: reinstall kind".into(),
            }),
            Provider::Minikube => needs.push(Requirement {
                program: "minikube",
                probe: ExternalCommand::new("minikube", &["version", "--short"]),
                install: "minikube is not installed: install it (https://minikube.sigs.k8s.io/docs/start/)".into(),
                check: "minikube is installed but `minikube version` fails: reinstall minikube".into(),
            }),
            Provider::Context(_) => {}
        }
        needs
    }

    /// The command that creates the cluster, and the probe that says it exists
    /// already (`None` for an existing context).
    pub fn create_cluster(&self) -> Option<(ExternalCommand, Probe)> {
        match self {
            Provider::Kind => Some((
                ExternalCommand::new(
                    "kind",
                    &[
                        "create",
                        "cluster",
                        "--name",
                        CLUSTER_NAME,
                        "--config",
                        KIND_CONFIG,
                        "--wait",
                        "180s",
                    ],
                )
                .timeout(LONG),
                Probe::PrintsLine(
                    ExternalCommand::new("kind", &["get", "clusters"]),
                    CLUSTER_NAME.into(),
                ),
            )),
            Provider::Minikube => Some((
                ExternalCommand::new(
                    "minikube",
                    &[
                        "start",
                        "--profile",
                        CLUSTER_NAME,
                        // The tutorial's driver; also what the lab's image
                        // loading and NodePort access assume.
                        "--driver",
                        "docker",
                        "--kubernetes-version",
                        MINIKUBE_KUBERNETES_VERSION,
                        "--wait",
                        "all",
                    ],
                )
                .timeout(LONG),
                Probe::Succeeds(ExternalCommand::new(
                    "minikube",
                    &["status", "--profile", CLUSTER_NAME],
                )),
            )),
            Provider::Context(_) => None,
        }
    }

    /// The command that deletes the cluster (`None` for an existing context).
    pub fn delete_cluster(&self) -> Option<ExternalCommand> {
        match self {
            Provider::Kind => Some(
                ExternalCommand::new("kind", &["delete", "cluster", "--name", CLUSTER_NAME])
                    .timeout(LONG),
            ),
            Provider::Minikube => Some(
                ExternalCommand::new("minikube", &["delete", "--profile", CLUSTER_NAME])
                    .timeout(LONG),
            ),
            Provider::Context(_) => None,
        }
    }

    /// How to load a built image into the cluster, under its content tag and
    /// the name the scenarios' manifests give it: each command with the
    /// commands to try when it fails. An existing context gets images through
    /// kind or minikube when its name says it is one of theirs; otherwise the
    /// cluster must see the local Docker images (Docker Desktop) and nothing
    /// is run (`None`).
    pub fn load_image(
        &self,
        image: &ImageSpec,
        tag: &str,
    ) -> Option<Vec<(ExternalCommand, Vec<ExternalCommand>)>> {
        let mut references = vec![image.reference(tag)];
        references.extend(image.manifest_name.map(str::to_string));
        let names: Vec<&str> = references.iter().map(String::as_str).collect();
        let kind_load = |cluster: &str| {
            let archive = format!("{IMAGE_ARCHIVE_DIR}/{}-{tag}.tar", image.crate_name);
            let mut load = vec!["load", "docker-image"];
            load.extend(&names);
            load.extend(["--name", cluster]);
            // Under Docker's containerd image store, `kind load docker-image`
            // saves every platform of the image's index while only this
            // machine's is present, and the node's import fails on the first
            // missing blob (kind#3795). An archive of this platform alone loads.
            let platform = format!("linux/{}", docker_arch());
            let mut save = vec!["image", "save", "--platform", &platform, "-o", &archive];
            save.extend(&names);
            vec![(
                ExternalCommand::new("kind", &load).timeout(LONG),
                vec![
                    ExternalCommand::new("docker", &save).timeout(LONG),
                    ExternalCommand::new(
                        "kind",
                        &["load", "image-archive", &archive, "--name", cluster],
                    )
                    .timeout(LONG),
                ],
            )]
        };
        let minikube_load = |profile: &str| {
            names
                .iter()
                .map(|name| {
                    (
                        ExternalCommand::new(
                            "minikube",
                            &["--profile", profile, "image", "load", name],
                        )
                        .timeout(LONG),
                        vec![],
                    )
                })
                .collect()
        };
        match self {
            Provider::Kind => Some(kind_load(CLUSTER_NAME)),
            Provider::Minikube => Some(minikube_load(CLUSTER_NAME)),
            Provider::Context(name) => match name.strip_prefix("kind-") {
                Some(cluster) => Some(kind_load(cluster)),
                None if name == "minikube" => Some(minikube_load("minikube")),
                None => None,
            },
        }
    }

    /// The command that prints the address NodePorts are reached on, when the
    /// provider has one (minikube's node IP).
    pub fn node_ip_command(&self) -> Option<ExternalCommand> {
        match self {
            Provider::Minikube => Some(ExternalCommand::new(
                "minikube",
                &["ip", "--profile", CLUSTER_NAME],
            )),
            _ => None,
        }
    }
}

/// This machine's architecture as Docker names platforms (`amd64`, `arm64`):
/// the images are built by the local engine, for it.
pub fn docker_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        other => other,
    }
}

/// A check whether a step is done already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Done when the command succeeds.
    Succeeds(ExternalCommand),
    /// Done when the command prints this line.
    PrintsLine(ExternalCommand, String),
}

impl Probe {
    /// The command the probe runs.
    pub fn command(&self) -> &ExternalCommand {
        match self {
            Probe::Succeeds(c) | Probe::PrintsLine(c, _) => c,
        }
    }

    /// The probe in words, for `--dry-run`.
    pub fn describe(&self) -> String {
        match self {
            Probe::Succeeds(c) => format!("`{c}` succeeds"),
            Probe::PrintsLine(c, line) => format!("`{c}` lists {line}"),
        }
    }

    /// Run the probe.
    pub async fn holds(&self, cwd: &Path) -> Result<bool, LabError> {
        let out = self.command().capture(cwd).await?;
        Ok(match self {
            Probe::Succeeds(_) => out.success,
            Probe::PrintsLine(_, line) => {
                out.success && out.stdout.lines().any(|l| l.trim() == line)
            }
        })
    }
}

/// The NodePorts `lab/kind.yaml` maps to the host: nodePort → (address, host port).
pub fn kind_port_mappings(path: &Path, text: &str) -> Result<NodeAccess, LabError> {
    let bad = |message: String| LabError::BadFile {
        path: path.to_path_buf(),
        message,
    };
    let docs = yaml::parse_documents(text).map_err(|e| bad(e.message))?;
    let config = docs
        .first()
        .ok_or_else(|| bad("empty kind config".into()))?;
    let mut ports = BTreeMap::new();
    let mut host = None;
    for node in config["nodes"].as_array().into_iter().flatten() {
        for mapping in node["extraPortMappings"].as_array().into_iter().flatten() {
            let container = mapping["containerPort"].as_i64();
            let host_port = mapping["hostPort"].as_u64();
            let (Some(container), Some(host_port)) = (container, host_port) else {
                return Err(bad(
                    "extraPortMappings entry without containerPort and hostPort".into(),
                ));
            };
            let address = mapping["listenAddress"].as_str().unwrap_or("127.0.0.1");
            let address = if address == "0.0.0.0" {
                "127.0.0.1"
            } else {
                address
            };
            if host.get_or_insert_with(|| address.to_string()) != address {
                return Err(bad("extraPortMappings listen on different addresses".into()));
            }
            ports.insert(container as i32, host_port as u16);
        }
    }
    Ok(NodeAccess::HostPorts {
        host: host.unwrap_or_else(|| "127.0.0.1".into()),
        ports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::{DEMO_APP, LOADGEN};

    #[test]
    fn contexts() {
        assert_eq!(Provider::Kind.kube_context(), "kind-canary-lab");
        assert_eq!(Provider::Minikube.kube_context(), "canary-lab");
        assert_eq!(
            Provider::Context("prod-eu".into()).kube_context(),
            "prod-eu"
        );
        assert_eq!(
            Provider::Context("prod-eu".into()).name(),
            "context prod-eu"
        );
    }

    fn loads(provider: Provider, image: &ImageSpec) -> Vec<String> {
        match provider.load_image(image, "abc") {
            None => vec![],
            Some(commands) => commands
                .into_iter()
                .flat_map(|(first, fallback)| std::iter::once(first).chain(fallback))
                .map(|c| c.to_string())
                .collect(),
        }
    }

    #[test]
    fn images_are_loaded_the_providers_way() {
        let arch = docker_arch();
        assert_eq!(
            loads(Provider::Kind, &DEMO_APP),
            [
                "kind load docker-image canary-lab/demo-app:abc canary-lab/demo-app:latest --name canary-lab".to_string(),
                format!("docker image save --platform linux/{arch} -o target/lab/images/demo-app-abc.tar canary-lab/demo-app:abc canary-lab/demo-app:latest"),
                "kind load image-archive target/lab/images/demo-app-abc.tar --name canary-lab".to_string(),
            ]
        );
        assert_eq!(
            loads(Provider::Kind, &LOADGEN)[0],
            "kind load docker-image canary-lab/loadgen:abc --name canary-lab"
        );
        assert_eq!(
            loads(Provider::Minikube, &DEMO_APP),
            [
                "minikube --profile canary-lab image load canary-lab/demo-app:abc",
                "minikube --profile canary-lab image load canary-lab/demo-app:latest"
            ]
        );
        assert_eq!(
            loads(Provider::Context("kind-dev".into()), &DEMO_APP)[0],
            "kind load docker-image canary-lab/demo-app:abc canary-lab/demo-app:latest --name dev"
        );
        assert_eq!(
            loads(Provider::Context("minikube".into()), &LOADGEN),
            ["minikube --profile minikube image load canary-lab/loadgen:abc"]
        );
        assert!(loads(Provider::Context("docker-desktop".into()), &DEMO_APP).is_empty());
    }

    #[test]
    fn the_repositorys_kind_config_maps_the_lab_ports() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(KIND_CONFIG);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            kind_port_mappings(&path, &text).unwrap(),
            NodeAccess::kind()
        );
        let config = &yaml::parse_documents(&text).unwrap()[0];
        assert_eq!(config["name"], CLUSTER_NAME);
        let image = config["nodes"][0]["image"].as_str().unwrap();
        assert!(image.starts_with("kindest/node:v1.34."), "{image}");
        assert!(
            image.contains("@sha256:") && image.len() == "kindest/node:v1.34.11@sha256:".len() + 64,
            "{image}"
        );
    }

    #[test]
    fn bad_kind_configs_are_reported() {
        let path = Path::new("lab/kind.yaml");
        let error = kind_port_mappings(
            path,
            "nodes:\n  - extraPortMappings:\n      - hostPort: 1\n",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "lab/kind.yaml: extraPortMappings entry without containerPort and hostPort"
        );
    }
}
