//! The harness killed with SIGKILL in the middle of a run leaves its pods and
//! Prometheus behind; `lab down` finds them from the state file and from the
//! marker each carries, stops every one, and a second `lab down` says nothing
//! is running.

use lab_tests::{Background, lab_command, lab_processes, poll_until, signal};
use std::time::Duration;

#[test]
fn lab_down_cleans_up_after_a_killed_harness_and_is_idempotent() {
    let mut run = Background::start(&[
        "lab",
        "run",
        "bad-canary",
        "--profile",
        "quick",
        "--platform",
        "local",
    ]);
    run.wait_for_event("window_opened", &[("name", "canary")]);
    let home = run.home.clone();
    signal(run.child.id(), "KILL");
    run.wait_exit(Duration::from_secs(5));
    // What the killed harness started still runs: eleven pods and Prometheus.
    let left = lab_processes(&home);
    assert!(
        left.len() >= 11,
        "only {} processes left: {left:?}",
        left.len()
    );
    assert!(home.join("local/run-state.json").is_file());

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
    assert!(
        stdout.starts_with("lab down on local: stopped ") && stdout.contains("process(es)"),
        "{stdout}"
    );
    poll_until(Duration::from_secs(5), "every process stopped", || {
        lab_processes(&home).is_empty()
    });
    for pid in left {
        assert!(!platform_local::statefile::alive(pid), "pid {pid} survived");
    }
    assert!(!home.join("local/run-state.json").exists());

    let again = lab_command(&home)
        .args(["lab", "down", "--platform", "local"])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "no lab is running: nothing to stop\n"
    );
}
