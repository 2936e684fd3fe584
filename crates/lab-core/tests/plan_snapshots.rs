//! The plan of every shipped scenario, as `lab plan` prints it and as JSON.

mod scenario_support;

use lab_core::plan::{OnTimeout, Overrides, Plan, PlanError, ProfileName, Step};
use lab_core::scenario::Scenario;
use std::time::Duration;

fn scenario(name: &str) -> Scenario {
    scenario_support::shipped_scenario(name)
}

fn plan(name: &str, profile: ProfileName, overrides: &Overrides) -> Plan {
    scenario_support::shipped_plan(name, profile, overrides)
}

#[test]
fn every_shipped_plan_reads_as_expected() {
    for dir in scenario_support::shipped() {
        let name = scenario_support::name(&dir);
        let text = plan(&name, ProfileName::Quick, &Overrides::default()).to_string();
        insta::assert_snapshot!(format!("{name}_quick"), text);
    }
}

#[test]
fn the_canary_at_the_tutorials_pace() {
    let text = plan("canary", ProfileName::Seed, &Overrides::default()).to_string();
    insta::assert_snapshot!("canary_seed", text);
}

#[test]
fn the_canary_plan_as_json() {
    let plan = plan("canary", ProfileName::Quick, &Overrides::default());
    insta::assert_json_snapshot!("canary_quick_json", plan);
}

#[test]
fn a_plan_survives_a_json_round_trip() {
    for dir in scenario_support::shipped() {
        let plan = plan(
            &scenario_support::name(&dir),
            ProfileName::Seed,
            &Overrides::default(),
        );
        let json = serde_json::to_string(&plan).unwrap();
        let back: Plan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, plan);
    }
}

/// The timeouts and what they mean, of every wait step in order (`R` for rollback).
fn waits(plan: &Plan) -> Vec<String> {
    let describe = |prefix: &str, step: &Step| match step {
        Step::WaitReady {
            deployments,
            timeout,
            on_timeout,
        } => Some(format!(
            "{prefix}{} {}s {on_timeout:?}",
            deployments.join("+"),
            timeout.as_secs()
        )),
        _ => None,
    };
    let steps = plan.steps.iter().filter_map(|step| describe("", step));
    let rollback = plan.rollback.iter().filter_map(|step| describe("R ", step));
    steps.chain(rollback).collect()
}

#[test]
fn only_waits_between_the_candidates_change_and_the_decision_roll_back() {
    let check = |name: &str, expected: &[&str]| {
        assert_eq!(
            waits(&plan(name, ProfileName::Quick, &Overrides::default())),
            expected,
            "{name}"
        );
    };
    check(
        "canary",
        &[
            "my-app-v1 20s Fail",
            "my-app-v1+my-app-v2 20s RollBack",
            "my-app-v2 20s Fail",
            "R my-app-v1 20s Fail",
        ],
    );
    check(
        "unready-canary",
        &[
            "my-app-v1 20s Fail",
            "my-app-v1+my-app-v2 20s RollBack",
            "my-app-v2 20s Fail",
            "R my-app-v1 20s Fail",
        ],
    );
    check(
        "recreate",
        &[
            "my-app 20s Fail",
            "my-app 20s RollBack",
            "R my-app 20s Fail",
        ],
    );
    check(
        "blue-green",
        &["my-app-v1 20s Fail", "my-app-v2 20s RollBack"],
    );
}

#[test]
fn flags_win_over_steps_and_steps_win_over_the_profile() {
    // ramped's wait steps say `timeout = "2m"`.
    let ramped = plan("ramped", ProfileName::Quick, &Overrides::default());
    assert_eq!(
        waits(&ramped),
        [
            "my-app 20s Fail",
            "my-app 120s RollBack",
            "R my-app 120s Fail"
        ]
    );
    let overrides = Overrides {
        wait_timeout: Some(Duration::from_secs(7)),
        ..Overrides::default()
    };
    let ramped = plan("ramped", ProfileName::Quick, &overrides);
    assert_eq!(
        waits(&ramped),
        ["my-app 7s Fail", "my-app 7s RollBack", "R my-app 7s Fail"]
    );
    assert_eq!(ramped.profile.wait_timeout, Duration::from_secs(7));
}

#[test]
fn overrides_reach_every_phase() {
    let overrides = Overrides {
        observe: Some(Duration::from_secs(3)),
        analyze: Some(Duration::from_secs(9)),
        analysis_interval: Some(Duration::from_secs(3)),
        scrape_interval: Some(Duration::from_millis(500)),
        rate: Some(42.0),
        wait_timeout: None,
        proxy_sync_delay: Some(Duration::ZERO),
    };
    let plan = plan("canary", ProfileName::Seed, &overrides);
    let phases: Vec<String> = plan
        .steps
        .iter()
        .chain(&plan.rollback)
        .filter_map(|step| match step {
            Step::Observe {
                phase, duration, ..
            } => Some(format!("{phase} {duration:?}")),
            Step::Analyze {
                phase,
                duration,
                interval,
                ..
            } => Some(format!("{phase} {duration:?} every {interval:?}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        phases,
        [
            "baseline 3s",
            "canary 9s every 3s",
            "promoted 3s",
            "rolled-back 3s"
        ]
    );
    assert_eq!(
        (
            plan.profile.scrape_interval,
            plan.profile.rate,
            plan.profile.proxy_sync_delay
        ),
        (Duration::from_millis(500), 42.0, Duration::ZERO)
    );
}

#[test]
fn an_interval_longer_than_the_analysis_is_refused() {
    let overrides = Overrides {
        analysis_interval: Some(Duration::from_secs(30)),
        ..Overrides::default()
    };
    let error = Plan::build(&scenario("canary"), ProfileName::Quick, &overrides).unwrap_err();
    assert_eq!(
        error,
        PlanError::IntervalTooLong {
            phase: "canary".to_owned(),
            interval: "30s".to_owned(),
            duration: "8s".to_owned()
        }
    );
    assert_eq!(
        error.to_string(),
        "the analysis interval (30s) is longer than analyze phase `canary` (8s)"
    );
}

#[test]
fn the_decision_splits_the_steps() {
    let plan = plan("canary", ProfileName::Quick, &Overrides::default());
    assert_eq!(plan.decision_index(), 6);
    let promotion: Vec<String> = plan.promotion().iter().map(Step::kubectl).collect();
    assert_eq!(
        promotion,
        [
            "kubectl scale --replicas=10 deployment/my-app-v2",
            "kubectl delete deployment my-app-v1",
            "kubectl rollout status deployment/my-app-v2 --timeout=20s",
            "kubectl get pods -l app=my-app -L version",
        ]
    );
}

#[test]
fn switching_a_selector_is_a_patch() {
    let plan = plan("blue-green", ProfileName::Quick, &Overrides::default());
    let switches: Vec<String> = plan
        .steps
        .iter()
        .chain(&plan.rollback)
        .filter(|step| matches!(step, Step::SwitchSelector { .. }))
        .map(Step::kubectl)
        .collect();
    assert_eq!(
        switches,
        [
            r#"kubectl patch service my-app -p '{"spec":{"selector":{"app":"my-app","version":"v2.0.0"}}}'"#,
            r#"kubectl patch service my-app -p '{"spec":{"selector":{"app":"my-app","version":"v1.0.0"}}}'"#,
        ]
    );
}

#[test]
fn a_wait_that_times_out_on_the_candidate_means_roll_back() {
    let plan = plan("unready-canary", ProfileName::Quick, &Overrides::default());
    let deadline = plan.steps[..plan.decision_index()]
        .iter()
        .find_map(|step| match step {
            Step::WaitReady {
                deployments,
                on_timeout,
                ..
            } if deployments.contains(&"my-app-v2".to_owned()) => Some(*on_timeout),
            _ => None,
        });
    assert_eq!(deadline, Some(OnTimeout::RollBack));
}

#[test]
fn the_seed_canary_expects_120_candidate_requests_and_says_they_cannot_resolve() {
    let plan = plan("canary", ProfileName::Seed, &Overrides::default());
    let sample = plan.sample_estimate().expect("an analyze step");
    // 10 requests/s × 1 of 10 replicas × 120 s.
    assert!((sample.share - 0.1).abs() < 1e-12, "{sample:?}");
    assert!((sample.requests - 120.0).abs() < 1e-9, "{sample:?}");
    assert!(sample.reaches_min_samples());
    assert!(!sample.resolves());
    // 1301 / (0.1 × 120) = 108.4 requests/s; 1301 / (0.1 × 10) = 1301 s.
    let warning = sample.warning().expect("a warning");
    assert!(
        warning.contains("109 requests/s or an analyze phase of 1301 s"),
        "{warning}"
    );
}

#[test]
fn peak_pods_above_steady_are_the_replays_most_pods_at_once() {
    let peak =
        |name| plan(name, ProfileName::Quick, &Overrides::default()).peak_pods_above_steady();
    // Recreate replaces its pods in place; ramped surges one pod at a time;
    // blue-green runs a second fleet of three.
    assert_eq!(peak("recreate"), Some(0));
    assert_eq!(peak("ramped"), Some(1));
    assert_eq!(peak("blue-green"), Some(3));
    // The canary's promotion scales v2 to ten before v1's nine are deleted.
    assert_eq!(peak("canary"), Some(9));
}
