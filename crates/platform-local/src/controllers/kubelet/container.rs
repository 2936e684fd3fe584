//! Starting a pod's container: the demo-app binary, or the program its image
//! is mapped to, with the container's command, args and env (`$(VAR)`
//! references expanded, the downward API's pod name, namespace and IP filled
//! in), bound to the pod's address, logging to the run directory.

use crate::expansion::{expand, expand_env, lookup};
use crate::image::{EnvValue, PodRuntime, Program};
use crate::node::Node;
use crate::statefile::MARKER_VAR;
use std::net::Ipv4Addr;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// Start the container of pod `name` at `address`.
pub(crate) fn spawn(
    node: &Node,
    name: &str,
    address: Ipv4Addr,
    runtime: &PodRuntime,
) -> std::io::Result<Child> {
    let logs = node.config.run_dir.join("pods");
    std::fs::create_dir_all(&logs)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join(format!("{name}.log")))?;
    let env = container_env(runtime, name, &node.config.namespace, address);
    let expanded = |args: &[String]| -> Vec<String> {
        args.iter()
            .map(|arg| expand(arg, |key| lookup(&env, key)))
            .collect()
    };
    let mut command = match &runtime.program {
        Program::DemoApp => {
            let mut command = Command::new(&node.config.demo_app);
            command.args(expanded(&runtime.args_for(address)));
            command
        }
        Program::Mapped { argv, dir } => {
            let argv = expanded(argv);
            let mut command = Command::new(&argv[0]);
            command.args(&argv[1..]).current_dir(dir);
            command
        }
    };
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOSTNAME", name)
        .env(MARKER_VAR, &node.marker)
        .envs(env.iter().map(|(key, value)| (key, value)));
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C in the terminal reaches the harness,
        // which then terminates pods in order.
        .process_group(0)
        .kill_on_drop(true);
    command.spawn()
}

/// The container's env with the downward API filled in and references expanded.
fn container_env(
    runtime: &PodRuntime,
    name: &str,
    namespace: &str,
    address: Ipv4Addr,
) -> Vec<(String, String)> {
    let raw: Vec<(String, String)> = runtime
        .env
        .iter()
        .map(|(key, value)| {
            let value = match value {
                EnvValue::Literal(text) => text.clone(),
                EnvValue::PodName => name.to_string(),
                EnvValue::PodNamespace => namespace.to_string(),
                EnvValue::PodIp => address.to_string(),
            };
            (key.clone(), value)
        })
        .collect();
    // Only literal values are expanded; the downward API's are taken as given
    // (they cannot hold a reference anyway).
    expand_env(&raw)
}
