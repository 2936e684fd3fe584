//! junit.xml has the common JUnit shape and counts that add up.

mod fixtures;
mod xml_support;

use lab_core::report::{Report, RunStatus};
use xml_support::{Element, parse};

/// The testcases' names with how each ended: `pass`, `failure` or `skipped`.
fn outcomes(suite: &Element) -> Vec<(String, &'static str)> {
    suite
        .find_all("testcase")
        .iter()
        .map(|case| {
            let children: Vec<&str> = case.elements().iter().map(|e| e.name.as_str()).collect();
            let how = match children.as_slice() {
                ["system-out"] => "pass",
                ["failure"] => "failure",
                ["skipped"] => "skipped",
                other => panic!("unexpected children {other:?}"),
            };
            (case.attr("name").unwrap().to_string(), how)
        })
        .collect()
}

fn count(outcomes: &[(String, &str)], how: &str) -> String {
    outcomes
        .iter()
        .filter(|(_, h)| *h == how)
        .count()
        .to_string()
}

/// Check the shape and the counts, and return the outcomes.
fn check(report: &Report) -> Vec<(String, &'static str)> {
    let xml = lab_report::junit(report);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let root = parse(&xml);
    assert_eq!(root.name, "testsuites");
    let suites = root.elements();
    assert_eq!(
        suites.iter().filter(|e| e.name == "testsuite").count(),
        1,
        "one suite per run"
    );
    let suite = suites.iter().find(|e| e.name == "testsuite").unwrap();
    assert_eq!(suite.attr("name"), Some(report.scenario.as_str()));
    let outcomes = outcomes(suite);
    for element in [&root, *suite] {
        assert_eq!(
            element.attr("tests"),
            Some(outcomes.len().to_string().as_str())
        );
        assert_eq!(
            element.attr("failures"),
            Some(count(&outcomes, "failure").as_str())
        );
        assert_eq!(
            element.attr("skipped"),
            Some(count(&outcomes, "skipped").as_str())
        );
        assert_eq!(element.attr("errors"), Some("0"));
        assert!(element.attr("time").unwrap().parse::<f64>().is_ok());
    }
    for case in suite.find_all("testcase") {
        for attribute in ["name", "classname", "time"] {
            assert!(case.attr(attribute).is_some(), "{attribute} on {case:?}");
        }
        assert!(case.attr("time").unwrap().parse::<f64>().unwrap() >= 0.0);
        for failure in case.find_all("failure") {
            assert!(!failure.attr("message").unwrap().is_empty());
            assert!(failure.texts().concat().contains("source:"));
        }
        for skipped in case.find_all("skipped") {
            assert!(!skipped.attr("message").unwrap().is_empty());
        }
        for output in case.find_all("system-out") {
            assert!(output.texts().concat().contains("source:"));
        }
    }
    outcomes
}

fn find<'a>(outcomes: &'a [(String, &'static str)], name: &str) -> &'a str {
    outcomes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, h)| *h)
        .unwrap_or_else(|| panic!("no testcase {name:?} in {outcomes:?}"))
}

#[test]
fn a_promoted_canary_passes_every_testcase() {
    let outcomes = check(&fixtures::promoted(true));
    assert_eq!(find(&outcomes, "expected outcome: promoted"), "pass");
    assert_eq!(find(&outcomes, "gate success_rate (v2.0.0)"), "pass");
    assert_eq!(find(&outcomes, "gate restarts (v2.0.0)"), "pass");
    // 1 outcome + 4 gates + splits (baseline 1, canary 2, promoted 1) + the
    // same cross-checks; transitions are not judged.
    assert_eq!(outcomes.len(), 1 + 4 + 4 + 4);
    assert!(outcomes.iter().all(|(_, h)| *h == "pass"), "{outcomes:?}");
}

#[test]
fn a_rolled_back_canary_fails_its_gate_as_expected_and_passes() {
    let report = fixtures::rolled_back();
    let outcomes = check(&report);
    assert_eq!(find(&outcomes, "expected outcome: rolled back"), "pass");
    // The failing gate is what the scenario is for: the run is green.
    assert_eq!(find(&outcomes, "gate success_rate (v2.0.0)"), "pass");
    assert!(
        outcomes.iter().all(|(_, h)| *h != "failure"),
        "{outcomes:?}"
    );
    assert!(lab_report::junit(&report).contains("failed, as the scenario expects"));
}

#[test]
fn a_gate_that_fails_where_promotion_was_expected_is_a_failure() {
    let mut missed = fixtures::rolled_back();
    missed.expected = lab_core::analysis::Outcome::Promoted;
    missed.conclude(RunStatus::Completed, missed.decision.clone());
    let outcomes = check(&missed);
    assert_eq!(find(&outcomes, "gate success_rate (v2.0.0)"), "failure");
    assert_eq!(find(&outcomes, "expected outcome: promoted"), "failure");
}

#[test]
fn without_prometheus_cross_checks_are_skipped() {
    let outcomes = check(&fixtures::promoted(false));
    let cross: Vec<&str> = outcomes
        .iter()
        .filter(|(n, _)| n.starts_with("cross-check"))
        .map(|(_, h)| *h)
        .collect();
    assert_eq!(cross, ["skipped"; 4]);
    assert_eq!(find(&outcomes, "expected outcome: promoted"), "pass");
}

#[test]
fn a_run_that_missed_its_outcome_or_stopped_fails_the_outcome_testcase() {
    let mut missed = fixtures::rolled_back();
    missed.expected = lab_core::analysis::Outcome::Promoted;
    missed.conclude(RunStatus::Completed, missed.decision.clone());
    assert_eq!(
        find(&check(&missed), "expected outcome: promoted"),
        "failure"
    );

    let empty = fixtures::empty();
    let outcomes = check(&empty);
    assert_eq!(
        outcomes,
        [("expected outcome: promoted".to_string(), "failure")]
    );
    let xml = lab_report::junit(&empty);
    assert!(xml.contains("the run was interrupted before it finished"));
}

#[test]
fn names_and_messages_are_escaped() {
    let mut report = fixtures::rolled_back();
    // Expecting a promotion, the failed gate is a failure with its message.
    report.expected = lab_core::analysis::Outcome::Promoted;
    report.scenario = "bad <canary> & \"friends\"".to_string();
    report.windows[3].gates[0].explanation = "50% < 99% & \u{7} 'odd'\nsecond line".to_string();
    let outcomes = check(&report);
    assert!(!outcomes.is_empty());
    let root = parse(&lab_report::junit(&report));
    let failure = root.find_all("failure")[0];
    assert_eq!(
        failure.attr("message"),
        Some("50% < 99% & \u{FFFD} 'odd'\nsecond line")
    );
}
