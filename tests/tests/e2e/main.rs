//! canary-lab's end-to-end tests, one binary so that libtest runs them side by
//! side (a thread per core): each lab reserves its own loopback block, its own
//! Prometheus and its own temporary home, so runs do not see each other.
//!
//! Local platform: real demo-app processes, the real Prometheus, real traffic,
//! pinned with insta snapshots of the normalized report. Cluster tests are
//! `#[ignore = "needs a cluster"]`.

mod bad_input;
mod capabilities_everywhere;
mod cluster_context;
mod cluster_k3s;
mod compare;
mod fault_harness_killed;
mod fault_interrupt;
mod fault_pod_killed;
mod fault_prometheus_gone;
mod hardening_local;
mod hardening_manifests;
mod lab_run_exit_status;
mod live_page;
mod local_blue_green;
mod local_canary;
mod local_gateway;
mod local_ramped;
mod local_recreate;
mod local_remote_traffic;
mod local_termination;
mod own_app;
mod pod_network;
mod rollback_bad_canary;
mod rollback_crashing_canary;
mod rollback_slow_canary;
mod rollback_unready_canary;
