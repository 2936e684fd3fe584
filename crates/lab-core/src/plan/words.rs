//! How a plan names objects, routes, selectors, counts and durations in text.

use crate::object::Object;
use std::collections::BTreeMap;
use std::time::Duration;

pub(super) fn describe_object(object: &Object) -> String {
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
pub(super) fn describe_route(route: &crate::gateway::HttpRoute) -> String {
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
pub(super) fn describe_match(condition: &crate::gateway::HttpRouteMatch) -> String {
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
pub(super) fn selector_text(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn count(n: i32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A duration as people write it: `6s`, `500ms`, `2m`.
pub(super) fn text(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// A number without needless decimals: `99`, `99.5`, `2`.
pub(super) fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}
