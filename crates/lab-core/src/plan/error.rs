//! Why a plan could not be built.

/// Why a plan could not be built from a valid scenario.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A duration override is zero.
    #[error("{what} must be longer than zero")]
    ZeroDuration {
        /// Which value (`--observe`, …).
        what: &'static str,
    },
    /// An override is beyond the lab's limits (see [`crate::limits`]).
    #[error("{what}: {problem}")]
    OverLimit {
        /// Which value (`--observe`, …).
        what: &'static str,
        /// Why it is refused.
        problem: String,
    },
    /// The traffic rate is not a positive number.
    #[error("the traffic rate must be a positive number of requests per second, not {0}")]
    Rate(f64),
    /// The analysis interval does not fit in the analysis phase.
    #[error(
        "the analysis interval ({interval}) is longer than analyze phase `{phase}` ({duration})"
    )]
    IntervalTooLong {
        /// The phase.
        phase: String,
        /// The interval, as text.
        interval: String,
        /// The phase's length, as text.
        duration: String,
    },
}
