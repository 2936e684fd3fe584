//! Reading a scenario folder from disk for lab-core, which does no I/O itself.

use lab_core::limits;
use lab_core::scenario::{
    self, DEFINITION_FILE, Scenario, ScenarioErrors, ScenarioSource, SourceFile, is_manifest_file,
};
use std::io::Read;
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
    /// A file, or the folder, is beyond the lab's limits (`lab_core::limits`):
    /// refused before it is read.
    #[error("{path}: {problem}")]
    TooLarge {
        /// The file or folder, as shown to users.
        path: String,
        /// Why it is refused.
        problem: String,
    },
    /// A scenario or manifest file is not UTF-8 text.
    #[error("{path}:{line}:{column}: not UTF-8 text")]
    NotText {
        /// The file, as shown to users.
        path: String,
        /// The line of the first byte that is not UTF-8, from 1.
        line: usize,
        /// Its column, in characters, from 1.
        column: usize,
    },
    /// The files were read but describe an invalid scenario: every problem, one
    /// per line, each with file and position.
    #[error("{0}")]
    Invalid(ScenarioErrors),
}

/// Read every regular file of a scenario folder (not its subfolders) into
/// memory. `display` is how messages name the folder (`lab/scenarios/canary`).
/// A folder with too many manifests or too many bytes of them, or a file over
/// the size limit, is refused before any file is read.
pub fn read_scenario(dir: &Path, display: &str) -> Result<ScenarioSource, LoadError> {
    let io = |path: String| move |source| LoadError::Io { path, source };
    let entries = std::fs::read_dir(dir).map_err(io(display.to_string()))?;
    let mut wanted = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(display.to_string()))?;
        if !entry.file_type().is_ok_and(|kind| kind.is_file()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        // Other files (READMEs, pictures) are not read by lab-core.
        if name == DEFINITION_FILE || is_manifest_file(&name) {
            wanted.push((name, entry.path()));
        }
    }
    wanted.sort();
    let manifests = wanted
        .iter()
        .filter(|(name, _)| is_manifest_file(name))
        .count();
    limits::manifest_files(manifests).map_err(|problem| LoadError::TooLarge {
        path: display.to_string(),
        problem,
    })?;
    let mut total = 0;
    for (name, path) in &wanted {
        let shown = format!("{display}/{name}");
        let size = std::fs::metadata(path).map_err(io(shown.clone()))?.len();
        limits::file_size(size).map_err(|problem| LoadError::TooLarge {
            path: shown,
            problem,
        })?;
        total += size;
    }
    limits::folder_size(total).map_err(|problem| LoadError::TooLarge {
        path: display.to_string(),
        problem,
    })?;
    let mut files = Vec::new();
    for (name, path) in wanted {
        let shown = format!("{display}/{name}");
        // Read no more than the limit allows, even if the file grew meanwhile.
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|file| {
                file.take(limits::MAX_FILE_BYTES + 1)
                    .read_to_end(&mut bytes)
            })
            .map_err(io(shown.clone()))?;
        limits::file_size(bytes.len() as u64).map_err(|problem| LoadError::TooLarge {
            path: shown.clone(),
            problem,
        })?;
        let text = String::from_utf8(bytes).map_err(|error| {
            let (line, column) = position(&error.as_bytes()[..error.utf8_error().valid_up_to()]);
            LoadError::NotText {
                path: shown,
                line,
                column,
            }
        })?;
        files.push(SourceFile { name, text });
    }
    Ok(ScenarioSource {
        dir: display.to_string(),
        files,
    })
}

/// The line and column (both from 1, the column in characters) just after
/// `text`, which is valid UTF-8.
fn position(text: &[u8]) -> (usize, usize) {
    let text = std::str::from_utf8(text).unwrap_or_default();
    let line = text.matches('\n').count() + 1;
    let last = text.rsplit('\n').next().unwrap_or_default();
    (line, last.chars().count() + 1)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_text_is_named_with_the_place_of_its_first_bad_byte() {
        let check = |bytes: &[u8], expected: &str| {
            let error = String::from_utf8(bytes.to_vec()).unwrap_err();
            let (line, column) = position(&bytes[..error.utf8_error().valid_up_to()]);
            let error = LoadError::NotText {
                path: "s/app.yaml".into(),
                line,
                column,
            };
            assert_eq!(error.to_string(), expected, "{bytes:?}");
        };
        check(b"\xff", "s/app.yaml:1:1: not UTF-8 text");
        check(b"kind: D\xe9ployment", "s/app.yaml:1:8: not UTF-8 text");
        check(b"a: \xc3\xa9\nb: \xff", "s/app.yaml:2:4: not UTF-8 text");
    }
}
