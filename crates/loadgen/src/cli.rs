//! The `loadgen` command line: flags to [`Options`], a run with live progress and
//! Ctrl-C handling, then a summary for people or the `--json` report.

use crate::options::{Bound, Connections, Error, Load, Options, RequestClass};
use crate::report::Report;
use crate::run::{self, RunHandle};
use crate::snapshot::Snapshot;
use crate::stream::{self, SnapshotFeed};
use crate::summary;
use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind as ClapErrorKind};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Send HTTP requests and tally the answers by the version that served them.
///
/// Open loop (--rate, the default at 10 requests/s like the tutorial's curl loop) or
/// closed loop (--concurrency); a new connection per request unless --keep-alive.
/// Exit status: 0 when the run completed (failed requests are results, not errors),
/// 1 when it could not run (the host does not resolve), 2 for bad flags.
#[derive(Parser, Debug)]
#[command(name = "loadgen", version, allow_negative_numbers = true)]
struct Args {
    /// Target, http://host[:port][/path] (https is not supported).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Open loop: requests per second on a fixed schedule [default: 10].
    #[arg(long, value_name = "R")]
    rate: Option<String>,
    /// Closed loop: this many requests in flight, each followed at once by the next.
    #[arg(long, value_name = "C")]
    concurrency: Option<String>,
    /// Stop issuing after this long (10s, 2m, 1h30m).
    #[arg(long, value_name = "D")]
    duration: Option<String>,
    /// Stop after issuing this many requests.
    #[arg(long, value_name = "N")]
    requests: Option<String>,
    /// Reuse N persistent connections instead of a new connection per request.
    #[arg(long, value_name = "N")]
    keep_alive: Option<String>,
    /// Limit for one request, connect to end of body.
    #[arg(long, value_name = "T", default_value = "5s")]
    timeout: String,
    /// Record periods without a 2xx answer longer than this.
    #[arg(long, value_name = "T", default_value = "250ms")]
    gap_threshold: String,
    /// Open loop: most requests in flight; due requests beyond it are dropped and counted.
    #[arg(long, value_name = "N", default_value = "1000")]
    max_in_flight: String,
    /// Print the JSON report on one line (schema in the crate's README.md) instead of the summary.
    #[arg(long)]
    json: bool,
    /// Also print the run's state as one JSON line a second on stdout
    /// (`{"snapshot": …}`), so a run elsewhere can be followed live.
    #[arg(long)]
    snapshots: bool,
    /// A class of requests, repeatable: NAME,SHARE[,HEADER=VALUE…]; SHARE of
    /// the requests (0 to 1) carry the headers and are tallied as NAME, the
    /// rest as `default`.
    #[arg(long, value_name = "NAME,SHARE[,HEADER=VALUE…]")]
    class: Vec<String>,
}

/// One `--class NAME,SHARE[,HEADER=VALUE…]`.
fn request_class(text: &str) -> Result<RequestClass, Usage> {
    let bad = |problem: String| usage("--class", format!("{text:?}: {problem}"));
    let mut parts = text.split(',');
    let name = parts.next().unwrap_or("").trim();
    if name.is_empty() {
        return Err(bad(
            "a name is required (NAME,SHARE[,HEADER=VALUE…])".to_owned()
        ));
    }
    let share: f64 = parts
        .next()
        .ok_or_else(|| bad("a share is required (NAME,SHARE[,HEADER=VALUE…])".to_owned()))?
        .trim()
        .parse()
        .map_err(|_| bad("the share is not a number".to_owned()))?;
    let headers = parts
        .map(|header| {
            header
                .split_once('=')
                .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
                .filter(|(name, _)| !name.is_empty())
                .ok_or_else(|| bad(format!("{header:?} is not HEADER=VALUE")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RequestClass {
        name: name.to_owned(),
        share,
        headers,
    })
}

/// A bad flag: printed as `error: --flag: problem`, exit status 2.
#[derive(Debug, PartialEq, Eq)]
pub struct Usage {
    /// The flag, with its dashes.
    pub flag: String,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error: {}: {}", self.flag, self.problem)
    }
}

fn usage(flag: &str, problem: impl Into<String>) -> Usage {
    Usage {
        flag: flag.to_string(),
        problem: problem.into(),
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub struct Invocation {
    /// The run's options.
    pub options: Options,
    /// `--json`.
    pub json: bool,
    /// `--snapshots`.
    pub snapshots: bool,
}

/// What to do instead of a run: print help or version, or refuse bad flags.
#[derive(Debug)]
pub enum NoRun {
    /// `--help` or `--version`: print this to stdout, exit 0.
    Info(String),
    /// Bad flags: exit 2.
    Usage(Usage),
}

/// Parse the command line (without running anything).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, NoRun> {
    let args = Args::try_parse_from(args).map_err(|e| match e.kind() {
        ClapErrorKind::DisplayHelp
        | ClapErrorKind::DisplayVersion
        | ClapErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            NoRun::Info(e.render().to_string())
        }
        _ => NoRun::Usage(one_line(&e)),
    })?;
    invocation(args).map_err(NoRun::Usage)
}

/// Clap's several-line errors, cut to `error: --flag: problem`.
fn one_line(e: &clap::Error) -> Usage {
    let flag = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg.split_whitespace().next().unwrap_or("").to_string(),
        _ => String::new(),
    };
    let problem = match e.kind() {
        ClapErrorKind::UnknownArgument => "unknown flag".to_string(),
        ClapErrorKind::InvalidValue | ClapErrorKind::NoEquals => "a value is required".to_string(),
        ClapErrorKind::ArgumentConflict => "given more than once".to_string(),
        kind => kind.as_str().unwrap_or("invalid command line").to_string(),
    };
    if flag.is_empty() {
        usage("loadgen", problem)
    } else {
        usage(&flag, problem)
    }
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, Usage> {
    text.trim()
        .parse()
        .map_err(|_| usage(flag, format!("not a number: {text:?}")))
}

fn duration(flag: &str, text: &str) -> Result<Duration, Usage> {
    humantime::parse_duration(text.trim()).map_err(|_| {
        usage(
            flag,
            format!("not a duration: {text:?} (like 10s, 2m, 1h30m)"),
        )
    })
}

fn invocation(args: Args) -> Result<Invocation, Usage> {
    let url = args.url.ok_or_else(|| usage("--url", "required"))?;
    let load = match (&args.rate, &args.concurrency) {
        (Some(_), Some(_)) => return Err(usage("--concurrency", "cannot be used with --rate")),
        (Some(r), None) => Load::Rate(number("--rate", r)?),
        (None, Some(c)) => Load::Concurrency(number("--concurrency", c)?),
        (None, None) => Load::Rate(10.0),
    };
    let bound = match (&args.duration, &args.requests) {
        (Some(d), Some(n)) => {
            Bound::DurationOrRequests(duration("--duration", d)?, number("--requests", n)?)
        }
        (Some(d), None) => Bound::Duration(duration("--duration", d)?),
        (None, Some(n)) => Bound::Requests(number("--requests", n)?),
        (None, None) => {
            return Err(usage("--duration", "required unless --requests is given"));
        }
    };
    let mut options = Options::new(url, load, bound);
    if let Some(n) = &args.keep_alive {
        options.connections = Connections::KeepAlive(number("--keep-alive", n)?);
    }
    options.timeout = duration("--timeout", &args.timeout)?;
    options.gap_threshold = duration("--gap-threshold", &args.gap_threshold)?;
    options.max_in_flight = number("--max-in-flight", &args.max_in_flight)?;
    options.classes = args
        .class
        .iter()
        .map(|text| request_class(text))
        .collect::<Result<_, _>>()?;
    options.validate().map_err(|e| flag_error(&e))?;
    Ok(Invocation {
        options,
        json: args.json,
        snapshots: args.snapshots,
    })
}

/// A library error as the flag it comes from.
fn flag_error(error: &Error) -> Usage {
    match error {
        Error::BadUrl { reason, .. } => usage("--url", reason.clone()),
        Error::BadOption { option, reason } => usage(&format!("--{option}"), reason.clone()),
        Error::Resolve { host, reason } => {
            usage("--url", format!("cannot resolve {host}: {reason}"))
        }
    }
}

/// The whole program: parse, run, print; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let invocation = match parse(args) {
        Ok(invocation) => invocation,
        Err(NoRun::Info(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(NoRun::Usage(problem)) => {
            eprintln!("{problem}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_and_print(invocation))
}

async fn run_and_print(invocation: Invocation) -> ExitCode {
    let handle = match run::start(invocation.options).await {
        Ok(handle) => handle,
        Err(e @ Error::Resolve { .. }) => {
            eprintln!("{}", flag_error(&e));
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("{}", flag_error(&e));
            return ExitCode::from(2);
        }
    };
    let live = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let feed = invocation.snapshots.then(SnapshotFeed::new);
    if let Err(e) = watch(&handle, live, feed).await {
        eprintln!("error: cannot wait for signals: {e}");
        return ExitCode::FAILURE;
    }
    let results = handle.wait().await;
    let mut stdout = std::io::stdout().lock();
    let written = if invocation.json {
        // One line: a Job's log mixes stdout and stderr, and a line is easy to pick out.
        serde_json::to_writer(&mut stdout, &Report::of(&results))
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout))
    } else {
        write!(stdout, "{}", summary::render(&results))
    };
    match written.and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the results: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Until the run ends: show progress, and stop on the first Ctrl-C or SIGTERM (a
/// second one exits at once, without waiting for requests in flight).
async fn watch(
    handle: &RunHandle,
    live: bool,
    mut feed: Option<SnapshotFeed>,
) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let mut every_second = tokio::time::interval(Duration::from_secs(1));
    let print_snapshot = |feed: &mut SnapshotFeed| -> std::io::Result<()> {
        let line = stream::to_text(&feed.line(&handle.snapshot()));
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()
    };
    let mut recent: VecDeque<Snapshot> = VecDeque::new();
    let mut stopping = false;
    loop {
        tokio::select! {
            () = handle.finished() => break,
            _ = interrupt.recv() => {
                if stopping { std::process::exit(130) }
                stopping = true;
                handle.stop();
            }
            _ = terminate.recv() => {
                if stopping { std::process::exit(143) }
                stopping = true;
                handle.stop();
            }
            _ = every_second.tick(), if feed.is_some() => {
                if let Some(feed) = feed.as_mut() {
                    print_snapshot(feed)?;
                }
            }
            _ = ticker.tick(), if live => {
                let now = handle.snapshot();
                // The rate shown is over the last second.
                while recent.len() > 4 {
                    recent.pop_front();
                }
                let line = summary::progress_line(&now, recent.front());
                eprint!("\r{line:<100}");
                recent.push_back(now);
            }
        }
    }
    if live {
        eprint!("\r{:<100}\r", "");
    }
    // The final state, so a follower sees every request.
    if let Some(feed) = feed.as_mut() {
        print_snapshot(feed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str], expected: &str) {
        let argv = std::iter::once("loadgen")
            .chain(args.iter().copied())
            .map(OsString::from);
        let got = match parse(argv) {
            Ok(inv) => format!(
                "ok {:?} {:?} {:?} timeout={:?} json={}",
                inv.options.load,
                inv.options.bound,
                inv.options.connections,
                inv.options.timeout,
                inv.json
            ),
            Err(NoRun::Usage(u)) => u.to_string(),
            Err(NoRun::Info(_)) => "info".to_string(),
        };
        assert_eq!(got, expected, "args {args:?}");
    }

    #[test]
    fn flags() {
        let url = "--url=http://127.0.0.1:9/";
        check(
            &[url, "--duration", "10s"],
            "ok Rate(10.0) Duration(10s) PerRequest timeout=5s json=false",
        );
        check(
            &[
                url,
                "--concurrency",
                "32",
                "--requests",
                "100",
                "--keep-alive",
                "4",
                "--json",
            ],
            "ok Concurrency(32) Requests(100) KeepAlive(4) timeout=5s json=true",
        );
        check(
            &[
                url,
                "--rate",
                "2.5",
                "--duration",
                "1m",
                "--requests",
                "7",
                "--timeout",
                "300ms",
            ],
            "ok Rate(2.5) DurationOrRequests(60s, 7) PerRequest timeout=300ms json=false",
        );
        check(&["--help"], "info");
        check(&["--version"], "info");
        check(&["--duration", "1s"], "error: --url: required");
        check(
            &[url, "--rate", "0", "--duration", "1s"],
            "error: --rate: must be > 0",
        );
        check(
            &[url, "--rate", "x", "--duration", "1s"],
            "error: --rate: not a number: \"x\"",
        );
        check(
            &[url, "--rate", "1", "--concurrency", "2", "--duration", "1s"],
            "error: --concurrency: cannot be used with --rate",
        );
        check(
            &[url, "--concurrency", "0", "--duration", "1s"],
            "error: --concurrency: must be > 0",
        );
        check(
            &[url, "--concurrency", "-1", "--duration", "1s"],
            "error: --concurrency: not a number: \"-1\"",
        );
        check(
            &[url],
            "error: --duration: required unless --requests is given",
        );
        check(
            &[url, "--duration", "ten"],
            "error: --duration: not a duration: \"ten\" (like 10s, 2m, 1h30m)",
        );
        check(&[url, "--duration", "0s"], "error: --duration: must be > 0");
        check(&[url, "--requests", "0"], "error: --requests: must be > 0");
        check(
            &[url, "--requests", "1", "--keep-alive", "0"],
            "error: --keep-alive: must be > 0",
        );
        check(
            &[url, "--requests", "1", "--timeout", "0s"],
            "error: --timeout: must be > 0",
        );
        check(
            &[url, "--requests", "1", "--max-in-flight", "0"],
            "error: --max-in-flight: must be > 0",
        );
        check(
            &["--url", "https://x", "--requests", "1"],
            "error: --url: https is not supported, use http://",
        );
        check(
            &[url, "--requests", "1", "--bogus"],
            "error: --bogus: unknown flag",
        );
        check(
            &[url, "--requests"],
            "error: --requests: a value is required",
        );
        check(
            &[url, "--requests", "1", "extra"],
            "error: extra: unknown flag",
        );
        check(
            &[url, url, "--requests", "1"],
            "error: --url: given more than once",
        );
    }
}
