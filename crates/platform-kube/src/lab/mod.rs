//! `lab up`, `lab down` and `lab status` on a cluster, and the platform the
//! runner uses afterwards.
//!
//! `lab up` is a list of [`Step`]s, built first and then either printed
//! (`--dry-run`: every command and every object, nothing run or written) or
//! carried out. Each step that can be skipped says how it knows (a probe), so a
//! second `lab up` only does what is missing.

mod connect;
mod down;
mod gateway;
mod print;
mod state;
mod status;
mod up;

pub use connect::{
    ScrapeIntervalChange, connect_lab, ensure_scrape_interval, lab_platform, run_placement,
};
pub use down::{delete_created, deletion_order, plan_down, run_down};
pub use gateway::{
    CRD_TIMEOUT, GATEWAY_API_FILE, GATEWAY_CLASS, GATEWAY_CLASS_TIMEOUT, GATEWAY_NODE_PORT,
    InstallFile, InstallObject, NGF_CRDS_FILE, NGF_DEPLOY_FILE, NGF_DEPLOYMENT, NGF_NAMESPACE,
    NGF_TIMEOUT, crd_names, install_file, missing_gateway, parse_install_file,
    remember_new_objects, wait_established, wait_gateway_class_accepted,
};
pub use print::{gateway_line, gateway_url_line, print_plan, run_lines, url_lines};
pub use state::{
    CONNECT_TIMEOUT, CreatedObject, LAB_DIR, LabState, MONITORING_TIMEOUT, PASSWORD_FILE,
    STATE_FILE,
};
pub use status::{LabStatus, conflicting_lab, status, status_through};
pub use up::{
    Step, UpOptions, UpPlan, check_requirements, grafana_password, plan_up, plan_up_with,
    run_cluster_step, run_up,
};
