//! The human summary printed at the end of a run, and the live progress line.

use crate::options::{Connections, Load};
use crate::run::{Results, StopReason};
use crate::snapshot::Snapshot;
use crate::tally::{ErrorKind, Gap};
use std::fmt::Write;
use std::time::Duration;

/// A latency for people: `0.42 ms`, `12.3 ms`, `1.25 s`.
pub fn latency(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// The end-of-run summary.
pub fn render(results: &Results) -> String {
    let options = &results.options;
    let totals = &results.totals;
    let mut out = String::new();
    let load = match options.load {
        Load::Rate(r) => format!("open loop at {} requests/s", rate(r)),
        Load::Concurrency(c) => format!("closed loop with {c} concurrent requests"),
    };
    let connections = match options.connections {
        Connections::PerRequest => "a new connection per request".to_string(),
        Connections::KeepAlive(n) => format!("{n} kept-alive connection(s)"),
    };
    let stopped = match results.stopped_by {
        StopReason::Duration => "by its duration",
        StopReason::Requests => "by its request count",
        StopReason::Stopped => "early (interrupted)",
    };
    let _ = writeln!(out, "target    {}", options.url);
    let _ = writeln!(
        out,
        "load      {load}, {connections}, timeout {}",
        humantime::format_duration(options.timeout)
    );
    let _ = writeln!(
        out,
        "ran       {:.2} s, stopped {stopped}",
        totals.to_ms as f64 / 1000.0
    );
    let _ = writeln!(
        out,
        "requests  {} issued, {} answered, {} failed, {} dropped by the in-flight cap",
        totals.issued,
        totals.responses(),
        totals.errors.total(),
        totals.dropped_by_cap
    );
    let _ = writeln!(
        out,
        "achieved  {} requests/s completed",
        rate(results.achieved_rate())
    );
    out.push('\n');
    out.push_str(&versions_table(totals));
    out.push('\n');
    let errors: Vec<String> = ErrorKind::ALL
        .iter()
        .filter(|&&k| totals.errors.get(k) > 0)
        .map(|&k| format!("{} {}", k.describe(), totals.errors.get(k)))
        .collect();
    let _ = writeln!(
        out,
        "errors    {}",
        if errors.is_empty() {
            "none".to_string()
        } else {
            errors.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "gaps      {}",
        gaps_line(&totals.gaps, totals.gaps_overflow, options.gap_threshold)
    );
    out
}

fn versions_table(totals: &Snapshot) -> String {
    if totals.versions.is_empty() {
        return "versions  no answers\n".to_string();
    }
    let answered = totals.responses().max(1);
    let width = totals
        .versions
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max(7);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$} {:>9} {:>7} {:>8} {:>6} {:>6} {:>6} {:>10} {:>10} {:>10} {:>10}",
        "version", "answers", "share", "2xx", "3xx", "4xx", "5xx", "p50", "p90", "p99", "max"
    );
    for (name, stats) in &totals.versions {
        let s = &stats.statuses;
        let show = |d: Option<Duration>| d.map(latency).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:<width$} {:>9} {:>6.1}% {:>8} {:>6} {:>6} {:>6} {:>10} {:>10} {:>10} {:>10}",
            name,
            stats.count(),
            stats.count() as f64 * 100.0 / answered as f64,
            s.success,
            s.redirection,
            s.client_error,
            s.server_error,
            show(stats.percentile(0.5)),
            show(stats.percentile(0.9)),
            show(stats.percentile(0.99)),
            show(stats.max()),
        );
    }
    out
}

fn gaps_line(gaps: &[Gap], overflow: u64, threshold: Duration) -> String {
    let over = humantime::format_duration(threshold);
    let Some(longest) = gaps.iter().max_by_key(|g| g.length_ms()) else {
        return format!("none (no period without a 2xx answer over {over})");
    };
    let total: u64 = gaps.iter().map(Gap::length_ms).sum();
    let count = gaps.len() as u64 + overflow;
    format!(
        "{count} period(s) without a 2xx answer over {over}: {} in all, longest {} from {:.2} s",
        latency(Duration::from_millis(total)),
        latency(Duration::from_millis(longest.length_ms())),
        longest.start_ms as f64 / 1000.0,
    )
}

/// One line of live progress: elapsed time, counts, current rate and shares.
pub fn progress_line(now: &Snapshot, last_second: Option<&Snapshot>) -> String {
    let recent = last_second.map(|earlier| now.since(earlier));
    let mut line = format!(
        "{:>6.1} s  {} answered  {} failed",
        now.to_ms as f64 / 1000.0,
        now.responses(),
        now.errors.total()
    );
    if let Some(recent) = &recent {
        let _ = write!(line, "  {}/s", rate(recent.completed_rate()));
    }
    let answered = now.responses().max(1) as f64;
    for (name, stats) in &now.versions {
        let _ = write!(
            line,
            "  {name} {:.1}%",
            stats.count() as f64 * 100.0 / answered
        );
    }
    line
}
