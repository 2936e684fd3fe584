//! Every shipped manifest under `lab/` (the scenarios and the monitoring stack)
//! runs its containers as non-root, with a read-only root filesystem, no
//! privilege escalation, every capability dropped, and resource requests and
//! limits for CPU and memory.

use lab_core::scenario::yaml::{YamlDocument, parse_documents, pointer_child};
use lab_tests::repo_root;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where the pod spec of a workload is, by kind.
fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/spec"),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            Some("/spec/template/spec")
        }
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// The hardening problems of one YAML file's workloads, each `file:line:col:
/// what`, and how many workloads it has.
fn problems(name: &str, text: &str) -> (Vec<String>, usize) {
    let (documents, errors) = parse_documents(text);
    let mut found: Vec<String> = errors
        .iter()
        .map(|e| format!("{name}:{}: {}", e.position, e.message))
        .collect();
    let mut workloads = 0;
    for document in &documents {
        let kind = document.value["kind"].as_str().unwrap_or_default();
        let Some(spec) = pod_spec_pointer(kind) else {
            continue;
        };
        workloads += 1;
        pod_problems(name, document, spec, &mut found);
    }
    (found, workloads)
}

fn pod_problems(name: &str, document: &YamlDocument, spec: &str, found: &mut Vec<String>) {
    let value = |pointer: &str| document.value.pointer(pointer).unwrap_or(&Value::Null);
    let pod_context = format!("{spec}/securityContext");
    let mut problem = |pointer: &str, what: &str| {
        found.push(format!(
            "{name}:{}: {pointer}: {what}",
            document.position(pointer)
        ));
    };
    if value(&format!("{spec}/hostNetwork")) == &Value::Bool(true) {
        problem(&format!("{spec}/hostNetwork"), "host network");
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let list_pointer = pointer_child(spec, list);
        let count = value(&list_pointer).as_array().map_or(0, Vec::len);
        for i in 0..count {
            let container = pointer_child(&list_pointer, &i.to_string());
            let context = format!("{container}/securityContext");
            let setting = |key: &str| {
                let own = value(&format!("{context}/{key}"));
                if own.is_null() {
                    value(&format!("{pod_context}/{key}")).clone()
                } else {
                    own.clone()
                }
            };
            if setting("runAsNonRoot") != Value::Bool(true) {
                problem(&context, "runAsNonRoot is not true");
            }
            if setting("runAsUser") == 0 {
                problem(&context, "runAsUser is 0 (root)");
            }
            if value(&format!("{context}/readOnlyRootFilesystem")) != &Value::Bool(true) {
                problem(&context, "readOnlyRootFilesystem is not true");
            }
            if value(&format!("{context}/allowPrivilegeEscalation")) != &Value::Bool(false) {
                problem(&context, "allowPrivilegeEscalation is not false");
            }
            if value(&format!("{context}/privileged")) == &Value::Bool(true) {
                problem(&context, "privileged");
            }
            let dropped = value(&format!("{context}/capabilities/drop"))
                .as_array()
                .is_some_and(|drop| drop.iter().any(|c| c == "ALL"));
            if !dropped {
                problem(&context, "capabilities.drop does not hold ALL");
            }
            for bound in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    let pointer = format!("{container}/resources/{bound}/{resource}");
                    if value(&pointer).is_null() {
                        problem(
                            &format!("{container}/resources"),
                            &format!("no {bound}.{resource}"),
                        );
                    }
                }
            }
        }
    }
}

/// Every YAML file under a folder, recursively, in a stable order.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files
}

const HARDENED: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65532}
      containers:
      - name: app
        image: app
        securityContext:
          readOnlyRootFilesystem: true
          allowPrivilegeEscalation: false
          capabilities: {drop: ["ALL"]}
        resources:
          requests: {cpu: 10m, memory: 16Mi}
          limits: {cpu: 100m, memory: 64Mi}
"#;

#[test]
fn the_check_finds_each_missing_setting() {
    let check = |edit: (&str, &str), expected: &[&str]| {
        let text = HARDENED.replace(edit.0, edit.1);
        assert_ne!(text, HARDENED, "{edit:?} changed nothing");
        let (found, workloads) = problems("app.yaml", &text);
        assert_eq!(workloads, 1);
        let found: Vec<&str> = found
            .iter()
            .map(|p| p.rsplit(": ").next().unwrap())
            .collect();
        assert_eq!(found, expected, "{edit:?}");
    };
    assert_eq!(problems("app.yaml", HARDENED), (vec![], 1));
    check(
        ("runAsNonRoot: true", "runAsNonRoot: false"),
        &["runAsNonRoot is not true"],
    );
    check(
        ("runAsUser: 65532", "runAsUser: 0"),
        &["runAsUser is 0 (root)"],
    );
    check(
        (
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: false",
        ),
        &["readOnlyRootFilesystem is not true"],
    );
    check(
        ("allowPrivilegeEscalation: false", "privileged: true"),
        &["allowPrivilegeEscalation is not false", "privileged"],
    );
    check(
        (r#"drop: ["ALL"]"#, r#"drop: ["NET_RAW"]"#),
        &["capabilities.drop does not hold ALL"],
    );
    check(("limits: {cpu: 100m, ", "limits: {"), &["no limits.cpu"]);
    check(
        ("requests: {cpu: 10m, memory: 16Mi}", "requests: {}"),
        &["no requests.cpu", "no requests.memory"],
    );
    // An init container is held to the same rules.
    check(
        (
            "      containers:",
            "      initContainers:\n      - {name: init, image: app}\n      containers:",
        ),
        &[
            "readOnlyRootFilesystem is not true",
            "allowPrivilegeEscalation is not false",
            "capabilities.drop does not hold ALL",
            "no requests.cpu",
            "no requests.memory",
            "no limits.cpu",
            "no limits.memory",
        ],
    );
    // Objects that run nothing are not workloads.
    assert_eq!(
        problems("svc.yaml", "kind: Service\nspec: {}\n"),
        (vec![], 0)
    );
}

#[test]
fn every_shipped_workload_is_hardened() {
    let root = repo_root();
    let files = yaml_files(&root.join("lab"));
    let mut found = Vec::new();
    let mut workloads = 0;
    let mut monitoring = 0;
    for path in &files {
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let (problems, count) = problems(&name, &text);
        found.extend(problems);
        workloads += count;
        if name.starts_with("lab/monitoring/") {
            monitoring += count;
        }
    }
    // Two Deployments per shipped scenario, Prometheus and Grafana.
    let scenarios = std::fs::read_dir(root.join("lab/scenarios"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert!(scenarios >= 8, "{scenarios} scenarios");
    assert!(
        workloads >= 2 * scenarios + 2,
        "only {workloads} workloads in {files:?}"
    );
    assert!(monitoring >= 2, "only {monitoring} monitoring workloads");
    assert!(found.is_empty(), "{}", found.join("\n"));
}
