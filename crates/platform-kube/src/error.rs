//! Errors of the cluster side: kube errors mapped to [`PlatformError`], and what
//! can go wrong while bringing a lab up or down.

use lab_core::object::ObjectKind;
use lab_core::platform::PlatformError;
use std::path::PathBuf;

/// Why bringing up, inspecting or tearing down a lab failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A file of the repository (manifest, dashboard, kind config) is invalid.
    #[error("{}: {message}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the place when known.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error (shown in the message, so not chained as a source).
        error: std::io::Error,
    },
    /// A tool the lab needs is missing or does not answer; the message says what
    /// to install or check.
    #[error("{0}")]
    Prerequisite(String),
    /// An external command failed.
    #[error("`{command}` {message}")]
    Command {
        /// The command line.
        command: String,
        /// How it failed (exit status, timeout), with the end of its output.
        message: String,
    },
    /// The Kubernetes API refused or could not be reached.
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

impl LabError {
    /// An I/O error on a path.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        LabError::Io {
            path: path.into(),
            error,
        }
    }
}

/// Map a kube error on a Deployment or Service to the platform's error kinds:
/// 404 → `NotFound`, 409 → `Conflict`, anything else (connection failures, other
/// API errors) → `Unavailable`.
pub fn object_error(error: kube::Error, kind: ObjectKind, name: &str) -> PlatformError {
    if let kube::Error::Api(status) = &error {
        match status.code {
            404 => {
                return PlatformError::NotFound {
                    kind,
                    name: name.to_string(),
                };
            }
            409 => {
                return PlatformError::Conflict {
                    kind,
                    name: name.to_string(),
                    message: status.message.clone(),
                };
            }
            _ => {}
        }
    }
    PlatformError::Unavailable(format!(
        "{} {name}: {}",
        kind.kubectl_name(),
        describe(&error)
    ))
}

/// Map a kube error on something other than a scenario object (a namespace, a Job,
/// a list): everything becomes `Unavailable`, naming what was being done.
pub fn api_error(error: kube::Error, doing: &str) -> PlatformError {
    PlatformError::Unavailable(format!("{doing}: {}", describe(&error)))
}

/// A kube error in one line, lower case where we write it.
pub fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", status.reason)
            };
            format!(
                "the API server answered {}{reason}: {}",
                status.code, status.message
            )
        }
        kube::Error::HyperError(e) => format!("cannot reach the Kubernetes API: {e}"),
        kube::Error::Service(e) => format!("cannot reach the Kubernetes API: {e}"),
        other => other.to_string(),
    }
}

/// Whether a kube error is an API answer with this HTTP status.
pub fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}
