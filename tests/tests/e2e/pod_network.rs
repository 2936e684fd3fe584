//! Pods in network namespaces (`lab run --pod-network netns`): an app that
//! listens on a fixed port of every address (`examples/hello-py/fixed-port`,
//! the hello-py manifests without `$(POD_IP)`) runs its canary to promotion,
//! its Service a virtual address the kernel translates; the run removes its
//! namespaces, links and nft table, and after a harness killed mid-run `lab
//! down` does.
//!
//! They need root (to create network namespaces): without it they fail,
//! unless `CANARY_LAB_SKIP_NETNS=1` is set; then each prints that it was
//! skipped.

use lab_tests::{
    Background, assert_window_answered_by, lab_command, lab_processes, poll_until, signal,
};
use std::process::Command;
use std::time::Duration;

const RUN_LIMIT: Duration = Duration::from_secs(240);

const FIXED_PORT_RUN: &[&str] = &[
    "lab",
    "run",
    "examples/hello-py/fixed-port",
    "--images",
    "examples/hello-py/.canary-lab/images.toml",
    "--profile",
    "quick",
    "--platform",
    "local",
    "--no-live",
    "--pod-network",
    "netns",
];

/// Whether this test may create namespaces; fails when it may not, unless
/// skipping was asked for.
fn namespaces_allowed(test: &str) -> bool {
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if root {
        return true;
    }
    assert!(
        std::env::var_os("CANARY_LAB_SKIP_NETNS").is_some(),
        "{test} needs root to create network namespaces; set CANARY_LAB_SKIP_NETNS=1 to skip it"
    );
    eprintln!("skipped {test}: not root and CANARY_LAB_SKIP_NETNS is set");
    false
}

/// The pod network's names of lab `lab` (`clabB`) present on this machine.
fn names_of(lab: &str) -> Vec<String> {
    platform_local::present_names()
        .into_iter()
        .filter(|name| name == lab || name.starts_with(&format!("{lab}-")))
        .collect()
}

/// `clabB` from the run's note `… (bridge clabB-br) …`.
fn lab_name(notes: &[String]) -> String {
    notes
        .iter()
        .find_map(|note| {
            let start = note.find("(bridge ")? + "(bridge ".len();
            let bridge = &note[start..];
            Some(bridge[..bridge.find("-br")?].to_string())
        })
        .unwrap_or_else(|| panic!("no pod network note: {notes:?}"))
}

#[test]
fn an_app_on_a_fixed_port_runs_unchanged_in_namespaces_and_leaves_nothing() {
    if !namespaces_allowed("an_app_on_a_fixed_port_runs_unchanged_in_namespaces") {
        return;
    }
    let mut run = Background::start(FIXED_PORT_RUN);
    assert_eq!(run.wait_exit(RUN_LIMIT), Some(0), "{}", run.stderr());
    let stdout = run.stdout();
    assert!(
        stdout.contains("fixed-port: promoted (expected promoted), passed"),
        "{stdout}"
    );
    let report = run.report();
    assert!(report.passed);
    assert_window_answered_by(&report, "canary", &["v1", "v2"]);
    let note = report
        .notes
        .iter()
        .find(|note| note.starts_with("pod network netns"))
        .unwrap_or_else(|| panic!("{:?}", report.notes));
    assert!(
        note.contains("10.244.") && note.contains("10.96."),
        "{note}"
    );
    let lab = lab_name(&report.notes);
    assert_eq!(names_of(&lab), Vec::<String>::new(), "left after the run");
    assert!(lab_processes(&run.home).is_empty());
}

#[test]
fn lab_down_removes_the_pod_network_a_killed_harness_left() {
    if !namespaces_allowed("lab_down_removes_the_pod_network_a_killed_harness_left") {
        return;
    }
    let mut run = Background::start(FIXED_PORT_RUN);
    run.wait_for_event("window_opened", &[("name", "canary")]);
    let home = run.home.clone();
    // The lab's name, from the namespace a pod runs in.
    let lab = lab_processes(&home)
        .into_iter()
        .find_map(|pid| {
            let output = Command::new("ip")
                .args(["netns", "identify", &pid.to_string()])
                .output()
                .ok()?;
            let namespace = String::from_utf8_lossy(&output.stdout).trim().to_string();
            namespace.rsplit_once('-').map(|(lab, _)| lab.to_string())
        })
        .expect("a pod in a network namespace");
    signal(run.child.id(), "KILL");
    run.wait_exit(Duration::from_secs(5));
    let left = names_of(&lab);
    assert!(
        left.iter().any(|name| name == &format!("{lab}-br")) && left.contains(&lab),
        "the killed run's bridge and table: {left:?}"
    );

    let down = lab_command(&home)
        .args(["lab", "down", "--platform", "local"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&down.stdout);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(stdout.contains("the pod network"), "{stdout}");
    poll_until(Duration::from_secs(5), "every process stopped", || {
        lab_processes(&home).is_empty()
    });
    assert_eq!(names_of(&lab), Vec::<String>::new(), "left after lab down");
}
