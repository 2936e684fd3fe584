//! `cargo xtask lab report [RUN] [--open] [--png] [--lang LANG]`: render a run's report again
//! from its `report.json` (so old runs get the current renderings), print where
//! the files are, and optionally open the HTML page or render the charts as PNG.

use super::local;
use crate::exit::Usage;
use crate::shell;
use anyhow::Context;
use lab_core::report::Report;
use lab_report::Language;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Options of `lab report`.
#[derive(clap::Args)]
pub struct Args {
    /// A run id (a directory under target/lab/runs), a run directory, or a
    /// report.json file.
    #[arg(default_value = "latest")]
    run: String,
    /// Open report.html in the desktop's browser (xdg-open, or open on macOS).
    #[arg(long)]
    open: bool,
    /// Also render every chart as PNG, beside its SVG.
    #[arg(long)]
    png: bool,
    /// The language of report.md, report.html and the charts: en or ko
    /// (junit.xml stays English).
    #[arg(long, value_name = "LANG", default_value = "en")]
    lang: Language,
}

/// The run directory and report file that `run` names.
fn find_run(run: &str, runs_dir: &Path) -> Result<(PathBuf, PathBuf), Usage> {
    let given = Path::new(run);
    let dir = if given.is_file() {
        let parent = given.parent().unwrap_or(Path::new("."));
        return Ok((parent.to_path_buf(), given.to_path_buf()));
    } else if given.is_dir() {
        given.to_path_buf()
    } else if !run.contains('/') && runs_dir.join(run).is_dir() {
        runs_dir.join(run)
    } else {
        return Err(Usage(format!(
            "unknown run `{run}`: `ls {}` lists the runs (or pass a run directory)",
            runs_dir.display()
        )));
    };
    let report = dir.join("report.json");
    if !report.is_file() {
        return Err(Usage(format!(
            "{}: no report.json here (not a run directory, or a run that did not get to write its report)",
            dir.display()
        )));
    }
    Ok((dir, report))
}

/// Read and check a report file; a file that is not a report is bad input.
fn read_report(path: &Path) -> anyhow::Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Report::from_json(&text).map_err(|error| Usage(format!("{}: {error}", path.display())).into())
}

/// Render an SVG document to PNG at twice its size, with the system's fonts.
fn png(svg: &str, fonts: &resvg::usvg::fontdb::Database) -> anyhow::Result<Vec<u8>> {
    use resvg::{tiny_skia, usvg};
    let mut options = usvg::Options::default();
    *options.fontdb_mut() = fonts.clone();
    let tree = usvg::Tree::from_str(svg, &options).context("the chart is not valid SVG")?;
    let scale = 2.0;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .context("empty chart")?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).context("chart too large")?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().context("cannot encode the PNG")
}

fn write_pngs(svgs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut fonts = resvg::usvg::fontdb::Database::new();
    fonts.load_system_fonts();
    if fonts.is_empty() {
        anyhow::bail!(
            "no system fonts found, so the charts' text cannot be drawn: install a font package (Debian: fonts-dejavu-core) and try again"
        );
    }
    let mut written = Vec::new();
    for svg_path in svgs {
        let svg = std::fs::read_to_string(svg_path)
            .with_context(|| format!("cannot read {}", svg_path.display()))?;
        let bytes = png(&svg, &fonts).with_context(|| svg_path.display().to_string())?;
        let path = svg_path.with_extension("png");
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Open a file with the desktop's opener; say so when there is none.
fn open(path: &Path) -> anyhow::Result<()> {
    let Some(opener) = ["xdg-open", "open"].into_iter().find_map(shell::which) else {
        eprintln!(
            "cannot open the report: neither xdg-open nor open is installed; open {} in a browser",
            path.display()
        );
        return Ok(());
    };
    let status = Command::new(&opener)
        .arg(path)
        .status()
        .with_context(|| format!("could not start {}", opener.display()))?;
    if !status.success() {
        anyhow::bail!(
            "{} {} failed ({status}); open it in a browser",
            opener.display(),
            path.display()
        );
    }
    Ok(())
}

/// Run `lab report`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runs_dir = local::lab_dir().join("runs");
    let (dir, report_path) = find_run(&args.run, &runs_dir)?;
    // `latest` is a link: show the run's own directory.
    let dir = dir.canonicalize().unwrap_or(dir);
    let report = read_report(&report_path)?;
    // The plan is not kept with the run: the steps keep the plan's own words.
    let written = lab_runner::output::write_renderings(&dir, &report, args.lang, None)?;
    for path in &written {
        println!("{}", path.display());
    }
    if args.png {
        let svgs: Vec<PathBuf> = written
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "svg"))
            .cloned()
            .collect();
        for path in write_pngs(&svgs)? {
            println!("{}", path.display());
        }
    }
    if args.open {
        open(&dir.join("report.html"))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_found_by_id_directory_or_file() {
        let root = tempfile::tempdir().unwrap();
        let runs = root.path().join("runs");
        let run = runs.join("20261126T054557Z-canary");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("report.json"), "{}").unwrap();
        std::fs::create_dir_all(runs.join("empty")).unwrap();
        let by_id = find_run("20261126T054557Z-canary", &runs).unwrap();
        assert_eq!(by_id, (run.clone(), run.join("report.json")));
        let by_dir = find_run(run.to_str().unwrap(), &runs).unwrap();
        assert_eq!(by_dir, by_id);
        let by_file = find_run(run.join("report.json").to_str().unwrap(), &runs).unwrap();
        assert_eq!(by_file, by_id);
        let unknown = find_run("nope", &runs).unwrap_err();
        assert_eq!(
            unknown.0,
            format!(
                "unknown run `nope`: `ls {}` lists the runs (or pass a run directory)",
                runs.display()
            )
        );
        let empty = find_run("empty", &runs).unwrap_err();
        assert!(empty.0.ends_with("no report.json here (not a run directory, or a run that did not get to write its report)"));
    }

    #[test]
    fn a_chart_renders_to_png_with_system_fonts() {
        let mut fonts = resvg::usvg::fontdb::Database::new();
        fonts.load_system_fonts();
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 20" width="40" height="20"><rect width="40" height="20" fill="#ffffff"/><text x="2" y="14" font-family="DejaVu Sans, sans-serif" font-size="12">v2</text></svg>"##;
        let bytes = png(svg, &fonts).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(png("<svg", &fonts).is_err());
    }
}
