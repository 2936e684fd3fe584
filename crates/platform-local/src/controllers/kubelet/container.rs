//! Starting a pod's container: the demo-app binary with the container's args
//! and env, bound to the pod's address, logging to the run directory.

use crate::image::{EnvValue, PodRuntime};
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
    let mut command = Command::new(&node.config.demo_app);
    command
        .args(runtime.args_for(address))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOSTNAME", name)
        .env(MARKER_VAR, &node.marker);
    for (key, value) in &runtime.env {
        let value = match value {
            EnvValue::Literal(text) => text.clone(),
            EnvValue::PodName => name.to_string(),
            EnvValue::PodNamespace => node.config.namespace.clone(),
            EnvValue::PodIp => address.to_string(),
        };
        command.env(key, value);
    }
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
