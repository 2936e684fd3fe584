//! `lab up`, `lab down` and `lab status` on a cluster, and the platform the
//! runner uses afterwards.
//!
//! `lab up` is a list of [`Step`]s, built first and then either printed
//! (`--dry-run`: every command and every object, nothing run or written) or
//! carried out. Each step that can be skipped says how it knows (a probe), so a
//! second `lab up` only does what is missing.

mod connect;
mod down;
mod state;
mod status;
mod up;

pub use connect::{connect_lab, ensure_scrape_interval, lab_platform, run_placement};
pub use down::{plan_down, run_down};
pub use state::{
    CONNECT_TIMEOUT, CreatedObject, LAB_DIR, LabState, MONITORING_TIMEOUT, PASSWORD_FILE,
    STATE_FILE,
};
pub use status::{LabStatus, conflicting_lab, status};
pub use up::{
    Step, UpOptions, UpPlan, check_requirements, grafana_password, plan_up, plan_up_with,
    print_plan, run_lines, run_up, url_lines,
};
