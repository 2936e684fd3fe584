//! From a pod template to what a local process needs: program, args, env, ports,
//! probes. The demo app's images run the demo-app binary; any other image runs
//! the program the user mapped it to ([`ImageMap`]).

use crate::image_map::{ImageMap, image_repository};
use k8s_openapi::api::core::v1::{Container, EnvVar, PodTemplateSpec, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use lab_core::object::{Object, ObjectKind};
use lab_core::platform::PlatformError;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

/// Images the local platform runs with the demo-app binary: the lab's own image
/// and the tutorial's originals, so the tutorial's YAML files run unchanged.
pub const DEMO_APP_IMAGES: &[&str] = &[
    "canary-lab/demo-app",
    "crisis513/strategies-test",
    "containersol/k8s-deployment-strategies",
];

/// The demo app's address flags and the ports it listens on by default.
const ADDRESS_FLAGS: [(&str, u16); 3] = [
    ("--listen-address", 8080),
    ("--probe-address", 8086),
    ("--metrics-address", 9101),
];

/// How a probe reaches the container.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ProbeAction {
    /// `httpGet`: success is a status in 200..400.
    HttpGet { port: u16, path: String },
    /// `tcpSocket`: success is an accepted connection.
    TcpSocket { port: u16 },
}

/// A readiness or liveness probe with Kubernetes' defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProbeSpec {
    pub(crate) action: ProbeAction,
    pub(crate) initial_delay: Duration,
    pub(crate) period: Duration,
    pub(crate) timeout: Duration,
    pub(crate) success_threshold: u32,
    pub(crate) failure_threshold: u32,
}

/// One value of the container's environment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EnvValue {
    Literal(String),
    PodName,
    PodNamespace,
    PodIp,
}

/// The program a pod's container runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Program {
    /// The demo-app binary, its address flags bound to the pod's address.
    DemoApp,
    /// A program the user mapped the image to: the whole command line, before
    /// `$(VAR)` expansion, and the directory it runs in.
    Mapped { argv: Vec<String>, dir: PathBuf },
}

/// Everything needed to start one pod of a template as a local process.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PodRuntime {
    pub(crate) program: Program,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, EnvValue)>,
    /// Named container ports (`http` → 8080).
    pub(crate) ports: BTreeMap<String, u16>,
    pub(crate) readiness: Option<ProbeSpec>,
    pub(crate) liveness: Option<ProbeSpec>,
    pub(crate) grace: Duration,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) annotations: BTreeMap<String, String>,
}

impl PodRuntime {
    /// The command-line arguments for a pod at `address`: the container's args
    /// with the demo app's address flags bound to the pod's own address.
    pub(crate) fn args_for(&self, address: Ipv4Addr) -> Vec<String> {
        let mut args = Vec::with_capacity(self.args.len() + 6);
        let mut seen = [false; 3];
        let mut iter = self.args.iter().peekable();
        while let Some(arg) = iter.next() {
            let flag = ADDRESS_FLAGS
                .iter()
                .position(|(flag, _)| arg == flag || arg.starts_with(&format!("{flag}=")));
            match flag {
                Some(index) => {
                    let (name, default_port) = ADDRESS_FLAGS[index];
                    let value = match arg.split_once('=') {
                        Some((_, value)) => value.to_string(),
                        None => iter.next().cloned().unwrap_or_default(),
                    };
                    let port = port_of(&value).unwrap_or(default_port);
                    seen[index] = true;
                    args.push(format!("{name}={address}:{port}"));
                }
                None => args.push(arg.clone()),
            }
        }
        for (index, (name, port)) in ADDRESS_FLAGS.iter().enumerate() {
            if !seen[index] {
                args.push(format!("{name}={address}:{port}"));
            }
        }
        args
    }

    /// The pods' `version` label (empty when there is none).
    pub(crate) fn version(&self) -> String {
        self.labels
            .get(lab_core::object::VERSION_LABEL)
            .cloned()
            .unwrap_or_default()
    }

    /// The port the demo app serves metrics on, from the scrape annotation.
    pub(crate) fn scrape_port(&self) -> Option<u16> {
        if self
            .annotations
            .get("prometheus.io/scrape")
            .map(String::as_str)
            != Some("true")
        {
            return None;
        }
        self.annotations
            .get("prometheus.io/port")
            .and_then(|port| port.parse().ok())
    }

    /// Resolve a Service `targetPort` (a number or a container port name).
    pub(crate) fn resolve_port(&self, target: &IntOrString) -> Option<u16> {
        match target {
            IntOrString::Int(port) => u16::try_from(*port).ok(),
            IntOrString::String(name) => {
                self.ports.get(name).copied().or_else(|| name.parse().ok())
            }
        }
    }
}

fn port_of(address: &str) -> Option<u16> {
    address
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
}

/// Check before anything changes that every Deployment of `object` can run here.
pub(crate) fn check_runnable(object: &Object, programs: &Programs) -> Result<(), PlatformError> {
    if let Object::Deployment(deployment) = object {
        let name = object.name().to_string();
        let template = deployment
            .spec
            .as_ref()
            .map(|spec| &spec.template)
            .ok_or_else(|| unsupported(&name, "has no spec"))?;
        pod_runtime(&name, template, programs)?;
    }
    Ok(())
}

/// What may run here besides the demo app.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Programs<'a> {
    /// Images mapped to local programs.
    pub(crate) images: &'a ImageMap,
    /// Whether a container's own `command` may name the program.
    pub(crate) allow_pod_commands: bool,
}

fn unsupported(deployment: &str, message: impl Into<String>) -> PlatformError {
    PlatformError::Unsupported {
        kind: ObjectKind::Deployment,
        name: deployment.to_string(),
        message: message.into(),
    }
}

/// Build the runtime description of a Deployment's pods.
pub(crate) fn pod_runtime(
    deployment: &str,
    template: &PodTemplateSpec,
    programs: &Programs,
) -> Result<PodRuntime, PlatformError> {
    let spec = template
        .spec
        .as_ref()
        .ok_or_else(|| unsupported(deployment, "pod template has no spec"))?;
    let [container] = spec.containers.as_slice() else {
        return Err(unsupported(
            deployment,
            format!(
                "the local platform runs pods with exactly one container, this one has {}",
                spec.containers.len()
            ),
        ));
    };
    let program = program(deployment, container, programs)?;
    let ports: BTreeMap<String, u16> = container
        .ports
        .iter()
        .flatten()
        .filter_map(|port| {
            let name = port.name.clone()?;
            Some((name, u16::try_from(port.container_port).ok()?))
        })
        .collect();
    let env = container
        .env
        .iter()
        .flatten()
        .map(|var| env_value(deployment, var))
        .collect::<Result<Vec<_>, _>>()?;
    let probe = |probe: &Option<Probe>, kind: &str| {
        probe
            .as_ref()
            .map(|p| probe_spec(deployment, kind, p, &ports))
            .transpose()
    };
    let metadata = template.metadata.clone().unwrap_or_default();
    Ok(PodRuntime {
        program,
        args: container.args.clone().unwrap_or_default(),
        env,
        readiness: probe(&container.readiness_probe, "readinessProbe")?,
        liveness: probe(&container.liveness_probe, "livenessProbe")?,
        ports,
        grace: Duration::from_secs(
            spec.termination_grace_period_seconds
                .unwrap_or(30)
                .clamp(0, 3600) as u64,
        ),
        labels: metadata.labels.unwrap_or_default(),
        annotations: metadata.annotations.unwrap_or_default(),
    })
}

/// The program of a container: the demo app for its images, the mapped
/// program for a mapped image; a container's `command` replaces the image's
/// entrypoint (and its default args) as on a cluster, when allowed.
fn program(
    deployment: &str,
    container: &Container,
    programs: &Programs,
) -> Result<Program, PlatformError> {
    let image = container.image.as_deref().unwrap_or("");
    let repository = image_repository(image);
    if DEMO_APP_IMAGES.contains(&repository) {
        if let Some(command) = &container.command {
            return Err(unsupported(
                deployment,
                format!(
                    "container command {command:?} is not supported for the demo app (use args)"
                ),
            ));
        }
        return Ok(Program::DemoApp);
    }
    let Some(mapped) = programs.images.find(image) else {
        return Err(unsupported(
            deployment,
            format!(
                "image {image:?} is not mapped to a local program; map it in {} ([[images]] image = \"{repository}\", command = [\"program\", \"arg\"])",
                crate::image_map::MAPPING_FILE
            ),
        ));
    };
    let argv: Vec<String> = match (&container.command, &container.args) {
        (Some(_), _) if !programs.allow_pod_commands => {
            return Err(unsupported(
                deployment,
                "container command names a program from the manifest; pass --allow-scenario-commands to allow it, or leave it out to run the mapped program",
            ));
        }
        (Some(command), args) => command
            .iter()
            .chain(args.iter().flatten())
            .cloned()
            .collect(),
        (None, Some(args)) => mapped.command.iter().chain(args).cloned().collect(),
        (None, None) => mapped.command.iter().chain(&mapped.args).cloned().collect(),
    };
    if argv.first().is_none_or(String::is_empty) {
        return Err(unsupported(deployment, "container command is empty"));
    }
    Ok(Program::Mapped {
        argv,
        dir: mapped.dir.clone(),
    })
}

fn env_value(deployment: &str, var: &EnvVar) -> Result<(String, EnvValue), PlatformError> {
    if let Some(value) = &var.value {
        return Ok((var.name.clone(), EnvValue::Literal(value.clone())));
    }
    let Some(from) = &var.value_from else {
        return Ok((var.name.clone(), EnvValue::Literal(String::new())));
    };
    let field = from.field_ref.as_ref().map(|f| f.field_path.as_str());
    let value = match field {
        Some("metadata.name") => EnvValue::PodName,
        Some("metadata.namespace") => EnvValue::PodNamespace,
        Some("status.podIP") => EnvValue::PodIp,
        _ => {
            return Err(unsupported(
                deployment,
                format!(
                    "env {}: only literal values and fieldRef metadata.name, metadata.namespace, status.podIP are supported locally",
                    var.name
                ),
            ));
        }
    };
    Ok((var.name.clone(), value))
}

fn probe_spec(
    deployment: &str,
    kind: &str,
    probe: &Probe,
    ports: &BTreeMap<String, u16>,
) -> Result<ProbeSpec, PlatformError> {
    let resolve = |port: &IntOrString| match port {
        IntOrString::Int(port) => u16::try_from(*port).ok(),
        IntOrString::String(name) => ports.get(name).copied(),
    };
    let action = if let Some(http) = &probe.http_get {
        let port = resolve(&http.port).ok_or_else(|| {
            unsupported(
                deployment,
                format!("{kind}: port {:?} is not a container port", http.port),
            )
        })?;
        ProbeAction::HttpGet {
            port,
            path: http.path.clone().unwrap_or_else(|| "/".to_string()),
        }
    } else if let Some(tcp) = &probe.tcp_socket {
        let port = resolve(&tcp.port).ok_or_else(|| {
            unsupported(
                deployment,
                format!("{kind}: port {:?} is not a container port", tcp.port),
            )
        })?;
        ProbeAction::TcpSocket { port }
    } else {
        return Err(unsupported(
            deployment,
            format!("{kind}: only httpGet and tcpSocket probes run locally"),
        ));
    };
    let seconds = |value: Option<i32>, default: i32| {
        Duration::from_secs(value.unwrap_or(default).max(0) as u64)
    };
    Ok(ProbeSpec {
        action,
        initial_delay: seconds(probe.initial_delay_seconds, 0),
        period: seconds(probe.period_seconds, 10).max(Duration::from_secs(1)),
        timeout: seconds(probe.timeout_seconds, 1).max(Duration::from_secs(1)),
        success_threshold: probe.success_threshold.unwrap_or(1).max(1) as u32,
        failure_threshold: probe.failure_threshold.unwrap_or(3).max(1) as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime(args: &[&str]) -> PodRuntime {
        PodRuntime {
            program: Program::DemoApp,
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec![],
            ports: BTreeMap::new(),
            readiness: None,
            liveness: None,
            grace: Duration::from_secs(30),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
        }
    }

    #[test]
    fn address_flags_bind_the_pod_address() {
        let address = Ipv4Addr::new(127, 9, 1, 3);
        let check = |args: &[&str], expected: &[&str]| {
            assert_eq!(runtime(args).args_for(address), expected, "{args:?}");
        };
        check(
            &[],
            &[
                "--listen-address=127.9.1.3:8080",
                "--probe-address=127.9.1.3:8086",
                "--metrics-address=127.9.1.3:9101",
            ],
        );
        check(
            &["--listen-address", ":9000", "--error-rate=0.2"],
            &[
                "--listen-address=127.9.1.3:9000",
                "--error-rate=0.2",
                "--probe-address=127.9.1.3:8086",
                "--metrics-address=127.9.1.3:9101",
            ],
        );
        check(
            &["--metrics-address=0.0.0.0:9300"],
            &[
                "--metrics-address=127.9.1.3:9300",
                "--listen-address=127.9.1.3:8080",
                "--probe-address=127.9.1.3:8086",
            ],
        );
    }
}
