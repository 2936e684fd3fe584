//! The teaching mode through the built binary on the local platform:
//! `lab run canary --profile quick --step` explains each step with its kubectl
//! command before it runs and waits for Enter on stdin (traffic flowing
//! meanwhile), goes on without pauses at the end of stdin, and completes;
//! `--explain --lang ko` narrates in Korean without waiting, and its event
//! lines, summary and report (report.md, report.html, the charts) are Korean
//! too, while junit.xml stays English for CI.
//!
//! Needs Prometheus on PATH, like every local end-to-end test. Each run has its
//! own lab home (`CANARY_LAB_HOME`), so the tests run side by side and leave
//! the checkout's `target/lab` alone.

use lab_core::plan::{Plan, ProfileName};
use lab_core::report::{Report, Section};
use lab_report::{Language, narrate};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a quick canary may take on a busy machine, start to finish.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// How long the test holds Enter back at step 4, to see the run wait.
const HELD: Duration = Duration::from_secs(2);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn canary_plan() -> Plan {
    let dir = root().join("lab/scenarios/canary");
    let scenario = lab_runner::load_scenario(&dir, "lab/scenarios/canary").unwrap();
    Plan::build(&scenario, ProfileName::Quick, &Default::default()).unwrap()
}

/// A running `xtask lab run`, killed if the test ends early.
struct Run {
    child: Child,
    stderr: mpsc::Receiver<String>,
    lines: Vec<String>,
}

impl Drop for Run {
    fn drop(&mut self) {
        // SIGKILL would leave the pods behind; SIGTERM lets the run tear down.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .arg(self.child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(60);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Run {
    /// Start `xtask` with `args`, its lab home in `home`.
    fn start(args: &[&str], stdin: Stdio, home: &Path) -> Run {
        // The demo-app built next to this xtask, so the run builds nothing.
        let demo_app = Path::new(env!("CARGO_BIN_EXE_xtask")).with_file_name("demo-app");
        assert!(
            demo_app.is_file(),
            "{} is missing: run `cargo xtask test`, or `cargo build -p demo-app` first",
            demo_app.display()
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(root())
            .env("CANARY_LAB_HOME", home)
            .env("CANARY_LAB_DEMO_APP", &demo_app)
            .env("NO_COLOR", "1")
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (lines, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Run {
            child,
            stderr: receiver,
            lines: Vec::new(),
        }
    }

    /// Wait for a stderr line that contains `text`; the lines so far are kept.
    fn wait_for(&mut self, text: &str, deadline: Instant) {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.lines.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!(
                    "no line with {text:?} in time; stderr so far:\n{}",
                    self.lines.join("\n")
                ),
            }
        }
    }

    /// Wait for the run to end; its stderr and stdout.
    fn finish(mut self, deadline: Instant) -> (bool, String, String) {
        while let Ok(line) = self
            .stderr
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.lines.push(line);
        }
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stdout = String::new();
                self.child
                    .stdout
                    .take()
                    .unwrap()
                    .read_to_string(&mut stdout)
                    .unwrap();
                return (status.success(), self.lines.join("\n"), stdout);
            }
            assert!(
                Instant::now() < deadline,
                "the run did not end in time:\n{}",
                self.lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The position of `needle` in `haystack` at or after `from`.
fn find_after(haystack: &str, needle: &str, from: usize) -> usize {
    haystack[from..]
        .find(needle)
        .map(|i| i + from)
        .unwrap_or_else(|| panic!("{needle:?} missing after byte {from} in:\n{haystack}"))
}

/// The run's directory, from the report path the summary prints.
fn run_dir(stdout: &str) -> PathBuf {
    let html = stdout
        .lines()
        .find_map(|l| {
            let l = l.trim();
            l.strip_prefix("report: ").or(l.strip_prefix("리포트: "))
        })
        .unwrap_or_else(|| panic!("no report path in {stdout}"));
    Path::new(html).parent().unwrap().to_path_buf()
}

/// The run's report, from the path the summary prints.
fn report(stdout: &str) -> Report {
    let json = run_dir(stdout).join("report.json");
    Report::from_json(&std::fs::read_to_string(json).unwrap()).unwrap()
}

#[test]
fn step_explains_each_step_waits_for_enter_and_completes() {
    let plan = canary_plan();
    let deadline = Instant::now() + RUN_TIMEOUT;
    let home = tempfile::tempdir().unwrap();
    let mut run = Run::start(
        &["lab", "run", "canary", "--profile", "quick", "--step"],
        Stdio::piped(),
        home.path(),
    );
    let mut stdin = run.child.stdin.take().unwrap();
    let prompt = lab_report::narration::prompt(Language::English);
    // Enter for the first four steps, held back a while at the fourth; then
    // the end of stdin, after which the run goes on without pausing.
    for step in 1..=4 {
        run.wait_for(prompt, deadline);
        if step == 4 {
            std::thread::sleep(HELD);
        }
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }
    drop(stdin);
    let (passed, stderr, stdout) = run.finish(deadline);
    assert!(passed, "the run failed:\n{stderr}\n{stdout}");
    assert!(
        stdout.contains("canary: promoted (expected promoted), passed"),
        "{stdout}"
    );

    // Every step that ran was explained, with its kubectl command, before it ran.
    let mut at = 0;
    for (i, step) in plan.steps.iter().enumerate() {
        let narration = narrate(&plan, Section::Main, i, Language::English).unwrap();
        at = find_after(&stderr, &format!("── {} ──", narration.heading), at);
        for line in &narration.lines {
            at = find_after(&stderr, line, at);
        }
        at = find_after(&stderr, &format!("$ {}", step.kubectl()), at);
        let started = find_after(&stderr, &format!("step {}: {}", i + 1, step.describe()), at);
        at = started;
    }
    assert!(!stderr.contains("rollback step"), "no rollback ran");
    // Four Enters and the end of stdin: five prompts, then no more.
    assert_eq!(stderr.matches(prompt).count(), 5, "{stderr}");
    let closed = lab_report::narration::no_more_pauses(Language::English);
    assert_eq!(stderr.matches(closed).count(), 1, "{stderr}");
    assert!(find_after(&stderr, closed, 0) > stderr.rfind(prompt).unwrap());

    // The run waited for Enter before step 4 while traffic kept flowing.
    let report = report(&stdout);
    let step = |index: u32| {
        report
            .steps
            .iter()
            .find(|s| s.section == Section::Main && s.index == index)
            .unwrap()
    };
    let paused_from = step(3).finished_ms.unwrap();
    let paused_until = step(4).started_ms.unwrap();
    assert!(
        paused_until - paused_from >= HELD.as_millis() as u64,
        "step 4 started {} ms after step 3 ended",
        paused_until - paused_from
    );
    let answered: u64 = report
        .series
        .client
        .iter()
        .filter(|s| s.t_ms >= paused_from && s.t_ms + 1000 <= paused_until)
        .flat_map(|s| s.versions.values())
        .map(|c| c.successes)
        .sum();
    assert!(answered > 0, "no traffic while paused");
}

#[test]
fn explain_in_korean_narrates_without_waiting() {
    let plan = canary_plan();
    let deadline = Instant::now() + RUN_TIMEOUT;
    let home = tempfile::tempdir().unwrap();
    let run = Run::start(
        &[
            "lab",
            "run",
            "canary",
            "--profile",
            "quick",
            "--explain",
            "--lang",
            "ko",
        ],
        Stdio::null(),
        home.path(),
    );
    let (passed, stderr, stdout) = run.finish(deadline);
    assert!(passed, "the run failed:\n{stderr}\n{stdout}");
    let mut at = 0;
    for (i, step) in plan.steps.iter().enumerate() {
        let narration = narrate(&plan, Section::Main, i, Language::Korean).unwrap();
        assert_eq!(narration.heading, format!("{}/11단계", i + 1));
        at = find_after(&stderr, &format!("── {} ──", narration.heading), at);
        for line in &narration.lines {
            at = find_after(&stderr, line, at);
        }
        // The event lines speak Korean too.
        let told = lab_report::terminal::describe_step(step, Language::Korean);
        at = find_after(&stderr, &format!("{}단계: {told}", i + 1), at);
    }
    assert!(
        stdout.contains("canary: 승격 (예상 승격), 통과"),
        "the summary speaks Korean:\n{stdout}"
    );
    for korean in [
        "my-app-v1 Deployment(v1.0.0)의 replicas를 10개에서 9개로 바꿉니다.",
        "pod 수가 곧 트래픽 비율이 됩니다: v1.0.0 90% (pod 9개), v2.0.0 10% (pod 1개).",
    ] {
        assert!(stderr.contains(korean), "{korean:?} missing:\n{stderr}");
    }
    assert!(!stderr.contains(lab_report::narration::prompt(Language::Korean)));
    // The run's notes (how pods are networked, among others) speak Korean.
    let hangul = |text: &str| text.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c));
    let notes: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.split_once("참고: ").map(|(_, note)| note))
        .collect();
    assert!(notes.iter().any(|n| n.contains("$(POD_IP)")), "{stderr}");
    for note in &notes {
        assert!(hangul(note), "a note in English: {note}");
    }
    // The report follows --lang; junit.xml stays English for CI.
    let dir = run_dir(&stdout);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let markdown = read("report.md");
    assert!(
        markdown.starts_with("# canary: 승격 (예상 승격), 통과\n"),
        "{markdown}"
    );
    for heading in ["## 결정", "## 차트", "## 구간", "## 게이트", "## 단계"] {
        assert!(markdown.contains(heading), "{heading} missing:\n{markdown}");
    }
    assert!(!markdown.contains("## Decision"), "{markdown}");
    for step in &plan.steps {
        let told = lab_report::terminal::describe_step(step, Language::Korean);
        assert!(markdown.contains(&told), "{told:?} missing:\n{markdown}");
    }
    assert!(read("report.html").contains("<html lang=\"ko\">"));
    assert!(read("share.svg").contains("버전별 트래픽 비율"));
    assert!(read("junit.xml").contains("expected outcome: promoted"));
}

#[test]
fn quiet_does_not_go_with_the_teaching_mode() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["lab", "run", "canary", "--quiet", "--step"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--quiet"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["lab", "run", "canary", "--lang", "fr"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("unknown language `fr`: expected en or ko"),
        "{stderr}"
    );
}
