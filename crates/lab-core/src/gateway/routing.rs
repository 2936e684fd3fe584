//! Which rule of which route a request reaches, as the Gateway API defines
//! it, and where that rule sends it: one model for the local gateway, which
//! routes every request with it, and for the analysis, which asks it where
//! each class of the lab's traffic should go.
//!
//! Precedence, across every rule of every route attached to a Gateway
//! (`HTTPRouteRule.matches` in the spec): an `Exact` path match, then the
//! longest `PathPrefix`, then a method match, then the most header matches,
//! then the most query parameter matches; remaining ties go to the oldest
//! route, then to `namespace/name` in alphabetical order, and within a route
//! to the first matching rule. A request no rule matches gets a 404.

use super::types::{HttpRoute, HttpRouteMatch, PathMatchType};
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// What routing reads of a request's headers (names are case-insensitive).
pub trait Headers {
    /// The first value of the header `name`, if the request has it.
    fn header(&self, name: &str) -> Option<&str>;
}

impl Headers for BTreeMap<String, String> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A request as routing sees it.
pub struct Request<'a> {
    /// `GET`, `POST`, ….
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The query string, without `?` (empty when none).
    pub query: &'a str,
    /// The headers.
    pub headers: &'a dyn Headers,
}

impl Request<'_> {
    /// The first value of query parameter `name` (case-sensitive).
    fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then_some(value)
        })
    }
}

/// A backend of a rule: a Service's port and its weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The Service.
    pub service: String,
    /// The Service port.
    pub port: Option<i32>,
    /// Its weight (proportional; 0 sends nothing).
    pub weight: u32,
}

/// A mirror of a rule: a Service's port and the share of requests copied to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mirror {
    /// The Service.
    pub service: String,
    /// The Service port.
    pub port: Option<i32>,
    /// The share of the rule's requests mirrored, 0 to 1.
    pub share: f64,
}

/// What a rule does with the requests it matches.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rule {
    /// The route the rule belongs to.
    pub route: String,
    /// Its index in the route's rules, from 0.
    pub index: usize,
    /// Where requests go, by weight.
    pub backends: Vec<Backend>,
    /// Where copies of them go.
    pub mirrors: Vec<Mirror>,
}

impl Rule {
    /// The backend a request goes to, given a number drawn uniformly from
    /// `[0, 1)`: each backend with the probability `weight / sum of weights`;
    /// `None` when every weight is 0 or there is no backend.
    pub fn pick(&self, draw: f64) -> Option<&Backend> {
        let total: u64 = self.backends.iter().map(|b| u64::from(b.weight)).sum();
        if total == 0 {
            return None;
        }
        let mut target = (draw.clamp(0.0, 1.0) * total as f64) as u64;
        for backend in &self.backends {
            let weight = u64::from(backend.weight);
            if target < weight {
                return Some(backend);
            }
            target -= weight;
        }
        self.backends.iter().rev().find(|b| b.weight > 0)
    }

    /// The share of the rule's requests each backend draws (weight over the
    /// sum of weights), in the rule's order; empty when every weight is 0.
    pub fn backend_shares(&self) -> Vec<(&Backend, f64)> {
        let total: u64 = self.backends.iter().map(|b| u64::from(b.weight)).sum();
        if total == 0 {
            return Vec::new();
        }
        self.backends
            .iter()
            .map(|backend| (backend, f64::from(backend.weight) / total as f64))
            .collect()
    }
}

/// The precedence of one match, compared field by field (greater wins).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Precedence {
    exact: bool,
    prefix_length: usize,
    method: bool,
    headers: usize,
    query_params: usize,
}

/// One match of one rule, compiled.
#[derive(Debug, Clone)]
struct Entry {
    precedence: Precedence,
    /// The route's age (its place among the routes, oldest first).
    age: usize,
    /// `namespace/name`.
    key: String,
    rule: usize,
    condition: HttpRouteMatch,
}

/// Every rule of the routes attached to a Gateway, in precedence order.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    entries: Vec<Entry>,
    rules: Vec<Rule>,
}

impl RouteTable {
    /// The table of `routes`, given oldest first.
    pub fn new<'a>(routes: impl IntoIterator<Item = &'a HttpRoute>) -> RouteTable {
        let mut table = RouteTable::default();
        for (age, route) in routes.into_iter().enumerate() {
            let key = format!(
                "{}/{}",
                route.metadata.namespace.as_deref().unwrap_or(""),
                route.name()
            );
            let default_rules = [Default::default()];
            let rules = match route.spec.rules.as_deref() {
                Some(rules) if !rules.is_empty() => rules,
                _ => &default_rules[..],
            };
            for (index, rule) in rules.iter().enumerate() {
                let rule_at = table.rules.len();
                table.rules.push(Rule {
                    route: route.name().to_owned(),
                    index,
                    backends: rule
                        .backend_refs
                        .iter()
                        .flatten()
                        .map(|backend| Backend {
                            service: backend.name.clone(),
                            port: backend.port,
                            weight: u32::try_from(backend.weight.unwrap_or(1)).unwrap_or(0),
                        })
                        .collect(),
                    mirrors: rule
                        .mirrors()
                        .map(|mirror| Mirror {
                            service: mirror.backend_ref.name.clone(),
                            port: mirror.backend_ref.port,
                            share: mirror.share(),
                        })
                        .collect(),
                });
                let matches = match rule.matches.as_deref() {
                    Some(matches) if !matches.is_empty() => matches.to_vec(),
                    _ => vec![HttpRouteMatch::default()],
                };
                for condition in matches {
                    table.entries.push(Entry {
                        precedence: precedence(&condition),
                        age,
                        key: key.clone(),
                        rule: rule_at,
                        condition,
                    });
                }
            }
        }
        // Stable, so that within a route the first rule (and its first match)
        // comes first among equals.
        table.entries.sort_by(|a, b| {
            (Reverse(&a.precedence), a.age, &a.key, a.rule).cmp(&(
                Reverse(&b.precedence),
                b.age,
                &b.key,
                b.rule,
            ))
        });
        table
    }

    /// The rule a request reaches; `None` when no rule matches (a 404).
    pub fn select(&self, request: &Request<'_>) -> Option<&Rule> {
        self.entries
            .iter()
            .find(|entry| matches(&entry.condition, request))
            .map(|entry| &self.rules[entry.rule])
    }

    /// Every rule, in the routes' order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Every Service a rule names (backends and mirrors), once each.
    pub fn services(&self) -> Vec<&str> {
        let mut services: Vec<&str> = Vec::new();
        for rule in &self.rules {
            let named = rule
                .backends
                .iter()
                .map(|b| b.service.as_str())
                .chain(rule.mirrors.iter().map(|m| m.service.as_str()));
            for service in named {
                if !services.contains(&service) {
                    services.push(service);
                }
            }
        }
        services
    }
}

fn precedence(condition: &HttpRouteMatch) -> Precedence {
    let (exact, prefix_length) = match &condition.path {
        Some(path) => {
            let value = path.value.as_deref().unwrap_or("/");
            match path.type_.unwrap_or(PathMatchType::PathPrefix) {
                PathMatchType::Exact => (true, value.len()),
                PathMatchType::PathPrefix => (false, value.len()),
                PathMatchType::RegularExpression => (false, 0),
            }
        }
        None => (false, 1),
    };
    Precedence {
        exact,
        prefix_length,
        method: condition.method.is_some(),
        headers: condition.headers.as_ref().map_or(0, Vec::len),
        query_params: condition.query_params.as_ref().map_or(0, Vec::len),
    }
}

/// Whether a request meets every condition of a match. Regular expressions
/// match nothing: the lab's subset refuses them before anything runs.
fn matches(condition: &HttpRouteMatch, request: &Request<'_>) -> bool {
    let path_holds = match &condition.path {
        None => true,
        Some(path) => {
            let value = path.value.as_deref().unwrap_or("/");
            match path.type_.unwrap_or(PathMatchType::PathPrefix) {
                PathMatchType::Exact => request.path == value,
                PathMatchType::PathPrefix => prefix_matches(value, request.path),
                PathMatchType::RegularExpression => false,
            }
        }
    };
    let method_holds = condition
        .method
        .is_none_or(|method| method.as_str() == request.method);
    // "If multiple entries specify equivalent header names, only the first entry
    // with an equivalent name MUST be considered."
    let mut seen: Vec<String> = Vec::new();
    let headers_hold = condition.headers.iter().flatten().all(|header| {
        let name = header.name.to_ascii_lowercase();
        if seen.contains(&name) {
            return true;
        }
        seen.push(name);
        regular(header.type_) && request.headers.header(&header.name) == Some(&header.value)
    });
    let mut seen: Vec<&str> = Vec::new();
    let query_holds = condition.query_params.iter().flatten().all(|param| {
        if seen.contains(&param.name.as_str()) {
            return true;
        }
        seen.push(&param.name);
        regular(param.type_) && request.query_param(&param.name) == Some(param.value.as_str())
    });
    path_holds && method_holds && headers_hold && query_holds
}

/// An exact value match (the default); a regular expression is not one.
fn regular(type_: Option<super::types::ValueMatchType>) -> bool {
    type_.is_none_or(|t| t == super::types::ValueMatchType::Exact)
}

/// A `PathPrefix` match: element-wise on `/`-separated segments, a trailing
/// `/` of the prefix ignored (`/foo` matches `/foo`, `/foo/` and `/foo/bar`,
/// not `/foobar`).
fn prefix_matches(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// Ready endpoints per version, by Service: what routing sends traffic to.
pub type ReadyByService = BTreeMap<String, BTreeMap<String, u32>>;

/// Where a rule sends its requests, per version: each backend's weight share,
/// split among the versions of its ready endpoints (a Service picks one of
/// them at random). A backend without a ready endpoint draws its share all the
/// same and answers it with 503, as the spec asks, so the shares of versions
/// may add up to less than 1.
pub fn rule_shares(rule: &Rule, ready: &ReadyByService) -> BTreeMap<String, f64> {
    let mut shares = BTreeMap::new();
    for (backend, share) in rule.backend_shares() {
        spread(&mut shares, ready.get(&backend.service), share);
    }
    shares
}

/// The share of a rule's requests mirrored to each version.
pub fn mirror_shares(rule: &Rule, ready: &ReadyByService) -> BTreeMap<String, f64> {
    let mut shares = BTreeMap::new();
    for mirror in &rule.mirrors {
        spread(&mut shares, ready.get(&mirror.service), mirror.share);
    }
    shares
}

fn spread(shares: &mut BTreeMap<String, f64>, ready: Option<&BTreeMap<String, u32>>, share: f64) {
    let Some(ready) = ready else { return };
    let total: u32 = ready.values().sum();
    if total == 0 || share <= 0.0 {
        return;
    }
    for (version, count) in ready {
        if *count > 0 {
            *shares.entry(version.clone()).or_default() +=
                share * f64::from(*count) / f64::from(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::types::*;
    use serde_json::json;

    fn route(name: &str, rules: serde_json::Value) -> HttpRoute {
        serde_json::from_value(json!({
            "apiVersion": API_VERSION,
            "kind": "HTTPRoute",
            "metadata": {"name": name},
            "spec": {"parentRefs": [{"name": "gw"}], "rules": rules},
        }))
        .unwrap()
    }

    /// The `route/rule` a request reaches (`-` for none).
    fn check(
        table: &RouteTable,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        expected: &str,
    ) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let headers: BTreeMap<String, String> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let request = Request {
            method,
            path,
            query,
            headers: &headers,
        };
        let got = table.select(&request).map_or("-".to_owned(), |rule| {
            format!("{}/{}", rule.route, rule.index)
        });
        assert_eq!(got, expected, "{method} {target} {headers:?}");
    }

    #[test]
    fn the_most_specific_match_wins_across_rules_and_routes() {
        let a = route(
            "a",
            json!([
                {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]},
                {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}]},
                {"matches": [{"path": {"type": "Exact", "value": "/api"}}]},
                {"matches": [{"path": {"value": "/api"}, "headers": [{"name": "X-API-Version", "value": "v2.0.0"}]}]},
                {"matches": [{"path": {"value": "/api"}, "method": "POST"}]},
            ]),
        );
        let b = route(
            "b",
            json!([
                {"matches": [{"headers": [{"name": "x-api-version", "value": "v2.0.0"}]}]},
                {"matches": [{"queryParams": [{"name": "beta", "value": "1"}]}]},
            ]),
        );
        let table = RouteTable::new([&a, &b]);
        check(&table, "GET", "/", &[], "a/0");
        check(&table, "GET", "/apis", &[], "a/0");
        check(&table, "GET", "/api/users", &[], "a/1");
        check(&table, "GET", "/api", &[], "a/2");
        check(
            &table,
            "GET",
            "/api/",
            &[("X-Api-Version", "v2.0.0")],
            "a/3",
        );
        check(
            &table,
            "POST",
            "/api/x",
            &[("X-Api-Version", "v2.0.0")],
            "a/4",
        );
        // Equal paths: a header match beats a bare prefix, whichever route.
        check(&table, "GET", "/", &[("X-API-Version", "v2.0.0")], "b/0");
        check(&table, "GET", "/", &[("X-API-Version", "v1.0.0")], "a/0");
        check(&table, "GET", "/x?a=2&beta=1", &[], "b/1");
        check(&table, "GET", "/x?beta=12", &[], "a/0");
    }

    #[test]
    fn ties_go_to_the_oldest_route_then_the_first_rule() {
        let older = route("z", json!([{"backendRefs": [{"name": "s1", "port": 80}]}]));
        let newer = route("a", json!([{"backendRefs": [{"name": "s2", "port": 80}]}]));
        check(&RouteTable::new([&older, &newer]), "GET", "/", &[], "z/0");
        check(&RouteTable::new([&newer, &older]), "GET", "/", &[], "a/0");
        let two = route("r", json!([{}, {}]));
        check(&RouteTable::new([&two]), "GET", "/", &[], "r/0");
        // No rule at all matches everything; a path nobody matches is a 404.
        check(
            &RouteTable::new([&route("e", json!([]))]),
            "GET",
            "/x",
            &[],
            "e/0",
        );
        let api = route("p", json!([{"matches": [{"path": {"value": "/api"}}]}]));
        check(&RouteTable::new([&api]), "GET", "/x", &[], "-");
        check(&RouteTable::new(std::iter::empty()), "GET", "/", &[], "-");
    }

    #[test]
    fn weights_are_proportional_and_zero_sends_nothing() {
        let rule = |weights: &[i32]| {
            let backends: Vec<_> = weights
                .iter()
                .enumerate()
                .map(|(i, w)| json!({"name": format!("s{i}"), "port": 80, "weight": w}))
                .collect();
            RouteTable::new([&route("r", json!([{"backendRefs": backends}]))]).rules()[0].clone()
        };
        let drawn = |rule: &Rule| {
            let mut counts = BTreeMap::new();
            for i in 0..1000 {
                if let Some(b) = rule.pick(f64::from(i) / 1000.0) {
                    *counts.entry(b.service.clone()).or_insert(0) += 1;
                }
            }
            counts
        };
        let ninety = rule(&[90, 10]);
        assert_eq!(
            drawn(&ninety),
            BTreeMap::from([("s0".into(), 900), ("s1".into(), 100)])
        );
        assert_eq!(drawn(&rule(&[9, 1])), drawn(&ninety));
        assert_eq!(drawn(&rule(&[0, 5])), BTreeMap::from([("s1".into(), 1000)]));
        assert!(drawn(&rule(&[0, 0])).is_empty());
        // The default weight is 1.
        let default = RouteTable::new([&route(
            "r",
            json!([{"backendRefs": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]}]),
        )]);
        assert_eq!(
            default.rules()[0]
                .backend_shares()
                .iter()
                .map(|(_, s)| *s)
                .collect::<Vec<_>>(),
            [0.5, 0.5]
        );
    }

    #[test]
    fn shares_follow_the_weights_not_the_pods() {
        let table = RouteTable::new([&route(
            "r",
            json!([{
                "backendRefs": [
                    {"name": "v1", "port": 80, "weight": 90},
                    {"name": "v2", "port": 80, "weight": 10},
                ],
                "filters": [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "v3", "port": 80}, "percent": 25}}],
            }]),
        )]);
        let ready: ReadyByService = BTreeMap::from([
            ("v1".into(), BTreeMap::from([("v1.0.0".into(), 10)])),
            ("v2".into(), BTreeMap::from([("v2.0.0".into(), 1)])),
            ("v3".into(), BTreeMap::from([("v3.0.0".into(), 2)])),
        ]);
        let rule = &table.rules()[0];
        let shares = rule_shares(rule, &ready);
        assert!((shares["v1.0.0"] - 0.9).abs() < 1e-9 && (shares["v2.0.0"] - 0.1).abs() < 1e-9);
        assert_eq!(
            mirror_shares(rule, &ready),
            BTreeMap::from([("v3.0.0".into(), 0.25)])
        );
        // A backend without ready endpoints keeps its share (answered 503).
        let mut none = ready.clone();
        none.insert("v2".into(), BTreeMap::new());
        none.remove("v3");
        assert_eq!(rule_shares(rule, &none).len(), 1);
        assert!(mirror_shares(rule, &none).is_empty());
        assert_eq!(table.services(), ["v1", "v2", "v3"]);
    }

    #[test]
    fn prefixes_match_whole_segments() {
        for (prefix, path, expected) in [
            ("/", "/anything", true),
            ("/foo", "/foo", true),
            ("/foo", "/foo/bar", true),
            ("/foo/", "/foo", true),
            ("/foo", "/foobar", false),
            ("/foo/bar", "/foo", false),
        ] {
            assert_eq!(prefix_matches(prefix, path), expected, "{prefix} {path}");
        }
    }
}
