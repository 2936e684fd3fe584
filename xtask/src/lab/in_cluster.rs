//! `lab run --traffic in-cluster`: traffic from a loadgen Job inside the cluster,
//! followed live, instead of from this machine through the NodePort.

use lab_runner::traffic::{BoxFuture, RemoteLoad, RemoteTraffic};
use platform_kube::KubePlatform;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// A loadgen Job run through the kube platform.
pub struct JobTraffic {
    platform: Arc<KubePlatform>,
    job: Mutex<Option<String>>,
}

impl JobTraffic {
    /// Traffic Jobs on this platform.
    pub fn new(platform: Arc<KubePlatform>) -> Self {
        Self {
            platform,
            job: Mutex::new(None),
        }
    }
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
    args
}

impl RemoteTraffic for JobTraffic {
    fn start(&self, load: RemoteLoad) -> BoxFuture<'_, Result<mpsc::Receiver<String>, String>> {
        Box::pin(async move {
            let url = self.platform.in_cluster_url(&load.service);
            let args = loadgen_args(&url, &load);
            // The Job outlives loadgen's own bound a little, so it ends by itself.
            let deadline = load.limit + Duration::from_secs(60);
            let followed = self
                .platform
                .follow_loadgen(&args, deadline)
                .await
                .map_err(|e| e.to_string())?;
            *self.job.lock().unwrap() = Some(followed.name);
            Ok(followed.lines)
        })
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let job = self.job.lock().unwrap().take();
            if let Some(job) = job {
                let _ = self.platform.stop_loadgen(&job).await;
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
        };
        assert_eq!(
            loadgen_args("http://my-app.canary-lab.svc", &load).join(" "),
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
    }
}
