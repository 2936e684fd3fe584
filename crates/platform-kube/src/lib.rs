//! canary-lab on a Kubernetes cluster: [`KubePlatform`] implements the lab's
//! `Platform` with kube-rs (server-side apply with one field manager, scale
//! through `/scale`, waits that watch status), and the rest of this crate brings
//! a lab up and down: cluster providers (kind, minikube, an existing context),
//! content-tagged images, and the in-cluster Prometheus and Grafana.

pub mod command;
pub mod diagnosis;
pub mod error;
pub mod gateway_api;
pub mod grafana;
pub mod images;
pub mod lab;
pub mod monitoring;
mod namespace;
pub mod platform;
pub mod provider;
pub mod traffic;
pub mod yaml;

pub use error::LabError;
pub use grafana::Grafana;
pub use lab::{LabState, lab_platform};
pub use platform::{KubePlatform, KubeSettings, NodeAccess};
pub use provider::Provider;
