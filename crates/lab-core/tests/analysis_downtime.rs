//! The longest stretch of a window without a successful answer.

use lab_core::analysis::{Downtime, DowntimeTracker};

fn check(start_ms: u64, successes: &[u64], end_ms: u64, expected: (u64, u64)) {
    let mut tracker = DowntimeTracker::new(start_ms);
    for &t in successes {
        tracker.record_success(t);
    }
    let got = tracker.finish(end_ms);
    let want = Downtime {
        longest_ms: expected.0,
        start_ms: expected.1,
    };
    assert_eq!(
        got, want,
        "successes {successes:?} in [{start_ms}, {end_ms}]"
    );
}

#[test]
fn longest_gap_without_success() {
    // Steady 10/s: the gaps are the 100 ms between requests; the first one wins ties.
    check(0, &[100, 200, 300, 400], 500, (100, 0));
    // A recreate: nothing answers between 1200 and 4700.
    check(1000, &[1100, 1200, 4700, 4800], 5000, (3500, 1200));
    // No success at all: the whole window.
    check(2000, &[], 9000, (7000, 2000));
    // The gap before the first success and after the last one count.
    check(0, &[3000, 3100], 3200, (3000, 0));
    check(0, &[100, 200], 5000, (4800, 200));
    // A time earlier than the last one closes no gap.
    check(0, &[100, 600, 300, 700], 800, (500, 100));
    // A zero-length window.
    check(500, &[], 500, (0, 500));
}

#[test]
fn longest_until_counts_the_open_gap_without_closing_it() {
    let mut tracker = DowntimeTracker::new(0);
    tracker.record_success(100);
    assert_eq!(
        tracker.longest_until(1100),
        Downtime {
            longest_ms: 1000,
            start_ms: 100
        }
    );
    tracker.record_success(200);
    assert_eq!(
        tracker.finish(300),
        Downtime {
            longest_ms: 100,
            start_ms: 0
        }
    );
}
