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

fn gateway_plan(gateway: bool) -> UpPlan {
    let options = UpOptions {
        gateway,
        ..UpOptions::default()
    };
    plan_up_with(&root(), &Provider::Kind, "hunter2", true, &options).unwrap()
}

/// The steps of a plan as short labels, for comparing orders.
fn labels(plan: &UpPlan) -> Vec<String> {
    plan.steps
        .iter()
        .filter_map(|step| match step {
            Step::Apply(objects) => Some(format!("apply {} objects", objects.len())),
            Step::ApplyInstall(file) => Some(format!("apply {}", file.path)),
            Step::WaitEstablished { crds, .. } => Some(format!("established {}", crds.len())),
            Step::WaitReady {
                namespace,
                deployments,
                ..
            } => Some(format!("ready {namespace}/{}", deployments.join(","))),
            Step::WaitAccepted { gateway_class, .. } => Some(format!("accepted {gateway_class}")),
            Step::Record => Some("record".into()),
            _ => None,
        })
        .collect()
}

/// How many lines of a pinned file start so (counted independently of the
/// parser under test).
fn count_lines(path: &str, start: &str) -> usize {
    std::fs::read_to_string(root().join(path))
        .unwrap()
        .lines()
        .filter(|line| line.starts_with(start))
        .count()
}

#[test]
fn the_gateway_is_installed_after_the_monitoring_stack_only_when_asked() {
    let with = labels(&gateway_plan(true));
    let monitoring = with
        .iter()
        .position(|l| l == "ready canary-lab-monitoring/prometheus,grafana")
        .unwrap();
    assert_eq!(
        with[monitoring..],
        [
            "ready canary-lab-monitoring/prometheus,grafana".to_string(),
            format!("apply {GATEWAY_API_FILE}"),
            format!("apply {NGF_CRDS_FILE}"),
            format!(
                "established {}",
                count_lines(GATEWAY_API_FILE, "kind: CustomResourceDefinition")
                    + count_lines(NGF_CRDS_FILE, "kind: CustomResourceDefinition")
            ),
            format!("apply {NGF_DEPLOY_FILE}"),
            "ready nginx-gateway/nginx-gateway".to_string(),
            "accepted nginx".to_string(),
            "record".to_string(),
        ]
    );
    let without = labels(&gateway_plan(false));
    assert_eq!(
        without[without.len() - 2..],
        [
            "ready canary-lab-monitoring/prometheus,grafana".to_string(),
            "record".to_string()
        ]
    );
    assert!(
        !without
            .iter()
            .any(|l| l.contains("lab/gateway") || l.contains("nginx")),
        "{without:?}"
    );
}
