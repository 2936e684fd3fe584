//! Reports of the tutorial's canary, described as what a run recorded and
//! assembled into reports by lab-core's `assembly`, as the runner assembles
//! them, with knobs for what changes from one run to the next.

// Each test binary uses a different part of these builders.
#![allow(dead_code)]

use lab_core::analysis::{
    AnalysisConfig, CrossCheckTolerance, DecisionTiming, Downtime, FailureTally, Gates,
    LatencySummary, Outcome, ReadySample, Roles, ServerCount, ServerObservation, VersionTally,
    WindowKind, WindowObservation, decide,
};
use lab_core::assembly::{Compared, MeasuredWindow, RunRecord, assemble};
use lab_core::report::{
    ClientSecond, EventRecord, PrometheusInfo, Report, RunStatus, SecondCounts, Section, Series,
    ServerPoint, ServerSeries, StepRecord, StepResult,
};
use std::collections::BTreeMap;

/// What differs between two runs of a correct lab.
#[derive(Debug, Clone, Copy)]
pub struct RunVariation {
    /// The run id.
    pub run_id: &'static str,
    /// Added to every time.
    pub offset_ms: u64,
    /// Requests per second.
    pub rate: u64,
    /// Canary requests in the analyze window above or below an exact 10%.
    pub canary_jitter: i64,
    /// Latency of every version's answers (p99).
    pub p99_ms: f64,
    /// Suffix of the pod names.
    pub pod_suffix: &'static str,
}

/// One run.
pub const RUN_A: RunVariation = RunVariation {
    run_id: "20261126-040242-canary-a1b2",
    offset_ms: 0,
    rate: 10,
    canary_jitter: 0,
    p99_ms: 12.5,
    pod_suffix: "7f9c4",
};

/// Another run of the same scenario: other times, counts, latencies and pods.
pub const RUN_B: RunVariation = RunVariation {
    run_id: "20261127-101500-canary-c3d4",
    offset_ms: 1234,
    rate: 12,
    canary_jitter: 9,
    p99_ms: 31.0,
    pod_suffix: "x2k8p",
};

const V1: &str = "v1.0.0";
const V2: &str = "v2.0.0";

fn tally(requests: u64, successes: u64, p99_ms: f64) -> VersionTally {
    VersionTally {
        requests,
        successes,
        client_errors: 0,
        server_errors: requests - successes,
        attributed_failures: 0,
        latency: (requests > 0).then_some(LatencySummary {
            p50_ms: p99_ms / 5.0,
            p90_ms: p99_ms / 2.0,
            p99_ms,
            max_ms: p99_ms * 2.0,
            slower_than_max_p99: 0,
            slower_than_baseline_limit: None,
        }),
    }
}

fn ready(t_ms: u64, counts: &[(&str, u32)]) -> ReadySample {
    ReadySample {
        t_ms,
        ready: counts.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect(),
        route: Default::default(),
    }
}

struct Phase {
    name: &'static str,
    kind: WindowKind,
    start_ms: u64,
    end_ms: u64,
    answered: Vec<(&'static str, u64, u64)>,
    restarts: Vec<(&'static str, u32)>,
}

fn window(run: &RunVariation, phase: &Phase, timeline: &[ReadySample]) -> WindowObservation {
    let start_ms = run.offset_ms + phase.start_ms;
    let end_ms = run.offset_ms + phase.end_ms;
    let versions: BTreeMap<String, VersionTally> = phase
        .answered
        .iter()
        .map(|(v, requests, successes)| ((*v).to_owned(), tally(*requests, *successes, run.p99_ms)))
        .collect();
    let server = ServerObservation {
        scrape_interval_ms: 5000,
        versions: versions
            .iter()
            .map(|(v, t)| {
                let seconds = (end_ms - start_ms) / 1000;
                (
                    v.clone(),
                    ServerCount {
                        // Prometheus misses a little at the edges of the range.
                        increase: t.requests as f64 * 0.98,
                        query: format!(
                            "sum(increase(http_requests_total{{app=\"my-app\",version=\"{v}\"}}[{seconds}s]))"
                        ),
                    },
                )
            })
            .collect(),
        partial: false,
    };
    WindowObservation {
        name: phase.name.to_owned(),
        kind: phase.kind,
        start_ms,
        end_ms,
        versions,
        connection_failures: FailureTally::default(),
        ready_endpoints: timeline.to_vec(),
        restarts: phase
            .restarts
            .iter()
            .map(|(v, n)| ((*v).to_owned(), *n))
            .collect(),
        server: Some(server),
        downtime: Downtime {
            longest_ms: 1000 / run.rate + 3,
            start_ms: start_ms + 500,
        },
        gateway: Default::default(),
    }
}

fn step(
    index: u32,
    section: Section,
    description: &str,
    kubectl: &[&str],
    times: Option<(u64, u64)>,
    result: StepResult,
) -> StepRecord {
    StepRecord {
        index,
        section,
        description: description.to_owned(),
        kubectl: kubectl.iter().map(|s| (*s).to_owned()).collect(),
        started_ms: times.map(|t| t.0),
        finished_ms: times.map(|t| t.1),
        result,
    }
}

fn steps(run: &RunVariation, rolled_back: bool) -> Vec<StepRecord> {
    let at = |start: u64, end: u64| Some((run.offset_ms + start, run.offset_ms + end));
    let main_after_decision = if rolled_back {
        None
    } else {
        at(101_000, 110_000)
    };
    let main_result = || {
        if rolled_back {
            StepResult::Skipped
        } else {
            StepResult::Ok
        }
    };
    let rollback_result = || {
        if rolled_back {
            StepResult::Ok
        } else {
            StepResult::Skipped
        }
    };
    let rollback_times = if rolled_back {
        at(47_000, 52_000)
    } else {
        None
    };
    vec![
        step(
            0,
            Section::Main,
            "apply app-v1.yaml: Service my-app and Deployment my-app-v1 (10 replicas)",
            &["kubectl apply -f app-v1.yaml"],
            at(0, 300),
            StepResult::Ok,
        ),
        step(
            1,
            Section::Main,
            "wait until my-app-v1 is ready",
            &["kubectl rollout status deployment/my-app-v1 --timeout=120s"],
            at(300, 5000),
            StepResult::Ok,
        ),
        step(
            2,
            Section::Main,
            "observe baseline for 30s",
            &[],
            at(5000, 35_000),
            StepResult::Ok,
        ),
        step(
            3,
            Section::Main,
            "apply app-v2.yaml: Deployment my-app-v2 (1 replica)",
            &["kubectl apply -f app-v2.yaml"],
            at(35_000, 35_200),
            StepResult::Ok,
        ),
        step(
            4,
            Section::Main,
            "scale my-app-v1 to 9 replicas",
            &["kubectl scale deployment/my-app-v1 --replicas=9"],
            at(35_200, 35_300),
            StepResult::Ok,
        ),
        step(
            5,
            Section::Main,
            "wait until my-app-v2 is ready",
            &["kubectl rollout status deployment/my-app-v2 --timeout=120s"],
            at(35_300, 41_000),
            StepResult::Ok,
        ),
        step(
            6,
            Section::Main,
            "analyze canary for 60s",
            &[],
            if rolled_back {
                at(41_000, 46_000)
            } else {
                at(41_000, 101_000)
            },
            StepResult::Ok,
        ),
        step(
            7,
            Section::Main,
            "scale my-app-v2 to 10 replicas",
            &["kubectl scale deployment/my-app-v2 --replicas=10"],
            main_after_decision,
            main_result(),
        ),
        step(
            8,
            Section::Main,
            "delete my-app-v1",
            &["kubectl delete deployment/my-app-v1"],
            main_after_decision,
            main_result(),
        ),
        step(
            9,
            Section::Main,
            "observe promoted for 30s",
            &[],
            if rolled_back {
                None
            } else {
                at(110_000, 140_000)
            },
            main_result(),
        ),
        step(
            10,
            Section::Rollback,
            "scale my-app-v1 to 10 replicas",
            &["kubectl scale deployment/my-app-v1 --replicas=10"],
            rollback_times,
            rollback_result(),
        ),
        step(
            11,
            Section::Rollback,
            "delete my-app-v2",
            &["kubectl delete deployment/my-app-v2"],
            rollback_times,
            rollback_result(),
        ),
    ]
}

fn config() -> AnalysisConfig {
    AnalysisConfig {
        roles: Roles {
            candidate: V2.to_owned(),
            baseline: Some(V1.to_owned()),
        },
        gates: Gates::default(),
        cross_check: CrossCheckTolerance::default(),
    }
}

fn build(
    run: &RunVariation,
    phases: &[Phase],
    timeline: Vec<ReadySample>,
    rolled_back: bool,
) -> Report {
    let config = config();
    let pod = |version: &str| format!("pod/my-app-{version}-{}", run.pod_suffix);
    let mut report = assemble(RunRecord {
        run_id: run.run_id.to_owned(),
        scenario: "canary".to_owned(),
        description: "the tutorial's native canary: 10% to v2, then all of it".to_owned(),
        platform: "local".to_owned(),
        profile: "tutorial".to_owned(),
        proxy_sync_delay_ms: None,
        started_at: format!("2026-11-26T04:02:{:02}Z", run.offset_ms / 1000),
        expected: if rolled_back {
            Outcome::RolledBack
        } else {
            Outcome::Promoted
        },
        analysis: config.clone(),
        windows: phases
            .iter()
            .map(|phase| MeasuredWindow {
                observation: window(run, phase, &timeline),
                compared: Compared::Whole,
            })
            .collect(),
        steps: steps(run, rolled_back),
        timeline: timeline.clone(),
        pods: None,
        series: series(run, rolled_back),
        prometheus: PrometheusInfo {
            available: true,
            url: Some(format!("http://127.0.0.1:{}", 9090 + run.offset_ms % 7)),
            notes: vec![format!("{} up 4.1s after it became ready", pod("v2"))],
        },
        events: vec![
            EventRecord {
                t_ms: run.offset_ms + 35_100,
                reason: "Started".to_owned(),
                object: pod("v2"),
                message: "started container app".to_owned(),
            },
            EventRecord {
                t_ms: run.offset_ms + 35_250,
                reason: "Killing".to_owned(),
                object: pod("v1"),
                message: "stopping container app".to_owned(),
            },
        ],
        notes: vec![format!("run {} on a 2-core machine", run.run_id)],
        status: RunStatus::Completed,
        decision: None,
    });
    // Decided on the analyze window's gates when it ended, one look every 5 s.
    let analyzed = report
        .windows
        .iter()
        .find(|w| w.kind == WindowKind::Analyze)
        .expect("an analyze window");
    let decision = decide(
        &analyzed.name,
        analyzed.gates.clone(),
        &config.gates,
        DecisionTiming {
            decided_at_ms: analyzed.end_ms,
            candidate_applied_ms: run.offset_ms + 35_000,
            candidate_ready_ms: Some(run.offset_ms + 38_000),
            analysis_intervals_elapsed: ((analyzed.end_ms - analyzed.start_ms) / 5000) as u32,
        },
    );
    report.conclude(RunStatus::Completed, Some(decision));
    report
}

/// Three seconds of client counts and one point of the tutorial's rate.
fn series(run: &RunVariation, rolled_back: bool) -> Series {
    Series {
        client: (0..3)
            .map(|s| ClientSecond {
                t_ms: run.offset_ms + 41_000 + s * 1000,
                versions: [
                    (
                        V1.to_owned(),
                        SecondCounts {
                            successes: run.rate - 1,
                            errors: 0,
                        },
                    ),
                    (
                        V2.to_owned(),
                        SecondCounts {
                            successes: 1,
                            errors: u64::from(rolled_back),
                        },
                    ),
                ]
                .into_iter()
                .collect(),
                unattributed_errors: 0,
            })
            .collect(),
        server: Some(ServerSeries {
            query: "sum(rate(http_requests_total{app=\"my-app\"}[2m])) by (version)".to_owned(),
            step_ms: 5000,
            points: vec![ServerPoint {
                t_ms: run.offset_ms + 45_000,
                rates: [
                    (V1.to_owned(), run.rate as f64 * 0.9),
                    (V2.to_owned(), run.rate as f64 * 0.1),
                ]
                .into_iter()
                .collect(),
            }],
        }),
    }
}

/// The tutorial's canary, promoted as expected.
pub fn promoted_canary(run: &RunVariation) -> Report {
    let r = run.rate;
    let o = run.offset_ms;
    let canary = (60 * r) as i64 / 10 + run.canary_jitter;
    let canary = canary as u64;
    let phases = [
        Phase {
            name: "baseline",
            kind: WindowKind::Observe,
            start_ms: 5000,
            end_ms: 35_000,
            answered: vec![(V1, 30 * r, 30 * r)],
            restarts: vec![],
        },
        Phase {
            name: "baseline → canary",
            kind: WindowKind::Transition,
            start_ms: 35_000,
            end_ms: 41_000,
            answered: vec![(V1, 6 * r - 2, 6 * r - 2), (V2, 2, 2)],
            restarts: vec![],
        },
        Phase {
            name: "canary",
            kind: WindowKind::Analyze,
            start_ms: 41_000,
            end_ms: 101_000,
            answered: vec![(V1, 60 * r - canary, 60 * r - canary), (V2, canary, canary)],
            restarts: vec![],
        },
        Phase {
            name: "canary → promoted",
            kind: WindowKind::Transition,
            start_ms: 101_000,
            end_ms: 110_000,
            answered: vec![(V1, 4 * r, 4 * r), (V2, 5 * r, 5 * r)],
            restarts: vec![],
        },
        Phase {
            name: "promoted",
            kind: WindowKind::Observe,
            start_ms: 110_000,
            end_ms: 140_000,
            answered: vec![(V2, 30 * r, 30 * r)],
            restarts: vec![],
        },
    ];
    let timeline = vec![
        ready(o + 4000, &[(V1, 10)]),
        ready(o + 35_250, &[(V1, 9)]),
        ready(o + 38_000, &[(V1, 9), (V2, 1)]),
        ready(o + 103_000, &[(V1, 9), (V2, 10)]),
        ready(o + 104_000, &[(V2, 10)]),
    ];
    build(run, &phases, timeline, false)
}

/// A canary whose v2 fails two requests in five: rolled back after one analysis
/// interval, as expected.
pub fn rolled_back_canary(run: &RunVariation) -> Report {
    let r = run.rate;
    let o = run.offset_ms;
    let canary = (5 * r) / 10 + u64::from(run.canary_jitter != 0);
    let phases = [
        Phase {
            name: "baseline",
            kind: WindowKind::Observe,
            start_ms: 5000,
            end_ms: 35_000,
            answered: vec![(V1, 30 * r, 30 * r)],
            restarts: vec![],
        },
        Phase {
            name: "baseline → canary",
            kind: WindowKind::Transition,
            start_ms: 35_000,
            end_ms: 41_000,
            answered: vec![(V1, 6 * r - 2, 6 * r - 2), (V2, 2, 1)],
            restarts: vec![],
        },
        Phase {
            name: "canary",
            kind: WindowKind::Analyze,
            start_ms: 41_000,
            end_ms: 46_000,
            answered: vec![
                (V1, 5 * r - canary, 5 * r - canary),
                (V2, canary, canary - canary * 2 / 5),
            ],
            restarts: vec![(V2, 0)],
        },
        Phase {
            name: "canary → rollback",
            kind: WindowKind::Transition,
            start_ms: 46_000,
            end_ms: 52_000,
            answered: vec![(V1, 6 * r - 1, 6 * r - 1), (V2, 1, 0)],
            restarts: vec![],
        },
        Phase {
            name: "rolled back",
            kind: WindowKind::Observe,
            start_ms: 52_000,
            end_ms: 82_000,
            answered: vec![(V1, 30 * r, 30 * r)],
            restarts: vec![],
        },
    ];
    let timeline = vec![
        ready(o + 4000, &[(V1, 10)]),
        ready(o + 35_250, &[(V1, 9)]),
        ready(o + 38_000, &[(V1, 9), (V2, 1)]),
        ready(o + 47_500, &[(V1, 10), (V2, 1)]),
        ready(o + 48_000, &[(V1, 10)]),
    ];
    build(run, &phases, timeline, true)
}
