//! Plans for a cluster: waits long enough for a fresh cluster, phases that open
//! once kube-proxy follows the endpoints, and kubectl lines that name the lab's
//! namespace; the local platform's plans are left as they are.

mod scenario_support;

use lab_core::plan::{
    CLUSTER_ENDPOINT_SETTLE, CLUSTER_MIN_WAIT_TIMEOUT, Overrides, Placement, Plan, ProfileName,
    Step,
};
use lab_core::scenario::Scenario;
use std::time::Duration;

fn scenario(name: &str) -> Scenario {
    scenario_support::shipped_scenario(name)
}

fn kind() -> Placement {
    Placement::cluster("kind", "canary-lab")
}

fn plan_on(name: &str, overrides: &Overrides, placement: Placement) -> Plan {
    Plan::build_on(&scenario(name), ProfileName::Quick, overrides, placement).unwrap()
}

fn wait_timeouts(plan: &Plan) -> Vec<Duration> {
    plan.steps
        .iter()
        .chain(&plan.rollback)
        .filter_map(|step| match step {
            Step::WaitReady { timeout, .. } => Some(*timeout),
            _ => None,
        })
        .collect()
}

#[test]
fn the_canary_on_kind_reads_as_expected() {
    let text = plan_on("canary", &Overrides::default(), kind()).to_string();
    insta::assert_snapshot!("canary_quick_on_kind", text);
}

#[test]
fn a_cluster_waits_at_least_two_minutes_unless_told_otherwise() {
    for dir in scenario_support::shipped() {
        let name = scenario_support::name(&dir);
        let local =
            Plan::build(&scenario(&name), ProfileName::Quick, &Overrides::default()).unwrap();
        let on_kind = plan_on(&name, &Overrides::default(), kind());
        let expected: Vec<Duration> = wait_timeouts(&local)
            .into_iter()
            .map(|t| t.max(CLUSTER_MIN_WAIT_TIMEOUT))
            .collect();
        assert!(!expected.is_empty(), "{name}");
        assert_eq!(wait_timeouts(&on_kind), expected, "{name}");
        assert_eq!(on_kind.profile.wait_timeout, CLUSTER_MIN_WAIT_TIMEOUT);
    }
    // ramped's own `timeout = "2m"` stays, and a longer one would too.
    let told = Overrides {
        wait_timeout: Some(Duration::from_secs(30)),
        ..Overrides::default()
    };
    let on_kind = plan_on("canary", &told, kind());
    assert!(
        wait_timeouts(&on_kind)
            .iter()
            .all(|t| *t == Duration::from_secs(30))
    );
    assert_eq!(on_kind.profile.wait_timeout, Duration::from_secs(30));
    let text = on_kind.to_string();
    assert!(text.contains("wait timeout 30s"), "{text}");
}

#[test]
fn every_kubectl_line_on_a_cluster_names_the_namespace() {
    for dir in scenario_support::shipped() {
        let name = scenario_support::name(&dir);
        let plan = plan_on(&name, &Overrides::default(), kind());
        for step in plan.steps.iter().chain(&plan.rollback) {
            let line = plan.kubectl(step);
            let commands: Vec<&str> = line.split(" && ").collect();
            for command in commands {
                assert!(
                    command.starts_with("kubectl -n canary-lab "),
                    "{name}: {line}"
                );
            }
            assert_eq!(
                line.replace("kubectl -n canary-lab ", "kubectl "),
                step.kubectl(),
                "{name}: only the namespace is added"
            );
        }
    }
}

#[test]
fn local_plans_stay_as_they_were() {
    let plan = Plan::build(
        &scenario("canary"),
        ProfileName::Quick,
        &Overrides::default(),
    )
    .unwrap();
    assert!(plan.placement.is_local());
    for step in &plan.steps {
        assert_eq!(plan.kubectl(step), step.kubectl());
        assert!(!plan.kubectl(step).contains(" -n "));
    }
    let json = serde_json::to_value(&plan).unwrap();
    assert!(json.get("placement").is_none(), "{json}");
    assert!(!plan.to_string().contains("\nplatform "));
}

#[test]
fn a_placement_survives_a_json_round_trip() {
    let plan = plan_on("blue-green", &Overrides::default(), kind());
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        json["placement"],
        serde_json::json!({"platform": "kind", "min_wait_timeout": "2m", "endpoint_settle": "2s", "namespace": "canary-lab"})
    );
    let back: Plan = serde_json::from_value(json).unwrap();
    assert_eq!(back, plan);
    assert_eq!(back.placement.endpoint_settle, CLUSTER_ENDPOINT_SETTLE);
}
