//! `cargo xtask lab validate`.

use super::scenario_args::{find_scenario, read_scenario, shipped_scenarios};
use crate::exit::Usage;
use std::process::ExitCode;

/// Options of `lab validate`.
#[derive(clap::Args)]
pub struct Args {
    /// Scenario folders or shipped scenario names; every folder under lab/scenarios
    /// when none is given.
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
}

/// Run `lab validate`: print `ok <path>` for each valid folder and every problem of
/// the others, one per line.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dirs = if args.paths.is_empty() {
        shipped_scenarios()?
    } else {
        let mut dirs = Vec::new();
        for path in &args.paths {
            // `lab validate lab/scenarios/*` also matches the README next to the folders.
            if std::path::Path::new(path).is_file() {
                eprintln!("skip {path}: not a folder");
                continue;
            }
            dirs.push(find_scenario(path)?);
        }
        dirs
    };
    if dirs.is_empty() {
        return Err(Usage("no scenario folders to validate".to_owned()).into());
    }
    let mut failed = 0;
    for dir in &dirs {
        let source = read_scenario(dir)?;
        match lab_core::scenario::parse(&source) {
            Ok(_) => println!("ok {}", dir.display),
            Err(problems) => {
                failed += 1;
                for problem in problems.errors() {
                    println!("{problem}");
                }
            }
        }
    }
    if failed > 0 {
        let message = format!("{failed} of {} scenario folders have problems", dirs.len());
        return Err(Usage(message).into());
    }
    Ok(ExitCode::SUCCESS)
}
