//! How the cluster lab is shown: where Grafana, Prometheus and the app are
//! reached, and how its monitoring is doing.

use platform_kube::lab::{LabStatus, PASSWORD_FILE};
use std::io::Write;

/// Grafana's, Prometheus's and the app's URLs.
pub fn print_urls(status: &LabStatus, out: &mut dyn Write) -> std::io::Result<()> {
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

/// `lab status` of the lab on a cluster, as text or JSON.
pub fn print_status(status: &LabStatus, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    if json {
        let mut value = serde_json::to_value(status)?;
        value["up"] = serde_json::json!(true);
        value["password_file"] = serde_json::json!(PASSWORD_FILE);
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(
            out,
            "lab on {} (context {})",
            status.platform, status.context
        )?;
        for (name, progress) in &status.monitoring {
            writeln!(out, "{name:<11} {progress}")?;
        }
        print_urls(status, out)?;
        writeln!(out, "demo-app    {}", status.demo_app_image)?;
    }
    Ok(())
}
