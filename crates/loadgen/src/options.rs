//! What a run is asked to do, and the checks that make a run bounded and well-formed.

use hyper::Uri;
use hyper::header::{HeaderName, HeaderValue};
use std::time::Duration;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The target URL is not a plain `http://host[:port][/path]` URL.
    #[error("bad url {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An option is out of range; `option` is its command-line name without dashes.
    #[error("bad option {option}: {reason}")]
    BadOption {
        /// The option's name as the command line spells it (`rate`, `keep-alive`, …).
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The target's host name did not resolve to any address.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The host name.
        host: String,
        /// What the resolver said.
        reason: String,
    },
}

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// Open loop: requests are issued on a fixed schedule, whatever the target does.
    /// The tutorial's `while sleep 0.1; do curl …; done` is about `Rate(10.0)`.
    Rate(f64),
    /// Closed loop: this many workers, each sending its next request as soon as
    /// the previous one has finished.
    Concurrency(usize),
}

/// When a run ends by itself. There is no unbounded variant on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Stop issuing requests after this long.
    Duration(Duration),
    /// Stop after issuing this many requests.
    Requests(u64),
    /// Whichever of the two comes first.
    DurationOrRequests(Duration, u64),
}

impl Bound {
    /// The duration bound, if any.
    pub fn duration(&self) -> Option<Duration> {
        match *self {
            Bound::Duration(d) | Bound::DurationOrRequests(d, _) => Some(d),
            Bound::Requests(_) => None,
        }
    }

    /// The request-count bound, if any.
    pub fn requests(&self) -> Option<u64> {
        match *self {
            Bound::Requests(n) | Bound::DurationOrRequests(_, n) => Some(n),
            Bound::Duration(_) => None,
        }
    }
}

/// How requests use TCP connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connections {
    /// A new connection for every request, as `curl` in a loop does. Behind a
    /// Kubernetes Service each connection goes to a random ready pod, so this is
    /// what spreads requests across versions.
    PerRequest,
    /// Reuse up to this many persistent connections. Each stays on the pod it
    /// first reached, so the split across versions follows the connections.
    KeepAlive(usize),
}

/// Everything a run needs. Build it with [`Options::new`] and adjust the fields.
#[derive(Debug, Clone)]
pub struct Options {
    /// The target, `http://host[:port][/path][?query]`. HTTPS is out of scope.
    pub url: String,
    /// Open loop at a rate or closed loop at a concurrency.
    pub load: Load,
    /// When the run stops issuing requests.
    pub bound: Bound,
    /// New connection per request, or keep-alive with a fixed number of connections.
    pub connections: Connections,
    /// Limit for one request from connect to the end of the body.
    pub timeout: Duration,
    /// A period without a successful response longer than this is recorded as a gap.
    pub gap_threshold: Duration,
    /// Open loop only: at most this many requests in flight; scheduled requests
    /// beyond it are not sent and are counted as `dropped_by_cap`.
    pub max_in_flight: usize,
    /// At most this many gaps are kept; later ones are only counted.
    pub max_gaps: usize,
    /// Classes of requests, each a share of them sent with its own headers;
    /// what they leave goes without (the `default` class). Empty: every
    /// request alike, and no per-class tally.
    pub classes: Vec<RequestClass>,
}

/// A class of requests: a share of them, sent with given headers (the
/// targeted group of an A/B test, say).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestClass {
    /// Its name, as tallies name it.
    pub name: String,
    /// Its share of the requests, 0 to 1.
    pub share: f64,
    /// The headers its requests carry.
    pub headers: Vec<(String, String)>,
}

/// The class name of requests no listed class claims.
pub const DEFAULT_CLASS: &str = "default";

/// The class of the `n`-th request: the fractional parts of `n` times the
/// golden ratio spread evenly over `[0, 1)`, so every stretch of requests
/// holds each class close to its share, and the classes interleave.
pub fn class_of(classes: &[RequestClass], n: u64) -> Option<usize> {
    if classes.is_empty() {
        return None;
    }
    const GOLDEN: f64 = 0.618_033_988_749_894_8;
    let draw = (n as f64 * GOLDEN).fract();
    let mut upto = 0.0;
    for (index, class) in classes.iter().enumerate() {
        upto += class.share;
        if draw < upto {
            return Some(index);
        }
    }
    None
}

/// Default limit for one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default threshold above which a period without success is a gap.
pub const DEFAULT_GAP_THRESHOLD: Duration = Duration::from_millis(250);
/// Default cap on requests in flight in open loop.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1000;
/// Default cap on the number of gaps kept.
pub const DEFAULT_MAX_GAPS: usize = 10_000;
/// Highest open-loop rate accepted, far above what one machine can send.
pub const MAX_RATE: f64 = 10_000_000.0;

impl Options {
    /// Options with a new connection per request, a 5 s timeout, gaps over 250 ms,
    /// at most 1000 requests in flight and 10 000 gaps kept.
    pub fn new(url: impl Into<String>, load: Load, bound: Bound) -> Options {
        Options {
            url: url.into(),
            load,
            bound,
            connections: Connections::PerRequest,
            timeout: DEFAULT_TIMEOUT,
            gap_threshold: DEFAULT_GAP_THRESHOLD,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_gaps: DEFAULT_MAX_GAPS,
            classes: Vec::new(),
        }
    }

    /// Check every option; the first problem found is returned.
    pub fn validate(&self) -> Result<Target, Error> {
        let target = Target::parse(&self.url)?;
        match self.load {
            Load::Rate(rate) if rate.is_nan() || rate <= 0.0 || rate.is_infinite() => {
                return Err(bad("rate", "must be > 0"));
            }
            Load::Rate(rate) if rate > MAX_RATE => {
                return Err(bad("rate", format!("must be <= {MAX_RATE}")));
            }
            Load::Concurrency(0) => return Err(bad("concurrency", "must be > 0")),
            _ => {}
        }
        if self.bound.duration() == Some(Duration::ZERO) {
            return Err(bad("duration", "must be > 0"));
        }
        if self.bound.requests() == Some(0) {
            return Err(bad("requests", "must be > 0"));
        }
        if self.connections == Connections::KeepAlive(0) {
            return Err(bad("keep-alive", "must be > 0"));
        }
        if self.timeout.is_zero() {
            return Err(bad("timeout", "must be > 0"));
        }
        if self.gap_threshold.is_zero() {
            return Err(bad("gap-threshold", "must be > 0"));
        }
        if self.max_in_flight == 0 {
            return Err(bad("max-in-flight", "must be > 0"));
        }
        let total: f64 = self.classes.iter().map(|c| c.share).sum();
        if self.classes.iter().any(|c| !(0.0..=1.0).contains(&c.share)) || total > 1.0 + 1e-9 {
            return Err(bad(
                "class",
                "shares must lie in 0..=1 and add up to at most 1",
            ));
        }
        for class in &self.classes {
            for (name, value) in &class.headers {
                if HeaderName::try_from(name.as_str()).is_err()
                    || HeaderValue::try_from(value.as_str()).is_err()
                {
                    return Err(bad(
                        "class",
                        format!("class {}: header {name}: not a valid header", class.name),
                    ));
                }
            }
        }
        Ok(target)
    }
}

fn bad(option: &'static str, reason: impl Into<String>) -> Error {
    Error::BadOption {
        option,
        reason: reason.into(),
    }
}

/// A parsed `http://` target: where to connect and what to put in the request line.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host name or address as written, without IPv6 brackets.
    pub host: String,
    /// TCP port (80 when the URL has none).
    pub port: u16,
    /// The `Host` header: the URL's authority.
    pub host_header: HeaderValue,
    /// Path and query sent in the request line (at least `/`).
    pub path_and_query: Uri,
}

impl Target {
    /// Parse and check an `http://` URL.
    pub fn parse(url: &str) -> Result<Target, Error> {
        let fail = |reason: &str| Error::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: Uri = url.parse().map_err(|_| fail("not a url"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(fail("https is not supported, use http://")),
            Some(_) => return Err(fail("only http:// urls are supported")),
            None => return Err(fail("missing scheme, use http://host[:port][/path]")),
        }
        let authority = uri.authority().ok_or_else(|| fail("missing host"))?;
        if authority.as_str().contains('@') {
            return Err(fail("user info is not supported"));
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(fail("missing host"));
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(80);
        let host_header =
            HeaderValue::from_str(authority.as_str()).map_err(|_| fail("bad host"))?;
        let path_and_query: Uri = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/")
            .parse()
            .map_err(|_| fail("bad path"))?;
        Ok(Target {
            host,
            port,
            host_header,
            path_and_query,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, share: f64) -> RequestClass {
        RequestClass {
            name: name.into(),
            share,
            headers: vec![("x-canary".into(), "always".into())],
        }
    }

    #[test]
    fn classes_hold_their_share_in_every_stretch_of_requests() {
        let classes = [class("a", 0.2), class("b", 0.5)];
        for start in [0u64, 1_000, 77_777] {
            let mut seen = [0u32; 3];
            for n in start..start + 200 {
                seen[class_of(&classes, n).unwrap_or(2)] += 1;
            }
            // 40, 100 and 60 of 200, give or take two.
            for (got, want) in seen.iter().zip([40, 100, 60]) {
                assert!(got.abs_diff(want) <= 2, "{seen:?} from {start}");
            }
        }
        assert_eq!(class_of(&[], 3), None);
    }

    #[test]
    fn class_shares_over_one_or_bad_headers_are_refused() {
        let mut options = Options::new("http://127.0.0.1:1/", Load::Rate(1.0), Bound::Requests(1));
        options.classes = vec![class("a", 0.7), class("b", 0.4)];
        assert!(
            options
                .validate()
                .unwrap_err()
                .to_string()
                .contains("add up")
        );
        options.classes = vec![RequestClass {
            headers: vec![("bad header".into(), "v".into())],
            ..class("a", 0.5)
        }];
        assert!(
            options
                .validate()
                .unwrap_err()
                .to_string()
                .contains("bad header")
        );
    }

    fn check_url(url: &str, expected: &str) {
        let got = match Target::parse(url) {
            Ok(t) => format!(
                "host={} port={} host_header={} path={}",
                t.host,
                t.port,
                t.host_header.to_str().unwrap(),
                t.path_and_query
            ),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expected, "url {url:?}");
    }

    #[test]
    fn urls() {
        check_url(
            "http://127.0.0.1:8080",
            "host=127.0.0.1 port=8080 host_header=127.0.0.1:8080 path=/",
        );
        check_url(
            "http://my-app/",
            "host=my-app port=80 host_header=my-app path=/",
        );
        check_url(
            "http://my-app.default.svc:80/x?y=1",
            "host=my-app.default.svc port=80 host_header=my-app.default.svc:80 path=/x?y=1",
        );
        check_url(
            "http://[::1]:9000/",
            "host=::1 port=9000 host_header=[::1]:9000 path=/",
        );
        check_url(
            "https://x",
            "bad url \"https://x\": https is not supported, use http://",
        );
        check_url(
            "ftp://x",
            "bad url \"ftp://x\": only http:// urls are supported",
        );
        check_url(
            "localhost:8080",
            "bad url \"localhost:8080\": missing scheme, use http://host[:port][/path]",
        );
        check_url(
            "/path",
            "bad url \"/path\": missing scheme, use http://host[:port][/path]",
        );
        check_url("http://", "bad url \"http://\": not a url");
        check_url(
            "http://u:p@host/",
            "bad url \"http://u:p@host/\": user info is not supported",
        );
        check_url("not a url", "bad url \"not a url\": not a url");
    }

    fn check_options(change: impl FnOnce(&mut Options), expected: &str) {
        let mut options = Options::new(
            "http://127.0.0.1:1/",
            Load::Rate(10.0),
            Bound::Duration(Duration::from_secs(1)),
        );
        change(&mut options);
        let got = match options.validate() {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expected);
    }

    #[test]
    fn option_ranges() {
        check_options(|_| {}, "ok");
        check_options(|o| o.load = Load::Rate(0.0), "bad option rate: must be > 0");
        check_options(
            |o| o.load = Load::Rate(-1.0),
            "bad option rate: must be > 0",
        );
        check_options(
            |o| o.load = Load::Rate(f64::NAN),
            "bad option rate: must be > 0",
        );
        check_options(
            |o| o.load = Load::Rate(f64::INFINITY),
            "bad option rate: must be > 0",
        );
        check_options(
            |o| o.load = Load::Rate(1e9),
            "bad option rate: must be <= 10000000",
        );
        check_options(|o| o.load = Load::Rate(0.5), "ok");
        check_options(
            |o| o.load = Load::Concurrency(0),
            "bad option concurrency: must be > 0",
        );
        check_options(
            |o| o.bound = Bound::Duration(Duration::ZERO),
            "bad option duration: must be > 0",
        );
        check_options(
            |o| o.bound = Bound::Requests(0),
            "bad option requests: must be > 0",
        );
        check_options(
            |o| o.bound = Bound::DurationOrRequests(Duration::from_secs(1), 0),
            "bad option requests: must be > 0",
        );
        check_options(
            |o| o.connections = Connections::KeepAlive(0),
            "bad option keep-alive: must be > 0",
        );
        check_options(
            |o| o.timeout = Duration::ZERO,
            "bad option timeout: must be > 0",
        );
        check_options(
            |o| o.gap_threshold = Duration::ZERO,
            "bad option gap-threshold: must be > 0",
        );
        check_options(
            |o| o.max_in_flight = 0,
            "bad option max-in-flight: must be > 0",
        );
        check_options(
            |o| o.url = "https://x".into(),
            "bad url \"https://x\": https is not supported, use http://",
        );
    }
}
