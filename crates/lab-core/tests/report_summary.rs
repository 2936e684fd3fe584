//! The normalized summary: complete enough to pin a run, stable across runs.

mod report_fixtures;

use lab_core::analysis::Verdict;
use lab_core::report::StepResult;
use report_fixtures::{RUN_A, RUN_B, promoted_canary, rolled_back_canary};

#[test]
fn summary_of_a_promoted_canary() {
    insta::assert_yaml_snapshot!("promoted_canary", promoted_canary(&RUN_A).summary());
}

#[test]
fn summary_of_a_rolled_back_canary() {
    insta::assert_yaml_snapshot!("rolled_back_canary", rolled_back_canary(&RUN_A).summary());
}

#[test]
fn summary_is_the_same_across_runs_of_a_correct_lab() {
    for build in [promoted_canary, rolled_back_canary] {
        let (a, b) = (build(&RUN_A), build(&RUN_B));
        // The runs differ in times, ids, counts, latencies, shares and pods …
        assert_ne!(a.to_json_pretty(), b.to_json_pretty());
        assert_ne!(
            a.windows[2].split[1].observed_share,
            b.windows[2].split[1].observed_share
        );
        // … and their summaries do not.
        assert_eq!(
            a.summary(),
            b.summary(),
            "summaries of {} and {}",
            a.run_id,
            b.run_id
        );
    }
}

#[test]
fn summary_changes_with_what_it_pins() {
    fn check(edit: fn(&mut lab_core::report::Report), what: &str) {
        let before = promoted_canary(&RUN_A);
        let mut after = before.clone();
        edit(&mut after);
        assert_ne!(
            before.summary(),
            after.summary(),
            "{what} should show in the summary"
        );
    }
    check(
        |r| {
            r.steps[7].result = StepResult::Failed {
                message: "conflict".into(),
            }
        },
        "a step result",
    );
    check(
        |r| r.steps[2].description = "observe baseline for 60s".into(),
        "a step description",
    );
    check(
        |r| r.windows[0].split[0].expected_share = Some(0.5),
        "an expected share outside its interval",
    );
    check(
        |r| r.windows[2].gates[0].verdict = Verdict::Inconclusive,
        "a gate verdict",
    );
    check(|r| r.windows[2].gates[1].limit = 250.0, "a gate threshold");
    check(
        |r| r.windows[0].cross_check[0].verdict = Verdict::Fail,
        "a cross-check verdict",
    );
    check(|r| r.windows[1].name = "deploy".into(), "a window name");
    check(|r| r.passed = false, "whether the run passed");
    check(
        |r| r.status = lab_core::report::RunStatus::Interrupted,
        "the status",
    );
}

#[test]
fn summary_leaves_out_what_flaps() {
    fn check(edit: fn(&mut lab_core::report::Report), what: &str) {
        let before = promoted_canary(&RUN_A);
        let mut after = before.clone();
        edit(&mut after);
        assert_eq!(
            before.summary(),
            after.summary(),
            "{what} should not show in the summary"
        );
    }
    check(|r| r.windows[2].start_ms += 17, "a window's start");
    check(
        |r| r.windows[2].split[1].observed_share = Some(0.11),
        "an observed share",
    );
    check(
        |r| r.windows[2].gates[1].measured = Some(40.0),
        "a measured latency",
    );
    check(
        |r| r.windows[2].gates[2].threshold = Some(90.0),
        "a derived threshold",
    );
    check(
        |r| r.windows[1].split[0].expected_share = Some(0.5),
        "a transition's split",
    );
    check(
        |r| r.windows[2].split[1].verdict = Verdict::Inconclusive,
        "a split's verdict beyond its expected share",
    );
    check(
        |r| r.decision.as_mut().unwrap().reason.push_str(" (n=601)"),
        "the decision's reason",
    );
    check(
        |r| r.decision.as_mut().unwrap().time_to_decision_ms += 1,
        "the time to decision",
    );
    check(
        |r| r.events[0].object = "pod/my-app-v2.0.0-zzzzz".into(),
        "a pod name",
    );
    check(|r| r.run_id = "other".into(), "the run id");

    let failed_with = |message: &str| {
        let mut report = promoted_canary(&RUN_A);
        report.steps[7].result = StepResult::Failed {
            message: message.into(),
        };
        report.summary()
    };
    assert_eq!(
        failed_with("timed out after 60s"),
        failed_with("timed out after 61s")
    );
}
