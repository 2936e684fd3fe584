//! Manifest files: YAML documents to k8s-openapi objects, each checked on its own.

use super::Problems;
use super::yaml::{self, Position, YamlDocument, pointer_child};
use crate::gateway::{self, Gateway, HttpRoute};
use crate::limits;
use crate::object::{
    Object, ObjectKind, Strategy, VERSION_LABEL, format_labels, format_selector, selector_matches,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Probe, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One object read from a manifest, with the document it came from (for positions).
#[derive(Debug, Clone)]
pub(crate) struct ParsedObject {
    pub(crate) object: Object,
    pub(crate) document: YamlDocument,
}

/// A manifest file, parsed as far as it could be.
#[derive(Debug, Clone)]
pub(crate) struct ParsedFile {
    /// File name inside the folder.
    pub(crate) name: String,
    /// The objects that parsed, in document order.
    pub(crate) objects: Vec<ParsedObject>,
    /// Every object whose kind and name could be read, even if it did not parse,
    /// so a step that names it is not reported a second time; with the position of
    /// its name.
    pub(crate) declared: Vec<(ObjectKind, String, Position)>,
    /// A syntax error cut the file short: it may define objects nobody saw.
    pub(crate) incomplete: bool,
}

/// Parse one manifest file, reporting its problems.
pub(crate) fn parse_file(name: &str, text: &str, problems: &mut Problems) -> ParsedFile {
    let (documents, errors) = yaml::parse_documents(text);
    let incomplete = errors.iter().any(|error| error.cuts_short);
    for error in errors {
        problems.at(name, error.position, error.message);
    }
    let mut file = ParsedFile {
        name: name.to_owned(),
        objects: Vec::new(),
        declared: Vec::new(),
        incomplete,
    };
    if documents.is_empty() && !incomplete {
        problems.at(
            name,
            Position::new(1, 1),
            "no Kubernetes objects in this file".to_owned(),
        );
    }
    let mut documents = documents;
    if let Some(first_extra) = documents.get(limits::MAX_OBJECTS_PER_FILE) {
        let message = format!(
            "{} objects in this file, more than the lab's limit ({})",
            documents.len(),
            limits::MAX_OBJECTS_PER_FILE
        );
        problems.at(name, first_extra.start, message);
        // Not read at all: checking some of its objects would only report
        // what the others might have defined.
        documents.clear();
        file.incomplete = true;
    }
    for (index, document) in documents.into_iter().enumerate() {
        let object = {
            let mut reader = DocumentReader {
                file: name,
                number: index + 1,
                document: &document,
                problems,
            };
            let (kind, label) = match reader.identify() {
                Ok(identity) => identity,
                Err(hides_an_object) => {
                    file.incomplete |= hides_an_object;
                    continue;
                }
            };
            if let Some(object_name) = document
                .value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
            {
                let first = file
                    .declared
                    .iter()
                    .find(|(k, n, _)| *k == kind && n == object_name)
                    .map(|(_, _, first)| first.line);
                if let Some(first) = first {
                    let message =
                        format!("{label}: defined twice in this file (first at line {first})");
                    reader.report("/metadata/name", message);
                }
                let at = document.position("/metadata/name");
                file.declared.push((kind, object_name.to_owned(), at));
            }
            let object = match kind {
                ObjectKind::Deployment => reader
                    .typed::<Deployment>(&label)
                    .map(|deployment| Object::Deployment(Box::new(deployment))),
                ObjectKind::Service => reader
                    .typed::<Service>(&label)
                    .map(|service| Object::Service(Box::new(service))),
                ObjectKind::Gateway => reader
                    .typed::<Gateway>(&label)
                    .map(|gateway| Object::Gateway(Box::new(gateway))),
                ObjectKind::HttpRoute => reader
                    .typed::<HttpRoute>(&label)
                    .map(|route| Object::HttpRoute(Box::new(route))),
            };
            match &object {
                Some(Object::Deployment(deployment)) => reader.check_deployment(&label, deployment),
                Some(Object::Service(service)) => reader.check_service(&label, service),
                Some(Object::Gateway(object)) => {
                    reader.check_gateway_api(&label, gateway::gateway_problems(object))
                }
                Some(Object::HttpRoute(route)) => {
                    reader.check_gateway_api(&label, gateway::route_problems(route))
                }
                None => {}
            }
            object
        };
        if let Some(object) = object {
            file.objects.push(ParsedObject { object, document });
        }
    }
    file
}

/// Reads one document of a manifest.
struct DocumentReader<'a> {
    file: &'a str,
    number: usize,
    document: &'a YamlDocument,
    problems: &'a mut Problems,
}

impl DocumentReader<'_> {
    fn report(&mut self, pointer: &str, message: String) {
        let position = self.document.position(pointer);
        self.problems.at(self.file, position, message);
    }

    /// The document's kind and a label for messages (`deployment my-app-v2`), or
    /// (reported) `Err(true)` when the document may be an object the lab runs but
    /// cannot be told which, `Err(false)` when it is of a kind the lab does not run.
    fn identify(&mut self) -> Result<(ObjectKind, String), bool> {
        let value = &self.document.value;
        if !value.is_object() {
            let message = format!(
                "document {} is not a mapping, so not a Kubernetes object",
                self.number
            );
            self.report("", message);
            return Err(true);
        }
        let kind = self.string_field("/kind", "kind");
        let api_version = self.string_field("/apiVersion", "apiVersion");
        let name = value.pointer("/metadata/name").and_then(Value::as_str);
        let kind_named = |name: &str| {
            ObjectKind::ALL
                .into_iter()
                .find(|kind| kind.to_string() == name)
        };
        let (kind, expected_version) = match kind.as_deref() {
            Some(name) if kind_named(name).is_some() => {
                let kind = kind_named(name).expect("just found");
                (kind, kind.api_version())
            }
            Some(other) => {
                let message = format!(
                    "document {}: unsupported kind `{other}`: the lab runs apps/v1 Deployments, v1 Services, and gateway.networking.k8s.io/v1 Gateways and HTTPRoutes",
                    self.number
                );
                self.report("/kind", message);
                return Err(false);
            }
            None => return Err(true),
        };
        let label = match name {
            Some(name) => format!("{} {name}", kind.kubectl_name()),
            None => format!("{} in document {}", kind.kubectl_name(), self.number),
        };
        match api_version.as_deref() {
            Some(version) if version == expected_version => {}
            Some(version) => {
                let message = format!(
                    "{label}: apiVersion `{version}` is not supported: use {expected_version}"
                );
                // Read on as the supported version, so the rest of the object
                // is checked and steps that name it are not reported again.
                self.report("/apiVersion", message);
            }
            None => {}
        }
        match value.pointer("/metadata/name") {
            None | Some(Value::Null) => {
                self.report("/metadata", format!("{label}: missing metadata.name"));
                return Err(true);
            }
            Some(Value::String(name)) => {
                if let Some(problem) = name_problem(kind, name) {
                    self.report("/metadata/name", format!("{label}: {problem}"));
                }
            }
            // A wrong type is reported when the object is typed.
            Some(_) => {}
        }
        Ok((kind, label))
    }

    /// A top-level string field, reporting it when missing or not a string.
    fn string_field(&mut self, pointer: &str, name: &str) -> Option<String> {
        match self.document.value.pointer(pointer) {
            Some(Value::String(text)) => Some(text.clone()),
            None | Some(Value::Null) => {
                let message = format!("document {}: missing `{name}`", self.number);
                self.report(pointer, message);
                None
            }
            Some(other) => {
                let message = format!(
                    "document {}: `{name}` must be a string, not {}",
                    self.number,
                    describe(other)
                );
                self.report(pointer, message);
                None
            }
        }
    }

    /// Deserialize the document into `T`, reporting every type error it can find
    /// (each failing node is set aside and the rest tried again) and every field
    /// that `T` does not have.
    fn typed<T: DeserializeOwned + Serialize + k8s_openapi::Resource>(
        &mut self,
        label: &str,
    ) -> Option<T> {
        let mut value = self.document.value.clone();
        // `identify` has reported a wrong or missing apiVersion already.
        if let Some(members) = value.as_object_mut() {
            members.insert("apiVersion".to_owned(), Value::from(T::API_VERSION));
            members.insert("kind".to_owned(), Value::from(T::KIND));
        }
        let mut set_aside: Vec<String> = Vec::new();
        // Each round removes one node, so this ends; the bound only guards against a
        // deserializer that reports a node that is not there.
        for _ in 0..64 {
            let error = match serde_path_to_error::deserialize::<_, T>(&value) {
                Ok(typed) => {
                    let round_trip = serde_json::to_value(&typed).unwrap_or(Value::Null);
                    self.unknown_fields(label, &value, &round_trip, "", &set_aside);
                    return Some(typed);
                }
                Err(error) => error,
            };
            let pointer = path_pointer(error.path());
            let message = error.inner().to_string();
            if message.starts_with("unknown field `") {
                // A strict type (the Gateway API's) refuses the field itself;
                // said as the round trip below says it for the others.
                let message = format!("{label}: unknown field {}", display_path(&pointer));
                self.report(&pointer, message);
                match set_aside_member(&mut value, &pointer) {
                    Some(member) => set_aside.push(member),
                    None => return None,
                }
                continue;
            }
            if let Some(field) = missing_field(&message) {
                // A field this loop set aside is already reported.
                if !set_aside.contains(&pointer_child(&pointer, field)) {
                    let path = display_path(&pointer_child(&pointer, field));
                    self.report(&pointer, format!("{label}: missing field {path}"));
                }
                return None;
            }
            let hint = if message.ends_with("expected a string") {
                ": quote it"
            } else {
                ""
            };
            self.report(
                &pointer,
                format!("{label}: {}: {message}{hint}", display_path(&pointer)),
            );
            match set_aside_member(&mut value, &pointer) {
                Some(member) => set_aside.push(member),
                None => return None,
            }
        }
        None
    }

    /// Compare the input with its round trip through the typed value. k8s-openapi
    /// ignores fields it does not know, and fills required fields that are missing
    /// with empty values; kubectl refuses both. A key only in the input is unknown;
    /// a key only in the output is a required field that is missing (k8s-openapi
    /// writes optional fields only when they are set).
    fn unknown_fields(
        &mut self,
        label: &str,
        input: &Value,
        output: &Value,
        pointer: &str,
        set_aside: &[String],
    ) {
        match (input, output) {
            (Value::Object(input), Value::Object(output)) => {
                for key in output.keys().filter(|key| !input.contains_key(*key)) {
                    let child = pointer_child(pointer, key);
                    // A field set aside for its wrong type is reported already.
                    if !set_aside.contains(&child) {
                        let path = display_path(&child);
                        self.report(pointer, format!("{label}: missing field {path}"));
                    }
                }
                for (key, value) in input {
                    let child = pointer_child(pointer, key);
                    match output.get(key) {
                        Some(output) => {
                            self.unknown_fields(label, value, output, &child, set_aside)
                        }
                        // `key: null` means "not set", which kubectl accepts.
                        None if value.is_null() => {}
                        None => {
                            let message =
                                format!("{label}: unknown field {}", display_path(&child));
                            self.report(&child, message);
                        }
                    }
                }
            }
            (Value::Array(input), Value::Array(output)) if input.len() == output.len() => {
                for (index, (input, output)) in input.iter().zip(output).enumerate() {
                    let child = pointer_child(pointer, &index.to_string());
                    self.unknown_fields(label, input, output, &child, set_aside);
                }
            }
            _ => {}
        }
    }

    fn check_deployment(&mut self, label: &str, deployment: &Deployment) {
        let Some(spec) = &deployment.spec else {
            self.report("", format!("{label}: missing spec"));
            return;
        };
        if let Some(replicas) = spec.replicas.filter(|replicas| *replicas < 0) {
            self.report(
                "/spec/replicas",
                format!("{label}: replicas must not be negative ({replicas})"),
            );
        }
        if let Some(Err(problem)) = spec.replicas.map(|n| limits::replicas(i64::from(n))) {
            self.report("/spec/replicas", format!("{label}: {problem}"));
        }
        let labels = spec
            .template
            .metadata
            .as_ref()
            .and_then(|metadata| metadata.labels.clone())
            .unwrap_or_default();
        let selector = &spec.selector;
        let selector_is_empty = selector.match_labels.as_ref().is_none_or(|l| l.is_empty())
            && selector
                .match_expressions
                .as_ref()
                .is_none_or(|e| e.is_empty());
        let selector_written = self.document.value.pointer("/spec/selector").is_some();
        if selector_is_empty && selector_written {
            self.report(
                "/spec/selector",
                format!("{label}: empty selector: a Deployment must select its pods"),
            );
        } else if selector_written && !selector_matches(selector, &labels) {
            let message = format!(
                "{label}: selector {} does not match template labels {}",
                format_selector(selector),
                format_labels(&labels)
            );
            self.report("/spec/selector", message);
        }
        if !labels.contains_key(VERSION_LABEL) {
            let message = format!(
                "{label}: pod template has no `{VERSION_LABEL}` label: the lab tells versions apart by it"
            );
            self.report("/spec/template/metadata/labels", message);
        }
        if let Err(problem) = Strategy::of(spec.strategy.as_ref()) {
            self.report(problem.pointer, format!("{label}: {}", problem.message));
        }
        let containers = spec
            .template
            .spec
            .as_ref()
            .map(|pod| pod.containers.as_slice())
            .unwrap_or_default();
        if containers.is_empty() {
            self.report(
                "/spec/template/spec/containers",
                format!("{label}: pod template has no containers"),
            );
        }
        for (index, container) in containers.iter().enumerate() {
            let pointer = format!("/spec/template/spec/containers/{index}");
            self.check_container(label, container, &pointer);
        }
    }

    fn check_container(&mut self, label: &str, container: &Container, pointer: &str) {
        let name = &container.name;
        if container.image.as_deref().is_none_or(str::is_empty) {
            self.report(pointer, format!("{label}: container {name} has no image"));
        }
        let port_names: Vec<&str> = container
            .ports
            .iter()
            .flatten()
            .filter_map(|port| port.name.as_deref())
            .collect();
        let probes = [
            ("livenessProbe", &container.liveness_probe),
            ("readinessProbe", &container.readiness_probe),
            ("startupProbe", &container.startup_probe),
        ];
        for (field, probe) in probes {
            let Some(port) = probe.as_ref().and_then(probe_port_name) else {
                continue;
            };
            if !port_names.contains(&port) {
                let message = format!(
                    "{label}: container {name}: {field} port `{port}` names no container port"
                );
                self.report(&format!("{pointer}/{field}"), message);
            }
        }
    }

    /// Report what the Gateway API's rules and the lab's subset say of a
    /// Gateway or an HTTPRoute.
    fn check_gateway_api(&mut self, label: &str, problems: Vec<gateway::Problem>) {
        for problem in problems {
            let message = format!("{label}: {}", problem.message);
            self.report(&problem.pointer, message);
        }
    }

    fn check_service(&mut self, label: &str, service: &Service) {
        let Some(spec) = &service.spec else {
            self.report("", format!("{label}: missing spec"));
            return;
        };
        if spec
            .selector
            .as_ref()
            .is_none_or(|selector| selector.is_empty())
        {
            let message = format!(
                "{label}: no selector: the lab sends traffic to the pods a Service selects"
            );
            self.report("/spec", message);
        }
        let ports = spec.ports.as_deref().unwrap_or_default();
        if ports.is_empty() {
            self.report("/spec", format!("{label}: no ports"));
        }
        for (index, port) in ports.iter().enumerate() {
            if let Some(node_port) = port
                .node_port
                .filter(|port| !(30000..=32767).contains(port))
            {
                let message = format!(
                    "{label}: nodePort {node_port} is outside the NodePort range 30000-32767"
                );
                self.report(&format!("/spec/ports/{index}/nodePort"), message);
            }
        }
    }
}

/// The named port an HTTP or TCP probe uses, if it names one.
fn probe_port_name(probe: &Probe) -> Option<&str> {
    let port = probe
        .http_get
        .as_ref()
        .map(|get| &get.port)
        .or_else(|| probe.tcp_socket.as_ref().map(|socket| &socket.port))?;
    match port {
        IntOrString::String(name) => Some(name),
        IntOrString::Int(_) => None,
    }
}

/// Why a name is not a valid object name, if it is not: Deployments, Gateways
/// and HTTPRoutes need an RFC 1123 subdomain, Services an RFC 1035 label.
fn name_problem(kind: ObjectKind, name: &str) -> Option<String> {
    let subdomain = kind != ObjectKind::Service;
    let (limit, rule) = match kind {
        ObjectKind::Deployment | ObjectKind::Gateway | ObjectKind::HttpRoute => (
            253,
            "lower case letters, digits, `-` and `.`, starting and ending with a letter or digit",
        ),
        ObjectKind::Service => (
            63,
            "lower case letters, digits and `-`, starting with a letter and ending with a letter or digit",
        ),
    };
    let allowed = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (c == '.' && subdomain)
    };
    let first_ok = name.chars().next().is_some_and(|c| {
        if subdomain {
            c.is_ascii_lowercase() || c.is_ascii_digit()
        } else {
            c.is_ascii_lowercase()
        }
    });
    let last_ok = name
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid =
        !name.is_empty() && name.len() <= limit && name.chars().all(allowed) && first_ok && last_ok;
    (!valid).then(|| format!("invalid name `{name}`: use at most {limit} {rule}"))
}

/// A JSON value's type, for messages.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The field name in serde's "missing field `x`" message.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// A serde path as a JSON pointer.
fn path_pointer(path: &serde_path_to_error::Path) -> String {
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                pointer = pointer_child(&pointer, &index.to_string())
            }
            serde_path_to_error::Segment::Map { key } => pointer = pointer_child(&pointer, key),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {
                break;
            }
        }
    }
    pointer
}

/// A JSON pointer as people read a field path: `spec.template.spec.containers[0].image`.
pub(crate) fn display_path(pointer: &str) -> String {
    let mut path = String::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.chars().all(|c| c.is_ascii_digit()) {
            path.push_str(&format!("[{token}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&token);
        }
    }
    if path.is_empty() {
        "the document".to_owned()
    } else {
        path
    }
}

/// Remove the mapping member that holds the node at `pointer` (the node itself, or
/// the nearest ancestor that is a mapping member, when the node is a list item), so
/// deserialization can go on past it. Returns the removed member's pointer.
fn set_aside_member(value: &mut Value, pointer: &str) -> Option<String> {
    let mut current = pointer;
    while let Some(slash) = current.rfind('/') {
        let (parent, token) = (&current[..slash], &current[slash + 1..]);
        let key = token.replace("~1", "/").replace("~0", "~");
        if let Some(Value::Object(members)) = value.pointer_mut(parent) {
            members.remove(&key)?;
            return Some(current.to_owned());
        }
        current = parent;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_read_as_field_paths() {
        let check = |pointer: &str, expected: &str| assert_eq!(display_path(pointer), expected);
        check("", "the document");
        check("/spec/replicas", "spec.replicas");
        check(
            "/spec/template/spec/containers/0/ports/1/name",
            "spec.template.spec.containers[0].ports[1].name",
        );
        check(
            "/metadata/annotations/prometheus.io~1port",
            "metadata.annotations.prometheus.io/port",
        );
    }

    #[test]
    fn names_follow_kubernetes_rules() {
        let check = |kind, name: &str, valid: bool| {
            assert_eq!(name_problem(kind, name).is_none(), valid, "{name}")
        };
        check(ObjectKind::Deployment, "my-app-v1", true);
        check(ObjectKind::Deployment, "my.app", true);
        check(ObjectKind::Deployment, "1app", true);
        check(ObjectKind::Deployment, "My-App", false);
        check(ObjectKind::Deployment, "my-app-", false);
        check(ObjectKind::Deployment, "", false);
        check(ObjectKind::Service, "my-app", true);
        check(ObjectKind::Service, "my.app", false);
        check(ObjectKind::Service, "1app", false);
        check(ObjectKind::Service, &"a".repeat(64), false);
    }
}
