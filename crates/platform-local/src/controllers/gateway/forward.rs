//! Serving a Gateway listener: HTTP/1.1 with keep-alive towards the client;
//! each request routed by the Gateway's current [`Routing`], sent to a ready
//! endpoint of the backend it drew through a pool of keep-alive connections,
//! and copied to the mirrors of its rule in the background.

use super::routing::Routing;
use crate::store::{BackendStats, GatewayStats, MAX_MIRROR_LATENCIES, NO_ENDPOINT, Target};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONNECTION, HeaderMap, TRANSFER_ENCODING};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lab_core::gateway::{Headers, Request as RoutedRequest};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long connecting to an endpoint may take before the request fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long an endpoint may take to answer before the request fails with 504.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Idle keep-alive connections kept per endpoint; more are closed.
const IDLE_PER_ENDPOINT: usize = 32;

/// Idle keep-alive connections to the endpoints, by endpoint address.
#[derive(Default)]
pub(super) struct Pools {
    idle: Mutex<HashMap<SocketAddr, Vec<SendRequest<Full<Bytes>>>>>,
}

impl Pools {
    fn take(&self, address: SocketAddr) -> Option<SendRequest<Full<Bytes>>> {
        self.idle.lock().unwrap().get_mut(&address)?.pop()
    }

    fn give_back(&self, address: SocketAddr, sender: SendRequest<Full<Bytes>>) {
        let mut idle = self.idle.lock().unwrap();
        let list = idle.entry(address).or_default();
        if list.len() < IDLE_PER_ENDPOINT {
            list.push(sender);
        }
    }

    /// Send a request to `address` on an idle connection, or a new one when
    /// none is idle or the idle one was closed meanwhile; the answer's body is
    /// read whole, and the connection goes back to the pool.
    async fn send(
        &self,
        address: SocketAddr,
        request: &Copyable,
    ) -> Result<(hyper::http::response::Parts, Bytes), String> {
        // An idle connection the endpoint closed in the meantime fails at
        // once: try the next, and at last a new one.
        while let Some(mut sender) = self.take(address) {
            if sender.ready().await.is_err() {
                continue;
            }
            match self.exchange(address, sender, request).await {
                Ok(answer) => return Ok(answer),
                Err(Exchange::Closed) => continue,
                Err(Exchange::Failed(message)) => return Err(message),
            }
        }
        let sender = connect(address).await?;
        match self.exchange(address, sender, request).await {
            Ok(answer) => Ok(answer),
            Err(Exchange::Closed) => Err(format!("{address} closed the connection")),
            Err(Exchange::Failed(message)) => Err(message),
        }
    }

    async fn exchange(
        &self,
        address: SocketAddr,
        mut sender: SendRequest<Full<Bytes>>,
        request: &Copyable,
    ) -> Result<(hyper::http::response::Parts, Bytes), Exchange> {
        let response = match sender.send_request(request.to_request()).await {
            Ok(response) => response,
            // Nothing reached the endpoint: safe to send again elsewhere.
            Err(error) if error.is_canceled() || error.is_closed() => {
                return Err(Exchange::Closed);
            }
            Err(error) => return Err(Exchange::Failed(error.to_string())),
        };
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| Exchange::Failed(e.to_string()))?
            .to_bytes();
        self.give_back(address, sender);
        Ok((parts, body))
    }
}

/// Why an exchange on a connection failed.
enum Exchange {
    /// The connection was closed before the request went out.
    Closed,
    /// The request failed; the message says how.
    Failed(String),
}

async fn connect(address: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => return Err(format!("connect to {address}: {error}")),
        Err(_) => return Err(format!("connect to {address}: timed out")),
    };
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("connect to {address}: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// A request read whole, so that it can be sent to a backend and copied to
/// mirrors.
struct Copyable {
    method: hyper::Method,
    path_and_query: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Copyable {
    fn to_request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self
            .path_and_query
            .parse()
            .unwrap_or_else(|_| hyper::Uri::from_static("/"));
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Headers as routing reads them.
struct RequestHeaders<'a>(&'a HeaderMap);

impl Headers for RequestHeaders<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Serve a listener until the task is aborted (the Gateway is deleted or
/// replaced).
pub(super) async fn serve(
    listener: TcpListener,
    routing: watch::Receiver<Arc<Routing>>,
    stats: Arc<GatewayStats>,
    pools: Arc<Pools>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors, say: wait for some to be closed.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let _ = client.set_nodelay(true);
        let (routing, stats, pools) = (routing.clone(), stats.clone(), pools.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let routing = routing.borrow().clone();
                let (stats, pools) = (stats.clone(), pools.clone());
                async move { Ok::<_, Infallible>(route(request, &routing, &stats, &pools).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(client), service)
                .await;
        });
    }
}

fn answer(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *response.status_mut() = status;
    response
}

/// Route one request and answer it.
async fn route(
    request: Request<Incoming>,
    routing: &Routing,
    stats: &Arc<GatewayStats>,
    pools: &Arc<Pools>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return answer(StatusCode::BAD_REQUEST, "request body could not be read");
    };
    let mut headers = parts.headers.clone();
    for hop in [CONNECTION, TRANSFER_ENCODING] {
        headers.remove(hop);
    }
    let copyable = Arc::new(Copyable {
        method: parts.method.clone(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), ToString::to_string),
        headers,
        body,
    });
    let rule = {
        let routed = RoutedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &RequestHeaders(&parts.headers),
        };
        routing.table.select(&routed).cloned()
    };
    let Some(rule) = rule else {
        return answer(StatusCode::NOT_FOUND, "no route matches");
    };
    // Every weight 0: the spec's answer is a 500.
    let Some(backend) = rule.pick(rand::random::<f64>()) else {
        return answer(StatusCode::INTERNAL_SERVER_ERROR, "no backend has weight");
    };
    // Copies are decided and sent now, and counted with the request's answer
    // (in one lock), so that every count of requests holds exactly the
    // copies sent for them, whichever way the request ends.
    let mut copies: Vec<(String, String)> = Vec::new();
    for mirror in &rule.mirrors {
        if mirror.share < 1.0 && rand::random::<f64>() >= mirror.share {
            continue;
        }
        let Some(endpoints) = routing.backends.get(&mirror.service) else {
            continue;
        };
        let Some(target) = pick(&endpoints.borrow()).cloned() else {
            copies.push((mirror.service.clone(), NO_ENDPOINT.to_owned()));
            continue;
        };
        copies.push((mirror.service.clone(), target.version.clone()));
        let (service, stats, pools, copy) = (
            mirror.service.clone(),
            stats.clone(),
            pools.clone(),
            copyable.clone(),
        );
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let answer =
                tokio::time::timeout(ANSWER_TIMEOUT, pools.send(target.address, &copy)).await;
            let took = started.elapsed().as_micros() as u64;
            tally(&stats, &service, |s| match answer {
                Ok(Ok((parts, _))) => {
                    if parts.status.is_server_error() {
                        bump(&mut s.mirror_errors, &target.version);
                    }
                    let kept = s
                        .mirror_latencies_us
                        .entry(target.version.clone())
                        .or_default();
                    if kept.len() < MAX_MIRROR_LATENCIES {
                        kept.push(took);
                    }
                }
                _ => bump(&mut s.mirror_failed, &target.version),
            });
        });
    }
    let tally = Tally {
        stats,
        service: &backend.service,
        copies,
        counted: false,
    };
    let Some(endpoints) = routing.backends.get(&backend.service) else {
        tally.count(NO_ENDPOINT, false);
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("service {} not found", backend.service),
        );
    };
    let targets = endpoints.borrow().clone();
    let Some(target) = pick(&targets) else {
        tally.count(NO_ENDPOINT, false);
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("service {} has no ready endpoint", backend.service),
        );
    };
    let sent = tokio::time::timeout(ANSWER_TIMEOUT, pools.send(target.address, &copyable)).await;
    let (status, response) = match sent {
        Ok(Ok((parts, body))) => {
            let mut response = Response::from_parts(parts, Full::new(body));
            response.headers_mut().remove(TRANSFER_ENCODING);
            response.headers_mut().remove(CONNECTION);
            (response.status(), response)
        }
        Ok(Err(message)) => (
            StatusCode::BAD_GATEWAY,
            answer(StatusCode::BAD_GATEWAY, &message),
        ),
        Err(_) => (
            StatusCode::GATEWAY_TIMEOUT,
            answer(StatusCode::GATEWAY_TIMEOUT, "the endpoint did not answer"),
        ),
    };
    tally.count(&target.version, status.is_server_error());
    response
}

/// A request's count with its copies, taken once: when it is answered, or,
/// should the client leave first (the future dropped), as a request no pod
/// answered.
struct Tally<'a> {
    stats: &'a GatewayStats,
    service: &'a str,
    copies: Vec<(String, String)>,
    counted: bool,
}

impl Tally<'_> {
    fn count(mut self, version: &str, server_error: bool) {
        self.counted = true;
        count(
            self.stats,
            self.service,
            version,
            server_error,
            &self.copies,
        );
    }
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        if !self.counted {
            count(self.stats, self.service, NO_ENDPOINT, false, &self.copies);
        }
    }
}

/// Count one answered request and the copies sent for it, in one lock.
fn count(
    stats: &GatewayStats,
    service: &str,
    version: &str,
    server_error: bool,
    copies: &[(String, String)],
) {
    let mut stats = stats.lock().unwrap();
    let entry = stats.entry(service.to_owned()).or_default();
    bump(&mut entry.requests, version);
    if server_error {
        bump(&mut entry.errors, version);
    }
    for (service, version) in copies {
        bump(
            &mut stats.entry(service.clone()).or_default().mirrored,
            version,
        );
    }
}

fn pick(targets: &[Target]) -> Option<&Target> {
    (!targets.is_empty()).then(|| &targets[rand::random_range(0..targets.len())])
}

fn bump(counts: &mut std::collections::BTreeMap<String, u64>, version: &str) {
    match counts.get_mut(version) {
        Some(count) => *count += 1,
        None => {
            counts.insert(version.to_owned(), 1);
        }
    }
}

fn tally(stats: &GatewayStats, service: &str, update: impl FnOnce(&mut BackendStats)) {
    let mut stats = stats.lock().unwrap();
    match stats.get_mut(service) {
        Some(entry) => update(entry),
        None => update(stats.entry(service.to_owned()).or_default()),
    }
}
