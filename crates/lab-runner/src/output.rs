//! The files of a run: `report.json`, `report.md`, and the `latest` link.

use crate::RunError;
use lab_core::report::Report;
use std::path::Path;

fn write(path: &Path, contents: &str) -> Result<(), RunError> {
    // Write beside, then rename: a reader never sees half a report.
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, contents)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|source| RunError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Write a report's files into its run directory and point `latest` at it.
pub fn write_report(run_dir: &Path, report: &Report) -> Result<(), RunError> {
    std::fs::create_dir_all(run_dir).map_err(|source| RunError::Io {
        path: run_dir.to_path_buf(),
        source,
    })?;
    write(&run_dir.join("report.json"), &report.to_json_pretty())?;
    write(&run_dir.join("report.md"), &lab_report::markdown(report))?;
    link_latest(run_dir);
    Ok(())
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
