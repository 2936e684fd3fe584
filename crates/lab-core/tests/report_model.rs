//! The report's JSON contract: round trip, schema version, documentation.

mod report_fixtures;

use lab_core::analysis::Outcome;
use lab_core::report::{PodCounts, Report, ReportError, RunStatus, run_passed};
use report_fixtures::{RUN_A, RUN_B, promoted_canary, rolled_back_canary};
use std::collections::BTreeSet;

#[test]
fn reports_round_trip_through_json() {
    for report in [
        promoted_canary(&RUN_A),
        promoted_canary(&RUN_B),
        rolled_back_canary(&RUN_A),
        rolled_back_canary(&RUN_B),
    ] {
        let json = report.to_json_pretty();
        let back = Report::from_json(&json).unwrap();
        assert_eq!(back, report, "round trip of {}", report.run_id);
        assert_eq!(back.to_json_pretty(), json);
    }
}

#[test]
fn pod_counts_round_trip_and_older_reports_have_none() {
    let mut report = promoted_canary(&RUN_A);
    report.pods = Some(PodCounts {
        steady: Some(10),
        peak: 19,
        peak_at_ms: 31_400,
        peak_serving: Some(19),
    });
    let json = report.to_json_pretty();
    let back = Report::from_json(&json).unwrap();
    assert_eq!(back.pods, report.pods);
    assert_eq!(back.pods.and_then(|p| p.above_steady()), Some(9));
    // A report.json written before pods were counted still reads.
    let mut older: serde_json::Value = serde_json::from_str(&json).unwrap();
    older.as_object_mut().unwrap().remove("pods");
    let older = Report::from_json(&older.to_string()).unwrap();
    assert_eq!(older.pods, None);
    assert!(
        !promoted_canary(&RUN_A)
            .to_json_pretty()
            .contains("\"pods\"")
    );
}

#[test]
fn pod_counts_take_the_first_baseline_sample_and_the_highest() {
    let mut pods = PodCounts::default();
    pods.record(4, 4, 100, false);
    assert_eq!(pods.above_steady(), None, "no baseline sample yet");
    assert_eq!(pods.serving_per_steady(), None);
    pods.record(10, 10, 900, true);
    pods.record(12, 12, 1100, true);
    // A ramp: one pod surges while earlier ones are still shutting down.
    pods.record(19, 11, 3000, false);
    pods.record(19, 11, 3200, false);
    pods.record(10, 10, 4000, false);
    assert_eq!(
        pods,
        PodCounts {
            steady: Some(10),
            peak: 19,
            peak_at_ms: 3000,
            peak_serving: Some(12),
        }
    );
    assert_eq!(pods.above_steady(), Some(9));
    assert_eq!(pods.serving_above_steady(), Some(2));
    // 12 serving pods over a steady 10: 1.2 fleets.
    assert_eq!(pods.serving_per_steady(), Some(1.2));
    // A report.json written before serving pods were counted reads as none.
    let json = serde_json::json!({"steady": 10, "peak": 19, "peak_at_ms": 3000});
    let older: PodCounts = serde_json::from_value(json).unwrap();
    assert_eq!(older.peak_serving, None);
    assert_eq!(older.serving_per_steady(), None);
}

#[test]
fn every_status_and_step_result_round_trips() {
    use lab_core::report::StepResult;
    let mut report = rolled_back_canary(&RUN_A);
    report.steps[3].result = StepResult::Failed {
        message: "deployment my-app-v2: image not found".to_owned(),
    };
    for status in [
        RunStatus::Completed,
        RunStatus::Interrupted,
        RunStatus::Failed {
            error: "platform unavailable: kind cluster is gone".to_owned(),
        },
    ] {
        report.status = status;
        let back = Report::from_json(&report.to_json_pretty()).unwrap();
        assert_eq!(back, report);
    }
}

#[test]
fn tagged_enums_have_a_kind() {
    fn check(value: serde_json::Value, expected: serde_json::Value) {
        assert_eq!(value, expected);
    }
    use lab_core::report::StepResult;
    check(
        serde_json::to_value(RunStatus::Completed).unwrap(),
        serde_json::json!({"kind": "completed"}),
    );
    check(
        serde_json::to_value(RunStatus::Failed {
            error: "boom".into(),
        })
        .unwrap(),
        serde_json::json!({"kind": "failed", "error": "boom"}),
    );
    check(
        serde_json::to_value(StepResult::Failed {
            message: "no".into(),
        })
        .unwrap(),
        serde_json::json!({"kind": "failed", "message": "no"}),
    );
    check(
        serde_json::to_value(StepResult::Skipped).unwrap(),
        serde_json::json!({"kind": "skipped"}),
    );
    check(
        serde_json::to_value(Outcome::RolledBack).unwrap(),
        serde_json::json!("rolled-back"),
    );
}

#[test]
fn reading_checks_the_schema_version() {
    fn check(edit: fn(&mut serde_json::Value), expected: &str) {
        let mut json = serde_json::to_value(promoted_canary(&RUN_A)).unwrap();
        edit(&mut json);
        let got = Report::from_json(&json.to_string()).map(|r| r.run_id);
        match got {
            Ok(run_id) => assert_eq!(run_id, expected),
            // serde_json adds the position, which depends on the fixture's length.
            Err(error) => assert!(
                error.to_string().starts_with(expected),
                "{error}, expected {expected}"
            ),
        }
    }
    check(|_| {}, "20261126-040242-canary-a1b2");
    check(
        |j| j["schema_version"] = 2.into(),
        "report schema version 2 is not supported (expected 1)",
    );
    check(
        |j| {
            j.as_object_mut().unwrap().remove("schema_version");
        },
        "report json: missing field `schema_version` at line 1",
    );
    check(
        |j| {
            j.as_object_mut().unwrap().remove("windows");
        },
        "report json: missing field `windows` at line 1",
    );
    assert!(matches!(
        Report::from_json("{\"schema_version\": 7}"),
        Err(ReportError::UnsupportedSchema { found: 7 })
    ));
}

#[test]
fn a_run_passes_when_it_completes_with_the_expected_outcome() {
    fn check(status: RunStatus, expected: Outcome, outcome: Option<Outcome>, passed: bool) {
        assert_eq!(
            run_passed(&status, expected, outcome),
            passed,
            "{status:?}, expected {expected}, got {outcome:?}"
        );
    }
    use Outcome::*;
    check(RunStatus::Completed, Promoted, Some(Promoted), true);
    check(RunStatus::Completed, RolledBack, Some(RolledBack), true);
    check(RunStatus::Completed, Promoted, Some(RolledBack), false);
    check(RunStatus::Completed, RolledBack, Some(Promoted), false);
    check(RunStatus::Completed, Promoted, None, false);
    check(RunStatus::Interrupted, Promoted, Some(Promoted), false);
    check(
        RunStatus::Failed { error: "x".into() },
        RolledBack,
        Some(RolledBack),
        false,
    );
}

#[test]
fn conclude_sets_outcome_and_passed_from_the_decision() {
    let mut report = promoted_canary(&RUN_A);
    assert_eq!(
        (report.outcome, report.passed),
        (Some(Outcome::Promoted), true)
    );
    let decision = report.decision.clone();
    report.conclude(RunStatus::Interrupted, decision.clone());
    assert_eq!(
        (report.outcome, report.passed),
        (Some(Outcome::Promoted), false)
    );
    report.conclude(RunStatus::Completed, None);
    assert_eq!(
        (report.outcome, report.passed, report.decision.as_ref()),
        (None, false, None)
    );
    report.expected = Outcome::RolledBack;
    report.conclude(RunStatus::Completed, decision);
    assert_eq!(
        (report.outcome, report.passed),
        (Some(Outcome::Promoted), false)
    );
}

/// Every object key of a JSON value.
fn keys(value: &serde_json::Value, into: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                into.insert(key.clone());
                keys(inner, into);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| keys(item, into)),
        _ => {}
    }
}

#[test]
fn every_field_is_documented_in_the_schema() {
    const SCHEMA_DOC: &str = include_str!("../../../docs/report-schema.md");
    // Keys of the per-version and per-reason maps are data, not fields.
    let data_keys = ["v1.0.0", "v2.0.0", "default"];
    let mut found = BTreeSet::new();
    let mut counted = promoted_canary(&RUN_A);
    counted.pods = Some(PodCounts {
        peak_serving: Some(0),
        ..PodCounts::default()
    });
    // A window through a Gateway: classes, mirrored copies and their count.
    let tally = counted.windows[0].versions["v1.0.0"].clone();
    counted.windows[0].gateway = lab_core::analysis::GatewayTraffic {
        classes: [(
            "default".to_owned(),
            lab_core::analysis::ClassTally {
                share: 1.0,
                answers: [("v1.0.0".to_owned(), 1)].into(),
                failed: 0,
            },
        )]
        .into(),
        mirrored: [("v2.0.0".to_owned(), tally)].into(),
        copies: Some(lab_core::analysis::CopyCount {
            of_requests: 1,
            sent: [("v2.0.0".to_owned(), 1)].into(),
            partial: false,
        }),
        mirror_source: Some(lab_core::analysis::MirrorSource::Gateway),
    };
    for report in [counted, rolled_back_canary(&RUN_A)] {
        keys(&serde_json::to_value(&report).unwrap(), &mut found);
    }
    let failed = RunStatus::Failed {
        error: String::new(),
    };
    keys(&serde_json::to_value(failed).unwrap(), &mut found);
    let missing: Vec<&String> = found
        .iter()
        .filter(|key| !data_keys.contains(&key.as_str()))
        .filter(|key| !SCHEMA_DOC.contains(&format!("`{key}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "fields missing from docs/report-schema.md: {missing:?}"
    );
    assert!(
        found.len() > 80,
        "the fixture should exercise most fields, found {}",
        found.len()
    );
}

#[test]
fn the_json_form_is_pinned() {
    insta::assert_json_snapshot!("promoted_canary_report", promoted_canary(&RUN_A));
}
