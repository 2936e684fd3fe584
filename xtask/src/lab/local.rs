//! What `lab` takes from this checkout: the lab's home (`target/lab`, or
//! `$CANARY_LAB_HOME`) and the demo-app binary that local pods run, built with
//! cargo unless `$CANARY_LAB_DEMO_APP` names one.

use crate::exit::Usage;
use crate::shell;
use anyhow::{Context, bail};
use lab_session::LabHome;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The environment variable naming the demo-app binary pods run; without it,
/// `lab run` builds demo-app with cargo and takes the one next to xtask.
pub const DEMO_APP_VAR: &str = "CANARY_LAB_DEMO_APP";

/// The lab's home for this checkout.
pub fn home() -> LabHome {
    LabHome::from_env(shell::repo_root())
}

/// `target/lab` (or `$CANARY_LAB_HOME`): everything the lab writes.
pub fn lab_dir() -> PathBuf {
    home().dir().to_path_buf()
}

/// Build the demo app in this binary's profile and return its path (next to
/// this xtask binary), or the one `$CANARY_LAB_DEMO_APP` names.
pub fn demo_app() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(DEMO_APP_VAR).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(Usage(format!("{DEMO_APP_VAR}: {} is not a file", path.display())).into());
        }
        return Ok(path);
    }
    let mut build = shell::cargo();
    build.args(["build", "--quiet", "--package", "demo-app"]);
    // The one next to this binary: a release xtask (the benchmarks') runs the
    // release demo-app, and builds that one rather than a debug one beside it.
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build
        .status()
        .context("could not run cargo to build demo-app")?;
    if !status.success() {
        bail!("building demo-app failed");
    }
    let exe = std::env::current_exe().context("cannot find the xtask binary")?;
    let path = exe.with_file_name("demo-app");
    if !path.is_file() {
        bail!("demo-app was built but is not at {}", path.display());
    }
    Ok(path)
}

/// The run directories under `runs` (the lab home's `runs`) now: the runs a
/// child `lab run` made are the ones that appear between two looks.
pub(crate) fn run_dirs(runs: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(runs)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_run_directories_are_found() {
        let dir = tempfile::tempdir().unwrap();
        assert!(run_dirs(&dir.path().join("missing")).is_empty());
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("file"), "").unwrap();
        let before = run_dirs(dir.path());
        std::fs::create_dir(dir.path().join("b")).unwrap();
        let new: Vec<PathBuf> = run_dirs(dir.path()).difference(&before).cloned().collect();
        assert_eq!(new, [dir.path().join("b")]);
    }
}
