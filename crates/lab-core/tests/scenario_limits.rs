//! Every size a scenario can set has a limit (`lab_core::limits`): the shipped
//! canary, pushed just past each one, gets exactly one problem, with its place.

mod scenario_support;

use lab_core::limits;
use lab_core::scenario::{ScenarioSource, SourceFile, parse};

fn canary() -> ScenarioSource {
    let dir = scenario_support::repo_root().join("lab/scenarios/canary");
    let mut source = scenario_support::read(&dir, "canary");
    source.files.retain(|file| file.name != "README.md");
    source
}

fn file<'a>(source: &'a mut ScenarioSource, name: &str) -> &'a mut String {
    &mut source
        .files
        .iter_mut()
        .find(|file| file.name == name)
        .unwrap()
        .text
}

/// The canary changed by `change` reports exactly `expected`.
fn check(change: impl FnOnce(&mut ScenarioSource), expected: &str) {
    let mut source = canary();
    change(&mut source);
    let problems = parse(&source).expect_err(expected).to_string();
    assert_eq!(problems, expected);
}

#[test]
fn the_canary_is_within_every_limit() {
    assert!(parse(&canary()).is_ok());
}

#[test]
fn a_file_over_the_size_limit_is_not_parsed() {
    check(
        |source| {
            let padding = "# padding\n".repeat(30_000);
            file(source, "app-v2.yaml").push_str(&padding);
        },
        "canary/app-v2.yaml:1:1: 294.4 KiB is more than the lab's limit for a scenario file (256 KiB)",
    );
}

#[test]
fn a_folder_over_the_size_limit_is_not_parsed() {
    check(
        |source| {
            for n in 0..5 {
                source.files.push(SourceFile {
                    name: format!("extra-{n}.yaml"),
                    text: "# padding\n".repeat(25_000),
                });
            }
        },
        "canary/app-v1.yaml:1:1: 1.2 MiB of scenario files is more than the lab's limit for a folder (1 MiB)",
    );
}

#[test]
fn too_many_manifest_files_are_refused() {
    check(
        |source| {
            for n in 0..limits::MAX_MANIFEST_FILES {
                source.files.push(SourceFile {
                    name: format!("extra-{n:02}.yaml"),
                    text: "# nothing\n".to_owned(),
                });
            }
        },
        "canary/app-v1.yaml:1:1: 18 manifest files in this folder, more than the lab's limit (16)",
    );
}

#[test]
fn too_many_objects_in_a_file_are_refused() {
    check(
        |source| {
            let text = file(source, "app-v2.yaml");
            let copy = text.clone();
            for _ in 0..limits::MAX_OBJECTS_PER_FILE {
                text.push_str("---\n");
                text.push_str(&copy);
            }
        },
        "canary/app-v2.yaml:2049:1: 33 objects in this file, more than the lab's limit (32)",
    );
}

#[test]
fn too_many_steps_are_refused_without_a_cascade() {
    check(
        |source| {
            let text = file(source, "scenario.toml");
            let at = text.find("[[rollback]]").unwrap();
            text.insert_str(at, &"[[steps]]\nwait = \"x\"\n".repeat(limits::MAX_STEPS));
        },
        "canary/scenario.toml:226:1: [[steps]] has 111 steps, more than the lab's limit (100): split the scenario",
    );
    check(
        |source| {
            let text = file(source, "scenario.toml");
            text.push_str(&"[[rollback]]\nwait = \"x\"\n".repeat(limits::MAX_STEPS));
        },
        "canary/scenario.toml:252:1: [[rollback]] has 104 steps, more than the lab's limit (100): split the scenario",
    );
}

#[test]
fn replicas_phases_and_waits_have_limits() {
    check(
        |source| {
            let text = file(source, "app-v1.yaml");
            *text = text.replacen("replicas: 10", "replicas: 1001", 1);
        },
        "canary/app-v1.yaml:25:3: deployment my-app-v1: 1001 replicas is more than the lab's limit (1000)",
    );
    check(
        |source| {
            let text = file(source, "scenario.toml");
            *text = text.replacen("replicas = 9", "replicas = 2147483647", 1);
        },
        "canary/scenario.toml:24:12: `replicas`: 2147483647 replicas is more than the lab's limit (1000)",
    );
    check(
        |source| {
            let text = file(source, "scenario.toml");
            *text = text.replacen(
                "observe = \"baseline\"",
                "observe = \"baseline\"\nfor = \"61m\"",
                1,
            );
        },
        "canary/scenario.toml:16:7: `for`: 1h 1m is longer than the lab's longest phase (1h)",
    );
    check(
        |source| {
            let text = file(source, "scenario.toml");
            *text = text.replacen(
                "wait = [\"my-app-v1\"]",
                "wait = [\"my-app-v1\"]\ntimeout = \"2h\"",
                1,
            );
        },
        "canary/scenario.toml:13:11: `timeout`: 2h is longer than the lab's longest wait (1h)",
    );
}
