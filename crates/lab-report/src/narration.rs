//! The teaching mode's narration: before each step, two or three lines on what
//! it does and why, in the tutorial's terms, with the `kubectl` command it
//! corresponds to. In English and Korean (the tutorial's language).
//!
//! The narration follows the plan: it replays the steps before this one
//! (Deployments, their replicas and pod labels, the Service's selector), so it
//! can say which pods the Service will pick and what split that gives.

use lab_core::object::{Object, labels_match};
use lab_core::plan::{OnTimeout, Plan, Step};
use lab_core::report::Section;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The narration's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// English.
    #[default]
    English,
    /// Korean, the tutorial's language.
    Korean,
}

impl Language {
    /// Every language, in the order they are listed to users.
    pub const ALL: [Language; 2] = [Language::English, Language::Korean];

    /// The code used on the command line (`en`, `ko`).
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Korean => "ko",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Language::ALL
            .into_iter()
            .find(|l| l.code() == text)
            .ok_or_else(|| format!("unknown language `{text}`: expected en or ko"))
    }
}

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
    let mut cluster = Cluster::default();
    match section {
        Section::Main => plan.steps[..index].iter().for_each(|s| cluster.apply(s)),
        Section::Rollback => {
            // A rollback starts from the state at the decision point.
            let decision = plan
                .steps
                .iter()
                .position(|s| matches!(s, Step::Analyze { .. }))
                .map_or(plan.steps.len(), |i| i + 1);
            plan.steps[..decision].iter().for_each(|s| cluster.apply(s));
            plan.rollback[..index].iter().for_each(|s| cluster.apply(s));
        }
    }
    let say = Say {
        plan,
        before: &cluster,
        after: &{
            let mut after = cluster.clone();
            after.apply(step);
            after
        },
        language,
    };
    Some(Narration {
        heading: heading(section, index, steps.len(), language),
        lines: say.step(step),
        kubectl: plan.kubectl(step),
    })
}

fn heading(section: Section, index: usize, total: usize, language: Language) -> String {
    let n = index + 1;
    match (section, language) {
        (Section::Main, Language::English) => format!("step {n} of {total}"),
        (Section::Rollback, Language::English) => format!("rollback step {n} of {total}"),
        (Section::Main, Language::Korean) => format!("{n}/{total}단계"),
        (Section::Rollback, Language::Korean) => format!("롤백 {n}/{total}단계"),
    }
}

/// What the pause asks of the reader.
pub fn prompt(language: Language) -> &'static str {
    match language {
        Language::English => "Press Enter to run it (traffic keeps flowing while you read)",
        Language::Korean => "Enter를 누르면 실행합니다 (읽는 동안에도 트래픽은 계속 흐릅니다)",
    }
}

/// What is said when the input ends and the pauses stop.
pub fn no_more_pauses(language: Language) -> &'static str {
    match language {
        Language::English => "input closed: continuing without pauses",
        Language::Korean => "입력이 닫혀서 더 멈추지 않고 계속 진행합니다",
    }
}

/// A Deployment as the narration tracks it.
#[derive(Debug, Clone)]
struct Deployment {
    version: String,
    replicas: i32,
    labels: BTreeMap<String, String>,
    strategy: Strategy,
    probe: Option<String>,
}

#[derive(Debug, Clone)]
enum Strategy {
    RollingUpdate {
        max_surge: String,
        max_unavailable: String,
    },
    Recreate,
}

/// The objects the plan has created so far.
#[derive(Debug, Clone, Default)]
struct Cluster {
    deployments: BTreeMap<String, Deployment>,
    services: BTreeMap<String, BTreeMap<String, String>>,
}

/// A JSON value as people write it in a manifest (`25%`, `1`).
fn scalar(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn deployment(object: &Object) -> Option<Deployment> {
    let d = object.as_deployment()?;
    // Read the few fields needed from the manifest's JSON form.
    let json = serde_json::to_value(d).ok()?;
    let strategy = &json["spec"]["strategy"];
    let strategy = if strategy["type"].as_str() == Some("Recreate") {
        Strategy::Recreate
    } else {
        let rolling = &strategy["rollingUpdate"];
        Strategy::RollingUpdate {
            max_surge: scalar(rolling.get("maxSurge")).unwrap_or_else(|| "25%".to_string()),
            max_unavailable: scalar(rolling.get("maxUnavailable"))
                .unwrap_or_else(|| "25%".to_string()),
        }
    };
    let probe = json["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|containers| {
            containers.iter().find_map(|c| {
                let get = &c["readinessProbe"]["httpGet"];
                let path = get["path"].as_str()?;
                let port = scalar(get.get("port"))?;
                Some(format!("GET {path}, port {port}"))
            })
        });
    Some(Deployment {
        version: object.version().unwrap_or("").to_string(),
        replicas: object.replicas().unwrap_or(1),
        labels: object.pod_labels().cloned().unwrap_or_default(),
        strategy,
        probe,
    })
}

impl Cluster {
    fn apply(&mut self, step: &Step) {
        match step {
            Step::Apply { objects, .. } => {
                for object in objects {
                    if let Some(selector) = object.service_selector() {
                        self.services
                            .insert(object.name().to_string(), selector.clone());
                    } else if let Some(d) = deployment(object) {
                        self.deployments.insert(object.name().to_string(), d);
                    }
                }
            }
            Step::Scale {
                deployment,
                replicas,
            } => {
                if let Some(d) = self.deployments.get_mut(deployment) {
                    d.replicas = *replicas;
                }
            }
            Step::Delete { name, .. } => {
                if self.deployments.remove(name).is_none() {
                    self.services.remove(name);
                }
            }
            Step::SwitchSelector { service, selector } => {
                self.services.insert(service.clone(), selector.clone());
            }
            Step::WaitReady { .. } | Step::Observe { .. } | Step::Analyze { .. } => {}
        }
    }

    /// Pods per version that a Service selects (all desired pods, once ready).
    fn selected(&self, service: &str) -> BTreeMap<String, i32> {
        let mut pods = BTreeMap::new();
        let Some(selector) = self.services.get(service) else {
            return pods;
        };
        for d in self.deployments.values() {
            if d.replicas > 0 && labels_match(selector, &d.labels) {
                *pods.entry(d.version.clone()).or_default() += d.replicas;
            }
        }
        pods
    }
}

/// `app: my-app, version: v2.0.0`, as in the YAML.
fn labels(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn percent(part: i32, total: i32) -> String {
    let value = f64::from(part) * 100.0 / f64::from(total.max(1));
    if (value - value.round()).abs() < 0.05 {
        format!("{value:.0}%")
    } else {
        format!("{value:.1}%")
    }
}

fn duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

struct Say<'a> {
    plan: &'a Plan,
    before: &'a Cluster,
    after: &'a Cluster,
    language: Language,
}

impl Say<'_> {
    fn ko(&self) -> bool {
        self.language == Language::Korean
    }

    fn pods(&self, n: i32) -> String {
        match (self.ko(), n) {
            (true, n) => format!("pod {n}개"),
            (false, 1) => "1 pod".to_string(),
            (false, n) => format!("{n} pods"),
        }
    }

    /// `v1.0.0 90% (9 pods), v2.0.0 10% (1 pod)`.
    fn split(&self, pods: &BTreeMap<String, i32>) -> String {
        let total: i32 = pods.values().sum();
        pods.iter()
            .map(|(v, n)| format!("{v} {} ({})", percent(*n, total), self.pods(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Where traffic goes once the step is done, as a sentence.
    fn traffic_after(&self) -> String {
        let pods = self.after.selected(&self.plan.service);
        match (pods.len(), self.ko()) {
            (0, false) => "After this, no pod is left to answer.".to_string(),
            (0, true) => "이후에는 응답할 pod가 하나도 남지 않습니다.".to_string(),
            (1, false) => {
                let (v, n) = pods.iter().next().unwrap();
                format!("After this, all traffic goes to {v} ({}).", self.pods(*n))
            }
            (1, true) => {
                let (v, n) = pods.iter().next().unwrap();
                format!(
                    "이후에는 모든 트래픽이 {v} 버전({})으로 갑니다.",
                    self.pods(*n)
                )
            }
            (_, false) => format!("After this, the split is {}.", self.split(&pods)),
            (_, true) => format!("이후 트래픽 비율은 이렇게 됩니다: {}.", self.split(&pods)),
        }
    }

    fn probe_line(&self, probe: Option<&String>) -> String {
        match (probe, self.ko()) {
            (Some(p), false) => {
                format!("A new pod gets traffic only after its readiness probe ({p}) passes.")
            }
            (None, false) => "A new pod gets traffic only once it is ready.".to_string(),
            (Some(p), true) => {
                format!("새 pod는 readiness probe({p})를 통과한 뒤에야 트래픽을 받습니다.")
            }
            (None, true) => "새 pod는 준비(ready)된 뒤에야 트래픽을 받습니다.".to_string(),
        }
    }

    fn step(&self, step: &Step) -> Vec<String> {
        match step {
            Step::Apply { file, objects } => self.apply(file, objects),
            Step::Scale {
                deployment,
                replicas,
            } => self.scale(deployment, *replicas),
            Step::Delete { name, .. } => self.delete(name),
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

    fn apply(&self, file: &str, objects: &[Object]) -> Vec<String> {
        let service = objects.iter().find(|o| {
            o.service_selector().is_some() && !self.before.services.contains_key(o.name())
        });
        let deployments: Vec<(&Object, Deployment)> = objects
            .iter()
            .filter_map(|o| Some((o, deployment(o)?)))
            .collect();
        let mut lines = Vec::new();
        let ko = self.ko();
        // What is created or changed.
        let mut created = Vec::new();
        let mut changed = None;
        for (object, d) in &deployments {
            match self.before.deployments.get(object.name()) {
                Some(old) if old.version != d.version => changed = Some((*object, old, d)),
                Some(_) => {}
                None => created.push((*object, d)),
            }
        }
        let made: Vec<String> = created
            .iter()
            .map(|(o, d)| {
                if ko {
                    format!(
                        "{} Deployment({} 버전 {})",
                        o.name(),
                        d.version,
                        self.pods(d.replicas)
                    )
                } else {
                    format!(
                        "Deployment {} with {} of {}",
                        o.name(),
                        self.pods(d.replicas),
                        d.version
                    )
                }
            })
            .collect();
        match (service, made.is_empty(), ko) {
            (Some(s), true, false) => lines.push(format!("Create Service {}.", s.name())),
            (Some(s), false, false) => lines.push(format!(
                "Create Service {} and {}.",
                s.name(),
                made.join(" and ")
            )),
            (None, false, false) => lines.push(format!("Create {}.", made.join(" and "))),
            (Some(s), true, true) => lines.push(format!("{} Service를 만듭니다.", s.name())),
            (Some(s), false, true) => lines.push(format!(
                "{} Service와 {}를 만듭니다.",
                s.name(),
                made.join(", ")
            )),
            (None, false, true) => lines.push(format!("{}를 만듭니다.", made.join(", "))),
            (None, true, _) => {}
        }
        if let Some((object, old, new)) = changed {
            lines.push(if ko {
                format!(
                    "{} Deployment의 pod 템플릿을 {} 버전에서 {} 버전으로 바꿉니다({}).",
                    object.name(),
                    old.version,
                    new.version,
                    self.pods(new.replicas)
                )
            } else {
                format!(
                    "Change Deployment {}'s pod template from {} to {} ({}).",
                    object.name(),
                    old.version,
                    new.version,
                    self.pods(new.replicas)
                )
            });
            lines.push(match (&new.strategy, ko) {
                (Strategy::RollingUpdate { max_surge, max_unavailable }, false) => format!(
                    "With RollingUpdate (maxSurge {max_surge}, maxUnavailable {max_unavailable}) Kubernetes replaces pods a few at a time, so both versions answer while it rolls, in proportion to their ready pods."
                ),
                (Strategy::RollingUpdate { max_surge, max_unavailable }, true) => format!(
                    "RollingUpdate 전략(maxSurge {max_surge}, maxUnavailable {max_unavailable})이라 pod를 몇 개씩 차례로 교체하므로, 교체되는 동안에는 두 버전이 준비된 pod 수에 비례해 함께 응답합니다."
                ),
                (Strategy::Recreate, false) => "With Recreate, Kubernetes stops every old pod before it starts a new one: the Service has no ready endpoint in between, which is downtime.".to_string(),
                (Strategy::Recreate, true) => "Recreate 전략이라 기존 pod를 모두 종료한 뒤에 새 pod를 띄웁니다. 그 사이에는 Service에 준비된 endpoint가 없으므로 다운타임이 생깁니다.".to_string(),
            });
            lines.push(self.probe_line(new.probe.as_ref()));
            return lines;
        }
        // Who the Service sends traffic to, and why.
        let selector = self.after.services.get(&self.plan.service);
        let after = self.after.selected(&self.plan.service);
        if let Some(selector) = selector {
            let by_version = selector.contains_key(lab_core::object::VERSION_LABEL);
            let new_versions: Vec<&Deployment> = created.iter().map(|(_, d)| *d).collect();
            let new_selected = new_versions
                .iter()
                .any(|d| labels_match(selector, &d.labels));
            let line = match (service.is_some(), by_version, new_selected, after.len(), ko) {
                (true, false, _, _, false) => format!(
                    "The Service selects pods by `{}` only, not by version: every ready pod with that label gets an equal share of new connections.",
                    labels(selector)
                ),
                (true, false, _, _, true) => format!(
                    "Service는 버전이 아니라 `{}` 라벨만 보고 pod를 고릅니다. 이 라벨이 붙은 준비된 pod라면 어느 버전이든 새 연결을 같은 확률로 받습니다.",
                    labels(selector)
                ),
                (true, true, _, _, false) => format!(
                    "The Service selects `{}`, version included: only those pods get traffic, whatever else runs.",
                    labels(selector)
                ),
                (true, true, _, _, true) => format!(
                    "Service 셀렉터에 version 라벨(`{}`)이 들어 있어서, 다른 버전이 떠 있어도 이 pod들만 트래픽을 받습니다.",
                    labels(selector)
                ),
                (false, _, false, _, false) => format!(
                    "The Service selects `{}`, which these pods do not match: they run without traffic for now.",
                    labels(selector)
                ),
                (false, _, false, _, true) => format!(
                    "Service 셀렉터(`{}`)와 맞지 않으므로 이 pod들은 아직 트래픽을 받지 않습니다.",
                    labels(selector)
                ),
                (false, _, true, n, false) if n > 1 => format!(
                    "Its pods carry `{}` too, so the Service sends them traffic once they are ready: {}.",
                    labels(selector),
                    self.split(&after)
                ),
                (false, _, true, n, true) if n > 1 => format!(
                    "이 pod들도 `{}` 라벨을 달고 있어서, 준비되는 대로 Service가 함께 트래픽을 보냅니다: {}.",
                    labels(selector),
                    self.split(&after)
                ),
                (false, _, true, _, false) => {
                    "The Service sends all of its traffic to these pods once they are ready."
                        .to_string()
                }
                (false, _, true, _, true) => {
                    "준비되는 대로 Service가 모든 트래픽을 이 pod들로 보냅니다.".to_string()
                }
            };
            lines.push(line);
        } else if !ko {
            lines.push(format!(
                "No Service {} selects them yet, so they get no traffic.",
                self.plan.service
            ));
        } else {
            lines.push(format!(
                "아직 {} Service가 없으므로 이 pod들은 트래픽을 받지 않습니다.",
                self.plan.service
            ));
        }
        if let Some((_, d)) = created.first() {
            lines.push(self.probe_line(d.probe.as_ref()));
        } else if lines.len() < 2 {
            lines.push(if ko {
                format!("{file} 파일의 내용 그대로 다시 적용합니다.")
            } else {
                format!("{file} is applied as it is written.")
            });
        }
        lines
    }

    fn scale(&self, name: &str, replicas: i32) -> Vec<String> {
        let ko = self.ko();
        let old = self.before.deployments.get(name);
        let version = old.map_or("", |d| d.version.as_str());
        let from = old.map_or(0, |d| d.replicas);
        let mut lines = vec![if ko {
            format!(
                "{name} Deployment({version})의 replicas를 {from}개에서 {replicas}개로 바꿉니다."
            )
        } else {
            format!(
                "Scale Deployment {name} ({version}) from {} to {replicas}.",
                self.pods(from)
            )
        }];
        let after = self.after.selected(&self.plan.service);
        lines.push(match (after.len() > 1, ko) {
            (true, false) => format!(
                "The Service picks a ready pod at random for each new connection, so pod counts set the split: {}.",
                self.split(&after)
            ),
            (true, true) => format!(
                "Service는 새 연결마다 준비된 pod 하나를 무작위로 고르므로 pod 수가 곧 트래픽 비율이 됩니다: {}.",
                self.split(&after)
            ),
            (false, _) => self.traffic_after(),
        });
        lines.push(match (replicas >= from, ko) {
            (true, _) => self.probe_line(old.and_then(|d| d.probe.as_ref())),
            (false, false) => {
                "Pods that go away leave the Service's endpoints first, then stop.".to_string()
            }
            (false, true) => {
                "줄어드는 pod는 먼저 Service endpoint에서 빠진 뒤 종료됩니다.".to_string()
            }
        });
        lines
    }

    fn delete(&self, name: &str) -> Vec<String> {
        let ko = self.ko();
        if let Some(d) = self.before.deployments.get(name) {
            return vec![
                if ko {
                    format!(
                        "{name} Deployment({} 버전, {})를 삭제합니다.",
                        d.version,
                        self.pods(d.replicas)
                    )
                } else {
                    format!(
                        "Delete Deployment {name} ({}, {}).",
                        d.version,
                        self.pods(d.replicas)
                    )
                },
                if ko {
                    format!(
                        "pod는 먼저 Service endpoint에서 빠지고 나서 종료되므로 처리 중인 요청은 끝까지 응답을 받습니다. {}",
                        self.traffic_after()
                    )
                } else {
                    format!(
                        "Its pods leave the Service's endpoints first and then stop, so requests in flight still get their answer. {}",
                        self.traffic_after()
                    )
                },
            ];
        }
        if ko {
            vec![
                format!("{name} Service를 삭제합니다."),
                "이 Service로 들어오던 트래픽은 더 이상 pod에 전달되지 않습니다.".to_string(),
            ]
        } else {
            vec![
                format!("Delete Service {name}."),
                "Traffic sent to it no longer reaches any pod.".to_string(),
            ]
        }
    }

    fn switch(&self, service: &str, selector: &BTreeMap<String, String>) -> Vec<String> {
        let after = self.after.selected(service);
        let target = after
            .iter()
            .map(|(v, n)| {
                if self.ko() {
                    format!("{v} 버전({})", self.pods(*n))
                } else {
                    format!("{v} ({})", self.pods(*n))
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        if self.ko() {
            vec![
                format!(
                    "{service} Service의 셀렉터를 바꿉니다: `{}`.",
                    labels(selector)
                ),
                format!(
                    "이제 모든 새 연결이 한꺼번에 {target}으로 갑니다. Blue/Green은 pod 수가 아니라 셀렉터로 트래픽을 한 번에 옮깁니다."
                ),
                "이전 버전 pod는 그대로 떠 있으므로, 되돌릴 때도 셀렉터만 다시 바꾸면 됩니다."
                    .to_string(),
            ]
        } else {
            vec![
                format!(
                    "Point Service {service}'s selector at `{}`.",
                    labels(selector)
                ),
                format!(
                    "Every new connection now goes to {target} at once: blue/green moves all traffic in one step, not by pod counts."
                ),
                "The other version's pods keep running, so switching back is just as quick."
                    .to_string(),
            ]
        }
    }

    fn wait(
        &self,
        deployments: &[String],
        timeout: Duration,
        on_timeout: OnTimeout,
    ) -> Vec<String> {
        let names = deployments.join(", ");
        let timeout = duration(timeout);
        if self.ko() {
            vec![
                format!(
                    "{names} Deployment의 모든 pod가 준비될 때까지 기다립니다(`kubectl rollout status`와 같으며, 최대 {timeout})."
                ),
                "readiness probe를 통과한 pod만 Service endpoint가 되므로, 트래픽 비율은 pod가 생성될 때가 아니라 준비될 때 바뀝니다.".to_string(),
                match on_timeout {
                    OnTimeout::RollBack => "그 안에 준비되지 않으면 새 버전이 진행 기한(progress deadline)을 넘긴 것으로 보고 롤백합니다.".to_string(),
                    OnTimeout::Fail => "그 안에 준비되지 않으면 실습 환경 자체가 올라오지 않은 것이므로 실행을 멈춥니다.".to_string(),
                },
            ]
        } else {
            let verb = if deployments.len() == 1 { "is" } else { "are" };
            vec![
                format!(
                    "Wait until {names} {verb} rolled out with every pod ready (what `kubectl rollout status` waits for), at most {timeout}."
                ),
                "Only pods whose readiness probe passes are Service endpoints, so the split changes when pods become ready, not when they are created.".to_string(),
                match on_timeout {
                    OnTimeout::RollBack => "If that takes longer, the candidate missed its progress deadline and is rolled back.".to_string(),
                    OnTimeout::Fail => "If that takes longer, the run stops: the lab itself did not come up.".to_string(),
                },
            ]
        }
    }

    /// The tutorial's Grafana query for this plan's app.
    fn query(&self) -> String {
        let app = self
            .after
            .services
            .get(&self.plan.service)
            .and_then(|s| s.get("app"))
            .cloned()
            .unwrap_or_else(|| self.plan.service.clone());
        format!("sum(rate(http_requests_total{{app=\"{app}\"}}[2m])) by (version)")
    }

    fn observe(&self, phase: &str, length: Duration) -> Vec<String> {
        let pods = self.after.selected(&self.plan.service);
        let length = duration(length);
        if self.ko() {
            vec![
                format!("아무것도 바꾸지 않고 {length} 동안 `{phase}` 구간의 트래픽을 지켜봅니다."),
                format!(
                    "각 버전은 준비된 pod 비율만큼 요청을 받아야 합니다: {}.",
                    self.split(&pods)
                ),
                format!(
                    "튜토리얼에서는 같은 모습을 Grafana의 `{}` 패널로 확인합니다.",
                    self.query()
                ),
            ]
        } else {
            vec![
                format!("Watch phase `{phase}` for {length} without changing anything."),
                format!(
                    "Each version should draw its share of the ready pods: {}.",
                    self.split(&pods)
                ),
                format!(
                    "The tutorial watches the same thing in Grafana: `{}`.",
                    self.query()
                ),
            ]
        }
    }

    fn analyze(&self, phase: &str, length: Duration, interval: Duration) -> Vec<String> {
        let pods = self.after.selected(&self.plan.service);
        let total: i32 = pods.values().sum();
        let candidate = &self.plan.candidate;
        let baseline = &self.plan.baseline;
        let share = percent(pods.get(candidate).copied().unwrap_or(0), total);
        let g = &self.plan.gates;
        let (length, interval) = (duration(length), duration(interval));
        let success = format!("{:.2}", g.min_success_rate * 100.0);
        let success = success.trim_end_matches('0').trim_end_matches('.');
        if self.ko() {
            vec![
                format!(
                    "{length} 동안 실제 트래픽으로 {candidate} 버전을 평가하며(`{phase}` 구간), {interval}마다 게이트를 확인합니다. {candidate} 버전은 요청의 약 {share}를 받습니다."
                ),
                format!(
                    "게이트: 성공률 ≥ {success}%, p99 ≤ {} ms, p99가 {baseline} 버전의 {}배 이하, 재시작 {}회 이하. 요청이 {}개 미만이면 어떤 게이트도 통과하지 않습니다.",
                    g.max_p99_ms, g.max_p99_ratio, g.max_restarts, g.min_samples
                ),
                "명확한 실패가 보이면 즉시 롤백하고, 그렇지 않으면 끝에서 모든 게이트를 통과해야 승격(promote)합니다.".to_string(),
            ]
        } else {
            vec![
                format!(
                    "Judge {candidate} on live traffic for {length} (phase `{phase}`), checking the gates every {interval}; it draws about {share} of the requests."
                ),
                format!(
                    "Gates: success rate ≥ {success}%, p99 ≤ {} ms and at most {} × {baseline}'s, at most {} restarts; nothing passes on fewer than {} requests.",
                    g.max_p99_ms, g.max_p99_ratio, g.max_restarts, g.min_samples
                ),
                "A clear failure rolls back at once; otherwise every gate must pass at the end to promote.".to_string(),
            ]
        }
    }
}
