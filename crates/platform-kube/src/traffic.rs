//! In-cluster traffic (`--traffic in-cluster`): loadgen runs as a Job in the lab
//! namespace and reaches the Service by its cluster DNS name, so the split is
//! kube-proxy's, as for traffic from the host. [`JobTraffic`] is the kube
//! platform's remote traffic: a Job followed live through its log.

use crate::error::api_error;
use crate::namespace::{FIELD_MANAGER, LabNamespace, MANAGED_BY, MANAGED_BY_LABEL};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, LogParams, PostParams};
use lab_core::platform::{BoxFuture, LineSink, PlatformError, RemoteLoad, RemoteTraffic};
use serde_json::json;
use std::sync::Mutex;
use std::time::Duration;

/// The label that marks loadgen pods.
pub const LOADGEN_NAME_LABEL: &str = "app.kubernetes.io/name";

/// The Job the lab creates for one in-cluster traffic run (named by the API
/// server from `loadgen-`).
pub fn loadgen_job(image: &str, args: &[String], deadline: Duration) -> Job {
    serde_json::from_value(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "generateName": "loadgen-",
            "labels": { LOADGEN_NAME_LABEL: "loadgen", MANAGED_BY_LABEL: MANAGED_BY },
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline.as_secs().max(1),
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": { "labels": { LOADGEN_NAME_LABEL: "loadgen", MANAGED_BY_LABEL: MANAGED_BY } },
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": false,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": { "type": "RuntimeDefault" }
                    },
                    "containers": [{
                        "name": "loadgen",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": args,
                        "resources": {
                            "requests": { "cpu": "500m", "memory": "64Mi" },
                            "limits": { "cpu": "1", "memory": "256Mi" }
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": { "drop": ["ALL"] }
                        }
                    }]
                }
            }
        }
    }))
    .expect("the loadgen Job is a valid Job")
}

/// How a Job ended, if it has.
fn job_outcome(job: &Job) -> Option<bool> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .filter(|c| c.status == "True")
        .find_map(|c| match c.type_.as_str() {
            "Complete" | "SuccessCriteriaMet" => Some(true),
            "Failed" | "FailureTarget" => Some(false),
            _ => None,
        })
}

/// How long a loadgen pod may take to start (scheduling, pulling the image).
const POD_START_TIMEOUT: Duration = Duration::from_secs(120);

/// A loadgen Job whose output is followed as it runs.
#[derive(Debug)]
pub struct FollowedJob {
    /// The Job's name.
    pub name: String,
    /// Its output lines, as they come; the channel ends when the pod's log does.
    pub lines: tokio::sync::mpsc::Receiver<String>,
}

/// The URL of a Service from inside the cluster (`http://my-app.canary-lab.svc`).
pub fn in_cluster_url(namespace: &str, service: &str) -> String {
    format!("http://{service}.{namespace}.svc")
}

/// loadgen's arguments for a load against a Service, from inside the cluster.
pub fn loadgen_args(url: &str, load: &RemoteLoad) -> Vec<String> {
    let mut args = vec![
        "--url".to_string(),
        url.to_string(),
        "--rate".to_string(),
        load.rate.to_string(),
        "--duration".to_string(),
        format!("{}s", load.limit.as_secs().max(1)),
        "--snapshots".to_string(),
        "--json".to_string(),
    ];
    if let Some(n) = load.keep_alive {
        args.extend(["--keep-alive".to_string(), n.to_string()]);
    }
    // loadgen's `--class NAME,SHARE[,HEADER=VALUE…]`.
    for class in &load.classes {
        let mut text = format!("{},{}", class.name, class.share);
        for (name, value) in &class.headers {
            text.push_str(&format!(",{name}={value}"));
        }
        args.extend(["--class".to_string(), text]);
    }
    args
}

/// Create a loadgen Job with `args` (at most `deadline` long) and remember it.
async fn create_job(
    ns: &LabNamespace,
    image: &str,
    args: &[String],
    deadline: Duration,
) -> Result<String, PlatformError> {
    ns.ensure().await?;
    let job = loadgen_job(image, args, deadline);
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    let created = ns
        .api::<Job>()
        .create(&params, &job)
        .await
        .map_err(|e| api_error(e, "creating the loadgen job"))?;
    let name = created.metadata.name.ok_or_else(|| {
        PlatformError::Unavailable("the API server gave the loadgen job no name".into())
    })?;
    ns.remember_job(&name);
    Ok(name)
}

/// Start loadgen with `args` as a Job (at most `deadline` long), wait until its
/// pod runs, and follow its log line by line. Deleting the Job
/// ([`LabNamespace::delete_job`]) sends the pod SIGTERM, loadgen prints its
/// final lines, and the log ends.
pub(crate) async fn follow_loadgen(
    ns: &LabNamespace,
    image: &str,
    args: &[String],
    deadline: Duration,
) -> Result<FollowedJob, PlatformError> {
    use futures::{AsyncBufReadExt, StreamExt};
    let name = create_job(ns, image, args, deadline).await?;
    let pod = match started_pod(ns, &name, POD_START_TIMEOUT).await {
        Ok(pod) => pod,
        Err(error) => {
            let _ = ns.delete_job(&name).await;
            return Err(error);
        }
    };
    let params = LogParams {
        container: Some("loadgen".into()),
        follow: true,
        ..LogParams::default()
    };
    let log = ns
        .api::<Pod>()
        .log_stream(&pod, &params)
        .await
        .map_err(|e| api_error(e, &format!("following the log of pod {pod}")))?;
    let (sender, lines) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        let mut log = Box::pin(log).lines();
        while let Some(Ok(line)) = log.next().await {
            if sender.send(line).await.is_err() {
                break;
            }
        }
    });
    Ok(FollowedJob { name, lines })
}

/// The Job's pod once it runs (or has already ended).
async fn started_pod(
    ns: &LabNamespace,
    job: &str,
    timeout: Duration,
) -> Result<String, PlatformError> {
    let pods = ns.api::<Pod>();
    let selector = format!("job-name={job}");
    let start = tokio::time::Instant::now();
    let mut last = "no pod yet".to_string();
    loop {
        let list = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| api_error(e, &format!("finding the pod of job {job}")))?;
        for pod in &list.items {
            let phase = pod
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Pending".into());
            let name = pod.metadata.name.clone().unwrap_or_default();
            if matches!(phase.as_str(), "Running" | "Succeeded" | "Failed") {
                return Ok(name);
            }
            last = format!("pod {name} is {phase}");
        }
        if start.elapsed() >= timeout {
            return Err(PlatformError::Timeout {
                waited: timeout,
                not_ready: vec![format!("job {job}: {last}")],
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Run loadgen with `args` as a Job in the lab namespace, wait until it ends
/// (at most `timeout`), and return its log, which holds loadgen's output. The
/// Job is deleted afterwards.
pub(crate) async fn run_loadgen(
    ns: &LabNamespace,
    image: &str,
    args: &[String],
    timeout: Duration,
) -> Result<String, PlatformError> {
    let name = create_job(ns, image, args, timeout).await?;
    let result = finish_job(ns, &name, timeout).await;
    ns.delete_job(&name).await?;
    result
}

async fn finish_job(
    ns: &LabNamespace,
    name: &str,
    timeout: Duration,
) -> Result<String, PlatformError> {
    let ended = |job: Option<&Job>| job.and_then(job_outcome).is_some();
    let waited = tokio::time::timeout(
        timeout,
        kube::runtime::wait::await_condition(ns.api::<Job>(), name, ended),
    )
    .await;
    let job = match waited {
        Ok(Ok(Some(job))) => job,
        Ok(Ok(None)) => {
            return Err(PlatformError::Unavailable(format!(
                "loadgen job {name} disappeared"
            )));
        }
        Ok(Err(e)) => {
            return Err(PlatformError::Unavailable(format!(
                "waiting for loadgen job {name}: {e}"
            )));
        }
        Err(_) => {
            return Err(PlatformError::Timeout {
                waited: timeout,
                not_ready: vec![format!("job {name}: loadgen still running")],
            });
        }
    };
    let log = job_log(ns, name).await?;
    if job_outcome(&job) == Some(true) {
        Ok(log)
    } else {
        let tail: Vec<&str> = log
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Err(PlatformError::Unavailable(format!(
            "loadgen job {name} failed: {}",
            if tail.is_empty() {
                "no output".to_string()
            } else {
                tail.join(" / ")
            }
        )))
    }
}

async fn job_log(ns: &LabNamespace, name: &str) -> Result<String, PlatformError> {
    let pods = ns.api::<Pod>();
    let list = pods
        .list(&ListParams::default().labels(&format!("job-name={name}")))
        .await
        .map_err(|e| api_error(e, &format!("finding the pod of job {name}")))?;
    let Some(pod) = list.items.first().and_then(|p| p.metadata.name.clone()) else {
        return Err(PlatformError::Unavailable(format!("job {name} has no pod")));
    };
    let params = LogParams {
        container: Some("loadgen".into()),
        ..LogParams::default()
    };
    pods.logs(&pod, &params)
        .await
        .map_err(|e| api_error(e, &format!("reading the log of pod {pod}")))
}

/// The kube platform's traffic for `--traffic in-cluster`: a loadgen Job per
/// run, reaching the Service by its DNS name, followed through its log.
pub(crate) struct JobTraffic {
    ns: LabNamespace,
    image: String,
    job: Mutex<Option<String>>,
}

impl JobTraffic {
    /// Traffic Jobs in this namespace, running this loadgen image.
    pub(crate) fn new(ns: LabNamespace, image: &str) -> Self {
        Self {
            ns,
            image: image.to_string(),
            job: Mutex::new(None),
        }
    }
}

impl RemoteTraffic for JobTraffic {
    fn start(
        &self,
        load: RemoteLoad,
        mut lines: LineSink,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        Box::pin(async move {
            let url = in_cluster_url(self.ns.name(), &load.service);
            let args = loadgen_args(&url, &load);
            // The Job outlives loadgen's own bound a little, so it ends by itself.
            let deadline = load.limit + Duration::from_secs(60);
            let mut followed = follow_loadgen(&self.ns, &self.image, &args, deadline).await?;
            *self.job.lock().unwrap() = Some(followed.name);
            tokio::spawn(async move {
                while let Some(line) = followed.lines.recv().await {
                    if !lines.send(line) {
                        break;
                    }
                }
            });
            Ok(())
        })
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let job = self.job.lock().unwrap().take();
            if let Some(job) = job {
                let _ = self.ns.delete_job(&job).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadgen_args_follow_the_load() {
        let load = RemoteLoad {
            service: "my-app".into(),
            rate: 10.0,
            limit: Duration::from_secs(900),
            keep_alive: None,
            classes: Vec::new(),
        };
        assert_eq!(
            loadgen_args(&in_cluster_url("canary-lab", "my-app"), &load).join(" "),
            "--url http://my-app.canary-lab.svc --rate 10 --duration 900s --snapshots --json"
        );
        let kept = RemoteLoad {
            keep_alive: Some(4),
            ..load
        };
        assert!(
            loadgen_args("http://x", &kept)
                .ends_with(&["--keep-alive".to_string(), "4".to_string()])
        );
        // An A/B test's targeted group: its share and header.
        let classes = RemoteLoad {
            classes: vec![lab_core::scenario::TrafficClass {
                name: "v2-header".into(),
                share: 0.5,
                headers: [("X-API-Version".to_owned(), "v2.0.0".to_owned())].into(),
            }],
            ..kept
        };
        assert!(loadgen_args("http://x", &classes).ends_with(&[
            "--class".to_string(),
            "v2-header,0.5,X-API-Version=v2.0.0".to_string()
        ]));
    }

    #[test]
    fn job_outcomes() {
        let job = |conditions: serde_json::Value| -> Job {
            serde_json::from_value(json!({"metadata": {}, "status": {"conditions": conditions}}))
                .unwrap()
        };
        assert_eq!(job_outcome(&job(json!([]))), None);
        assert_eq!(
            job_outcome(&job(json!([{"type": "Complete", "status": "True"}]))),
            Some(true)
        );
        assert_eq!(
            job_outcome(&job(json!([{"type": "Failed", "status": "True"}]))),
            Some(false)
        );
        assert_eq!(
            job_outcome(&job(json!([{"type": "Complete", "status": "False"}]))),
            None
        );
    }

    #[test]
    fn loadgen_job_runs_hardened_with_the_given_args() {
        let job = loadgen_job(
            "canary-lab/loadgen:abc",
            &["--json".into(), "http://my-app.canary-lab.svc".into()],
            Duration::from_secs(60),
        );
        let spec = job.spec.unwrap();
        assert_eq!(spec.backoff_limit, Some(0));
        assert_eq!(spec.active_deadline_seconds, Some(60));
        let pod = spec.template.spec.unwrap();
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        let container = &pod.containers[0];
        assert_eq!(container.image.as_deref(), Some("canary-lab/loadgen:abc"));
        assert_eq!(
            container.args.as_deref().unwrap(),
            ["--json", "http://my-app.canary-lab.svc"]
        );
        let security = container.security_context.as_ref().unwrap();
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(security.allow_privilege_escalation, Some(false));
    }
}
