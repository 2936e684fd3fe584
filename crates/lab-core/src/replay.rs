//! The cluster as a plan's steps leave it: which Deployments exist, with the
//! object last applied (pod labels, version, strategy) and their replicas,
//! which Services, with their selectors, and which Gateways and HTTPRoutes.
//!
//! A pure model, replayed one step at a time. Scenario checks walk it to find
//! steps that use an object that is not there, the teaching mode's narration to
//! say which pods a Service picks, the platform limits to count the most pods
//! a plan runs at once, and the plan's expectations defined here on [`Plan`]:
//! the candidate's share in the analyze phase (`Plan::sample_estimate`) and
//! the peak pods above the steady state (`Plan::peak_pods_above_steady`). The main steps run in order; the rollback steps start
//! from the state at the decision point ([`walk`]).

use crate::gateway::{HttpRoute, ReadyByService, RouteTable};
use crate::object::{Object, ObjectKind, Strategy, labels_match};
use crate::plan::{Plan, SampleEstimate, Step};
use crate::report::Section;
use crate::scenario::model::{Manifest, Scenario, ScenarioStep};
use std::collections::BTreeMap;

/// What a step does to the cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<'a> {
    /// Objects created, or updated in place.
    Apply(Vec<Applied<'a>>),
    /// A Deployment's replicas set.
    Scale {
        /// The Deployment.
        deployment: &'a str,
        /// Its new replica count.
        replicas: i32,
    },
    /// An object deleted.
    Delete {
        /// Its kind.
        kind: ObjectKind,
        /// Its name.
        name: &'a str,
    },
    /// A Service's selector replaced.
    Switch {
        /// The Service.
        service: &'a str,
        /// Its new selector.
        selector: &'a BTreeMap<String, String>,
    },
    /// Nothing changes (a wait, a phase).
    Nothing,
}

/// One object of an apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Applied<'a> {
    /// An object as its manifest defines it.
    Object(&'a Object),
    /// An object whose kind and name are known but whose manifest did not
    /// parse: it exists after the apply, nothing more is known of it.
    Unread {
        /// Its kind.
        kind: ObjectKind,
        /// Its name.
        name: &'a str,
    },
}

impl<'a> Change<'a> {
    /// What a plan's step does.
    pub fn of_step(step: &'a Step) -> Change<'a> {
        match step {
            Step::Apply { objects, .. } => {
                Change::Apply(objects.iter().map(Applied::Object).collect())
            }
            Step::Scale {
                deployment,
                replicas,
            } => Change::Scale {
                deployment,
                replicas: *replicas,
            },
            Step::Delete { kind, name } => Change::Delete { kind: *kind, name },
            Step::SwitchSelector { service, selector } => Change::Switch { service, selector },
            Step::WaitReady { .. } | Step::Observe { .. } | Step::Analyze { .. } => Change::Nothing,
        }
    }

    /// What a scenario's step does, its manifests looked up in `manifests`.
    pub fn of_scenario_step(step: &'a ScenarioStep, manifests: &'a [Manifest]) -> Change<'a> {
        match step {
            ScenarioStep::Apply { file } => Change::Apply(
                manifests
                    .iter()
                    .filter(|manifest| &manifest.file == file)
                    .flat_map(|manifest| &manifest.objects)
                    .map(Applied::Object)
                    .collect(),
            ),
            ScenarioStep::Scale {
                deployment,
                replicas,
            } => Change::Scale {
                deployment,
                replicas: *replicas,
            },
            ScenarioStep::Delete { kind, name } => Change::Delete { kind: *kind, name },
            ScenarioStep::Switch { service, selector } => Change::Switch { service, selector },
            ScenarioStep::Wait { .. }
            | ScenarioStep::Observe { .. }
            | ScenarioStep::Analyze { .. } => Change::Nothing,
        }
    }
}

/// A Deployment as the steps leave it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentState<'a> {
    /// The object last applied; `None` when its manifest did not parse.
    pub object: Option<&'a Object>,
    /// Desired replicas: the applied count, then any scale.
    pub replicas: i32,
}

impl<'a> DeploymentState<'a> {
    /// Its pod template's labels, when known.
    pub fn labels(&self) -> Option<&'a BTreeMap<String, String>> {
        self.object?.pod_labels()
    }

    /// Its version label, when known.
    pub fn version(&self) -> Option<&'a str> {
        self.object?.version()
    }

    /// Its rollout strategy (Kubernetes' default when unknown).
    pub fn strategy(&self) -> Strategy {
        self.object
            .and_then(Object::strategy)
            .and_then(Result::ok)
            .unwrap_or(Strategy::RollingUpdate(
                crate::object::RollingUpdate::DEFAULT,
            ))
    }
}

/// A Service as the steps leave it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceState<'a> {
    /// The object last applied; `None` when its manifest did not parse.
    pub object: Option<&'a Object>,
    /// Its selector: the applied one, or the last switch's; `None` when unknown.
    pub selector: Option<BTreeMap<String, String>>,
}

/// The objects present at a point of a plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cluster<'a> {
    deployments: BTreeMap<&'a str, DeploymentState<'a>>,
    services: BTreeMap<&'a str, ServiceState<'a>>,
    /// Gateways and HTTPRoutes by kind and name, with the object last applied
    /// (`None` when its manifest did not parse).
    gateway_objects: BTreeMap<(ObjectKind, &'a str), Option<&'a Object>>,
    /// The HTTPRoutes in the order they were first created (oldest first: the
    /// spec's tie-break).
    route_order: Vec<&'a str>,
}

impl<'a> Cluster<'a> {
    /// Apply a step's change; returns the most pods that run at once while it
    /// happens (see [`Cluster::pods`]): for a Deployment whose pod template
    /// changes, its rollout may run its strategy's surge above the new count,
    /// and the pods before the change count until they are replaced.
    pub fn apply(&mut self, change: &Change<'a>) -> i64 {
        let before = self.pods();
        let mut surge = 0;
        match change {
            Change::Apply(objects) => {
                for applied in objects {
                    surge += self.apply_object(*applied);
                }
            }
            Change::Scale {
                deployment,
                replicas,
            } => {
                if let Some(state) = self.deployments.get_mut(deployment) {
                    state.replicas = *replicas;
                }
            }
            Change::Delete {
                kind: ObjectKind::Deployment,
                name,
            } => {
                self.deployments.remove(name);
            }
            Change::Delete {
                kind: ObjectKind::Service,
                name,
            } => {
                self.services.remove(name);
            }
            Change::Delete {
                kind: kind @ (ObjectKind::Gateway | ObjectKind::HttpRoute),
                name,
            } => {
                self.gateway_objects.remove(&(*kind, *name));
                self.route_order
                    .retain(|route| route != name || *kind != ObjectKind::HttpRoute);
            }
            Change::Switch { service, selector } => {
                if let Some(state) = self.services.get_mut(service) {
                    state.selector = Some((*selector).clone());
                }
            }
            Change::Nothing => {}
        }
        before.max(self.pods().saturating_add(surge))
    }

    /// Apply one object; returns the surge of the rollout it starts.
    fn apply_object(&mut self, applied: Applied<'a>) -> i64 {
        match applied {
            Applied::Object(object) => match object.kind() {
                ObjectKind::Deployment => {
                    let replicas = object.replicas().unwrap_or(1);
                    let old = self.deployments.insert(
                        object.name(),
                        DeploymentState {
                            object: Some(object),
                            replicas,
                        },
                    );
                    let rolls = old
                        .and_then(|old| old.object)
                        .is_some_and(|old| template(old) != template(object));
                    if rolls {
                        let state = &self.deployments[object.name()];
                        i64::from(state.strategy().surge(replicas))
                    } else {
                        0
                    }
                }
                ObjectKind::Service => {
                    self.services.insert(
                        object.name(),
                        ServiceState {
                            object: Some(object),
                            selector: object.service_selector().cloned(),
                        },
                    );
                    0
                }
                kind @ (ObjectKind::Gateway | ObjectKind::HttpRoute) => {
                    self.add_gateway_object(kind, object.name(), Some(object));
                    0
                }
            },
            Applied::Unread { kind, name } => {
                match kind {
                    ObjectKind::Deployment => {
                        self.deployments.entry(name).or_insert(DeploymentState {
                            object: None,
                            replicas: 0,
                        });
                    }
                    ObjectKind::Service => {
                        self.services.entry(name).or_insert(ServiceState {
                            object: None,
                            selector: None,
                        });
                    }
                    ObjectKind::Gateway | ObjectKind::HttpRoute => {
                        if !self.gateway_objects.contains_key(&(kind, name)) {
                            self.add_gateway_object(kind, name, None);
                        }
                    }
                }
                0
            }
        }
    }

    fn add_gateway_object(&mut self, kind: ObjectKind, name: &'a str, object: Option<&'a Object>) {
        if kind == ObjectKind::HttpRoute && !self.route_order.contains(&name) {
            self.route_order.push(name);
        }
        self.gateway_objects.insert((kind, name), object);
    }

    /// Whether an object of this kind and name exists.
    pub fn contains(&self, kind: ObjectKind, name: &str) -> bool {
        match kind {
            ObjectKind::Deployment => self.deployments.contains_key(name),
            ObjectKind::Service => self.services.contains_key(name),
            ObjectKind::Gateway | ObjectKind::HttpRoute => {
                self.gateway_objects.contains_key(&(kind, name))
            }
        }
    }

    /// An HTTPRoute as last applied, if it exists and its manifest parsed.
    pub fn route(&self, name: &str) -> Option<&'a HttpRoute> {
        self.gateway_objects
            .get(&(ObjectKind::HttpRoute, name))
            .copied()
            .flatten()
            .and_then(Object::as_route)
    }

    /// The HTTPRoutes attached to Gateway `gateway`, oldest first.
    pub fn routes_of(&self, gateway: &str) -> Vec<&'a HttpRoute> {
        self.route_order
            .iter()
            .filter_map(|name| self.route(name))
            .filter(|route| {
                route
                    .parent_refs()
                    .iter()
                    .any(|parent| parent.name == gateway)
            })
            .collect()
    }

    /// The routing table of Gateway `gateway` as the steps leave it.
    pub fn route_table(&self, gateway: &str) -> RouteTable {
        RouteTable::new(self.routes_of(gateway))
    }

    /// The desired pods of every Service, by version: what the Gateway's
    /// backends would have ready once every pod is.
    pub fn pods_by_service(&self) -> ReadyByService {
        self.services
            .keys()
            .map(|service| {
                let pods = self
                    .selected(service)
                    .into_iter()
                    .map(|(version, n)| (version, u32::try_from(n).unwrap_or(0)))
                    .collect();
                ((*service).to_owned(), pods)
            })
            .collect()
    }

    /// A Deployment, if it exists.
    pub fn deployment(&self, name: &str) -> Option<&DeploymentState<'a>> {
        self.deployments.get(name)
    }

    /// Every Deployment, by name.
    pub fn deployments(&self) -> impl Iterator<Item = (&'a str, &DeploymentState<'a>)> {
        self.deployments.iter().map(|(name, state)| (*name, state))
    }

    /// A Service, if it exists.
    pub fn service(&self, name: &str) -> Option<&ServiceState<'a>> {
        self.services.get(name)
    }

    /// A Service's selector, if the Service exists and has a known one.
    pub fn selector(&self, service: &str) -> Option<&BTreeMap<String, String>> {
        self.services.get(service)?.selector.as_ref()
    }

    /// The desired pods a Service selects, by version (every desired pod, once
    /// ready).
    pub fn selected(&self, service: &str) -> BTreeMap<String, i32> {
        let mut pods = BTreeMap::new();
        let Some(selector) = self.selector(service) else {
            return pods;
        };
        for state in self.deployments.values() {
            let Some(labels) = state.labels() else {
                continue;
            };
            if state.replicas > 0 && labels_match(selector, labels) {
                let version = state.version().unwrap_or_default().to_owned();
                let count: &mut i32 = pods.entry(version).or_default();
                *count = count.saturating_add(state.replicas);
            }
        }
        pods
    }

    /// The desired pods of every Deployment.
    pub fn pods(&self) -> i64 {
        self.deployments
            .values()
            .map(|state| i64::from(state.replicas.max(0)))
            .sum()
    }
}

/// A Deployment's pod template: a change to it rolls the Deployment out.
fn template(object: &Object) -> Option<&k8s_openapi::api::core::v1::PodTemplateSpec> {
    Some(&object.as_deployment()?.spec.as_ref()?.template)
}

/// Replay both paths of a plan's steps: `steps` in order, then `rollback` from
/// the state at step `decision` (the analyze step, which changes nothing).
/// `visit` sees each step with the cluster just before it, and the most pods
/// running at once while it happens.
pub fn walk<'a, S>(
    steps: &'a [S],
    rollback: &'a [S],
    decision: usize,
    change: impl Fn(&'a S) -> Change<'a>,
    mut visit: impl FnMut(Section, usize, &'a S, &Cluster<'a>, i64),
) {
    let mut cluster = Cluster::default();
    let mut at_decision = None;
    for (index, step) in steps.iter().enumerate() {
        if index == decision {
            at_decision = Some(cluster.clone());
        }
        let before = cluster.clone();
        let peak = cluster.apply(&change(step));
        visit(Section::Main, index, step, &before, peak);
    }
    let mut cluster = at_decision.unwrap_or(cluster);
    for (index, step) in rollback.iter().enumerate() {
        let before = cluster.clone();
        let peak = cluster.apply(&change(step));
        visit(Section::Rollback, index, step, &before, peak);
    }
}

/// The cluster just before step `index` of a plan's `section`.
pub fn before_step<'a>(plan: &'a Plan, section: Section, index: usize) -> Cluster<'a> {
    let mut cluster = Cluster::default();
    let main = match section {
        // A rollback starts from the state at the decision point.
        Section::Rollback => plan.decision_index().min(plan.steps.len()),
        Section::Main => index.min(plan.steps.len()),
    };
    for step in &plan.steps[..main] {
        cluster.apply(&Change::of_step(step));
    }
    if section == Section::Rollback {
        for step in &plan.rollback[..index.min(plan.rollback.len())] {
            cluster.apply(&Change::of_step(step));
        }
    }
    cluster
}

/// The step during which the most pods run at once, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeakPods {
    /// How many pods, a rollout's surge included.
    pub pods: i64,
    /// The part of the plan the step is in.
    pub section: Section,
    /// The step's index in its part, from 0.
    pub index: usize,
}

impl PeakPods {
    /// `step 5`, `rollback step 2`, as messages name steps.
    pub fn step_label(&self) -> String {
        match self.section {
            Section::Main => format!("step {}", self.index + 1),
            Section::Rollback => format!("rollback step {}", self.index + 1),
        }
    }
}

/// The most pods a plan runs at once, on either path (promotion or rollback);
/// `None` for a plan without steps.
pub fn peak_pods(plan: &Plan) -> Option<PeakPods> {
    let mut peak: Option<PeakPods> = None;
    walk(
        &plan.steps,
        &plan.rollback,
        plan.decision_index(),
        Change::of_step,
        |section, index, _, _, pods| higher(&mut peak, section, index, pods),
    );
    peak
}

/// The same for a scenario, before any profile makes it a plan.
pub fn scenario_peak_pods(scenario: &Scenario) -> Option<PeakPods> {
    let mut peak: Option<PeakPods> = None;
    walk(
        &scenario.steps,
        &scenario.rollback,
        scenario.decision_index(),
        |step| Change::of_scenario_step(step, &scenario.manifests),
        |section, index, _, _, pods| higher(&mut peak, section, index, pods),
    );
    peak
}

fn higher(peak: &mut Option<PeakPods>, section: Section, index: usize, pods: i64) {
    if peak.as_ref().is_none_or(|peak| pods > peak.pods) {
        *peak = Some(PeakPods {
            pods,
            section,
            index,
        });
    }
}

/// Pods the plan asks for, on paper.
impl Plan {
    /// The most pods the plan runs at once above the steady state (the
    /// desired pods before the first observe phase), on either path, a
    /// rollout's surge included ([`peak_pods`]). `None` without an
    /// observe phase.
    pub fn peak_pods_above_steady(&self) -> Option<i32> {
        let observe = self
            .steps
            .iter()
            .position(|step| matches!(step, Step::Observe { .. }))?;
        let steady = before_step(self, Section::Main, observe).pods();
        let peak = peak_pods(self).map_or(steady, |peak| peak.pods);
        Some(i32::try_from((peak - steady).max(0)).unwrap_or(i32::MAX))
    }
}

/// The candidate's expected sample (see [`SampleEstimate`] for the method).
impl Plan {
    /// The candidate's expected sample in the analyze phase; `None` without one,
    /// or when the entry is a Gateway or its Service has no known selector then.
    pub fn sample_estimate(&self) -> Option<SampleEstimate> {
        let decision = self.decision_index();
        let Some(Step::Analyze { duration, .. }) = self.steps.get(decision) else {
            return None;
        };
        // Through a Gateway the routes' weights, not a selector, share the
        // requests, so the selector-based estimate does not apply.
        let entry_service = self.entry.service()?;
        let cluster = before_step(self, Section::Main, decision);
        cluster.selector(entry_service)?;
        let selected = cluster.selected(entry_service);
        let all: i64 = selected.values().map(|&n| i64::from(n.max(0))).sum();
        let candidate = selected
            .get(&self.candidate)
            .map_or(0, |&n| i64::from(n.max(0)));
        let share = if all == 0 {
            0.0
        } else {
            candidate as f64 / all as f64
        };
        Some(SampleEstimate::new(
            self.profile.rate,
            share,
            duration.as_secs_f64(),
            &self.gates,
        ))
    }
}
