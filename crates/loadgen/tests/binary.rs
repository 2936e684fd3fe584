//! The `loadgen` binary: usage errors, the JSON schema, an unreachable target, Ctrl-C.

mod common;

use common::{Reply, TestServer, closed_port_url, wait_until, within};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

fn loadgen() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    command.env_remove("NO_COLOR");
    command
}

/// Run the binary to completion off the async runtime, so in-process servers keep answering.
async fn output(args: Vec<String>) -> Output {
    let run = tokio::task::spawn_blocking(move || loadgen().args(&args).output().unwrap());
    within("loadgen to exit", LIMIT, run).await.unwrap()
}

#[test]
fn usage_errors_exit_2_with_one_line_naming_the_flag() {
    fn check(args: &[&str], expected: &str) {
        let out = loadgen().args(args).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "args {args:?}: {stderr}");
        assert_eq!(stderr, format!("{expected}\n"), "args {args:?}");
        assert!(out.stdout.is_empty(), "args {args:?}");
    }
    let url = "--url=http://127.0.0.1:9/";
    check(&[], "error: --url: required");
    check(
        &[url, "--rate", "0", "--duration", "10s"],
        "error: --rate: must be > 0",
    );
    check(
        &[
            url,
            "--rate",
            "5",
            "--concurrency",
            "3",
            "--duration",
            "10s",
        ],
        "error: --concurrency: cannot be used with --rate",
    );
    check(
        &[url],
        "error: --duration: required unless --requests is given",
    );
    check(
        &[url, "--duration", "soon"],
        "error: --duration: not a duration: \"soon\" (like 10s, 2m, 1h30m)",
    );
    check(
        &[url, "--requests", "many"],
        "error: --requests: not a number: \"many\"",
    );
    check(
        &[url, "--requests", "1", "--keep-alive", "0"],
        "error: --keep-alive: must be > 0",
    );
    check(
        &[url, "--requests", "1", "--timeout", "0ms"],
        "error: --timeout: must be > 0",
    );
    check(
        &["--url", "https://example.com/", "--requests", "1"],
        "error: --url: https is not supported, use http://",
    );
    check(
        &[url, "--requests", "1", "--fast"],
        "error: --fast: unknown flag",
    );
}

#[test]
fn help_and_version_exit_0() {
    for flag in ["--help", "--version"] {
        let out = loadgen().arg(flag).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(
            String::from_utf8(out.stdout).unwrap().contains("loadgen"),
            "{flag}"
        );
    }
}

fn json(out: &Output) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No progress line: stderr is not a terminal here.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "the report is one line: {stdout}"
    );
    let typed: loadgen::Report = serde_json::from_str(&stdout).expect("reads back as a Report");
    assert_eq!(typed.schema_version, loadgen::report::SCHEMA_VERSION);
    serde_json::from_str(&stdout).expect("stdout is one JSON document")
}

/// Replace what changes from run to run, after checking its shape.
fn normalize(mut report: serde_json::Value, answers: u64) -> serde_json::Value {
    let series = report["series"].as_array_mut().unwrap();
    let counted: u64 = series
        .iter()
        .flat_map(|s| s["versions"].as_object().unwrap().values())
        .map(|c| c["2xx"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, answers, "the series adds up to the answers");
    // Keep the first second only, without its counts: how many seconds a short run
    // spans, and so what each second holds, varies.
    series.truncate(1);
    for counts in series[0]["versions"].as_object_mut().unwrap().values_mut() {
        counts["2xx"] = "[count]".into();
    }
    for version in report["versions"].as_object_mut().unwrap().values_mut() {
        let histogram = version["latency_histogram_us"].as_array().unwrap();
        let total: u64 = histogram.iter().map(|b| b[1].as_u64().unwrap()).sum();
        assert_eq!(
            total,
            version["count"].as_u64().unwrap(),
            "the histogram holds every answer"
        );
        version["latency_histogram_us"] = "[buckets]".into();
        for field in ["p50", "p90", "p99", "max", "mean"] {
            assert!(version["latency_ms"][field].as_f64().unwrap() > 0.0);
            version["latency_ms"][field] = "[ms]".into();
        }
    }
    report["target"] = "[url]".into();
    assert!(report["elapsed_ms"].is_u64());
    report["elapsed_ms"] = "[ms]".into();
    assert!(report["achieved_rate"].as_f64().unwrap() > 0.0);
    report["achieved_rate"] = "[rate]".into();
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_schema() {
    let server = TestServer::start(|hit| {
        Reply::versioned(if hit.request % 4 == 0 {
            "v2.0.0"
        } else {
            "v1.0.0"
        })
    })
    .await;
    let args = [
        "--url",
        &server.url(),
        "--concurrency",
        "2",
        "--requests",
        "40",
        "--json",
    ];
    let out = output(args.iter().map(|s| s.to_string()).collect()).await;
    let report = normalize(json(&out), 40);
    insta::assert_json_snapshot!("json_report", report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_a_result_not_a_crash() {
    let args = [
        "--url",
        &closed_port_url(),
        "--rate",
        "100",
        "--requests",
        "5",
        "--json",
    ];
    let out = output(args.iter().map(|s| s.to_string()).collect()).await;
    let report = normalize(json(&out), 0);
    insta::assert_json_snapshot!("json_unreachable", report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_lists_versions_and_errors() {
    let server = TestServer::start(|hit| {
        Reply::versioned("v1.0.0").with_status(if hit.request % 10 == 0 { 500 } else { 200 })
    })
    .await;
    let args = [
        "--url",
        &server.url(),
        "--concurrency",
        "2",
        "--requests",
        "20",
    ];
    let out = output(args.iter().map(|s| s.to_string()).collect()).await;
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("requests  20 issued, 20 answered, 0 failed")),
        "{text}"
    );
    let row: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("v1.0.0"))
        .unwrap_or_else(|| panic!("no v1.0.0 row in {text}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row[..7],
        ["v1.0.0", "20", "100.0%", "18", "0", "0", "2"],
        "{text}"
    );
    assert!(lines.contains(&"errors    none"), "{text}");
}

/// Kills the child if the test fails before it exits.
struct Child(Option<std::process::Child>);

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_and_prints_the_summary() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let server = TestServer::start(|_| Reply::versioned("v1.0.0")).await;
    let child = loadgen()
        .args(["--url", &server.url(), "--rate", "50", "--duration", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Child(Some(child));
    wait_until("10 requests reached the server", LIMIT, || {
        server.requests() >= 10
    })
    .await;
    let pid = child.0.as_ref().unwrap().id();
    kill(Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
    let waited = tokio::task::spawn_blocking(move || {
        let out = child.0.as_mut().unwrap();
        let stdout = std::io::read_to_string(out.stdout.take().unwrap()).unwrap();
        let status = out.wait().unwrap();
        (status, stdout)
    });
    let (status, text) = within("loadgen to exit after SIGINT", LIMIT, waited)
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(text.contains("stopped early (interrupted)"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("v1.0.0"))
        .unwrap_or_else(|| panic!("{text}"));
    let answers: u64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(answers >= 10, "{row}");
    assert_eq!(
        answers,
        server.requests(),
        "every request sent was answered and counted"
    );
}

#[tokio::test]
async fn snapshots_stream_live_and_end_with_the_final_totals() {
    let server = TestServer::start(|_| Reply::versioned("v1")).await;
    let args: Vec<String> = [
        "--url",
        &server.url(),
        "--rate",
        "50",
        "--duration",
        "2500ms",
        "--json",
        "--snapshots",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = output(args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut follower = loadgen::stream::SnapshotAssembler::new();
    let mut snapshot_lines = 0;
    let mut report = None;
    for line in stdout.lines() {
        if follower.push_text(line).unwrap() {
            snapshot_lines += 1;
        } else {
            report = Some(serde_json::from_str::<loadgen::Report>(line).unwrap());
        }
    }
    let report = report.expect("the --json report comes last");
    // One a second during 2.5 s, plus the final one.
    assert!(snapshot_lines >= 3, "{snapshot_lines} snapshot lines");
    assert_eq!(follower.snapshot().responses(), report.requests.answered);
    assert_eq!(follower.snapshot().issued, report.requests.issued);
}

#[test]
fn a_class_is_named_with_its_share_and_headers() {
    let check = |class: &str, expected: &str| {
        let out = loadgen()
            .args([
                "--url=http://127.0.0.1:9/",
                "--requests",
                "1",
                "--class",
                class,
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{class}: {stderr}");
        assert_eq!(stderr, format!("{expected}\n"), "{class}");
    };
    check(
        "v2",
        "error: --class: \"v2\": a share is required (NAME,SHARE[,HEADER=VALUE…])",
    );
    check(
        "v2,half",
        "error: --class: \"v2,half\": the share is not a number",
    );
    check(
        "v2,0.5,X-API-Version",
        "error: --class: \"v2,0.5,X-API-Version\": \"X-API-Version\" is not HEADER=VALUE",
    );
    check(
        "v2,1.5,X-API-Version=v2",
        "error: --class: shares must lie in 0..=1 and add up to at most 1",
    );
}
