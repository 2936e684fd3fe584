//! `cargo xtask lab status`.

use super::runtime::runtime;
use super::{cluster, local};
use crate::exit::from_session;
use std::process::ExitCode;

/// Options of `lab status`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON for machines instead of text.
    #[arg(long)]
    json: bool,
}

/// Show what runs locally and on a cluster.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let home = local::home();
    let status = lab_session::local_status(&home).map_err(from_session)?;
    let cluster = platform_kube::lab::LabState::load(home.repo_root())?.is_some();
    if args.json {
        let mut value = serde_json::json!({ "local": status });
        value["cluster"] = serde_json::json!(cluster);
        println!("{}", serde_json::to_string_pretty(&value)?);
        if !cluster {
            return Ok(ExitCode::SUCCESS);
        }
        return cluster_status(&home, true);
    }
    match (&status.lab_prometheus, &status.run) {
        (None, None) => println!(
            "local: nothing runs (start with `cargo xtask lab up --platform local` or `lab run`)"
        ),
        _ => {
            if let Some(url) = &status.lab_prometheus {
                println!("local: lab Prometheus {url}");
            }
            if let Some(run) = &status.run {
                println!(
                    "local: `lab run` in progress (pid {}), run directory {}",
                    run.pid,
                    run.run_dir.display()
                );
                for (name, url) in &run.services {
                    println!("  service {name:<10} {url}");
                }
                let ready: Vec<String> =
                    run.ready.iter().map(|(v, n)| format!("{v}: {n}")).collect();
                println!(
                    "  pods {} ({} ready: {})",
                    run.pods,
                    run.ready.values().sum::<u32>(),
                    ready.join(", ")
                );
                if let Some(prometheus) = &run.prometheus {
                    println!("  prometheus {prometheus}");
                }
                println!("  grafana    not on the local platform");
            }
        }
    }
    if cluster {
        return cluster_status(&home, false);
    }
    Ok(ExitCode::SUCCESS)
}

/// `lab status` of a lab on a cluster: where it runs, whether Prometheus and
/// Grafana are ready, and the URLs. Exit status 1 when the cluster does not answer.
fn cluster_status(home: &lab_session::LabHome, json: bool) -> anyhow::Result<ExitCode> {
    let Some(status) = runtime()?
        .block_on(lab_session::cluster_status(home))
        .map_err(from_session)?
    else {
        if json {
            println!("{}", serde_json::json!({ "up": false }));
        } else {
            println!("no lab is up on a cluster");
        }
        return Ok(ExitCode::SUCCESS);
    };
    cluster::print_status(&status, json, &mut std::io::stdout().lock())?;
    let ready = status.monitoring.iter().all(|(_, p)| p == "ready");
    Ok(if ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
