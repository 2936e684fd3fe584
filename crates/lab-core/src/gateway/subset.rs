//! What a Gateway or an HTTPRoute may say in a scenario: the limits and rules
//! the API server enforces on the v1 Standard CRDs (maximum items, ranges,
//! the CEL rules), and the subset the lab's local gateway implements, so that a
//! scenario means the same on both platforms. Each problem names the field as
//! a JSON pointer, for its position in the file.
//!
//! The subset: HTTP listeners; routes attached to a Gateway of the same
//! namespace; path (`Exact`, `PathPrefix`), header and query parameter matches
//! by exact value, method matches; weighted `backendRefs` to Services; the
//! `RequestMirror` filter with `percent` or `fraction`. Everything else the
//! Standard channel has (host names, regular expressions, the other filters,
//! timeouts, TLS) is refused with the reason.

use super::types::{
    BackendObjectReference, FilterType, Gateway, HttpRoute, HttpRouteFilter, HttpRouteMatch,
    PathMatchType, ValueMatchType,
};

/// One problem with an object: where (a JSON pointer) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field at fault (`/spec/rules/0/backendRefs/1/weight`).
    pub pointer: String,
    /// What is wrong, lower case, no trailing period.
    pub message: String,
}

/// The most a backend's weight may be.
pub const MAX_WEIGHT: i32 = 1_000_000;

/// What the lab's gateway implements, for messages.
const SUBSET: &str = "the subset the lab's gateway implements";

struct Found(Vec<Problem>);

impl Found {
    fn add(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            pointer: pointer.into(),
            message: message.into(),
        });
    }

    fn most(&mut self, pointer: &str, what: &str, count: usize, limit: usize) {
        if count > limit {
            self.add(
                pointer,
                format!("{what} has {count} entries, more than the {limit} allowed"),
            );
        }
    }
}

/// Every problem of an HTTPRoute.
pub fn route_problems(route: &HttpRoute) -> Vec<Problem> {
    let mut found = Found(Vec::new());
    let spec = &route.spec;
    let parents = spec.parent_refs.as_deref().unwrap_or_default();
    found.most("/spec/parentRefs", "parentRefs", parents.len(), 32);
    if parents.is_empty() {
        found.add(
            "/spec",
            "no parentRefs: a route reaches traffic only through the Gateway it attaches to",
        );
    }
    for (i, parent) in parents.iter().enumerate() {
        let at = format!("/spec/parentRefs/{i}");
        if parent
            .group
            .as_deref()
            .is_some_and(|g| g != super::types::GROUP)
        {
            found.add(
                format!("{at}/group"),
                format!("parent group must be {}", super::types::GROUP),
            );
        }
        if parent.kind.as_deref().is_some_and(|k| k != "Gateway") {
            found.add(
                format!("{at}/kind"),
                format!(
                    "a parent of kind `{}` is not in {SUBSET} (Gateway)",
                    parent.kind.as_deref().unwrap_or_default()
                ),
            );
        }
        if parent.namespace.is_some() {
            found.add(
                format!("{at}/namespace"),
                format!("a parent in another namespace is not in {SUBSET}: attach to a Gateway of the scenario"),
            );
        }
        if let Some(port) = parent.port.filter(|p| !(1..=65535).contains(p)) {
            found.add(
                format!("{at}/port"),
                format!("port must be 1-65535, not {port}"),
            );
        }
        name_length(&mut found, &format!("{at}/name"), "name", &parent.name, 253);
    }
    if let Some(hostnames) = &spec.hostnames {
        found.most("/spec/hostnames", "hostnames", hostnames.len(), 16);
        found.add(
            "/spec/hostnames",
            format!("hostnames are not in {SUBSET}: the lab's traffic reaches the Gateway by its address"),
        );
    }
    let rules = spec.rules.as_deref().unwrap_or_default();
    if spec.rules.is_some() && rules.is_empty() {
        found.add(
            "/spec/rules",
            "rules must have at least one entry (or be left out)",
        );
    }
    found.most("/spec/rules", "rules", rules.len(), 16);
    let total_matches: usize = rules
        .iter()
        .map(|rule| rule.matches.as_ref().map_or(1, Vec::len))
        .sum();
    if total_matches > 128 {
        found.add(
            "/spec/rules",
            format!("the rules have {total_matches} matches in all, more than the 128 allowed"),
        );
    }
    for (r, rule) in rules.iter().enumerate() {
        let at = format!("/spec/rules/{r}");
        if let Some(name) = &rule.name {
            name_length(&mut found, &format!("{at}/name"), "name", name, 253);
        }
        let matches = rule.matches.as_deref().unwrap_or_default();
        found.most(&format!("{at}/matches"), "matches", matches.len(), 64);
        for (m, condition) in matches.iter().enumerate() {
            check_match(&mut found, &format!("{at}/matches/{m}"), condition);
        }
        let filters = rule.filters.as_deref().unwrap_or_default();
        found.most(&format!("{at}/filters"), "filters", filters.len(), 16);
        for (f, filter) in filters.iter().enumerate() {
            check_filter(&mut found, &format!("{at}/filters/{f}"), filter);
        }
        let backends = rule.backend_refs.as_deref().unwrap_or_default();
        found.most(
            &format!("{at}/backendRefs"),
            "backendRefs",
            backends.len(),
            16,
        );
        for (b, backend) in backends.iter().enumerate() {
            let at = format!("{at}/backendRefs/{b}");
            check_backend(
                &mut found,
                &at,
                &BackendObjectReference {
                    group: backend.group.clone(),
                    kind: backend.kind.clone(),
                    name: backend.name.clone(),
                    namespace: backend.namespace.clone(),
                    port: backend.port,
                },
            );
            if let Some(weight) = backend.weight.filter(|w| !(0..=MAX_WEIGHT).contains(w)) {
                found.add(
                    format!("{at}/weight"),
                    format!("weight must be between 0 and {MAX_WEIGHT}, not {weight}"),
                );
            }
            if backend.filters.is_some() {
                found.add(
                    format!("{at}/filters"),
                    format!("filters on a backend are not in {SUBSET}: put the filter on the rule"),
                );
            }
        }
        if rule.timeouts.is_some() {
            found.add(
                format!("{at}/timeouts"),
                format!("timeouts are not in {SUBSET}"),
            );
        }
    }
    found.0
}

fn check_match(found: &mut Found, at: &str, condition: &HttpRouteMatch) {
    if let Some(path) = &condition.path {
        let value = path.value.as_deref().unwrap_or("/");
        match path.type_.unwrap_or(PathMatchType::PathPrefix) {
            PathMatchType::RegularExpression => found.add(
                format!("{at}/path/type"),
                format!("RegularExpression path matches are not in {SUBSET} (Exact, PathPrefix)"),
            ),
            PathMatchType::Exact | PathMatchType::PathPrefix => {
                if let Some(problem) = path_problem(value) {
                    found.add(format!("{at}/path/value"), problem);
                }
            }
        }
    }
    let headers = condition.headers.as_deref().unwrap_or_default();
    found.most(&format!("{at}/headers"), "headers", headers.len(), 16);
    for (h, header) in headers.iter().enumerate() {
        let at = format!("{at}/headers/{h}");
        if header.type_ == Some(ValueMatchType::RegularExpression) {
            found.add(
                format!("{at}/type"),
                format!("RegularExpression header matches are not in {SUBSET} (Exact)"),
            );
        }
        if header.name.is_empty()
            || header.name.len() > 256
            || !header.name.bytes().all(is_token_byte)
        {
            found.add(
                format!("{at}/name"),
                format!("`{}` is not a header name", header.name),
            );
        }
        value_length(found, &format!("{at}/value"), &header.value, 4096);
    }
    let params = condition.query_params.as_deref().unwrap_or_default();
    found.most(
        &format!("{at}/queryParams"),
        "queryParams",
        params.len(),
        16,
    );
    for (q, param) in params.iter().enumerate() {
        let at = format!("{at}/queryParams/{q}");
        if param.type_ == Some(ValueMatchType::RegularExpression) {
            found.add(
                format!("{at}/type"),
                format!("RegularExpression query parameter matches are not in {SUBSET} (Exact)"),
            );
        }
        if param.name.is_empty() || param.name.len() > 256 {
            found.add(
                format!("{at}/name"),
                "a query parameter name has 1 to 256 characters",
            );
        }
        value_length(found, &format!("{at}/value"), &param.value, 1024);
    }
}

fn check_filter(found: &mut Found, at: &str, filter: &HttpRouteFilter) {
    let settings = [
        (
            FilterType::RequestHeaderModifier,
            filter.request_header_modifier.is_some(),
            "requestHeaderModifier",
        ),
        (
            FilterType::ResponseHeaderModifier,
            filter.response_header_modifier.is_some(),
            "responseHeaderModifier",
        ),
        (
            FilterType::RequestMirror,
            filter.request_mirror.is_some(),
            "requestMirror",
        ),
        (
            FilterType::RequestRedirect,
            filter.request_redirect.is_some(),
            "requestRedirect",
        ),
        (
            FilterType::UrlRewrite,
            filter.url_rewrite.is_some(),
            "urlRewrite",
        ),
        (
            FilterType::ExtensionRef,
            filter.extension_ref.is_some(),
            "extensionRef",
        ),
        (FilterType::Cors, filter.cors.is_some(), "cors"),
    ];
    for (type_, set, field) in settings {
        if set && type_ != filter.type_ {
            found.add(
                format!("{at}/{field}"),
                format!(
                    "{field} belongs to a filter of type {}, not {}",
                    type_.as_str(),
                    filter.type_.as_str()
                ),
            );
        }
        if !set && type_ == filter.type_ {
            found.add(
                at.to_owned(),
                format!("a {} filter needs {field}", type_.as_str()),
            );
        }
    }
    if filter.type_ != FilterType::RequestMirror {
        found.add(
            format!("{at}/type"),
            format!(
                "filter {} is not in {SUBSET} (RequestMirror)",
                filter.type_.as_str()
            ),
        );
        return;
    }
    let Some(mirror) = &filter.request_mirror else {
        return;
    };
    let at = format!("{at}/requestMirror");
    check_backend(found, &format!("{at}/backendRef"), &mirror.backend_ref);
    if mirror.percent.is_some() && mirror.fraction.is_some() {
        found.add(
            at.clone(),
            "only one of percent or fraction may be specified",
        );
    }
    if let Some(percent) = mirror.percent.filter(|p| !(0..=100).contains(p)) {
        found.add(
            format!("{at}/percent"),
            format!("percent must be 0-100, not {percent}"),
        );
    }
    if let Some(fraction) = &mirror.fraction {
        let denominator = fraction.denominator.unwrap_or(100);
        if denominator < 1 {
            found.add(
                format!("{at}/fraction/denominator"),
                "denominator must be at least 1",
            );
        }
        if fraction.numerator < 0 || fraction.numerator > denominator {
            found.add(
                format!("{at}/fraction/numerator"),
                format!(
                    "numerator must be between 0 and the denominator ({denominator}), not {}",
                    fraction.numerator
                ),
            );
        }
    }
}

fn check_backend(found: &mut Found, at: &str, backend: &BackendObjectReference) {
    let group = backend.group.as_deref().unwrap_or("");
    let kind = backend.kind.as_deref().unwrap_or("Service");
    if !group.is_empty() || kind != "Service" {
        found.add(
            format!("{at}/kind"),
            format!("a backend of kind `{kind}` (group `{group}`) is not in {SUBSET} (Service)"),
        );
    }
    if backend.namespace.is_some() {
        found.add(
            format!("{at}/namespace"),
            format!(
                "a backend in another namespace is not in {SUBSET} (it needs a ReferenceGrant)"
            ),
        );
    }
    match backend.port {
        None => found.add(at.to_owned(), "must have port for Service reference"),
        Some(port) if !(1..=65535).contains(&port) => {
            found.add(
                format!("{at}/port"),
                format!("port must be 1-65535, not {port}"),
            );
        }
        Some(_) => {}
    }
    name_length(found, &format!("{at}/name"), "name", &backend.name, 253);
}

/// Every problem of a Gateway.
pub fn gateway_problems(gateway: &Gateway) -> Vec<Problem> {
    let mut found = Found(Vec::new());
    let spec = &gateway.spec;
    name_length(
        &mut found,
        "/spec/gatewayClassName",
        "gatewayClassName",
        &spec.gateway_class_name,
        253,
    );
    if spec.listeners.is_empty() {
        found.add("/spec/listeners", "a Gateway needs at least one listener");
    }
    found.most("/spec/listeners", "listeners", spec.listeners.len(), 64);
    for (i, listener) in spec.listeners.iter().enumerate() {
        let at = format!("/spec/listeners/{i}");
        if spec.listeners[..i].iter().any(|l| l.name == listener.name) {
            found.add(
                format!("{at}/name"),
                format!("listener name `{}` is used twice", listener.name),
            );
        }
        name_length(
            &mut found,
            &format!("{at}/name"),
            "name",
            &listener.name,
            253,
        );
        if !(1..=65535).contains(&listener.port) {
            found.add(
                format!("{at}/port"),
                format!("port must be 1-65535, not {}", listener.port),
            );
        }
        if spec.listeners[..i].iter().any(|l| l.port == listener.port) {
            found.add(
                format!("{at}/port"),
                format!("port {} is used by another listener", listener.port),
            );
        }
        if listener.protocol != "HTTP" {
            found.add(
                format!("{at}/protocol"),
                format!("protocol `{}` is not in {SUBSET} (HTTP)", listener.protocol),
            );
        }
        if listener.hostname.is_some() {
            found.add(
                format!("{at}/hostname"),
                format!("listener hostnames are not in {SUBSET}: the lab's traffic reaches the Gateway by its address"),
            );
        }
        if listener.tls.is_some() {
            found.add(format!("{at}/tls"), format!("TLS is not in {SUBSET}"));
        }
        let allowed = listener.allowed_routes.as_ref();
        if let Some(from) = allowed
            .and_then(|a| a.namespaces.as_ref())
            .and_then(|n| n.from.as_deref())
            .filter(|from| !matches!(*from, "Same" | "All"))
        {
            found.add(
                format!("{at}/allowedRoutes/namespaces/from"),
                format!("allowedRoutes from `{from}` is not in {SUBSET} (Same, All)"),
            );
        }
        for (k, kind) in allowed
            .and_then(|a| a.kinds.as_ref())
            .into_iter()
            .flatten()
            .enumerate()
        {
            if kind.kind != "HTTPRoute"
                || kind
                    .group
                    .as_deref()
                    .is_some_and(|g| g != super::types::GROUP)
            {
                found.add(
                    format!("{at}/allowedRoutes/kinds/{k}"),
                    format!("route kind `{}` is not in {SUBSET} (HTTPRoute)", kind.kind),
                );
            }
        }
    }
    if spec.addresses.is_some() {
        found.add(
            "/spec/addresses",
            format!("addresses are not in {SUBSET}: the platform gives the Gateway its address"),
        );
    }
    if spec.tls.is_some() {
        found.add("/spec/tls", format!("TLS is not in {SUBSET}"));
    }
    if spec.allowed_listeners.is_some() {
        found.add(
            "/spec/allowedListeners",
            format!("ListenerSets are not in {SUBSET}"),
        );
    }
    found.0
}

/// Why a path value is not one the CRD accepts, if it is not.
fn path_problem(value: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-/._~!$&'()*+,;=:@%".contains(c);
    if !value.starts_with('/') {
        return Some(format!("path `{value}` must start with /"));
    }
    if value.len() > 1024 {
        return Some("a path has at most 1024 characters".to_owned());
    }
    for bad in ["//", "/./", "/../", "%2f", "%2F", "#"] {
        if value.contains(bad) {
            return Some(format!("path `{value}` must not contain `{bad}`"));
        }
    }
    if value.ends_with("/..") || value.ends_with("/.") {
        return Some(format!("path `{value}` must not end with /. or /.."));
    }
    if !value.chars().all(allowed) {
        return Some(format!(
            "path `{value}` has characters a URL path cannot hold"
        ));
    }
    None
}

fn name_length(found: &mut Found, pointer: &str, what: &str, value: &str, limit: usize) {
    if value.is_empty() || value.len() > limit {
        found.add(pointer, format!("{what} must have 1 to {limit} characters"));
    }
}

fn value_length(found: &mut Found, pointer: &str, value: &str, limit: usize) {
    if value.is_empty() || value.len() > limit {
        found.add(pointer, format!("a value has 1 to {limit} characters"));
    }
}

/// RFC 7230 `tchar`.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}
