//! The replayed cluster: what the shipped scenarios' steps leave behind, the
//! Services' picks, and the most pods a plan runs at once.

mod scenario_support;

use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::replay::{self, PeakPods};
use lab_core::report::Section;
use lab_core::scenario::Scenario;
use std::collections::BTreeMap;

fn scenario(name: &str) -> Scenario {
    scenario_support::shipped_scenario(name)
}

fn plan(name: &str) -> Plan {
    scenario_support::shipped_plan(name, ProfileName::Quick, &Overrides::default())
}

fn pods(pairs: &[(&str, i32)]) -> BTreeMap<String, i32> {
    pairs.iter().map(|(v, n)| (v.to_string(), *n)).collect()
}

#[test]
fn the_canary_service_picks_pods_by_count() {
    let plan = plan("canary");
    // Step 5 scales v1 to 9: before it, 10 v1 pods and 1 v2 pod are selected.
    let before = replay::before_step(&plan, Section::Main, 4);
    assert_eq!(
        before.selected("my-app"),
        pods(&[("v1.0.0", 10), ("v2.0.0", 1)])
    );
    assert_eq!(before.deployment("my-app-v1").map(|d| d.replicas), Some(10));
    let after = replay::before_step(&plan, Section::Main, 5);
    assert_eq!(
        after.selected("my-app"),
        pods(&[("v1.0.0", 9), ("v2.0.0", 1)])
    );
    // The rollback starts from the decision point: v2 is still there.
    let rollback = replay::before_step(&plan, Section::Rollback, 0);
    assert!(rollback.deployment("my-app-v2").is_some());
    assert_eq!(rollback.selected("my-app"), after.selected("my-app"));
}

#[test]
fn a_switch_moves_the_selection_at_once() {
    let plan = plan("blue-green");
    let switch = plan
        .steps
        .iter()
        .position(|s| matches!(s, lab_core::plan::Step::SwitchSelector { .. }))
        .unwrap();
    let before = replay::before_step(&plan, Section::Main, switch);
    let after = replay::before_step(&plan, Section::Main, switch + 1);
    assert_eq!(before.selected("my-app"), pods(&[("v1.0.0", 3)]));
    assert_eq!(after.selected("my-app"), pods(&[("v2.0.0", 3)]));
}

/// The peak of a shipped scenario, as `(pods, step label)`.
fn peak(name: &str) -> (i64, String) {
    let peak: PeakPods = replay::peak_pods(&plan(name)).unwrap();
    let of_scenario = replay::scenario_peak_pods(&scenario(name)).unwrap();
    assert_eq!(peak, of_scenario, "{name}: plan and scenario agree");
    (peak.pods, peak.step_label())
}

#[test]
fn peaks_count_every_deployment_and_a_rollouts_surge() {
    // Canary: v2 scaled to 10 while v1 still has 9.
    assert_eq!(peak("canary"), (19, "step 8".to_owned()));
    // Blue/green: both colours run at once.
    assert_eq!(peak("blue-green").0, 6);
    // Ramped rolls 10 pods with maxSurge 1: 11 at most.
    assert_eq!(peak("ramped").0, 11);
    // Recreate stops the old pods first: never more than 3.
    assert_eq!(peak("recreate").0, 3);
}
