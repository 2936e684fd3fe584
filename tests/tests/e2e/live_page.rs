//! The live page in a real browser: `lab run canary --profile quick` prints a
//! `live:` address in its first lines; headless chromium there sees both
//! versions in the tutorial's panel, v2 at about 10% of the traffic and then
//! taking it all, and the decision; at the end the page links the report,
//! which the same server hands out, and a screenshot is kept as `live.png` in
//! the run's directory. Beside it runs the same canary with `--no-live`: a
//! browser on the page changes nothing of the run (same outcome, windows and
//! gates). The server refuses anything but GET and HEAD of its own paths, and
//! stops with the lab.

use lab_core::report::Report;
use lab_tests::{Background, chromium, live_url, poll_until, signal};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a quick canary may take on a busy machine, start to finish.
const RUN_LIMIT: Duration = Duration::from_secs(300);
/// How long one chromium may take to load the page.
const BROWSER_LIMIT: Duration = Duration::from_secs(60);

/// Run headless chromium on `url` with `args` (`--dump-dom`, `--screenshot=…`)
/// in a new profile; its stdout.
fn chromium_on(url: &str, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        // Long enough for the page's script to fetch its fragment twice.
        .arg("--virtual-time-budget=2500")
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > BROWSER_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {BROWSER_LIMIT:?} on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// What a dump of the page's DOM says.
#[derive(Debug, Default)]
struct Seen {
    /// `waiting`, `running` or `finished`.
    state: String,
    /// Share of the current phase and answers by version.
    shares: Vec<(String, f64, u64)>,
    /// The versions the tutorial's panel draws.
    panel: Vec<String>,
    /// The phase shown.
    phase: String,
    /// `promoted`, `rolled_back` or empty.
    outcome: String,
    /// How many times the page's script updated it.
    updates: u32,
    /// Whether it links the report.
    report_link: bool,
}

/// The value of the first `name="…"` in `dom`.
fn attribute<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let start = dom.find(&format!("{name}=\""))? + name.len() + 2;
    dom[start..].split('"').next()
}

fn look(url: &str) -> Seen {
    let dom = chromium_on(url, &["--dump-dom"]);
    let mut seen = Seen {
        state: attribute(&dom, "data-state").unwrap_or("").to_string(),
        panel: attribute(&dom, "data-versions")
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        phase: attribute(&dom, "data-phase").unwrap_or("").to_string(),
        outcome: attribute(&dom, "data-outcome").unwrap_or("").to_string(),
        updates: attribute(&dom, "data-updates")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        report_link: dom.contains("id=\"report-link\" href=\"report.html\""),
        ..Seen::default()
    };
    let mut rest = dom.as_str();
    while let Some(at) = rest.find("data-version=\"") {
        rest = &rest[at..];
        let version = attribute(rest, "data-version").unwrap().to_string();
        let share = attribute(rest, "data-share").and_then(|s| s.parse().ok());
        let answers = attribute(rest, "data-requests").and_then(|s| s.parse().ok());
        if let (Some(share), Some(answers)) = (share, answers) {
            seen.shares.push((version, share, answers));
        }
        rest = &rest[1..];
    }
    seen
}

fn share(seen: &Seen, version: &str) -> f64 {
    seen.shares
        .iter()
        .find(|(v, _, _)| v == version)
        .map_or(0.0, |(_, s, _)| *s)
}

/// One request over a new connection; the status line.
fn request(url: &str, method: &str, path: &str) -> String {
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or("").to_string()
}

/// A window's name and kind, and its gates with their verdicts.
type WindowShape = (String, String, Vec<(String, String)>);

/// Windows and gate verdicts of a report: what a browser must not change.
fn shape(report: &Report) -> Vec<WindowShape> {
    report
        .windows
        .iter()
        .map(|w| {
            (
                w.name.clone(),
                w.kind.as_str().to_string(),
                w.gates
                    .iter()
                    .map(|g| (g.gate.as_str().to_string(), g.verdict.as_str().to_string()))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn a_browser_follows_a_quick_canary_on_the_live_page() {
    let quick = ["--profile", "quick", "--platform", "local"];
    let mut watched =
        Background::start(&[&["lab", "run", "canary", "--keep"][..], &quick].concat());
    let mut unwatched =
        Background::start(&[&["lab", "run", "canary", "--no-live"][..], &quick].concat());

    let mut url = None;
    poll_until(Duration::from_secs(120), "a live: line", || {
        url = live_url(&watched.stderr());
        url.is_some()
    });
    let url = url.unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let stderr = watched.stderr();
    // Among the run's own lines (the lab's notes about the platform aside).
    let line = stderr
        .lines()
        .filter(|l| !l.starts_with("note: "))
        .position(|l| l.starts_with("live: "))
        .unwrap();
    assert!(line < 5, "the live line comes first:\n{stderr}");

    // The server answers its own paths, with GET and HEAD only.
    assert_eq!(request(&url, "GET", "/fragment"), "HTTP/1.1 200 OK");
    assert_eq!(request(&url, "HEAD", "/"), "HTTP/1.1 200 OK");
    assert_eq!(
        request(&url, "POST", "/"),
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert_eq!(
        request(&url, "GET", "/events.jsonl"),
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        request(&url, "GET", "/../report.json"),
        "HTTP/1.1 404 Not Found"
    );

    // While the run goes: both versions in the panel, v2 at about 10% in the
    // canary phase, then v2 takes the traffic over and the decision is shown.
    let mut about_ten = None;
    let mut panel = false;
    let mut updated = false;
    let mut decided = None;
    let mut took_over = false;
    let deadline = Instant::now() + RUN_LIMIT;
    while !(about_ten.is_some() && panel && decided.is_some() && took_over) {
        assert!(
            Instant::now() < deadline,
            "not seen within {RUN_LIMIT:?}: v2 at about 10% {about_ten:?}, both in the panel {panel}, \
             decision {decided:?}, v2 taking over {took_over}; stderr:\n{}",
            watched.stderr()
        );
        let seen = look(&url);
        assert_ne!(
            seen.state, "finished",
            "the run ended before all was seen: {seen:?}"
        );
        let v2 = share(&seen, "v2.0.0");
        let answers: u64 = seen.shares.iter().map(|(_, _, n)| n).sum();
        // A share of a hundred answers or more, not of the window's first few.
        if seen.phase == "canary" && v2 > 0.0 && answers >= 100 {
            assert!(
                (0.02..0.25).contains(&v2),
                "v2 share in the canary phase: {seen:?}"
            );
            about_ten = Some(v2);
        }
        panel |=
            seen.panel.iter().any(|v| v == "v1.0.0") && seen.panel.iter().any(|v| v == "v2.0.0");
        updated |= seen.updates > 0;
        if !seen.outcome.is_empty() {
            decided = Some(seen.outcome.clone());
        }
        took_over |= about_ten.is_some() && v2 > 0.9 && share(&seen, "v1.0.0") < 0.1;
    }
    assert_eq!(decided.as_deref(), Some("promoted"));
    assert!(updated, "the page's script never updated it in chromium");

    // The run ends (the lab is kept): the page shows the decision and links
    // the report, which the same server hands out.
    let run_dir = watched.run_dir();
    poll_until(RUN_LIMIT, "the report", || {
        run_dir.join("report.json").is_file()
    });
    let mut last = Seen::default();
    poll_until(Duration::from_secs(60), "the finished page", || {
        last = look(&url);
        last.state == "finished"
    });
    assert!(last.report_link, "{last:?}");
    assert_eq!(last.outcome, "promoted");
    assert_eq!(request(&url, "GET", "/report.html"), "HTTP/1.1 200 OK");
    assert_eq!(request(&url, "GET", "/share.svg"), "HTTP/1.1 200 OK");
    let screenshot = run_dir.join("live.png");
    chromium_on(
        &url,
        &[
            "--window-size=1600,1000",
            &format!("--screenshot={}", screenshot.display()),
        ],
    );
    let png = std::fs::read(&screenshot).expect("live.png");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    keep_for_viewing(&screenshot);

    // Ctrl-C ends the kept lab, and the page with it.
    signal(watched.child.id(), "INT");
    assert_eq!(
        watched.wait_exit(Duration::from_secs(60)),
        Some(0),
        "{}",
        watched.stderr()
    );
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    assert!(
        TcpStream::connect(address).is_err(),
        "the page outlived the lab"
    );

    // The same canary without the page: the same outcome, windows and gates.
    assert_eq!(
        unwatched.wait_exit(RUN_LIMIT),
        Some(0),
        "{}",
        unwatched.stderr()
    );
    assert!(
        live_url(&unwatched.stderr()).is_none(),
        "--no-live serves no page"
    );
    let (with, without) = (watched.report(), unwatched.report());
    assert_eq!(with.outcome, without.outcome);
    assert_eq!(with.passed, without.passed);
    assert_eq!(shape(&with), shape(&without));
}

/// Copy the screenshot where people look for it after the suite
/// (`target/lab/live.png`), since the run's home is temporary.
fn keep_for_viewing(screenshot: &Path) {
    let target = lab_tests::repo_root().join("target/lab");
    if std::fs::create_dir_all(&target).is_ok() {
        let _ = std::fs::copy(screenshot, target.join("live.png"));
    }
}
