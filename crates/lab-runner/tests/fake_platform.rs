//! The runner on the in-memory platform: steps, windows, interim decisions and
//! rollbacks, without a process or a socket. Phases last a second or three, so
//! each run takes a few seconds.

use lab_core::analysis::{DecisionCause, GateName, Outcome, WindowKind};
use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::platform::ListenerFault;
use lab_core::report::{Report, RunStatus, Section, StepResult};
use lab_report::Language;
use lab_runner::fake::{Behaviour, FakePlatform};
use lab_runner::{INTERRUPTED_GRACE, RunConfig};
use std::path::Path;
use std::time::Duration;
use tokio::sync::watch;

/// A shipped scenario with short phases and plenty of traffic.
fn plan(scenario: &str) -> Plan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = lab_runner::scenario_dir::shipped(&root, scenario);
    let scenario = lab_runner::load_scenario(&dir, scenario).unwrap();
    let overrides = Overrides {
        observe: Some(Duration::from_secs(1)),
        analyze: Some(Duration::from_secs(3)),
        analysis_interval: Some(Duration::from_secs(1)),
        wait_timeout: Some(Duration::from_secs(1)),
        rate: Some(400.0),
        ..Overrides::default()
    };
    Plan::build(&scenario, ProfileName::Quick, &overrides).unwrap()
}

/// Run a plan on the platform; `interrupt` may stop it.
async fn run(platform: &FakePlatform, plan: &Plan, interrupt: watch::Receiver<bool>) -> Report {
    run_in(Language::English, platform, plan, interrupt).await
}

/// Run a plan on the platform, saying its notes in `language`.
async fn run_in(
    language: Language,
    platform: &FakePlatform,
    plan: &Plan,
    interrupt: watch::Receiver<bool>,
) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RunConfig::new("fake-run", dir.path().join("run"), interrupt);
    config.language = language;
    let report = lab_runner::run(platform, plan, config).await.unwrap();
    assert!(dir.path().join("run/report.json").is_file());
    report
}

fn result_of(report: &Report, section: Section, description: &str) -> StepResult {
    report
        .steps
        .iter()
        .find(|s| s.section == section && s.description.starts_with(description))
        .unwrap_or_else(|| panic!("no {section:?} step {description}"))
        .result
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_canary_is_promoted() {
    let platform = FakePlatform::new();
    // A listener that ran out of descriptors for a while is in the notes and
    // decides nothing.
    platform.listener_fault(fault());
    let plan = plan("canary");
    let (_interrupt, interrupted) = watch::channel(false);
    let report = run(&platform, &plan, interrupted).await;

    assert_eq!(report.status, RunStatus::Completed, "{:#?}", report.notes);
    assert_eq!(
        report.outcome,
        Some(Outcome::Promoted),
        "{:#?}",
        report.decision
    );
    assert!(report.passed);
    assert!(
        report.notes.iter().any(|n| n
            == "service my-app could not accept a connection 3 times (Too many open files (os error 24)); its listener paused up to 80 ms between tries"),
        "{:#?}",
        report.notes
    );
    let decision = report.decision.as_ref().unwrap();
    assert_eq!(decision.cause, DecisionCause::AllGatesPassed);
    // The pods were counted from the platform: v1's ten in the baseline, at
    // most v1's nine and v2's ten at once (the fake has no termination).
    let pods = report.pods.expect("pods counted");
    assert_eq!(pods.steady, Some(10), "{pods:?}");
    assert!((10..=19).contains(&pods.peak), "{pods:?}");
    // Every step ran and was annotated; no rollback step did.
    assert!(
        report
            .steps
            .iter()
            .all(|s| (s.section == Section::Main) == (s.result == StepResult::Ok)),
        "{:#?}",
        report.steps
    );
    assert_eq!(platform.annotations().len(), plan.steps.len());
    // The windows follow the plan: a transition before each phase.
    let windows: Vec<(&str, WindowKind)> = report
        .windows
        .iter()
        .map(|w| (w.name.as_str(), w.kind))
        .collect();
    assert_eq!(
        windows,
        [
            ("→ baseline", WindowKind::Transition),
            ("baseline", WindowKind::Observe),
            ("→ canary", WindowKind::Transition),
            ("canary", WindowKind::Analyze),
            ("→ promoted", WindowKind::Transition),
            ("promoted", WindowKind::Observe),
        ]
    );
    // The fake Service spreads requests over its ready endpoints in turn: one
    // v2 pod among ten gets a tenth.
    let canary = &report.windows[3];
    let v2 = canary.versions["v2.0.0"].requests as f64;
    let all: u64 = canary.versions.values().map(|t| t.requests).sum();
    assert!((v2 / all as f64 - 0.1).abs() < 0.01, "{v2} of {all}");
    assert_eq!(
        report.windows[5].versions.keys().collect::<Vec<_>>(),
        ["v2.0.0"]
    );
    assert_eq!(platform.teardowns(), 1);
    assert_eq!(platform.grace_limit(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_success_rate_rolls_back_at_the_first_look() {
    let platform = FakePlatform::new();
    platform.behave(
        "v2.0.0",
        Behaviour {
            error_share: 0.2,
            ..Behaviour::default()
        },
    );
    let plan = plan("bad-canary");
    let (_interrupt, interrupted) = watch::channel(false);
    let report = run(&platform, &plan, interrupted).await;

    assert_eq!(report.status, RunStatus::Completed, "{:#?}", report.notes);
    assert_eq!(report.outcome, Some(Outcome::RolledBack));
    assert!(report.passed, "rolled back as expected");
    let decision = report.decision.as_ref().unwrap();
    assert_eq!(
        decision.cause,
        DecisionCause::GatesFailed {
            gates: vec![GateName::SuccessRate]
        },
        "{}",
        decision.reason
    );
    assert_eq!(decision.analysis_intervals_elapsed, 1);
    // The rollback ran instead of the promotion.
    assert_eq!(
        result_of(&report, Section::Main, "scale deployment my-app-v2"),
        StepResult::Skipped
    );
    assert!(
        report
            .steps
            .iter()
            .filter(|s| s.section == Section::Rollback)
            .all(|s| s.result == StepResult::Ok),
        "{:#?}",
        report.steps
    );
    let last = report.windows.last().unwrap();
    assert_eq!(
        (last.name.as_str(), last.kind),
        ("rolled-back", WindowKind::Observe)
    );
    assert_eq!(last.versions.keys().collect::<Vec<_>>(), ["v1.0.0"]);
    // The candidate's errors are its own; the baseline answered none.
    let canary = report.windows.iter().find(|w| w.name == "canary").unwrap();
    assert!(canary.versions["v2.0.0"].server_errors > 0);
    assert_eq!(canary.versions["v1.0.0"].server_errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_that_never_becomes_ready_misses_its_deadline_and_rolls_back() {
    let platform = FakePlatform::new();
    platform.behave(
        "v2.0.0",
        Behaviour {
            ready: false,
            ..Behaviour::default()
        },
    );
    let plan = plan("unready-canary");
    let (_interrupt, interrupted) = watch::channel(false);
    let report = run(&platform, &plan, interrupted).await;

    assert_eq!(report.status, RunStatus::Completed, "{:#?}", report.notes);
    assert_eq!(report.outcome, Some(Outcome::RolledBack));
    let decision = report.decision.as_ref().unwrap();
    assert!(
        matches!(&decision.cause, DecisionCause::ProgressDeadline { waited_for } if waited_for.contains(&"my-app-v2".to_string())),
        "{:?}",
        decision.cause
    );
    assert!(
        decision.reason.contains("my-app-v2: 0/1 ready"),
        "{}",
        decision.reason
    );
    // The wait failed, the analysis never ran, the rollback did.
    assert!(matches!(
        result_of(
            &report,
            Section::Main,
            "wait until deployments my-app-v1, my-app-v2"
        ),
        StepResult::Failed { .. }
    ));
    assert_eq!(
        result_of(&report, Section::Main, "analyze"),
        StepResult::Skipped
    );
    assert!(!report.windows.iter().any(|w| w.kind == WindowKind::Analyze));
    assert_eq!(
        result_of(&report, Section::Rollback, "delete deployment my-app-v2"),
        StepResult::Ok
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_bounds_the_grace_and_tears_down() {
    let platform = FakePlatform::new();
    let plan = plan("canary");
    let (interrupter, interrupted) = interrupt_after(Duration::from_millis(1500));
    let report = run(&platform, &plan, interrupted).await;
    interrupter.abort();

    assert_eq!(report.status, RunStatus::Interrupted);
    assert_eq!(report.outcome, None);
    assert_eq!(platform.grace_limit(), Some(INTERRUPTED_GRACE));
    assert_eq!(platform.teardowns(), 1);
    assert!(report.steps.iter().any(|s| s.result
        == StepResult::Failed {
            message: "interrupted".into()
        }));
}

/// An interrupt `after` the run starts, held until the task is aborted.
fn interrupt_after(after: Duration) -> (tokio::task::JoinHandle<()>, watch::Receiver<bool>) {
    let (interrupt, interrupted) = watch::channel(false);
    let interrupter = tokio::spawn(async move {
        tokio::time::sleep(after).await;
        interrupt.send(true).unwrap();
        // Keep the sender until the run is over.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    (interrupter, interrupted)
}

/// A listener that ran out of file descriptors for a while.
fn fault() -> ListenerFault {
    ListenerFault {
        service: "my-app".into(),
        failed_accepts: 3,
        last_error: Some("Too many open files (os error 24)".into()),
        longest_pause: Duration::from_millis(80),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platforms_notes_are_said_in_the_runs_language() {
    let platform = FakePlatform::new();
    platform.listener_fault(fault());
    platform.refuse_annotations("grafana refused the annotation: 403 Forbidden");
    let plan = plan("canary");
    let (interrupter, interrupted) = interrupt_after(Duration::from_millis(1500));
    let report = run_in(Language::Korean, &platform, &plan, interrupted).await;
    interrupter.abort();

    let hangul = |text: &str| text.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c));
    for note in &report.notes {
        assert!(hangul(note), "a note in English: {note}");
    }
    // Said once, with the platform's own words kept.
    let annotation: Vec<_> = report
        .notes
        .iter()
        .filter(|n| n.contains("(grafana refused the annotation: 403 Forbidden)"))
        .collect();
    assert_eq!(annotation.len(), 1, "{:#?}", report.notes);
    assert!(
        report.notes.iter().any(|n| n.starts_with("Service my-app")
            && n.contains("(Too many open files (os error 24))")),
        "{:#?}",
        report.notes
    );
    assert!(platform.annotations().is_empty());
}
