//! `cargo xtask lab up|down` on a cluster, through the built binary: the dry run
//! shows every command and object and runs nothing; a missing or silent tool is
//! one clear message.

use platform_kube::images::LAB_IMAGES;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn xtask(args: &[&str], path: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args).current_dir(root());
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().unwrap()
}

/// Replace what changes from one checkout or machine to the next: the content
/// tags of the images, the config hashes that follow them and the password, and
/// whether a password exists already.
fn redact(text: &str) -> String {
    let mut text = text.to_string();
    for image in LAB_IMAGES {
        let tag = image.content_tag(&root()).unwrap();
        text = text.replace(&tag, "[content-hash]");
    }
    text.lines()
        .map(|line| {
            if let Some((key, _)) = line.split_once("canary-lab/config-hash: ") {
                format!("{key}canary-lab/config-hash: [hash]")
            } else if line.starts_with("# write a new Grafana admin password")
                || line.starts_with("# keep the Grafana admin password")
            {
                "# [Grafana admin password: new or kept] target/lab/grafana-admin-password"
                    .to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn lab_up_on_kind_dry_run_shows_every_command_and_object() {
    let out = xtask(&["lab", "up", "--platform", "kind", "--dry-run"], None);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("hunter") && stdout.contains("<admin-password: not shown>"));
    insta::assert_snapshot!("lab_up_kind_dry_run", redact(&stdout));
}

/// A directory of stand-ins for docker, kind and minikube: each records that it
/// ran, then behaves as `script` says.
fn fake_tools(script: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ran.log");
    for tool in ["docker", "kind", "minikube"] {
        let path = dir.path().join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"{tool} $*\" >> {}\n{script}\n",
                log.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (dir, log)
}

fn path_with(dir: &Path) -> PathBuf {
    // The fakes first, then only the system's basic tools (sh for the fakes).
    PathBuf::from(format!("{}:/usr/bin:/bin", dir.display()))
}

#[test]
fn dry_run_runs_nothing() {
    let (dir, log) = fake_tools("exit 0");
    for args in [
        &["lab", "up", "--platform", "kind", "--dry-run"][..],
        &["lab", "up", "--platform", "minikube", "--dry-run"][..],
        &["lab", "up", "--context", "kind-dev", "--dry-run"][..],
    ] {
        let out = xtask(args, Some(&path_with(dir.path())));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        !log.exists(),
        "ran: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

fn check_error(script: Option<&str>, expected_start: &str) {
    check_error_of(&["lab", "up", "--platform", "kind"], script, expected_start);
}

fn check_error_of(args: &[&str], script: Option<&str>, expected_start: &str) {
    let empty = tempfile::tempdir().unwrap();
    let (dir, _log) = fake_tools(script.unwrap_or("exit 0"));
    let path = match script {
        Some(_) => path_with(dir.path()),
        None => empty.path().to_path_buf(),
    };
    let started = Instant::now();
    let out = xtask(args, Some(&path));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with(expected_start), "{stderr}");
}

#[test]
fn missing_docker_is_one_clear_message() {
    check_error(
        None,
        "error: docker is not installed: install Docker Engine or Docker Desktop",
    );
}

#[test]
fn silent_docker_engine_is_one_clear_message() {
    check_error(
        Some(
            "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock' >&2; exit 1",
        ),
        "error: docker is installed but its engine does not answer: start Docker",
    );
}

#[test]
fn hanging_docker_is_reported_within_the_probe_timeout() {
    check_error(
        Some("exec sleep 60"),
        "error: docker is installed but its engine does not answer",
    );
}

#[test]
fn lab_run_on_a_cluster_that_is_not_up_provisions_first_and_says_why_it_cannot() {
    check_error_of(
        &[
            "lab",
            "run",
            "canary",
            "--platform",
            "kind",
            "--profile",
            "quick",
        ],
        Some("echo 'Cannot connect to the Docker daemon' >&2; exit 1"),
        "error: docker is installed but its engine does not answer",
    );
}

#[test]
fn down_dry_run_of_kind_deletes_the_cluster() {
    let out = xtask(&["lab", "down", "--platform", "kind", "--dry-run"], None);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("$ kind delete cluster --name canary-lab"),
        "{stdout}"
    );
}

#[test]
fn plan_on_kind_shows_the_cluster_wait_settle_and_namespace() {
    let out = xtask(
        &[
            "lab",
            "plan",
            "canary",
            "--platform",
            "kind",
            "--profile",
            "quick",
        ],
        None,
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("wait timeout 2m"), "{stdout}");
    assert!(
        stdout.contains("platform   kind: waits last at least 2m"),
        "{stdout}"
    );
    assert!(
        stdout.contains("opens 2s after the step before it"),
        "{stdout}"
    );
    assert!(
        stdout.contains("kubectl -n canary-lab apply -f app-v1.yaml"),
        "{stdout}"
    );
    // Locally, the quick profile's own wait stands and no namespace is named.
    let out = xtask(&["lab", "plan", "canary", "--profile", "quick"], None);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("wait timeout 2m"), "{stdout}");
    assert!(
        stdout.contains("  1. kubectl apply -f app-v1.yaml"),
        "{stdout}"
    );
}

#[test]
fn lab_up_dry_runs_show_the_startup_probe_pinned_bases_and_settle() {
    for platform in ["kind", "minikube"] {
        let out = xtask(&["lab", "up", "--platform", platform, "--dry-run"], None);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "{platform}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for wanted in [
            "startupProbe:",
            "GF_PLUGINS_PREINSTALL_DISABLED",
            "from rust:1.98-slim-bookworm@sha256:",
            "(the endpoint settle)",
            "waits last at least 120s",
        ] {
            assert!(
                stdout.contains(wanted),
                "{platform}: no `{wanted}` in\n{stdout}"
            );
        }
    }
    let out = xtask(&["lab", "up", "--platform", "minikube", "--dry-run"], None);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("$ minikube start --profile canary-lab --driver docker"),
        "{stdout}"
    );
}

#[test]
fn gateway_is_a_cluster_flag_and_its_dry_run_lists_the_install() {
    let out = xtask(&["lab", "up", "--platform", "local", "--gateway"], None);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: --gateway: "), "{stderr}");
    let out = xtask(&["lab", "up", "--help"], None);
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("--gateway"), "{help}");
    let out = xtask(
        &["lab", "up", "--platform", "kind", "--gateway", "--dry-run"],
        None,
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for wanted in [
        "Gateway API v1.5.1 (lab/gateway/gateway-api-v1.5.1-standard-install.yaml)",
        "\nDeployment nginx-gateway/nginx-gateway\n",
        "# wait up to 120s until GatewayClass nginx is Accepted",
        "gateway     http://127.0.0.1:30081",
    ] {
        assert!(stdout.contains(wanted), "no `{wanted}` in\n{stdout}");
    }
}
