//! Shared test fixtures: an in-process server on ephemeral loopback ports, the real
//! binary as a child process, a small HTTP/1.1 client and condition waits.

#![allow(dead_code, missing_docs)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use demo_app::{Addresses, Config, Error, Server};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{HeaderMap, Method, Request};
use hyper_util::rt::TokioIo;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any single wait in a test may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The environment variables the app reads; children start without them.
const APP_ENV: [&str; 11] = [
    "VERSION",
    "HOSTNAME",
    "DRAIN_PERIOD",
    "SHUTDOWN_TIMEOUT",
    "ERROR_RATE",
    "LATENCY",
    "LATENCY_RATE",
    "STARTUP_DELAY",
    "CRASH_AFTER_REQUESTS",
    "CRASH_AFTER",
    "NEVER_READY",
];

/// An HTTP answer, read fully.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One HTTP/1.1 connection, kept alive between requests.
pub struct Client {
    sender: SendRequest<Empty<Bytes>>,
    host: String,
    driver: JoinHandle<Result<(), hyper::Error>>,
}

impl Client {
    pub async fn connect(address: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect(address).await?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        Ok(Client {
            sender,
            host: address.to_string(),
            driver: tokio::spawn(connection),
        })
    }

    /// Sends one request and reads the whole answer; errors are returned as text.
    pub async fn request(&mut self, method: Method, path: &str) -> Result<Reply, String> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let exchange = async {
            self.sender.ready().await.map_err(|e| e.to_string())?;
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok(Reply {
                status,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        };
        tokio::time::timeout(PATIENCE, exchange)
            .await
            .map_err(|_| format!("no answer within {PATIENCE:?}"))?
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.request(Method::GET, path).await.unwrap()
    }

    /// Waits until the server has closed this connection.
    pub async fn closed_by_server(self) {
        tokio::time::timeout(PATIENCE, self.driver)
            .await
            .expect("the server did not close the connection")
            .expect("the connection task panicked")
            .expect("the connection ended with an error instead of a clean close");
    }
}

/// A request on a fresh connection.
pub async fn try_request(address: SocketAddr, method: Method, path: &str) -> Result<Reply, String> {
    let mut client = Client::connect(address)
        .await
        .map_err(|e| format!("connect {address}: {e}"))?;
    client.request(method, path).await
}

/// `GET` on a fresh connection; the request must be answered.
pub async fn get(address: SocketAddr, path: &str) -> Reply {
    try_request(address, Method::GET, path).await.unwrap()
}

/// Polls `condition` until it holds; fails the test after `PATIENCE`.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The value of the sample whose line starts with `series` (name and labels).
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

/// The app running in this process on ephemeral loopback ports.
pub struct InProcess {
    pub addresses: Addresses,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), Error>>,
}

/// The configuration a test gets from `extra` flags, with loopback ports and a
/// fixed host name and version.
pub fn config(extra: &[&str], version: &str) -> Config {
    let argv = [
        "demo-app",
        "--listen-address",
        "127.0.0.1:0",
        "--probe-address",
        "127.0.0.1:0",
        "--metrics-address",
        "127.0.0.1:0",
    ]
    .into_iter()
    .chain(extra.iter().copied());
    let mut config = Config::parse_from(argv).unwrap();
    config.version = version.to_owned();
    config.hostname = "test-host".to_owned();
    config
}

impl InProcess {
    pub async fn start(extra: &[&str], version: &str) -> InProcess {
        InProcess::start_config(config(extra, version)).await
    }

    pub async fn start_config(config: Config) -> InProcess {
        let server = Server::bind(config).await.unwrap();
        let addresses = server.addresses();
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = signal.await;
        }));
        InProcess {
            addresses,
            shutdown: Some(shutdown),
            task,
        }
    }

    pub async fn metrics(&self) -> String {
        let reply = get(self.addresses.metrics, "/metrics").await;
        assert_eq!(reply.status, 200);
        reply.body
    }

    /// Signals shutdown and waits for `run` to return.
    pub async fn stop(mut self) -> Result<(), Error> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("the server did not stop")
            .expect("the server task panicked")
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Lines the child wrote to stderr, shared with the thread that reads them.
#[derive(Default)]
struct Lines {
    lines: Mutex<Vec<String>>,
    added: Condvar,
}

/// The real binary as a child process, killed when dropped.
pub struct App {
    child: Child,
    stderr: Arc<Lines>,
    pub addresses: Addresses,
}

/// A `Command` for the real binary with none of the app's variables inherited.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_demo-app"));
    command.args(args);
    for var in APP_ENV {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command
}

impl App {
    /// Starts the binary on ephemeral loopback ports and waits for its start line.
    pub fn start(extra: &[&str], env: &[(&str, &str)]) -> App {
        let mut args = vec![
            "--listen-address",
            "127.0.0.1:0",
            "--probe-address",
            "127.0.0.1:0",
            "--metrics-address",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        let mut child = command(&args, env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Lines::default());
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                sink.lines.lock().unwrap().push(line);
                sink.added.notify_all();
            }
        });
        let mut app = App {
            child,
            stderr,
            addresses: Addresses {
                listen: "0.0.0.0:0".parse().unwrap(),
                probe: "0.0.0.0:0".parse().unwrap(),
                metrics: "0.0.0.0:0".parse().unwrap(),
            },
        };
        let started = app.wait_for_line("demo-app: started");
        let address = |key: &str| -> SocketAddr {
            started
                .split(' ')
                .find_map(|field| field.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} in {started:?}"))
                .parse()
                .unwrap()
        };
        app.addresses = Addresses {
            listen: address("listen="),
            probe: address("probe="),
            metrics: address("metrics="),
        };
        app
    }

    /// Waits until a stderr line starts with `prefix` and returns it.
    pub fn wait_for_line(&self, prefix: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut lines = self.stderr.lines.lock().unwrap();
        loop {
            if let Some(line) = lines.iter().find(|l| l.starts_with(prefix)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no stderr line starting with {prefix:?} within {PATIENCE:?}; got {lines:#?}"
            );
            lines = self.stderr.added.wait_timeout(lines, left).unwrap().0;
        }
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lines.lock().unwrap().clone()
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Whether the process has not exited yet.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the process to exit; fails the test after `PATIENCE`.
    pub async fn exit_status(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit; stderr: {:#?}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn metrics(&self) -> String {
        get(self.addresses.metrics, "/metrics").await.body
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
