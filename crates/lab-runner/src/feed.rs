//! The live page's feed: where the run publishes its live view for whoever
//! asks (a browser on the live page), and where asking is noticed. While
//! someone asks, `provisional` publishes a provisional report once a second;
//! at the end the final report is published, for good. The events fill in the
//! live state and the gates' looks as they pass through the journal.
//!
//! It sits below the run's configuration, the journal and the publisher, all
//! of which hold a [`LiveFeed`], and imports none of them.

use lab_core::report::Report;
use lab_core::run_event::{RunEvent, Timed};
use lab_report::live::{LiveView, Look};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A view is published while someone asked within this long.
const WANTED_FOR: Duration = Duration::from_secs(3);
/// How long an asker waits for a fresh view.
const FRESH_WITHIN: Duration = Duration::from_millis(1500);

/// A published view and when it was published.
#[derive(Clone)]
struct Published {
    at: Instant,
    view: Arc<LiveView>,
}

struct Shared {
    /// When someone last asked for a view.
    asked: Mutex<Option<Instant>>,
    published: watch::Sender<Option<Published>>,
    /// The last second's live state and the gates' looks, from the events.
    progress: Mutex<Option<lab_core::run_event::Progress>>,
    looks: Mutex<Vec<Look>>,
    /// Views published so far.
    count: AtomicU64,
}

/// Where a run publishes its live view for whoever asks (the live page's
/// server); cloned freely. A run is given one in `RunConfig::live`.
#[derive(Clone)]
pub struct LiveFeed {
    shared: Arc<Shared>,
}

impl Default for LiveFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveFeed {
    /// A feed nobody has asked yet.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                asked: Mutex::new(None),
                published: watch::channel(None).0,
                progress: Mutex::new(None),
                looks: Mutex::new(Vec::new()),
                count: AtomicU64::new(0),
            }),
        }
    }

    /// The newest view, at most about a second old while the run goes (the
    /// final one after it); `None` before the run has published any. Asking
    /// keeps the run publishing for a few seconds.
    pub async fn view(&self) -> Option<Arc<LiveView>> {
        *self.shared.asked.lock().unwrap() = Some(Instant::now());
        let mut published = self.shared.published.subscribe();
        let fresh = |p: &Option<Published>| {
            p.as_ref()
                .is_some_and(|p| p.view.finished || p.at.elapsed() < FRESH_WITHIN)
        };
        if !fresh(&published.borrow()) {
            let _ = tokio::time::timeout(
                FRESH_WITHIN,
                published.wait_for(|p| p.as_ref().is_some_and(|p| p.at.elapsed() < FRESH_WITHIN)),
            )
            .await;
        }
        published.borrow().as_ref().map(|p| p.view.clone())
    }

    /// How many views the run has published: one a second while someone
    /// asks, and the final one.
    pub fn published_views(&self) -> u64 {
        self.shared.count.load(Ordering::Relaxed)
    }

    /// Whether someone asked recently.
    pub(crate) fn wanted(&self) -> bool {
        self.shared
            .asked
            .lock()
            .unwrap()
            .is_some_and(|at| at.elapsed() < WANTED_FOR)
    }

    /// Keep what the page shows from an event: the live state, the looks.
    pub(crate) fn record(&self, timed: &Timed) {
        match &timed.event {
            RunEvent::Progress(progress) => {
                *self.shared.progress.lock().unwrap() = Some(progress.clone());
            }
            RunEvent::Interim { verdict, .. } => self.shared.looks.lock().unwrap().push(Look {
                t_ms: timed.t_ms,
                verdict: *verdict,
            }),
            _ => {}
        }
    }

    /// Publish a view of `report`.
    pub(crate) fn publish(&self, report: Report, parts: &ViewParts, now_ms: u64, finished: bool) {
        let view = LiveView {
            report,
            progress: self.shared.progress.lock().unwrap().clone(),
            looks: self.shared.looks.lock().unwrap().clone(),
            now_ms,
            tutorial_query: parts.tutorial_query.clone(),
            grafana: parts.grafana.clone(),
            finished,
        };
        self.shared.count.fetch_add(1, Ordering::Relaxed);
        self.shared.published.send_replace(Some(Published {
            at: Instant::now(),
            view: Arc::new(view),
        }));
    }

    /// Publish the final report: the page shows it and links to `report.html`.
    pub(crate) fn publish_final(&self, report: &Report, parts: &ViewParts, now_ms: u64) {
        self.publish(report.clone(), parts, now_ms, true);
    }
}

/// What every view of a run shares.
pub(crate) struct ViewParts {
    pub(crate) tutorial_query: String,
    pub(crate) grafana: Option<String>,
}
