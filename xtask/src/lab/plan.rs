//! `cargo xtask lab plan`.

use super::images::{self, ImageArgs};
use super::platform_args::{PlatformArgs, PlatformName};
use super::scenario_args::{ScenarioArgs, load_plan_on};
use lab_session::PlatformChoice;
use std::process::ExitCode;

/// Options of `lab plan`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The platform the plan is for: a cluster's waits last longer, its phases
    /// open after the endpoint settle and its kubectl lines name the lab's
    /// namespace.
    #[arg(long, value_enum, default_value = "local")]
    platform: PlatformName,
    /// Plan for an existing cluster through this kubeconfig context.
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    #[command(flatten)]
    images: ImageArgs,
}

/// Run `lab plan`: print the scenario's steps with their kubectl equivalents.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let platform = PlatformArgs {
        platform: args.platform,
        context: args.context,
    };
    let (chosen, reason) = platform.choose()?;
    if let Some(reason) = reason {
        eprintln!("{reason}");
    }
    let plan = load_plan_on(&args.scenario, chosen.placement())?;
    // A plan that `lab run` would refuse is refused here too.
    if chosen == PlatformChoice::Local {
        images::programs(&args.images, &plan)?;
    }
    print!("{plan}");
    if chosen == PlatformChoice::Local
        && let Some(note) = images::unmodelled_note(&plan, lab_report::Language::English)
    {
        println!("\n{note}");
    }
    Ok(ExitCode::SUCCESS)
}
