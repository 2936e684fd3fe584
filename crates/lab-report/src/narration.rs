//! The teaching mode's narration: before each step, two or three lines on what
//! it does and why, in the tutorial's terms, with the `kubectl` command it
//! corresponds to. In English and Korean (the tutorial's language).
//!
//! The narration follows the plan: it replays the steps before this one on
//! lab-core's model of the cluster ([`lab_core::replay`]: Deployments, their
//! replicas and pod labels, the Services' selectors), so it can say which pods
//! the Service will pick and what split that gives. What it says is a list of
//! typed messages (`messages`), which each language's table renders
//! (`english`, `korean`; see [`crate::i18n`]).

mod english;
mod korean;
mod messages;

use crate::i18n::{Language, Localized};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use lab_core::gateway::{HttpHeaderMatch, Request, mirror_shares, rule_shares};
use lab_core::object::{Object, ObjectKind, RollingUpdate, Strategy, VERSION_LABEL, labels_match};
use lab_core::plan::{OnTimeout, Plan, Step};
use lab_core::replay::{self, Change, Cluster};
use lab_core::report::Section;
use messages::{After, Created, Heading, Line, Pods, percent};
use std::collections::BTreeMap;
use std::time::Duration;

/// What to say before a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Narration {
    /// `step 4 of 11`, `rollback step 1 of 4`.
    pub heading: String,
    /// Two or three lines: what the step does and why.
    pub lines: Vec<String>,
    /// The `kubectl` command it corresponds to.
    pub kubectl: String,
}

impl Localized for Heading {
    fn english(&self) -> String {
        english::heading(self)
    }

    fn korean(&self) -> String {
        korean::heading(self)
    }
}

impl Localized for Line {
    fn english(&self) -> String {
        english::line(self)
    }

    fn korean(&self) -> String {
        korean::line(self)
    }
}

/// The narration of step `index` (from 0) of a plan's `section`; `None` when
/// there is no such step.
pub fn narrate(
    plan: &Plan,
    section: Section,
    index: usize,
    language: Language,
) -> Option<Narration> {
    let steps = match section {
        Section::Main => &plan.steps,
        Section::Rollback => &plan.rollback,
    };
    let step = steps.get(index)?;
    let before = replay::before_step(plan, section, index);
    let mut after = before.clone();
    after.apply(&Change::of_step(step));
    let say = Say {
        plan,
        before: &before,
        after: &after,
    };
    let (n, total) = (index + 1, steps.len());
    let heading = match section {
        Section::Main => Heading::Main { n, total },
        Section::Rollback => Heading::Rollback { n, total },
    };
    Some(Narration {
        heading: heading.render(language),
        lines: say
            .step(step)
            .iter()
            .map(|line| line.render(language))
            .collect(),
        kubectl: plan.kubectl(step),
    })
}

/// What the pause asks of the reader.
pub fn prompt(language: Language) -> &'static str {
    match language {
        Language::English => english::PROMPT,
        Language::Korean => korean::PROMPT,
    }
}

/// What is said when the input ends and the pauses stop.
pub fn no_more_pauses(language: Language) -> &'static str {
    match language {
        Language::English => english::NO_MORE_PAUSES,
        Language::Korean => korean::NO_MORE_PAUSES,
    }
}

/// A Deployment's object as the narration reads it.
struct Template<'a> {
    object: &'a Object,
}

impl<'a> Template<'a> {
    fn of(object: &'a Object) -> Option<Template<'a>> {
        object.as_deployment().map(|_| Template { object })
    }

    fn version(&self) -> String {
        self.object.version().unwrap_or_default().to_owned()
    }

    fn replicas(&self) -> i32 {
        self.object.replicas().unwrap_or(1)
    }

    fn labels(&self) -> BTreeMap<String, String> {
        self.object.pod_labels().cloned().unwrap_or_default()
    }

    /// The first readiness probe over HTTP: `GET /ready, port probe`.
    fn probe(&self) -> Option<String> {
        probe(self.object)
    }
}

/// A Deployment's first HTTP readiness probe, as `GET /ready, port probe`.
fn probe(object: &Object) -> Option<String> {
    let pod = object
        .as_deployment()?
        .spec
        .as_ref()?
        .template
        .spec
        .as_ref()?;
    pod.containers.iter().find_map(|container| {
        let get = container.readiness_probe.as_ref()?.http_get.as_ref()?;
        let path = get.path.as_deref()?;
        let port = match &get.port {
            IntOrString::Int(port) => port.to_string(),
            IntOrString::String(name) => name.clone(),
        };
        Some(format!("GET {path}, port {port}"))
    })
}

/// How a Deployment's pods terminate, when its template says so (a grace
/// period or a preStop hook): `Some(None)` without a hook, `Some(Some("sleep
/// 3s"))` with one.
fn termination(object: &Object) -> Option<Option<String>> {
    let pod = object
        .as_deployment()?
        .spec
        .as_ref()?
        .template
        .spec
        .as_ref()?;
    let hook = pod.containers.iter().find_map(|container| {
        let handler = container.lifecycle.as_ref()?.pre_stop.as_ref()?;
        if let Some(sleep) = &handler.sleep {
            return Some(format!("sleep {}s", sleep.seconds));
        }
        if let Some(exec) = &handler.exec {
            return Some(format!(
                "exec {}",
                exec.command.clone().unwrap_or_default().join(" ")
            ));
        }
        if let Some(get) = &handler.http_get {
            return Some(format!("GET {}", get.path.as_deref().unwrap_or("/")));
        }
        None
    });
    (hook.is_some() || pod.termination_grace_period_seconds.is_some()).then_some(hook)
}

/// `app: my-app, version: v2.0.0`, as in the YAML.
fn labels(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// `v1.0.0 90%, v2.0.0 10%`; empty when there is no share.
fn shares_text(shares: &BTreeMap<String, f64>) -> String {
    shares
        .iter()
        .filter(|(_, share)| **share > 0.0)
        .map(|(version, share)| format!("{version} {}", share_percent(*share)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A share from 0 to 1 as `10%`, `12.5%`.
fn share_percent(share: f64) -> String {
    let value = share * 100.0;
    if (value - value.round()).abs() < 0.05 {
        format!("{value:.0}%")
    } else {
        format!("{value:.1}%")
    }
}

/// `X-API-Version: v2.0.0`, the headers a match asks for.
fn header_text(headers: &[HttpHeaderMatch]) -> String {
    headers
        .iter()
        .map(|h| format!("{}: {}", h.name, h.value))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decides what to say about a step, from the cluster before and after it.
struct Say<'a> {
    plan: &'a Plan,
    before: &'a Cluster<'a>,
    after: &'a Cluster<'a>,
}

impl Say<'_> {
    /// Where traffic goes once the step is done.
    fn traffic_after(&self) -> After {
        let pods = self.after.selected(self.plan.entry.name());
        match pods.len() {
            0 => After::Nobody,
            1 => {
                let (version, pods) = pods.into_iter().next().unwrap_or_default();
                After::All { version, pods }
            }
            _ => After::Split(pods),
        }
    }

    fn step(&self, step: &Step) -> Vec<Line> {
        match step {
            Step::Apply { file, objects } => self.apply(file, objects),
            Step::Scale {
                deployment,
                replicas,
            } => self.scale(deployment, *replicas),
            Step::Delete { kind, name } => self.delete(*kind, name),
            Step::SwitchSelector { service, selector } => self.switch(service, selector),
            Step::WaitReady {
                deployments,
                timeout,
                on_timeout,
            } => self.wait(deployments, *timeout, *on_timeout),
            Step::Observe {
                phase, duration, ..
            } => self.observe(phase, *duration),
            Step::Analyze {
                phase,
                duration,
                interval,
                ..
            } => self.analyze(phase, *duration, *interval),
        }
    }

    fn apply(&self, file: &str, objects: &[Object]) -> Vec<Line> {
        let routing = self.routing(objects);
        if !routing.is_empty() {
            return routing;
        }
        let service = objects.iter().find(|o| {
            o.service_selector().is_some() && !self.before.contains(ObjectKind::Service, o.name())
        });
        let mut lines = Vec::new();
        // What is created or changed.
        let mut created: Vec<(&Object, Template<'_>)> = Vec::new();
        let mut changed = None;
        for (object, new) in objects.iter().filter_map(|o| Some((o, Template::of(o)?))) {
            match self.before.deployment(object.name()) {
                Some(old) if old.version().unwrap_or_default() != new.version() => {
                    changed = Some((object, old.version().unwrap_or_default().to_owned(), new));
                }
                Some(_) => {}
                None => created.push((object, new)),
            }
        }
        if service.is_some() || !created.is_empty() {
            lines.push(Line::Create {
                service: service.map(|s| s.name().to_owned()),
                deployments: created
                    .iter()
                    .map(|(o, d)| Created {
                        name: o.name().to_owned(),
                        version: d.version(),
                        replicas: d.replicas(),
                    })
                    .collect(),
            });
        }
        if let Some((object, from, new)) = changed {
            lines.push(Line::ChangeTemplate {
                deployment: object.name().to_owned(),
                from,
                to: new.version(),
                replicas: new.replicas(),
            });
            let strategy = object
                .strategy()
                .and_then(Result::ok)
                .unwrap_or(Strategy::RollingUpdate(RollingUpdate::DEFAULT));
            lines.push(match strategy {
                Strategy::RollingUpdate(rolling) => Line::RollingUpdate {
                    max_surge: rolling.max_surge,
                    max_unavailable: rolling.max_unavailable,
                },
                Strategy::Recreate => Line::Recreate,
            });
            // A template that says how its pods terminate is told how that
            // races the proxy; others hear about the new pods' probe.
            lines.push(match termination(new.object) {
                Some(pre_stop) => Line::Termination { pre_stop },
                None => Line::Probe { probe: new.probe() },
            });
            return lines;
        }
        // Who the Service sends traffic to, and why.
        if let Some(selector) = self.after.selector(self.plan.entry.name()) {
            let after = self.after.selected(self.plan.entry.name());
            let by_version = selector.contains_key(VERSION_LABEL);
            let new_selected = created
                .iter()
                .any(|(_, d)| labels_match(selector, &d.labels()));
            let selector = labels(selector);
            lines.push(match (service.is_some(), by_version, new_selected) {
                (true, false, _) => Line::SelectsAnyVersion { selector },
                (true, true, _) => Line::SelectsVersion { selector },
                (false, _, false) => Line::NotSelected { selector },
                (false, _, true) if after.len() > 1 => Line::JoinsSplit {
                    selector,
                    split: after,
                },
                (false, _, true) => Line::TakesAll,
            });
        } else if self.plan.entry.service().is_none() {
            lines.push(Line::BehindRoute {
                gateway: self.plan.entry.name().to_owned(),
            });
        } else {
            lines.push(Line::NoService {
                service: self.plan.entry.name().to_owned(),
            });
        }
        if let Some((_, d)) = created.first() {
            lines.push(Line::Probe { probe: d.probe() });
        } else if lines.len() < 2 {
            lines.push(Line::Reapplied {
                file: file.to_owned(),
            });
        }
        lines
    }

    /// What an apply of Gateways and HTTPRoutes does: where each rule sends
    /// requests, by header or by weight, and what it mirrors. Empty when the
    /// apply holds neither.
    fn routing(&self, objects: &[Object]) -> Vec<Line> {
        let mut lines = Vec::new();
        let route = objects
            .iter()
            .find(|o| o.kind() == ObjectKind::HttpRoute)
            .map(|o| o.name().to_owned());
        let gateway = objects
            .iter()
            .find(|o| o.kind() == ObjectKind::Gateway)
            .map(|o| o.name().to_owned());
        let opens = objects
            .iter()
            .find(|o| {
                o.kind() == ObjectKind::Gateway
                    && !self.before.contains(ObjectKind::Gateway, o.name())
            })
            .map(|o| Line::GatewayOpens {
                gateway: o.name().to_owned(),
            });
        let pods_of = |service: &str| -> i32 {
            self.after
                .selected(service)
                .values()
                .fold(0i32, |sum, n| sum.saturating_add(*n))
        };
        for object in objects {
            let Object::HttpRoute(route) = object else {
                continue;
            };
            for rule in route.spec.rules.iter().flatten() {
                let backends: Vec<(String, i32)> = rule
                    .backend_refs
                    .iter()
                    .flatten()
                    .map(|b| (b.name.clone(), b.weight.unwrap_or(1)))
                    .collect();
                let headers = rule
                    .matches
                    .iter()
                    .flatten()
                    .find_map(|m| m.headers.as_ref().filter(|h| !h.is_empty()));
                if let Some(headers) = headers {
                    lines.push(Line::HeaderMatch {
                        headers: header_text(headers),
                        services: backends
                            .iter()
                            .map(|(name, _)| name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                } else if let [(service, _)] = backends.as_slice() {
                    lines.push(Line::RouteTo {
                        service: service.clone(),
                        pods: pods_of(service),
                    });
                } else if !backends.is_empty() {
                    let total: i32 = backends.iter().map(|(_, w)| (*w).max(0)).sum();
                    lines.push(Line::Weights {
                        backends: backends
                            .iter()
                            .map(|(service, weight)| {
                                (
                                    service.clone(),
                                    percent((*weight).max(0), total),
                                    pods_of(service),
                                )
                            })
                            .collect(),
                    });
                }
                for filter in rule.filters.iter().flatten() {
                    let Some(mirror) = &filter.request_mirror else {
                        continue;
                    };
                    let share = match (&mirror.percent, &mirror.fraction) {
                        (Some(percent), _) => f64::from(*percent) / 100.0,
                        (None, Some(fraction)) => {
                            f64::from(fraction.numerator)
                                / f64::from(fraction.denominator.unwrap_or(100).max(1))
                        }
                        (None, None) => 1.0,
                    };
                    lines.push(Line::Mirror {
                        service: mirror.backend_ref.name.clone(),
                        share: share_percent(share),
                    });
                }
            }
        }
        // Two lines on what the rules do (a mirror before a plain route, as
        // the safety of shadow traffic is the lesson), one on when they hold;
        // a new Gateway's line where there is room.
        if lines.len() > 2
            && let Some(at) = lines.iter().position(|l| matches!(l, Line::RouteTo { .. }))
        {
            lines.remove(at);
        }
        lines.truncate(2);
        if let Some(opens) = opens
            && lines.len() < 2
        {
            lines.insert(0, opens);
        }
        match (route, gateway) {
            (Some(route), _) => lines.push(Line::RouteApplied { route }),
            (None, Some(gateway)) => lines.push(Line::GatewayNoRoute { gateway }),
            (None, None) => {}
        }
        lines
    }

    /// Through a Gateway: where a request without the targeted headers goes
    /// once the step is done, per version, and the shares copied to each
    /// version; `None` when traffic enters through a Service.
    fn plain_request_shares(&self) -> Option<(BTreeMap<String, f64>, BTreeMap<String, f64>)> {
        if self.plan.entry.service().is_some() {
            return None;
        }
        let table = self.after.route_table(self.plan.entry.name());
        let ready = self.after.pods_by_service();
        let no_headers: BTreeMap<String, String> = BTreeMap::new();
        let request = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &no_headers,
        };
        Some(match table.select(&request) {
            Some(rule) => (rule_shares(rule, &ready), mirror_shares(rule, &ready)),
            None => (BTreeMap::new(), BTreeMap::new()),
        })
    }

    fn scale(&self, name: &str, replicas: i32) -> Vec<Line> {
        let old = self.before.deployment(name);
        let from = old.map_or(0, |d| d.replicas);
        let mut lines = vec![Line::Scale {
            deployment: name.to_owned(),
            version: old.and_then(|d| d.version()).unwrap_or_default().to_owned(),
            from,
            to: replicas,
        }];
        let after = self.after.selected(self.plan.entry.name());
        lines.push(if after.len() > 1 {
            Line::RandomPick { split: after }
        } else {
            Line::After(self.traffic_after())
        });
        lines.push(if replicas >= from {
            Line::Probe {
                probe: old.and_then(|d| d.object).and_then(probe),
            }
        } else {
            Line::PodsLeave
        });
        lines
    }

    fn delete(&self, kind: ObjectKind, name: &str) -> Vec<Line> {
        let deployment = match kind {
            ObjectKind::Deployment => self.before.deployment(name),
            ObjectKind::Service | ObjectKind::Gateway | ObjectKind::HttpRoute => None,
        };
        if let Some(d) = deployment {
            return vec![
                Line::DeleteDeployment {
                    name: name.to_owned(),
                    version: d.version().unwrap_or_default().to_owned(),
                    replicas: d.replicas,
                },
                Line::LeaveEndpoints {
                    after: self.traffic_after(),
                },
            ];
        }
        vec![
            Line::DeleteService {
                name: name.to_owned(),
            },
            Line::ServiceGone,
        ]
    }

    fn switch(&self, service: &str, selector: &BTreeMap<String, String>) -> Vec<Line> {
        vec![
            Line::Switch {
                service: service.to_owned(),
                selector: labels(selector),
            },
            Line::SwitchAtOnce {
                target: self.after.selected(service),
            },
            Line::SwitchBack,
        ]
    }

    fn wait(&self, deployments: &[String], timeout: Duration, on_timeout: OnTimeout) -> Vec<Line> {
        vec![
            Line::Wait {
                deployments: deployments.to_vec(),
                timeout: duration(timeout),
            },
            Line::ReadyIsEndpoint,
            Line::WaitTimeout(on_timeout),
        ]
    }

    /// The tutorial's Grafana query for this plan's app.
    fn query(&self) -> String {
        let app = self
            .after
            .selector(self.plan.entry.name())
            .and_then(|s| s.get("app"))
            .cloned()
            .unwrap_or_else(|| self.plan.entry.name().to_owned());
        format!("sum(rate(http_requests_total{{app=\"{app}\"}}[2m])) by (version)")
    }

    fn observe(&self, phase: &str, length: Duration) -> Vec<Line> {
        let pods: Pods = self.after.selected(self.plan.entry.name());
        let share = match self.plain_request_shares() {
            Some((routed, mirrored)) => Line::RouteShare {
                routed: shares_text(&routed),
                mirrored: shares_text(&mirrored),
            },
            None => Line::DrawShare { split: pods },
        };
        vec![
            Line::Watch {
                phase: phase.to_owned(),
                length: duration(length),
            },
            share,
            Line::Grafana {
                query: self.query(),
            },
        ]
    }

    fn analyze(&self, phase: &str, length: Duration, interval: Duration) -> Vec<Line> {
        let pods = self.after.selected(self.plan.entry.name());
        let total = pods.values().fold(0i32, |sum, n| sum.saturating_add(*n));
        let candidate = &self.plan.candidate;
        let share = percent(pods.get(candidate).copied().unwrap_or(0), total);
        let g = &self.plan.gates;
        let success = format!("{:.2}", g.min_success_rate * 100.0);
        let success = success.trim_end_matches('0').trim_end_matches('.');
        let judge = match self.plain_request_shares() {
            Some((routed, mirrored)) => {
                let of = |shares: &BTreeMap<String, f64>| {
                    shares
                        .get(candidate)
                        .filter(|share| **share > 0.0)
                        .map_or_else(String::new, |share| share_percent(*share))
                };
                Line::JudgeRoutes {
                    candidate: candidate.clone(),
                    phase: phase.to_owned(),
                    length: duration(length),
                    interval: duration(interval),
                    routed: of(&routed),
                    mirrored: of(&mirrored),
                }
            }
            None => Line::Judge {
                candidate: candidate.clone(),
                phase: phase.to_owned(),
                length: duration(length),
                interval: duration(interval),
                share,
            },
        };
        vec![
            judge,
            Line::Gates {
                success: success.to_owned(),
                max_p99_ms: g.max_p99_ms,
                max_p99_ratio: g.max_p99_ratio,
                baseline: self.plan.baseline.clone(),
                max_restarts: g.max_restarts,
                min_samples: g.min_samples,
            },
            Line::DecisionRule,
        ]
    }
}
