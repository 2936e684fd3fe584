//! The command line and environment, turned into a checked [`Config`].
//!
//! Clap only collects strings (from argv or the environment); the values are checked
//! here so that every error can name the flag, and the environment variable when the
//! value came from there, in one line.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU64;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};

use crate::faults::{Faults, Fraction};

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where `GET /` is answered (`--listen-address`).
    pub listen_address: SocketAddr,
    /// Where `/live` and `/ready` are answered (`--probe-address`).
    pub probe_address: SocketAddr,
    /// Where `/metrics` is answered (`--metrics-address`).
    pub metrics_address: SocketAddr,
    /// The version this instance reports (env `VERSION`, empty when unset).
    pub version: String,
    /// The host name this instance reports (env `HOSTNAME`, else the system's).
    pub hostname: String,
    /// How long to keep serving, not ready, after a shutdown signal (`--drain-period`).
    pub drain_period: Duration,
    /// How long to wait for in-flight requests after the drain (`--shutdown-timeout`).
    pub shutdown_timeout: Duration,
    /// The fault knobs.
    pub faults: Faults,
}

/// A command line or environment the app cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--help` was asked for: print this text and exit 0.
    #[error("{0}")]
    Help(String),
    /// The command line does not parse (unknown flag, missing value, …): one line.
    #[error("{0}")]
    Usage(String),
    /// A value does not mean anything to its flag.
    #[error("{flag}{}: {problem}", env.map(|var| format!(" (env {var})")).unwrap_or_default())]
    InvalidValue {
        /// The flag, e.g. `--error-rate`.
        flag: &'static str,
        /// The environment variable the value came from, if it came from one.
        env: Option<&'static str>,
        /// What is wrong, e.g. `1.5 is outside 0..=1`.
        problem: String,
    },
    /// An environment variable that is not a flag holds something unusable.
    #[error("{var}: {problem}")]
    InvalidEnvironment {
        /// The variable, e.g. `VERSION`.
        var: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl ConfigError {
    /// The exit status this error calls for: 0 for help, 2 for bad input.
    pub fn exit_code(&self) -> u8 {
        match self {
            ConfigError::Help(_) => 0,
            _ => 2,
        }
    }
}

const HELP_TEMPLATE: &str = "\
{about}

{usage-heading} {usage}

{all-args}{after-help}";

const AFTER_HELP: &str = "\
Addresses are :PORT (all interfaces) or HOST:PORT with an IP host or localhost.
Durations use units: 500ms, 3s, 1m 30s. Fractions are numbers in 0..=1.
An environment variable set to the empty string counts as unset.

Environment: VERSION is reported in answers, X-Version and the version label (empty
when unset); HOSTNAME is reported in answers (the system host name when unset).

Exit status: 0 after a graceful shutdown, 1 when an address cannot be bound,
2 for bad input, 3 when a crash knob fires.";

/// The raw command line: every value is a string, checked by [`Config::from_matches`].
#[derive(Debug, Parser)]
#[command(
    name = "demo-app",
    about = "Answers GET / with \"Host: <hostname>, Version: <VERSION>\", serves /live and \
             /ready probes and Prometheus /metrics, drains on SIGTERM, and injects faults \
             on demand.",
    help_template = HELP_TEMPLATE,
    after_help = AFTER_HELP,
    disable_version_flag = true
)]
struct Args {
    /// Address answering GET / (and counting every request in the metrics)
    #[arg(long, value_name = "[HOST]:PORT", default_value = ":8080")]
    listen_address: String,

    /// Address answering GET /live and GET /ready
    #[arg(long, value_name = "[HOST]:PORT", default_value = ":8086")]
    probe_address: String,

    /// Address answering GET /metrics in the Prometheus text format
    #[arg(long, value_name = "[HOST]:PORT", default_value = ":9101")]
    metrics_address: String,

    /// After SIGTERM or SIGINT: keep serving new connections this long with /ready
    /// answering 503, then stop accepting and finish in-flight requests
    #[arg(long, env = "DRAIN_PERIOD", value_name = "DURATION", default_value = DEFAULT_DRAIN_PERIOD)]
    drain_period: String,

    /// After the drain: how long in-flight requests may take before they are cut off
    #[arg(long, env = "SHUTDOWN_TIMEOUT", value_name = "DURATION", default_value = DEFAULT_SHUTDOWN_TIMEOUT)]
    shutdown_timeout: String,

    /// Fraction of GET / requests answered with 500 (body and X-Version still name the
    /// host and version)
    #[arg(
        long,
        env = "ERROR_RATE",
        value_name = "FRACTION",
        default_value = "0",
        allow_negative_numbers = true,
        help_heading = "Fault knobs"
    )]
    error_rate: String,

    /// Latency added to GET / requests, e.g. 600ms
    #[arg(
        long,
        env = "LATENCY",
        value_name = "DURATION",
        default_value = "0s",
        help_heading = "Fault knobs"
    )]
    latency: String,

    /// Fraction of GET / requests the latency applies to
    #[arg(
        long,
        env = "LATENCY_RATE",
        value_name = "FRACTION",
        default_value = "1",
        allow_negative_numbers = true,
        help_heading = "Fault knobs"
    )]
    latency_rate: String,

    /// Time after start before /ready answers 200 (/live answers 200 meanwhile)
    #[arg(
        long,
        env = "STARTUP_DELAY",
        value_name = "DURATION",
        default_value = "0s",
        help_heading = "Fault knobs"
    )]
    startup_delay: String,

    /// Exit with status 3 right after answering the Nth GET / request (requests in
    /// flight on other connections are cut off)
    #[arg(
        long,
        env = "CRASH_AFTER_REQUESTS",
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Fault knobs"
    )]
    crash_after_requests: Option<String>,

    /// Exit with status 3 after running this long
    #[arg(
        long,
        env = "CRASH_AFTER",
        value_name = "DURATION",
        help_heading = "Fault knobs"
    )]
    crash_after: Option<String>,

    /// /ready never answers 200 (NEVER_READY=true; false, 0, no and off turn it off)
    #[arg(long, env = "NEVER_READY", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_missing_value = "true", help_heading = "Fault knobs")]
    never_ready: Option<String>,
}

const DEFAULT_DRAIN_PERIOD: &str = "3s";
const DEFAULT_SHUTDOWN_TIMEOUT: &str = "10s";

/// One argument's raw value and where it came from, for checking and error messages.
struct Value<'a> {
    flag: &'static str,
    env: Option<&'static str>,
    raw: Option<&'a str>,
}

impl<'a> Value<'a> {
    /// Looks up the argument with clap id `id`; an empty value from the environment
    /// counts as absent, so a manifest can blank a knob.
    fn of(
        matches: &ArgMatches,
        raw: Option<&'a String>,
        id: &str,
        flag: &'static str,
        env_var: Option<&'static str>,
    ) -> Value<'a> {
        let from_env = matches.value_source(id) == Some(ValueSource::EnvVariable);
        let raw = raw
            .map(String::as_str)
            .filter(|v| !(from_env && v.is_empty()));
        Value {
            flag,
            env: if from_env { env_var } else { None },
            raw,
        }
    }

    fn invalid(&self, problem: String) -> ConfigError {
        ConfigError::InvalidValue {
            flag: self.flag,
            env: self.env,
            problem,
        }
    }

    fn address(&self, default: &str) -> Result<SocketAddr, ConfigError> {
        let raw = self.raw.unwrap_or(default);
        parse_address(raw).map_err(|problem| self.invalid(problem))
    }

    fn duration(&self, default: &str) -> Result<Duration, ConfigError> {
        self.optional_duration()
            .map(|d| d.unwrap_or_else(|| parse_duration(default).unwrap_or_default()))
    }

    fn optional_duration(&self) -> Result<Option<Duration>, ConfigError> {
        self.raw
            .map(|raw| parse_duration(raw).map_err(|problem| self.invalid(problem)))
            .transpose()
    }

    fn fraction(&self, default: Fraction) -> Result<Fraction, ConfigError> {
        self.raw
            .map(|raw| parse_fraction(raw).map_err(|problem| self.invalid(problem)))
            .transpose()
            .map(|f| f.unwrap_or(default))
    }

    fn count(&self) -> Result<Option<NonZeroU64>, ConfigError> {
        self.raw
            .map(|raw| parse_count(raw).map_err(|problem| self.invalid(problem)))
            .transpose()
    }

    fn boolean(&self) -> Result<bool, ConfigError> {
        self.raw
            .map(|raw| parse_bool(raw).map_err(|problem| self.invalid(problem)))
            .transpose()
            .map(|b| b.unwrap_or(false))
    }
}

impl Config {
    /// Parses a command line (`argv[0]` first) and the process environment:
    /// `VERSION`, `HOSTNAME` and the knobs' variables.
    pub fn parse_from<I, T>(argv: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Args::command()
            .try_get_matches_from(argv)
            .map_err(clap_error)?;
        let version = match std::env::var("VERSION") {
            Ok(version) => version,
            Err(std::env::VarError::NotPresent) => String::new(),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(ConfigError::InvalidEnvironment {
                    var: "VERSION",
                    problem: "not valid UTF-8".to_owned(),
                });
            }
        };
        let hostname = match std::env::var("HOSTNAME") {
            Ok(hostname) if !hostname.is_empty() => hostname,
            _ => system_hostname(),
        };
        Config::from_matches(&matches, version, hostname)
    }

    fn from_matches(
        matches: &ArgMatches,
        version: String,
        hostname: String,
    ) -> Result<Config, ConfigError> {
        let args = Args::from_arg_matches(matches).map_err(clap_error)?;
        if hyper::header::HeaderValue::from_str(&version).is_err() {
            return Err(ConfigError::InvalidEnvironment {
                var: "VERSION",
                problem: format!("{version:?} cannot be sent in an X-Version header"),
            });
        }
        // Defaults that clap shows in --help are parsed from the same strings.
        let faults = Faults {
            error_rate: Value::of(
                matches,
                Some(&args.error_rate),
                "error_rate",
                "--error-rate",
                Some("ERROR_RATE"),
            )
            .fraction(Fraction::ZERO)?,
            latency: Value::of(
                matches,
                Some(&args.latency),
                "latency",
                "--latency",
                Some("LATENCY"),
            )
            .duration("0s")?,
            latency_rate: Value::of(
                matches,
                Some(&args.latency_rate),
                "latency_rate",
                "--latency-rate",
                Some("LATENCY_RATE"),
            )
            .fraction(Fraction::ONE)?,
            startup_delay: Value::of(
                matches,
                Some(&args.startup_delay),
                "startup_delay",
                "--startup-delay",
                Some("STARTUP_DELAY"),
            )
            .duration("0s")?,
            crash_after_requests: Value::of(
                matches,
                args.crash_after_requests.as_ref(),
                "crash_after_requests",
                "--crash-after-requests",
                Some("CRASH_AFTER_REQUESTS"),
            )
            .count()?,
            crash_after: {
                let crash_after = Value::of(
                    matches,
                    args.crash_after.as_ref(),
                    "crash_after",
                    "--crash-after",
                    Some("CRASH_AFTER"),
                );
                match crash_after.optional_duration()? {
                    Some(d) if d.is_zero() => {
                        return Err(crash_after.invalid("must be longer than 0s".to_owned()));
                    }
                    other => other,
                }
            },
            never_ready: Value::of(
                matches,
                args.never_ready.as_ref(),
                "never_ready",
                "--never-ready",
                Some("NEVER_READY"),
            )
            .boolean()?,
        };
        Ok(Config {
            listen_address: Value::of(
                matches,
                Some(&args.listen_address),
                "listen_address",
                "--listen-address",
                None,
            )
            .address(":8080")?,
            probe_address: Value::of(
                matches,
                Some(&args.probe_address),
                "probe_address",
                "--probe-address",
                None,
            )
            .address(":8086")?,
            metrics_address: Value::of(
                matches,
                Some(&args.metrics_address),
                "metrics_address",
                "--metrics-address",
                None,
            )
            .address(":9101")?,
            version,
            hostname,
            drain_period: Value::of(
                matches,
                Some(&args.drain_period),
                "drain_period",
                "--drain-period",
                Some("DRAIN_PERIOD"),
            )
            .duration(DEFAULT_DRAIN_PERIOD)?,
            shutdown_timeout: Value::of(
                matches,
                Some(&args.shutdown_timeout),
                "shutdown_timeout",
                "--shutdown-timeout",
                Some("SHUTDOWN_TIMEOUT"),
            )
            .duration(DEFAULT_SHUTDOWN_TIMEOUT)?,
            faults,
        })
    }
}

/// Clap's own errors in one line: its first line is the message
/// (`error: unexpected argument '--x' found`); the rest are tips and usage.
fn clap_error(error: clap::Error) -> ConfigError {
    use clap::error::ErrorKind;
    let rendered = error.render().to_string();
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ConfigError::Help(rendered),
        _ => {
            let first = rendered.lines().next().unwrap_or_default();
            ConfigError::Usage(first.strip_prefix("error: ").unwrap_or(first).to_owned())
        }
    }
}

/// The system host name, or `localhost` if it cannot be read.
pub fn system_hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// `:PORT` (all interfaces), `IP:PORT`, `[IPV6]:PORT` or `localhost:PORT`.
pub fn parse_address(raw: &str) -> Result<SocketAddr, String> {
    let not_an_address = || format!("'{raw}' is not an address (expected :PORT or HOST:PORT)");
    let (host, port) = raw.rsplit_once(':').ok_or_else(not_an_address)?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("'{port}' in '{raw}' is not a port (0..=65535)"))?;
    let ip = match host {
        "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => {
            let bare = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host);
            let ip: IpAddr = bare
                .parse()
                .map_err(|_| format!("'{host}' in '{raw}' is not an IP address or localhost"))?;
            // An IPv6 host needs brackets, else its colons are ambiguous with the port's.
            if ip.is_ipv6() && bare == host {
                return Err(not_an_address());
            }
            ip
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// A duration with units, as humantime reads it: `600ms`, `3s`, `1m 30s`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw.trim())
        .map_err(|e| format!("'{raw}' is not a duration ({e}; e.g. 500ms, 3s)"))
}

/// A number in `0..=1`.
pub fn parse_fraction(raw: &str) -> Result<Fraction, String> {
    let value: f64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("'{raw}' is not a number"))?;
    Fraction::new(value).ok_or_else(|| format!("{raw} is outside 0..=1"))
}

/// A whole number of at least 1.
pub fn parse_count(raw: &str) -> Result<NonZeroU64, String> {
    let value: u64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("'{raw}' is not a whole number"))?;
    NonZeroU64::new(value).ok_or_else(|| "must be at least 1".to_owned())
}

/// `true`/`false` and the usual spellings (`1`/`0`, `yes`/`no`, `on`/`off`).
pub fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("'{raw}' is not true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let check = |raw: &str, expected: Result<&str, &str>| {
            let got = parse_address(raw).map(|a| a.to_string());
            assert_eq!(
                got.as_deref(),
                expected.map_err(str::to_owned).as_deref(),
                "{raw}"
            );
        };
        check(":8080", Ok("0.0.0.0:8080"));
        check("127.1.0.5:8080", Ok("127.1.0.5:8080"));
        check("localhost:9101", Ok("127.0.0.1:9101"));
        check("[::1]:8086", Ok("[::1]:8086"));
        check(":0", Ok("0.0.0.0:0"));
        check(
            "8080",
            Err("'8080' is not an address (expected :PORT or HOST:PORT)"),
        );
        check(
            ":99999",
            Err("'99999' in ':99999' is not a port (0..=65535)"),
        );
        check(":http", Err("'http' in ':http' is not a port (0..=65535)"));
        check(
            "example.com:80",
            Err("'example.com' in 'example.com:80' is not an IP address or localhost"),
        );
        check(
            "::1:80",
            Err("'::1:80' is not an address (expected :PORT or HOST:PORT)"),
        );
    }

    #[test]
    fn durations() {
        let check = |raw: &str, expected: Result<Duration, &str>| {
            assert_eq!(
                parse_duration(raw),
                expected.map_err(str::to_owned),
                "{raw}"
            );
        };
        check("3s", Ok(Duration::from_secs(3)));
        check("600ms", Ok(Duration::from_millis(600)));
        check("1m 30s", Ok(Duration::from_secs(90)));
        check("0s", Ok(Duration::ZERO));
        check(
            "3",
            Err(
                "'3' is not a duration (time unit needed, for example 3sec or 3ms; e.g. 500ms, 3s)",
            ),
        );
        check(
            "soon",
            Err("'soon' is not a duration (expected number at 0; e.g. 500ms, 3s)"),
        );
    }

    #[test]
    fn fractions() {
        let check = |raw: &str, expected: Result<f64, &str>| {
            let got = parse_fraction(raw).map(Fraction::get);
            assert_eq!(got, expected.map_err(str::to_owned), "{raw}");
        };
        check("0", Ok(0.0));
        check("0.1", Ok(0.1));
        check("1", Ok(1.0));
        check("1.5", Err("1.5 is outside 0..=1"));
        check("-0.1", Err("-0.1 is outside 0..=1"));
        check("NaN", Err("NaN is outside 0..=1"));
        check("ten", Err("'ten' is not a number"));
    }

    #[test]
    fn counts_and_booleans() {
        assert_eq!(parse_count("5"), Ok(NonZeroU64::new(5).unwrap()));
        assert_eq!(parse_count("0"), Err("must be at least 1".to_owned()));
        assert_eq!(
            parse_count("-1"),
            Err("'-1' is not a whole number".to_owned())
        );
        let check = |raw: &str, expected: Result<bool, &str>| {
            assert_eq!(parse_bool(raw), expected.map_err(str::to_owned), "{raw}");
        };
        check("true", Ok(true));
        check("TRUE", Ok(true));
        check("1", Ok(true));
        check("off", Ok(false));
        check("false", Ok(false));
        check("maybe", Err("'maybe' is not true or false"));
    }

    #[test]
    fn command_line_defaults() {
        let matches = Args::command().try_get_matches_from(["demo-app"]).unwrap();
        let config = Config::from_matches(&matches, "v1".into(), "pod-1".into()).unwrap();
        assert_eq!(
            config,
            Config {
                listen_address: "0.0.0.0:8080".parse().unwrap(),
                probe_address: "0.0.0.0:8086".parse().unwrap(),
                metrics_address: "0.0.0.0:9101".parse().unwrap(),
                version: "v1".into(),
                hostname: "pod-1".into(),
                drain_period: Duration::from_secs(3),
                shutdown_timeout: Duration::from_secs(10),
                faults: Faults::none(),
            }
        );
    }

    #[test]
    fn command_line_values() {
        let check = |argv: &[&str], expected: Result<Faults, &str>| {
            let args = std::iter::once("demo-app").chain(argv.iter().copied());
            let result = Args::command()
                .try_get_matches_from(args)
                .map_err(clap_error)
                .and_then(|m| Config::from_matches(&m, String::new(), "h".into()));
            let got = result.map(|c| c.faults).map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(str::to_owned), "{argv:?}");
        };
        let faults = |edit: fn(&mut Faults)| {
            let mut faults = Faults::none();
            edit(&mut faults);
            Ok(faults)
        };
        check(&[], faults(|_| {}));
        check(
            &["--error-rate", "0.25"],
            faults(|f| f.error_rate = Fraction::new(0.25).unwrap()),
        );
        check(
            &["--error-rate=1.5"],
            Err("--error-rate: 1.5 is outside 0..=1"),
        );
        check(
            &["--error-rate", "-1"],
            Err("--error-rate: -1 is outside 0..=1"),
        );
        check(
            &["--latency", "600ms", "--latency-rate", "0.5"],
            faults(|f| {
                f.latency = Duration::from_millis(600);
                f.latency_rate = Fraction::new(0.5).unwrap();
            }),
        );
        check(
            &["--startup-delay", "2s"],
            faults(|f| f.startup_delay = Duration::from_secs(2)),
        );
        check(
            &["--crash-after-requests", "3"],
            faults(|f| f.crash_after_requests = NonZeroU64::new(3)),
        );
        check(
            &["--crash-after-requests", "0"],
            Err("--crash-after-requests: must be at least 1"),
        );
        check(
            &["--crash-after", "1m"],
            faults(|f| f.crash_after = Some(Duration::from_secs(60))),
        );
        check(
            &["--crash-after", "0s"],
            Err("--crash-after: must be longer than 0s"),
        );
        check(&["--never-ready"], faults(|f| f.never_ready = true));
        check(&["--never-ready=false"], faults(|_| {}));
        check(
            &["--never-ready=perhaps"],
            Err("--never-ready: 'perhaps' is not true or false"),
        );
        check(&["--bogus"], Err("unexpected argument '--bogus' found"));
        check(
            &["--latency"],
            Err("a value is required for '--latency <DURATION>' but none was supplied"),
        );
    }

    #[test]
    fn help_names_every_knob_and_its_variable() {
        let help = match Args::command()
            .try_get_matches_from(["demo-app", "--help"])
            .map_err(clap_error)
        {
            Err(ConfigError::Help(text)) => text,
            other => panic!("expected help, got {other:?}"),
        };
        for name in [
            "--listen-address",
            "--probe-address",
            "--metrics-address",
            "--drain-period",
            "DRAIN_PERIOD",
            "--shutdown-timeout",
            "SHUTDOWN_TIMEOUT",
            "--error-rate",
            "ERROR_RATE",
            "--latency",
            "LATENCY",
            "--latency-rate",
            "LATENCY_RATE",
            "--startup-delay",
            "STARTUP_DELAY",
            "--crash-after-requests",
            "CRASH_AFTER_REQUESTS",
            "--crash-after",
            "CRASH_AFTER",
            "--never-ready",
            "NEVER_READY",
            "VERSION",
            "HOSTNAME",
        ] {
            assert!(
                help.contains(name),
                "--help does not mention {name}:\n{help}"
            );
        }
    }
}
