//! The three HTTP servers (answers, probes, metrics) and their lifecycle: serve, drain
//! on a shutdown signal, stop accepting, finish in-flight requests, stop.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body as _, Incoming};
use hyper::header::{ALLOW, CONNECTION, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::Error;
use crate::config::Config;
use crate::faults::{Crash, Faults};
use crate::metrics::{self, CodeLabel, MethodLabel, Metrics};

/// The response header that names the version that answered.
pub const X_VERSION: HeaderName = HeaderName::from_static("x-version");

/// How long a crash waits for the connection that carried the last answer to close
/// before it happens anyway (a client that never reads must not keep the process up).
const CRASH_FLUSH_GRACE: Duration = Duration::from_secs(1);

/// How long to pause after a failed `accept` (e.g. out of file descriptors) instead of
/// spinning on it.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

type Answer = Response<Full<Bytes>>;

/// The addresses the three servers are bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// Answers `GET /`.
    pub listen: SocketAddr,
    /// Answers `/live` and `/ready`.
    pub probe: SocketAddr,
    /// Answers `/metrics`.
    pub metrics: SocketAddr,
}

/// A server whose addresses are bound; [`Server::run`] starts serving.
#[derive(Debug)]
pub struct Server {
    config: Config,
    listen: TcpListener,
    probe: TcpListener,
    metrics: TcpListener,
    addresses: Addresses,
}

/// Binds the three addresses and serves until `shutdown` completes, then drains and
/// stops; see [`Server::run`].
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    Server::bind(config).await?.run(shutdown).await
}

impl Server {
    /// Binds the listen, probe and metrics addresses (port 0 picks a free port).
    pub async fn bind(config: Config) -> Result<Server, Error> {
        let (listen, listen_address) = bind_one("--listen-address", config.listen_address).await?;
        let (probe, probe_address) = bind_one("--probe-address", config.probe_address).await?;
        let (metrics, metrics_address) =
            bind_one("--metrics-address", config.metrics_address).await?;
        Ok(Server {
            config,
            listen,
            probe,
            metrics,
            addresses: Addresses {
                listen: listen_address,
                probe: probe_address,
                metrics: metrics_address,
            },
        })
    }

    /// The bound addresses.
    pub fn addresses(&self) -> Addresses {
        self.addresses
    }

    /// Serves until `shutdown` completes; then reports not ready and keeps serving for
    /// the drain period, stops accepting, lets in-flight requests finish (for at most
    /// the shutdown timeout) while idle keep-alive connections are closed, and returns
    /// `Ok`. Returns [`Error::Crashed`] as soon as a crash knob fires; the caller is
    /// expected to exit non-zero at once.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let Server {
            config,
            listen,
            probe,
            metrics,
            addresses,
        } = self;
        let shared = Arc::new(Shared::new(&config));
        let (phase_tx, phase_rx) = watch::channel(Phase::Serving);
        // Every accept loop and connection holds a sender; when all are gone, every
        // connection has finished.
        let (done_tx, mut done_rx) = mpsc::channel::<Infallible>(1);

        let lanes = Lanes {
            shared: shared.clone(),
            phase: phase_rx,
            done: done_tx,
        };
        let accept_loops = [
            lanes.spawn_accept_loop(listen, |shared, connection| {
                service_fn(move |request| answer_listen(shared.clone(), connection, request))
            }),
            lanes.spawn_accept_loop(probe, |shared, _| {
                service_fn(move |request| std::future::ready(Ok(answer_probe(&shared, &request))))
            }),
            lanes.spawn_accept_loop(metrics, |shared, _| {
                service_fn(move |request| std::future::ready(Ok(answer_metrics(&shared, &request))))
            }),
        ];
        drop(lanes);

        let faults = &config.faults;
        let mut started_line = format!(
            "demo-app: started: listen={} probe={} metrics={} host={:?} version={:?} \
             drain-period={} shutdown-timeout={}",
            addresses.listen,
            addresses.probe,
            addresses.metrics,
            config.hostname,
            config.version,
            humantime::format_duration(config.drain_period),
            humantime::format_duration(config.shutdown_timeout),
        );
        if *faults != Faults::none() {
            started_line.push_str(&format!(" faults=[{faults}]"));
        }
        eprintln!("{started_line}");

        // A deadline past what the clock can represent never comes.
        let crash_deadline = faults
            .crash_after
            .and_then(|after| shared.started.checked_add(after));
        let abort = |crash: Crash| {
            phase_tx.send_replace(Phase::Abort);
            Err(Error::Crashed(crash))
        };

        // Serving.
        let mut shutdown = pin!(shutdown);
        let ready_at = shared.started.checked_add(faults.startup_delay);
        let mut ready_logged =
            faults.startup_delay.is_zero() || faults.never_ready || ready_at.is_none();
        let ready_at = ready_at.unwrap_or(shared.started);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                crash = shared.crash_signal(crash_deadline) => return abort(crash),
                () = tokio::time::sleep_until(ready_at.into()), if !ready_logged => {
                    ready_logged = true;
                    eprintln!(
                        "demo-app: ready after the startup delay of {}",
                        humantime::format_duration(faults.startup_delay)
                    );
                }
            }
        }

        // Draining: still serving, not ready.
        shared.draining.store(true, Relaxed);
        eprintln!(
            "demo-app: draining: shutdown signal received, /ready answers 503, serving for {} more",
            humantime::format_duration(config.drain_period)
        );
        tokio::select! {
            () = tokio::time::sleep(config.drain_period) => {}
            crash = shared.crash_signal(crash_deadline) => return abort(crash),
        }

        // Closing: no new connections; in-flight requests finish, idle ones close.
        phase_tx.send_replace(Phase::Closing);
        for accept_loop in accept_loops {
            // Each loop ends at once, dropping its listener; a panic there is not ours.
            let _ = accept_loop.await;
        }
        eprintln!(
            "demo-app: closing: stopped accepting, finishing {} open connections",
            shared.open_connections.load(Relaxed)
        );
        tokio::select! {
            finished = tokio::time::timeout(config.shutdown_timeout, done_rx.recv()) => {
                if finished.is_err() {
                    let cut = shared.open_connections.load(Relaxed);
                    phase_tx.send_replace(Phase::Abort);
                    eprintln!(
                        "demo-app: shutdown timeout of {} reached: cut off {cut} connections",
                        humantime::format_duration(config.shutdown_timeout)
                    );
                }
            }
            crash = shared.crash_signal(crash_deadline) => return abort(crash),
        }
        eprintln!("demo-app: stopped");
        Ok(())
    }
}

async fn bind_one(
    flag: &'static str,
    address: SocketAddr,
) -> Result<(TcpListener, SocketAddr), Error> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| Error::Bind {
            flag,
            address,
            source,
        })?;
    let local = listener
        .local_addr()
        .map_err(|source| Error::LocalAddress { flag, source })?;
    Ok((listener, local))
}

/// What the connections should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Accept and serve (draining is only a readiness matter).
    Serving,
    /// Stop accepting; finish in-flight requests and close idle connections.
    Closing,
    /// Drop every connection now (a crash, or the shutdown timeout).
    Abort,
}

/// State shared by every connection of the three servers.
struct Shared {
    faults: Faults,
    started: Instant,
    draining: AtomicBool,
    metrics: Metrics,
    ok_body: Bytes,
    error_body: Bytes,
    x_version: HeaderValue,
    next_connection: AtomicU64,
    open_connections: AtomicUsize,
    /// `GET /` requests answered, counted only when a crash depends on it.
    answered: AtomicU64,
    /// The connection whose close sets off `--crash-after-requests`.
    crash_connection: AtomicU64,
    crash: OnceLock<Crash>,
    crash_notify: Notify,
}

impl Shared {
    fn new(config: &Config) -> Shared {
        let answer = format!("Host: {}, Version: {}", config.hostname, config.version);
        Shared {
            faults: config.faults.clone(),
            started: Instant::now(),
            draining: AtomicBool::new(false),
            metrics: Metrics::new(&config.version),
            ok_body: Bytes::from(format!("{answer}\n")),
            error_body: Bytes::from(format!("{answer}, Error: injected failure\n")),
            // The configuration checked that VERSION is a valid header value.
            x_version: HeaderValue::from_str(&config.version)
                .unwrap_or_else(|_| HeaderValue::from_static("")),
            next_connection: AtomicU64::new(0),
            open_connections: AtomicUsize::new(0),
            answered: AtomicU64::new(0),
            crash_connection: AtomicU64::new(u64::MAX),
            crash: OnceLock::new(),
            crash_notify: Notify::new(),
        }
    }

    fn ready(&self) -> bool {
        !self.faults.never_ready
            && !self.draining.load(Relaxed)
            && self.started.elapsed() >= self.faults.startup_delay
    }

    /// Sets off a crash; the first cause wins.
    fn crash(&self, cause: Crash) {
        if self.crash.set(cause).is_ok() {
            self.crash_notify.notify_one();
        }
    }

    /// Completes when a crash knob fires.
    async fn crash_signal(&self, deadline: Option<Instant>) -> Crash {
        let after_time = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = self.crash_notify.notified() => {
                // notify_one keeps a permit for the next waiter, so re-arm it.
                self.crash_notify.notify_one();
                self.crash.get().copied().unwrap_or(Crash::AfterTime(Duration::ZERO))
            }
            () = after_time => {
                let after = deadline.map_or(Duration::ZERO, |d| d - self.started);
                self.crash(Crash::AfterTime(after));
                self.crash.get().copied().unwrap_or(Crash::AfterTime(after))
            }
        }
    }

    fn connection_closed(&self, connection: u64) {
        if self.crash_connection.load(Relaxed) == connection
            && let Some(limit) = self.faults.crash_after_requests
        {
            self.crash(Crash::AfterRequests(limit));
        }
    }
}

/// What every accept loop gets: the shared state, the phase to follow and a sender
/// to hold while it lives.
struct Lanes {
    shared: Arc<Shared>,
    phase: watch::Receiver<Phase>,
    done: mpsc::Sender<Infallible>,
}

impl Lanes {
    fn spawn_accept_loop<S, F>(&self, listener: TcpListener, make_service: F) -> JoinHandle<()>
    where
        F: Fn(Arc<Shared>, u64) -> S + Send + 'static,
        S: Service<Request<Incoming>, Response = Answer, Error = Infallible> + Send + 'static,
        S::Future: Send + 'static,
    {
        let shared = self.shared.clone();
        let mut phase = self.phase.clone();
        let done = self.done.clone();
        tokio::spawn(async move {
            let mut builder = http1::Builder::new();
            // A client that shuts down its sending side after the request still gets
            // the answer, as from Go's server (curl --http1.0, nc, some probes).
            builder.half_close(true);
            loop {
                tokio::select! {
                    biased;
                    changed = phase.changed() => {
                        if changed.is_err() || *phase.borrow_and_update() != Phase::Serving {
                            break;
                        }
                    }
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            // Answers are written whole; do not hold them back for ACKs.
                            let _ = stream.set_nodelay(true);
                            let connection = shared.next_connection.fetch_add(1, Relaxed);
                            let service = make_service(shared.clone(), connection);
                            let serve = builder.serve_connection(TokioIo::new(stream), service);
                            tokio::spawn(follow_phase(
                                serve,
                                connection,
                                shared.clone(),
                                phase.clone(),
                                done.clone(),
                            ));
                        }
                        Err(error) => {
                            eprintln!("demo-app: accept failed: {error}");
                            tokio::time::sleep(ACCEPT_BACKOFF).await;
                        }
                    }
                }
            }
            // Dropping the listener here refuses new connections from now on.
        })
    }
}

/// Drives one connection, closing it gracefully when the phase turns to closing and
/// dropping it on abort.
async fn follow_phase<S>(
    serve: http1::Connection<TokioIo<TcpStream>, S>,
    connection: u64,
    shared: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
    done: mpsc::Sender<Infallible>,
) where
    S: Service<Request<Incoming>, Response = Answer, Error = Infallible>,
{
    let _done = done;
    shared.open_connections.fetch_add(1, Relaxed);
    let _open = OpenConnection(&shared.open_connections);
    let mut serve = pin!(serve);
    let mut closing = false;
    loop {
        match *phase.borrow_and_update() {
            Phase::Abort => return,
            Phase::Closing if !closing => {
                closing = true;
                serve.as_mut().graceful_shutdown();
            }
            _ => {}
        }
        tokio::select! {
            // Client errors (resets, bad requests) end the connection; nothing to report.
            _ = serve.as_mut() => break,
            changed = phase.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
    shared.connection_closed(connection);
}

/// Counts a connection as open until dropped.
struct OpenConnection<'a>(&'a AtomicUsize);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// The listen address: `GET /` answers; every request is counted in the metrics.
async fn answer_listen(
    shared: Arc<Shared>,
    connection: u64,
    request: Request<Incoming>,
) -> Result<Answer, Infallible> {
    let started = Instant::now();
    let _in_flight = shared.metrics.start_request();
    let method = MethodLabel::of(request.method());
    let (code, response) = if request.uri().path() != "/" {
        let body = Bytes::from_static(b"404 page not found\n");
        (
            CodeLabel::NotFound,
            text(StatusCode::NOT_FOUND, body, &shared.x_version),
        )
    } else if request.method() != Method::GET {
        let body = Bytes::from_static(b"405 method not allowed\n");
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, body, &shared.x_version);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        (CodeLabel::MethodNotAllowed, response)
    } else {
        answer_root(&shared, connection).await
    };
    let body_bytes = response.body().size_hint().exact().unwrap_or(0);
    shared
        .metrics
        .observe(method, code, started.elapsed(), body_bytes);
    Ok(response)
}

/// `GET /`, with the fault knobs applied.
async fn answer_root(shared: &Arc<Shared>, connection: u64) -> (CodeLabel, Answer) {
    let faults = &shared.faults;
    if let Some(delay) = faults.draw_latency() {
        tokio::time::sleep(delay).await;
    }
    let (code, body) = if faults.draw_error() {
        (CodeLabel::InternalServerError, shared.error_body.clone())
    } else {
        (CodeLabel::Ok, shared.ok_body.clone())
    };
    let mut response = text(code.status(), body, &shared.x_version);
    if let Some(limit) = faults.crash_after_requests {
        crash_after_answer(shared, connection, limit, &mut response).await;
    }
    (code, response)
}

/// `--crash-after-requests`: the Nth answer closes its connection, and the crash
/// follows once it is written; later requests wait for the crash to cut them off.
async fn crash_after_answer(
    shared: &Arc<Shared>,
    connection: u64,
    limit: NonZeroU64,
    response: &mut Answer,
) {
    let answered = shared.answered.fetch_add(1, Relaxed) + 1;
    if answered > limit.get() {
        std::future::pending::<()>().await;
    }
    if answered == limit.get() {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        shared.crash_connection.store(connection, Relaxed);
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(CRASH_FLUSH_GRACE).await;
            shared.crash(Crash::AfterRequests(limit));
        });
    }
}

/// The probe address: `/live` and `/ready`.
fn answer_probe(shared: &Shared, request: &Request<Incoming>) -> Answer {
    let readable = matches!(*request.method(), Method::GET | Method::HEAD);
    match request.uri().path() {
        "/live" | "/ready" if !readable => method_not_allowed(),
        "/live" => plain(StatusCode::OK, "ok\n"),
        "/ready" if shared.ready() => plain(StatusCode::OK, "ok\n"),
        "/ready" => plain(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        _ => plain(StatusCode::NOT_FOUND, "404 page not found\n"),
    }
}

/// The metrics address: `/metrics`.
fn answer_metrics(shared: &Shared, request: &Request<Incoming>) -> Answer {
    let readable = matches!(*request.method(), Method::GET | Method::HEAD);
    match request.uri().path() {
        "/metrics" if !readable => method_not_allowed(),
        "/metrics" => {
            let mut response = Response::new(Full::new(Bytes::from(shared.metrics.render())));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            response
        }
        _ => plain(StatusCode::NOT_FOUND, "404 page not found\n"),
    }
}

fn text(status: StatusCode, body: Bytes, x_version: &HeaderValue) -> Answer {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(X_VERSION, x_version.clone());
    response
}

fn plain(status: StatusCode, body: &'static str) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn method_not_allowed() -> Answer {
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}
