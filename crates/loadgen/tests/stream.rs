//! Snapshots as JSON lines: what a follower rebuilds equals what the run holds.

mod common;

use common::{Reply, TestServer, within};
use loadgen::stream::{SnapshotAssembler, SnapshotFeed, to_text};
use loadgen::{Bound, Load, Options, RequestClass, Snapshot};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// The parts of two snapshots a runner reads must agree.
fn assert_same(got: &Snapshot, want: &Snapshot) {
    assert_eq!(got.to_ms, want.to_ms);
    assert_eq!(got.issued, want.issued);
    assert_eq!(got.errors, want.errors);
    assert_eq!(got.gaps, want.gaps);
    assert_eq!(got.open_gap, want.open_gap);
    assert_eq!(got.series, want.series);
    assert_eq!(got.classes, want.classes);
    assert_eq!(
        got.versions.keys().collect::<Vec<_>>(),
        want.versions.keys().collect::<Vec<_>>()
    );
    for (version, stats) in &want.versions {
        let other = &got.versions[version];
        assert_eq!(other.statuses, stats.statuses, "{version}");
        assert_eq!(other.count(), stats.count(), "{version}");
        for q in [0.5, 0.9, 0.99] {
            assert_eq!(other.percentile(q), stats.percentile(q), "{version} p{q}");
        }
        assert_eq!(
            other.count_slower_than(Duration::from_millis(1)),
            stats.count_slower_than(Duration::from_millis(1))
        );
    }
}

#[tokio::test]
async fn a_follower_rebuilds_every_snapshot_from_lines() {
    // Every third request fails with 500 and v2 answers one in four.
    let server = TestServer::start(|hit| {
        let version = if hit.request % 4 == 0 { "v2" } else { "v1" };
        let reply = Reply::versioned(version);
        if hit.request % 3 == 0 {
            reply.with_status(500)
        } else {
            reply
        }
    })
    .await;
    let mut options = Options::new(
        server.url(),
        Load::Rate(200.0),
        Bound::Duration(Duration::from_millis(2500)),
    );
    // A targeted group, tallied per class on both sides.
    options.classes = vec![RequestClass {
        name: "targeted".to_owned(),
        share: 0.25,
        headers: vec![("X-Group".to_owned(), "b".to_owned())],
    }];
    let handle = loadgen::start(options).await.unwrap();
    let mut feed = SnapshotFeed::new();
    let mut follower = SnapshotAssembler::new();
    let mut lines = 0;
    while !handle.is_finished() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = handle.snapshot();
        let text = to_text(&feed.line(&now));
        assert!(follower.push_text(&text).unwrap(), "{text}");
        assert_same(follower.snapshot(), &now);
        lines += 1;
    }
    within("the run to end", LIMIT, handle.finished()).await;
    let last = handle.snapshot();
    follower.push_text(&to_text(&feed.line(&last))).unwrap();
    assert_same(follower.snapshot(), &last);
    assert!(lines >= 5, "only {lines} lines");
    assert!(last.versions["v2"].statuses.server_error > 0);
    let answered = |class: &str| last.classes[class].answers.values().sum::<u64>();
    assert!(answered("targeted") > 0, "{:?}", last.classes);
    assert!(answered("default") > 0, "{:?}", last.classes);
    // Windows cut from rebuilt snapshots are the same as from the originals.
    let earlier = handle.snapshot();
    assert_eq!(
        follower.snapshot().since(&earlier).issued,
        last.since(&earlier).issued
    );
}

#[test]
fn other_output_lines_are_ignored_and_bad_snapshot_lines_refused() {
    let mut follower = SnapshotAssembler::new();
    assert!(!follower.push_text("{\"schema_version\":1}").unwrap());
    assert!(!follower.push_text("loadgen: started").unwrap());
    assert!(
        follower
            .push_text("{\"snapshot\": {\"to_ms\": \"soon\"}}")
            .is_err()
    );
}
