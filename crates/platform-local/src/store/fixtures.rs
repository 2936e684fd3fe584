//! Records built by hand for unit tests.

use super::objects::{PodRecord, PodSpec, PodStatus};
use crate::image::{PodRuntime, Program};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A demo-app template with these labels, ports `http` 8080 and `probe` 8086,
/// scraped on 9101.
pub(crate) fn template(labels: &[(&str, &str)]) -> Arc<PodRuntime> {
    Arc::new(PodRuntime {
        program: Program::DemoApp,
        args: Vec::new(),
        env: Vec::new(),
        ports: BTreeMap::from([("http".to_string(), 8080), ("probe".to_string(), 8086)]),
        readiness: None,
        liveness: None,
        grace: Duration::from_secs(30),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        annotations: BTreeMap::from([
            ("prometheus.io/scrape".to_string(), "true".to_string()),
            ("prometheus.io/port".to_string(), "9101".to_string()),
        ]),
    })
}

/// A pod of `deployment` at revision `hash`, created `age` ago, not ready.
pub(crate) fn pod(
    deployment: &str,
    hash: &str,
    template: &Arc<PodRuntime>,
    address: [u8; 4],
    age: Duration,
) -> PodRecord {
    PodRecord {
        resource_version: 1,
        created: Instant::now().checked_sub(age).unwrap_or_else(Instant::now),
        deletion: None,
        spec: PodSpec {
            deployment: deployment.to_string(),
            template_hash: hash.to_string(),
            runtime: template.clone(),
        },
        status: PodStatus {
            address: Ipv4Addr::from(address),
            ready: false,
            restarts: 0,
            pid: None,
        },
    }
}
