//! The live page's server: while a run goes, a browser on this machine (or a
//! workshop's projector) watches it at `http://127.0.0.1:PORT/`. It serves the
//! page rendered by `lab_report::live` from the run's [`LiveFeed`] (asking the
//! feed is what makes the run assemble a provisional report, once a second),
//! and, once written, the final report and its charts from the run directory.
//!
//! It listens on loopback only, answers GET and HEAD of its own paths (405
//! for other methods, 404 for other paths), reads no request body, bounds the
//! request head, and tells browsers to keep nothing (`Cache-Control:
//! no-store`). Hyper on a tokio task; [`LiveServer::stop`] ends it.

mod route;

pub use route::{MAX_TARGET, RUN_FILES, Route, route};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use lab_core::plan::Plan;
use lab_report::Language;
use lab_runner::LiveFeed;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The largest request head read; a longer one is refused by hyper.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Nothing outside the lab's own server may be loaded by its pages.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Why the live page could not be served.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No loopback port could be bound.
    #[error("the live page: cannot listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
}

/// What the page shows and where its files are.
pub struct LivePage {
    /// The run's feed.
    pub feed: LiveFeed,
    /// The run's directory, where the final report is written.
    pub run_dir: PathBuf,
    /// The plan, to tell its steps in `language`.
    pub plan: Plan,
    /// The page's language.
    pub language: Language,
}

/// A running live page server.
pub struct LiveServer {
    address: SocketAddr,
    stop: watch::Sender<bool>,
    accepting: JoinHandle<()>,
}

impl LiveServer {
    /// Listen on 127.0.0.1 at a free port and serve `page`.
    pub async fn start(page: LivePage) -> Result<LiveServer, LiveError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(LiveError::Bind)?;
        let address = listener.local_addr().map_err(LiveError::Bind)?;
        let (stop, stopped) = watch::channel(false);
        let accepting = tokio::spawn(accept(listener, Arc::new(page), stopped));
        Ok(LiveServer {
            address,
            stop,
            accepting,
        })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stop listening and drop every connection.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.accepting.await;
    }
}

async fn accept(listener: TcpListener, page: Arc<LivePage>, mut stopped: watch::Receiver<bool>) {
    let mut builder = http1::Builder::new();
    builder
        .max_buf_size(MAX_HEAD)
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of descriptors, say: try again shortly.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let page = page.clone();
                let service = service_fn(move |request| answer(page.clone(), request));
                let serve = builder.serve_connection(TokioIo::new(stream), service);
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = serve => {}
                        _ = stopped.changed() => {}
                    }
                });
            }
        }
    }
}

fn response(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("text/plain")),
    );
    // Live data is never to be kept: every answer is asked for again.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    response
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    response(status, "text/plain; charset=utf-8", format!("{text}\n"))
}

async fn answer(
    page: Arc<LivePage>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let has_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v != "0")
        || request.headers().contains_key(header::TRANSFER_ENCODING);
    let route = route(request.method().as_str(), &target);
    Ok(match route {
        Route::MethodNotAllowed => {
            let mut refused = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD");
            refused
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            refused
        }
        Route::TooLong => plain(StatusCode::URI_TOO_LONG, "request target too long"),
        Route::NotFound => plain(StatusCode::NOT_FOUND, "not found"),
        _ if has_body => plain(StatusCode::PAYLOAD_TOO_LARGE, "a request here has no body"),
        Route::Page => {
            let view = page.feed.view().await;
            let html = lab_report::live::live_page(
                view.as_deref(),
                &page.plan.scenario,
                Some(&page.plan),
                page.language,
            );
            response(StatusCode::OK, "text/html; charset=utf-8", html)
        }
        Route::Fragment => {
            let view = page.feed.view().await;
            let html =
                lab_report::live::live_fragment(view.as_deref(), Some(&page.plan), page.language);
            response(StatusCode::OK, "text/html; charset=utf-8", html)
        }
        Route::RunFile(index) => {
            let (name, content_type) = RUN_FILES[index];
            match tokio::fs::read(page.run_dir.join(name)).await {
                Ok(bytes) => response(StatusCode::OK, content_type, bytes),
                Err(_) => plain(StatusCode::NOT_FOUND, "not written yet"),
            }
        }
    })
}
