//! Reading scenario folders from the repository for tests (lab-core itself reads
//! nothing: callers hand it file contents).

#![allow(dead_code)]

use lab_core::scenario::{ScenarioSource, SourceFile};
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
