//! A container's probes as the kubelet schedules and judges them: each probe
//! ticks at its period after its initial delay, and its result flips only
//! after `successThreshold` successes or `failureThreshold` failures in a row
//! ([`Thresholds`], pure).

use crate::image::ProbeSpec;
use crate::probe::{self, ProbeResult};
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::process::Child;
use tokio::time::{Instant, Interval, MissedTickBehavior, interval_at, sleep};

/// While a process starts, a refused probe is retried this soon instead of a
/// whole period later: binding a port takes milliseconds here, while in a
/// cluster the container start takes longer than that.
const STARTING_RETRY: Duration = Duration::from_millis(50);
const STARTING_WINDOW: Duration = Duration::from_secs(3);

/// A probe's run of consecutive results against its thresholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thresholds {
    success_threshold: u32,
    failure_threshold: u32,
    successes: u32,
    failures: u32,
}

impl Thresholds {
    pub(crate) fn new(success_threshold: u32, failure_threshold: u32) -> Self {
        Self {
            success_threshold,
            failure_threshold,
            successes: 0,
            failures: 0,
        }
    }

    /// Record one result; `Some(passing)` when it reaches a threshold.
    pub(crate) fn record(&mut self, success: bool) -> Option<bool> {
        if success {
            self.failures = 0;
            self.successes += 1;
            (self.successes == self.success_threshold).then_some(true)
        } else {
            self.successes = 0;
            self.failures += 1;
            (self.failures == self.failure_threshold).then_some(false)
        }
    }
}

/// One probe of a running container: its schedule and its thresholds.
pub(crate) struct Probe {
    pub(crate) spec: ProbeSpec,
    ticks: Interval,
    pub(crate) thresholds: Thresholds,
}

impl Probe {
    /// The probe of a container started at `start`.
    pub(crate) fn new(spec: &ProbeSpec, start: Instant) -> Self {
        let mut ticks = interval_at(start + spec.initial_delay, spec.period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            spec: spec.clone(),
            ticks,
            thresholds: Thresholds::new(spec.success_threshold, spec.failure_threshold),
        }
    }

    /// Probe the container at `address` once.
    pub(crate) async fn run(&self, address: Ipv4Addr) -> ProbeResult {
        probe::run(&self.spec.action, address, self.spec.timeout).await
    }

    /// Probe once; while the container is young and nothing listens yet, retry
    /// soon rather than a period later.
    pub(crate) async fn run_starting(
        &self,
        address: Ipv4Addr,
        start: Instant,
        child: &mut Child,
    ) -> ProbeResult {
        let mut result = self.run(address).await;
        while result == ProbeResult::Refused && start.elapsed() < STARTING_WINDOW {
            sleep(STARTING_RETRY).await;
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            result = self.run(address).await;
        }
        result
    }
}

/// The next tick of a probe; never, for a container without that probe.
pub(crate) async fn tick(probe: &mut Option<Probe>) {
    match probe {
        Some(probe) => {
            probe.ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// A probe result as the kubelet's event message says it.
pub(crate) fn describe(result: &ProbeResult) -> String {
    match result {
        ProbeResult::Success => "ok".to_string(),
        ProbeResult::Refused => "connection refused".to_string(),
        ProbeResult::Failure(message) => message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed results (`+` success, `-` failure); the flips they cause.
    fn flips(success_threshold: u32, failure_threshold: u32, results: &str) -> String {
        let mut thresholds = Thresholds::new(success_threshold, failure_threshold);
        results
            .chars()
            .map(|c| match thresholds.record(c == '+') {
                Some(true) => 'P',
                Some(false) => 'F',
                None => '.',
            })
            .collect()
    }

    #[test]
    fn results_flip_only_at_their_threshold() {
        for (success, failure, results, expected) in [
            (1, 3, "+++", "P.."),
            (1, 3, "---", "..F"),
            (1, 3, "--+--", "..P.."),
            (1, 3, "----", "..F."),
            (2, 1, "+-++", ".F.P"),
            (1, 1, "+-+-", "PFPF"),
            (3, 2, "++-+++--", ".....P.F"),
        ] {
            assert_eq!(
                flips(success, failure, results),
                expected,
                "success {success}, failure {failure}: {results}"
            );
        }
    }

    #[test]
    fn results_are_described_as_the_kubelet_does() {
        assert_eq!(describe(&ProbeResult::Success), "ok");
        assert_eq!(describe(&ProbeResult::Refused), "connection refused");
        assert_eq!(
            describe(&ProbeResult::Failure(
                "HTTP probe failed with statuscode: 503".into()
            )),
            "HTTP probe failed with statuscode: 503"
        );
    }
}
