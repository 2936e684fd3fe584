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
use crate::object::{Object, ObjectKind, VERSION_LABEL};
use crate::scenario::model::{Entry, Manifest, Scenario, ScenarioStep, TrafficClass};
use std::collections::BTreeMap;
use std::fmt;

mod error;
mod placement;
mod profile;
mod sample;
mod step;
mod words;

pub use error::PlanError;
use profile::resolve_profile;
pub use profile::{DEFAULT_PROXY_SYNC_DELAY, Overrides, Profile, ProfileName};
pub use step::{OnTimeout, Step};
use words::{count, number, text};

pub use placement::{CLUSTER_ENDPOINT_SETTLE, CLUSTER_MIN_WAIT_TIMEOUT, Placement};
pub use sample::{Reach, SampleEstimate, ShortOf, Shortfall};

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
