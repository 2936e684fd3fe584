//! Every endpoint of the three addresses, in-process on ephemeral loopback ports.

mod common;

use common::{Client, InProcess, get, sample, try_request};
use hyper::Method;

#[derive(Debug, Clone, Copy)]
enum Address {
    Listen,
    Probe,
    Metrics,
}

/// One request on a fresh connection and what must come back.
async fn check(
    app: &InProcess,
    (address, method, path): (Address, Method, &str),
    (status, body, x_version): (u16, &str, Option<&str>),
) {
    let target = match address {
        Address::Listen => app.addresses.listen,
        Address::Probe => app.addresses.probe,
        Address::Metrics => app.addresses.metrics,
    };
    let reply = try_request(target, method.clone(), path).await.unwrap();
    let what = format!("{method} {path} on {address:?}");
    assert_eq!(reply.status, status, "{what}");
    if method != Method::HEAD {
        assert_eq!(reply.body, body, "{what}");
    }
    assert_eq!(reply.header("x-version"), x_version, "{what}");
}

#[tokio::test]
async fn every_endpoint_answers_as_declared() {
    let app = InProcess::start(&[], "v1.0.0").await;
    let answer = "Host: test-host, Version: v1.0.0\n";
    let version = Some("v1.0.0");
    let cases = [
        ((Address::Listen, Method::GET, "/"), (200, answer, version)),
        (
            (Address::Listen, Method::GET, "/?q=1"),
            (200, answer, version),
        ),
        (
            (Address::Listen, Method::GET, "/other"),
            (404, "404 page not found\n", version),
        ),
        (
            (Address::Listen, Method::POST, "/"),
            (405, "405 method not allowed\n", version),
        ),
        ((Address::Listen, Method::HEAD, "/"), (405, "", version)),
        ((Address::Probe, Method::GET, "/live"), (200, "ok\n", None)),
        ((Address::Probe, Method::GET, "/ready"), (200, "ok\n", None)),
        ((Address::Probe, Method::HEAD, "/ready"), (200, "", None)),
        (
            (Address::Probe, Method::POST, "/ready"),
            (405, "405 method not allowed\n", None),
        ),
        (
            (Address::Probe, Method::GET, "/"),
            (404, "404 page not found\n", None),
        ),
        (
            (Address::Metrics, Method::GET, "/"),
            (404, "404 page not found\n", None),
        ),
        (
            (Address::Metrics, Method::DELETE, "/metrics"),
            (405, "405 method not allowed\n", None),
        ),
    ];
    for (request, expected) in cases {
        check(&app, request, expected).await;
    }
}

#[tokio::test]
async fn answer_headers_name_the_content() {
    let app = InProcess::start(&[], "v2.0.0").await;
    let reply = get(app.addresses.listen, "/").await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(reply.header("content-length"), Some("33"));
    assert_eq!(reply.body.len(), 33);
}

#[tokio::test]
async fn an_empty_version_is_reported_empty() {
    let app = InProcess::start(&[], "").await;
    let reply = get(app.addresses.listen, "/").await;
    assert_eq!(reply.body, "Host: test-host, Version: \n");
    assert_eq!(reply.header("x-version"), Some(""));
    let metrics = app.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            r#"http_requests_total{code="200",method="get",version=""}"#
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn metrics_count_every_listen_request_by_code_and_method() {
    let app = InProcess::start(&[], "v1.0.0").await;
    let mut client = Client::connect(app.addresses.listen).await.unwrap();
    for _ in 0..3 {
        assert_eq!(client.get("/").await.status, 200);
    }
    assert_eq!(client.get("/missing").await.status, 404);
    let posted = client.request(Method::POST, "/").await.unwrap();
    assert_eq!(posted.status, 405);
    // Probe and metrics requests are not instrumented.
    get(app.addresses.probe, "/ready").await;
    get(app.addresses.metrics, "/metrics").await;

    let metrics = app.metrics().await;
    let check = |series: &str, expected: Option<f64>| {
        assert_eq!(sample(&metrics, series), expected, "{series} in\n{metrics}");
    };
    check(
        r#"http_requests_total{code="200",method="get",version="v1.0.0"}"#,
        Some(3.0),
    );
    check(
        r#"http_requests_total{code="404",method="get",version="v1.0.0"}"#,
        Some(1.0),
    );
    check(
        r#"http_requests_total{code="405",method="post",version="v1.0.0"}"#,
        Some(1.0),
    );
    check(
        r#"http_requests_total{code="500",method="get",version="v1.0.0"}"#,
        None,
    );
    check(r#"in_flight_requests{version="v1.0.0"}"#, Some(0.0));
    check(
        r#"request_duration_seconds_count{code="200",method="get",version="v1.0.0"}"#,
        Some(3.0),
    );
    check(
        r#"request_duration_seconds_bucket{code="200",method="get",version="v1.0.0",le="10"}"#,
        Some(3.0),
    );
    check(
        r#"response_size_bytes_sum{code="200",method="get",version="v1.0.0"}"#,
        Some(3.0 * "Host: test-host, Version: v1.0.0\n".len() as f64),
    );
    check(
        r#"response_size_bytes_bucket{code="200",method="get",version="v1.0.0",le="200"}"#,
        Some(3.0),
    );
}

#[tokio::test]
async fn metrics_are_served_as_prometheus_text() {
    let app = InProcess::start(&[], "v1.0.0").await;
    let reply = get(app.addresses.metrics, "/metrics").await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for family in [
        "# TYPE http_requests_total counter",
        "# TYPE in_flight_requests gauge",
        "# TYPE request_duration_seconds histogram",
        "# TYPE response_size_bytes histogram",
    ] {
        assert!(
            reply.body.contains(family),
            "{family} missing:\n{}",
            reply.body
        );
    }
}

#[tokio::test]
async fn in_process_shutdown_without_drain_returns_ok() {
    let app = InProcess::start(&["--drain-period", "0s"], "v1.0.0").await;
    let listen = app.addresses.listen;
    assert_eq!(get(listen, "/").await.status, 200);
    app.stop().await.unwrap();
    assert!(try_request(listen, Method::GET, "/").await.is_err());
}

#[tokio::test]
async fn a_client_that_half_closes_still_gets_its_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = InProcess::start(&["--latency", "100ms"], "v1.0.0").await;
    let mut stream = tokio::net::TcpStream::connect(app.addresses.listen)
        .await
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(common::PATIENCE, stream.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    assert!(
        answer.ends_with("\r\n\r\nHost: test-host, Version: v1.0.0\n"),
        "{answer:?}"
    );
}
