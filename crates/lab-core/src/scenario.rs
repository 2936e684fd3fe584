//! Scenario folders: a `scenario.toml` naming the steps, and plain Kubernetes YAML
//! manifests, exactly as a learner would `kubectl apply -f` them.
//!
//! [`parse`] takes the folder's contents (read by the caller: this crate does no
//! I/O), parses the manifests into k8s-openapi types, checks everything it can, and
//! returns either a [`Scenario`] or every problem found at once, each with its file,
//! line and column. The format of `scenario.toml` is documented in
//! `lab/scenarios/README.md`.

mod checks;
mod definition;
mod manifest;
pub(crate) mod model;
pub mod yaml;

pub(crate) use model::Problems;
pub use model::{
    DEFAULT_CLASS, DEFINITION_FILE, Entry, Manifest, Scenario, ScenarioError, ScenarioErrors,
    ScenarioSource, ScenarioStep, SourceFile, TrafficClass, is_manifest_file, traffic_classes,
};
pub use yaml::Position;

use crate::limits;

/// Parse and check a scenario folder, reporting every problem at once.
pub fn parse(source: &ScenarioSource) -> Result<Scenario, ScenarioErrors> {
    let mut problems = Problems::default();

    let mut manifests = Vec::new();
    let mut files: Vec<&SourceFile> = source.files.iter().collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    // A file over the size limit is not parsed, nor is the rest of the folder,
    // which would only report what that file might have defined.
    let read = |file: &&&SourceFile| file.name == DEFINITION_FILE || is_manifest_file(&file.name);
    for file in files.iter().filter(read) {
        if let Err(problem) = limits::file_size(file.text.len() as u64) {
            problems.at(&file.name, Position::new(1, 1), problem);
        }
    }
    let total: usize = files.iter().filter(read).map(|file| file.text.len()).sum();
    if let Err(problem) = limits::folder_size(total as u64)
        && let Some(first) = files.iter().find(read)
    {
        problems.at(&first.name, Position::new(1, 1), problem);
    }
    if !problems.is_empty() {
        return Err(problems.into_errors(source));
    }
    let manifest_files: Vec<&&SourceFile> = files
        .iter()
        .filter(|file| is_manifest_file(&file.name))
        .collect();
    if let Err(problem) = limits::manifest_files(manifest_files.len()) {
        problems.at(&manifest_files[0].name, Position::new(1, 1), problem);
        return Err(problems.into_errors(source));
    }
    for file in manifest_files {
        manifests.push(manifest::parse_file(&file.name, &file.text, &mut problems));
    }

    let definition = match files.iter().find(|file| file.name == DEFINITION_FILE) {
        Some(file) => Some(definition::parse(&file.text, &mut problems)),
        None => {
            problems.file_level(
                DEFINITION_FILE,
                "missing: a scenario folder needs scenario.toml next to its manifests".to_owned(),
            );
            None
        }
    };

    let scenario = definition
        .and_then(|definition| checks::check(source, definition, &manifests, &mut problems));
    match scenario {
        Some(scenario) if problems.is_empty() => Ok(scenario),
        _ => Err(problems.into_errors(source)),
    }
}
