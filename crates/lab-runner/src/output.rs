//! The files of a run: `report.json`, its renderings (`report.md`,
//! `report.html`, `junit.xml` and one SVG per chart), and the `latest` link.

use crate::RunError;
use lab_core::plan::Plan;
use lab_core::report::Report;
use lab_report::Language;
use std::path::{Path, PathBuf};

fn write(path: &Path, contents: &str) -> Result<(), RunError> {
    // Write beside, then rename: a reader never sees half a report.
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, contents)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|source| RunError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Write a report's files into its run directory, for people in `language`
/// (with the steps told from the run's `plan`), and point `latest` at it.
pub fn write_report(
    run_dir: &Path,
    report: &Report,
    language: Language,
    plan: Option<&Plan>,
) -> Result<Vec<PathBuf>, RunError> {
    std::fs::create_dir_all(run_dir).map_err(|source| RunError::Io {
        path: run_dir.to_path_buf(),
        source,
    })?;
    let json = run_dir.join("report.json");
    write(&json, &report.to_json_pretty())?;
    let mut written = vec![json];
    written.extend(write_renderings(run_dir, report, language, plan)?);
    link_latest(run_dir);
    Ok(written)
}

/// Render a report for people and CI into its run directory: `report.md`,
/// `report.html` and the charts as SVG in `language` (the steps told from
/// `plan` when there is one, else in the plan's own words), and `junit.xml`.
/// Returns the files written. Used after a run and to re-render an old run's
/// `report.json`.
pub fn write_renderings(
    run_dir: &Path,
    report: &Report,
    language: Language,
    plan: Option<&Plan>,
) -> Result<Vec<PathBuf>, RunError> {
    let mut files = vec![
        (
            run_dir.join("report.md"),
            lab_report::markdown_in(report, language, plan),
        ),
        (
            run_dir.join("report.html"),
            lab_report::html_in(report, language, plan),
        ),
        // Always English: CI reads its names and messages, whatever the
        // language of the run.
        (run_dir.join("junit.xml"), lab_report::junit(report)),
    ];
    for chart in lab_report::charts_in(report, language) {
        files.push((run_dir.join(format!("{}.svg", chart.name)), chart.svg));
    }
    let mut written = Vec::with_capacity(files.len());
    for (path, contents) in files {
        write(&path, &contents)?;
        written.push(path);
    }
    Ok(written)
}

/// `runs/latest` → the newest run directory (a relative link, so the tree can move).
fn link_latest(run_dir: &Path) {
    let (Some(parent), Some(name)) = (run_dir.parent(), run_dir.file_name()) else {
        return;
    };
    let link = parent.join("latest");
    let temporary = parent.join(".latest.tmp");
    let _ = std::fs::remove_file(&temporary);
    if std::os::unix::fs::symlink(name, &temporary).is_ok() {
        let _ = std::fs::rename(&temporary, &link);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_files_keep_the_whole_name() {
        // `report.md` and `report.html` must not share `report.tmp`.
        let dir = std::env::temp_dir().join(format!("lab-runner-output-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write(&dir.join("a.md"), "md").unwrap();
        write(&dir.join("a.html"), "html").unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("a.md")).unwrap(), "md");
        assert_eq!(std::fs::read_to_string(dir.join("a.html")).unwrap(), "html");
        let left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
