//! The e2e workflow: jobs that fail for one reason each, every action pinned
//! by commit, reports uploaded always and the cluster's events and pod logs on
//! failure. Only GitHub runs it; this checks its shape here.

use std::path::Path;
use yaml_rust2::{Yaml, YamlLoader};

fn workflow() -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/e2e.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .remove(0)
}

fn steps(job: &Yaml) -> &Vec<Yaml> {
    job["steps"].as_vec().expect("a job has steps")
}

fn runs(job: &Yaml) -> String {
    steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn there_is_one_job_per_reason_to_fail() {
    let workflow = workflow();
    let jobs = workflow["jobs"].as_hash().unwrap();
    let names: Vec<&str> = jobs.keys().filter_map(Yaml::as_str).collect();
    assert_eq!(names, ["local", "kind", "minikube", "k3s"]);
    let job = |name: &str| &workflow["jobs"][name];
    assert!(runs(job("local")).contains("bash .ci/run"));
    let kind = runs(job("kind"));
    for line in [
        "cargo xtask lab up --platform kind",
        "--traffic in-cluster",
        "cargo xtask lab up --platform kind --gateway",
        "for scenario in canary-weighted ab-testing",
        "--ignored cluster_context",
        "cargo xtask lab down --platform kind",
    ] {
        assert!(kind.contains(line), "kind job lacks `{line}`");
    }
    let minikube = runs(job("minikube"));
    for line in [
        "cargo xtask lab up --platform minikube",
        "cargo xtask lab run canary --platform minikube",
        "cargo xtask lab down --platform minikube",
    ] {
        assert!(minikube.contains(line), "minikube job lacks `{line}`");
    }
    assert!(runs(job("k3s")).contains("--ignored cluster_k3s"));
}

#[test]
fn every_action_is_pinned_by_commit() {
    let workflow = workflow();
    let mut seen = 0;
    for (name, job) in workflow["jobs"].as_hash().unwrap() {
        for step in steps(job) {
            let Some(uses) = step["uses"].as_str() else {
                continue;
            };
            seen += 1;
            let (_, reference) = uses.split_once('@').unwrap_or((uses, ""));
            assert!(
                reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit()),
                "job {name:?}: {uses} is not pinned by a commit"
            );
        }
    }
    assert!(seen > 10, "{seen} actions");
}

#[test]
fn every_job_uploads_what_it_has_and_cluster_jobs_keep_events_and_logs_on_failure() {
    let workflow = workflow();
    for (name, job) in workflow["jobs"].as_hash().unwrap() {
        let upload = steps(job)
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
            })
            .unwrap_or_else(|| panic!("job {name:?} uploads nothing"));
        assert_eq!(upload["if"].as_str(), Some("always()"), "job {name:?}");
    }
    for name in ["kind", "minikube"] {
        let on_failure: Vec<&str> = steps(&workflow["jobs"][name])
            .iter()
            .filter(|s| s["if"].as_str() == Some("failure()"))
            .filter_map(|s| s["run"].as_str())
            .collect();
        assert!(
            on_failure
                .iter()
                .any(|run| run.contains(".github/scripts/cluster-diagnostics.sh")),
            "job {name:?} keeps no events and pod logs on failure"
        );
    }
}
