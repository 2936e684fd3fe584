//! What the narration says, as typed messages with their parameters; the
//! language tables (`english`, `korean`) turn them into text.

use lab_core::object::PodCount;
use lab_core::plan::OnTimeout;
use std::collections::BTreeMap;

/// A narration's heading: which step of how many.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Heading {
    /// Step `n` of `total` of the main steps.
    Main { n: usize, total: usize },
    /// Step `n` of `total` of the rollback steps.
    Rollback { n: usize, total: usize },
}

/// Pods per version.
pub(crate) type Pods = BTreeMap<String, i32>;

/// A Deployment an apply creates.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Created {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) replicas: i32,
}

/// Where traffic goes once a step is done.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum After {
    /// No pod is left to answer.
    Nobody,
    /// One version takes it all.
    All { version: String, pods: i32 },
    /// Several versions share it.
    Split(Pods),
}

/// One line of a narration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Line {
    /// An apply creates a Service, Deployments, or both.
    Create {
        service: Option<String>,
        deployments: Vec<Created>,
    },
    /// An apply changes a Deployment's pod template to another version.
    ChangeTemplate {
        deployment: String,
        from: String,
        to: String,
        replicas: i32,
    },
    /// How a RollingUpdate rolls.
    RollingUpdate {
        max_surge: PodCount,
        max_unavailable: PodCount,
    },
    /// How a Recreate rolls.
    Recreate,
    /// How an old pod's termination races the proxy: it leaves the endpoints
    /// and gets SIGTERM (after its preStop hook, when it has one) at once,
    /// while kube-proxy learns of it only after its sync.
    Termination {
        /// The preStop hook, as `sleep 3s`; `None`: none.
        pre_stop: Option<String>,
    },
    /// New pods wait for their readiness probe (`GET /ready, port probe`).
    Probe { probe: Option<String> },
    /// A new Service selects by labels without the version.
    SelectsAnyVersion { selector: String },
    /// A new Service selects a version.
    SelectsVersion { selector: String },
    /// New pods do not match the Service's selector.
    NotSelected { selector: String },
    /// New pods match the selector and join a split.
    JoinsSplit { selector: String, split: Pods },
    /// New pods match the selector and take all traffic.
    TakesAll,
    /// There is no Service yet.
    NoService { service: String },
    /// An apply that changes nothing visible.
    Reapplied { file: String },
    /// A scale step.
    Scale {
        deployment: String,
        version: String,
        from: i32,
        to: i32,
    },
    /// Pod counts set the split.
    RandomPick { split: Pods },
    /// Where traffic goes after the step.
    After(After),
    /// Pods that go away leave the endpoints first.
    PodsLeave,
    /// A Deployment is deleted.
    DeleteDeployment {
        name: String,
        version: String,
        replicas: i32,
    },
    /// Its pods leave the endpoints first; then traffic goes on as said.
    LeaveEndpoints { after: After },
    /// A Service is deleted.
    DeleteService { name: String },
    /// Traffic sent to a deleted Service reaches nothing.
    ServiceGone,
    /// A Service's selector is switched.
    Switch { service: String, selector: String },
    /// Every new connection goes to the selected pods at once.
    SwitchAtOnce { target: Pods },
    /// The other version keeps running.
    SwitchBack,
    /// A wait step.
    Wait {
        deployments: Vec<String>,
        timeout: String,
    },
    /// Only ready pods are endpoints.
    ReadyIsEndpoint,
    /// What a wait's timeout means.
    WaitTimeout(OnTimeout),
    /// An observe phase.
    Watch { phase: String, length: String },
    /// Each version draws its share of the ready pods.
    DrawShare { split: Pods },
    /// The tutorial's Grafana query.
    Grafana { query: String },
    /// The analyze phase.
    Judge {
        candidate: String,
        phase: String,
        length: String,
        interval: String,
        share: String,
    },
    /// The gates.
    Gates {
        success: String,
        max_p99_ms: f64,
        max_p99_ratio: f64,
        baseline: String,
        max_restarts: u32,
        min_samples: u64,
    },
    /// How the decision is made.
    DecisionRule,
    /// A Gateway opens a listener: traffic enters there from now on.
    GatewayOpens { gateway: String },
    /// A Gateway without a route answers 404.
    GatewayNoRoute { gateway: String },
    /// A route's rules are replaced in place by the apply.
    RouteApplied { route: String },
    /// New pods are reached only through a Service an HTTPRoute names.
    BehindRoute { gateway: String },
    /// A rule sends requests with these headers to these Services.
    HeaderMatch { headers: String, services: String },
    /// A rule draws a backend per request by weight: (Service, share, pods).
    Weights {
        backends: Vec<(String, String, i32)>,
    },
    /// A rule sends every request it matches to one Service.
    RouteTo { service: String, pods: i32 },
    /// A rule copies a share of its requests to a Service, answers dropped.
    Mirror { service: String, share: String },
    /// Where a request without the targeted headers goes, per version, and
    /// the share copied to each version.
    RouteShare { routed: String, mirrored: String },
    /// The analyze phase through a Gateway: judged on what the routes send
    /// the candidate, or on the copies mirrored to it.
    JudgeRoutes {
        candidate: String,
        phase: String,
        length: String,
        interval: String,
        /// The candidate's share of plain requests; empty when it gets only
        /// copies.
        routed: String,
        /// The share of requests copied to it; empty when none.
        mirrored: String,
    },
}

/// `part` of `total` as a percentage: `90%`, `9.1%`.
pub(crate) fn percent(part: i32, total: i32) -> String {
    let value = f64::from(part) * 100.0 / f64::from(total.max(1));
    if (value - value.round()).abs() < 0.05 {
        format!("{value:.0}%")
    } else {
        format!("{value:.1}%")
    }
}

/// Each version's share of the pods with its count, rendered by `pods`:
/// `v1.0.0 90% (9 pods), v2.0.0 10% (1 pod)`.
pub(crate) fn split(split: &Pods, pods: fn(i32) -> String) -> String {
    let total = split.values().fold(0i32, |sum, n| sum.saturating_add(*n));
    split
        .iter()
        .map(|(v, n)| format!("{v} {} ({})", percent(*n, total), pods(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}
