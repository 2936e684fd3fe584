//! Reading scenario folders from the repository for tests (lab-core itself reads
//! nothing: callers hand it file contents). lab-report's tests include this
//! file too, so every test loads a shipped scenario's plan the same way.

#![allow(dead_code)]

use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::scenario::{Scenario, ScenarioSource, SourceFile, parse};
use std::path::{Path, PathBuf};

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every folder under `dir`, sorted by name.
pub fn folders(dir: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    folders
}

/// The shipped scenario folders, `lab/scenarios/*`.
pub fn shipped() -> Vec<PathBuf> {
    folders(&repo_root().join("lab/scenarios"))
}

/// Read a folder's files; messages name it `display`.
pub fn read(dir: &Path, display: &str) -> ScenarioSource {
    let mut files: Vec<SourceFile> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| SourceFile {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            text: std::fs::read_to_string(&path).unwrap(),
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    ScenarioSource {
        dir: display.to_owned(),
        files,
    }
}

/// The folder's last component.
pub fn name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// A shipped scenario, `lab/scenarios/<name>`, parsed; its problems panic.
pub fn shipped_scenario(name: &str) -> Scenario {
    let dir = repo_root().join("lab/scenarios").join(name);
    let source = read(&dir, &format!("lab/scenarios/{name}"));
    parse(&source).unwrap_or_else(|problems| panic!("{problems}"))
}

/// A shipped scenario's plan at a profile's pace, with `overrides`.
pub fn shipped_plan(name: &str, profile: ProfileName, overrides: &Overrides) -> Plan {
    Plan::build(&shipped_scenario(name), profile, overrides).unwrap()
}
