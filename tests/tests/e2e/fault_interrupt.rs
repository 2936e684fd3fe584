//! SIGINT or SIGTERM to `lab run`, early (during the first wait), in the middle
//! (during the analyze phase) and late (during the rollback): the lab tears
//! down, writes its report with status `interrupted`, leaves no process of the
//! run after 5 s and exits 130; and the next run works.

use lab_core::analysis::Outcome;
use lab_core::report::{Report, RunStatus, Section, StepResult};
use lab_tests::{Background, lab_processes, poll_until, signal};
use std::path::Path;
use std::time::{Duration, Instant};

const QUICK: [&str; 4] = ["--profile", "quick", "--platform", "local"];

/// Everything of the run is gone within this long after the signal.
const TEARDOWN_LIMIT: Duration = Duration::from_secs(5);

/// Start `lab run scenario`, wait for an event, send `name`, and check the
/// interrupted run's exit and leftovers; returns its report.
fn interrupt(
    home: &Path,
    scenario: &str,
    kind: &str,
    fields: &[(&str, &str)],
    name: &str,
) -> Report {
    let mut run = Background::start_in(home, &[&["lab", "run", scenario][..], &QUICK].concat());
    run.wait_for_event(kind, fields);
    assert!(
        !lab_processes(home).is_empty(),
        "the run started no marked process"
    );
    let sent = Instant::now();
    signal(run.child.id(), name);
    let code = run.wait_exit(TEARDOWN_LIMIT);
    poll_until(
        TEARDOWN_LIMIT.saturating_sub(sent.elapsed()),
        "every pod and Prometheus gone",
        || lab_processes(home).is_empty(),
    );
    assert_eq!(code, Some(130), "stderr: {}", run.stderr());
    assert!(run.stderr().contains("interrupted"), "{}", run.stderr());
    assert!(
        !home.join("local/run-state.json").exists(),
        "the run's state file is still there"
    );
    let report = run.report();
    assert_eq!(report.status, RunStatus::Interrupted);
    assert!(!report.passed);
    report
}

fn result_of(report: &Report, section: Section, index: u32) -> &StepResult {
    &report
        .steps
        .iter()
        .find(|s| s.section == section && s.index == index)
        .unwrap()
        .result
}

fn interrupted() -> StepResult {
    StepResult::Failed {
        message: "interrupted".into(),
    }
}

#[test]
fn an_interrupt_at_any_step_tears_down_reports_and_exits_130() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();

    // Early: v1 takes a minute to become ready, so the first wait lasts.
    let report = interrupt(
        home,
        "tests/fixtures/slow-start",
        "step_started",
        &[("section", "main"), ("index", "2")],
        "INT",
    );
    assert_eq!(result_of(&report, Section::Main, 2), &interrupted());
    assert_eq!(result_of(&report, Section::Main, 3), &StepResult::Skipped);
    assert_eq!(report.decision, None);

    // Middle: the analyze phase.
    let report = interrupt(
        home,
        "bad-canary",
        "window_opened",
        &[("name", "canary")],
        "TERM",
    );
    assert_eq!(result_of(&report, Section::Main, 7), &interrupted());
    assert_eq!(result_of(&report, Section::Main, 8), &StepResult::Skipped);
    assert_eq!(
        result_of(&report, Section::Rollback, 1),
        &StepResult::Skipped
    );
    assert_eq!(report.outcome, None);
    assert!(report.windows.iter().any(|w| w.name == "canary"));

    // Late: the rollback's last step, observing the rolled-back state.
    let report = interrupt(
        home,
        "bad-canary",
        "step_started",
        &[("section", "rollback"), ("index", "4")],
        "INT",
    );
    assert_eq!(report.outcome, Some(Outcome::RolledBack));
    for index in 1..=3 {
        assert_eq!(
            result_of(&report, Section::Rollback, index),
            &StepResult::Ok
        );
    }
    assert_eq!(result_of(&report, Section::Rollback, 4), &interrupted());

    // The next run in the same home works.
    let mut run = Background::start_in(home, &[&["lab", "run", "bad-canary"][..], &QUICK].concat());
    assert_eq!(
        run.wait_exit(Duration::from_secs(240)),
        Some(0),
        "{}",
        run.stderr()
    );
    assert!(run.report().passed);
    assert!(lab_processes(home).is_empty());
}
