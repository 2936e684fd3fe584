//! demo-app against nginx serving the same answer, and demo-app's idle memory.

use super::load::CpuPerAnswer;
use super::load::{self, Connections, Tool};
use super::process::{self, CpuTimes, Server};
use super::setup::{Bench, alternate};
use super::statistics::{Goal, Outcome, Side};
use crate::prereq;
use anyhow::Context as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Length of each throughput run unless `--duration` says otherwise.
const THROUGHPUT_RUN: Duration = Duration::from_secs(10);
/// Length of the burst of traffic before the second memory reading.
const MEMORY_BURST: Duration = Duration::from_secs(5);
/// How long the app sits idle before its memory is read.
const SETTLE: Duration = Duration::from_secs(1);

fn nginx() -> anyhow::Result<std::path::PathBuf> {
    prereq::find(prereq::NGINX.binary).context("nginx is not installed")
}

fn plan(bench: &Bench, connections: Connections) -> Vec<String> {
    let duration = bench.duration_or(THROUGHPUT_RUN);
    let rounds = bench.rounds_or(super::setup::DEFAULT_ROUNDS);
    let dir = bench.scratch.join("nginx");
    let demo_app = process::demo_app_command(&bench.binary("demo-app"), "8080", "0", "0");
    let nginx = process::nginx_command(std::path::Path::new("nginx"), &dir);
    let mut lines = vec![
        format!("{} &", load::shown(&demo_app)),
        format!("# {}/nginx.conf:", dir.display()),
    ];
    lines.extend(
        process::nginx_config(&dir, "8081")
            .lines()
            .map(|l| format!("#   {l}")),
    );
    lines.push(format!("{} &", load::shown(&nginx)));
    lines.push(format!("# {rounds} rounds, alternating which goes first:"));
    for port in ["8080", "8081"] {
        let url = format!("http://127.0.0.1:{port}/");
        lines.push(load::shown(&load::command(
            &Tool::Wrk,
            &url,
            connections,
            duration,
        )));
    }
    lines
}

/// The plan of `demo-app-keepalive`.
pub fn keepalive_plan(bench: &Bench) -> Vec<String> {
    plan(bench, Connections::KeepAlive)
}

/// The plan of `demo-app-newconn`.
pub fn newconn_plan(bench: &Bench) -> Vec<String> {
    plan(bench, Connections::PerRequest)
}

/// The pid of nginx's only worker process (the master's child).
fn nginx_worker(nginx: &Server) -> anyhow::Result<String> {
    let path = format!("/proc/{}/task/{}/children", nginx.pid(), nginx.pid());
    let children = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    match children.split_whitespace().collect::<Vec<_>>().as_slice() {
        [worker] => Ok(worker.to_string()),
        other => anyhow::bail!("nginx has {} worker processes, expected one", other.len()),
    }
}

/// The whole answer to `GET /` (status line, headers, body), as sent.
fn raw_answer(url: &str) -> anyhow::Result<String> {
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream =
        TcpStream::connect(&address).with_context(|| format!("connecting {address}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text)
}

/// The header names of an answer, lower case, in order.
fn header_names(answer: &str) -> Vec<String> {
    answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .lines()
        .skip(1)
        .filter_map(|l| Some(l.split_once(':')?.0.to_ascii_lowercase()))
        .collect()
}

fn throughput(bench: &Bench, connections: Connections) -> anyhow::Result<Outcome> {
    let duration = load::effective_duration(&Tool::Wrk, bench.duration_or(THROUGHPUT_RUN));
    let rounds = bench.rounds_or(super::setup::DEFAULT_ROUNDS);
    let app = process::start_demo_app(&bench.binary("demo-app"))?;
    let dir = process::fresh_dir(&bench.scratch, "nginx")?;
    let nginx = process::start_nginx(&nginx()?, &dir)?;
    let servers: [&Server; 2] = [&app, &nginx];
    let mut notes = Vec::new();
    for (name, server) in ["demo-app", "nginx"].iter().zip(servers) {
        // Keep-alive answers differ in `Connection: keep-alive` only; show the rest.
        let answer = raw_answer(&server.url)?;
        notes.push(format!(
            "{name} answers {} bytes with a {}-byte body; headers: {}",
            answer.len(),
            process::BODY.len(),
            header_names(&answer).join(", ")
        ));
    }
    let mut failures = [0u64; 2];
    // CPU per answer of the server (nginx: its worker, a child of its master).
    let pids = [app.pid().to_string(), nginx_worker(&nginx)?];
    let mut cpu = [CpuPerAnswer::default(); 2];
    let sides = alternate(rounds, ["demo-app", "nginx"], |side, _| {
        let before = CpuTimes::of(&pids[side]);
        let run = load::measure(&Tool::Wrk, &servers[side].url, connections, duration)?;
        let used = CpuTimes::of(&pids[side])
            .zip(before)
            .map(|(b, a)| b.since(a).own);
        failures[side] += run.failed;
        cpu[side].add(used.unwrap_or(0.0), run.answered);
        Ok(run.answered_per_second)
    })?;
    notes.push(format!(
        "server CPU per answer: demo-app {}, nginx's worker {}",
        cpu[0].text(),
        cpu[1].text()
    ));
    drop(app);
    drop(nginx);
    for (name, failed) in ["demo-app", "nginx"].iter().zip(failures) {
        if failed > 0 {
            notes.push(format!(
                "wrk saw {failed} socket errors or non-2xx answers from {name} over all rounds"
            ));
        }
    }
    Ok(Outcome {
        setup: format!(
            "wrk ({} thread), {}, {} s per run, {rounds} round(s); release demo-app (one thread) \
             and nginx (one worker process, access log off) on 127.0.0.1",
            load::WRK_THREADS,
            connections.describe(),
            duration.as_secs_f64()
        ),
        metric: "answered requests/s".to_string(),
        sides,
        goal: Goal::RatioAtLeast { ratio: 0.8 },
        notes,
    })
}

/// demo-app vs nginx with kept-alive connections.
pub fn keepalive(bench: &Bench) -> anyhow::Result<Outcome> {
    throughput(bench, Connections::KeepAlive)
}

/// demo-app vs nginx with a new connection per request.
pub fn newconn(bench: &Bench) -> anyhow::Result<Outcome> {
    throughput(bench, Connections::PerRequest)
}

/// The plan of `demo-app-memory`.
pub fn memory_plan(bench: &Bench) -> Vec<String> {
    let rounds = bench.rounds_or(3);
    let burst = bench.duration_or(MEMORY_BURST);
    let demo_app = process::demo_app_command(&bench.binary("demo-app"), "8080", "0", "0");
    let loadgen = Tool::Loadgen(bench.binary("loadgen"));
    vec![
        format!("# {rounds} rounds, each with a new process:"),
        format!("{} &", load::shown(&demo_app)),
        format!(
            "# once it answers, after {} s idle: VmRSS in /proc/<demo-app pid>/status (fresh)",
            SETTLE.as_secs()
        ),
        load::shown(&load::command(
            &loadgen,
            "http://127.0.0.1:8080/",
            Connections::KeepAlive,
            burst,
        )),
        format!(
            "# after {} s idle: VmRSS again (after load)",
            SETTLE.as_secs()
        ),
    ]
}

/// demo-app's resident memory when idle: just started, and after a burst of
/// full-speed traffic.
pub fn memory(bench: &Bench) -> anyhow::Result<Outcome> {
    let rounds = bench.rounds_or(3);
    let burst = bench.duration_or(MEMORY_BURST);
    let loadgen = Tool::Loadgen(bench.binary("loadgen"));
    let mut fresh = Vec::new();
    let mut after_load = Vec::new();
    let mut notes = Vec::new();
    for round in 1..=rounds {
        eprintln!(
            "  round {round}: demo-app idle, then after {} s of traffic",
            burst.as_secs_f64()
        );
        let app = process::start_demo_app(&bench.binary("demo-app"))?;
        let rss = |app: &Server| {
            std::thread::sleep(SETTLE);
            process::status_kb(app.pid(), "VmRSS").context("demo-app's VmRSS")
        };
        fresh.push(process::kb_to_mb(rss(&app)?));
        let run = load::measure(&loadgen, &app.url, Connections::KeepAlive, burst)?;
        after_load.push(process::kb_to_mb(rss(&app)?));
        notes.push(format!(
            "round {round}: {} answers in the burst; peak VmHWM {:.2} MB",
            run.answered,
            process::kb_to_mb(process::status_kb(app.pid(), "VmHWM").unwrap_or(0))
        ));
    }
    Ok(Outcome {
        setup: format!(
            "release demo-app on 127.0.0.1: VmRSS {} s after it first answered (fresh), and {} s \
             after {} s of loadgen at full speed over 32 kept-alive connections (after load), \
             {rounds} round(s), a new process each",
            SETTLE.as_secs(),
            SETTLE.as_secs(),
            burst.as_secs_f64()
        ),
        metric: "MB".to_string(),
        sides: vec![
            Side::new("fresh", fresh),
            Side::new("after load", after_load),
        ],
        goal: Goal::AtMost { limit: 10.0 },
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn headers_of_an_answer() {
        let answer = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 3\r\n\r\nok\n";
        assert_eq!(header_names(answer), ["server", "content-length"]);
        assert!(header_names("").is_empty());
    }

    /// A real, short run of the cheapest comparison on the debug binaries that
    /// `cargo xtask test` builds: it must produce a well-formed result.
    #[test]
    fn a_short_memory_run_gives_a_well_formed_result() {
        let exe = std::env::current_exe().unwrap();
        let binaries = exe.parent().unwrap().parent().unwrap().to_path_buf();
        for name in ["demo-app", "loadgen"] {
            assert!(
                binaries.join(name).is_file(),
                "{} is missing: run `cargo xtask test`, or `cargo build -p demo-app -p loadgen` first",
                binaries.join(name).display()
            );
        }
        let scratch = tempfile::tempdir().unwrap();
        let bench = Bench {
            rounds: Some(1),
            duration: Some(Duration::from_millis(500)),
            binaries,
            scratch: PathBuf::from(scratch.path()),
        };
        let outcome = memory(&bench).unwrap();
        let names: Vec<&str> = outcome.sides.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["fresh", "after load"]);
        for side in &outcome.sides {
            assert_eq!(side.samples.len(), 1, "{side:?}");
            // A live process has some resident memory, and far less than a gigabyte.
            assert!(
                side.samples[0] > 0.1 && side.samples[0] < 1000.0,
                "{side:?}"
            );
        }
        assert!(
            outcome.notes[0].starts_with("round 1: "),
            "{:?}",
            outcome.notes
        );
        let record = outcome.record("demo-app-memory", "0.00 0.00 0.00");
        let text = serde_json::to_string(&record).unwrap();
        let back: crate::bench::record::Record = serde_json::from_str(&text).unwrap();
        assert_eq!(back, record);
        assert_eq!(back.goal, Goal::AtMost { limit: 10.0 });
        assert_eq!(back.median_ratio, None);
    }
}
