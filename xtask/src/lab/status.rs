//! `cargo xtask lab status`.

use super::{kube, local};
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
    let status = local::status()?;
    let cluster = platform_kube::lab::LabState::load(&crate::shell::repo_root())?.is_some();
    if args.json {
        let mut value = serde_json::json!({ "local": status });
        value["cluster"] = serde_json::json!(cluster);
        if !cluster {
            println!("{}", serde_json::to_string_pretty(&value)?);
            return Ok(ExitCode::SUCCESS);
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return kube::status(true);
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
        return kube::status(false);
    }
    Ok(ExitCode::SUCCESS)
}
