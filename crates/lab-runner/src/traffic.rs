//! Where traffic comes from: loadgen in this process (through the Service's URL
//! from this machine), or loadgen where the platform is (its
//! [`RemoteTraffic`]) whose snapshots stream in as JSON lines. The runner reads
//! both the same way.

use lab_core::platform::{LineSink, RemoteLoad, RemoteTraffic};
use loadgen::stream::SnapshotAssembler;
use loadgen::{RunHandle, Snapshot};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How long a remote generator may take to print its first snapshot (image pull,
/// pod scheduling).
const FIRST_LINE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a remote generator may take to finish after being asked to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

enum Source {
    Local(RunHandle),
    Remote {
        latest: Arc<Mutex<SnapshotAssembler>>,
        ended: watch::Receiver<bool>,
        remote: Arc<dyn RemoteTraffic>,
    },
}

/// Running traffic, read through snapshots.
pub(crate) struct Traffic {
    source: Source,
    /// When traffic started, in run time (the generator counts from its own start).
    pub(crate) offset_ms: u64,
}

impl Traffic {
    pub(crate) fn local(handle: RunHandle, offset_ms: u64) -> Self {
        Self {
            source: Source::Local(handle),
            offset_ms,
        }
    }

    /// Start remote traffic and wait for its first snapshot; `now_ms` reads the
    /// run's clock, to place the generator's start in run time.
    pub(crate) async fn remote(
        remote: Arc<dyn RemoteTraffic>,
        load: RemoteLoad,
        now_ms: impl Fn() -> u64,
    ) -> Result<Self, String> {
        let (sender, mut lines) = mpsc::unbounded_channel();
        let sink = LineSink::new(move |line| sender.send(line).is_ok());
        remote
            .start(load, sink)
            .await
            .map_err(|error| error.to_string())?;
        let mut assembler = SnapshotAssembler::new();
        let first = tokio::time::timeout(FIRST_LINE_TIMEOUT, async {
            while let Some(line) = lines.recv().await {
                match assembler.push_text(&line) {
                    Ok(true) => return Ok(()),
                    Ok(false) => {}
                    Err(error) => return Err(format!("unreadable snapshot from loadgen: {error}")),
                }
            }
            Err("loadgen ended before its first snapshot".to_string())
        })
        .await;
        match first {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                remote.stop().await;
                return Err(error);
            }
            Err(_) => {
                remote.stop().await;
                return Err(format!(
                    "loadgen printed no snapshot within {}s",
                    FIRST_LINE_TIMEOUT.as_secs()
                ));
            }
        }
        let offset_ms = now_ms().saturating_sub(assembler.snapshot().to_ms);
        let latest = Arc::new(Mutex::new(assembler));
        let (ended_tx, ended) = watch::channel(false);
        let follower = latest.clone();
        tokio::spawn(async move {
            while let Some(line) = lines.recv().await {
                // A garbled line is skipped; the next one carries the totals again.
                let _ = follower.lock().unwrap().push_text(&line);
            }
            let _ = ended_tx.send(true);
        });
        Ok(Self {
            source: Source::Remote {
                latest,
                ended,
                remote,
            },
            offset_ms,
        })
    }

    /// The cumulative state now (remote: as of the last line, at most a second old).
    pub(crate) fn snapshot(&self) -> Snapshot {
        match &self.source {
            Source::Local(handle) => handle.snapshot(),
            Source::Remote { latest, .. } => latest.lock().unwrap().snapshot().clone(),
        }
    }

    /// Stop issuing requests and wait (bounded) until the generator is done.
    pub(crate) async fn stop(&self) {
        match &self.source {
            Source::Local(handle) => {
                handle.stop();
                let _ = tokio::time::timeout(Duration::from_secs(10), handle.finished()).await;
            }
            Source::Remote { ended, remote, .. } => {
                remote.stop().await;
                let mut ended = ended.clone();
                let _ = tokio::time::timeout(STOP_TIMEOUT, ended.wait_for(|done| *done)).await;
            }
        }
    }
}
