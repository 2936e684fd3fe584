//! `lab run`'s live page: served on loopback while the run goes (and while
//! `--keep` keeps the lab), printed as `live: URL`, opened with `--open`.

use crate::shell;
use lab_core::plan::Plan;
use lab_live::{LivePage, LiveServer};
use lab_report::Language;
use lab_runner::LiveFeed;
use std::path::Path;
use std::process::{Command, Stdio};

/// Serve the live page of a run whose files go to `run_dir`; the feed to give
/// the run.
pub async fn serve(
    plan: &Plan,
    run_dir: &Path,
    language: Language,
) -> anyhow::Result<(LiveServer, LiveFeed)> {
    let feed = LiveFeed::new();
    let server = LiveServer::start(LivePage {
        feed: feed.clone(),
        run_dir: run_dir.to_path_buf(),
        plan: plan.clone(),
        language,
    })
    .await?;
    Ok((server, feed))
}

/// Open `url` with the desktop's opener without waiting for the browser;
/// say so when there is none.
pub fn open(url: &str) {
    let Some(opener) = ["xdg-open", "open"].into_iter().find_map(shell::which) else {
        eprintln!(
            "cannot open the live page: neither xdg-open nor open is installed; open {url} in a browser"
        );
        return;
    };
    match Command::new(&opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        // Reap it whenever it ends; the run does not wait for the browser.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(error) => eprintln!(
            "cannot open the live page with {}: {error}; open {url} in a browser",
            opener.display()
        ),
    }
}
