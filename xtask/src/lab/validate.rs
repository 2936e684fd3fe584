//! `cargo xtask lab validate`.

use super::images::{self, ImageArgs};
use super::scenario_args::{find_scenario, problems_of, read_scenario, shipped_scenarios};
use crate::exit::{Problems, Usage};
use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::replay::scenario_peak_pods;
use lab_core::scenario::DEFINITION_FILE;
use lab_session::PlatformChoice;
use std::process::ExitCode;

/// Options of `lab validate`.
#[derive(clap::Args)]
pub struct Args {
    /// Scenario folders or shipped scenario names; every folder under lab/scenarios
    /// when none is given.
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
    #[command(flatten)]
    images: ImageArgs,
}

/// Run `lab validate`: print `ok <path>` for each valid folder, and every problem
/// of the others on stderr, one per line (exit status 2). A valid folder that
/// runs more pods at once than the local platform does gets a warning.
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
    let mut problems = Vec::new();
    for dir in &dirs {
        let source = match read_scenario(dir) {
            Ok(source) => source,
            Err(error) => match error.downcast::<Problems>() {
                Ok(Problems(lines)) => {
                    problems.extend(lines);
                    continue;
                }
                Err(error) => return Err(error),
            },
        };
        match lab_core::scenario::parse(&source) {
            Ok(scenario) => {
                // Without a platform, a plan too big for the local one is a warning.
                let definition = format!("{}/{DEFINITION_FILE}", dir.display);
                if let Some(peak) = scenario_peak_pods(&scenario)
                    && let Err(problem) = PlatformChoice::Local.check_pods(&peak, &definition)
                {
                    eprintln!("warning: {problem}");
                }
                // The programs the local platform would run are checked as
                // `lab run` checks them, so validate refuses what run refuses.
                let plan = Plan::build(&scenario, ProfileName::Quick, &Overrides::default())
                    .map_err(|error| Usage(format!("{definition}: {error}")))?;
                if let Err(error) = images::programs(&args.images, &plan) {
                    match error.downcast::<Problems>() {
                        Ok(Problems(lines)) => {
                            problems.extend(lines);
                            continue;
                        }
                        Err(error) => return Err(error),
                    }
                }
                println!("ok {}", dir.display);
            }
            Err(found) => problems.extend(problems_of(&found).0),
        }
    }
    if !problems.is_empty() {
        return Err(Problems(problems).into());
    }
    Ok(ExitCode::SUCCESS)
}
