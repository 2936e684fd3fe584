//! A drop-in for the tutorial's demo image: it answers `GET /` with its host name and
//! version, serves `/live` and `/ready` on a probe address and Prometheus metrics on a
//! metrics address, drains gracefully on SIGTERM, and has fault knobs (errors, latency,
//! slow start, crashes, never ready) that a rollout scenario can turn on.
//!
//! The binary is a thin shell over [`run`]; tests call [`Server::bind`] on ephemeral
//! ports, read the bound addresses and then [`Server::run`] in-process.

pub mod config;
pub mod faults;
pub mod metrics;
pub mod server;

pub use config::{Config, ConfigError};
pub use faults::{Crash, Faults, Fraction};
pub use server::{Addresses, Server, run};

use std::net::SocketAddr;

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One of the three addresses could not be bound.
    #[error("{flag}: cannot bind {address}: {source}")]
    Bind {
        /// The flag that named the address, e.g. `--listen-address`.
        flag: &'static str,
        /// The address that was asked for.
        address: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The address a listener was bound to could not be read back.
    #[error("{flag}: cannot read the bound address: {source}")]
    LocalAddress {
        /// The flag that named the address.
        flag: &'static str,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A crash knob fired: the process is expected to exit with a non-zero status now.
    #[error("crashed on purpose: {0}")]
    Crashed(Crash),
}
