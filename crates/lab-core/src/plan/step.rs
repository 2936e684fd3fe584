//! One step of a plan, resolved, with its kubectl equivalent.

use super::words::{count, describe_object, selector_text, text};
/// Serde for durations as text; kept here under its old name for callers.
pub use crate::duration::as_text as duration_text;
use crate::object::{Object, ObjectKind, VERSION_LABEL};
use std::collections::BTreeMap;
use std::time::Duration;

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
