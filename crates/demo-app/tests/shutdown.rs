//! Graceful shutdown of the real binary: SIGTERM (or SIGINT) turns /ready to 503 at
//! once, the app keeps serving through the drain period, then stops accepting,
//! finishes in-flight requests, closes idle keep-alive connections and exits 0.

mod common;

use std::time::{Duration, Instant};

use common::{App, Client, eventually, get, sample, try_request};
use hyper::Method;
use nix::sys::signal::Signal;

/// Waits until the app reports `count` requests in flight on its listen address.
async fn wait_in_flight(app: &App, count: u64) {
    let metrics = app.addresses.metrics;
    eventually(&format!("{count} requests in flight"), || async move {
        let body = get(metrics, "/metrics").await.body;
        sample(&body, r#"in_flight_requests{version="v1"}"#) == Some(count as f64)
    })
    .await;
}

async fn drains_then_exits_zero(signal: Signal) {
    let drain = Duration::from_millis(1500);
    // A long shutdown timeout: exiting soon after the drain shows that idle
    // keep-alive connections were closed rather than waited for.
    let mut app = App::start(
        &["--drain-period", "1500ms", "--shutdown-timeout", "30s"],
        &[("VERSION", "v1")],
    );
    let mut idle = Client::connect(app.addresses.listen).await.unwrap();
    assert_eq!(idle.get("/").await.status, 200);
    assert_eq!(get(app.addresses.probe, "/ready").await.status, 200);

    let signalled = Instant::now();
    app.signal(signal);
    let probe = app.addresses.probe;
    eventually("/ready to answer 503", || async move {
        get(probe, "/ready").await.status == 503
    })
    .await;
    // Still draining: new connections and the kept-alive one are served.
    assert!(app.running());
    assert_eq!(get(app.addresses.listen, "/").await.status, 200);
    assert_eq!(idle.get("/").await.status, 200);
    assert_eq!(get(app.addresses.probe, "/live").await.status, 200);
    assert!(
        signalled.elapsed() < drain,
        "the checks above ran after the drain; they prove nothing"
    );

    idle.closed_by_server().await;
    assert_eq!(app.exit_status().await.code(), Some(0));
    assert!(signalled.elapsed() >= drain);
    assert!(signalled.elapsed() < Duration::from_secs(25));
    // The process has exited, but the thread reading its stderr may not have
    // read the last lines yet: wait for each, in order.
    for event in [
        "demo-app: draining",
        "demo-app: closing",
        "demo-app: stopped",
    ] {
        app.wait_for_line(event);
    }
    let stderr = app.stderr();
    let position = |event: &str| stderr.iter().position(|l| l.starts_with(event));
    assert!(
        position("demo-app: draining") < position("demo-app: closing")
            && position("demo-app: closing") < position("demo-app: stopped"),
        "out of order: {stderr:#?}"
    );
}

#[tokio::test]
async fn sigterm_drains_then_exits_zero() {
    drains_then_exits_zero(Signal::SIGTERM).await;
}

#[tokio::test]
async fn sigint_drains_then_exits_zero() {
    drains_then_exits_zero(Signal::SIGINT).await;
}

#[tokio::test]
async fn a_request_in_flight_at_sigterm_completes() {
    let mut app = App::start(
        &["--latency", "1500ms", "--drain-period", "200ms"],
        &[("VERSION", "v1"), ("HOSTNAME", "pod-a")],
    );
    let listen = app.addresses.listen;
    let in_flight = tokio::spawn(try_request(listen, Method::GET, "/"));
    wait_in_flight(&app, 1).await;

    app.signal(Signal::SIGTERM);
    // After the drain the listener is closed while the request is still running.
    app.wait_for_line("demo-app: closing");
    assert!(app.running());
    let refused = tokio::net::TcpStream::connect(listen).await;
    assert!(
        refused.is_err(),
        "a connection was accepted after the drain"
    );

    let reply = in_flight.await.unwrap().unwrap();
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "Host: pod-a, Version: v1\n")
    );
    assert_eq!(app.exit_status().await.code(), Some(0));
    app.wait_for_line("demo-app: stopped");
}

#[tokio::test]
async fn the_shutdown_timeout_cuts_off_requests_that_take_longer() {
    let mut app = App::start(
        &[
            "--latency",
            "60s",
            "--drain-period",
            "100ms",
            "--shutdown-timeout",
            "300ms",
        ],
        &[("VERSION", "v1")],
    );
    let in_flight = tokio::spawn(try_request(app.addresses.listen, Method::GET, "/"));
    wait_in_flight(&app, 1).await;
    app.signal(Signal::SIGTERM);
    assert_eq!(app.exit_status().await.code(), Some(0));
    assert!(in_flight.await.unwrap().is_err());
    app.wait_for_line("demo-app: shutdown timeout of 300ms reached: cut off 1 connections");
}
