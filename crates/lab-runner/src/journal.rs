//! Where a run's events go, as they happen: every event to `events.jsonl` at
//! once (so a run that is killed keeps what it did) and to an optional live
//! observer (the terminal view) and live feed (the live page). The events
//! themselves are lab-core's.

use crate::feed::LiveFeed;
use lab_core::run_event::{RunEvent, Timed};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;

/// Where events go.
pub(crate) struct Journal {
    start: Instant,
    file: Mutex<Option<File>>,
    observer: Option<UnboundedSender<Timed>>,
    feed: Option<LiveFeed>,
}

impl Journal {
    pub(crate) fn create(
        path: &Path,
        start: Instant,
        observer: Option<UnboundedSender<Timed>>,
        feed: Option<LiveFeed>,
    ) -> std::io::Result<Self> {
        Ok(Self {
            start,
            file: Mutex::new(Some(File::create(path)?)),
            observer,
            feed,
        })
    }

    /// Milliseconds since the run started.
    pub(crate) fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub(crate) fn emit(&self, event: RunEvent) {
        let timed = Timed {
            t_ms: self.now_ms(),
            event,
        };
        if !matches!(timed.event, RunEvent::Progress(_)) {
            let mut file = self.file.lock().unwrap();
            if let Some(handle) = file.as_mut() {
                let line = serde_json::to_string(&timed).expect("events serialize");
                // A full disk must not stop the run; the report says what it can.
                if writeln!(handle, "{line}").is_err() {
                    *file = None;
                }
            }
        }
        if let Some(feed) = &self.feed {
            feed.record(&timed);
        }
        if let Some(observer) = &self.observer {
            let _ = observer.send(timed);
        }
    }

    pub(crate) fn note(&self, message: impl Into<String>) {
        self.emit(RunEvent::Note {
            message: message.into(),
        });
    }
}
