//! The local platform's own errors, and how they reach the runner.

use lab_core::platform::PlatformError;
use std::path::PathBuf;

/// Errors of the local platform's own machinery.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// No free block of loopback addresses could be reserved.
    #[error("could not reserve a loopback address block: {0}")]
    AddressBlock(String),
    /// Prometheus could not be started or did not become ready.
    #[error("prometheus: {0}")]
    Prometheus(String),
    /// A file under the run directory could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The pods' network namespaces could not be set up (`--pod-network netns`).
    #[error("pod network: {0}")]
    PodNetwork(String),
    /// The demo-app binary is missing.
    #[error("demo-app binary not found at {0} (build it with `cargo build -p demo-app`)")]
    DemoAppMissing(PathBuf),
}

impl From<LocalError> for PlatformError {
    fn from(error: LocalError) -> Self {
        PlatformError::Unavailable(error.to_string())
    }
}
