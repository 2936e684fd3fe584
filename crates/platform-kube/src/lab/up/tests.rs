//! Tests of `lab up`: carrying out steps, the password, the requirements.

use super::*;
use crate::lab::state::write_file;
use std::path::PathBuf;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn password_file_is_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let (first, new) = grafana_password(dir.path()).unwrap();
    assert!(new);
    write_file(&dir.path().join(PASSWORD_FILE), first.as_bytes(), 0o600).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join(PASSWORD_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(grafana_password(dir.path()).unwrap(), (first, false));
}

fn sh(script: &str) -> ExternalCommand {
    ExternalCommand::new("sh", &["-c", script])
}

#[tokio::test]
async fn steps_skip_what_is_done_and_fall_back_when_a_command_fails() {
    let dir = tempfile::tempdir().unwrap();
    let run = |what: &str, command, skip_if, fallback| Step::Run {
        what: what.into(),
        command,
        skip_if,
        fallback,
    };
    let plan = UpPlan {
        provider: Provider::Kind,
        steps: vec![
            run(
                "done already",
                sh("echo skipped >> log"),
                Some(Probe::Succeeds(sh("true"))),
                vec![],
            ),
            run(
                "fails, then works another way",
                sh("echo first >> log; exit 1"),
                Some(Probe::PrintsLine(
                    sh("echo other-cluster"),
                    "canary-lab".into(),
                )),
                vec![sh("echo second >> log"), sh("echo third >> log")],
            ),
            run("runs", sh("echo fourth >> log"), None, vec![]),
            Step::Record,
        ],
        demo_app_image: "canary-lab/demo-app:1".into(),
        loadgen_image: "canary-lab/loadgen:2".into(),
        scrape_interval: Duration::from_secs(5),
    };
    let mut progress = Vec::new();
    let state = run_up(&plan, dir.path(), "unused", &mut progress)
        .await
        .unwrap();
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert_eq!(log, "first\nsecond\nthird\nfourth\n");
    assert_eq!(LabState::load(dir.path()).unwrap(), Some(state));
    let progress = String::from_utf8(progress).unwrap();
    assert!(
        progress.starts_with("done already: done already\n"),
        "{progress}"
    );
    assert!(
        progress.contains("failed (exit status: 1); trying another way"),
        "{progress}"
    );
}

#[tokio::test]
async fn a_failing_command_without_fallback_stops_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let plan = UpPlan {
        provider: Provider::Minikube,
        steps: vec![
            Step::Run {
                what: "breaks".into(),
                command: sh("exit 3"),
                skip_if: None,
                fallback: vec![],
            },
            Step::Record,
        ],
        demo_app_image: String::new(),
        loadgen_image: String::new(),
        scrape_interval: Duration::from_secs(5),
    };
    let error = run_up(&plan, dir.path(), "unused", &mut Vec::new())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "`sh -c 'exit 3'` failed (exit status: 3)"
    );
    assert_eq!(LabState::load(dir.path()).unwrap(), None);
}

#[tokio::test]
async fn a_missing_tool_is_one_clear_message() {
    let requirement = Requirement {
        program: "no-such-tool-here",
        probe: ExternalCommand::new("no-such-tool-here", &["version"]),
        install: "no-such-tool-here is not installed: install it".into(),
        check: "unused".into(),
    };
    let error = check_requirements(&[requirement], &root())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "no-such-tool-here is not installed: install it"
    );
}

#[tokio::test]
async fn a_tool_that_does_not_answer_is_reported_within_its_timeout() {
    let requirement = Requirement {
        program: "sh",
        probe: ExternalCommand::new(
            "sh",
            &[
                "-c",
                "echo 'Cannot connect to the Docker daemon' >&2; exit 1",
            ],
        ),
        install: "unused".into(),
        check: "docker is installed but its engine does not answer: start Docker".into(),
    };
    let error = check_requirements(&[requirement], &root())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "docker is installed but its engine does not answer: start Docker (Cannot connect to the Docker daemon)"
    );
}
