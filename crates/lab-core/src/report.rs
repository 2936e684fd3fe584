//! The report of a run: what was done, what was measured, what was decided.
//!
//! The JSON form is a contract, versioned by [`SCHEMA_VERSION`] and documented in
//! `docs/report-schema.md`. [`Report::summary`] gives the part of a report that a
//! correct lab reproduces exactly, for snapshots.

mod model;
mod summary;

pub use model::{
    ClientSecond, EventRecord, PodCounts, PrometheusInfo, Report, ReportError, RunStatus,
    SCHEMA_VERSION, SecondCounts, Section, Series, ServerPoint, ServerSeries, StatusKind,
    StepRecord, StepResult, StepResultKind, WindowReport, run_passed,
};
pub use summary::{
    CrossCheckSummary, DecisionSummary, GateSummary, SplitSummary, StepSummary, Summary,
    WindowSummary,
};
