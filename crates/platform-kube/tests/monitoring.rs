//! The monitoring stack as files: every manifest under lab/monitoring/ parses
//! strictly into k8s-openapi types and is hardened, Prometheus's config passes
//! `promtool check config`, and every dashboard query passes `promtool check rules`.

#[path = "schema/mod.rs"]
mod schema;

use platform_kube::monitoring::{self, MONITORING_NAMESPACE, Manifest};
use platform_kube::yaml::parse_documents;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn monitoring_files() -> Vec<PathBuf> {
    let files = monitoring::yaml_files(&root().join("lab/monitoring")).unwrap();
    assert!(files.len() >= 4, "{files:?}");
    files
}

/// Every key of `written` (a manifest as written) must survive a round trip
/// through the typed value (`typed`): a key k8s-openapi does not know is dropped
/// on deserialization, so it shows up here. Returns the paths of lost keys.
fn unknown_keys(written: &Value, typed: &Value, at: &str, lost: &mut Vec<String>) {
    match (written, typed) {
        (Value::Object(w), Value::Object(t)) => {
            for (key, value) in w {
                let path = format!("{at}.{key}");
                match t.get(key) {
                    Some(typed_value) => unknown_keys(value, typed_value, &path, lost),
                    // A null written by hand is the same as leaving the key out.
                    None if value.is_null() => {}
                    None => lost.push(path),
                }
            }
        }
        (Value::Array(w), Value::Array(t)) => {
            for (i, (a, b)) in w.iter().zip(t).enumerate() {
                unknown_keys(a, b, &format!("{at}[{i}]"), lost);
            }
            if w.len() != t.len() {
                lost.push(format!(
                    "{at}: {} items written, {} typed",
                    w.len(),
                    t.len()
                ));
            }
        }
        _ => {}
    }
}

fn check_strict(text: &str) -> Vec<String> {
    let mut lost = Vec::new();
    for (i, doc) in parse_documents(text).unwrap().into_iter().enumerate() {
        match Manifest::from_value(doc.clone()) {
            Ok(manifest) => unknown_keys(
                &doc,
                &manifest.to_value(),
                &format!("document {}", i + 1),
                &mut lost,
            ),
            Err(e) => lost.push(format!("document {}: {e}", i + 1)),
        }
    }
    lost
}

#[test]
fn strict_check_catches_unknown_fields() {
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 80, nodeport: 30080}]\n  typo: 1\n";
    assert_eq!(
        check_strict(text),
        ["document 1.spec.ports[0].nodeport", "document 1.spec.typo"]
    );
    assert_eq!(
        check_strict("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"),
        Vec::<String>::new()
    );
}

#[test]
fn every_manifest_parses_strictly_into_typed_objects() {
    for file in monitoring_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            check_strict(&text),
            Vec::<String>::new(),
            "{}",
            file.display()
        );
    }
}

fn stack() -> Vec<Manifest> {
    monitoring::monitoring_stack(
        &root(),
        "a-password-for-tests-only-0123",
        monitoring::DEFAULT_SCRAPE_INTERVAL,
    )
    .unwrap()
}

fn values_of(kind: &str) -> Vec<Value> {
    stack()
        .iter()
        .filter(|m| m.kind() == kind)
        .map(Manifest::to_value)
        .collect()
}

#[test]
fn everything_runs_in_the_monitoring_namespace() {
    for manifest in stack() {
        match manifest.kind() {
            "Namespace" | "ClusterRole" | "ClusterRoleBinding" => {
                assert_eq!(manifest.namespace(), None, "{}", manifest.describe())
            }
            _ => assert_eq!(
                manifest.namespace(),
                Some(MONITORING_NAMESPACE),
                "{}",
                manifest.describe()
            ),
        }
    }
    assert_eq!(stack()[0].describe(), "Namespace canary-lab-monitoring");
}

#[test]
fn every_container_is_hardened_and_pinned() {
    let deployments = values_of("Deployment");
    assert_eq!(deployments.len(), 2);
    for d in deployments {
        let name = d["metadata"]["name"].as_str().unwrap().to_string();
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        assert!(
            pod["securityContext"]["runAsUser"].as_i64().unwrap() > 0,
            "{name}"
        );
        let empty_dirs: Vec<&str> = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v.get("emptyDir").is_some())
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        for c in pod["containers"].as_array().unwrap() {
            let at = format!("{name}/{}", c["name"]);
            let security = &c["securityContext"];
            assert_eq!(security["readOnlyRootFilesystem"], true, "{at}");
            assert_eq!(security["allowPrivilegeEscalation"], false, "{at}");
            assert_eq!(
                security["capabilities"]["drop"],
                serde_json::json!(["ALL"]),
                "{at}"
            );
            for bound in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    assert!(
                        c["resources"][bound][resource].is_string(),
                        "{at}: resources.{bound}.{resource}"
                    );
                }
            }
            let image = c["image"].as_str().unwrap();
            let (reference, digest) = image
                .split_once("@sha256:")
                .unwrap_or_else(|| panic!("{at}: {image} has no digest"));
            assert_eq!(digest.len(), 64, "{at}: {image}");
            assert!(
                reference
                    .rsplit_once(':')
                    .is_some_and(|(_, tag)| tag.chars().any(|c| c.is_ascii_digit())),
                "{at}: {image}"
            );
            // Every writable mount is an emptyDir; the rest is read-only.
            for mount in c["volumeMounts"].as_array().unwrap() {
                let volume = mount["name"].as_str().unwrap();
                assert!(
                    empty_dirs.contains(&volume) || mount["readOnly"] == true,
                    "{at}: mount {volume}"
                );
            }
        }
    }
}

#[test]
fn prometheus_may_only_read_pods() {
    let roles = values_of("ClusterRole");
    assert_eq!(roles.len(), 1);
    assert_eq!(
        roles[0]["rules"],
        serde_json::json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}])
    );
    let bindings = values_of("ClusterRoleBinding");
    assert_eq!(bindings[0]["roleRef"]["name"], roles[0]["metadata"]["name"]);
    assert_eq!(bindings[0]["subjects"][0]["name"], "prometheus");
}

#[test]
fn node_ports_match_the_kind_mappings() {
    let ports: Vec<(String, i64)> = values_of("Service")
        .iter()
        .map(|s| {
            (
                s["metadata"]["name"].as_str().unwrap().to_string(),
                s["spec"]["ports"][0]["nodePort"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            ("grafana".to_string(), 30030),
            ("prometheus".to_string(), 30090)
        ]
    );
}

#[test]
fn what_deployments_mount_is_part_of_the_stack() {
    let stack = stack();
    let names = |kind: &str| -> Vec<String> {
        stack
            .iter()
            .filter(|m| m.kind() == kind)
            .map(|m| m.name().to_string())
            .collect()
    };
    for d in values_of("Deployment") {
        let pod = &d["spec"]["template"]["spec"];
        for volume in pod["volumes"].as_array().unwrap() {
            if let Some(cm) = volume["configMap"]["name"].as_str() {
                assert!(names("ConfigMap").contains(&cm.to_string()), "{cm}");
            }
        }
        for c in pod["containers"].as_array().unwrap() {
            for env in c["env"].as_array().into_iter().flatten() {
                if let Some(secret) = env["valueFrom"]["secretKeyRef"]["name"].as_str() {
                    assert!(names("Secret").contains(&secret.to_string()), "{secret}");
                }
            }
        }
        let hash =
            &d["spec"]["template"]["metadata"]["annotations"][monitoring::CONFIG_HASH_ANNOTATION];
        assert!(hash.is_string(), "{}", d["metadata"]["name"]);
    }
}

#[test]
fn grafana_config_maps_hold_the_repository_files() {
    let maps = values_of("ConfigMap");
    let data = |name: &str, key: &str| -> String {
        let map = maps
            .iter()
            .find(|m| m["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{name}"));
        map["data"][key]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {key}"))
            .to_string()
    };
    let file = |path: &str| std::fs::read_to_string(root().join(path)).unwrap();
    assert_eq!(
        data("grafana-dashboards", "canary-lab.json"),
        file("grafana/dashboards/canary-lab.json")
    );
    assert_eq!(
        data("grafana-datasources", "prometheus.yaml"),
        file("grafana/provisioning/datasources/prometheus.yaml")
    );
    assert_eq!(
        data("grafana-dashboard-providers", "canary-lab.yaml"),
        file("grafana/provisioning/dashboards/canary-lab.yaml")
    );
    let secret = &values_of("Secret")[0];
    assert_eq!(secret["metadata"]["name"], "grafana-admin");
    assert!(secret["data"]["admin-password"].is_string());
}

#[test]
fn grafana_provisioning_points_where_the_files_are_mounted() {
    let datasource = &parse_documents(
        &std::fs::read_to_string(root().join("grafana/provisioning/datasources/prometheus.yaml"))
            .unwrap(),
    )
    .unwrap()[0];
    let source = &datasource["datasources"][0];
    assert_eq!(source["uid"], "prometheus");
    assert_eq!(source["type"], "prometheus");
    assert_eq!(
        source["url"],
        "http://prometheus.canary-lab-monitoring.svc:9090"
    );
    let providers = &parse_documents(
        &std::fs::read_to_string(root().join("grafana/provisioning/dashboards/canary-lab.yaml"))
            .unwrap(),
    )
    .unwrap()[0];
    let path = providers["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    let grafana = values_of("Deployment")
        .into_iter()
        .find(|d| d["metadata"]["name"] == "grafana")
        .unwrap();
    let container = &grafana["spec"]["template"]["spec"]["containers"][0];
    let mounts = container["volumeMounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["mountPath"] == path && m["name"] == "dashboards"),
        "{path}"
    );
    let env = |name: &str| {
        container["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        env("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"),
        format!("{path}/canary-lab.json")
    );
    assert_eq!(env("GF_AUTH_ANONYMOUS_ORG_ROLE"), "Viewer");
    assert_eq!(
        env("GF_SECURITY_ADMIN_PASSWORD"),
        Value::Null,
        "the password comes from the Secret"
    );
}

fn promtool() -> &'static str {
    let found = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "promtool is missing: install the Debian package `prometheus` (cargo xtask test does)"
    );
    "promtool"
}

fn prometheus_config() -> String {
    let maps = values_of("ConfigMap");
    let config = maps
        .iter()
        .find(|m| m["metadata"]["name"] == "prometheus-config")
        .unwrap();
    config["data"]["prometheus.yml"]
        .as_str()
        .unwrap()
        .to_string()
}

fn promtool_check(args: &[&str], file_name: &str, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name);
    std::fs::write(&path, text).unwrap();
    let out = Command::new(promtool())
        .args(args)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?} rejected {file_name}:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run `promtool check config`. Some distributions (Debian's prometheus 2.42,
/// for one) build promtool without Kubernetes discovery and reject the
/// `kubernetes_sd_configs` key itself; then the discovery blocks are checked here
/// against the documented fields and promtool checks everything else, with each
/// block swapped for a file discovery of the same job.
fn check_config_with_promtool(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(promtool())
        .args(["check", "config"])
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        return;
    }
    assert!(
        said.contains("field kubernetes_sd_configs not found"),
        "promtool check config rejected the Prometheus config:\n{said}\n{text}"
    );
    eprintln!("this promtool has no Kubernetes discovery; checking the rest with file discovery");
    let mut config = parse_documents(text).unwrap().remove(0);
    for job in config["scrape_configs"].as_array_mut().unwrap() {
        let Some(sd) = job.as_object_mut().unwrap().remove("kubernetes_sd_configs") else {
            continue;
        };
        for entry in sd.as_array().unwrap() {
            for key in entry.as_object().unwrap().keys() {
                let known = [
                    "role",
                    "namespaces",
                    "selectors",
                    "api_server",
                    "kubeconfig_file",
                    "attach_metadata",
                ];
                assert!(
                    known.contains(&key.as_str()),
                    "kubernetes_sd_configs: unknown field {key}"
                );
            }
            let role = entry["role"].as_str().unwrap();
            assert!(
                [
                    "pod",
                    "node",
                    "service",
                    "endpoints",
                    "endpointslice",
                    "ingress"
                ]
                .contains(&role),
                "role {role}"
            );
            if let Some(namespaces) = entry.get("namespaces") {
                for key in namespaces.as_object().unwrap().keys() {
                    assert!(
                        ["names", "own_namespace"].contains(&key.as_str()),
                        "namespaces: unknown field {key}"
                    );
                }
                assert!(
                    namespaces["names"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(Value::is_string)
                );
            }
        }
        job["file_sd_configs"] = serde_json::json!([{"files": [dir.path().join("targets.json")]}]);
    }
    promtool_check(
        &["check", "config"],
        "prometheus-file-sd.yml",
        &platform_kube::yaml::to_yaml(&config),
    );
}

#[test]
fn prometheus_config_passes_promtool() {
    check_config_with_promtool(&prometheus_config());
}

#[test]
fn broken_configs_are_rejected() {
    for (from, to) in [
        ("action: keep", "action: kep"),
        ("scrape_interval: 5s", "scrape_interval: 5 s"),
        ("- role: pod", "- role: pods"),
        ("names:\n", "name:\n"),
    ] {
        let broken = prometheus_config().replace(from, to);
        assert_ne!(broken, prometheus_config(), "{from}");
        let result = std::panic::catch_unwind(|| check_config_with_promtool(&broken));
        assert!(result.is_err(), "accepted {to}");
    }
}

#[test]
fn prometheus_scrapes_annotated_running_pods_every_5s() {
    let config = &parse_documents(&prometheus_config()).unwrap()[0];
    assert_eq!(config["global"]["scrape_interval"], "5s");
    let job = &config["scrape_configs"][0];
    assert_eq!(job["kubernetes_sd_configs"][0]["role"], "pod");
    let rules = job["relabel_configs"].as_array().unwrap();
    let has = |pred: &dyn Fn(&Value) -> bool| rules.iter().any(pred);
    assert!(has(&|r| r["action"] == "keep"
        && r["source_labels"][0]
            == "__meta_kubernetes_pod_annotation_prometheus_io_scrape"
        && r["regex"] == "true"));
    assert!(has(&|r| r["action"] == "keep"
        && r["source_labels"][0] == "__meta_kubernetes_pod_phase"
        && r["regex"] == "Running"));
    assert!(has(&|r| r["target_label"] == "__address__"
        && r["source_labels"][1]
            == "__meta_kubernetes_pod_annotation_prometheus_io_port"));
    assert!(has(
        &|r| r["action"] == "labelmap" && r["regex"] == "__meta_kubernetes_pod_label_(.+)"
    ));
    assert!(has(&|r| r["target_label"] == "namespace"));
    assert!(has(&|r| r["target_label"] == "pod"));
}

fn dashboards() -> Vec<(String, Value)> {
    let dir = root().join("grafana/dashboards");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), value)
        })
        .collect()
}

/// A PromQL expression with Grafana's variables replaced by what they stand for.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "20s")
        .replace("$__interval", "5s")
        .replace("$__range", "15m")
}

#[test]
fn every_dashboard_query_passes_promtool() {
    let mut rules = String::from("groups:\n  - name: dashboards\n    rules:\n");
    let mut count = 0;
    for (file, dashboard) in dashboards() {
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = substitute(target["expr"].as_str().unwrap());
                assert!(!expr.contains('$'), "{file}: unknown variable in {expr}");
                count += 1;
                rules.push_str(&format!(
                    "      - record: dashboard:panel_{}:{}\n        expr: {}\n",
                    panel["id"],
                    target["refId"].as_str().unwrap(),
                    serde_json::to_string(&expr).unwrap()
                ));
            }
        }
    }
    assert!(count >= 5, "{count} queries");
    promtool_check(&["check", "rules"], "dashboards.rules.yml", &rules);
}

#[test]
fn promtool_rejects_a_broken_query() {
    let rules = "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: \"sum(rate(x[2m]) by (version)\"\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.yml");
    std::fs::write(&path, rules).unwrap();
    let out = Command::new(promtool())
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn the_dashboard_has_the_lab_panels() {
    let (_, dashboard) = dashboards()
        .into_iter()
        .find(|(f, _)| f == "canary-lab.json")
        .unwrap();
    assert_eq!(dashboard["uid"], "canary-lab");
    let panels = dashboard["panels"].as_array().unwrap();
    let mut ids: Vec<i64> = panels.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    for panel in panels {
        assert_eq!(
            panel["datasource"]["uid"], "prometheus",
            "{}",
            panel["title"]
        );
        for target in panel["targets"].as_array().unwrap() {
            assert_eq!(
                target["datasource"]["uid"], "prometheus",
                "{}",
                panel["title"]
            );
        }
    }
    let exprs: Vec<&str> = panels
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap())
        .map(|t| t["expr"].as_str().unwrap())
        .collect();
    let has = |needle: &str| exprs.iter().any(|e| e.contains(needle));
    assert!(
        exprs.contains(&r#"sum(rate(http_requests_total{app="my-app"}[2m])) by (version)"#),
        "the tutorial's query"
    );
    assert!(has("group_left"), "share of traffic");
    assert!(has(r#"code=~"5..""#), "error rate");
    assert!(
        has("histogram_quantile(0.99") && has("request_duration_seconds_bucket"),
        "p99 latency"
    );
    assert!(has("up{"), "pods by version");
    assert!(
        exprs.iter().all(|e| e.contains(r#"app="my-app""#)),
        "every query is about the app"
    );
}

#[test]
fn the_dashboard_draws_the_step_annotations_posted_to_it() {
    let (_, dashboard) = dashboards()
        .into_iter()
        .find(|(f, _)| f == "canary-lab.json")
        .unwrap();
    // Steps are posted with the dashboard's uid and no panel: Grafana's
    // built-in query of the dashboard's own annotations draws them on every
    // panel, provided it is there and enabled.
    assert_eq!(dashboard["uid"], platform_kube::grafana::DASHBOARD_UID);
    let body = platform_kube::grafana::annotation_body(1, "step 1", "run");
    assert_eq!(body["dashboardUID"], dashboard["uid"]);
    assert!(body.get("panelId").is_none());
    let queries = dashboard["annotations"]["list"].as_array().unwrap();
    let drawn = queries.iter().any(|q| {
        q["type"] == "dashboard"
            && q["builtIn"] == 1
            && q["enable"] == true
            && q["datasource"]["uid"] == "-- Grafana --"
            && q["target"]["type"] == "dashboard"
    });
    assert!(
        drawn,
        "no enabled query of the dashboard's own annotations: {queries:?}"
    );
}

#[test]
fn grafanas_first_boot_cannot_restart_loop_into_the_lab_up_timeout() {
    let grafana = values_of("Deployment")
        .into_iter()
        .find(|d| d["metadata"]["name"] == "grafana")
        .unwrap();
    let container = &grafana["spec"]["template"]["spec"]["containers"][0];
    let seconds = |probe: &Value, key: &str, default: i64| probe[key].as_i64().unwrap_or(default);
    let startup = &container["startupProbe"];
    assert_eq!(startup["httpGet"]["path"], "/api/health", "{container}");
    // Until the startup probe passes, the kubelet never kills Grafana; it
    // gives up no earlier than `lab up` does.
    let budget = seconds(startup, "initialDelaySeconds", 0)
        + seconds(startup, "periodSeconds", 10) * seconds(startup, "failureThreshold", 3);
    assert!(
        budget >= platform_kube::lab::MONITORING_TIMEOUT.as_secs() as i64,
        "startup probe allows {budget}s"
    );
    let env = container["env"].as_array().unwrap();
    assert!(
        env.iter()
            .any(|e| e["name"] == "GF_PLUGINS_PREINSTALL_DISABLED" && e["value"] == "true"),
        "plugins are preinstalled from the internet at start"
    );
    assert!(env.iter().all(|e| e["name"] != "GF_INSTALL_PLUGINS"));
}

#[test]
fn the_scrape_interval_is_templated_into_a_valid_config() {
    for (interval, expected_timeout) in [(1_000, "800ms"), (5_000, "4s"), (30_000, "10s")] {
        let interval = std::time::Duration::from_millis(interval);
        let stack =
            monitoring::monitoring_stack(&root(), "a-password-for-tests-only-0123", interval)
                .unwrap();
        let config = stack
            .iter()
            .find(|m| m.name() == monitoring::PROMETHEUS_CONFIG_MAP)
            .unwrap()
            .to_value()["data"][monitoring::PROMETHEUS_CONFIG_KEY]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(monitoring::scrape_interval_of(&config), Some(interval));
        let parsed = &parse_documents(&config).unwrap()[0];
        assert_eq!(parsed["global"]["scrape_timeout"], expected_timeout);
        assert_eq!(
            parsed["global"]["evaluation_interval"],
            monitoring::prometheus_duration(interval)
        );
        check_config_with_promtool(&config);
        // Only Prometheus's config changed: the Prometheus-only manifests a run
        // applies to change the interval carry the same config and hash.
        let subset = monitoring::prometheus_manifests(&root(), interval).unwrap();
        let kinds: Vec<String> = subset.iter().map(Manifest::describe).collect();
        assert_eq!(
            kinds,
            [
                "ConfigMap canary-lab-monitoring/prometheus-config",
                "Deployment canary-lab-monitoring/prometheus"
            ]
        );
        for manifest in &subset {
            let same = stack
                .iter()
                .find(|m| m.describe() == manifest.describe())
                .unwrap();
            assert_eq!(manifest, same);
        }
    }
    let hash = |interval| {
        monitoring::prometheus_manifests(&root(), interval).unwrap()[1].to_value()["spec"]
            ["template"]["metadata"]["annotations"][monitoring::CONFIG_HASH_ANNOTATION]
            .clone()
    };
    assert_ne!(
        hash(std::time::Duration::from_secs(1)),
        hash(std::time::Duration::from_secs(5)),
        "a new interval restarts Prometheus"
    );
}

#[test]
fn the_whole_monitoring_stack_passes_the_kubernetes_schema() {
    let bodies: Vec<Value> = stack().iter().map(Manifest::to_value).collect();
    assert!(bodies.len() > 10, "{} objects", bodies.len());
    assert!(bodies.iter().all(schema::is_object));
    if let Err(problems) = schema::check(&bodies) {
        panic!("lab up would apply a body the API server rejects:\n{problems}");
    }
}
