//! The live page's feed on the in-memory platform: nothing is published until
//! someone asks; while someone asks, a provisional report follows the run
//! (steps, windows, the candidate's share, the looks at the gates, the
//! decision), and at the end the final report is published as written.

use lab_core::analysis::{Outcome, WindowKind};
use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::report::Report;
use lab_runner::fake::FakePlatform;
use lab_runner::{LiveFeed, RunConfig};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::watch;

fn plan() -> Plan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = lab_runner::scenario_dir::shipped(&root, "canary");
    let scenario = lab_runner::load_scenario(&dir, "canary").unwrap();
    let overrides = Overrides {
        observe: Some(Duration::from_secs(2)),
        analyze: Some(Duration::from_secs(4)),
        analysis_interval: Some(Duration::from_secs(1)),
        wait_timeout: Some(Duration::from_secs(1)),
        rate: Some(400.0),
        ..Overrides::default()
    };
    Plan::build(&scenario, ProfileName::Quick, &overrides).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_follows_the_run_while_asked_and_ends_with_the_report() {
    let platform = FakePlatform::new();
    let plan = plan();
    let dir = tempfile::tempdir().unwrap();
    let (_interrupt, interrupted) = watch::channel(false);
    let mut config = RunConfig::new("fake-run", dir.path().join("run"), interrupted);
    let feed = LiveFeed::new();
    config.live = Some(feed.clone());
    let run = tokio::spawn({
        let plan = plan.clone();
        async move { lab_runner::run(&platform, &plan, config).await.unwrap() }
    });

    // Ask as a browser would, once a second, until the run ends; keep the
    // views that show the canary's share and the decision.
    let mut canary_share = None;
    let mut decided_view = None;
    let mut looks = 0;
    let mut seen_running = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    let last = loop {
        assert!(Instant::now() < deadline, "the run did not end");
        if let Some(view) = feed.view().await {
            if view.finished {
                break view;
            }
            seen_running += 1;
            let report = &view.report;
            if let Some(window) = report
                .windows
                .iter()
                .find(|w| w.name == "canary" && w.kind == WindowKind::Analyze)
                && let Some(split) = window.split.iter().find(|s| s.version == "v2.0.0")
            {
                canary_share = split.observed_share.or(canary_share);
            }
            looks = looks.max(view.looks.len());
            if report.decision.is_some() {
                decided_view = Some(view.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let report: Report = run.await.unwrap();

    assert!(seen_running >= 3, "only {seen_running} provisional views");
    let share = canary_share.expect("the canary phase was shown with v2's share");
    assert!((0.02..0.25).contains(&share), "v2 share {share}");
    assert!(looks >= 1, "no look at the gates was shown");
    let decided = decided_view.expect("the decision was shown before the end");
    assert_eq!(
        decided.report.decision.as_ref().unwrap().outcome,
        Outcome::Promoted
    );
    // The last view is the report as written.
    assert_eq!(last.report, report);
    assert!(last.finished);
    assert!(
        last.tutorial_query.contains("app=\"my-app\""),
        "{}",
        last.tutorial_query
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_assembled_while_nobody_asks() {
    let platform = FakePlatform::new();
    let plan = plan();
    let dir = tempfile::tempdir().unwrap();
    let (_interrupt, interrupted) = watch::channel(false);
    let mut config = RunConfig::new("fake-run", dir.path().join("run"), interrupted);
    let feed = LiveFeed::new();
    config.live = Some(feed.clone());
    let report = lab_runner::run(&platform, &plan, config).await.unwrap();
    // Only the final view was ever published: its report is the final one,
    // and the looks it kept came from the events, not from assembling.
    let view = feed.view().await.expect("the final view");
    assert!(view.finished);
    assert_eq!(view.report, report);
    assert_eq!(feed.published_views(), 1);
}
