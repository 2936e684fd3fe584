//! The fault knobs: error rate, latency, startup delay and never-ready in-process;
//! the crash knobs on the real binary, whose exit status is what they change.

mod common;

use std::time::{Duration, Instant};

use common::{App, Client, InProcess, eventually, get, sample, try_request};
use hyper::Method;

/// Inclusive bounds for a binomial(n, p) count that a correct generator leaves less
/// than once in 10^6 runs: mean ± 5 standard deviations.
fn binomial_bounds(n: u64, p: f64) -> (u64, u64) {
    let mean = n as f64 * p;
    let spread = 5.0 * (n as f64 * p * (1.0 - p)).sqrt();
    (
        (mean - spread).floor() as u64,
        (mean + spread).ceil() as u64,
    )
}

#[tokio::test]
async fn error_rate_answers_that_share_with_500() {
    let app = InProcess::start(&["--error-rate", "0.25"], "v9").await;
    let mut client = Client::connect(app.addresses.listen).await.unwrap();
    let requests = 2000;
    let mut errors = 0;
    for _ in 0..requests {
        let reply = client.get("/").await;
        // Errors still name host and version, so a client can attribute them.
        assert_eq!(reply.header("x-version"), Some("v9"));
        match reply.status {
            200 => assert_eq!(reply.body, "Host: test-host, Version: v9\n"),
            500 => {
                assert_eq!(
                    reply.body,
                    "Host: test-host, Version: v9, Error: injected failure\n"
                );
                errors += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let (low, high) = binomial_bounds(requests, 0.25);
    assert!(
        (low..=high).contains(&errors),
        "{errors} errors out of {requests}, expected {low}..={high}"
    );
    let metrics = app.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            r#"http_requests_total{code="500",method="get",version="v9"}"#
        ),
        Some(errors as f64)
    );
}

#[tokio::test]
async fn error_rate_one_fails_every_request() {
    let app = InProcess::start(&["--error-rate", "1"], "v9").await;
    let mut client = Client::connect(app.addresses.listen).await.unwrap();
    for _ in 0..50 {
        assert_eq!(client.get("/").await.status, 500);
    }
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let app = InProcess::start(&["--latency", "300ms"], "v1").await;
    let mut client = Client::connect(app.addresses.listen).await.unwrap();
    for _ in 0..3 {
        let sent = Instant::now();
        assert_eq!(client.get("/").await.status, 200);
        assert!(
            sent.elapsed() >= Duration::from_millis(300),
            "{:?}",
            sent.elapsed()
        );
    }
    // The server measured it too: nothing under 250 ms.
    let metrics = app.metrics().await;
    let check = |le: &str, expected: f64| {
        let series = format!(
            r#"request_duration_seconds_bucket{{code="200",method="get",version="v1",le="{le}"}}"#
        );
        assert_eq!(sample(&metrics, &series), Some(expected), "{series}");
    };
    check("0.25", 0.0);
    check("0.5", 3.0);
    // Other paths are not delayed.
    let sent = Instant::now();
    assert_eq!(get(app.addresses.listen, "/other").await.status, 404);
    assert!(sent.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn latency_rate_delays_that_share_of_answers() {
    let app = InProcess::start(&["--latency", "150ms", "--latency-rate", "0.5"], "v1").await;
    let connections = 20;
    let per_connection = 10;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let listen = app.addresses.listen;
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(listen).await.unwrap();
            for _ in 0..per_connection {
                assert_eq!(client.get("/").await.status, 200);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Server-side durations: a delayed answer takes at least 150 ms, so the 0.1 s
    // bucket holds exactly the undelayed ones.
    let metrics = app.metrics().await;
    let labels = r#"code="200",method="get",version="v1""#;
    let total = sample(
        &metrics,
        &format!("request_duration_seconds_count{{{labels}}}"),
    )
    .unwrap();
    let fast = sample(
        &metrics,
        &format!(r#"request_duration_seconds_bucket{{{labels},le="0.1"}}"#),
    )
    .unwrap();
    let requests = (connections * per_connection) as u64;
    assert_eq!(total, requests as f64);
    let delayed = (total - fast) as u64;
    let (low, high) = binomial_bounds(requests, 0.5);
    assert!(
        (low..=high).contains(&delayed),
        "{delayed} delayed out of {requests}, expected {low}..={high}"
    );
}

#[tokio::test]
async fn startup_delay_holds_readiness_then_releases_it() {
    let before_start = Instant::now();
    let app = InProcess::start(&["--startup-delay", "2s"], "v1").await;
    assert_eq!(get(app.addresses.probe, "/ready").await.status, 503);
    assert_eq!(get(app.addresses.probe, "/live").await.status, 200);
    // Answers are served meanwhile; only readiness waits.
    assert_eq!(get(app.addresses.listen, "/").await.status, 200);
    let probe = app.addresses.probe;
    eventually("/ready to answer 200", || async move {
        get(probe, "/ready").await.status == 200
    })
    .await;
    assert!(before_start.elapsed() >= Duration::from_secs(2));
}

#[tokio::test]
async fn never_ready_keeps_readiness_off_but_serves() {
    let app = InProcess::start(&["--never-ready"], "v1").await;
    for _ in 0..5 {
        let ready = get(app.addresses.probe, "/ready").await;
        assert_eq!((ready.status, ready.body.as_str()), (503, "not ready\n"));
        assert_eq!(get(app.addresses.probe, "/live").await.status, 200);
        assert_eq!(get(app.addresses.listen, "/").await.status, 200);
    }
}

/// Exit status of an injected crash (see `demo-app --help`).
const CRASH_STATUS: i32 = 3;

#[tokio::test]
async fn crash_after_requests_answers_n_then_exits_non_zero() {
    let mut app = App::start(&["--crash-after-requests", "3"], &[("VERSION", "v1")]);
    let mut last = None;
    for _ in 0..3 {
        let reply = get(app.addresses.listen, "/").await;
        assert_eq!(reply.status, 200);
        last = Some(reply);
    }
    // The last answer tells the client the connection will not be reused.
    assert_eq!(last.unwrap().header("connection"), Some("close"));
    let status = app.exit_status().await;
    assert_eq!(status.code(), Some(CRASH_STATUS));
    app.wait_for_line(
        "demo-app: crashed on purpose: answered 3 requests (--crash-after-requests 3)",
    );
    assert!(
        try_request(app.addresses.listen, Method::GET, "/")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn crash_after_requests_from_the_environment() {
    let mut app = App::start(&[], &[("CRASH_AFTER_REQUESTS", "1")]);
    assert_eq!(get(app.addresses.listen, "/").await.status, 200);
    assert_eq!(app.exit_status().await.code(), Some(CRASH_STATUS));
}

#[tokio::test]
async fn crash_cuts_off_requests_in_flight_on_other_connections() {
    let mut app = App::start(&["--crash-after-requests", "1", "--latency", "500ms"], &[]);
    let listen = app.addresses.listen;
    let first = tokio::spawn(try_request(listen, Method::GET, "/"));
    let second = tokio::spawn(try_request(listen, Method::GET, "/"));
    let outcomes = [first.await.unwrap(), second.await.unwrap()];
    let answered = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(answered, 1, "{outcomes:?}");
    assert_eq!(app.exit_status().await.code(), Some(CRASH_STATUS));
}

#[tokio::test]
async fn crash_after_time_exits_non_zero() {
    let started = Instant::now();
    let mut app = App::start(&["--crash-after", "300ms"], &[]);
    assert_eq!(app.exit_status().await.code(), Some(CRASH_STATUS));
    assert!(started.elapsed() >= Duration::from_millis(300));
    app.wait_for_line("demo-app: crashed on purpose: ran for 300ms (--crash-after 300ms)");
}

#[tokio::test]
async fn durations_beyond_the_clock_never_fire() {
    let forever = "300000000000years";
    let mut app = App::start(
        &[
            "--crash-after",
            forever,
            "--startup-delay",
            forever,
            "--drain-period",
            "0s",
        ],
        &[],
    );
    assert_eq!(get(app.addresses.probe, "/ready").await.status, 503);
    assert_eq!(get(app.addresses.listen, "/").await.status, 200);
    app.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(app.exit_status().await.code(), Some(0));
}
