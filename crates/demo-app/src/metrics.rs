//! Request metrics in the Prometheus text format (version 0.0.4), with the names of the
//! tutorial's image.
//!
//! The label space is closed (the codes this app answers times the methods Go's
//! `promhttp` distinguishes), so every series is a fixed slot of atomics: recording a
//! request takes no lock and allocates nothing. A series appears in the output once it
//! has seen a request, as with the Go client.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use hyper::{Method, StatusCode};

/// Upper bounds of the `request_duration_seconds` buckets: the tutorial's
/// .25 to 10 s, with finer ones below so a p99 under 250 ms can be read.
pub const DURATION_BUCKETS_SECONDS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds of the `response_size_bytes` buckets, as in the tutorial's image.
pub const SIZE_BUCKETS_BYTES: [f64; 4] = [200.0, 500.0, 900.0, 1500.0];

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `method` label: lower case for the methods Go's `promhttp` knows, else `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodLabel {
    /// `get`
    Get,
    /// `put`
    Put,
    /// `head`
    Head,
    /// `post`
    Post,
    /// `delete`
    Delete,
    /// `connect`
    Connect,
    /// `options`
    Options,
    /// `notify`
    Notify,
    /// `trace`
    Trace,
    /// `patch`
    Patch,
    /// Any other method.
    Unknown,
}

impl MethodLabel {
    const ALL: [MethodLabel; 11] = [
        MethodLabel::Get,
        MethodLabel::Put,
        MethodLabel::Head,
        MethodLabel::Post,
        MethodLabel::Delete,
        MethodLabel::Connect,
        MethodLabel::Options,
        MethodLabel::Notify,
        MethodLabel::Trace,
        MethodLabel::Patch,
        MethodLabel::Unknown,
    ];

    /// The label for a request's method.
    pub fn of(method: &Method) -> MethodLabel {
        match *method {
            Method::GET => MethodLabel::Get,
            Method::PUT => MethodLabel::Put,
            Method::HEAD => MethodLabel::Head,
            Method::POST => MethodLabel::Post,
            Method::DELETE => MethodLabel::Delete,
            Method::CONNECT => MethodLabel::Connect,
            Method::OPTIONS => MethodLabel::Options,
            Method::TRACE => MethodLabel::Trace,
            Method::PATCH => MethodLabel::Patch,
            _ if method.as_str() == "NOTIFY" => MethodLabel::Notify,
            _ => MethodLabel::Unknown,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodLabel::Get => "get",
            MethodLabel::Put => "put",
            MethodLabel::Head => "head",
            MethodLabel::Post => "post",
            MethodLabel::Delete => "delete",
            MethodLabel::Connect => "connect",
            MethodLabel::Options => "options",
            MethodLabel::Notify => "notify",
            MethodLabel::Trace => "trace",
            MethodLabel::Patch => "patch",
            MethodLabel::Unknown => "unknown",
        }
    }
}

/// The `code` label: the statuses the listen address answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeLabel {
    /// 200, the normal answer.
    Ok,
    /// 404, any path but `/`.
    NotFound,
    /// 405, `/` with a method other than GET.
    MethodNotAllowed,
    /// 500, an injected error.
    InternalServerError,
}

impl CodeLabel {
    const ALL: [CodeLabel; 4] = [
        CodeLabel::Ok,
        CodeLabel::NotFound,
        CodeLabel::MethodNotAllowed,
        CodeLabel::InternalServerError,
    ];

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            CodeLabel::Ok => StatusCode::OK,
            CodeLabel::NotFound => StatusCode::NOT_FOUND,
            CodeLabel::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            CodeLabel::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeLabel::Ok => "200",
            CodeLabel::NotFound => "404",
            CodeLabel::MethodNotAllowed => "405",
            CodeLabel::InternalServerError => "500",
        }
    }
}

/// A histogram whose observations are whole units (nanoseconds, bytes): per-bucket
/// counts (not cumulative, so one increment per observation; the last slot is +Inf)
/// and an integer sum.
#[derive(Debug)]
struct Histogram<const SLOTS: usize> {
    buckets: [AtomicU64; SLOTS],
    sum: AtomicU64,
}

impl<const SLOTS: usize> Histogram<SLOTS> {
    fn new() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum: AtomicU64::new(0),
        }
    }

    /// Records `value` given the bucket bounds in the same unit (`SLOTS - 1` of them).
    fn observe(&self, bounds: &[u64], value: u64) {
        let slot = bounds
            .iter()
            .position(|&bound| value <= bound)
            .unwrap_or(bounds.len());
        self.buckets[slot].fetch_add(1, Relaxed);
        self.sum.fetch_add(value, Relaxed);
    }

    /// Cumulative bucket counts (the last is the total count) and the sum.
    fn snapshot(&self) -> ([u64; SLOTS], u64) {
        let mut cumulative = [0; SLOTS];
        let mut total = 0;
        for (slot, bucket) in cumulative.iter_mut().zip(&self.buckets) {
            total += bucket.load(Relaxed);
            *slot = total;
        }
        (cumulative, self.sum.load(Relaxed))
    }
}

const DURATION_SLOTS: usize = DURATION_BUCKETS_SECONDS.len() + 1;
const SIZE_SLOTS: usize = SIZE_BUCKETS_BYTES.len() + 1;

/// Everything recorded for one (code, method) pair.
#[derive(Debug)]
struct Series {
    requests: AtomicU64,
    duration_nanos: Histogram<DURATION_SLOTS>,
    size_bytes: Histogram<SIZE_SLOTS>,
}

/// The metrics of the listen address.
#[derive(Debug)]
pub struct Metrics {
    /// The escaped `version` label value.
    version: String,
    in_flight: AtomicI64,
    /// Indexed by `[MethodLabel as usize][CodeLabel as usize]`.
    series: Vec<[Series; CodeLabel::ALL.len()]>,
    duration_bounds_nanos: [u64; DURATION_BUCKETS_SECONDS.len()],
    size_bounds: [u64; SIZE_BUCKETS_BYTES.len()],
}

/// Counts a request as in flight until dropped.
#[derive(Debug)]
pub struct InFlight<'a>(&'a AtomicI64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl Metrics {
    /// Empty metrics whose series all carry `version="<version>"`.
    pub fn new(version: &str) -> Metrics {
        Metrics {
            version: escape_label_value(version),
            in_flight: AtomicI64::new(0),
            series: MethodLabel::ALL
                .iter()
                .map(|_| {
                    std::array::from_fn(|_| Series {
                        requests: AtomicU64::new(0),
                        duration_nanos: Histogram::new(),
                        size_bytes: Histogram::new(),
                    })
                })
                .collect(),
            duration_bounds_nanos: DURATION_BUCKETS_SECONDS.map(|s| (s * 1e9) as u64),
            size_bounds: SIZE_BUCKETS_BYTES.map(|b| b as u64),
        }
    }

    /// Marks a request in flight until the returned guard is dropped.
    pub fn start_request(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Relaxed);
        InFlight(&self.in_flight)
    }

    /// Records an answered request.
    pub fn observe(
        &self,
        method: MethodLabel,
        code: CodeLabel,
        duration: Duration,
        body_bytes: u64,
    ) {
        let series = &self.series[method as usize][code as usize];
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        series
            .duration_nanos
            .observe(&self.duration_bounds_nanos, nanos);
        series.size_bytes.observe(&self.size_bounds, body_bytes);
        series.requests.fetch_add(1, Relaxed);
    }

    /// The number of requests answered with `code` for `method` so far.
    pub fn requests(&self, method: MethodLabel, code: CodeLabel) -> u64 {
        self.series[method as usize][code as usize]
            .requests
            .load(Relaxed)
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let version = &self.version;
        let seen = || {
            MethodLabel::ALL.iter().flat_map(move |&method| {
                CodeLabel::ALL.iter().filter_map(move |&code| {
                    let series = &self.series[method as usize][code as usize];
                    let labels = format!(
                        "code=\"{}\",method=\"{}\",version=\"{version}\"",
                        code.as_str(),
                        method.as_str()
                    );
                    (series.requests.load(Relaxed) > 0).then_some((labels, series))
                })
            })
        };

        // Writing to a String cannot fail.
        out.push_str("# HELP http_requests_total A counter for requests to the wrapped handler.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for (labels, series) in seen() {
            let _ = writeln!(
                out,
                "http_requests_total{{{labels}}} {}",
                series.requests.load(Relaxed)
            );
        }

        out.push_str(
            "# HELP in_flight_requests A gauge of requests currently being served by the wrapped handler.\n",
        );
        out.push_str("# TYPE in_flight_requests gauge\n");
        let _ = writeln!(
            out,
            "in_flight_requests{{version=\"{version}\"}} {}",
            self.in_flight.load(Relaxed)
        );

        out.push_str("# HELP request_duration_seconds A histogram of latencies for requests.\n");
        out.push_str("# TYPE request_duration_seconds histogram\n");
        for (labels, series) in seen() {
            let (buckets, sum_nanos) = series.duration_nanos.snapshot();
            write_histogram(
                &mut out,
                "request_duration_seconds",
                &labels,
                &DURATION_BUCKETS_SECONDS,
                &buckets,
                sum_nanos as f64 / 1e9,
            );
        }

        out.push_str("# HELP response_size_bytes A histogram of response sizes for requests.\n");
        out.push_str("# TYPE response_size_bytes histogram\n");
        for (labels, series) in seen() {
            let (buckets, sum) = series.size_bytes.snapshot();
            write_histogram(
                &mut out,
                "response_size_bytes",
                &labels,
                &SIZE_BUCKETS_BYTES,
                &buckets,
                sum as f64,
            );
        }
        out
    }
}

fn write_histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    bounds: &[f64],
    cumulative: &[u64],
    sum: f64,
) {
    let les = bounds
        .iter()
        .map(|bound| bound.to_string())
        .chain(std::iter::once("+Inf".to_owned()));
    for (le, count) in les.zip(cumulative) {
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {count}");
    }
    let total = cumulative.last().copied().unwrap_or(0);
    let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
    let _ = writeln!(out, "{name}_count{{{labels}}} {total}");
}

/// Escapes a label value as the text format requires: backslash, double quote, newline.
fn escape_label_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_labels_follow_promhttp() {
        let check = |method: &str, expected: &str| {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert_eq!(MethodLabel::of(&method).as_str(), expected);
        };
        check("GET", "get");
        check("HEAD", "head");
        check("POST", "post");
        check("PUT", "put");
        check("DELETE", "delete");
        check("CONNECT", "connect");
        check("OPTIONS", "options");
        check("NOTIFY", "notify");
        check("TRACE", "trace");
        check("PATCH", "patch");
        check("PURGE", "unknown");
        check("get", "unknown");
    }

    #[test]
    fn label_values_are_escaped() {
        let check = |value: &str, expected: &str| assert_eq!(escape_label_value(value), expected);
        check("v1.0.0", "v1.0.0");
        check("", "");
        check("a\"b", "a\\\"b");
        check("a\\b", "a\\\\b");
        check("a\nb", "a\\nb");
    }

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        // (duration, size) → index of the first cumulative bucket that counts it.
        let check = |duration: Duration, size: u64, duration_slot: usize, size_slot: usize| {
            let metrics = Metrics::new("v");
            metrics.observe(MethodLabel::Get, CodeLabel::Ok, duration, size);
            let series = &metrics.series[MethodLabel::Get as usize][CodeLabel::Ok as usize];
            let (durations, _) = series.duration_nanos.snapshot();
            let (sizes, _) = series.size_bytes.snapshot();
            let first = |buckets: &[u64]| buckets.iter().position(|&count| count == 1);
            assert_eq!(first(&durations), Some(duration_slot), "{duration:?}");
            assert_eq!(first(&sizes), Some(size_slot), "{size}");
        };
        check(Duration::ZERO, 0, 0, 0);
        check(Duration::from_millis(1), 200, 0, 0);
        check(Duration::from_micros(1001), 201, 1, 1);
        check(Duration::from_millis(250), 1500, 6, 3);
        check(Duration::from_millis(251), 1501, 7, 4);
        check(Duration::from_secs(10), 900, 11, 2);
        check(Duration::from_secs(11), 10_000, 12, 4);
        check(Duration::MAX, u64::MAX / 2, 12, 4);
    }

    #[test]
    fn in_flight_counts_live_guards() {
        let metrics = Metrics::new("v");
        let first = metrics.start_request();
        let second = metrics.start_request();
        assert_eq!(metrics.in_flight.load(Relaxed), 2);
        drop(first);
        assert_eq!(metrics.in_flight.load(Relaxed), 1);
        drop(second);
        assert_eq!(metrics.in_flight.load(Relaxed), 0);
    }

    #[test]
    fn empty_metrics_render_only_the_gauge() {
        insta::assert_snapshot!(Metrics::new("v1.0.0").render());
    }

    #[test]
    fn rendered_series_carry_code_method_and_version() {
        let metrics = Metrics::new("v2.0.0");
        let _in_flight = metrics.start_request();
        for millis in [0, 3, 30, 300] {
            metrics.observe(
                MethodLabel::Get,
                CodeLabel::Ok,
                Duration::from_millis(millis),
                36,
            );
        }
        metrics.observe(
            MethodLabel::Get,
            CodeLabel::InternalServerError,
            Duration::from_millis(700),
            58,
        );
        metrics.observe(
            MethodLabel::Post,
            CodeLabel::MethodNotAllowed,
            Duration::from_micros(20),
            0,
        );
        insta::assert_snapshot!(metrics.render());
    }
}
