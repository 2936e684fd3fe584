//! report.md, pinned for fixed reports, and kept in step with report.html.

mod fixtures;
mod xml_support;

use lab_core::report::Report;
use lab_report::Language;

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

#[test]
fn a_rolled_back_canary_reads_as_pinned_in_korean() {
    insta::assert_snapshot!(
        "rolled_back_canary_ko",
        lab_report::markdown_in(
            &fixtures::rolled_back(),
            Language::Korean,
            Some(&fixtures::canary_plan())
        )
    );
}

#[test]
fn a_promoted_canary_reads_as_pinned_in_korean() {
    insta::assert_snapshot!(
        "promoted_canary_ko",
        lab_report::markdown_in(
            &fixtures::promoted(true),
            Language::Korean,
            Some(&fixtures::canary_plan())
        )
    );
}

#[test]
fn a_run_without_prometheus_or_traffic_reads_as_pinned_in_korean() {
    insta::assert_snapshot!(
        "empty_run_ko",
        lab_report::markdown_in(
            &fixtures::empty(),
            Language::Korean,
            Some(&fixtures::canary_plan())
        )
    );
}

/// The gates' names, which every language writes as they are.
const GATES: [&str; 4] = ["success_rate", "p99_latency", "p99_vs_baseline", "restarts"];

/// The English words of a rendering of `report` that are not the run's own
/// text: after the run's names, commands and free text are taken out, only
/// the tutorial's English terms and the scenario's object names may remain in
/// a Korean report.
fn english_words(markdown: &str, report: &Report) -> Vec<String> {
    let mut text = markdown.to_string();
    let mut free: Vec<&str> = vec![
        &report.description,
        &report.scenario,
        &report.platform,
        &report.profile,
    ];
    free.extend(report.windows.iter().map(|w| w.name.as_str()));
    free.extend(report.events.iter().map(|e| e.reason.as_str()));
    free.extend(report.notes.iter().map(String::as_str));
    free.extend(GATES);
    free.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in free {
        text = text.replace(s, "");
    }
    // Code spans (commands, queries) and the charts' file names.
    let mut kept = String::new();
    let mut in_code = false;
    for c in text.chars() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code {
            kept.push(c);
        }
    }
    text = kept
        .split("](")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                part.split_once(')').map_or(part, |(_, rest)| rest)
            }
        })
        .collect();
    let allowed = [
        "Prometheus",
        "Wilson",
        "baseline",
        "max",
        "increase",
        "pod",
        "kubectl",
        // Kubernetes' own words, as the tutorial writes them in Korean.
        "Deployment",
        "Service",
        "replicas",
        "rollout",
        "progress",
        "deadline",
        // The scenario's objects and files: `my-app-v1`, `app-v1.yaml`.
        "app",
        "yaml",
    ];
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 3 && !allowed.contains(w))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_korean_report_says_nothing_in_english_of_its_own() {
    for report in [
        fixtures::promoted(true),
        fixtures::promoted(false),
        fixtures::rolled_back(),
        fixtures::empty(),
    ] {
        let english = lab_report::markdown(&report);
        let korean =
            lab_report::markdown_in(&report, Language::Korean, Some(&fixtures::canary_plan()));
        // The check can fail: the English report is full of such words.
        assert!(english_words(&english, &report).len() > 50);
        assert_eq!(english_words(&korean, &report), Vec::<String>::new());
        for heading in english.lines().filter(|l| l.starts_with("## ")) {
            assert!(!korean.contains(heading), "{heading} in the Korean report");
        }
    }
}
