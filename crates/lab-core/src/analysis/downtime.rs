//! The longest stretch of a window without a successful answer.

use serde::{Deserialize, Serialize};

/// The longest stretch of a window without a successful answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Downtime {
    /// Its length in milliseconds.
    pub longest_ms: u64,
    /// When it began.
    pub start_ms: u64,
}

/// Follows successful answers through a window and keeps the longest gap.
///
/// Feed it the completion times of successful requests in time order; a time
/// earlier than the previous one is ignored, since the gap it would close is
/// already closed. The gap before the first success and after the last one count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DowntimeTracker {
    last_success_ms: u64,
    longest: Downtime,
}

impl DowntimeTracker {
    /// Start following a window that begins at `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        DowntimeTracker {
            last_success_ms: start_ms,
            longest: Downtime {
                longest_ms: 0,
                start_ms,
            },
        }
    }

    /// A request completed successfully at `t_ms`.
    pub fn record_success(&mut self, t_ms: u64) {
        if t_ms < self.last_success_ms {
            return;
        }
        self.close_gap(t_ms);
        self.last_success_ms = t_ms;
    }

    /// The longest gap so far, counting the one still open at `now_ms`.
    pub fn longest_until(&self, now_ms: u64) -> Downtime {
        let mut copy = self.clone();
        copy.close_gap(now_ms);
        copy.longest
    }

    /// The window ended at `end_ms`: the longest gap in it.
    pub fn finish(self, end_ms: u64) -> Downtime {
        self.longest_until(end_ms)
    }

    fn close_gap(&mut self, t_ms: u64) {
        let gap = t_ms.saturating_sub(self.last_success_ms);
        if gap > self.longest.longest_ms {
            self.longest = Downtime {
                longest_ms: gap,
                start_ms: self.last_success_ms,
            };
        }
    }
}
