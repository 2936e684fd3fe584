//! The comparison's rows, read from reports, and its files.

mod fixtures;

use lab_core::analysis::Outcome;
use lab_core::report::PodCounts;
use lab_report::compare::{COMPARE_SCHEMA_VERSION, Comparison, Row};

fn comparison() -> Comparison {
    let mut promoted = fixtures::promoted(true);
    promoted.pods = Some(PodCounts {
        steady: Some(10),
        peak: 14,
        peak_at_ms: 14_000,
        peak_serving: Some(12),
    });
    Comparison {
        schema_version: COMPARE_SCHEMA_VERSION,
        id: "compare-1".to_owned(),
        profile: "quick".to_owned(),
        platform: "local".to_owned(),
        language: lab_report::Language::English,
        rows: vec![
            Row::ran(&promoted, "../../runs/a/report.html".into(), Some(1)),
            Row::ran(
                &fixtures::rolled_back(),
                "../../runs/b/report.html".into(),
                Some(0),
            ),
            Row::failed("recreate", "lab run exited with 1".to_owned()),
        ],
    }
}

#[test]
fn rows_come_from_the_reports() {
    let c = comparison();
    let promoted = c.rows[0].measures.as_ref().expect("measures");
    assert_eq!(promoted.outcome, Some(Outcome::Promoted));
    assert_eq!(promoted.decision_to_last_candidate_ms, None);
    assert!(promoted.exposure_requests > 0, "{promoted:?}");
    // Measured in the run, with the plan's figure beside it.
    assert_eq!(promoted.peak_pods_above_steady, Some(2));
    assert_eq!(promoted.peak_pods_per_steady, Some(1.2));
    assert_eq!(promoted.peak_pods_with_terminating_above_steady, Some(4));
    assert_eq!(promoted.planned_peak_pods_above_steady, Some(1));
    let rolled_back = c.rows[1].measures.as_ref().expect("measures");
    assert_eq!(rolled_back.outcome, Some(Outcome::RolledBack));
    assert!(
        rolled_back.decision_to_last_candidate_ms.is_some(),
        "{rolled_back:?}"
    );
    // A report without pod counts (as written before they were taken).
    assert_eq!(rolled_back.peak_pods_above_steady, None);
    assert_eq!(rolled_back.peak_pods_per_steady, None);
    assert!(c.rows[2].measures.is_none());
    assert_eq!(c.rows[2].error.as_deref(), Some("lab run exited with 1"));
}

#[test]
fn the_files_show_every_row_and_one_chart_per_measure() {
    let c = comparison();
    let md = c.markdown();
    assert!(md.contains("did not run: lab run exited with 1"), "{md}");
    assert!(md.contains("](../../runs/a/report.html)"), "{md}");
    assert!(
        md.contains("| 2, ×1.2 (1) | 4 |"),
        "measured peak, per steady pod, planned beside it, then with terminating pods: {md}"
    );
    assert!(
        md.contains(
            "Most pods for the fleet, terminating pods aside: canary, 1.2 times the steady state at once."
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "Counting pods still terminating, canary ran 4 more pods than the steady state at once"
        ),
        "{md}"
    );
    let html = c.html();
    assert_eq!(html.matches("<svg").count(), 6, "{html}");
    assert!(!html.contains("<script"), "self-contained and static");
    let korean = Comparison {
        language: lab_report::Language::Korean,
        ..c.clone()
    };
    assert!(korean.markdown().starts_with("# 배포 전략 비교"));
    assert!(korean.html().contains("<html lang=\"ko\">"));
    let back: Comparison = serde_json::from_str(&c.to_json_pretty()).expect("round trip");
    assert_eq!(back, c);
}

#[test]
fn scenarios_tied_for_the_most_pods_are_all_named() {
    let fleet = |scenario: &str, steady: u32, serving: u32, all: u32| {
        let mut report = fixtures::promoted(true);
        report.scenario = scenario.to_owned();
        report.pods = Some(PodCounts {
            steady: Some(steady),
            peak: all,
            peak_at_ms: 1_000,
            peak_serving: Some(serving),
        });
        Row::ran(&report, format!("../../runs/{scenario}/report.html"), None)
    };
    let c = Comparison {
        rows: vec![
            fleet("blue-green", 3, 6, 6),
            fleet("ramped", 10, 11, 20),
            fleet("shadow", 2, 4, 4),
            fleet("canary", 10, 10, 19),
        ],
        ..comparison()
    };
    let summary = c.summary().join("\n");
    assert!(
        summary.contains(
            "Most pods for the fleet, terminating pods aside: blue-green, shadow, 2.0 times the steady state at once."
        ),
        "{summary}"
    );
    assert!(
        summary.contains("Counting pods still terminating, ramped ran 10 more pods"),
        "{summary}"
    );
}
