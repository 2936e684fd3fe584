//! Starting a run, watching it live, stopping it and collecting its results.

use crate::client::{Client, Outcome};
use crate::options::{
    Bound, Connections, DEFAULT_CLASS, Error, Load, Options, RequestClass, class_of,
};
use crate::snapshot::Snapshot;
use crate::tally::{Shard, SuccessClock};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

/// Why a run stopped issuing requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The duration bound was reached.
    Duration,
    /// The request-count bound was reached.
    Requests,
    /// [`RunHandle::stop`] was called (Ctrl-C in the binary).
    Stopped,
}

/// Everything a finished run measured.
#[derive(Debug, Clone)]
pub struct Results {
    /// The options the run was started with.
    pub options: Options,
    /// When the run started; every `_ms` time is measured from here.
    pub started_at: Instant,
    /// Why it stopped issuing requests.
    pub stopped_by: StopReason,
    /// Cumulative totals at the end, after in-flight requests completed. A period
    /// without success still running at the end is closed and listed in `gaps`.
    pub totals: Snapshot,
}

impl Results {
    /// Completed requests (answers and failures) per second of the whole run.
    pub fn achieved_rate(&self) -> f64 {
        self.totals.completed_rate()
    }
}

/// State shared by the workers, the handle and the final tally.
struct Shared {
    started_at: Instant,
    shards: Box<[Mutex<Shard>]>,
    clock: SuccessClock,
    issued: AtomicU64,
    stop_requested: AtomicBool,
    wake_scheduler: Notify,
}

impl Shared {
    fn ms_since_start(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started_at).as_millis() as u64
    }

    /// Count the outcome of a request meant to start at `intended` and done at `done`.
    /// `class` names the request's class when the run has classes.
    fn record(
        &self,
        shard: usize,
        outcome: Outcome,
        class: Option<&str>,
        intended: Instant,
        done: Instant,
    ) {
        let done_ms = self.ms_since_start(done);
        let mut tally = self.shards[shard % self.shards.len()].lock().unwrap();
        if let Some(class) = class {
            let version = match &outcome {
                Outcome::Answer { version, .. } => Some(version.as_bytes()),
                Outcome::Failed(_) => None,
            };
            tally.record_class(class, version);
        }
        match outcome {
            Outcome::Answer { status, version } => {
                let latency_us = done.saturating_duration_since(intended).as_micros() as u64;
                tally.record_response(version.as_bytes(), status, latency_us, done_ms);
                drop(tally);
                if (200..300).contains(&status) {
                    self.clock.success(done_ms);
                }
            }
            Outcome::Failed(kind) => tally.record_error(kind, done_ms),
        }
    }

    fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot::empty();
        // One shard locked at a time: workers on the other shards go on unhindered.
        for shard in self.shards.iter() {
            snapshot.add_shard(&shard.lock().unwrap());
        }
        // Read after the shards, so every answer counted completed before `to_ms`.
        let issued = self.issued.load(Ordering::Relaxed);
        let to_ms = self.ms_since_start(Instant::now());
        snapshot.finish(
            issued,
            self.clock.gaps(),
            self.clock.open_gap(to_ms),
            self.clock.last_success_ms(),
            to_ms,
        );
        snapshot
    }
}

/// A run in progress: watch it with [`snapshot`](RunHandle::snapshot), end it early
/// with [`stop`](RunHandle::stop), and collect it with [`wait`](RunHandle::wait).
/// Dropping the handle stops issuing requests.
pub struct RunHandle {
    shared: Arc<Shared>,
    done: watch::Receiver<bool>,
    task: Option<JoinHandle<Results>>,
}

impl RunHandle {
    /// When the run started: times in snapshots are ms since this instant.
    pub fn started_at(&self) -> Instant {
        self.shared.started_at
    }

    /// `at` as ms since the start (0 if before it), to line up other events.
    pub fn ms_since_start(&self, at: Instant) -> u64 {
        self.shared.ms_since_start(at)
    }

    /// Cumulative totals so far; cheap enough to take several times a second.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot()
    }

    /// Stop issuing requests; those in flight complete or time out.
    pub fn stop(&self) {
        self.shared.stop_requested.store(true, Ordering::Relaxed);
        self.shared.wake_scheduler.notify_one();
    }

    /// Whether every request has completed and the results are ready.
    pub fn is_finished(&self) -> bool {
        *self.done.borrow()
    }

    /// Wait until the run has finished, without consuming the handle.
    pub async fn finished(&self) {
        let mut done = self.done.clone();
        // An error means the run's task ended, which also means it finished.
        let _ = done.wait_for(|finished| *finished).await;
    }

    /// Wait for the run to end by its bound (or [`stop`](RunHandle::stop)) and for
    /// in-flight requests, and return the results.
    pub async fn wait(mut self) -> Results {
        let task = self.task.take().expect("the task is taken only here");
        match task.await {
            Ok(results) => results,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => panic!("the run's task was cancelled: {error}"),
        }
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.stop();
        }
    }
}

/// Start a run on the current tokio runtime: check the options, resolve the host,
/// and start sending. Returns at once with a handle.
pub async fn start(options: Options) -> Result<RunHandle, Error> {
    let target = options.validate()?;
    let addr = resolve(&target.host, target.port).await?;
    let keep_alive = match options.connections {
        Connections::PerRequest => None,
        Connections::KeepAlive(n) => Some(n),
    };
    let client = Arc::new(Client::new(
        &target,
        addr,
        options.timeout,
        keep_alive,
        &options.classes,
    ));
    let shard_count = std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .clamp(2, 16);
    let shared = Arc::new(Shared {
        started_at: Instant::now(),
        shards: (0..shard_count)
            .map(|_| Mutex::new(Shard::default()))
            .collect(),
        clock: SuccessClock::new(options.gap_threshold.as_millis() as u64, options.max_gaps),
        issued: AtomicU64::new(0),
        stop_requested: AtomicBool::new(false),
        wake_scheduler: Notify::new(),
    });
    let (done_tx, done) = watch::channel(false);
    let task = {
        let shared = shared.clone();
        let options = options.clone();
        tokio::spawn(async move {
            let reached = match options.load {
                Load::Rate(rate) => open_loop(&shared, &client, &options, rate).await,
                Load::Concurrency(workers) => {
                    closed_loop(
                        &shared,
                        &client,
                        options.bound,
                        workers,
                        Arc::new(options.classes.clone()),
                    )
                    .await
                }
            };
            let stopped_by = if shared.stop_requested.load(Ordering::Relaxed) {
                StopReason::Stopped
            } else {
                reached
            };
            let mut totals = shared.snapshot();
            if let Some(gap) = totals.open_gap.take() {
                if totals.gaps.len() < options.max_gaps {
                    totals.gaps.push(gap);
                } else {
                    totals.gaps_overflow += 1;
                }
            }
            let results = Results {
                options,
                started_at: shared.started_at,
                stopped_by,
                totals,
            };
            let _ = done_tx.send(true);
            results
        })
    };
    Ok(RunHandle {
        shared,
        done,
        task: Some(task),
    })
}

/// The address to connect to: the first IPv4 address, else the first one.
async fn resolve(host: &str, port: u16) -> Result<SocketAddr, Error> {
    let fail = |reason: String| Error::Resolve {
        host: host.to_string(),
        reason,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| fail(e.to_string()))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| fail("no address".to_string()))
}

/// Issue requests at `rate` on a fixed schedule whatever the target does; each
/// request's latency counts from when it was due, so a stall shows in full.
async fn open_loop(
    shared: &Arc<Shared>,
    client: &Arc<Client>,
    options: &Options,
    rate: f64,
) -> StopReason {
    let cap = options.max_in_flight;
    let in_flight = Arc::new(Semaphore::new(cap));
    let deadline = options.bound.duration();
    let limit = options.bound.requests();
    let mut next: u64 = 0;
    let reason = loop {
        if shared.stop_requested.load(Ordering::Relaxed) {
            break StopReason::Stopped;
        }
        if limit.is_some_and(|n| next >= n) {
            break StopReason::Requests;
        }
        let due_after = Duration::from_secs_f64(next as f64 / rate);
        if deadline.is_some_and(|d| due_after >= d) {
            break StopReason::Duration;
        }
        let due = shared.started_at + due_after;
        if due > Instant::now() {
            tokio::select! {
                _ = tokio::time::sleep_until(due.into()) => {}
                _ = shared.wake_scheduler.notified() => {}
            }
            continue;
        }
        match in_flight.clone().try_acquire_owned() {
            Ok(permit) => {
                shared.issued.fetch_add(1, Ordering::Relaxed);
                let shared = shared.clone();
                let client = client.clone();
                let shard = next as usize;
                let class = class_of(&options.classes, next);
                let class_name = class.map(|c| options.classes[c].name.clone());
                let classed = !options.classes.is_empty();
                tokio::spawn(async move {
                    let outcome = client.send(class).await;
                    let class = classed.then(|| class_name.as_deref().unwrap_or(DEFAULT_CLASS));
                    shared.record(shard, outcome, class, due, Instant::now());
                    drop(permit);
                });
            }
            Err(_) => {
                let due_ms = shared.ms_since_start(due);
                let shard = next as usize % shared.shards.len();
                shared.shards[shard].lock().unwrap().record_dropped(due_ms);
            }
        }
        next += 1;
    };
    // Every request gives its permit back when it completes or times out.
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    let _ = in_flight.acquire_many(all).await;
    reason
}

/// Run `workers` workers, each sending its next request when the previous one ends.
async fn closed_loop(
    shared: &Arc<Shared>,
    client: &Arc<Client>,
    bound: Bound,
    workers: usize,
    classes: Arc<Vec<RequestClass>>,
) -> StopReason {
    let deadline = bound.duration().map(|d| shared.started_at + d);
    let limit = bound.requests();
    let mut set = JoinSet::new();
    for worker in 0..workers {
        let shared = shared.clone();
        let client = client.clone();
        let classes = classes.clone();
        set.spawn(async move {
            loop {
                if shared.stop_requested.load(Ordering::Relaxed) {
                    return StopReason::Stopped;
                }
                let start = Instant::now();
                if deadline.is_some_and(|d| start >= d) {
                    return StopReason::Duration;
                }
                let claimed = match limit {
                    None => Some(shared.issued.fetch_add(1, Ordering::Relaxed)),
                    Some(n) => shared
                        .issued
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |sent| {
                            (sent < n).then_some(sent + 1)
                        })
                        .ok(),
                };
                let Some(number) = claimed else {
                    return StopReason::Requests;
                };
                let class = class_of(&classes, number);
                let outcome = client.send(class).await;
                let name = (!classes.is_empty())
                    .then(|| class.map_or(DEFAULT_CLASS, |c| classes[c].name.as_str()));
                shared.record(worker, outcome, name, start, Instant::now());
            }
        });
    }
    let mut reason = StopReason::Duration;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(r) => reason = r,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => {}
        }
    }
    reason
}
