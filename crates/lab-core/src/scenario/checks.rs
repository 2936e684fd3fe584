//! Checks across files: steps against manifests, versions against templates, and a
//! walk through the steps that follows which objects exist at each point.

use super::definition::{Definition, StepEntry};
use super::manifest::{ParsedFile, ParsedObject};
use super::model::Entry;
use super::yaml::Position;
use super::{DEFINITION_FILE, Manifest, Problems, Scenario, ScenarioSource, ScenarioStep};
use crate::gateway::HttpRoute;
use crate::object::{Object, ObjectKind, format_labels, format_selector, labels_match};
use crate::replay::{self, Applied, Change, Cluster};
use crate::report::Section;
use std::collections::{BTreeMap, BTreeSet};

/// Check the definition against the manifests and build the scenario, or `None`
/// when something needed is missing (the problems are reported).
pub(crate) fn check(
    source: &ScenarioSource,
    definition: Definition,
    files: &[ParsedFile],
    problems: &mut Problems,
) -> Option<Scenario> {
    let mut checker = Checker {
        files,
        problems,
        incomplete: files.iter().any(|file| file.incomplete),
        steps_complete: !definition.steps_unread
            && definition
                .steps
                .iter()
                .chain(&definition.rollback)
                .all(|entry| entry.step.is_some()),
    };
    checker.across_files();
    checker.routes();
    checker.versions(&definition);
    checker.entry(&definition);
    checker.decision(&definition);
    checker.phases(&definition);
    checker.walk(&definition);
    checker.unused_files(&definition);

    let manifests = files
        .iter()
        .map(|file| Manifest {
            file: file.name.clone(),
            objects: file
                .objects
                .iter()
                .map(|parsed| parsed.object.clone())
                .collect(),
        })
        .collect();
    let steps: Option<Vec<ScenarioStep>> = definition
        .steps
        .into_iter()
        .map(|entry| entry.step)
        .collect();
    let rollback: Option<Vec<ScenarioStep>> = definition
        .rollback
        .into_iter()
        .map(|entry| entry.step)
        .collect();
    let entry = match (definition.service, definition.gateway) {
        (Some(service), None) => Entry::Service(service.value),
        (None, Some(gateway)) => Entry::Gateway(gateway.value),
        _ => return None,
    };
    Some(Scenario {
        name: source.name().to_owned(),
        dir: source.dir.clone(),
        description: definition.description?.value,
        entry,
        traffic: definition
            .traffic
            .into_iter()
            .map(|class| class.value)
            .collect(),
        baseline: definition.baseline?.value,
        candidate: definition.candidate?.value,
        expected: definition.expected?.value,
        gates: definition.gates,
        manifests,
        steps: steps?,
        rollback: rollback?,
    })
}

struct Checker<'a> {
    files: &'a [ParsedFile],
    problems: &'a mut Problems,
    /// Some manifest could not be read to the end, so "not defined" is unknowable.
    incomplete: bool,
    /// Every step is well formed; otherwise what exists at a given step is
    /// unknowable, and order problems are not reported.
    steps_complete: bool,
}

impl Checker<'_> {
    fn definition_problem(&mut self, at: Position, message: String) {
        self.problems.at(DEFINITION_FILE, at, message);
    }

    fn objects(&self) -> impl Iterator<Item = (&ParsedFile, &ParsedObject)> {
        self.files
            .iter()
            .flat_map(|file| file.objects.iter().map(move |object| (file, object)))
    }

    fn is_declared(&self, kind: ObjectKind, name: &str) -> bool {
        self.files
            .iter()
            .flat_map(|file| &file.declared)
            .any(|(k, n, _)| *k == kind && n == name)
    }

    fn pod_templates(&self) -> impl Iterator<Item = &BTreeMap<String, String>> {
        self.objects()
            .filter_map(|(_, parsed)| parsed.object.pod_labels())
    }

    /// A Deployment defined in two files is one object updated by the second
    /// apply; its selector cannot change between them. A Service must select some
    /// pod template of the scenario.
    fn across_files(&mut self) {
        let mut first_selector: BTreeMap<&str, (&str, String)> = BTreeMap::new();
        let mut found = Vec::new();
        for (file, parsed) in self.objects() {
            if let Object::Deployment(deployment) = &parsed.object {
                let Some(spec) = &deployment.spec else {
                    continue;
                };
                let selector = format_selector(&spec.selector);
                match first_selector.get(parsed.object.name()) {
                    Some((first_file, first)) if *first_file != file.name && *first != selector => {
                        let message = format!(
                            "deployment {}: selector {selector} differs from the one in {first_file} ({first}): a Deployment's selector cannot change",
                            parsed.object.name()
                        );
                        found.push((
                            file.name.clone(),
                            parsed.document.position("/spec/selector"),
                            message,
                        ));
                    }
                    Some(_) => {}
                    None => {
                        first_selector.insert(parsed.object.name(), (&file.name, selector));
                    }
                }
            }
            if let Some(selector) = parsed.object.service_selector()
                && !selector.is_empty()
                && !self
                    .pod_templates()
                    .any(|labels| labels_match(selector, labels))
            {
                let message = format!(
                    "service {}: selector {} matches no pod template in this scenario",
                    parsed.object.name(),
                    format_labels(selector)
                );
                found.push((
                    file.name.clone(),
                    parsed.document.position("/spec/selector"),
                    message,
                ));
            }
        }
        for (file, at, message) in found {
            self.problems.at(&file, at, message);
        }
    }

    /// The baseline and candidate must be versions some pod template carries.
    fn versions(&mut self, definition: &Definition) {
        let known: BTreeSet<&str> = self
            .objects()
            .filter_map(|(_, parsed)| parsed.object.version())
            .collect();
        let listed = known.iter().copied().collect::<Vec<_>>().join(", ");
        let mut found = Vec::new();
        for (key, version) in [
            ("baseline", &definition.baseline),
            ("candidate", &definition.candidate),
        ] {
            let Some(version) = version else { continue };
            if !known.contains(version.value.as_str()) && !self.incomplete {
                let message = format!(
                    "{key} `{}`: no pod template has this version label (versions: {listed})",
                    version.value
                );
                found.push((version.at, message));
            }
        }
        if let (Some(baseline), Some(candidate)) = (&definition.baseline, &definition.candidate)
            && baseline.value == candidate.value
        {
            found.push((
                candidate.at,
                format!("candidate `{}` is the baseline itself", candidate.value),
            ));
        }
        for (at, message) in found {
            self.definition_problem(at, message);
        }
    }

    /// The Service or Gateway traffic enters through must be defined.
    fn entry(&mut self, definition: &Definition) {
        let entries = [
            (ObjectKind::Service, &definition.service),
            (ObjectKind::Gateway, &definition.gateway),
        ];
        for (kind, name) in entries {
            let Some(name) = name else { continue };
            if !self.is_declared(kind, &name.value) && !self.incomplete {
                let message = format!(
                    "{} `{}`: no manifest defines this {kind}",
                    kind.kubectl_name(),
                    name.value
                );
                self.definition_problem(name.at, message);
            }
        }
    }

    /// An HTTPRoute's parents must be Gateways of the scenario, and its
    /// backends and mirrors Services of the scenario with the port named.
    fn routes(&mut self) {
        let mut found = Vec::new();
        for (file, parsed) in self.objects() {
            let Some(route) = parsed.object.as_route() else {
                continue;
            };
            let label = format!("httproute {}", route.name());
            for (pointer, reference) in route_references(route) {
                let problem = match reference {
                    Reference::Gateway(name) => {
                        (!self.is_declared(ObjectKind::Gateway, name) && !self.incomplete).then(
                            || format!("{label}: gateway `{name}` is not defined in this scenario"),
                        )
                    }
                    Reference::Service(name, port) => self.service_port_problem(&label, name, port),
                };
                if let Some(message) = problem {
                    found.push((
                        file.name.clone(),
                        parsed.document.position(&pointer),
                        message,
                    ));
                }
            }
        }
        for (file, at, message) in found {
            self.problems.at(&file, at, message);
        }
    }

    /// Why a route's reference to Service `name` at `port` does not resolve,
    /// if it does not.
    fn service_port_problem(&self, label: &str, name: &str, port: Option<i32>) -> Option<String> {
        if !self.is_declared(ObjectKind::Service, name) {
            return (!self.incomplete)
                .then(|| format!("{label}: service `{name}` is not defined in this scenario"));
        }
        let port = port?;
        let ports: Vec<i32> = self
            .objects()
            .filter(|(_, p)| p.object.kind() == ObjectKind::Service && p.object.name() == name)
            .flat_map(|(_, p)| p.object.service_ports())
            .collect();
        if ports.is_empty() || ports.contains(&port) {
            return None;
        }
        let listed: Vec<String> = ports.iter().map(ToString::to_string).collect();
        Some(format!(
            "{label}: service `{name}` has no port {port} (ports: {})",
            listed.join(", ")
        ))
    }

    /// Exactly one `analyze` step, in `[[steps]]`.
    fn decision(&mut self, definition: &Definition) {
        let analyzing: Vec<&StepEntry> = definition
            .steps
            .iter()
            .filter(|entry| entry.analyzes)
            .collect();
        match analyzing.as_slice() {
            [] if !definition.steps.is_empty() => {
                let message =
                    "no `analyze` step: a scenario needs exactly one decision point".to_owned();
                self.definition_problem(definition.steps[0].at, message);
            }
            [] | [_] => {}
            [first, rest @ ..] => {
                for entry in rest {
                    let message = format!(
                        "{}: a second `analyze` step (the first is {}): a scenario has exactly one decision point",
                        entry.label, first.label
                    );
                    self.definition_problem(entry.at, message);
                }
            }
        }
        for entry in definition.rollback.iter().filter(|entry| entry.analyzes) {
            let message = format!(
                "{}: rollback steps cannot analyze: the decision is already made",
                entry.label
            );
            self.definition_problem(entry.at, message);
        }
    }

    /// Phase names identify results, so each is used once.
    fn phases(&mut self, definition: &Definition) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut found = Vec::new();
        for entry in definition.steps.iter().chain(&definition.rollback) {
            let phase = match &entry.step {
                Some(ScenarioStep::Observe { phase, .. } | ScenarioStep::Analyze { phase, .. }) => {
                    phase
                }
                _ => continue,
            };
            match seen.get(phase) {
                Some(first) => found.push((
                    entry.at,
                    format!(
                        "{}: phase `{phase}` is already used by {first}",
                        entry.label
                    ),
                )),
                None => {
                    seen.insert(phase.clone(), entry.label.clone());
                }
            }
        }
        for (at, message) in found {
            self.definition_problem(at, message);
        }
    }

    /// Every manifest file should be applied by some step.
    fn unused_files(&mut self, definition: &Definition) {
        let applied: BTreeSet<&str> = definition
            .steps
            .iter()
            .chain(&definition.rollback)
            .filter_map(|entry| match &entry.step {
                Some(ScenarioStep::Apply { file }) => Some(file.as_str()),
                _ => None,
            })
            .collect();
        let has_steps = !definition.steps.is_empty() && self.steps_complete;
        for file in self.files {
            if has_steps && !applied.contains(file.name.as_str()) && !file.objects.is_empty() {
                let message = "no step applies this file".to_owned();
                self.problems.at(&file.name, Position::new(1, 1), message);
            }
        }
    }

    /// Walk the steps in order on the replayed cluster, and report steps that
    /// use an object that is not there. Rollback steps start from the state at
    /// the decision point.
    fn walk(&mut self, definition: &Definition) {
        let files = self.files;
        let decision = definition
            .steps
            .iter()
            .position(|entry| entry.analyzes)
            .unwrap_or(definition.steps.len());
        // Which step deleted an object, on the path walked so far.
        let mut deleted: BTreeMap<(ObjectKind, String), String> = BTreeMap::new();
        let mut deleted_at_decision = None;
        replay::walk(
            &definition.steps,
            &definition.rollback,
            decision,
            |entry| change(entry, files),
            |section, index, entry, before, _| {
                if section == Section::Main && index == decision {
                    deleted_at_decision = Some(deleted.clone());
                }
                if section == Section::Rollback && index == 0 {
                    deleted = deleted_at_decision
                        .take()
                        .unwrap_or_else(|| deleted.clone());
                }
                self.step(entry, before, &mut deleted, definition);
            },
        );
    }

    fn step(
        &mut self,
        entry: &StepEntry,
        before: &Cluster<'_>,
        deleted: &mut BTreeMap<(ObjectKind, String), String>,
        definition: &Definition,
    ) {
        let Some(step) = &entry.step else { return };
        let label = &entry.label;
        match step {
            ScenarioStep::Apply { file } => {
                let Some(parsed) = self.files.iter().find(|parsed| &parsed.name == file) else {
                    let names: Vec<&str> =
                        self.files.iter().map(|file| file.name.as_str()).collect();
                    let listed = if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    };
                    let message = format!(
                        "{label}: no manifest file `{file}` in this folder (manifests: {listed})"
                    );
                    self.definition_problem(entry.at, message);
                    return;
                };
                for (kind, name, _) in &parsed.declared {
                    deleted.remove(&(*kind, name.clone()));
                }
                // A route needs its Gateway and Services in place when it is
                // applied: otherwise a cluster reports it unresolved.
                if self.steps_complete && !self.incomplete {
                    let applied_here = |kind: ObjectKind, name: &str| {
                        parsed
                            .declared
                            .iter()
                            .any(|(k, n, _)| *k == kind && n == name)
                    };
                    let mut found = Vec::new();
                    for route in parsed.objects.iter().filter_map(|p| p.object.as_route()) {
                        for (_, reference) in route_references(route) {
                            let (kind, name) = match reference {
                                Reference::Gateway(name) => (ObjectKind::Gateway, name),
                                Reference::Service(name, _) => (ObjectKind::Service, name),
                            };
                            if !before.contains(kind, name)
                                && !applied_here(kind, name)
                                && self.is_declared(kind, name)
                            {
                                found.push(format!(
                                    "{label}: httproute {} needs {} {name}, which is not applied at this step",
                                    route.name(),
                                    kind.kubectl_name()
                                ));
                            }
                        }
                    }
                    for message in found {
                        self.definition_problem(entry.at, message);
                    }
                }
            }
            ScenarioStep::Wait { deployments, .. } => {
                for deployment in deployments {
                    self.require(entry, before, deleted, ObjectKind::Deployment, deployment);
                }
            }
            ScenarioStep::Scale { deployment, .. } => {
                self.require(entry, before, deleted, ObjectKind::Deployment, deployment);
            }
            ScenarioStep::Delete { kind, name } => {
                if self.require(entry, before, deleted, *kind, name) {
                    deleted.insert((*kind, name.clone()), label.clone());
                }
            }
            ScenarioStep::Switch { service, selector } => {
                self.require(entry, before, deleted, ObjectKind::Service, service);
                // `kubectl patch` merges selectors: a label left out would stay.
                let current = before.selector(service).cloned().unwrap_or_default();
                let dropped: Vec<&str> = current
                    .keys()
                    .filter(|key| !selector.contains_key(*key))
                    .map(String::as_str)
                    .collect();
                if !dropped.is_empty() && self.steps_complete {
                    let message = format!(
                        "{label}: the selector leaves out {} of service {service}'s selector {}: a switch can change or add labels, not remove them",
                        dropped.join(", "),
                        format_labels(&current)
                    );
                    self.definition_problem(entry.at, message);
                }
                let selects_something = before
                    .deployments()
                    .filter_map(|(_, deployment)| deployment.labels())
                    .any(|labels| labels_match(selector, labels));
                if !selects_something && !self.incomplete && self.steps_complete {
                    let message = format!(
                        "{label}: selector {} matches no pod template of the Deployments present at this step",
                        format_labels(selector)
                    );
                    self.definition_problem(entry.at, message);
                }
            }
            ScenarioStep::Observe { .. } | ScenarioStep::Analyze { .. } => {
                let entries = [
                    (ObjectKind::Service, &definition.service),
                    (ObjectKind::Gateway, &definition.gateway),
                ];
                for (kind, name) in entries {
                    let Some(name) = name else { continue };
                    if !before.contains(kind, &name.value)
                        && self.steps_complete
                        && self.is_declared(kind, &name.value)
                    {
                        let message = format!(
                            "{label}: traffic goes through {} {}, which is not applied at this step",
                            kind.kubectl_name(),
                            name.value
                        );
                        self.definition_problem(entry.at, message);
                    }
                }
            }
        }
    }

    /// Report when an object a step uses does not exist at that point; returns
    /// whether it exists.
    fn require(
        &mut self,
        entry: &StepEntry,
        before: &Cluster<'_>,
        deleted: &BTreeMap<(ObjectKind, String), String>,
        kind: ObjectKind,
        name: &str,
    ) -> bool {
        if before.contains(kind, name) {
            return true;
        }
        let key = (kind, name.to_owned());
        let kind_name = kind.kubectl_name();
        let message = if !self.is_declared(kind, name) {
            if self.incomplete {
                return false;
            }
            format!("{}: no manifest defines {kind_name} {name}", entry.label)
        } else if !self.steps_complete {
            return false;
        } else if let Some(deleter) = deleted.get(&key) {
            format!(
                "{}: {kind_name} {name} no longer exists here: {deleter} deleted it",
                entry.label
            )
        } else {
            format!(
                "{}: {kind_name} {name} is not applied yet at this step",
                entry.label
            )
        };
        self.definition_problem(entry.at, message);
        false
    }
}

/// What an HTTPRoute refers to.
enum Reference<'a> {
    /// A parent Gateway.
    Gateway(&'a str),
    /// A backend or mirror Service, at a port.
    Service(&'a str, Option<i32>),
}

/// Every reference of a route, with the JSON pointer of its name.
fn route_references(route: &HttpRoute) -> Vec<(String, Reference<'_>)> {
    let mut references = Vec::new();
    for (i, parent) in route.parent_refs().iter().enumerate() {
        let kind = parent.kind.as_deref().unwrap_or("Gateway");
        if kind == "Gateway" && parent.namespace.is_none() {
            references.push((
                format!("/spec/parentRefs/{i}/name"),
                Reference::Gateway(&parent.name),
            ));
        }
    }
    for (r, rule) in route.rules().iter().enumerate() {
        for (b, backend) in rule.backend_refs.iter().flatten().enumerate() {
            if backend.kind.as_deref().unwrap_or("Service") == "Service" {
                references.push((
                    format!("/spec/rules/{r}/backendRefs/{b}/name"),
                    Reference::Service(&backend.name, backend.port),
                ));
            }
        }
        for (f, filter) in rule.filters.iter().flatten().enumerate() {
            if let Some(mirror) = &filter.request_mirror
                && mirror.backend_ref.kind.as_deref().unwrap_or("Service") == "Service"
            {
                references.push((
                    format!("/spec/rules/{r}/filters/{f}/requestMirror/backendRef/name"),
                    Reference::Service(&mirror.backend_ref.name, mirror.backend_ref.port),
                ));
            }
        }
    }
    references
}

/// What a step does to the cluster, its manifest looked up among the parsed
/// files: objects that did not parse still exist after the apply.
fn change<'a>(entry: &'a StepEntry, files: &'a [ParsedFile]) -> Change<'a> {
    let Some(step) = &entry.step else {
        return Change::Nothing;
    };
    match step {
        ScenarioStep::Apply { file } => {
            let Some(parsed) = files.iter().find(|parsed| &parsed.name == file) else {
                return Change::Nothing;
            };
            let read = parsed
                .objects
                .iter()
                .map(|parsed| Applied::Object(&parsed.object));
            let unread = parsed
                .declared
                .iter()
                .filter(|(kind, name, _)| {
                    !parsed
                        .objects
                        .iter()
                        .any(|p| p.object.kind() == *kind && p.object.name() == name)
                })
                .map(|(kind, name, _)| Applied::Unread { kind: *kind, name });
            Change::Apply(read.chain(unread).collect())
        }
        other => Change::of_scenario_step(other, &[]),
    }
}
