//! The runner: executes a plan's steps on a platform while traffic flows through
//! the Service, cuts the traffic into windows (the plan's phases and the
//! transitions between them), samples ready endpoints, queries Prometheus, runs
//! the analysis and writes the run's report.
//!
//! Everything a run produces lands under its run directory:
//! `report.json`, `report.md`, `report.html`, `junit.xml`, the charts as SVG,
//! and `events.jsonl` (written as the run goes).
//!
//! Modules, by concern: `run` (start to report), `steps` (the plan's steps and
//! traffic's start), `windows` (phases and transitions), `discovery`
//! (Prometheus finding new pods), `interim` (the gates every analysis
//! interval), `queries` (Prometheus's counts after the run), `copies`
//! (mirrored copies from the mirror target's metrics), `app_label` (what
//! both select on), `live` (samples
//! and the live view), `measure` (traffic to observations), `traffic`, `journal`,
//! `prometheus` (the HTTP client), `output` (the report's files), `feed` (the
//! [`LiveFeed`] the live page asks) and `provisional` (the reports published
//! to it once a second, while someone asks).
//! [`fake`] is an in-memory platform for tests.

mod app_label;
mod config;
mod context;
mod copies;
mod discovery;
pub mod fake;
pub mod feed;
mod interim;
mod journal;
mod live;
mod measure;
pub mod output;
pub mod prometheus;
mod provisional;
mod queries;
mod routes;
mod run;
pub mod scenario_dir;
mod steps;
mod traffic;
mod windows;

pub use crate::config::{
    BeforeStep, Connections, MirrorCounting, RunConfig, RunError, StepAhead, run_id,
};
pub use crate::feed::LiveFeed;
pub use crate::run::{INTERRUPTED_GRACE, run};
pub use crate::scenario_dir::{LoadError, load_scenario, read_scenario};
