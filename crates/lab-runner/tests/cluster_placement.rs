//! The runner on a cluster's placement, with the in-memory platform: each phase
//! opens only once kube-proxy had time to follow the step before it, the report
//! says so, and the steps carry kubectl lines in the lab's namespace.

use lab_core::analysis::WindowKind;
use lab_core::plan::{Overrides, Placement, Plan, ProfileName};
use lab_core::report::{Report, RunStatus, Section};
use lab_runner::RunConfig;
use lab_runner::fake::FakePlatform;
use std::path::Path;
use std::time::Duration;
use tokio::sync::watch;

fn plan(scenario: &str, placement: Placement) -> Plan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = lab_runner::scenario_dir::shipped(&root, scenario);
    let scenario = lab_runner::load_scenario(&dir, scenario).unwrap();
    let overrides = Overrides {
        observe: Some(Duration::from_secs(1)),
        analyze: Some(Duration::from_secs(2)),
        analysis_interval: Some(Duration::from_secs(1)),
        wait_timeout: Some(Duration::from_secs(1)),
        rate: Some(400.0),
        ..Overrides::default()
    };
    Plan::build_on(&scenario, ProfileName::Quick, &overrides, placement).unwrap()
}

async fn run(plan: &Plan) -> Report {
    let platform = FakePlatform::new();
    let dir = tempfile::tempdir().unwrap();
    let (_interrupt, interrupted) = watch::channel(false);
    let config = RunConfig::new("fake-run", dir.path().join("run"), interrupted);
    lab_runner::run(&platform, plan, config).await.unwrap()
}

/// For each phase window, how long after its step started it opened (ms).
fn phase_delays(report: &Report) -> Vec<(String, u64)> {
    report
        .windows
        .iter()
        .filter(|w| w.kind != WindowKind::Transition)
        .map(|w| {
            let step = report
                .steps
                .iter()
                .find(|s| {
                    s.section == Section::Main && s.description.contains(&format!("`{}`", w.name))
                })
                .unwrap_or_else(|| panic!("no step of phase {}", w.name));
            (w.name.clone(), w.start_ms - step.started_ms.unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_each_phase_opens_after_the_endpoint_settle() {
    let placement = Placement::cluster("kind", "canary-lab");
    let settle = placement.endpoint_settle;
    let plan = plan("blue-green", placement);
    let report = run(&plan).await;
    assert_eq!(report.status, RunStatus::Completed, "{:#?}", report.notes);
    let delays = phase_delays(&report);
    assert_eq!(
        delays.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["baseline", "switched", "promoted"]
    );
    for (phase, delay) in &delays {
        assert!(
            *delay >= settle.as_millis() as u64,
            "phase {phase} opened {delay} ms after its step"
        );
    }
    // The traffic of the settle (after the selector switch) is the transition's.
    let switched = report
        .windows
        .iter()
        .position(|w| w.name == "switched")
        .unwrap();
    let transition = &report.windows[switched - 1];
    assert_eq!(transition.kind, WindowKind::Transition);
    assert!(transition.end_ms - transition.start_ms >= settle.as_millis() as u64);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("each phase opened 2.0s after the step before it (kind)")),
        "{:#?}",
        report.notes
    );
    for step in &report.steps {
        assert!(
            step.kubectl
                .iter()
                .all(|k| k.starts_with("kubectl -n canary-lab ")),
            "{:?}",
            step.kubectl
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locally_phases_open_at_once() {
    let report = run(&plan("blue-green", Placement::local())).await;
    assert_eq!(report.status, RunStatus::Completed, "{:#?}", report.notes);
    for (phase, delay) in phase_delays(&report) {
        assert!(
            delay < 1_500,
            "phase {phase} opened {delay} ms after its step"
        );
    }
    assert!(
        !report
            .notes
            .iter()
            .any(|n| n.starts_with("each phase opened"))
    );
    assert!(report.steps.iter().all(|s| !s.kubectl[0].contains(" -n ")));
}
