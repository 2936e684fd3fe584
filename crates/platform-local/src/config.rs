//! How to run the local platform.

use crate::image_map::ImageMap;
use crate::prometheus::PrometheusConfig;
use std::path::PathBuf;
use std::time::Duration;

/// How to run the local platform.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Directory for pod logs, the Prometheus config, targets and data.
    pub run_dir: PathBuf,
    /// The `demo-app` binary that pods run.
    pub demo_app: PathBuf,
    /// Prometheus to start beside the pods; `None` runs without it.
    pub prometheus: Option<PrometheusConfig>,
    /// Namespace label given to pods (as in the cluster).
    pub namespace: String,
    /// Where to record the processes this platform started, so that a later
    /// `lab down` can clean up after a harness that was killed.
    pub state_file: Option<PathBuf>,
    /// Upper bound on any pod's termination grace period (teardown after an
    /// interrupt uses a short one so nothing outlives the harness for long).
    pub max_grace: Option<Duration>,
    /// Images mapped to local programs, besides the demo app's.
    pub images: ImageMap,
    /// Whether a container's `command` may name the program it runs (the
    /// manifest comes from the scenario folder, so only when the user allows it).
    pub allow_pod_commands: bool,
}
