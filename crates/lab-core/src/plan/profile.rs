//! How fast a scenario runs ([`Profile`]) and what the command line overrides.

use super::error::PlanError;
/// Serde for durations as text; kept here under its old name for callers.
pub use crate::duration::as_text as duration_text;
use crate::limits;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The named profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProfileName {
    /// Short phases and fast traffic, for tests.
    Quick,
    /// The tutorial's pace: 2-minute phases, 10 requests/s, 5 s scrapes.
    Seed,
}

impl ProfileName {
    /// Every profile, in the order they are listed to users.
    pub const ALL: [ProfileName; 2] = [ProfileName::Quick, ProfileName::Seed];

    /// The profile's name (`quick`, `seed`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Quick => "quick",
            ProfileName::Seed => "seed",
        }
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProfileName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ProfileName::ALL
            .into_iter()
            .find(|name| name.as_str() == text)
            .ok_or_else(|| format!("unknown profile `{text}`: expected quick or seed"))
    }
}

/// How fast a scenario runs: phase lengths, timeouts, scraping and traffic.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    /// Which profile this is (overrides may have changed its values).
    pub name: ProfileName,
    /// Length of an `observe` phase.
    #[serde(with = "duration_text")]
    pub observe: Duration,
    /// Length of the `analyze` phase.
    #[serde(with = "duration_text")]
    pub analyze: Duration,
    /// How often the gates are checked during the `analyze` phase.
    #[serde(with = "duration_text")]
    pub analysis_interval: Duration,
    /// How long a `wait` step waits for its Deployments.
    #[serde(with = "duration_text")]
    pub wait_timeout: Duration,
    /// Prometheus's scrape interval.
    #[serde(with = "duration_text")]
    pub scrape_interval: Duration,
    /// Traffic sent through the Service, in requests per second.
    pub rate: f64,
    /// How long, on the local platform, a Service keeps sending new connections
    /// to a pod that left its endpoints (kube-proxy's sync delay).
    #[serde(with = "duration_text", default = "default_proxy_sync_delay")]
    pub proxy_sync_delay: Duration,
}

/// The proxy sync delay unless `--proxy-sync-delay` says otherwise: about what
/// an EndpointSlice change takes to reach kube-proxy on every node of a small,
/// quiet cluster.
pub const DEFAULT_PROXY_SYNC_DELAY: Duration = Duration::from_secs(1);

fn default_proxy_sync_delay() -> Duration {
    DEFAULT_PROXY_SYNC_DELAY
}

impl Profile {
    /// `quick`: for tests. Phases of a few seconds, 100 requests/s so each phase
    /// still has hundreds of samples, 1 s scrapes.
    pub const QUICK: Profile = Profile {
        name: ProfileName::Quick,
        observe: Duration::from_secs(6),
        analyze: Duration::from_secs(8),
        analysis_interval: Duration::from_secs(2),
        wait_timeout: Duration::from_secs(20),
        scrape_interval: Duration::from_secs(1),
        rate: 100.0,
        proxy_sync_delay: DEFAULT_PROXY_SYNC_DELAY,
    };

    /// `seed`: the tutorial's pace. 2-minute phases (its Grafana query uses a 2m
    /// rate window), 10 requests/s like its `while sleep 0.1; curl` loop, 5 s scrapes.
    pub const SEED: Profile = Profile {
        name: ProfileName::Seed,
        observe: Duration::from_secs(120),
        analyze: Duration::from_secs(120),
        analysis_interval: Duration::from_secs(30),
        wait_timeout: Duration::from_secs(300),
        scrape_interval: Duration::from_secs(5),
        rate: 10.0,
        proxy_sync_delay: DEFAULT_PROXY_SYNC_DELAY,
    };

    /// The profile with this name.
    pub fn named(name: ProfileName) -> Profile {
        match name {
            ProfileName::Quick => Profile::QUICK,
            ProfileName::Seed => Profile::SEED,
        }
    }
}

/// Values given on the command line; each wins over the profile and over the
/// scenario's own `for`/`timeout`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// Length of every `observe` phase.
    pub observe: Option<Duration>,
    /// Length of the `analyze` phase.
    pub analyze: Option<Duration>,
    /// How often the gates are checked.
    pub analysis_interval: Option<Duration>,
    /// Timeout of every `wait` step.
    pub wait_timeout: Option<Duration>,
    /// Prometheus's scrape interval.
    pub scrape_interval: Option<Duration>,
    /// Traffic in requests per second.
    pub rate: Option<f64>,
    /// The local platform's proxy sync delay (zero allowed).
    pub proxy_sync_delay: Option<Duration>,
}

pub(super) fn resolve_profile(
    name: ProfileName,
    overrides: &Overrides,
) -> Result<Profile, PlanError> {
    let mut profile = Profile::named(name);
    let durations = [
        ("--observe", overrides.observe, &mut profile.observe),
        ("--analyze", overrides.analyze, &mut profile.analyze),
        (
            "--interval",
            overrides.analysis_interval,
            &mut profile.analysis_interval,
        ),
        (
            "--wait-timeout",
            overrides.wait_timeout,
            &mut profile.wait_timeout,
        ),
        (
            "--scrape-interval",
            overrides.scrape_interval,
            &mut profile.scrape_interval,
        ),
    ];
    for (what, value, slot) in durations {
        if let Some(value) = value {
            if value.is_zero() {
                return Err(PlanError::ZeroDuration { what });
            }
            let within = match what {
                "--observe" | "--analyze" => limits::phase(value),
                "--interval" => limits::interval(value),
                "--wait-timeout" => limits::wait(value),
                _ => limits::scrape_interval(value),
            };
            within.map_err(|problem| PlanError::OverLimit { what, problem })?;
            *slot = value;
        }
    }
    if let Some(rate) = overrides.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(PlanError::Rate(rate));
        }
        limits::rate(rate).map_err(|problem| PlanError::OverLimit {
            what: "--rate",
            problem,
        })?;
        profile.rate = rate;
    }
    if let Some(delay) = overrides.proxy_sync_delay {
        limits::proxy_sync_delay(delay).map_err(|problem| PlanError::OverLimit {
            what: "--proxy-sync-delay",
            problem,
        })?;
        profile.proxy_sync_delay = delay;
    }
    Ok(profile)
}
