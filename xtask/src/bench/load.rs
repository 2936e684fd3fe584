//! The load tools a comparison drives: oha, wrk and loadgen, each as the command
//! line a person would type, and its answer read back as requests per second.

use super::process::CpuTimes;
use crate::prereq;
use anyhow::{Context as _, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Requests in flight in every throughput comparison.
pub const CONCURRENCY: usize = 32;
/// wrk's threads: one, so that on two cores the client takes one and the server
/// (one thread for the demo app, one worker for nginx) the other.
pub const WRK_THREADS: usize = 1;

/// How the client treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connections {
    /// `CONCURRENCY` connections, each reused for request after request.
    KeepAlive,
    /// A new connection for every request, closed after the answer.
    PerRequest,
}

impl Connections {
    /// How a setup line names it.
    pub fn describe(self) -> String {
        match self {
            Connections::KeepAlive => format!("{CONCURRENCY} kept-alive connections"),
            Connections::PerRequest => {
                format!("{CONCURRENCY} concurrent requests, a new connection per request")
            }
        }
    }
}

/// A load generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tool {
    /// oha, from `cargo install oha`.
    Oha,
    /// wrk, from Debian's `wrk` package.
    Wrk,
    /// The lab's own loadgen binary.
    Loadgen(PathBuf),
}

impl Tool {
    /// The tool's name in a report.
    pub fn name(&self) -> &'static str {
        match self {
            Tool::Oha => "oha",
            Tool::Wrk => "wrk",
            Tool::Loadgen(_) => "loadgen",
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Requests answered (any status) per second of the run.
    pub answered_per_second: f64,
    /// Requests without an answer, or with a status other than 2xx/3xx.
    pub failed: u64,
    /// Answers whose version the tool tallied as the demo app's (loadgen only).
    pub tallied: Option<u64>,
    /// All answers.
    pub answered: u64,
    /// CPU time the tool used, in seconds.
    pub cpu_seconds: f64,
    /// The median latency, in milliseconds, when the tool reports it (oha).
    pub p50_ms: Option<f64>,
}

/// CPU time per answer, summed over a side's runs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuPerAnswer {
    seconds: f64,
    answers: u64,
}

impl CpuPerAnswer {
    /// Count a run's CPU time and answers.
    pub fn add(&mut self, seconds: f64, answers: u64) {
        self.seconds += seconds;
        self.answers += answers;
    }

    /// Microseconds of CPU per answer, as text (`12.3 µs`), or `n/a` without answers.
    pub fn text(&self) -> String {
        if self.answers == 0 {
            return "n/a".to_string();
        }
        format!("{:.1} µs", self.seconds * 1e6 / self.answers as f64)
    }
}

fn millis(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

fn seconds(d: Duration) -> String {
    // wrk takes whole seconds (or `Nm`, `Nh`).
    format!("{}s", d.as_secs().max(1))
}

/// The command line of a run of `tool` against `url`.
pub fn command(tool: &Tool, url: &str, connections: Connections, duration: Duration) -> Command {
    let program = |binary: &str| prereq::find(binary).unwrap_or_else(|| PathBuf::from(binary));
    let concurrency = CONCURRENCY.to_string();
    match tool {
        Tool::Oha => {
            let mut command = Command::new(program(prereq::OHA.binary));
            command.args(["--no-tui", "--output-format", "json"]);
            command.args(["-c", &concurrency, "-z", &millis(duration)]);
            if connections == Connections::PerRequest {
                command.arg("--disable-keepalive");
            }
            command.arg(url);
            command
        }
        Tool::Wrk => {
            let mut command = Command::new(program(prereq::WRK.binary));
            command.args(["-t", &WRK_THREADS.to_string(), "-c", &concurrency]);
            command.args(["-d", &seconds(duration)]);
            if connections == Connections::PerRequest {
                // The server closes after answering; wrk then opens a new connection.
                command.args(["-H", "Connection: close"]);
            }
            command.arg(url);
            command
        }
        Tool::Loadgen(binary) => {
            let mut command = Command::new(binary);
            command.args(["--url", url, "--concurrency", &concurrency]);
            command.args(["--duration", &millis(duration), "--json"]);
            if connections == Connections::KeepAlive {
                command.args(["--keep-alive", &concurrency]);
            }
            command
        }
    }
}

/// The length wrk will actually run for `duration` (whole seconds).
pub fn effective_duration(tool: &Tool, duration: Duration) -> Duration {
    match tool {
        Tool::Wrk => Duration::from_secs(duration.as_secs().max(1)),
        _ => duration,
    }
}

/// Run `tool` against `url` and read its answer.
pub fn measure(
    tool: &Tool,
    url: &str,
    connections: Connections,
    duration: Duration,
) -> anyhow::Result<Run> {
    let mut command = command(tool, url, connections, duration);
    // The tool is the only child reaped meanwhile: its CPU time is the growth of
    // this process's children's time.
    let before = CpuTimes::of("self").unwrap_or_default();
    let output = stdout_of(&mut command)?;
    let used = CpuTimes::of("self").unwrap_or_default().since(before);
    let shown = crate::shell::display(&command);
    let mut run = match tool {
        Tool::Oha => read_oha(&output),
        Tool::Wrk => read_wrk(&output),
        Tool::Loadgen(_) => read_loadgen(&output),
    }
    .with_context(|| format!("the output of {shown}"))?;
    run.cpu_seconds = used.children;
    Ok(run)
}

pub(super) fn stdout_of(command: &mut Command) -> anyhow::Result<String> {
    let shown = crate::shell::display(command);
    let out = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("starting {shown}"))?;
    if !out.status.success() {
        bail!("{shown} failed ({})", out.status);
    }
    String::from_utf8(out.stdout).with_context(|| format!("the output of {shown}"))
}

pub(super) fn read_oha(text: &str) -> anyhow::Result<Run> {
    let report: Value = serde_json::from_str(text)?;
    let codes = report["statusCodeDistribution"]
        .as_object()
        .context("statusCodeDistribution")?;
    let answered: u64 = codes.values().filter_map(Value::as_u64).sum();
    let not_ok: u64 = codes
        .iter()
        .filter(|(code, _)| !code.starts_with('2') && !code.starts_with('3'))
        .filter_map(|(_, n)| n.as_u64())
        .sum();
    let total = report["summary"]["total"]
        .as_f64()
        .context("summary.total")?;
    let errors: u64 = report["errorDistribution"]
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
        failed: errors + not_ok,
        tallied: None,
        answered,
        cpu_seconds: 0.0,
        p50_ms: report["latencyPercentiles"]["p50"]
            .as_f64()
            .map(|seconds| seconds * 1000.0),
    })
}

/// wrk prints text: `N requests in 10.00s, …`, `Socket errors: connect A, read B,
/// write C, timeout D` and `Non-2xx or 3xx responses: E` when there are any.
fn read_wrk(text: &str) -> anyhow::Result<Run> {
    let summary = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .context("no `requests in` line")?;
    let mut words = summary.split_whitespace();
    let answered: u64 = words.next().context("request count")?.parse()?;
    let elapsed = summary
        .split(" requests in ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .context("elapsed time")?;
    let elapsed = parse_wrk_time(elapsed.trim()).context("elapsed time")?;
    let socket_errors: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map(|rest| {
            rest.split(',')
                .filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let not_ok: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .map(|n| n.trim().parse())
        .transpose()?
        .unwrap_or(0);
    Ok(Run {
        answered_per_second: answered as f64 / elapsed.max(1e-9),
        failed: socket_errors + not_ok,
        tallied: None,
        answered,
        cpu_seconds: 0.0,
        p50_ms: None,
    })
}

/// `10.00s`, `1.00m`, `500.00ms` in seconds.
fn parse_wrk_time(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("us") {
        (n, 0.000_001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else {
        return None;
    };
    Some(number.parse::<f64>().ok()? * scale)
}

fn read_loadgen(text: &str) -> anyhow::Result<Run> {
    let report: Value = serde_json::from_str(text)?;
    let answered = report["requests"]["answered"]
        .as_u64()
        .context("requests.answered")?;
    let elapsed_ms = report["elapsed_ms"].as_u64().context("elapsed_ms")?;
    let versions = report["versions"].as_object().context("versions")?;
    let not_ok: u64 = versions
        .values()
        .map(|v| {
            ["4xx", "5xx", "other"]
                .iter()
                .filter_map(|class| v["status"][class].as_u64())
                .sum::<u64>()
        })
        .sum();
    Ok(Run {
        answered_per_second: answered as f64 * 1000.0 / elapsed_ms.max(1) as f64,
        failed: report["requests"]["failed"].as_u64().unwrap_or(0) + not_ok,
        tallied: Some(
            report["versions"][super::process::VERSION]["count"]
                .as_u64()
                .unwrap_or(0),
        ),
        answered,
        cpu_seconds: 0.0,
        p50_ms: None,
    })
}

/// A command line as a person would type it: public tools (oha, wrk, nginx) by
/// name, arguments with spaces quoted, environment variables set first.
pub fn shown(command: &Command) -> String {
    let program = Path::new(command.get_program());
    let program = match program.file_name().and_then(|n| n.to_str()) {
        Some(name @ ("oha" | "wrk" | "nginx")) => name.to_string(),
        _ => program.display().to_string(),
    };
    let quote = |text: &str| {
        if text.is_empty() || text.contains([' ', '"', '$', '\\']) {
            format!("'{text}'")
        } else {
            text.to_string()
        }
    };
    let mut words: Vec<String> = command
        .get_envs()
        .filter_map(|(key, value)| Some(format!("{}={}", key.to_str()?, quote(value?.to_str()?))))
        .collect();
    words.push(program);
    words.extend(command.get_args().map(|a| quote(&a.to_string_lossy())));
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output() {
        let check = |text: &str, expected: Option<(u64, u64, f64)>| {
            let run = read_wrk(text).ok();
            let got = run.map(|r| (r.answered, r.failed, r.answered_per_second));
            assert_eq!(got, expected, "{text}");
        };
        let ok = "Running 4s test @ http://127.0.0.1:18080/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   450.00us  100.00us   2.00ms   90.00%
    Req/Sec    68.00k     2.00k   70.00k    80.00%
  272000 requests in 4.00s, 43.92MB read
Requests/sec:  68000.00
Transfer/sec:     10.98MB
";
        check(ok, Some((272_000, 0, 68_000.0)));
        let errors = ok.replace(
            "Requests/sec",
            "  Socket errors: connect 0, read 12, write 3, timeout 1\n  Non-2xx or 3xx responses: 4\nRequests/sec",
        );
        check(&errors, Some((272_000, 20, 68_000.0)));
        let minutes = ok.replace("in 4.00s", "in 1.00m");
        check(&minutes, Some((272_000, 0, 272_000.0 / 60.0)));
        check("unable to connect to 127.0.0.1:1 Connection refused", None);
    }

    #[test]
    fn oha_output() {
        let text = r#"{"summary": {"total": 2.0, "requestsPerSec": 100.0},
            "statusCodeDistribution": {"200": 180, "500": 20},
            "errorDistribution": {"aborted due to deadline": 31, "connection closed": 2}}"#;
        let run = read_oha(text).unwrap();
        assert_eq!((run.answered, run.failed), (200, 22));
        assert_eq!(run.answered_per_second, 100.0);
    }

    #[test]
    fn loadgen_output() {
        let text = r#"{"elapsed_ms": 2000, "requests": {"answered": 300, "failed": 1},
            "versions": {"v1.0.0": {"count": 290, "status": {"2xx": 280, "3xx": 0, "4xx": 0, "5xx": 10, "other": 0}},
                         "unknown": {"count": 10, "status": {"2xx": 10, "3xx": 0, "4xx": 0, "5xx": 0, "other": 0}}}}"#;
        let run = read_loadgen(text).unwrap();
        assert_eq!(
            (run.answered, run.failed, run.tallied),
            (300, 11, Some(290))
        );
        assert_eq!(run.answered_per_second, 150.0);
    }

    #[test]
    fn cpu_per_answer() {
        let mut cpu = CpuPerAnswer::default();
        assert_eq!(cpu.text(), "n/a");
        cpu.add(1.0, 50_000);
        cpu.add(0.5, 50_000);
        assert_eq!(cpu.text(), "15.0 µs");
    }

    #[test]
    fn command_lines() {
        let check = |tool: Tool, connections: Connections, expected: &str| {
            let command = command(&tool, "http://h/", connections, Duration::from_millis(2500));
            let args: Vec<String> = command
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            assert_eq!(args.join(" "), expected);
        };
        use Connections::*;
        check(
            Tool::Oha,
            KeepAlive,
            "--no-tui --output-format json -c 32 -z 2500ms http://h/",
        );
        check(
            Tool::Oha,
            PerRequest,
            "--no-tui --output-format json -c 32 -z 2500ms --disable-keepalive http://h/",
        );
        check(Tool::Wrk, KeepAlive, "-t 1 -c 32 -d 2s http://h/");
        check(
            Tool::Wrk,
            PerRequest,
            "-t 1 -c 32 -d 2s -H Connection: close http://h/",
        );
        let wrk = command(&Tool::Wrk, "http://h/", PerRequest, Duration::from_secs(3));
        assert_eq!(
            shown(&wrk),
            "wrk -t 1 -c 32 -d 3s -H 'Connection: close' http://h/"
        );
        let loadgen = Tool::Loadgen(PathBuf::from("/l"));
        check(
            loadgen.clone(),
            KeepAlive,
            "--url http://h/ --concurrency 32 --duration 2500ms --json --keep-alive 32",
        );
        check(
            loadgen,
            PerRequest,
            "--url http://h/ --concurrency 32 --duration 2500ms --json",
        );
    }
}
