//! loadgen against oha on the same demo-app process, and loadgen's peak memory.

use super::load::{self, CONCURRENCY, Connections, CpuPerAnswer, Tool};
use super::process::{self, VERSION};
use super::setup::{Bench, alternate};
use super::statistics::{Goal, Outcome, Side};
use crate::prereq;
use anyhow::Context as _;
use serde_json::Value;
use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

/// Length of each throughput run unless `--duration` says otherwise.
const THROUGHPUT_RUN: Duration = Duration::from_secs(10);
/// Length of the memory run unless `--duration` says otherwise.
const MEMORY_RUN: Duration = Duration::from_secs(60);

/// Say that oha is about to be installed when it is missing: it compiles for minutes.
pub fn announce_oha_install() {
    if prereq::find(prereq::OHA.binary).is_none() {
        eprintln!(
            "oha is not installed: installing it with `cargo install --locked oha` \
             (this compiles for several minutes; to do it yourself, run that command \
             and make sure ~/.cargo/bin is on PATH)"
        );
    }
}

fn plan(bench: &Bench, connections: Connections) -> Vec<String> {
    let duration = bench.duration_or(THROUGHPUT_RUN);
    let rounds = bench.rounds_or(super::setup::DEFAULT_ROUNDS);
    let demo_app = process::demo_app_command(&bench.binary("demo-app"), "8080", "0", "0");
    let url = "http://127.0.0.1:8080/";
    let loadgen = Tool::Loadgen(bench.binary("loadgen"));
    vec![
        format!("{} &", load::shown(&demo_app)),
        format!("# {rounds} rounds, alternating which goes first:"),
        load::shown(&load::command(&loadgen, url, connections, duration)),
        load::shown(&load::command(&Tool::Oha, url, connections, duration)),
    ]
}

/// The plan of `loadgen-keepalive`.
pub fn keepalive_plan(bench: &Bench) -> Vec<String> {
    plan(bench, Connections::KeepAlive)
}

/// The plan of `loadgen-newconn`.
pub fn newconn_plan(bench: &Bench) -> Vec<String> {
    plan(bench, Connections::PerRequest)
}

fn throughput(bench: &Bench, connections: Connections) -> anyhow::Result<Outcome> {
    let duration = bench.duration_or(THROUGHPUT_RUN);
    let rounds = bench.rounds_or(super::setup::DEFAULT_ROUNDS);
    let app = process::start_demo_app(&bench.binary("demo-app"))?;
    let tools = [Tool::Loadgen(bench.binary("loadgen")), Tool::Oha];
    let mut failures = [0u64; 2];
    let mut cpu = [CpuPerAnswer::default(); 2];
    let mut untallied = 0;
    let sides = alternate(rounds, ["loadgen", "oha"], |side, _| {
        let run = load::measure(&tools[side], &app.url, connections, duration)?;
        failures[side] += run.failed;
        cpu[side].add(run.cpu_seconds, run.answered);
        if let Some(tallied) = run.tallied {
            untallied += run.answered - tallied.min(run.answered);
        }
        Ok(run.answered_per_second)
    })?;
    drop(app);
    let mut notes = Vec::new();
    for (tool, failed) in tools.iter().zip(failures) {
        if failed > 0 {
            notes.push(format!(
                "{} saw {failed} failed requests over all rounds",
                tool.name()
            ));
        }
    }
    if untallied > 0 {
        notes.push(format!(
            "loadgen did not tally {untallied} answers as {VERSION}"
        ));
    }
    notes.push(format!(
        "CPU per answer: loadgen {}, oha {}",
        cpu[0].text(),
        cpu[1].text()
    ));
    notes.push(format!(
        "loadgen tallied every answer by version ({VERSION}) and latency while measuring; oha counts and times"
    ));
    Ok(Outcome {
        setup: format!(
            "closed loop, {}, {} s per run, {rounds} round(s), one release demo-app on 127.0.0.1",
            connections.describe(),
            duration.as_secs_f64()
        ),
        metric: "answered requests/s".to_string(),
        sides,
        goal: Goal::RatioAtLeast { ratio: 0.9 },
        notes,
    })
}

/// loadgen vs oha with kept-alive connections.
pub fn keepalive(bench: &Bench) -> anyhow::Result<Outcome> {
    throughput(bench, Connections::KeepAlive)
}

/// loadgen vs oha with a new connection per request.
pub fn newconn(bench: &Bench) -> anyhow::Result<Outcome> {
    throughput(bench, Connections::PerRequest)
}

/// The plan of `loadgen-memory`.
pub fn memory_plan(bench: &Bench) -> Vec<String> {
    let duration = bench.duration_or(MEMORY_RUN);
    let rounds = bench.rounds_or(1);
    let demo_app = process::demo_app_command(&bench.binary("demo-app"), "8080", "0", "0");
    let loadgen = Tool::Loadgen(bench.binary("loadgen"));
    let url = "http://127.0.0.1:8080/";
    vec![
        format!("{} &", load::shown(&demo_app)),
        format!(
            "# {rounds} round(s), each reading VmHWM in /proc/<loadgen pid>/status at its end:"
        ),
        load::shown(&load::command(
            &loadgen,
            url,
            Connections::KeepAlive,
            duration,
        )),
    ]
}

/// loadgen's peak memory during a full-speed run.
pub fn memory(bench: &Bench) -> anyhow::Result<Outcome> {
    let duration = bench.duration_or(MEMORY_RUN);
    let rounds = bench.rounds_or(1);
    let app = process::start_demo_app(&bench.binary("demo-app"))?;
    let loadgen = Tool::Loadgen(bench.binary("loadgen"));
    let mut samples = Vec::new();
    let mut notes = Vec::new();
    for round in 1..=rounds {
        eprintln!("  round {round}: loadgen for {} s", duration.as_secs_f64());
        let mut child = load::command(&loadgen, &app.url, Connections::KeepAlive, duration)
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
            if let Some(kb) = process::status_kb(child.id(), "VmHWM") {
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
        samples.push(process::kb_to_mb(peak_kb));
    }
    drop(app);
    Ok(Outcome {
        setup: format!(
            "loadgen alone, closed loop, {CONCURRENCY} kept-alive connections, {} s, \
             peak VmHWM polled every 50 ms",
            duration.as_secs_f64()
        ),
        metric: "MB".to_string(),
        sides: vec![Side::new("loadgen", samples)],
        goal: Goal::AtMost { limit: 50.0 },
        notes,
    })
}
