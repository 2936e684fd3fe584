//! The charts parse as SVG, draw one series per version, and survive reports
//! with nothing in them.

mod fixtures;
mod xml_support;

use lab_core::report::Report;
use lab_report::Language;
use std::collections::BTreeMap;
use xml_support::{Element, parse};

/// How many series each version has in a chart.
fn series_per_version(svg: &Element) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for e in svg.descendants() {
        if matches!(e.name.as_str(), "path" | "polyline") && e.attr("class") == Some("series") {
            let version = e.attr("data-version").expect("a series names its version");
            *counts.entry(version.to_string()).or_default() += 1;
        }
    }
    counts
}

/// Each chart by name, with its versions and their series counts.
fn check(report: &Report, expected: &[(&str, &[&str])]) {
    let charts = lab_report::charts(report);
    let names: Vec<&str> = charts.iter().map(|c| c.name).collect();
    let expected_names: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, expected_names);
    for (chart, (_, versions)) in charts.iter().zip(expected) {
        let svg = parse(&chart.svg);
        assert_eq!(svg.name, "svg", "{}", chart.name);
        assert_eq!(
            svg.attr("xmlns"),
            Some("http://www.w3.org/2000/svg"),
            "{}",
            chart.name
        );
        assert!(svg.attr("viewBox").is_some(), "{}", chart.name);
        let titles = svg.find_all("title");
        assert_eq!(titles.len(), 1, "{}", chart.name);
        assert_eq!(titles[0].texts().concat(), chart.title);
        let wanted: BTreeMap<String, usize> =
            versions.iter().map(|v| ((*v).to_string(), 1)).collect();
        assert_eq!(series_per_version(&svg), wanted, "{}", chart.name);
        // No script, no external reference: the file stands alone.
        for e in svg.descendants() {
            assert_ne!(e.name, "script", "{}", chart.name);
            for (name, value) in &e.attributes {
                assert!(
                    !name.contains("href") && !value.contains("url(http"),
                    "{}: {name}={value}",
                    chart.name
                );
            }
        }
    }
}

const BOTH: &[&str] = &["v1.0.0", "v2.0.0"];

#[test]
fn a_promoted_canary_has_every_chart_with_a_series_per_version() {
    check(
        &fixtures::promoted(true),
        &[
            ("requests", BOTH),
            ("requests-prometheus", BOTH),
            ("share", BOTH),
            ("errors", BOTH),
            ("ready", BOTH),
        ],
    );
}

#[test]
fn without_prometheus_the_server_chart_is_left_out() {
    check(
        &fixtures::promoted(false),
        &[
            ("requests", BOTH),
            ("share", BOTH),
            ("errors", BOTH),
            ("ready", BOTH),
        ],
    );
}

#[test]
fn a_run_without_traffic_or_timeline_still_draws_empty_charts() {
    let report = fixtures::empty();
    check(
        &report,
        &[
            ("requests", &[]),
            ("share", &[]),
            ("errors", &[]),
            ("ready", &[]),
        ],
    );
    let ready = lab_report::ready_chart(&report, Language::English);
    assert!(ready.svg.contains("no ready endpoints were sampled"));
}

#[test]
fn an_empty_timeline_alone_does_not_stop_the_other_charts() {
    let mut report = fixtures::promoted(true);
    report.timeline.clear();
    let charts = lab_report::charts(&report);
    assert_eq!(charts.len(), 5);
    assert_eq!(series_per_version(&parse(&charts[4].svg)), BTreeMap::new());
    assert_eq!(series_per_version(&parse(&charts[0].svg)).len(), 2);
}

#[test]
fn steps_and_the_decision_are_marked_and_phases_shaded() {
    let report = fixtures::promoted(true);
    let svg = parse(&lab_report::requests_chart(&report, Language::English).svg);
    let texts = svg.texts();
    for label in [
        "4: apply app-v2.yaml",
        "5: scale my-app-v1 to 9",
        "8: scale my-app-v2 to 10",
        "9: delete my-app-v1",
        "decided: promote",
        "baseline",
        "canary (analyze)",
        "promoted",
        "requests/s",
    ] {
        assert!(texts.iter().any(|t| t == label), "{label} in {texts:?}");
    }
    let markers = svg
        .descendants()
        .into_iter()
        .filter(|e| e.attr("class") == Some("marker"))
        .count();
    // Steps 1, 4, 5, 8 and 9 change the cluster; waits and phases do not. Plus
    // the decision.
    assert_eq!(markers, 6);
    let phases = svg
        .descendants()
        .into_iter()
        .filter(|e| e.attr("class") == Some("phase"))
        .count();
    assert_eq!(phases, 3);
}

#[test]
fn a_rolled_back_canary_marks_the_rollback_steps() {
    let report = fixtures::rolled_back();
    let svg = parse(&lab_report::requests_chart(&report, Language::English).svg);
    let texts = svg.texts();
    for label in [
        "decided: roll back",
        "r1: delete my-app-v2",
        "r2: scale my-app-v1 to 10",
    ] {
        assert!(texts.iter().any(|t| t == label), "{label} in {texts:?}");
    }
    assert!(!texts.iter().any(|t| t.starts_with("8: ")), "{texts:?}");
}

#[test]
fn versions_keep_their_colour_in_every_chart() {
    let report = fixtures::promoted(true);
    for chart in lab_report::charts(&report) {
        let svg = parse(&chart.svg);
        for e in svg.descendants() {
            if e.attr("class") != Some("series") {
                continue;
            }
            let colour = e.attr("stroke").unwrap();
            let expected = match e.attr("data-version").unwrap() {
                "v1.0.0" => "#1f77b4",
                "v2.0.0" => "#ff7f0e",
                other => panic!("unexpected version {other}"),
            };
            assert_eq!(colour, expected, "{}", chart.name);
        }
    }
}
