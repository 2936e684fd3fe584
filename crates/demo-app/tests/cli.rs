//! The real binary's command line: bad input exits 2 with one line naming the flag
//! (and the variable when the value came from the environment); an address that
//! cannot be bound exits 1 with one line; --help exits 0.

mod common;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{PATIENCE, command};

/// Runs the binary to completion, killing it if it outlives `PATIENCE`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = command(args, env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{args:?} did not exit; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn check(args: &[&str], env: &[(&str, &str)], status: i32, stderr: &str) {
    let output = run(args, env);
    let what = format!("{args:?} {env:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("{stderr}\n"),
        "{what}"
    );
    assert_eq!(output.status.code(), Some(status), "{what}");
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--error-rate", "1.5"],
            "error: --error-rate: 1.5 is outside 0..=1",
        ),
        (
            &["--error-rate", "-0.5"],
            "error: --error-rate: -0.5 is outside 0..=1",
        ),
        (
            &["--latency-rate", "half"],
            "error: --latency-rate: 'half' is not a number",
        ),
        (
            &["--latency", "fast"],
            "error: --latency: 'fast' is not a duration (expected number at 0; e.g. 500ms, 3s)",
        ),
        (
            &["--drain-period", "3"],
            "error: --drain-period: '3' is not a duration (time unit needed, for example 3sec \
             or 3ms; e.g. 500ms, 3s)",
        ),
        (
            &["--startup-delay=-1s"],
            "error: --startup-delay: '-1s' is not a duration (expected number at 0; e.g. 500ms, 3s)",
        ),
        (
            &["--crash-after-requests", "0"],
            "error: --crash-after-requests: must be at least 1",
        ),
        (
            &["--crash-after-requests", "many"],
            "error: --crash-after-requests: 'many' is not a whole number",
        ),
        (
            &["--crash-after", "0ms"],
            "error: --crash-after: must be longer than 0s",
        ),
        (
            &["--never-ready=maybe"],
            "error: --never-ready: 'maybe' is not true or false",
        ),
        (
            &["--listen-address", "8080"],
            "error: --listen-address: '8080' is not an address (expected :PORT or HOST:PORT)",
        ),
        (
            &["--probe-address", ":80800"],
            "error: --probe-address: '80800' in ':80800' is not a port (0..=65535)",
        ),
        (
            &["--metrics-address", "metrics.local:9101"],
            "error: --metrics-address: 'metrics.local' in 'metrics.local:9101' is not an IP \
             address or localhost",
        ),
        (&["--bogus"], "error: unexpected argument '--bogus' found"),
        (&["extra"], "error: unexpected argument 'extra' found"),
        (
            &["--latency"],
            "error: a value is required for '--latency <DURATION>' but none was supplied",
        ),
    ];
    for (args, stderr) in cases {
        check(args, &[], 2, stderr);
    }
}

#[test]
fn bad_environment_exits_2_naming_flag_and_variable() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "ERROR_RATE",
            "2",
            "error: --error-rate (env ERROR_RATE): 2 is outside 0..=1",
        ),
        (
            "LATENCY",
            "600",
            "error: --latency (env LATENCY): '600' is not a duration (time unit needed, for \
             example 600sec or 600ms; e.g. 500ms, 3s)",
        ),
        (
            "LATENCY_RATE",
            "1.01",
            "error: --latency-rate (env LATENCY_RATE): 1.01 is outside 0..=1",
        ),
        (
            "STARTUP_DELAY",
            "later",
            "error: --startup-delay (env STARTUP_DELAY): 'later' is not a duration (expected \
             number at 0; e.g. 500ms, 3s)",
        ),
        (
            "CRASH_AFTER_REQUESTS",
            "0",
            "error: --crash-after-requests (env CRASH_AFTER_REQUESTS): must be at least 1",
        ),
        (
            "CRASH_AFTER",
            "x",
            "error: --crash-after (env CRASH_AFTER): 'x' is not a duration (expected number \
             at 0; e.g. 500ms, 3s)",
        ),
        (
            "NEVER_READY",
            "sometimes",
            "error: --never-ready (env NEVER_READY): 'sometimes' is not true or false",
        ),
        (
            "DRAIN_PERIOD",
            "soon",
            "error: --drain-period (env DRAIN_PERIOD): 'soon' is not a duration (expected \
             number at 0; e.g. 500ms, 3s)",
        ),
        (
            "SHUTDOWN_TIMEOUT",
            "10",
            "error: --shutdown-timeout (env SHUTDOWN_TIMEOUT): '10' is not a duration (time \
             unit needed, for example 10sec or 10ms; e.g. 500ms, 3s)",
        ),
        (
            "VERSION",
            "v1\u{7}",
            "error: VERSION: \"v1\\u{7}\" cannot be sent in an X-Version header",
        ),
    ];
    for (var, value, stderr) in cases {
        check(&[], &[(var, value)], 2, stderr);
    }
}

#[test]
fn a_flag_overrides_its_variable() {
    // The environment's bad value is never looked at when the flag is given.
    check(
        &["--error-rate", "3"],
        &[("ERROR_RATE", "0.5")],
        2,
        "error: --error-rate: 3 is outside 0..=1",
    );
}

#[test]
fn an_address_in_use_exits_1_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = run(
        &[
            "--listen-address",
            "127.0.0.1:0",
            "--probe-address",
            &address,
            "--metrics-address",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: --probe-address: cannot bind {address}: ")),
        "{stderr}"
    );
}

#[test]
fn help_documents_every_knob_and_exits_0() {
    let output = run(&["--help"], &[]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for name in [
        "--error-rate",
        "[env: ERROR_RATE=]",
        "--latency-rate",
        "[env: LATENCY_RATE=]",
        "--startup-delay",
        "--crash-after-requests",
        "--crash-after",
        "--never-ready",
        "--drain-period",
        "--shutdown-timeout",
        "Exit status",
    ] {
        assert!(help.contains(name), "{name} missing from:\n{help}");
    }
}
