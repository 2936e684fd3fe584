//! A scenario made concrete: every step with its durations resolved from a profile,
//! ready for a runner to execute and for people to read with its kubectl equivalent.
//!
//! Durations come from three places. The most specific wins:
//! 1. a command-line override ([`Overrides`]), for every step it applies to;
//! 2. the step's own `for` or `timeout` in `scenario.toml`;
//! 3. the [`Profile`] (`quick` for tests, `seed` for the tutorial's pace).

use crate::analysis::{Gates, Outcome};
/// Serde for durations as text; kept here under its old name for callers.
pub use crate::duration::as_text as duration_text;
use crate::limits;
use crate::object::{Object, ObjectKind, VERSION_LABEL};
use crate::scenario::model::{Entry, Manifest, Scenario, ScenarioStep, TrafficClass};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

mod placement;
mod sample;

pub use placement::{CLUSTER_ENDPOINT_SETTLE, CLUSTER_MIN_WAIT_TIMEOUT, Placement};
pub use sample::SampleEstimate;

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

/// Why a plan could not be built from a valid scenario.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A duration override is zero.
    #[error("{what} must be longer than zero")]
    ZeroDuration {
        /// Which value (`--observe`, …).
        what: &'static str,
    },
    /// An override is beyond the lab's limits (see [`crate::limits`]).
    #[error("{what}: {problem}")]
    OverLimit {
        /// Which value (`--observe`, …).
        what: &'static str,
        /// Why it is refused.
        problem: String,
    },
    /// The traffic rate is not a positive number.
    #[error("the traffic rate must be a positive number of requests per second, not {0}")]
    Rate(f64),
    /// The analysis interval does not fit in the analysis phase.
    #[error(
        "the analysis interval ({interval}) is longer than analyze phase `{phase}` ({duration})"
    )]
    IntervalTooLong {
        /// The phase.
        phase: String,
        /// The interval, as text.
        interval: String,
        /// The phase's length, as text.
        duration: String,
    },
}

/// What a `wait` step's timeout means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnTimeout {
    /// The candidate missed its progress deadline: roll back (the candidate was
    /// touched and the decision is not made yet).
    RollBack,
    /// The run fails: the lab itself did not come up as it should.
    Fail,
}

/// One step of a plan, with everything resolved.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Step {
    /// Create or update every object of a manifest file.
    Apply {
        /// The file, inside the scenario folder.
        file: String,
        /// Its objects, in document order.
        objects: Vec<Object>,
    },
    /// Set a Deployment's replica count.
    Scale {
        /// The Deployment.
        deployment: String,
        /// The new count.
        replicas: i32,
    },
    /// Delete an object.
    Delete {
        /// Its kind.
        kind: ObjectKind,
        /// Its name.
        name: String,
    },
    /// Replace a Service's selector.
    SwitchSelector {
        /// The Service.
        service: String,
        /// The new selector.
        selector: BTreeMap<String, String>,
    },
    /// Wait until each Deployment is rolled out with all replicas ready.
    WaitReady {
        /// The Deployments.
        deployments: Vec<String>,
        /// How long to wait.
        #[serde(with = "duration_text")]
        timeout: Duration,
        /// What a timeout means.
        on_timeout: OnTimeout,
    },
    /// A named phase of traffic, measured.
    Observe {
        /// The phase's name.
        phase: String,
        /// How long it lasts.
        #[serde(with = "duration_text")]
        duration: Duration,
        /// The labels that select the app's pods, whatever their version.
        pods: BTreeMap<String, String>,
    },
    /// The decision point: an observed phase whose gates are checked every
    /// `interval`; then promote (the steps after it) or roll back (the rollback steps).
    Analyze {
        /// The phase's name.
        phase: String,
        /// How long it lasts at most.
        #[serde(with = "duration_text")]
        duration: Duration,
        /// How often the gates are checked.
        #[serde(with = "duration_text")]
        interval: Duration,
        /// The labels that select the app's pods, whatever their version.
        pods: BTreeMap<String, String>,
    },
}

impl Step {
    /// What the step does, in one line for people.
    pub fn describe(&self) -> String {
        match self {
            Step::Apply { file, objects } => {
                let objects: Vec<String> = objects.iter().map(describe_object).collect();
                format!("apply {file}: {}", objects.join(", "))
            }
            Step::Scale {
                deployment,
                replicas,
            } => {
                format!(
                    "scale deployment {deployment} to {}",
                    count(*replicas, "replica")
                )
            }
            Step::Delete { kind, name } => format!("delete {} {name}", kind.kubectl_name()),
            Step::SwitchSelector { service, selector } => {
                format!(
                    "send service {service}'s traffic to the pods labelled {}",
                    selector_text(selector)
                )
            }
            Step::WaitReady {
                deployments,
                timeout,
                on_timeout,
            } => {
                let subject = match deployments.as_slice() {
                    [one] => format!("deployment {one} is"),
                    many => format!("deployments {} are", many.join(", ")),
                };
                let otherwise = match on_timeout {
                    OnTimeout::RollBack => {
                        "then roll back: the candidate missed its progress deadline"
                    }
                    OnTimeout::Fail => "then the run fails",
                };
                format!(
                    "wait until {subject} rolled out and ready (at most {}, {otherwise})",
                    text(*timeout)
                )
            }
            Step::Observe {
                phase, duration, ..
            } => {
                format!("observe phase `{phase}` for {}", text(*duration))
            }
            Step::Analyze {
                phase,
                duration,
                interval,
                ..
            } => format!(
                "analyze phase `{phase}` for {}, checking the gates every {}: promote or roll back",
                text(*duration),
                text(*interval)
            ),
        }
    }

    /// The `kubectl` command a person would type for this step, run from the
    /// scenario folder (in the current namespace).
    pub fn kubectl(&self) -> String {
        self.kubectl_in(None)
    }

    /// The `kubectl` command for this step in `namespace` (every command of the
    /// line names it), or in the current namespace when `None`.
    pub fn kubectl_in(&self, namespace: Option<&str>) -> String {
        let kubectl = match namespace {
            Some(namespace) => format!("kubectl -n {namespace}"),
            None => "kubectl".to_string(),
        };
        match self {
            Step::Apply { file, .. } => format!("{kubectl} apply -f {file}"),
            Step::Scale {
                deployment,
                replicas,
            } => {
                format!("{kubectl} scale --replicas={replicas} deployment/{deployment}")
            }
            Step::Delete { kind, name } => {
                format!("{kubectl} delete {} {name}", kind.kubectl_name())
            }
            Step::SwitchSelector { service, selector } => {
                let patch = serde_json::json!({ "spec": { "selector": selector } });
                format!("{kubectl} patch service {service} -p '{patch}'")
            }
            Step::WaitReady {
                deployments,
                timeout,
                ..
            } => deployments
                .iter()
                .map(|deployment| {
                    format!(
                        "{kubectl} rollout status deployment/{deployment} --timeout={}s",
                        timeout.as_secs_f64().ceil()
                    )
                })
                .collect::<Vec<_>>()
                .join(" && "),
            Step::Observe { pods, .. } | Step::Analyze { pods, .. } => {
                format!(
                    "{kubectl} get pods -l {} -L {VERSION_LABEL}",
                    selector_text(pods)
                )
            }
        }
    }
}

/// A scenario with its durations resolved: what a runner executes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    /// The scenario's name (`canary`).
    pub scenario: String,
    /// The scenario folder, where the kubectl commands run.
    pub dir: String,
    /// One line saying what the scenario shows.
    pub description: String,
    /// Where traffic enters: `"service": "my-app"` or `"gateway": "my-gateway"`.
    #[serde(flatten)]
    pub entry: Entry,
    /// Classes of requests sent with given headers; empty: all alike.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traffic: Vec<TrafficClass>,
    /// The version running before the rollout.
    pub baseline: String,
    /// The version being rolled out.
    pub candidate: String,
    /// How the rollout should end.
    pub expected: Outcome,
    /// The analysis thresholds.
    pub gates: Gates,
    /// The profile, with command-line overrides applied.
    pub profile: Profile,
    /// Every manifest file's objects, by file name.
    pub manifests: Vec<Manifest>,
    /// The steps; those after the `analyze` step run only on promotion.
    pub steps: Vec<Step>,
    /// The steps run instead of those after `analyze` when the decision is to roll back.
    pub rollback: Vec<Step>,
    /// Where the plan runs, as far as its waits, windows and kubectl lines depend on it.
    #[serde(
        default = "Placement::local",
        skip_serializing_if = "Placement::is_local"
    )]
    pub placement: Placement,
}

impl Plan {
    /// Resolve a scenario's durations from a profile and overrides, for the
    /// local platform.
    pub fn build(
        scenario: &Scenario,
        profile: ProfileName,
        overrides: &Overrides,
    ) -> Result<Plan, PlanError> {
        Plan::build_on(scenario, profile, overrides, Placement::local())
    }

    /// Resolve a scenario's durations from a profile and overrides, for the
    /// platform `placement` describes: on a cluster, waits last at least its
    /// minimum unless `--wait-timeout` says otherwise.
    pub fn build_on(
        scenario: &Scenario,
        profile: ProfileName,
        overrides: &Overrides,
        placement: Placement,
    ) -> Result<Plan, PlanError> {
        let mut profile = resolve_profile(profile, overrides)?;
        if overrides.wait_timeout.is_none() {
            profile.wait_timeout = profile.wait_timeout.max(placement.min_wait_timeout);
        }
        let pods = pod_selector(scenario);
        let decision = scenario.decision_index();
        let touched = candidate_touched_at(scenario);
        let resolve = |step: &ScenarioStep, on_timeout: OnTimeout| -> Result<Step, PlanError> {
            Ok(match step {
                ScenarioStep::Apply { file } => Step::Apply {
                    file: file.clone(),
                    objects: scenario
                        .manifest(file)
                        .map(|manifest| manifest.objects.clone())
                        .unwrap_or_default(),
                },
                ScenarioStep::Scale {
                    deployment,
                    replicas,
                } => Step::Scale {
                    deployment: deployment.clone(),
                    replicas: *replicas,
                },
                ScenarioStep::Delete { kind, name } => Step::Delete {
                    kind: *kind,
                    name: name.clone(),
                },
                ScenarioStep::Switch { service, selector } => Step::SwitchSelector {
                    service: service.clone(),
                    selector: selector.clone(),
                },
                ScenarioStep::Wait {
                    deployments,
                    timeout,
                } => Step::WaitReady {
                    deployments: deployments.clone(),
                    timeout: overrides.wait_timeout.unwrap_or_else(|| {
                        timeout
                            .unwrap_or(profile.wait_timeout)
                            .max(placement.min_wait_timeout)
                    }),
                    on_timeout,
                },
                ScenarioStep::Observe { phase, duration } => Step::Observe {
                    phase: phase.clone(),
                    duration: overrides.observe.or(*duration).unwrap_or(profile.observe),
                    pods: pods.clone(),
                },
                ScenarioStep::Analyze { phase, duration } => {
                    let duration = overrides.analyze.or(*duration).unwrap_or(profile.analyze);
                    let interval = profile.analysis_interval;
                    if interval > duration {
                        return Err(PlanError::IntervalTooLong {
                            phase: phase.clone(),
                            interval: text(interval),
                            duration: text(duration),
                        });
                    }
                    Step::Analyze {
                        phase: phase.clone(),
                        duration,
                        interval,
                        pods: pods.clone(),
                    }
                }
            })
        };
        let steps = scenario
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                // A wait between the candidate's first change and the decision is
                // the candidate's progress deadline.
                let deadline = touched.is_some_and(|touched| touched < index) && index < decision;
                resolve(
                    step,
                    if deadline {
                        OnTimeout::RollBack
                    } else {
                        OnTimeout::Fail
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rollback = scenario
            .rollback
            .iter()
            .map(|step| resolve(step, OnTimeout::Fail))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Plan {
            scenario: scenario.name.clone(),
            dir: scenario.dir.clone(),
            description: scenario.description.clone(),
            entry: scenario.entry.clone(),
            traffic: scenario.traffic.clone(),
            baseline: scenario.baseline.clone(),
            candidate: scenario.candidate.clone(),
            expected: scenario.expected,
            gates: scenario.gates.clone(),
            profile,
            manifests: scenario.manifests.clone(),
            steps,
            rollback,
            placement,
        })
    }

    /// The `kubectl` command a person would type for a step of this plan, run
    /// from the scenario folder next to the lab (with the lab's namespace on a
    /// cluster).
    pub fn kubectl(&self, step: &Step) -> String {
        step.kubectl_in(self.placement.namespace.as_deref())
    }

    /// The index in [`Plan::steps`] of the `analyze` step.
    pub fn decision_index(&self) -> usize {
        self.steps
            .iter()
            .position(|step| matches!(step, Step::Analyze { .. }))
            .unwrap_or(self.steps.len())
    }

    /// The steps run only when the candidate is promoted.
    pub fn promotion(&self) -> &[Step] {
        self.steps
            .get(self.decision_index() + 1..)
            .unwrap_or_default()
    }

    /// The objects of a manifest file.
    pub fn manifest(&self, file: &str) -> Option<&Manifest> {
        self.manifests.iter().find(|manifest| manifest.file == file)
    }
}

impl fmt::Display for Plan {
    /// The plan for people: a header, then one line per step with its kubectl
    /// equivalent and what it does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let profile = &self.profile;
        let gates = &self.gates;
        writeln!(f, "scenario   {}: {}", self.scenario, self.description)?;
        writeln!(
            f,
            "folder     {} (the kubectl commands run from here)",
            self.dir
        )?;
        match &self.entry {
            Entry::Service(service) => writeln!(f, "service    {service}")?,
            Entry::Gateway(gateway) => writeln!(
                f,
                "gateway    {gateway} (its HTTPRoutes send each request to a backend)"
            )?,
        }
        if !self.traffic.is_empty() {
            let classes: Vec<String> = crate::scenario::traffic_classes(&self.traffic)
                .iter()
                .map(|class| {
                    let headers: Vec<String> = class
                        .headers
                        .iter()
                        .map(|(name, value)| format!("{name}: {value}"))
                        .collect();
                    if headers.is_empty() {
                        format!("{} {}%", class.name, number(class.share * 100.0))
                    } else {
                        format!(
                            "{} {}% ({})",
                            class.name,
                            number(class.share * 100.0),
                            headers.join(", ")
                        )
                    }
                })
                .collect();
            writeln!(f, "traffic    {}", classes.join(", "))?;
        }
        writeln!(
            f,
            "versions   {} (baseline) -> {} (candidate)",
            self.baseline, self.candidate
        )?;
        writeln!(f, "expected   {}", self.expected)?;
        writeln!(
            f,
            "profile    {}: observe {}, analyze {} checked every {}, wait timeout {}, scrape every {}, {} requests/s",
            profile.name,
            text(profile.observe),
            text(profile.analyze),
            text(profile.analysis_interval),
            text(profile.wait_timeout),
            text(profile.scrape_interval),
            number(profile.rate)
        )?;
        // A cluster's kube-proxy has its own delay; the lab sets only the local one.
        if self.placement.is_local() {
            writeln!(
                f,
                "proxy      local platform: a pod that leaves the endpoints still gets new connections for {} (kube-proxy's sync delay)",
                text(profile.proxy_sync_delay)
            )?;
        }
        writeln!(
            f,
            "gates      success rate >= {}%, p99 <= {}ms and <= {} x the baseline's (or + {}ms), at least {} requests per version, at most {}",
            number(gates.min_success_rate * 100.0),
            number(gates.max_p99_ms),
            number(gates.max_p99_ratio),
            number(gates.p99_ratio_allowance_ms),
            gates.min_samples,
            count(
                i32::try_from(gates.max_restarts).unwrap_or(i32::MAX),
                "restart"
            )
        )?;
        if !self.placement.is_local() {
            writeln!(f, "platform   {}", self.placement.describe())?;
        }
        let numbered: Vec<(String, &Step)> = self
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| (format!("{}.", index + 1), step))
            .chain(
                self.rollback
                    .iter()
                    .enumerate()
                    .map(|(index, step)| (format!("R{}.", index + 1), step)),
            )
            .collect();
        let width = numbered
            .iter()
            .map(|(_, step)| self.kubectl(step).chars().count())
            .filter(|width| *width <= 60)
            .max()
            .unwrap_or(0);
        let line = |f: &mut fmt::Formatter<'_>, (number, step): &(String, &Step)| {
            writeln!(
                f,
                "{number:>4} {:<width$}  # {}",
                self.kubectl(step),
                step.describe()
            )
        };
        if let Some(sample) = self.sample_estimate() {
            writeln!(f, "sample     {sample}")?;
            if let Some(warning) = sample.warning() {
                writeln!(f, "warning    {warning}")?;
            }
        }
        let decision = self.decision_index();
        writeln!(f)?;
        writeln!(f, "steps")?;
        for entry in &numbered[..decision.min(self.steps.len())] {
            line(f, entry)?;
        }
        if decision < self.steps.len() {
            line(f, &numbered[decision])?;
            let promotion = self.steps.len() - decision - 1;
            if promotion > 0 {
                writeln!(f, "     on promote:")?;
                for entry in &numbered[decision + 1..self.steps.len()] {
                    line(f, entry)?;
                }
            }
        }
        writeln!(f)?;
        let decider = decision + 1;
        match self.steps.len() - decider.min(self.steps.len()) {
            0 => writeln!(f, "rollback (when step {decider} decides to roll back)")?,
            1 => writeln!(
                f,
                "rollback (when step {decider} decides to roll back, instead of step {})",
                decider + 1
            )?,
            _ => writeln!(
                f,
                "rollback (when step {decider} decides to roll back, instead of steps {}-{})",
                decider + 1,
                self.steps.len()
            )?,
        }
        for entry in &numbered[self.steps.len()..] {
            line(f, entry)?;
        }
        Ok(())
    }
}

fn resolve_profile(name: ProfileName, overrides: &Overrides) -> Result<Profile, PlanError> {
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

/// The labels that select the app's pods whatever their version: the scenario
/// Service's selector without its `version` label; behind a Gateway, the
/// labels the selectors of the Services its routes name have in common.
fn pod_selector(scenario: &Scenario) -> BTreeMap<String, String> {
    let objects = || {
        scenario
            .manifests
            .iter()
            .flat_map(|manifest| &manifest.objects)
    };
    let selector = match &scenario.entry {
        Entry::Service(service) => objects()
            .filter(|object| object.name() == service)
            .find_map(Object::service_selector)
            .cloned()
            .unwrap_or_default(),
        Entry::Gateway(_) => {
            let routed: Vec<&str> = objects()
                .filter_map(Object::as_route)
                .flat_map(|route| route.services())
                .map(|(service, _)| service)
                .collect();
            let mut common: Option<BTreeMap<String, String>> = None;
            for selector in objects()
                .filter(|o| o.kind() == ObjectKind::Service && routed.contains(&o.name()))
                .filter_map(Object::service_selector)
            {
                common = Some(match common {
                    None => selector.clone(),
                    Some(common) => common
                        .into_iter()
                        .filter(|(key, value)| selector.get(key) == Some(value))
                        .collect(),
                });
            }
            common.unwrap_or_default()
        }
    };
    let without_version: BTreeMap<String, String> = selector
        .iter()
        .filter(|(key, _)| key.as_str() != VERSION_LABEL)
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if without_version.is_empty() {
        selector
    } else {
        without_version
    }
}

/// The index of the first step that changes the candidate: applies a Deployment
/// of the candidate version, scales one, or points the Service at it.
fn candidate_touched_at(scenario: &Scenario) -> Option<usize> {
    let mut versions: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        match step {
            ScenarioStep::Apply { file } => {
                let objects = scenario
                    .manifest(file)
                    .map(|m| m.objects.as_slice())
                    .unwrap_or_default();
                let mut touches = false;
                for object in objects
                    .iter()
                    .filter(|object| object.kind() == ObjectKind::Deployment)
                {
                    versions.insert(object.name(), object.version());
                    touches |= object.version() == Some(scenario.candidate.as_str());
                }
                if touches {
                    return Some(index);
                }
            }
            ScenarioStep::Scale { deployment, .. } => {
                if versions.get(deployment.as_str()).copied().flatten()
                    == Some(scenario.candidate.as_str())
                {
                    return Some(index);
                }
            }
            ScenarioStep::Switch { selector, .. } => {
                if selector.get(VERSION_LABEL) == Some(&scenario.candidate) {
                    return Some(index);
                }
            }
            ScenarioStep::Delete { .. }
            | ScenarioStep::Wait { .. }
            | ScenarioStep::Observe { .. }
            | ScenarioStep::Analyze { .. } => {}
        }
    }
    None
}

fn describe_object(object: &Object) -> String {
    let kind = object.kind().kubectl_name();
    if let Some(route) = object.as_route() {
        return format!("{kind} {} ({})", object.name(), describe_route(route));
    }
    if let Some(gateway) = object.as_gateway() {
        let listeners: Vec<String> = gateway
            .spec
            .listeners
            .iter()
            .map(|l| format!("{} :{}", l.protocol, l.port))
            .collect();
        return format!("{kind} {} ({})", object.name(), listeners.join(", "));
    }
    match (object.replicas(), object.version()) {
        (Some(replicas), Some(version)) => {
            format!("{kind} {} ({} x {version})", object.name(), replicas)
        }
        _ => format!("{kind} {}", object.name()),
    }
}

/// A route's rules in one line: `my-app-v1 90, my-app-v2 10`, `X-API-Version:
/// v2.0.0 → my-app-v2; else my-app-v1`, `my-app-v1, mirror 25% → my-app-v2`.
fn describe_route(route: &crate::gateway::HttpRoute) -> String {
    let conditional = route.rules().iter().any(|rule| rule.matches.is_some());
    let rules: Vec<String> = route
        .rules()
        .iter()
        .map(|rule| {
            let backends = rule.backend_refs.as_deref().unwrap_or_default();
            let weighted = backends.len() > 1;
            let mut parts: Vec<String> = backends
                .iter()
                .map(|b| match (weighted, b.weight) {
                    (true, weight) => format!("{} {}", b.name, weight.unwrap_or(1)),
                    (false, Some(0)) => format!("{} 0", b.name),
                    (false, _) => b.name.clone(),
                })
                .collect();
            if parts.is_empty() {
                parts.push("no backend".to_owned());
            }
            let mut text = parts.join(", ");
            for mirror in rule.mirrors() {
                text.push_str(&format!(
                    ", mirror {}% → {}",
                    number(mirror.share() * 100.0),
                    mirror.backend_ref.name
                ));
            }
            let conditions: Vec<String> = rule
                .matches
                .iter()
                .flatten()
                .map(describe_match)
                .filter(|c| !c.is_empty())
                .collect();
            if conditions.is_empty() && conditional {
                format!("else {text}")
            } else if conditions.is_empty() {
                text
            } else {
                format!("{} → {text}", conditions.join(" or "))
            }
        })
        .collect();
    if rules.is_empty() {
        "no rules".to_owned()
    } else {
        rules.join("; ")
    }
}

/// A match's conditions: `X-API-Version: v2.0.0`, `path /api`, `GET`.
fn describe_match(condition: &crate::gateway::HttpRouteMatch) -> String {
    let mut parts = Vec::new();
    if let Some(method) = condition.method {
        parts.push(method.as_str().to_owned());
    }
    if let Some(path) = &condition.path {
        let value = path.value.as_deref().unwrap_or("/");
        match path.type_ {
            Some(crate::gateway::PathMatchType::Exact) => parts.push(format!("path = {value}")),
            _ if value != "/" => parts.push(format!("path {value}")),
            _ => {}
        }
    }
    for header in condition.headers.iter().flatten() {
        parts.push(format!("{}: {}", header.name, header.value));
    }
    for param in condition.query_params.iter().flatten() {
        parts.push(format!("?{}={}", param.name, param.value));
    }
    parts.join(", ")
}

/// `app=my-app,version=v2.0.0`, as `kubectl -l` takes it.
fn selector_text(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn count(n: i32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A duration as people write it: `6s`, `500ms`, `2m`.
fn text(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// A number without needless decimals: `99`, `99.5`, `2`.
fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_drop_needless_decimals() {
        let check = |value: f64, expected: &str| assert_eq!(number(value), expected);
        check(0.99 * 100.0, "99");
        check(99.5, "99.5");
        check(2.0, "2");
        check(0.25, "0.25");
        check(100.0, "100");
    }

    #[test]
    fn profiles_are_named() {
        assert_eq!("quick".parse(), Ok(ProfileName::Quick));
        assert_eq!("seed".parse(), Ok(ProfileName::Seed));
        assert_eq!(
            "slow".parse::<ProfileName>(),
            Err("unknown profile `slow`: expected quick or seed".to_owned())
        );
    }

    #[test]
    fn overrides_replace_profile_values() {
        let overrides = Overrides {
            observe: Some(Duration::from_secs(1)),
            rate: Some(5.5),
            ..Overrides::default()
        };
        let profile = resolve_profile(ProfileName::Seed, &overrides).unwrap();
        assert_eq!(profile.observe, Duration::from_secs(1));
        assert_eq!(profile.rate, 5.5);
        assert_eq!(profile.analyze, Profile::SEED.analyze);
        let zero = Overrides {
            wait_timeout: Some(Duration::ZERO),
            ..Overrides::default()
        };
        assert_eq!(
            resolve_profile(ProfileName::Quick, &zero),
            Err(PlanError::ZeroDuration {
                what: "--wait-timeout"
            })
        );
        let rate = Overrides {
            rate: Some(0.0),
            ..Overrides::default()
        };
        assert_eq!(
            resolve_profile(ProfileName::Quick, &rate),
            Err(PlanError::Rate(0.0))
        );
        let long = Overrides {
            observe: Some(Duration::from_secs(7200)),
            ..Overrides::default()
        };
        assert_eq!(
            resolve_profile(ProfileName::Quick, &long)
                .unwrap_err()
                .to_string(),
            "--observe: 2h is longer than the lab's longest phase (1h)"
        );
        let instant = Overrides {
            proxy_sync_delay: Some(Duration::ZERO),
            ..Overrides::default()
        };
        let profile = resolve_profile(ProfileName::Quick, &instant).unwrap();
        assert_eq!(profile.proxy_sync_delay, Duration::ZERO);
        let slow = Overrides {
            proxy_sync_delay: Some(Duration::from_secs(31)),
            ..Overrides::default()
        };
        assert_eq!(
            resolve_profile(ProfileName::Quick, &slow)
                .unwrap_err()
                .to_string(),
            "--proxy-sync-delay: 31s is longer than the lab's longest proxy sync delay (30s)"
        );
    }
}
