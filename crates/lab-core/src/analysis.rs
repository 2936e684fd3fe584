//! Observations become verdicts: the traffic split per window, the gates on the
//! candidate, the cross-check with Prometheus, and the decision.
//!
//! Everything here is a pure function of what the runner measured. Times are
//! milliseconds since the run started.
//!
//! The rules, in short:
//! - **split**: a version's observed share has a Wilson score interval at the
//!   gates' confidence; the verdict passes when the expected share (the
//!   time-weighted share of ready endpoints) lies inside it, and is inconclusive
//!   below `min_samples`. Transition windows are shown, not judged.
//! - **gates**: success rate, p99, p99 against the baseline, restarts; fewer than
//!   `min_samples` requests is inconclusive, never a pass, but a Wilson bound that
//!   clearly breaks the success rate or the p99 fails early.
//! - **cross-check**: client counts against Prometheus `increase()` within
//!   [`CrossCheckTolerance`].
//! - **decision**: any failure rolls back; inconclusive at the end rolls back;
//!   only all passing promotes.

mod cross_check;
mod decision;
mod downtime;
mod gates;
mod histogram;
mod observation;
mod routing;
mod split;
mod stats;
mod thresholds;
mod verdict;

pub use cross_check::{CrossCheckTolerance, CrossCheckVerdict, cross_check, cross_check_version};
pub use decision::{
    Decision, DecisionCause, DecisionTiming, Interim, Outcome, decide, decide_progress_deadline,
    evaluate_interim,
};
pub use downtime::{Downtime, DowntimeTracker};
pub use gates::{
    Bad, Counted, Evidence, GateName, GateVerdict, Roles, SLOWER_THAN_P99_LIMIT, Sensitivity,
    evaluate_gates, p99_gate, p99_vs_baseline_gate, restarts_gate, success_rate_gate,
};
pub use histogram::Buckets;
pub use observation::{
    ClassTally, CopyCount, FailureTally, GatewayTraffic, LatencySummary, MirrorSource, ReadySample,
    RouteSample, ServerCount, ServerObservation, VersionTally, WindowKind, WindowObservation,
};
pub use routing::{
    MirrorVerdict, RoutingVerdict, mirror, mirror_only_versions, mirrored_candidate, routing,
};
pub use split::{SplitInput, SplitVerdict, expected_shares, split, split_verdict};
pub use stats::{
    Interval, normal_quantile, requests_to_tell_double, wilson_interval, wilson_upper,
    z_for_confidence,
};
pub use thresholds::{Gates, GatesError, relative_p99_limit};
pub use verdict::{Comparison, Unit, Verdict};

/// What a window is judged with.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisConfig {
    /// The candidate and the baseline.
    pub roles: Roles,
    /// The gates' thresholds (also the split's confidence and minimum sample).
    pub gates: Gates,
    /// The cross-check's tolerance.
    pub cross_check: CrossCheckTolerance,
}

/// Every verdict on one window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowAnalysis {
    /// The split per version.
    pub split: Vec<SplitVerdict>,
    /// The gates on the candidate; empty unless the window is an analyze window.
    pub gates: Vec<GateVerdict>,
    /// The cross-check per version.
    pub cross_check: Vec<CrossCheckVerdict>,
    /// Per class of requests, whether each answer came from where the route
    /// sent it (traffic through a Gateway only).
    pub routing: Vec<RoutingVerdict>,
    /// The share of requests mirrored to each version against the route's.
    pub mirror: Vec<MirrorVerdict>,
}

/// Judges one window: its split, its gates (analyze windows only) and its
/// cross-check. Call it again with the tallies so far after each analysis
/// interval, then hand the gates to [`evaluate_interim`] or [`decide`].
pub fn analyze_window(window: &WindowObservation, config: &AnalysisConfig) -> WindowAnalysis {
    let gates = if window.kind == WindowKind::Analyze {
        evaluate_gates(window, &config.roles, &config.gates)
    } else {
        Vec::new()
    };
    WindowAnalysis {
        split: split(window, config.gates.confidence, config.gates.min_samples),
        gates,
        cross_check: cross_check(window, &config.cross_check),
        routing: routing(window, config.gates.min_samples),
        mirror: mirror(
            window,
            config.gates.confidence,
            config.gates.min_samples,
            &config.cross_check,
        ),
    }
}
