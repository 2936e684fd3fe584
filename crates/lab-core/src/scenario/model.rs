//! What a scenario folder is: its files as read, the checked [`Scenario`] they
//! describe, and the problems found in them. Below the parsers and checks,
//! which all build on it.

use super::yaml::Position;
use crate::analysis::{Gates, Outcome};
use crate::object::{Object, ObjectKind};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The name of the file that describes a scenario's steps.
pub const DEFINITION_FILE: &str = "scenario.toml";

/// One file of a scenario folder, already read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// File name inside the folder (`app-v1.yaml`).
    pub name: String,
    /// The file's contents.
    pub text: String,
}

/// A scenario folder's files, read by the caller.
///
/// Files other than `scenario.toml`, `*.yaml` and `*.yml` (a README, say) are
/// ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioSource {
    /// The folder as shown in messages (`lab/scenarios/canary`); its last component
    /// is the scenario's name.
    pub dir: String,
    /// The folder's files.
    pub files: Vec<SourceFile>,
}

impl ScenarioSource {
    /// The scenario's name: the last component of [`ScenarioSource::dir`].
    pub fn name(&self) -> &str {
        let dir = self.dir.trim_end_matches('/');
        dir.rsplit('/').next().unwrap_or(dir)
    }

    /// `dir/file`, as messages show it.
    pub(crate) fn path(&self, file: &str) -> String {
        let dir = self.dir.trim_end_matches('/');
        if dir.is_empty() {
            file.to_owned()
        } else {
            format!("{dir}/{file}")
        }
    }
}

/// One problem in a scenario folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file, as `dir/name`.
    pub file: String,
    /// Line, from 1, when the problem has a place in the file.
    pub line: Option<u32>,
    /// Column, from 1, when known.
    pub column: Option<u32>,
    /// What is wrong, lower case, no trailing period.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a scenario folder, sorted by file, then position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl ScenarioErrors {
    /// The problems, in order.
    pub fn errors(&self) -> &[ScenarioError] {
        &self.0
    }
}

/// The objects of one manifest file, in the order they appear.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// File name inside the scenario folder.
    pub file: String,
    /// Its objects, in document order.
    pub objects: Vec<Object>,
}

/// One step as `scenario.toml` states it; durations left out there are `None` and
/// come from the profile when the plan is built.
#[derive(Debug, Clone, PartialEq)]
pub enum ScenarioStep {
    /// `apply = "file.yaml"`: create or update every object of the file.
    Apply {
        /// The manifest file.
        file: String,
    },
    /// `wait = [...]`: until each Deployment is rolled out and all replicas are ready.
    Wait {
        /// The Deployments to wait for.
        deployments: Vec<String>,
        /// `timeout = "60s"`.
        timeout: Option<Duration>,
    },
    /// `observe = "phase"`: a named phase of traffic, measured.
    Observe {
        /// The phase's name.
        phase: String,
        /// `for = "30s"`.
        duration: Option<Duration>,
    },
    /// `scale = "deployment"` with `replicas = n`.
    Scale {
        /// The Deployment.
        deployment: String,
        /// The new replica count.
        replicas: i32,
    },
    /// `delete = "name"` with an optional `kind` (default `deployment`).
    Delete {
        /// The object's kind.
        kind: ObjectKind,
        /// The object's name.
        name: String,
    },
    /// `switch = "service"` with `selector = {...}`: replace a Service's selector.
    Switch {
        /// The Service.
        service: String,
        /// Its new selector.
        selector: BTreeMap<String, String>,
    },
    /// `analyze = "phase"`: an observed phase whose gates decide promote or roll back.
    Analyze {
        /// The phase's name.
        phase: String,
        /// `for = "2m"`.
        duration: Option<Duration>,
    },
}

/// Where the lab's traffic enters the cluster.
///
/// Serialized as one member, `"service": "my-app"` or `"gateway":
/// "my-gateway"`, as `scenario.toml` writes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// Through a Service: each new connection goes to a random ready pod.
    Service(String),
    /// Through a Gateway: its HTTPRoutes send each request to a backend by
    /// weight, header or path.
    Gateway(String),
}

impl Entry {
    /// The Service's or the Gateway's name.
    pub fn name(&self) -> &str {
        match self {
            Entry::Service(name) | Entry::Gateway(name) => name,
        }
    }

    /// The kind of object traffic enters through.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Entry::Service(_) => ObjectKind::Service,
            Entry::Gateway(_) => ObjectKind::Gateway,
        }
    }

    /// The Service, when traffic enters through one.
    pub fn service(&self) -> Option<&str> {
        match self {
            Entry::Service(name) => Some(name),
            Entry::Gateway(_) => None,
        }
    }

    /// The Gateway, when traffic enters through one.
    pub fn gateway(&self) -> Option<&str> {
        match self {
            Entry::Gateway(name) => Some(name),
            Entry::Service(_) => None,
        }
    }
}

impl fmt::Display for Entry {
    /// `service my-app`, `gateway my-gateway`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind().kubectl_name(), self.name())
    }
}

/// The class of requests that no `[[traffic]]` table claims.
pub const DEFAULT_CLASS: &str = "default";

/// A class of the lab's requests: a share of them sent with given headers
/// (`[[traffic]]` in `scenario.toml`), tallied on their own.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrafficClass {
    /// The class's name (`v2-header`).
    pub name: String,
    /// Its share of the requests, 0 to 1.
    pub share: f64,
    /// The headers its requests carry.
    pub headers: BTreeMap<String, String>,
}

/// Every class of a scenario's traffic with its share, the default class
/// (what the listed classes leave) last when it has a share.
pub fn traffic_classes(listed: &[TrafficClass]) -> Vec<TrafficClass> {
    let mut classes = listed.to_vec();
    let rest = 1.0 - listed.iter().map(|class| class.share).sum::<f64>();
    if rest > 1e-9 {
        classes.push(TrafficClass {
            name: DEFAULT_CLASS.to_owned(),
            share: rest,
            headers: BTreeMap::new(),
        });
    }
    classes
}

/// A scenario folder, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The folder's name (`canary`).
    pub name: String,
    /// The folder as given (`lab/scenarios/canary`).
    pub dir: String,
    /// One line saying what the scenario shows.
    pub description: String,
    /// Where traffic enters: a Service, or a Gateway.
    pub entry: Entry,
    /// Classes of requests sent with given headers (`[[traffic]]`); empty:
    /// every request is alike.
    pub traffic: Vec<TrafficClass>,
    /// The `version` label of the version running before the rollout.
    pub baseline: String,
    /// The `version` label of the version being rolled out.
    pub candidate: String,
    /// How the rollout should end; the run passes when it does.
    pub expected: Outcome,
    /// The analysis thresholds, defaults applied.
    pub gates: Gates,
    /// Every manifest file, sorted by name.
    pub manifests: Vec<Manifest>,
    /// The steps, in order; those after the `analyze` step run only on promotion.
    pub steps: Vec<ScenarioStep>,
    /// The steps run instead of the rest when the decision is to roll back.
    pub rollback: Vec<ScenarioStep>,
}

impl Scenario {
    /// The objects of a manifest file.
    pub fn manifest(&self, file: &str) -> Option<&Manifest> {
        self.manifests.iter().find(|manifest| manifest.file == file)
    }

    /// The index in [`Scenario::steps`] of the `analyze` step (a parsed scenario has
    /// exactly one).
    pub fn decision_index(&self) -> usize {
        self.steps
            .iter()
            .position(|step| matches!(step, ScenarioStep::Analyze { .. }))
            .unwrap_or(self.steps.len())
    }
}

/// Whether a file is a manifest (`*.yaml`, `*.yml`).
pub fn is_manifest_file(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

/// Problems collected while parsing, by file name inside the folder.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub(crate) found: Vec<(String, Option<Position>, String)>,
}

impl Problems {
    /// A problem at a place in a file.
    pub(crate) fn at(&mut self, file: &str, position: Position, message: String) {
        self.found.push((file.to_owned(), Some(position), message));
    }

    /// A problem with a whole file.
    pub(crate) fn file_level(&mut self, file: &str, message: String) {
        self.found.push((file.to_owned(), None, message));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    pub(crate) fn into_errors(self, source: &ScenarioSource) -> ScenarioErrors {
        let mut found = self.found;
        // Stable: problems at the same place keep the order they were found in.
        found.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        found.dedup();
        ScenarioErrors(
            found
                .into_iter()
                .map(|(file, position, message)| ScenarioError {
                    file: source.path(&file),
                    line: position.map(|p| p.line),
                    column: position.map(|p| p.column),
                    message,
                })
                .collect(),
        )
    }
}
