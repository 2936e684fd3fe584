//! One request: connect (or take a kept-alive connection), send `GET`, read the whole
//! answer, and say which version gave it, or why there was none.
//!
//! HTTP/1.1 on hyper's low-level client connection over a tokio `TcpStream`, with
//! `TCP_NODELAY`, and no pool or resolver in the way.

use crate::options::{RequestClass, Target};
use crate::tally::ErrorKind;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper::header::{CONNECTION, HOST, HeaderName, HeaderValue, USER_AGENT};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// The header the demo app names its version in.
pub const VERSION_HEADER: HeaderName = HeaderName::from_static("x-version");
/// Body bytes kept to look for `Version: …` when the header is absent.
const BODY_SCAN_LIMIT: usize = 4096;

type Sender = http1::SendRequest<Empty<Bytes>>;

/// How one request ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A complete answer.
    Answer {
        /// Its status code.
        status: u16,
        /// The version it named (empty when none).
        version: Version,
    },
    /// No answer.
    Failed(ErrorKind),
}

/// Where an answer's version came from; kept as the bytes received, without copying.
#[derive(Debug)]
pub(crate) enum Version {
    Header(HeaderValue),
    Body(Bytes),
    Unknown,
}

impl Version {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Version::Header(value) => value.as_bytes(),
            Version::Body(bytes) => bytes,
            Version::Unknown => b"",
        }
    }
}

/// The version named in a body like `Host: web-1, Version: v1.0.0`: the rest of the
/// line after the last `Version:`, without surrounding blanks, up to a comma.
pub fn version_in_body(body: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = b"Version:";
    let at = body.windows(KEY.len()).rposition(|w| w == KEY)?;
    let rest = &body[at + KEY.len()..];
    let end = rest
        .iter()
        .position(|&b| b == b'\n' || b == b'\r' || b == b',')
        .unwrap_or(rest.len());
    let value = rest[..end].trim_ascii();
    (!value.is_empty()).then_some(value)
}

/// Kept-alive connections shared by the workers of a run: a fixed number of lanes,
/// each holding at most one connection, used in turn (first in, first out) so that
/// every connection carries its share even at low load.
struct Pool {
    /// One permit per lane: a request holds one while it uses a lane.
    slots: Semaphore,
    /// The idle lanes; `None` until connected, or after the connection failed.
    lanes: Mutex<VecDeque<Option<Sender>>>,
}

/// A lane taken from the pool; it goes back when dropped, even if the request
/// was cancelled by its timeout.
struct Lane<'a> {
    pool: &'a Pool,
    sender: Option<Sender>,
}

impl Drop for Lane<'_> {
    fn drop(&mut self) {
        self.pool
            .lanes
            .lock()
            .unwrap()
            .push_back(self.sender.take());
    }
}

/// Sends requests to one target.
pub(crate) struct Client {
    addr: SocketAddr,
    host: HeaderValue,
    path_and_query: hyper::Uri,
    timeout: Duration,
    pool: Option<Pool>,
    /// The headers of each request class, in the options' order.
    classes: Vec<Vec<(HeaderName, HeaderValue)>>,
}

/// How far a request got, to name a timeout.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Queued,
    Connecting,
    Exchanging,
}

/// Why an attempt failed, before it is named as an [`ErrorKind`].
enum Failure {
    Connect(io::Error),
    Http(hyper::Error),
}

impl Client {
    /// A client for `target` at `addr`; `keep_alive` connections or none.
    pub(crate) fn new(
        target: &Target,
        addr: SocketAddr,
        timeout: Duration,
        keep_alive: Option<usize>,
        classes: &[RequestClass],
    ) -> Client {
        Client {
            // Checked by `Options::validate`.
            classes: classes
                .iter()
                .map(|class| {
                    class
                        .headers
                        .iter()
                        .filter_map(|(name, value)| {
                            Some((
                                HeaderName::try_from(name.as_str()).ok()?,
                                HeaderValue::try_from(value.as_str()).ok()?,
                            ))
                        })
                        .collect()
                })
                .collect(),
            addr,
            host: target.host_header.clone(),
            path_and_query: target.path_and_query.clone(),
            timeout,
            pool: keep_alive.map(|connections| Pool {
                slots: Semaphore::new(connections),
                lanes: Mutex::new((0..connections).map(|_| None).collect()),
            }),
        }
    }

    fn request(&self, class: Option<usize>) -> Request<Empty<Bytes>> {
        let mut request = Request::new(Empty::new());
        *request.uri_mut() = self.path_and_query.clone();
        let headers = request.headers_mut();
        for (name, value) in class
            .and_then(|c| self.classes.get(c))
            .into_iter()
            .flatten()
        {
            headers.insert(name.clone(), value.clone());
        }
        headers.insert(HOST, self.host.clone());
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("loadgen/", env!("CARGO_PKG_VERSION"))),
        );
        if self.pool.is_none() {
            // Tell the server this connection ends with the answer: it closes first,
            // so the client's ports do not pile up in TIME_WAIT.
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        request
    }

    /// Send one request of `class` (an index into the options' classes, or
    /// none) and wait for its whole answer, at most the timeout.
    pub(crate) async fn send(&self, class: Option<usize>) -> Outcome {
        let mut phase = Phase::Connecting;
        let attempt = async {
            match &self.pool {
                None => self.send_on_new_connection(class, &mut phase).await,
                Some(pool) => self.send_on_kept_connection(pool, class, &mut phase).await,
            }
        };
        let result = tokio::time::timeout(self.timeout, attempt).await;
        match result {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(failure)) => Outcome::Failed(classify(&failure)),
            Err(_elapsed) if phase == Phase::Connecting => {
                Outcome::Failed(ErrorKind::ConnectTimeout)
            }
            Err(_elapsed) => Outcome::Failed(ErrorKind::ResponseTimeout),
        }
    }

    async fn connect(&self) -> Result<TcpStream, Failure> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(Failure::Connect)?;
        // Small requests and answers: do not let Nagle hold them back.
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    async fn send_on_new_connection(
        &self,
        class: Option<usize>,
        phase: &mut Phase,
    ) -> Result<Outcome, Failure> {
        let stream = self.connect().await?;
        *phase = Phase::Exchanging;
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(Failure::Http)?;
        let exchange = async {
            let response = sender.send_request(self.request(class)).await?;
            read_answer(response).await
        };
        // Drive the connection in this task rather than spawning one per request.
        tokio::pin!(exchange, connection);
        let answer = tokio::select! {
            biased;
            answer = &mut exchange => answer,
            _ended = &mut connection => exchange.await,
        };
        answer.map_err(Failure::Http)
    }

    async fn send_on_kept_connection(
        &self,
        pool: &Pool,
        class: Option<usize>,
        phase: &mut Phase,
    ) -> Result<Outcome, Failure> {
        // Waiting for a busy connection is waiting for the target to answer.
        *phase = Phase::Queued;
        let _slot = pool
            .slots
            .acquire()
            .await
            .expect("the pool is never closed");
        let mut lane = Lane {
            pool,
            sender: pool
                .lanes
                .lock()
                .unwrap()
                .pop_front()
                .expect("a slot always has a lane"),
        };
        let mut sender = match lane.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => {
                *phase = Phase::Connecting;
                self.open_kept_connection().await?
            }
        };
        if sender.ready().await.is_err() {
            // The server closed it while it was idle: that is not this request's
            // failure, so connect again once.
            *phase = Phase::Connecting;
            sender = self.open_kept_connection().await?;
            sender.ready().await.map_err(Failure::Http)?;
        }
        *phase = Phase::Exchanging;
        let response = sender
            .send_request(self.request(class))
            .await
            .map_err(Failure::Http)?;
        let outcome = read_answer(response).await.map_err(Failure::Http)?;
        if !sender.is_closed() {
            lane.sender = Some(sender);
        }
        Ok(outcome)
    }

    async fn open_kept_connection(&self) -> Result<Sender, Failure> {
        let stream = self.connect().await?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(Failure::Http)?;
        // The connection lives as long as its sender: it ends when the sender is dropped.
        tokio::spawn(connection);
        Ok(sender)
    }
}

/// Read the whole body and find the version: the header first, then the body.
async fn read_answer(response: Response<Incoming>) -> Result<Outcome, hyper::Error> {
    let (parts, mut body) = response.into_parts();
    let status = parts.status.as_u16();
    let header = parts.headers.get(VERSION_HEADER).cloned();
    let mut kept: Option<Bytes> = None;
    let mut scan: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        if header.is_some() {
            continue;
        }
        // The usual small body arrives as one chunk: keep it without copying.
        match &kept {
            None if scan.is_empty() => kept = Some(data),
            _ => {
                if let Some(first) = kept.take() {
                    scan.extend_from_slice(&first);
                }
                let room = BODY_SCAN_LIMIT.saturating_sub(scan.len());
                scan.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
    }
    let version = match header {
        Some(value) if !value.is_empty() => Version::Header(value),
        _ => {
            let body = kept.unwrap_or_else(|| Bytes::from(scan));
            match version_in_body(&body) {
                Some(found) => Version::Body(body.slice_ref(found)),
                None => Version::Unknown,
            }
        }
    };
    Ok(Outcome::Answer { status, version })
}

fn classify(failure: &Failure) -> ErrorKind {
    match failure {
        Failure::Connect(error) => match error.kind() {
            io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
            io::ErrorKind::TimedOut => ErrorKind::ConnectTimeout,
            _ => ErrorKind::Other,
        },
        Failure::Http(error) => {
            if error.is_incomplete_message() || error.is_canceled() || error.is_closed() {
                return ErrorKind::ClosedBeforeResponse;
            }
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                if let Some(io_error) = cause.downcast_ref::<io::Error>() {
                    return match io_error.kind() {
                        io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe
                        | io::ErrorKind::UnexpectedEof => ErrorKind::ClosedBeforeResponse,
                        io::ErrorKind::TimedOut => ErrorKind::ResponseTimeout,
                        _ => ErrorKind::Other,
                    };
                }
                source = cause.source();
            }
            ErrorKind::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, expected: Option<&str>) {
        let got = version_in_body(body.as_bytes()).map(|v| std::str::from_utf8(v).unwrap());
        assert_eq!(got, expected, "body {body:?}");
    }

    #[test]
    fn versions_in_bodies() {
        check("Host: web-1, Version: v1.0.0\n", Some("v1.0.0"));
        check("Host: web-1, Version: v1.0.0", Some("v1.0.0"));
        check("Version:v2\r\n", Some("v2"));
        check("Version:   v3  \nmore", Some("v3"));
        check("Version: a, Host: b", Some("a"));
        check("Host: Version: x, Version: y\n", Some("y"));
        check("Version: \n", None);
        check("Version:", None);
        check("Host: web-1\n", None);
        check("", None);
        check("version: lower case is not it\n", None);
    }
}
