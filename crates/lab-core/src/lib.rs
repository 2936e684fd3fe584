//! canary-lab's core: scenario files become typed plans, observations become
//! verdicts, and verdicts become a report. This crate does no I/O: callers hand it
//! file contents and measurements, and it hands back values.

pub mod analysis;
pub mod assembly;
pub mod duration;
pub mod gateway;
pub mod limits;
pub mod object;
pub mod plan;
pub mod platform;
pub mod replay;
pub mod report;
pub mod run_event;
pub mod scenario;
