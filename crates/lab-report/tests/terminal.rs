//! The terminal's end summary: the same words in English as always (the result
//! line is the report's own title), the same facts in Korean, where the
//! result line and the decision's reason read as the Korean report says them.

mod fixtures;

use lab_report::Language;
use lab_report::terminal::summary;
use std::path::Path;

const RUN_DIR: &str = "target/lab/runs/20261126T045836Z-canary";

fn text(report: &lab_core::report::Report, language: Language) -> String {
    let summary = summary(report, Path::new(RUN_DIR), language);
    format!(
        "{}\n--- result\n{}",
        summary.details.join("\n"),
        summary.result.join("\n")
    )
}

#[test]
fn the_english_summary_says_what_the_report_says() {
    for report in [
        fixtures::promoted(true),
        fixtures::rolled_back(),
        fixtures::empty(),
    ] {
        let summary = summary(&report, Path::new(RUN_DIR), Language::English);
        let title = lab_report::markdown(&report)
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("# ")
            .to_string();
        assert_eq!(
            summary.result[0], title,
            "the result line is the report's title"
        );
        assert_eq!(
            summary.result.last().unwrap(),
            &format!("          {RUN_DIR}/report.md (and junit.xml, the charts as SVG)")
        );
    }
}

#[test]
fn the_korean_summary_says_what_the_korean_report_says() {
    for report in [
        fixtures::promoted(true),
        fixtures::rolled_back(),
        fixtures::empty(),
    ] {
        let summary = summary(&report, Path::new(RUN_DIR), Language::Korean);
        let markdown = lab_report::markdown_in(&report, Language::Korean, None);
        let title = markdown.lines().next().unwrap().trim_start_matches("# ");
        assert_eq!(summary.result[0], title);
        if let Some(decision) = report.decision.as_ref() {
            // The decision's reason, as the report's decision paragraph says it.
            let reason = summary.result[1].trim();
            assert!(
                markdown.contains(&format!(
                    "**{}**: {reason}",
                    if decision.outcome == lab_core::analysis::Outcome::Promoted {
                        "승격"
                    } else {
                        "롤백"
                    }
                )),
                "{reason}"
            );
        }
    }
}

#[test]
fn summaries_in_english_and_korean() {
    insta::assert_snapshot!(
        "promoted_en",
        text(&fixtures::promoted(true), Language::English)
    );
    insta::assert_snapshot!(
        "promoted_ko",
        text(&fixtures::promoted(true), Language::Korean)
    );
    insta::assert_snapshot!(
        "rolled_back_en",
        text(&fixtures::rolled_back(), Language::English)
    );
    insta::assert_snapshot!(
        "rolled_back_ko",
        text(&fixtures::rolled_back(), Language::Korean)
    );
}

/// The decision's event line tells the reason from the decision's cause and
/// gates, as the summary and the report do: Korean in a Korean run, lab-core's
/// sentence in an English one.
#[test]
fn the_decision_line_tells_its_reason_in_the_run_s_language() {
    use lab_core::run_event::{RunEvent, Timed};
    use lab_report::terminal::event_line;
    let report = fixtures::rolled_back();
    let plan = fixtures::canary_plan();
    let decision = report.decision.clone().unwrap();
    let timed = Timed {
        t_ms: 1_000,
        event: RunEvent::Decision {
            outcome: decision.outcome,
            reason: decision.reason.clone(),
            decision: Some(Box::new(decision.clone())),
        },
    };
    let english = event_line(&timed, Some(&plan), Language::English).unwrap();
    assert!(english.ends_with(&decision.reason), "{english}");
    let korean = event_line(&timed, Some(&plan), Language::Korean).unwrap();
    let summary = text(&report, Language::Korean);
    let told = korean.split_once("결정: 롤백: ").map(|(_, r)| r).unwrap();
    assert!(!told.contains(&decision.reason), "{korean}");
    assert!(summary.contains(told), "{korean}\n{summary}");
    assert!(told.chars().any(|c| ('가'..='힣').contains(&c)), "{told}");
}
