//! The library against local servers: counts, versions, errors, series, gaps,
//! windows, pacing and connection use.

mod common;

use common::{FullBacklog, Hangup, Reply, TestServer, closed_port_url, wait_until, within};
use loadgen::{Bound, Connections, ErrorCounts, Load, Options, Results, StopReason};
use std::collections::BTreeMap;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

async fn run(options: Options) -> Results {
    let handle = loadgen::start(options).await.expect("options are valid");
    within("the run to finish", LIMIT, handle.wait()).await
}

fn closed(url: &str, concurrency: usize, requests: u64) -> Options {
    Options::new(
        url,
        Load::Concurrency(concurrency),
        Bound::Requests(requests),
    )
}

fn counts(results: &Results) -> BTreeMap<String, u64> {
    results
        .totals
        .versions
        .iter()
        .map(|(name, stats)| (name.clone(), stats.count()))
        .collect()
}

fn expect_counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|&(v, n)| (v.to_string(), n)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_come_from_the_header_else_the_body_else_unknown() {
    async fn check(reply: Reply, expected: &[(&str, u64)]) {
        let server = TestServer::start(move |_| reply.clone()).await;
        let results = run(closed(&server.url(), 2, 20)).await;
        assert_eq!(counts(&results), expect_counts(expected));
        assert_eq!(results.totals.errors, ErrorCounts::default());
        assert_eq!(results.stopped_by, StopReason::Requests);
        assert_eq!(results.totals.issued, 20);
    }
    check(Reply::versioned("v1.0.0"), &[("v1.0.0", 20)]).await;
    check(Reply::body_only("v2.0.0"), &[("v2.0.0", 20)]).await;
    check(Reply::anonymous(), &[("unknown", 20)]).await;
    let header_wins = Reply {
        header_version: Some("v4".into()),
        ..Reply::body_only("v5")
    };
    check(header_wins, &[("v4", 20)]).await;
    let header_only = Reply {
        body: "hello".into(),
        ..Reply::versioned("v6")
    };
    check(header_only, &[("v6", 20)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_classes_are_counted_per_version() {
    // Every fourth request fails with a 500 that still names its version.
    let server = TestServer::start(|hit| {
        let version = if hit.request % 2 == 0 { "v1" } else { "v2" };
        let reply = Reply::versioned(version);
        match hit.request % 4 {
            3 => reply.with_status(500),
            1 => reply.with_status(404),
            _ => reply,
        }
    })
    .await;
    let results = run(closed(&server.url(), 3, 40)).await;
    let v1 = results.totals.versions["v1"].statuses;
    let v2 = results.totals.versions["v2"].statuses;
    assert_eq!((v1.success, v1.client_error, v1.server_error), (20, 0, 0));
    assert_eq!((v2.success, v2.client_error, v2.server_error), (0, 10, 10));
    assert_eq!(results.totals.responses(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_tallied_by_kind_without_a_version() {
    async fn check(url: String, timeout_ms: u64, expected: ErrorCounts) {
        let mut options = closed(&url, 2, 4);
        options.timeout = Duration::from_millis(timeout_ms);
        let results = run(options).await;
        assert_eq!(results.totals.errors, expected, "target {url}");
        assert!(results.totals.versions.is_empty(), "target {url}");
        assert_eq!(results.totals.issued, 4);
    }
    let none = ErrorCounts::default();
    check(
        closed_port_url(),
        1000,
        ErrorCounts {
            connect_refused: 4,
            ..none
        },
    )
    .await;
    let stalling = TestServer::start(|_| Reply::stall()).await;
    check(
        stalling.url(),
        200,
        ErrorCounts {
            response_timeout: 4,
            ..none
        },
    )
    .await;
    let hangup = Hangup::start().await;
    check(
        hangup.url(),
        1000,
        ErrorCounts {
            closed_before_response: 4,
            ..none
        },
    )
    .await;
    let backlog = FullBacklog::start();
    check(
        backlog.url(),
        200,
        ErrorCounts {
            connect_timeout: 4,
            ..none
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_connections_spread_versions_and_keep_alive_pins_them() {
    // Like a Service: each connection lands on one of two "pods".
    async fn check(
        connections: Connections,
        concurrency: usize,
        expected_connections: u64,
        expected: &[(&str, u64)],
    ) {
        let server = TestServer::start(|hit| {
            Reply::versioned(if hit.connection % 2 == 0 { "v1" } else { "v2" })
        })
        .await;
        let mut options = closed(&server.url(), concurrency, 40);
        options.connections = connections;
        let results = run(options).await;
        assert_eq!(counts(&results), expect_counts(expected), "{connections:?}");
        assert_eq!(
            server.connections(),
            expected_connections,
            "{connections:?}"
        );
        assert_eq!(server.requests(), 40);
    }
    check(Connections::PerRequest, 1, 40, &[("v1", 20), ("v2", 20)]).await;
    check(Connections::KeepAlive(1), 1, 1, &[("v1", 40)]).await;
    // Connections are used in turn, not the same one over and over.
    check(Connections::KeepAlive(2), 1, 2, &[("v1", 20), ("v2", 20)]).await;
    // More workers than connections: they share the connections.
    check(Connections::KeepAlive(1), 4, 1, &[("v1", 40)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_keeps_its_rate_and_fills_the_series() {
    let server = TestServer::start(|_| Reply::versioned("v1")).await;
    let options = Options::new(
        server.url(),
        Load::Rate(200.0),
        Bound::Duration(Duration::from_secs(5)),
    );
    let results = run(options).await;
    let totals = &results.totals;
    assert_eq!(totals.issued, 1000);
    assert_eq!(totals.dropped_by_cap, 0);
    assert_eq!(totals.versions["v1"].statuses.success, 1000);
    let achieved = results.achieved_rate();
    assert!((achieved - 200.0).abs() <= 4.0, "achieved {achieved:.1}/s");
    for second in &totals.series[..5] {
        let answered: u64 = second.versions.values().map(|c| c.total()).sum();
        assert!(
            (180..=220).contains(&answered),
            "second {}: {answered}",
            second.second
        );
    }
    let seconds: Vec<u64> = totals.series.iter().map(|s| s.second).collect();
    assert_eq!(seconds[..5], [0, 1, 2, 3, 4]);
    assert_eq!(results.stopped_by, StopReason::Duration);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_as_a_gap_and_as_latency_from_the_intended_send_time() {
    let server = TestServer::start(|_| Reply::versioned("v1")).await;
    let options = Options::new(
        server.url(),
        Load::Rate(100.0),
        Bound::Duration(Duration::from_secs(3)),
    );
    let handle = loadgen::start(options).await.unwrap();
    wait_until("20 answers", LIMIT, || handle.snapshot().responses() >= 20).await;
    server.pause();
    // At 100/s, 40 held requests is about 400 ms without any answer.
    wait_until("40 requests held", LIMIT, || {
        server.held.load(std::sync::atomic::Ordering::SeqCst) >= 40
    })
    .await;
    server.resume();
    let results = within("the run", LIMIT, handle.wait()).await;
    let totals = &results.totals;
    assert_eq!(totals.errors.total(), 0);
    assert_eq!(totals.versions["v1"].count(), 300);
    assert_eq!(totals.gaps.len(), 1, "gaps {:?}", totals.gaps);
    let gap = totals.gaps[0];
    assert!((390..2000).contains(&gap.length_ms()), "gap {gap:?}");
    let v1 = &totals.versions["v1"];
    // The first held request waited the whole stall: measured from when it was due,
    // not from when the server let it through.
    assert!(
        v1.max().unwrap() >= Duration::from_millis(380),
        "max {:?}",
        v1.max()
    );
    assert!(v1.count_slower_than(Duration::from_millis(200)) >= 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_cut_phases_without_stopping_traffic() {
    let version = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = {
        let version = version.clone();
        TestServer::start(move |_| {
            Reply::versioned(if version.load(std::sync::atomic::Ordering::SeqCst) {
                "v2"
            } else {
                "v1"
            })
        })
        .await
    };
    let options = Options::new(
        server.url(),
        Load::Concurrency(2),
        Bound::Duration(Duration::from_secs(60)),
    );
    let handle = loadgen::start(options).await.unwrap();
    wait_until("50 answers", LIMIT, || handle.snapshot().responses() >= 50).await;
    // Switch first, then cut: only requests the server had already taken can still
    // be answered by v1 after the cut.
    version.store(true, std::sync::atomic::Ordering::SeqCst);
    let first = handle.snapshot();
    wait_until("50 answers from v2", LIMIT, || {
        handle
            .snapshot()
            .versions
            .get("v2")
            .is_some_and(|v| v.count() >= 50)
    })
    .await;
    let second = handle.snapshot();
    handle.stop();
    let results = within("the stop", LIMIT, handle.wait()).await;
    assert_eq!(results.stopped_by, StopReason::Stopped);

    let window = second.since(&first);
    assert!(first.versions["v1"].count() >= 50);
    let v1_before = first.versions["v1"].count();
    let v1_in_window = window.versions["v1"].count();
    assert!(v1_in_window <= 2, "v1 in window {v1_in_window}");
    assert_eq!(v1_before + v1_in_window, second.versions["v1"].count());
    assert_eq!(window.versions["v2"].count(), second.versions["v2"].count());
    assert_eq!(
        window.versions["v2"].latency.len(),
        window.versions["v2"].count()
    );
    assert_eq!(window.from_ms, first.to_ms);
    let series_total: u64 = window
        .series
        .iter()
        .flat_map(|s| s.versions.values())
        .map(|c| c.total())
        .sum();
    assert_eq!(series_total, window.responses());
    assert!(results.totals.responses() >= second.responses());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_flight_cap_drops_and_counts_what_it_cannot_send() {
    let server = TestServer::start(|_| Reply::stall()).await;
    let mut options = Options::new(
        server.url(),
        Load::Rate(200.0),
        Bound::Duration(Duration::from_secs(1)),
    );
    options.max_in_flight = 10;
    options.timeout = Duration::from_secs(3);
    let results = run(options).await;
    let totals = &results.totals;
    assert_eq!(totals.issued, 10);
    assert_eq!(totals.dropped_by_cap, 190);
    assert_eq!(totals.errors.response_timeout, 10);
    let dropped: u64 = totals.series.iter().map(|s| s.dropped_by_cap).sum();
    assert_eq!(dropped, 190);
    // No success at all: the whole run is one gap.
    assert_eq!(totals.gaps.len(), 1);
    assert_eq!(totals.gaps[0].start_ms, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bounds_are_exact_in_both_loops() {
    async fn check(load: Load, bound: Bound, expected: u64) {
        let server = TestServer::start(|_| Reply::versioned("v1")).await;
        let results = run(Options::new(server.url(), load, bound)).await;
        assert_eq!(results.totals.issued, expected, "{load:?} {bound:?}");
        assert_eq!(results.totals.completed(), expected, "{load:?} {bound:?}");
        assert_eq!(server.requests(), expected, "{load:?} {bound:?}");
        assert_eq!(results.stopped_by, StopReason::Requests);
    }
    check(Load::Concurrency(7), Bound::Requests(100), 100).await;
    check(Load::Concurrency(1), Bound::Requests(1), 1).await;
    check(Load::Rate(1000.0), Bound::Requests(50), 50).await;
    check(
        Load::Rate(1000.0),
        Bound::DurationOrRequests(Duration::from_secs(60), 30),
        30,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_options_do_not_start() {
    async fn check(options: Options, expected: &str) {
        match loadgen::start(options).await {
            Ok(_) => panic!("started with a bad option, expected {expected}"),
            Err(e) => assert_eq!(e.to_string(), expected),
        }
    }
    let ok = Options::new("http://127.0.0.1:9/", Load::Rate(1.0), Bound::Requests(1));
    check(
        Options {
            url: "https://127.0.0.1/".into(),
            ..ok.clone()
        },
        "bad url \"https://127.0.0.1/\": https is not supported, use http://",
    )
    .await;
    check(
        Options {
            load: Load::Rate(0.0),
            ..ok.clone()
        },
        "bad option rate: must be > 0",
    )
    .await;
    let unresolvable = Options {
        url: "http://no-such-host.invalid/".into(),
        ..ok
    };
    match loadgen::start(unresolvable).await {
        Ok(_) => panic!("started with a host that does not resolve"),
        Err(e) => assert!(
            e.to_string()
                .starts_with("cannot resolve no-such-host.invalid: "),
            "{e}"
        ),
    }
}
