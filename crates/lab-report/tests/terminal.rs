//! The terminal's end summary: the same words in English as always (the result
//! line is the report's own title), the same facts in Korean.

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
