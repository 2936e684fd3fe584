//! Reading a scenario folder from disk for lab-core, which does no I/O itself.

use lab_core::scenario::{
    self, DEFINITION_FILE, Scenario, ScenarioErrors, ScenarioSource, SourceFile, is_manifest_file,
};
use std::path::{Path, PathBuf};

/// Why a scenario folder could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or the folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder, as shown to users.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A scenario or manifest file is not UTF-8 text.
    #[error("{path}: not UTF-8 text")]
    NotText {
        /// The file, as shown to users.
        path: String,
    },
    /// The files were read but describe an invalid scenario: every problem, one
    /// per line, each with file and position.
    #[error("{0}")]
    Invalid(ScenarioErrors),
}

/// Read every regular file of a scenario folder (not its subfolders) into
/// memory. `display` is how messages name the folder (`lab/scenarios/canary`).
pub fn read_scenario(dir: &Path, display: &str) -> Result<ScenarioSource, LoadError> {
    let io = |path: String| move |source| LoadError::Io { path, source };
    let entries = std::fs::read_dir(dir).map_err(io(display.to_string()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(display.to_string()))?;
        if !entry.file_type().is_ok_and(|kind| kind.is_file()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let shown = format!("{display}/{name}");
        let wanted = name == DEFINITION_FILE || is_manifest_file(&name);
        if !wanted {
            // Other files (READMEs, pictures) are not read by lab-core.
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(io(shown.clone()))?;
        let text = String::from_utf8(bytes).map_err(|_| LoadError::NotText { path: shown })?;
        files.push(SourceFile { name, text });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ScenarioSource {
        dir: display.to_string(),
        files,
    })
}

/// Read and check a scenario folder.
pub fn load_scenario(dir: &Path, display: &str) -> Result<Scenario, LoadError> {
    let source = read_scenario(dir, display)?;
    scenario::parse(&source).map_err(LoadError::Invalid)
}

/// The folder of a shipped scenario under a repository root.
pub fn shipped(root: &Path, name: &str) -> PathBuf {
    root.join("lab").join("scenarios").join(name)
}
