//! report.md, pinned for fixed reports, and kept in step with report.html.

mod fixtures;
mod xml_support;

use lab_core::report::Report;

#[test]
fn a_promoted_canary_reads_as_pinned() {
    insta::assert_snapshot!(
        "promoted_canary",
        lab_report::markdown(&fixtures::promoted(true))
    );
}

#[test]
fn a_rolled_back_canary_reads_as_pinned() {
    insta::assert_snapshot!(
        "rolled_back_canary",
        lab_report::markdown(&fixtures::rolled_back())
    );
}

#[test]
fn a_run_without_prometheus_or_traffic_reads_as_pinned() {
    insta::assert_snapshot!("empty_run", lab_report::markdown(&fixtures::empty()));
}

/// The headings and the number of tables of both renderings.
fn outline(report: &Report) -> ((Vec<String>, usize), (Vec<String>, usize)) {
    let markdown = lab_report::markdown(report);
    let md_headings: Vec<String> = markdown
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim().to_string())
        .collect();
    let md_tables = markdown.lines().filter(|l| l.starts_with("|---")).count();
    let root = xml_support::parse(lab_report::html(report).trim_start_matches("<!DOCTYPE html>"));
    let html_headings: Vec<String> = root
        .descendants()
        .into_iter()
        .filter(|e| matches!(e.name.as_str(), "h1" | "h2" | "h3"))
        .map(|e| e.texts().concat())
        .collect();
    let html_tables = root.find_all("table").len();
    ((md_headings, md_tables), (html_headings, html_tables))
}

#[test]
fn markdown_and_html_say_the_same() {
    for report in [
        fixtures::promoted(true),
        fixtures::promoted(false),
        fixtures::rolled_back(),
        fixtures::empty(),
    ] {
        let (markdown, html) = outline(&report);
        assert_eq!(markdown, html);
        assert!(markdown.0.len() > 3);
    }
}
