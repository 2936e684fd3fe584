//! The Gateway API types accept exactly the fields of the v1 Standard channel
//! CRDs the lab installs (`lab/gateway/gateway-api-v1.5.1-standard-install.yaml`),
//! keep every one of them through a round trip, and refuse the Experimental
//! channel's fields and anything else.
//!
//! The lists below are the Standard channel's `spec` fields, read from the
//! CRDs' `openAPIV3Schema`: the test checks them against the vendored file, so
//! a CRD upgrade shows here as a diff of fields.

use lab_core::gateway::{Gateway, HttpRoute};
use lab_core::scenario::yaml::parse_documents;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::path::Path;
use std::sync::OnceLock;

/// Fields of the Experimental channel (v1.5.1) that the Standard one lacks:
/// refused, as the API server with Standard CRDs refuses them.
const EXPERIMENTAL_HTTPROUTE_FIELDS: [&str; 5] = [
    "spec.useDefaultGateways",
    "spec.rules[].retry",
    "spec.rules[].sessionPersistence",
    "spec.rules[].filters[].externalAuth",
    "spec.rules[].backendRefs[].filters[].externalAuth",
];
const EXPERIMENTAL_GATEWAY_FIELDS: [&str; 1] = ["spec.defaultScope"];

const HTTPROUTE_FIELDS: [&str; 144] = [
    "spec",
    "spec.hostnames",
    "spec.parentRefs",
    "spec.parentRefs[].group",
    "spec.parentRefs[].kind",
    "spec.parentRefs[].name",
    "spec.parentRefs[].namespace",
    "spec.parentRefs[].port",
    "spec.parentRefs[].sectionName",
    "spec.rules",
    "spec.rules[].backendRefs",
    "spec.rules[].backendRefs[].filters",
    "spec.rules[].backendRefs[].filters[].cors",
    "spec.rules[].backendRefs[].filters[].cors.allowCredentials",
    "spec.rules[].backendRefs[].filters[].cors.allowHeaders",
    "spec.rules[].backendRefs[].filters[].cors.allowMethods",
    "spec.rules[].backendRefs[].filters[].cors.allowOrigins",
    "spec.rules[].backendRefs[].filters[].cors.exposeHeaders",
    "spec.rules[].backendRefs[].filters[].cors.maxAge",
    "spec.rules[].backendRefs[].filters[].extensionRef",
    "spec.rules[].backendRefs[].filters[].extensionRef.group",
    "spec.rules[].backendRefs[].filters[].extensionRef.kind",
    "spec.rules[].backendRefs[].filters[].extensionRef.name",
    "spec.rules[].backendRefs[].filters[].requestHeaderModifier",
    "spec.rules[].backendRefs[].filters[].requestHeaderModifier.add",
    "spec.rules[].backendRefs[].filters[].requestHeaderModifier.add[].name",
    "spec.rules[].backendRefs[].filters[].requestHeaderModifier.add[].value",
    "spec.rules[].backendRefs[].filters[].requestHeaderModifier.remove",
    "spec.rules[].backendRefs[].filters[].requestHeaderModifier.set",
    "spec.rules[].backendRefs[].filters[].requestHeaderModifier.set[].name",
    "spec.rules[].backendRefs[].filters[].requestHeaderModifier.set[].value",
    "spec.rules[].backendRefs[].filters[].requestMirror",
    "spec.rules[].backendRefs[].filters[].requestMirror.backendRef",
    "spec.rules[].backendRefs[].filters[].requestMirror.backendRef.group",
    "spec.rules[].backendRefs[].filters[].requestMirror.backendRef.kind",
    "spec.rules[].backendRefs[].filters[].requestMirror.backendRef.name",
    "spec.rules[].backendRefs[].filters[].requestMirror.backendRef.namespace",
    "spec.rules[].backendRefs[].filters[].requestMirror.backendRef.port",
    "spec.rules[].backendRefs[].filters[].requestMirror.fraction",
    "spec.rules[].backendRefs[].filters[].requestMirror.fraction.denominator",
    "spec.rules[].backendRefs[].filters[].requestMirror.fraction.numerator",
    "spec.rules[].backendRefs[].filters[].requestMirror.percent",
    "spec.rules[].backendRefs[].filters[].requestRedirect",
    "spec.rules[].backendRefs[].filters[].requestRedirect.hostname",
    "spec.rules[].backendRefs[].filters[].requestRedirect.path",
    "spec.rules[].backendRefs[].filters[].requestRedirect.path.replaceFullPath",
    "spec.rules[].backendRefs[].filters[].requestRedirect.path.replacePrefixMatch",
    "spec.rules[].backendRefs[].filters[].requestRedirect.path.type",
    "spec.rules[].backendRefs[].filters[].requestRedirect.port",
    "spec.rules[].backendRefs[].filters[].requestRedirect.scheme",
    "spec.rules[].backendRefs[].filters[].requestRedirect.statusCode",
    "spec.rules[].backendRefs[].filters[].responseHeaderModifier",
    "spec.rules[].backendRefs[].filters[].responseHeaderModifier.add",
    "spec.rules[].backendRefs[].filters[].responseHeaderModifier.add[].name",
    "spec.rules[].backendRefs[].filters[].responseHeaderModifier.add[].value",
    "spec.rules[].backendRefs[].filters[].responseHeaderModifier.remove",
    "spec.rules[].backendRefs[].filters[].responseHeaderModifier.set",
    "spec.rules[].backendRefs[].filters[].responseHeaderModifier.set[].name",
    "spec.rules[].backendRefs[].filters[].responseHeaderModifier.set[].value",
    "spec.rules[].backendRefs[].filters[].type",
    "spec.rules[].backendRefs[].filters[].urlRewrite",
    "spec.rules[].backendRefs[].filters[].urlRewrite.hostname",
    "spec.rules[].backendRefs[].filters[].urlRewrite.path",
    "spec.rules[].backendRefs[].filters[].urlRewrite.path.replaceFullPath",
    "spec.rules[].backendRefs[].filters[].urlRewrite.path.replacePrefixMatch",
    "spec.rules[].backendRefs[].filters[].urlRewrite.path.type",
    "spec.rules[].backendRefs[].group",
    "spec.rules[].backendRefs[].kind",
    "spec.rules[].backendRefs[].name",
    "spec.rules[].backendRefs[].namespace",
    "spec.rules[].backendRefs[].port",
    "spec.rules[].backendRefs[].weight",
    "spec.rules[].filters",
    "spec.rules[].filters[].cors",
    "spec.rules[].filters[].cors.allowCredentials",
    "spec.rules[].filters[].cors.allowHeaders",
    "spec.rules[].filters[].cors.allowMethods",
    "spec.rules[].filters[].cors.allowOrigins",
    "spec.rules[].filters[].cors.exposeHeaders",
    "spec.rules[].filters[].cors.maxAge",
    "spec.rules[].filters[].extensionRef",
    "spec.rules[].filters[].extensionRef.group",
    "spec.rules[].filters[].extensionRef.kind",
    "spec.rules[].filters[].extensionRef.name",
    "spec.rules[].filters[].requestHeaderModifier",
    "spec.rules[].filters[].requestHeaderModifier.add",
    "spec.rules[].filters[].requestHeaderModifier.add[].name",
    "spec.rules[].filters[].requestHeaderModifier.add[].value",
    "spec.rules[].filters[].requestHeaderModifier.remove",
    "spec.rules[].filters[].requestHeaderModifier.set",
    "spec.rules[].filters[].requestHeaderModifier.set[].name",
    "spec.rules[].filters[].requestHeaderModifier.set[].value",
    "spec.rules[].filters[].requestMirror",
    "spec.rules[].filters[].requestMirror.backendRef",
    "spec.rules[].filters[].requestMirror.backendRef.group",
    "spec.rules[].filters[].requestMirror.backendRef.kind",
    "spec.rules[].filters[].requestMirror.backendRef.name",
    "spec.rules[].filters[].requestMirror.backendRef.namespace",
    "spec.rules[].filters[].requestMirror.backendRef.port",
    "spec.rules[].filters[].requestMirror.fraction",
    "spec.rules[].filters[].requestMirror.fraction.denominator",
    "spec.rules[].filters[].requestMirror.fraction.numerator",
    "spec.rules[].filters[].requestMirror.percent",
    "spec.rules[].filters[].requestRedirect",
    "spec.rules[].filters[].requestRedirect.hostname",
    "spec.rules[].filters[].requestRedirect.path",
    "spec.rules[].filters[].requestRedirect.path.replaceFullPath",
    "spec.rules[].filters[].requestRedirect.path.replacePrefixMatch",
    "spec.rules[].filters[].requestRedirect.path.type",
    "spec.rules[].filters[].requestRedirect.port",
    "spec.rules[].filters[].requestRedirect.scheme",
    "spec.rules[].filters[].requestRedirect.statusCode",
    "spec.rules[].filters[].responseHeaderModifier",
    "spec.rules[].filters[].responseHeaderModifier.add",
    "spec.rules[].filters[].responseHeaderModifier.add[].name",
    "spec.rules[].filters[].responseHeaderModifier.add[].value",
    "spec.rules[].filters[].responseHeaderModifier.remove",
    "spec.rules[].filters[].responseHeaderModifier.set",
    "spec.rules[].filters[].responseHeaderModifier.set[].name",
    "spec.rules[].filters[].responseHeaderModifier.set[].value",
    "spec.rules[].filters[].type",
    "spec.rules[].filters[].urlRewrite",
    "spec.rules[].filters[].urlRewrite.hostname",
    "spec.rules[].filters[].urlRewrite.path",
    "spec.rules[].filters[].urlRewrite.path.replaceFullPath",
    "spec.rules[].filters[].urlRewrite.path.replacePrefixMatch",
    "spec.rules[].filters[].urlRewrite.path.type",
    "spec.rules[].matches",
    "spec.rules[].matches[].headers",
    "spec.rules[].matches[].headers[].name",
    "spec.rules[].matches[].headers[].type",
    "spec.rules[].matches[].headers[].value",
    "spec.rules[].matches[].method",
    "spec.rules[].matches[].path",
    "spec.rules[].matches[].path.type",
    "spec.rules[].matches[].path.value",
    "spec.rules[].matches[].queryParams",
    "spec.rules[].matches[].queryParams[].name",
    "spec.rules[].matches[].queryParams[].type",
    "spec.rules[].matches[].queryParams[].value",
    "spec.rules[].name",
    "spec.rules[].timeouts",
    "spec.rules[].timeouts.backendRequest",
    "spec.rules[].timeouts.request",
];

const GATEWAY_FIELDS: [&str; 72] = [
    "spec",
    "spec.addresses",
    "spec.addresses[].type",
    "spec.addresses[].value",
    "spec.allowedListeners",
    "spec.allowedListeners.namespaces",
    "spec.allowedListeners.namespaces.from",
    "spec.allowedListeners.namespaces.selector",
    "spec.allowedListeners.namespaces.selector.matchExpressions",
    "spec.allowedListeners.namespaces.selector.matchExpressions[].key",
    "spec.allowedListeners.namespaces.selector.matchExpressions[].operator",
    "spec.allowedListeners.namespaces.selector.matchExpressions[].values",
    "spec.allowedListeners.namespaces.selector.matchLabels",
    "spec.gatewayClassName",
    "spec.infrastructure",
    "spec.infrastructure.annotations",
    "spec.infrastructure.labels",
    "spec.infrastructure.parametersRef",
    "spec.infrastructure.parametersRef.group",
    "spec.infrastructure.parametersRef.kind",
    "spec.infrastructure.parametersRef.name",
    "spec.listeners",
    "spec.listeners[].allowedRoutes",
    "spec.listeners[].allowedRoutes.kinds",
    "spec.listeners[].allowedRoutes.kinds[].group",
    "spec.listeners[].allowedRoutes.kinds[].kind",
    "spec.listeners[].allowedRoutes.namespaces",
    "spec.listeners[].allowedRoutes.namespaces.from",
    "spec.listeners[].allowedRoutes.namespaces.selector",
    "spec.listeners[].allowedRoutes.namespaces.selector.matchExpressions",
    "spec.listeners[].allowedRoutes.namespaces.selector.matchExpressions[].key",
    "spec.listeners[].allowedRoutes.namespaces.selector.matchExpressions[].operator",
    "spec.listeners[].allowedRoutes.namespaces.selector.matchExpressions[].values",
    "spec.listeners[].allowedRoutes.namespaces.selector.matchLabels",
    "spec.listeners[].hostname",
    "spec.listeners[].name",
    "spec.listeners[].port",
    "spec.listeners[].protocol",
    "spec.listeners[].tls",
    "spec.listeners[].tls.certificateRefs",
    "spec.listeners[].tls.certificateRefs[].group",
    "spec.listeners[].tls.certificateRefs[].kind",
    "spec.listeners[].tls.certificateRefs[].name",
    "spec.listeners[].tls.certificateRefs[].namespace",
    "spec.listeners[].tls.mode",
    "spec.listeners[].tls.options",
    "spec.tls",
    "spec.tls.backend",
    "spec.tls.backend.clientCertificateRef",
    "spec.tls.backend.clientCertificateRef.group",
    "spec.tls.backend.clientCertificateRef.kind",
    "spec.tls.backend.clientCertificateRef.name",
    "spec.tls.backend.clientCertificateRef.namespace",
    "spec.tls.frontend",
    "spec.tls.frontend.default",
    "spec.tls.frontend.default.validation",
    "spec.tls.frontend.default.validation.caCertificateRefs",
    "spec.tls.frontend.default.validation.caCertificateRefs[].group",
    "spec.tls.frontend.default.validation.caCertificateRefs[].kind",
    "spec.tls.frontend.default.validation.caCertificateRefs[].name",
    "spec.tls.frontend.default.validation.caCertificateRefs[].namespace",
    "spec.tls.frontend.default.validation.mode",
    "spec.tls.frontend.perPort",
    "spec.tls.frontend.perPort[].port",
    "spec.tls.frontend.perPort[].tls",
    "spec.tls.frontend.perPort[].tls.validation",
    "spec.tls.frontend.perPort[].tls.validation.caCertificateRefs",
    "spec.tls.frontend.perPort[].tls.validation.caCertificateRefs[].group",
    "spec.tls.frontend.perPort[].tls.validation.caCertificateRefs[].kind",
    "spec.tls.frontend.perPort[].tls.validation.caCertificateRefs[].name",
    "spec.tls.frontend.perPort[].tls.validation.caCertificateRefs[].namespace",
    "spec.tls.frontend.perPort[].tls.validation.mode",
];

/// The CRDs of the vendored install, read once.
fn crds() -> &'static [Value] {
    static CRDS: OnceLock<Vec<Value>> = OnceLock::new();
    CRDS.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../lab/gateway/gateway-api-v1.5.1-standard-install.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let (documents, errors) = parse_documents(&text);
        assert!(errors.is_empty(), "{errors:?}");
        documents.into_iter().map(|d| d.value).collect()
    })
}

/// The `openAPIV3Schema` of version v1 of the CRD of `kind`.
fn schema(kind: &str) -> Value {
    let crd = crds()
        .iter()
        .find(|v| v.pointer("/spec/names/kind") == Some(&json!(kind)))
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    let versions = crd.pointer("/spec/versions").unwrap().as_array().unwrap();
    let v1 = versions.iter().find(|v| v["name"] == "v1").unwrap();
    v1.pointer("/schema/openAPIV3Schema").unwrap().clone()
}

/// Every field path under `spec` (`spec.rules[].matches`).
fn field_paths(schema: &Value, path: &str, out: &mut Vec<String>) {
    match schema["type"].as_str() {
        Some("object") => {
            for (key, child) in schema["properties"].as_object().into_iter().flatten() {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if child_path == "spec" || child_path.starts_with("spec.") {
                    out.push(child_path.clone());
                    field_paths(child, &child_path, out);
                }
            }
        }
        Some("array") => field_paths(&schema["items"], &format!("{path}[]"), out),
        _ => {}
    }
}

/// An instance of `schema` with every field set (`full`), or only the
/// required ones; each enum field's pointer and values go to `enums`.
fn instance(
    schema: &Value,
    full: bool,
    pointer: &str,
    enums: &mut Vec<(String, Vec<Value>)>,
) -> Value {
    if let Some(values) = schema["enum"].as_array() {
        enums.push((pointer.to_owned(), values.clone()));
        return values[0].clone();
    }
    match schema["type"].as_str() {
        Some("object") => {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut members = Map::new();
            for (key, child) in schema["properties"].as_object().into_iter().flatten() {
                if full || required.contains(&key.as_str()) {
                    let at = format!("{pointer}/{key}");
                    members.insert(key.clone(), instance(child, full, &at, enums));
                }
            }
            if schema.get("additionalProperties").is_some() && members.is_empty() {
                members.insert("key".to_owned(), json!("value"));
            }
            Value::Object(members)
        }
        Some("array") => json!([instance(
            &schema["items"],
            full,
            &format!("{pointer}/0"),
            enums
        )]),
        Some("integer") => json!(schema["minimum"].as_i64().unwrap_or(0).max(1)),
        Some("boolean") => json!(true),
        _ => json!("x"),
    }
}

/// The object of `kind` whose spec is `spec`.
fn object(kind: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": "x"},
        "spec": spec,
    })
}

/// The types take every Standard field and give each one back.
fn check_accepts<T: DeserializeOwned + Serialize>(kind: &str, listed: &[&str]) {
    let schema = schema(kind);
    let mut paths = Vec::new();
    field_paths(&schema, "", &mut paths);
    let from_crd: Vec<&str> = paths.iter().map(String::as_str).collect();
    assert_eq!(from_crd, listed, "the {kind} CRD's fields changed");
    let spec_schema = &schema["properties"]["spec"];
    for full in [true, false] {
        let mut enums = Vec::new();
        let spec = instance(spec_schema, full, "/spec", &mut enums);
        let value = object(kind, spec);
        let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| {
            panic!(
                "{kind} ({}): {e}",
                if full {
                    "every field"
                } else {
                    "required fields"
                }
            )
        });
        assert_eq!(
            serde_json::to_value(&typed).unwrap(),
            value,
            "{kind}: a field was lost"
        );
        for (pointer, values) in enums {
            for enum_value in values {
                let mut changed = value.clone();
                *changed.pointer_mut(&pointer).unwrap() = enum_value.clone();
                serde_json::from_value::<T>(changed)
                    .unwrap_or_else(|e| panic!("{kind} {pointer} = {enum_value}: {e}"));
            }
        }
    }
}

/// The types refuse a field at `path` (`spec.rules[].retry`) added to an
/// object that has every Standard field.
fn check_refuses<T: DeserializeOwned>(kind: &str, path: &str) {
    let mut enums = Vec::new();
    let mut value = object(
        kind,
        instance(
            &schema(kind)["properties"]["spec"],
            true,
            "/spec",
            &mut enums,
        ),
    );
    let pointer = format!("/{}", path.replace("[]", ".0").replace('.', "/"));
    let (parent, field) = pointer.rsplit_once('/').unwrap();
    value
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{parent}"))
        .as_object_mut()
        .unwrap()
        .insert(field.to_owned(), json!({}));
    let refused = serde_json::from_value::<T>(value).map(|_| ()).unwrap_err();
    assert!(
        refused
            .to_string()
            .starts_with(&format!("unknown field `{field}`")),
        "{path}: {refused}"
    );
}

#[test]
fn httproutes_take_every_standard_field_and_nothing_else() {
    check_accepts::<HttpRoute>("HTTPRoute", &HTTPROUTE_FIELDS);
    for path in EXPERIMENTAL_HTTPROUTE_FIELDS
        .iter()
        .chain(&["spec.rules[].backendRef", "spec.parentref"])
    {
        check_refuses::<HttpRoute>("HTTPRoute", path);
    }
}

#[test]
fn gateways_take_every_standard_field_and_nothing_else() {
    check_accepts::<Gateway>("Gateway", &GATEWAY_FIELDS);
    for path in EXPERIMENTAL_GATEWAY_FIELDS
        .iter()
        .chain(&["spec.listeners[].hostnames"])
    {
        check_refuses::<Gateway>("Gateway", path);
    }
}
