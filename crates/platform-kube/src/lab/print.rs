//! `lab up --dry-run`: the plan written for people, and the lines `lab up` ends with.

use super::up::{Step, UpPlan};
use crate::lab::connect::{read_kind_access, run_placement};
use crate::lab::gateway::{GATEWAY_CLASS, GATEWAY_NODE_PORT};
use crate::lab::state::{PASSWORD_FILE, STATE_FILE};
use crate::monitoring::{self, GRAFANA_USER};
use crate::platform::{APP_NODE_PORT, GRAFANA_NODE_PORT, LAB_NAMESPACE, PROMETHEUS_NODE_PORT};
use crate::provider::Provider;
use std::io::Write;
use std::path::Path;

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
            Step::ApplyInstall(file) => {
                writeln!(
                    out,
                    "\n# server-side apply (field manager canary-lab) through context {context}: {} ({}), {} objects as written",
                    file.pin,
                    file.path,
                    file.objects.len()
                )?;
                for object in &file.objects {
                    writeln!(out, "{}", object.describe())?;
                }
            }
            Step::WaitEstablished { crds, timeout } => writeln!(
                out,
                "\n# wait up to {}s until the {} CustomResourceDefinitions above are Established",
                timeout.as_secs(),
                crds.len()
            )?,
            Step::WaitAccepted {
                gateway_class,
                timeout,
            } => writeln!(
                out,
                "\n# wait up to {}s until GatewayClass {gateway_class} is Accepted",
                timeout.as_secs()
            )?,
            Step::Record => writeln!(out, "\n# record the lab in {STATE_FILE}")?,
        }
    }
    writeln!(out, "\n# then:")?;
    for line in url_lines(&plan.provider, root) {
        writeln!(out, "{line}")?;
    }
    if plan
        .steps
        .iter()
        .any(|s| matches!(s, Step::WaitAccepted { .. }))
    {
        writeln!(out, "{}", gateway_url_line(&plan.provider, root))?;
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

/// Where a Gateway's listener is reached once `lab up --gateway` ran.
pub fn gateway_url_line(provider: &Provider, root: &Path) -> String {
    gateway_line(&url_hint(provider, GATEWAY_NODE_PORT, root))
}

/// The line saying a Gateway's listener is reached at `url` (`lab up
/// --gateway`'s last line, and `lab status` of a lab with the gateway).
pub fn gateway_line(url: &str) -> String {
    format!(
        "gateway     {url}  (the port-80 listener of a Gateway of GatewayClass {GATEWAY_CLASS}, once a scenario applies one)"
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::gateway::{GATEWAY_API_FILE, NGF_CRDS_FILE, NGF_DEPLOY_FILE};
    use crate::lab::up::{UpOptions, plan_up_with};
    use std::path::PathBuf;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn gateway_plan(gateway: bool) -> UpPlan {
        let options = UpOptions {
            gateway,
            ..UpOptions::default()
        };
        plan_up_with(&root(), &Provider::Kind, "hunter2", true, &options).unwrap()
    }

    /// How many objects a pinned file holds, counted from its top-level
    /// `kind:` lines (independently of the parser under test).
    fn count_objects(path: &str) -> usize {
        std::fs::read_to_string(root().join(path))
            .unwrap()
            .lines()
            .filter(|line| line.starts_with("kind: "))
            .count()
    }

    #[test]
    fn the_dry_run_lists_every_gateway_object_under_its_pin() {
        let mut out = Vec::new();
        print_plan(&gateway_plan(true), &root(), &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        for (path, pin) in [
            (GATEWAY_API_FILE, "Gateway API v1.5.1"),
            (NGF_CRDS_FILE, "NGINX Gateway Fabric v2.6.7"),
            (NGF_DEPLOY_FILE, "NGINX Gateway Fabric v2.6.7"),
        ] {
            let header = format!(
                "through context kind-canary-lab: {pin} ({path}), {} objects as written\n",
                count_objects(path)
            );
            assert!(out.contains(&header), "no `{header}` in\n{out}");
            // Every object line sits under its file's header, up to the next step.
            let listed = out
                .split(&header)
                .nth(1)
                .unwrap()
                .split("\n\n")
                .next()
                .unwrap();
            assert_eq!(listed.lines().count(), count_objects(path), "{listed}");
        }
        for line in [
            "\nCustomResourceDefinition httproutes.gateway.networking.k8s.io\n",
            "\nCustomResourceDefinition nginxproxies.gateway.nginx.org\n",
            "\nValidatingAdmissionPolicy safe-upgrades.gateway.networking.k8s.io\n",
            "\nNamespace nginx-gateway\n",
            "\nDeployment nginx-gateway/nginx-gateway\n",
            "\nJob nginx-gateway/nginx-gateway-cert-generator\n",
            "\nGatewayClass nginx\n",
            "\nNginxProxy nginx-gateway/nginx-gateway-proxy-config\n",
            "\n# wait up to 60s until the 19 CustomResourceDefinitions above are Established\n",
            "\n# wait up to 300s until deployments nginx-gateway in nginx-gateway are ready\n",
            "\n# wait up to 120s until GatewayClass nginx is Accepted\n",
        ] {
            assert!(out.contains(line), "no `{}` in\n{out}", line.trim());
        }
        let mut plain = Vec::new();
        print_plan(&gateway_plan(false), &root(), &mut plain).unwrap();
        let plain = String::from_utf8(plain).unwrap();
        assert!(!plain.contains("lab/gateway/"), "{plain}");
        assert!(!plain.contains("GatewayClass"), "{plain}");
    }
}
