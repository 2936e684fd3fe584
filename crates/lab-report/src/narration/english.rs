//! The narration's English table.

use super::messages::{After, Heading, Line, Pods, split};
use lab_core::plan::OnTimeout;

/// What the pause asks of the reader.
pub(crate) const PROMPT: &str = "Press Enter to run it (traffic keeps flowing while you read)";

/// What is said when the input ends and the pauses stop.
pub(crate) const NO_MORE_PAUSES: &str = "input closed: continuing without pauses";

pub(crate) fn heading(heading: &Heading) -> String {
    match heading {
        Heading::Main { n, total } => format!("step {n} of {total}"),
        Heading::Rollback { n, total } => format!("rollback step {n} of {total}"),
    }
}

fn pods(n: i32) -> String {
    match n {
        1 => "1 pod".to_string(),
        n => format!("{n} pods"),
    }
}

fn after(after: &After) -> String {
    match after {
        After::Nobody => "After this, no pod is left to answer.".to_string(),
        After::All { version, pods: n } => {
            format!("After this, all traffic goes to {version} ({}).", pods(*n))
        }
        After::Split(shares) => format!("After this, the split is {}.", split(shares, pods)),
    }
}

fn target(target: &Pods) -> String {
    target
        .iter()
        .map(|(v, n)| format!("{v} ({})", pods(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn line(line: &Line) -> String {
    match line {
        Line::Create {
            service,
            deployments,
        } => {
            let made: Vec<String> = deployments
                .iter()
                .map(|d| {
                    format!(
                        "Deployment {} with {} of {}",
                        d.name,
                        pods(d.replicas),
                        d.version
                    )
                })
                .collect();
            match service {
                Some(s) if made.is_empty() => format!("Create Service {s}."),
                Some(s) => format!("Create Service {s} and {}.", made.join(" and ")),
                None => format!("Create {}.", made.join(" and ")),
            }
        }
        Line::ChangeTemplate {
            deployment,
            from,
            to,
            replicas,
        } => format!(
            "Change Deployment {deployment}'s pod template from {from} to {to} ({}).",
            pods(*replicas)
        ),
        Line::RollingUpdate {
            max_surge,
            max_unavailable,
        } => format!(
            "With RollingUpdate (maxSurge {max_surge}, maxUnavailable {max_unavailable}) Kubernetes replaces pods a few at a time, so both versions answer while it rolls, in proportion to their ready pods."
        ),
        Line::Termination { pre_stop: None } => "Each old pod leaves the endpoints and gets SIGTERM at the same moment, but kube-proxy stops sending it connections only after its sync (about a second): an app that stops accepting at SIGTERM, with no preStop hook, refuses the requests of that gap.".to_string(),
        Line::Termination { pre_stop: Some(hook) } => format!(
            "Each old pod leaves the endpoints while its preStop hook ({hook}) runs; SIGTERM comes only after it, once kube-proxy (a sync of about a second) has stopped sending it connections, so no request is refused."
        ),
        Line::Recreate => "With Recreate, Kubernetes stops every old pod before it starts a new one: the Service has no ready endpoint in between, which is downtime.".to_string(),
        Line::Probe { probe: Some(p) } => {
            format!("A new pod gets traffic only after its readiness probe ({p}) passes.")
        }
        Line::Probe { probe: None } => "A new pod gets traffic only once it is ready.".to_string(),
        Line::SelectsAnyVersion { selector } => format!(
            "The Service selects pods by `{selector}` only, not by version: every ready pod with that label gets an equal share of new connections."
        ),
        Line::SelectsVersion { selector } => format!(
            "The Service selects `{selector}`, version included: only those pods get traffic, whatever else runs."
        ),
        Line::NotSelected { selector } => format!(
            "The Service selects `{selector}`, which these pods do not match: they run without traffic for now."
        ),
        Line::JoinsSplit { selector, split: shares } => format!(
            "Its pods carry `{selector}` too, so the Service sends them traffic once they are ready: {}.",
            split(shares, pods)
        ),
        Line::TakesAll => {
            "The Service sends all of its traffic to these pods once they are ready.".to_string()
        }
        Line::NoService { service } => {
            format!("No Service {service} selects them yet, so they get no traffic.")
        }
        Line::Reapplied { file } => format!("{file} is applied as it is written."),
        Line::Scale {
            deployment,
            version,
            from,
            to,
        } => format!(
            "Scale Deployment {deployment} ({version}) from {} to {to}.",
            pods(*from)
        ),
        Line::RandomPick { split: shares } => format!(
            "The Service picks a ready pod at random for each new connection, so pod counts set the split: {}.",
            split(shares, pods)
        ),
        Line::After(then) => after(then),
        Line::PodsLeave => {
            "Pods that go away leave the Service's endpoints first, then stop.".to_string()
        }
        Line::DeleteDeployment {
            name,
            version,
            replicas,
        } => format!("Delete Deployment {name} ({version}, {}).", pods(*replicas)),
        Line::LeaveEndpoints { after: then } => format!(
            "Its pods leave the Service's endpoints first and then stop, so requests in flight still get their answer. {}",
            after(then)
        ),
        Line::DeleteService { name } => format!("Delete Service {name}."),
        Line::ServiceGone => "Traffic sent to it no longer reaches any pod.".to_string(),
        Line::Switch { service, selector } => {
            format!("Point Service {service}'s selector at `{selector}`.")
        }
        Line::SwitchAtOnce { target: to } => format!(
            "Every new connection now goes to {} at once: blue/green moves all traffic in one step, not by pod counts.",
            target(to)
        ),
        Line::SwitchBack => {
            "The other version's pods keep running, so switching back is just as quick."
                .to_string()
        }
        Line::Wait {
            deployments,
            timeout,
        } => {
            let verb = if deployments.len() == 1 { "is" } else { "are" };
            format!(
                "Wait until {} {verb} rolled out with every pod ready (what `kubectl rollout status` waits for), at most {timeout}.",
                deployments.join(", ")
            )
        }
        Line::ReadyIsEndpoint => "Only pods whose readiness probe passes are Service endpoints, so the split changes when pods become ready, not when they are created.".to_string(),
        Line::WaitTimeout(OnTimeout::RollBack) => "If that takes longer, the candidate missed its progress deadline and is rolled back.".to_string(),
        Line::WaitTimeout(OnTimeout::Fail) => {
            "If that takes longer, the run stops: the lab itself did not come up.".to_string()
        }
        Line::Watch { phase, length } => {
            format!("Watch phase `{phase}` for {length} without changing anything.")
        }
        Line::DrawShare { split: shares } => format!(
            "Each version should draw its share of the ready pods: {}.",
            split(shares, pods)
        ),
        Line::Grafana { query } => {
            format!("The tutorial watches the same thing in Grafana: `{query}`.")
        }
        Line::Judge {
            candidate,
            phase,
            length,
            interval,
            share,
        } => format!(
            "Judge {candidate} on live traffic for {length} (phase `{phase}`), checking the gates every {interval}; it draws about {share} of the requests."
        ),
        Line::Gates {
            success,
            max_p99_ms,
            max_p99_ratio,
            baseline,
            max_restarts,
            min_samples,
        } => format!(
            "Gates: success rate ≥ {success}%, p99 ≤ {max_p99_ms} ms and at most {max_p99_ratio} × {baseline}'s, at most {max_restarts} restarts; nothing passes on fewer than {min_samples} requests."
        ),
        Line::DecisionRule => "A clear failure rolls back at once; otherwise every gate must pass at the end to promote.".to_string(),
        Line::GatewayOpens { gateway } => format!(
            "Gateway {gateway} opens a listener: from now on requests enter there, and its HTTPRoutes, not the Services' pod counts, decide where each one goes."
        ),
        Line::GatewayNoRoute { gateway } => format!(
            "Until an HTTPRoute names it as its parent, Gateway {gateway} answers every request with 404."
        ),
        Line::RouteApplied { route } => format!(
            "The apply replaces HTTPRoute {route}'s rules in place: no pod restarts, and requests follow the new rules as soon as the gateway has taken the change."
        ),
        Line::BehindRoute { gateway } => format!(
            "These pods get requests only through Gateway {gateway}, once an HTTPRoute names their Service: by the route's weight, not by how many pods there are."
        ),
        Line::HeaderMatch { headers, services } => format!(
            "Requests with `{headers}` go to {services}; every other request falls through to the next rule. A header match picks a group of users, not a percentage."
        ),
        Line::Weights { backends } => format!(
            "Each request draws a backend by weight: {}. A weight is a share of requests, not of pods: the split stays the same however many pods each Service has.",
            backends
                .iter()
                .map(|(service, share, n)| format!("{service} {share} ({})", pods(*n)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Line::RouteTo { service, pods: n } => format!(
            "Every request this rule matches goes to {service} ({}).",
            pods(*n)
        ),
        Line::Mirror { service, share } => format!(
            "A RequestMirror filter also sends a copy of {share} of these requests to {service} and drops its answers: users only ever see the answers of the backends above, so {service} meets real requests without any user seeing its errors (its side effects, such as writes, still happen)."
        ),
        Line::RouteShare { routed, mirrored } => {
            let routed = if routed.is_empty() { "no version" } else { routed.as_str() };
            let mut text = format!("A request without the targeted headers should go to {routed}, by the route's weights");
            if !mirrored.is_empty() {
                text.push_str(&format!(", with copies to {mirrored}"));
            }
            text.push('.');
            text
        }
        Line::JudgeRoutes {
            candidate,
            phase,
            length,
            interval,
            routed,
            mirrored,
        } => {
            let what = match (routed.is_empty(), mirrored.is_empty()) {
                (false, _) => format!("it draws about {routed} of the requests without the targeted headers"),
                (true, false) => format!("it answers only copies ({mirrored} of the requests), so its gates read the copies' answers, which no user sees"),
                (true, true) => "the routes send it none of the requests without the targeted headers".to_owned(),
            };
            format!(
                "Judge {candidate} on live traffic for {length} (phase `{phase}`), checking the gates every {interval}; {what}."
            )
        }
    }
}
