//! Small servers on 127.0.0.1 ephemeral ports that answer the way a test needs.

#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Which request of which connection a server is answering.
#[derive(Clone, Copy, Debug)]
pub struct Hit {
    /// Index of the request since the server started.
    pub request: u64,
    /// Index of the connection it came on.
    pub connection: u64,
}

/// How to answer one request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub header_version: Option<String>,
    pub body: String,
    /// Never answer.
    pub stall: bool,
}

impl Reply {
    /// Like the demo app: the version in the header and in the body.
    pub fn versioned(version: &str) -> Reply {
        Reply {
            status: 200,
            header_version: Some(version.to_string()),
            body: format!("Host: test, Version: {version}\n"),
            stall: false,
        }
    }

    /// The version only in the body.
    pub fn body_only(version: &str) -> Reply {
        Reply {
            header_version: None,
            ..Reply::versioned(version)
        }
    }

    /// No version anywhere.
    pub fn anonymous() -> Reply {
        Reply {
            status: 200,
            header_version: None,
            body: "hello\n".to_string(),
            stall: false,
        }
    }

    /// Same answer with another status.
    pub fn with_status(self, status: u16) -> Reply {
        Reply { status, ..self }
    }

    /// No answer at all.
    pub fn stall() -> Reply {
        Reply {
            stall: true,
            ..Reply::anonymous()
        }
    }
}

type Behaviour = Arc<dyn Fn(Hit) -> Reply + Send + Sync>;

/// An HTTP server answering with a behaviour; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    /// Connections accepted.
    pub connections: Arc<AtomicU64>,
    /// Requests received (answered or held).
    pub requests: Arc<AtomicU64>,
    /// Requests waiting while paused.
    pub held: Arc<AtomicU64>,
    paused: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl TestServer {
    pub async fn start(behaviour: impl Fn(Hit) -> Reply + Send + Sync + 'static) -> TestServer {
        let behaviour: Behaviour = Arc::new(behaviour);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let held = Arc::new(AtomicU64::new(0));
        let (paused, paused_rx) = watch::channel(false);
        let task = {
            let (connections, requests, held) =
                (connections.clone(), requests.clone(), held.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let connection = connections.fetch_add(1, Ordering::SeqCst);
                    let behaviour = behaviour.clone();
                    let requests = requests.clone();
                    let held = held.clone();
                    let paused_rx = paused_rx.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |_request: Request<Incoming>| {
                            let request = requests.fetch_add(1, Ordering::SeqCst);
                            let reply = behaviour(Hit {
                                request,
                                connection,
                            });
                            let mut paused_rx = paused_rx.clone();
                            let held = held.clone();
                            async move {
                                if *paused_rx.borrow() {
                                    held.fetch_add(1, Ordering::SeqCst);
                                    let _ = paused_rx.wait_for(|p| !*p).await;
                                    held.fetch_sub(1, Ordering::SeqCst);
                                }
                                if reply.stall {
                                    std::future::pending::<()>().await;
                                }
                                let mut response = Response::builder().status(reply.status);
                                if let Some(v) = &reply.header_version {
                                    response = response.header("X-Version", v.as_str());
                                }
                                Ok::<_, Infallible>(
                                    response.body(Full::new(Bytes::from(reply.body))).unwrap(),
                                )
                            }
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            })
        };
        TestServer {
            addr,
            connections,
            requests,
            held,
            paused,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Hold every request until [`resume`](TestServer::resume).
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Answer the held requests and those after them.
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server that reads each request and closes the connection without answering.
pub struct Hangup {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Hangup {
    pub async fn start() -> Hangup {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    drop(stream);
                });
            }
        });
        Hangup { addr, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for Hangup {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback port with nothing listening on it.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/")
}

/// A listener that never accepts, with its accept queue already full, so new
/// connection attempts get no answer and time out.
pub struct FullBacklog {
    pub addr: SocketAddr,
    _listener: socket2::Socket,
    _fillers: Vec<std::net::TcpStream>,
}

impl FullBacklog {
    pub fn start() -> FullBacklog {
        use socket2::{Domain, Socket, Type};
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        listener
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        listener.listen(0).unwrap();
        let addr = listener.local_addr().unwrap().as_socket().unwrap();
        let mut fillers = Vec::new();
        // Fill the queue until a connection attempt is no longer answered.
        for _ in 0..8 {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(stream) => fillers.push(stream),
                Err(_) => break,
            }
        }
        FullBacklog {
            addr,
            _listener: listener,
            _fillers: fillers,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

/// Wait until `condition` holds, checking every 5 ms; panic after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Await `future`, panicking if it takes longer than `limit`.
pub async fn within<T>(what: &str, limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {limit:?}: {what}"))
}
