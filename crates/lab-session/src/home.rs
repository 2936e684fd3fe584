//! Where the lab keeps its files: `target/lab` under the repository, or
//! `$CANARY_LAB_HOME` (tests point it at a temporary directory). The cluster
//! lab's `kube-state.json` and Grafana password stay under the repository's
//! `target/lab` whatever the home.

use std::path::{Path, PathBuf};

/// The environment variable that moves the lab's files (runs, the local lab's
/// state) away from `target/lab`, for tests that must not touch the real ones.
pub const HOME_VAR: &str = "CANARY_LAB_HOME";

/// The lab's home and the repository it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabHome {
    repo_root: PathBuf,
    dir: PathBuf,
}

impl LabHome {
    /// The home at `dir`, for the repository at `repo_root`.
    pub fn at(repo_root: impl Into<PathBuf>, dir: impl Into<PathBuf>) -> Self {
        Self {
            repo_root: repo_root.into(),
            dir: dir.into(),
        }
    }

    /// `$CANARY_LAB_HOME` when set, else `target/lab` under `repo_root`.
    pub fn from_env(repo_root: impl Into<PathBuf>) -> Self {
        let repo_root = repo_root.into();
        let dir = match std::env::var_os(HOME_VAR) {
            Some(home) if !home.is_empty() => PathBuf::from(home),
            _ => repo_root.join("target").join("lab"),
        };
        Self { repo_root, dir }
    }

    /// The repository, where the cluster lab keeps its state.
    pub fn repo_root(&self) -> &Path {
        &self.repo_root
    }

    /// The home itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `runs/`: one directory per run, and the `latest` link.
    pub fn runs_dir(&self) -> PathBuf {
        self.dir.join("runs")
    }

    /// `local/`: the local lab's files.
    pub fn local_dir(&self) -> PathBuf {
        self.dir.join("local")
    }

    /// The state file a running `lab run` on the local platform keeps current.
    pub fn run_state_file(&self) -> PathBuf {
        self.local_dir().join("run-state.json")
    }

    /// What `lab up --platform local` started.
    pub(crate) fn lab_file(&self) -> PathBuf {
        self.local_dir().join("lab.json")
    }

    /// A new run's id and directory, for a scenario starting now.
    pub fn new_run(&self, scenario: &str) -> (String, PathBuf) {
        let id = lab_runner::run_id(scenario, jiff::Timestamp::now());
        let dir = self.runs_dir().join(&id);
        (id, dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_holds_the_runs_and_the_local_lab() {
        let home = LabHome::at("/repo", "/tmp/lab");
        assert_eq!(home.runs_dir(), Path::new("/tmp/lab/runs"));
        assert_eq!(
            home.run_state_file(),
            Path::new("/tmp/lab/local/run-state.json")
        );
        let (id, dir) = home.new_run("canary");
        assert!(id.ends_with("Z-canary"), "{id}");
        assert_eq!(dir, Path::new("/tmp/lab/runs").join(&id));
        assert_eq!(home.repo_root(), Path::new("/repo"));
    }
}
