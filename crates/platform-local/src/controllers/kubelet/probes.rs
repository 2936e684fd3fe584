//! A container's probes as the kubelet schedules and judges them: each probe
//! ticks at its period after its initial delay (counted from the container's
//! start), a probe that outlasts `timeoutSeconds` fails, and its result flips
//! only after `successThreshold` successes or `failureThreshold` failures in a
//! row ([`Thresholds`]). A `startupProbe` holds liveness and readiness off
//! until it succeeds, and restarts the container when it fails
//! ([`ProbeStates`]). Both are pure.

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

/// Which of a container's probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

/// What one probe result makes the kubelet do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing changes.
    Hold,
    /// The startup probe succeeded: liveness and readiness begin.
    Started,
    /// Readiness flipped.
    Ready(bool),
    /// Liveness or startup failed its threshold: restart the container.
    Restart,
}

/// The kubelet's view of one run of a container's probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbeStates {
    /// The startup probe has succeeded (or there is none).
    started: bool,
    startup: Thresholds,
    liveness: Thresholds,
    readiness: Thresholds,
}

impl ProbeStates {
    /// A freshly started container; `has_startup` when it has a startup probe.
    /// Thresholds are (success, failure); liveness and startup succeed at once
    /// (the API requires their `successThreshold` to be 1).
    pub(crate) fn new(
        has_startup: bool,
        startup_failures: u32,
        liveness_failures: u32,
        readiness: (u32, u32),
    ) -> Self {
        Self {
            started: !has_startup,
            startup: Thresholds::new(1, startup_failures),
            liveness: Thresholds::new(1, liveness_failures),
            readiness: Thresholds::new(readiness.0, readiness.1),
        }
    }

    /// Whether the startup probe has succeeded (or there is none).
    pub(crate) fn started(&self) -> bool {
        self.started
    }

    /// Whether a probe of this kind runs now: startup until it succeeds, the
    /// others only after.
    pub(crate) fn runs(&self, kind: ProbeKind) -> bool {
        match kind {
            ProbeKind::Startup => !self.started,
            ProbeKind::Liveness | ProbeKind::Readiness => self.started,
        }
    }

    /// Record one result of a probe of `kind`.
    pub(crate) fn record(&mut self, kind: ProbeKind, success: bool) -> Verdict {
        if !self.runs(kind) {
            return Verdict::Hold;
        }
        match kind {
            ProbeKind::Startup => match self.startup.record(success) {
                Some(true) => {
                    self.started = true;
                    Verdict::Started
                }
                Some(false) => Verdict::Restart,
                None => Verdict::Hold,
            },
            ProbeKind::Liveness => match self.liveness.record(success) {
                Some(false) => Verdict::Restart,
                _ => Verdict::Hold,
            },
            ProbeKind::Readiness => match self.readiness.record(success) {
                Some(ready) => Verdict::Ready(ready),
                None => Verdict::Hold,
            },
        }
    }
}

/// One probe of a running container: its schedule and its thresholds.
pub(crate) struct Probe {
    pub(crate) spec: ProbeSpec,
    ticks: Interval,
}

impl Probe {
    /// The probe of a container started at `start`.
    pub(crate) fn new(spec: &ProbeSpec, start: Instant) -> Self {
        let mut ticks = interval_at(start + spec.initial_delay, spec.period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            spec: spec.clone(),
            ticks,
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

    /// Feed `kind result` pairs (`s+`, `l-`, `r+`, …); the verdicts, `.` for
    /// hold, `S` started, `R`/`N` ready/not ready, `X` restart.
    fn verdicts(has_startup: bool, readiness: (u32, u32), events: &str) -> String {
        let mut states = ProbeStates::new(has_startup, 2, 3, readiness);
        events
            .split_whitespace()
            .map(|event| {
                let kind = match &event[..1] {
                    "s" => ProbeKind::Startup,
                    "l" => ProbeKind::Liveness,
                    _ => ProbeKind::Readiness,
                };
                match states.record(kind, &event[1..] == "+") {
                    Verdict::Hold => '.',
                    Verdict::Started => 'S',
                    Verdict::Ready(true) => 'R',
                    Verdict::Ready(false) => 'N',
                    Verdict::Restart => 'X',
                }
            })
            .collect()
    }

    #[test]
    fn a_startup_probe_holds_liveness_and_readiness_off_until_it_succeeds() {
        for (has_startup, readiness, events, expected) in [
            // Without a startup probe, readiness and liveness count at once.
            (false, (1, 3), "r+ l- l- l-", "R..X"),
            // Before startup succeeds, their results are ignored.
            (true, (1, 3), "r+ l- l- l- s+ r+", "....SR"),
            // Startup fails its threshold (2 here): restart.
            (true, (1, 3), "s- s-", ".X"),
            (true, (1, 3), "s- s+ l- l- l-", ".S..X"),
            // Once started, the startup probe is not judged again.
            (true, (1, 3), "s+ s- s-", "S.."),
            // successThreshold 2 for readiness after startup.
            (true, (2, 1), "s+ r+ r+ r- r+ r+", "S.RN.R"),
            // Liveness failures reset on a success.
            (false, (1, 1), "l- l- l+ l- l- l-", ".....X"),
        ] {
            assert_eq!(
                verdicts(has_startup, readiness, events),
                expected,
                "startup {has_startup}, readiness {readiness:?}: {events}"
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
