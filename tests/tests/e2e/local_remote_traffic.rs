//! Traffic generated elsewhere and followed through its snapshot lines, as with
//! `--traffic in-cluster`: here the "elsewhere" is a loadgen process on this
//! machine, so the runner's remote path is exercised without a cluster.

use lab_core::analysis::Outcome;
use lab_core::platform::{BoxFuture, LineSink, Platform, PlatformError, RemoteLoad, RemoteTraffic};
use lab_tests::{
    assert_no_failed_request, assert_no_process_left, binary, quick_plan, run_local_with,
    share_consistent,
};
use platform_local::LocalPlatform;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};

/// loadgen as a child process, its stdout passed back line by line.
struct ProcessTraffic {
    platform: LocalPlatform,
    child: Mutex<Option<u32>>,
}

impl RemoteTraffic for ProcessTraffic {
    fn start(
        &self,
        load: RemoteLoad,
        mut lines: LineSink,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        Box::pin(async move {
            let url = self.platform.service_url(&load.service).await?;
            let mut child = tokio::process::Command::new(binary("loadgen"))
                .args(["--url", &url, "--rate", &load.rate.to_string()])
                .args([
                    "--duration",
                    &format!("{}s", load.limit.as_secs()),
                    "--snapshots",
                    "--json",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| PlatformError::Unavailable(e.to_string()))?;
            *self.child.lock().unwrap() = child.id();
            let stdout = child.stdout.take().unwrap();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    if !lines.send(line) {
                        break;
                    }
                }
                let _ = child.wait().await;
            });
            Ok(())
        })
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(pid) = self.child.lock().unwrap().take() {
                // As a pod deletion would: SIGTERM, loadgen prints its last lines.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_judged_from_followed_snapshots() {
    let plan = quick_plan("canary");
    let run = run_local_with(&plan, |platform| {
        Some(Arc::new(ProcessTraffic {
            platform: platform.clone(),
            child: Mutex::new(None),
        }))
    })
    .await;
    let report = &run.report;
    assert!(report.passed, "{:#?}\n{:?}", report.decision, report.notes);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    assert!(share_consistent(report, "canary", "v2.0.0", 0.10));
    assert_no_failed_request(report);
    // The windows saw traffic from start to end of each phase.
    for window in report.windows.iter().filter(|w| !w.name.starts_with('→')) {
        let requests: u64 = window.versions.values().map(|t| t.requests).sum();
        let expected = (window.end_ms - window.start_ms) as f64 / 1000.0 * plan.profile.rate;
        assert!(
            requests as f64 > expected * 0.8,
            "{}: {requests} requests, {expected:.0} expected",
            window.name
        );
    }
    assert_no_process_left(&run);
}
