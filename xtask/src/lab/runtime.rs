//! The async runtime the lab's commands drive the libraries with.

use anyhow::Context;

/// A runtime with two workers: this machine's size, and plenty for a lab's I/O.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")
}
