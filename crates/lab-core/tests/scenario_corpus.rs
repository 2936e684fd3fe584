//! Malformed scenarios, each a folder under `tests/scenario_corpus/`, pinned to the
//! exact problems `parse` reports for it (every one of them, in order).

mod scenario_support;

use std::path::Path;

/// What `parse` says about a folder: `ok` or one problem per line.
fn check(dir: &Path) -> String {
    let case = scenario_support::name(dir);
    let source = scenario_support::read(dir, &case);
    match lab_core::scenario::parse(&source) {
        Ok(_) => "ok".to_owned(),
        Err(problems) => problems.to_string(),
    }
}

#[test]
fn every_case_reports_its_problems() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenario_corpus");
    let cases = scenario_support::folders(&corpus);
    assert!(
        cases.len() >= 15,
        "the corpus has only {} cases",
        cases.len()
    );
    for case in cases {
        let name = scenario_support::name(&case);
        insta::assert_snapshot!(name.as_str(), check(&case));
    }
}

#[test]
fn only_the_valid_case_parses() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenario_corpus");
    let valid: Vec<String> = scenario_support::folders(&corpus)
        .iter()
        .filter(|case| check(case) == "ok")
        .map(|case| scenario_support::name(case))
        .collect();
    assert_eq!(valid, ["valid-minimal"]);
}
