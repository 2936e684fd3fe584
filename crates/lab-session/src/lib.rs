//! One way to open a lab: given where it runs (the local platform, kind,
//! minikube, an existing context), where its files live (`CANARY_LAB_HOME` or
//! `target/lab`) and what the environment supplies (the demo-app binary,
//! Prometheus, where traffic comes from), [`open_run`] returns the platform with
//! every capability wired and the run's configuration. `lab run`, the end-to-end
//! tests and the benchmarks all open labs here, and `lab up`, `lab down` and
//! `lab status` act on them here, for the local platform and clusters alike.
//!
//! This is the only crate besides the command line and the tests that knows
//! both platforms, and the only one that knows a platform's extras (the local
//! Service's failed-connection counts and grace bound, the cluster's Grafana
//! and in-cluster traffic Job): the runner sees them through the `Platform`
//! trait only.

mod cluster;
mod error;
mod home;
mod local;
mod open;
mod platform;

pub use crate::cluster::{ClusterDown, ClusterUp, cluster_down, cluster_status, cluster_up};
pub use crate::error::SessionError;
pub use crate::home::{HOME_VAR, LabHome};
pub use crate::local::{
    LocalLab, LocalStatus, LocalUp, RunningRun, local_down, local_status, local_up,
};
pub use crate::open::{
    LabSpec, OpenRun, PlatformChoice, Supplies, TrafficFrom, open_run, uses_gateway_api,
};
pub use crate::platform::{Kept, LabPlatform};
pub use platform_kube::{Grafana, Provider};
