//! How the cluster lab is shown: where Grafana, Prometheus, the app and (with
//! `lab up --gateway`) a Gateway are reached, and how its monitoring is doing.

use platform_kube::lab::{LabStatus, PASSWORD_FILE};
use std::io::Write;

/// Grafana's, Prometheus's and the app's URLs, and a Gateway's when the lab
/// has the gateway.
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
    if status.gateway_installed {
        writeln!(
            out,
            "{}",
            platform_kube::lab::gateway_line(&url(&status.gateway))
        )?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(gateway_installed: bool, gateway: Option<&str>) -> LabStatus {
        LabStatus {
            platform: "kind".into(),
            context: "kind-canary-lab".into(),
            monitoring: vec![("prometheus".into(), "ready".into())],
            grafana: Some("http://127.0.0.1:30030".into()),
            prometheus: Some("http://127.0.0.1:30090".into()),
            app: Some("http://127.0.0.1:30080".into()),
            app_deployed: false,
            gateway_installed,
            gateway: gateway.map(str::to_owned),
            demo_app_image: "canary-lab/demo-app:1".into(),
        }
    }

    fn text(status: &LabStatus) -> String {
        let mut out = Vec::new();
        print_status(status, false, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn status_says_where_the_gateway_is_only_when_the_lab_has_it() {
        let with = text(&status(true, Some("http://127.0.0.1:30081")));
        assert!(
            with.contains(
                "\ngateway     http://127.0.0.1:30081  (the port-80 listener of a Gateway of GatewayClass nginx, once a scenario applies one)\n"
            ),
            "{with}"
        );
        let unreachable = text(&status(true, None));
        assert!(
            unreachable.contains("\ngateway     (not reachable from this machine)  ("),
            "{unreachable}"
        );
        let without = text(&status(false, None));
        assert!(!without.contains("gateway"), "{without}");
        let mut json = Vec::new();
        print_status(
            &status(true, Some("http://127.0.0.1:30081")),
            true,
            &mut json,
        )
        .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["gateway"], "http://127.0.0.1:30081");
        assert_eq!(value["gateway_installed"], true);
    }
}
