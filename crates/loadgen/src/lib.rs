//! HTTP traffic generator that tallies answers by the version that served them.
//!
//! ```no_run
//! # async fn example() -> Result<(), loadgen::Error> {
//! use loadgen::{Bound, Load, Options};
//! use std::time::Duration;
//!
//! // The tutorial's `while sleep 0.1; do curl …; done`, for one minute.
//! let options = Options::new(
//!     "http://127.0.0.1:8080/",
//!     Load::Rate(10.0),
//!     Bound::Duration(Duration::from_secs(60)),
//! );
//! let run = loadgen::start(options).await?;
//! let before = run.snapshot();
//! // … change the deployment …
//! let phase = run.snapshot().since(&before);
//! for (version, stats) in &phase.versions {
//!     println!("{version}: {} answers, p99 {:?}", stats.count(), stats.percentile(0.99));
//! }
//! let results = run.wait().await;
//! println!("{}", loadgen::summary::render(&results));
//! # Ok(())
//! # }
//! ```
//!
//! Module map: [`options`] (what to do), `client` (one request), [`tally`] (counting
//! without storing requests), [`snapshot`] (views and windows), [`run`] (scheduling
//! and the handle), [`report`] (the `--json` schema), [`summary`] (text for people),
//! [`cli`] (the binary).

pub mod cli;
mod client;
pub mod options;
pub mod report;
pub mod run;
pub mod snapshot;
pub mod stream;
pub mod summary;
pub mod tally;

pub use client::{VERSION_HEADER, version_in_body};
pub use options::{Bound, Connections, DEFAULT_CLASS, Error, Load, Options, RequestClass, Target};
pub use report::Report;
pub use run::{Results, RunHandle, StopReason, start};
pub use snapshot::{Second, Snapshot, VersionStats};
pub use tally::{ClassCounts, ErrorCounts, ErrorKind, Gap, StatusCounts};
