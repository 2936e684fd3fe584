//! loadgen against oha on the same demo-app process, and loadgen's peak memory.

use super::{Bench, Goal, Outcome, Side, alternate};
use crate::prereq;
use anyhow::{Context as _, bail};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Requests in flight in the throughput comparisons.
const CONCURRENCY: usize = 32;
/// Length of each throughput run unless `--duration` says otherwise.
const THROUGHPUT_RUN: Duration = Duration::from_secs(10);
/// Length of the memory run unless `--duration` says otherwise.
const MEMORY_RUN: Duration = Duration::from_secs(60);
/// The version the demo app reports.
const VERSION: &str = "v1.0.0";

/// Install oha if it is missing, saying so first: it compiles for minutes.
pub fn ensure_oha() -> anyhow::Result<()> {
    if prereq::find(prereq::OHA.binary).is_none() {
        eprintln!(
            "oha is not installed: installing it with `cargo install --locked oha` \
             (this compiles for several minutes; to do it yourself, run that command \
             and make sure ~/.cargo/bin is on PATH)"
        );
    }
    prereq::ensure(&[prereq::OHA])
}

/// A demo-app process on loopback ports, killed when dropped.
struct DemoApp {
    child: Child,
    url: String,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl DemoApp {
    fn start(binary: &Path) -> anyhow::Result<DemoApp> {
        let (listen, probe, metrics) = (free_port()?, free_port()?, free_port()?);
        let child = Command::new(binary)
            .args(["--listen-address", &format!("127.0.0.1:{listen}")])
            .args(["--probe-address", &format!("127.0.0.1:{probe}")])
            .args(["--metrics-address", &format!("127.0.0.1:{metrics}")])
            .env("VERSION", VERSION)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut app = DemoApp {
            child,
            url: format!("http://127.0.0.1:{listen}/"),
        };
        let addr: SocketAddr = format!("127.0.0.1:{listen}").parse()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !answers(addr) {
            if let Some(status) = app.child.try_wait()? {
                bail!("demo-app exited before answering ({status})");
            }
            if Instant::now() > deadline {
                bail!("demo-app did not answer on {addr} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(app)
    }
}

/// Whether `GET /` answers 200 with our version.
fn answers(addr: SocketAddr) -> bool {
    let attempt = || -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        stream.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        Ok(text)
    };
    attempt().is_ok_and(|text| text.starts_with("HTTP/1.1 200") && text.contains(VERSION))
}

impl Drop for DemoApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Connections {
    KeepAlive,
    PerRequest,
}

/// What one throughput run measured.
struct Run {
    answered_per_second: f64,
    failed: u64,
}

fn seconds_arg(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

fn run_loadgen(
    binary: &Path,
    url: &str,
    connections: Connections,
    duration: Duration,
    notes: &mut Vec<String>,
) -> anyhow::Result<Run> {
    let mut command = Command::new(binary);
    command.args(["--url", url, "--concurrency", &CONCURRENCY.to_string()]);
    command.args(["--duration", &seconds_arg(duration), "--json"]);
    if connections == Connections::KeepAlive {
        command.args(["--keep-alive", &CONCURRENCY.to_string()]);
    }
    let report = json_output(&mut command)?;
    let answered = report["requests"]["answered"]
        .as_u64()
        .context("requests.answered")?;
    let elapsed_ms = report["elapsed_ms"].as_u64().context("elapsed_ms")?;
    let tallied = report["versions"][VERSION]["count"].as_u64().unwrap_or(0);
    if tallied != answered {
        notes.push(format!(
            "loadgen tallied {tallied} of {answered} answers as {VERSION}"
        ));
    }
    Ok(Run {
        answered_per_second: answered as f64 * 1000.0 / elapsed_ms.max(1) as f64,
        failed: report["requests"]["failed"].as_u64().unwrap_or(0),
    })
}

fn run_oha(url: &str, connections: Connections, duration: Duration) -> anyhow::Result<Run> {
    let oha = prereq::find(prereq::OHA.binary).context("oha is not on PATH")?;
    let mut command = Command::new(oha);
    command.args(["--no-tui", "--output-format", "json"]);
    command.args(["-c", &CONCURRENCY.to_string(), "-z", &seconds_arg(duration)]);
    if connections == Connections::PerRequest {
        command.arg("--disable-keepalive");
    }
    command.arg(url);
    let report = json_output(&mut command)?;
    let answered: u64 = report["statusCodeDistribution"]
        .as_object()
        .context("statusCodeDistribution")?
        .values()
        .filter_map(Value::as_u64)
        .sum();
    let total = report["summary"]["total"]
        .as_f64()
        .context("summary.total")?;
    let failed = report["errorDistribution"]
        .as_object()
        .map(|errors| {
            errors
                .iter()
                // oha cuts the requests still running at its deadline; not failures.
                .filter(|(kind, _)| !kind.contains("deadline"))
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        })
        .unwrap_or(0);
    Ok(Run {
        answered_per_second: answered as f64 / total.max(1e-9),
        failed,
    })
}

fn json_output(command: &mut Command) -> anyhow::Result<Value> {
    let shown = crate::shell::display(command);
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("starting {shown}"))?;
    if !out.status.success() {
        bail!("{shown} failed ({})", out.status);
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("the JSON output of {shown}"))
}

fn throughput(bench: &Bench, name: &str, connections: Connections) -> anyhow::Result<Outcome> {
    let duration = bench.duration_or(THROUGHPUT_RUN);
    let rounds = bench.rounds_or(super::DEFAULT_ROUNDS);
    let app = DemoApp::start(&bench.release_binary("demo-app"))?;
    let loadgen = bench.release_binary("loadgen");
    let mut notes = Vec::new();
    let mut failures = [0u64; 2];
    let sides = alternate(rounds, ["loadgen", "oha"], |side, round| {
        eprintln!("  round {round}: {}", ["loadgen", "oha"][side]);
        let run = match side {
            0 => run_loadgen(&loadgen, &app.url, connections, duration, &mut notes)?,
            _ => run_oha(&app.url, connections, duration)?,
        };
        failures[side] += run.failed;
        Ok(run.answered_per_second)
    })?;
    drop(app);
    for (side, failed) in ["loadgen", "oha"].iter().zip(failures) {
        if failed > 0 {
            notes.push(format!(
                "{side} saw {failed} failed requests over all rounds"
            ));
        }
    }
    notes.push(format!(
        "loadgen tallied every answer by version ({VERSION}) while measuring; oha only counts"
    ));
    let mode = match connections {
        Connections::KeepAlive => format!("{CONCURRENCY} kept-alive connections"),
        Connections::PerRequest => "a new connection per request".to_string(),
    };
    Ok(Outcome {
        name: name.to_string(),
        setup: format!(
            "closed loop, {CONCURRENCY} concurrent requests, {mode}, {} s per run, {rounds} round(s), \
             one release demo-app on 127.0.0.1",
            duration.as_secs_f64()
        ),
        metric: "answered requests/s".to_string(),
        sides: sides.into_iter().collect::<Vec<Side>>(),
        goal: Goal::RatioAtLeast(0.9),
        notes,
    })
}

/// loadgen vs oha with kept-alive connections.
pub fn keepalive(bench: &Bench) -> anyhow::Result<Outcome> {
    throughput(bench, "loadgen-keepalive", Connections::KeepAlive)
}

/// loadgen vs oha with a new connection per request.
pub fn newconn(bench: &Bench) -> anyhow::Result<Outcome> {
    throughput(bench, "loadgen-newconn", Connections::PerRequest)
}

/// Peak resident memory (VmHWM) of a process, in kB, while it runs.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// loadgen's peak memory during a full-speed run.
pub fn memory(bench: &Bench) -> anyhow::Result<Outcome> {
    let duration = bench.duration_or(MEMORY_RUN);
    let rounds = bench.rounds_or(1);
    let app = DemoApp::start(&bench.release_binary("demo-app"))?;
    let mut samples = Vec::new();
    let mut notes = Vec::new();
    for round in 1..=rounds {
        eprintln!("  round {round}: loadgen for {} s", duration.as_secs_f64());
        let mut child = Command::new(bench.release_binary("loadgen"))
            .args(["--url", &app.url, "--concurrency", &CONCURRENCY.to_string()])
            .args(["--keep-alive", &CONCURRENCY.to_string()])
            .args(["--duration", &seconds_arg(duration), "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting loadgen")?;
        let mut stdout = child.stdout.take().context("loadgen's stdout")?;
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            stdout.read_to_string(&mut text).map(|_| text)
        });
        // VmHWM only grows: the last reading before the process ends is its peak.
        let mut peak_kb = 0;
        while child.try_wait()?.is_none() {
            if let Some(kb) = peak_rss_kb(child.id()) {
                peak_kb = peak_kb.max(kb);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let text = reader.join().expect("the reader does not panic")?;
        let report: Value = serde_json::from_str(&text).context("loadgen's JSON output")?;
        let answered = report["requests"]["answered"].as_u64().unwrap_or(0);
        notes.push(format!(
            "round {round}: {answered} answers in {} s, {} per-second entries",
            duration.as_secs_f64(),
            report["series"].as_array().map_or(0, Vec::len)
        ));
        samples.push(peak_kb as f64 / 1024.0);
    }
    drop(app);
    Ok(Outcome {
        name: "loadgen-memory".to_string(),
        setup: format!(
            "loadgen alone, closed loop, {CONCURRENCY} kept-alive connections, {} s, \
             peak VmHWM polled every 50 ms",
            duration.as_secs_f64()
        ),
        metric: "MB".to_string(),
        sides: vec![Side {
            name: "loadgen".to_string(),
            samples,
        }],
        goal: Goal::AtMost(50.0),
        notes,
    })
}
