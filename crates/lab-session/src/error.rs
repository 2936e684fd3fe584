//! What opening, bringing up or taking down a lab can fail with.

/// Why a lab could not be opened, brought up or taken down.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Bad input (a flag, a recorded lab that conflicts): said in one line,
    /// nothing started.
    #[error("{0}")]
    Usage(String),
    /// A file of the lab could not be read or written.
    #[error("{0}")]
    File(String),
    /// The local platform or its Prometheus could not start.
    #[error("{0}")]
    Local(String),
    /// Something on the cluster side failed.
    #[error(transparent)]
    Cluster(#[from] platform_kube::LabError),
    /// Something is missing on this machine.
    #[error("{0}")]
    Missing(String),
}

impl SessionError {
    /// Whether the error is bad input (exit status 2).
    pub fn is_usage(&self) -> bool {
        matches!(self, SessionError::Usage(_))
    }
}

impl From<platform_local::statefile::StateFileError> for SessionError {
    fn from(error: platform_local::statefile::StateFileError) -> Self {
        SessionError::File(error.to_string())
    }
}
