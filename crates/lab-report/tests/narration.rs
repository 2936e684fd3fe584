//! Every step of every shipped scenario is narrated in both languages, and
//! the narration tells the tutorial's story: selectors, pod counts, splits.

#[path = "../../lab-core/tests/scenario_support/mod.rs"]
mod scenario_support;

use lab_core::plan::{Overrides, Plan, ProfileName, Step};
use lab_core::report::Section;
use lab_core::scenario::DEFINITION_FILE;
use lab_report::{Language, narrate};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lab/scenarios")
}

/// A shipped scenario's plan at a profile's pace.
fn plan(name: &str, profile: ProfileName) -> Plan {
    scenario_support::shipped_plan(name, profile, &Overrides::default())
}

fn shipped() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().join(DEFINITION_FILE).is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn hangul(text: &str) -> bool {
    text.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c))
}

/// The kind of a step; a new kind breaks this match, and so this test.
fn kind(step: &Step) -> &'static str {
    match step {
        Step::Apply { .. } => "apply",
        Step::Scale { .. } => "scale",
        Step::Delete { .. } => "delete",
        Step::SwitchSelector { .. } => "switch",
        Step::WaitReady { .. } => "wait",
        Step::Observe { .. } => "observe",
        Step::Analyze { .. } => "analyze",
    }
}

#[test]
fn every_step_of_every_shipped_scenario_is_narrated_in_both_languages() {
    let names = shipped();
    assert!(names.len() >= 8, "{names:?}");
    let mut kinds = BTreeSet::new();
    for name in &names {
        for profile in ProfileName::ALL {
            let plan = plan(name, profile);
            for (section, steps) in [
                (Section::Main, &plan.steps),
                (Section::Rollback, &plan.rollback),
            ] {
                for (i, step) in steps.iter().enumerate() {
                    kinds.insert(kind(step));
                    for language in Language::ALL {
                        let where_ = format!("{name} {section:?} step {} in {language}", i + 1);
                        let narration = narrate(&plan, section, i, language)
                            .unwrap_or_else(|| panic!("{where_}: no narration"));
                        assert!(
                            (2..=3).contains(&narration.lines.len()),
                            "{where_}: {:?}",
                            narration.lines
                        );
                        assert_eq!(narration.kubectl, step.kubectl(), "{where_}");
                        for line in &narration.lines {
                            assert!(line.len() > 20, "{where_}: {line:?}");
                            assert_eq!(
                                hangul(line),
                                language == Language::Korean,
                                "{where_}: {line:?}"
                            );
                        }
                        assert_eq!(hangul(&narration.heading), language == Language::Korean);
                    }
                }
                assert!(narrate(&plan, section, steps.len(), Language::English).is_none());
            }
        }
    }
    let all: BTreeSet<&str> = [
        "apply", "scale", "delete", "switch", "wait", "observe", "analyze",
    ]
    .into();
    assert_eq!(kinds, all, "the shipped scenarios use every kind of step");
}

/// A scenario's step (main section, from 1) says all of `expected`.
fn check(scenario: &str, section: Section, step: usize, language: Language, expected: &[&str]) {
    let plan = plan(scenario, ProfileName::Quick);
    let narration = narrate(&plan, section, step - 1, language).unwrap();
    let text = narration.lines.join("\n");
    for part in expected {
        assert!(
            text.contains(part),
            "{scenario} step {step} ({language}) should say {part:?}:\n{text}"
        );
    }
}

#[test]
fn the_canary_is_told_in_the_tutorials_terms() {
    use Language::{English as En, Korean as Ko};
    use Section::{Main, Rollback};
    check(
        "canary",
        Main,
        1,
        En,
        &[
            "Service my-app",
            "my-app-v1 with 10 pods of v1.0.0",
            "`app: my-app` only, not by version",
            "readiness probe (GET /ready, port probe)",
        ],
    );
    check(
        "canary",
        Main,
        1,
        Ko,
        &[
            "my-app Service와 my-app-v1 Deployment(v1.0.0 버전 pod 10개)를 만듭니다",
            "`app: my-app` 라벨만 보고",
        ],
    );
    check(
        "canary",
        Main,
        4,
        En,
        &[
            "Create Deployment my-app-v2 with 1 pod of v2.0.0",
            "v1.0.0 90.9% (10 pods), v2.0.0 9.1% (1 pod)",
        ],
    );
    check(
        "canary",
        Main,
        5,
        En,
        &[
            "Scale Deployment my-app-v1 (v1.0.0) from 10 pods to 9",
            "pod counts set the split: v1.0.0 90% (9 pods), v2.0.0 10% (1 pod)",
        ],
    );
    check(
        "canary",
        Main,
        5,
        Ko,
        &[
            "my-app-v1 Deployment(v1.0.0)의 replicas를 10개에서 9개로",
            "v1.0.0 90% (pod 9개), v2.0.0 10% (pod 1개)",
        ],
    );
    check(
        "canary",
        Main,
        6,
        En,
        &["progress deadline and is rolled back"],
    );
    check(
        "canary",
        Main,
        7,
        En,
        &[
            "Judge v2.0.0",
            "about 10% of the requests",
            "success rate ≥ 99%",
            "p99 ≤ 500 ms",
            "fewer than 50 requests",
        ],
    );
    check(
        "canary",
        Main,
        7,
        Ko,
        &["v2.0.0 버전은 요청의 약 10%를 받습니다", "성공률 ≥ 99%"],
    );
    check(
        "canary",
        Main,
        9,
        En,
        &[
            "Delete Deployment my-app-v1 (v1.0.0, 9 pods)",
            "all traffic goes to v2.0.0 (10 pods)",
        ],
    );
    check(
        "canary",
        Main,
        9,
        Ko,
        &["모든 트래픽이 v2.0.0 버전(pod 10개)으로 갑니다"],
    );
    check(
        "canary",
        Main,
        11,
        En,
        &[
            "v2.0.0 100% (10 pods)",
            "sum(rate(http_requests_total{app=\"my-app\"}[2m])) by (version)",
        ],
    );
    check(
        "canary",
        Rollback,
        1,
        En,
        &[
            "Delete Deployment my-app-v2",
            "all traffic goes to v1.0.0 (9 pods)",
        ],
    );
    check(
        "canary",
        Rollback,
        2,
        En,
        &["from 9 pods to 10", "all traffic goes to v1.0.0 (10 pods)"],
    );
    check(
        "blue-green",
        Main,
        6,
        En,
        &["`app: my-app, version: v2.0.0`", "v2.0.0 (3 pods) at once"],
    );
    check(
        "blue-green",
        Main,
        4,
        En,
        &["which these pods do not match"],
    );
    check("blue-green", Main, 4, Ko, &["아직 트래픽을 받지 않습니다"]);
    check(
        "ramped",
        Main,
        4,
        En,
        &[
            "from v1.0.0 to v2.0.0",
            "RollingUpdate (maxSurge 1, maxUnavailable 0)",
        ],
    );
    check("recreate", Main, 4, En, &["With Recreate", "downtime"]);
    check("recreate", Main, 4, Ko, &["Recreate 전략", "다운타임"]);
}

#[test]
fn the_termination_race_is_told_where_the_template_says_how_pods_stop() {
    use Language::{English as En, Korean as Ko};
    use Section::Main;
    check(
        "ramped-no-prestop",
        Main,
        4,
        En,
        &[
            "SIGTERM at the same moment",
            "kube-proxy",
            "no preStop hook",
        ],
    );
    check(
        "ramped-no-prestop",
        Main,
        4,
        Ko,
        &["SIGTERM도 함께", "kube-proxy", "preStop 훅 없이"],
    );
    check(
        "ramped-prestop",
        Main,
        4,
        En,
        &["preStop hook (sleep 3s)", "SIGTERM comes only after it"],
    );
    check("ramped-prestop", Main, 4, Ko, &["preStop 훅(sleep 3s)"]);
    // A template that says nothing of its termination hears of the probe.
    check("ramped", Main, 4, En, &["readiness probe"]);
}

#[test]
fn languages_are_named_by_their_codes() {
    assert_eq!("en".parse(), Ok(Language::English));
    assert_eq!("ko".parse(), Ok(Language::Korean));
    assert_eq!(
        "fr".parse::<Language>(),
        Err("unknown language `fr`: expected en or ko".to_string())
    );
}

/// Everything the main steps of a scenario say, in `language`.
fn told(scenario: &str, language: Language) -> String {
    let plan = plan(scenario, ProfileName::Quick);
    (0..plan.steps.len())
        .filter_map(|i| narrate(&plan, Section::Main, i, language))
        .flat_map(|n| n.lines)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn routes_are_told_by_weight_header_and_mirror() {
    for (scenario, language, expected) in [
        (
            "canary-weighted",
            Language::English,
            &[
                "my-app-v1 90% (10 pods), my-app-v2 10% (1 pod)",
                "A weight is a share of requests, not of pods",
                "it draws about 10% of the requests without the targeted headers",
            ][..],
        ),
        (
            "canary-weighted",
            Language::Korean,
            &["my-app-v2 10% (pod 1개)", "요청의 몫"][..],
        ),
        (
            "ab-testing",
            Language::English,
            &[
                "Requests with `X-API-Version: v2.0.0` go to my-app-v2",
                "picks a group of users, not a percentage",
            ][..],
        ),
        (
            "shadow",
            Language::English,
            &[
                "sends a copy of 100% of these requests to my-app-v2 and drops its answers",
                "it answers only copies (100% of the requests)",
            ][..],
        ),
        (
            "shadow",
            Language::Korean,
            &["응답은 버립니다", "복사본(100%)"][..],
        ),
    ] {
        let text = told(scenario, language);
        for part in expected {
            assert!(
                text.contains(part),
                "{scenario} ({language}) should say {part:?}:\n{text}"
            );
        }
        // Nothing is said of a Service the entry is not, in either language.
        for no_service in [
            "No Service my-gateway",
            "아직 my-gateway Service가 없으므로",
        ] {
            assert!(!text.contains(no_service), "{text}");
        }
    }
}
