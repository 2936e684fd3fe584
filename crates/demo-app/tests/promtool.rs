//! The real `promtool check metrics` accepts the app's /metrics after traffic of every
//! kind (200, 500, 404, 405). It fails, rather than skips, when promtool is missing.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Client, InProcess, sample};
use hyper::Method;

/// promtool's verdict on `exposition`: its exit status and what it printed.
fn promtool_check_metrics(exposition: &str) -> (Option<i32>, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool is needed for this test (it ships with Prometheus): {e}")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), said)
}

#[test]
fn promtool_rejects_a_broken_exposition() {
    // Shows the check below can fail: a counter without _total is a lint error.
    let (status, said) =
        promtool_check_metrics("# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n");
    assert_ne!(status, Some(0), "{said}");
}

#[tokio::test]
async fn promtool_accepts_the_metrics_after_mixed_traffic() {
    let app = InProcess::start(&["--error-rate", "0.5"], "v1.0.0").await;
    let mut client = Client::connect(app.addresses.listen).await.unwrap();
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..200 {
        match client.get("/").await.status {
            200 => ok += 1,
            500 => failed += 1,
            other => panic!("unexpected status {other}"),
        }
        if ok > 0 && failed > 0 {
            break;
        }
    }
    assert!(
        ok > 0 && failed > 0,
        "no mix of 200 and 500 in 200 requests"
    );
    assert_eq!(client.get("/nowhere").await.status, 404);
    assert_eq!(client.request(Method::PUT, "/").await.unwrap().status, 405);

    let metrics = app.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            r#"http_requests_total{code="500",method="get",version="v1.0.0"}"#
        ),
        Some(f64::from(failed))
    );
    let (status, said) = promtool_check_metrics(&metrics);
    assert_eq!(status, Some(0), "promtool said:\n{said}\nabout:\n{metrics}");
    assert_eq!(said, "", "promtool had remarks");
}
