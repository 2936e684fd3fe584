//! Bad input through the built binary: every folder under `tests/bad_input/` is
//! one case, with the files it needs, an `args` file (one argument per line) and
//! an `expected` file holding the exact stderr. Each case exits 2 with one line
//! per problem naming the file and place (`file:line:col: message`) or the flag
//! (`error: --rate: …`), and starts nothing: no process, no run directory, not
//! even the lab's home directory.
//!
//! Bad input is answered at once: every case within [`TIME_LIMIT`] and
//! [`MEMORY_LIMIT`], the hostile ones included (a YAML alias bomb, 2^31-1
//! replicas, a 100 MB manifest, 10,000 steps). A case with a `generate` file
//! has files too big to commit: it runs from a copy in a temporary folder,
//! where the recipe writes them (`pad BYTES FILE`: YAML comments appended to
//! FILE up to BYTES; `steps N FILE`: N steps appended to a scenario.toml).
//!
//! lab-core's own corpus (`crates/lab-core/tests/scenario_corpus`) covers
//! parsing in depth; this one covers the command line around it.

use lab_tests::{lab_command, lab_processes, repo_root};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long a case may take to be answered.
const TIME_LIMIT: Duration = Duration::from_secs(2);

/// The most memory a case may use (peak resident set, `VmHWM`), in KiB.
const MEMORY_LIMIT: u64 = 200 * 1024;

/// Whether a line of stderr names what was wrong and where: `file:line:col:
/// message`, or `error: <flag, argument or file>: message`.
fn names_the_place(line: &str) -> bool {
    if let Some(rest) = line.strip_prefix("error: ") {
        return rest.split_once(": ").is_some_and(|(subject, message)| {
            !subject.is_empty() && !subject.contains(' ') && !message.trim().is_empty()
        });
    }
    let parts: Vec<&str> = line.splitn(4, ':').collect();
    matches!(
        parts.as_slice(),
        [file, row, column, message]
            if !file.is_empty()
                && row.parse::<u32>().is_ok_and(|n| n > 0)
                && column.parse::<u32>().is_ok_and(|n| n > 0)
                && message.starts_with(' ')
                && message.len() > 1
    )
}

#[test]
fn the_place_is_recognized() {
    let check = |line: &str, expected: bool| assert_eq!(names_the_place(line), expected, "{line}");
    check("error: --rate: `abc` is not a positive number", true);
    check("error: <SCENARIO>: required, not given", true);
    check(
        "scenario/app-v2.yaml:12:7: unknown field spec.replica",
        true,
    );
    check("error: the run failed", false);
    check("error: expected promoted, got rolled-back", false);
    check("scenario/app-v2.yaml: not UTF-8 text", false);
    check("scenario/app-v2.yaml:0:1: bad", false);
    check("Usage: cargo xtask lab run <SCENARIO>", false);
}

/// A copy of `case` in `scratch` with its `generate` recipe applied.
fn generated(case: &Path, recipe: &str, scratch: &Path) -> PathBuf {
    let copy = scratch.join("case");
    copy_dir(case, &copy);
    let words: Vec<&str> = recipe.split_whitespace().collect();
    match words.as_slice() {
        ["pad", bytes, file] => {
            let path = copy.join(file);
            let bytes: u64 = bytes.parse().unwrap();
            let mut out = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            let line = format!("# {}\n", "padding ".repeat(15));
            let mut size = std::fs::metadata(&path).unwrap().len();
            let block = line.repeat(1024);
            while size + block.len() as u64 <= bytes {
                out.write_all(block.as_bytes()).unwrap();
                size += block.len() as u64;
            }
            while size + line.len() as u64 <= bytes {
                out.write_all(line.as_bytes()).unwrap();
                size += line.len() as u64;
            }
        }
        ["steps", count, file] => {
            let count: usize = count.parse().unwrap();
            let text = std::fs::read_to_string(copy.join(file)).unwrap();
            // The steps go before the rollback, so they all are `[[steps]]`.
            let (steps, rollback) = text.split_at(text.find("[[rollback]]").unwrap());
            let more = "[[steps]]\nwait=\"x\"\n".repeat(count);
            std::fs::write(copy.join(file), format!("{steps}{more}{rollback}")).unwrap();
        }
        _ => panic!("{}: unknown recipe {recipe:?}", case.display()),
    }
    copy
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The peak resident memory of a running process in KiB (`VmHWM`), if it can
/// still be read.
fn peak_memory(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run one case; the problems found, empty when it behaved.
fn check(case: &Path) -> Vec<String> {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let args_text = std::fs::read_to_string(case.join("args")).unwrap();
    let args: Vec<&str> = args_text
        .strip_suffix('\n')
        .unwrap_or(&args_text)
        .split('\n')
        .collect();
    let expected = std::fs::read_to_string(case.join("expected")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let home = scratch.path().join("lab");
    let folder = match std::fs::read_to_string(case.join("generate")) {
        Ok(recipe) => generated(case, &recipe, scratch.path()),
        Err(_) => case.to_path_buf(),
    };
    let started = Instant::now();
    let mut child = lab_command(&home)
        .current_dir(&folder)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr_pipe, &mut text).unwrap();
        text
    });
    // Poll the peak memory while it runs: the last reading is a lower bound,
    // and anything that grows for long is caught, or killed at the time limit.
    let mut memory = 0;
    let status = loop {
        if let Some(peak) = peak_memory(child.id()) {
            memory = memory.max(peak);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > TIME_LIMIT * 5 {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    let stderr = reader.join().unwrap();
    let mut problems = Vec::new();
    let mut problem = |what: String| problems.push(format!("{name}: {what}"));
    match status {
        Some(status) if status.code() == Some(2) => {}
        Some(status) => problem(format!("exit status {:?}, not 2", status.code())),
        None => problem(format!("still running after {took:?}: killed")),
    }
    if took > TIME_LIMIT {
        problem(format!("took {took:?}, more than {TIME_LIMIT:?}"));
    }
    if memory > MEMORY_LIMIT {
        problem(format!(
            "used {memory} KiB of memory, more than {MEMORY_LIMIT} KiB"
        ));
    }
    if stderr != expected {
        problem(format!("stderr {stderr:?}, expected {expected:?}"));
    }
    if expected.trim().is_empty() {
        problem("no expected message".to_string());
    }
    for line in stderr.lines() {
        if !names_the_place(line) {
            problem(format!("{line:?} does not name the file or flag and place"));
        }
    }
    if home.exists() {
        problem(format!("it created {}", home.display()));
    }
    let started = lab_processes(&home);
    if !started.is_empty() {
        problem(format!("it started processes {started:?}"));
    }
    problems
}

#[test]
fn bad_input_is_one_line_naming_the_place_exits_2_and_starts_nothing() {
    let corpus = repo_root().join("tests/bad_input");
    let mut cases: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    let kinds = |prefix: &str| {
        cases
            .iter()
            .filter(|c| c.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .count()
    };
    // Scenario files, manifests and flags of every command that takes input.
    assert!(kinds("toml-") >= 5 && kinds("yaml-") >= 5);
    for command in ["run-", "plan-", "validate-", "up-", "report-"] {
        assert!(kinds(command) >= 1, "no case for lab {command}");
    }
    // What a hostile author would try.
    for hostile in [
        "yaml-alias-bomb",
        "toml-scale-100000-replicas",
        "yaml-replicas-2-31",
        "yaml-100-mb-manifest",
        "toml-10000-steps",
        "run-local-too-many-pods",
    ] {
        assert!(
            cases.iter().any(|c| c.ends_with(hostile)),
            "no case {hostile}"
        );
    }
    let problems: Vec<String> = cases.iter().flat_map(|case| check(case)).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `lab validate` knows no platform: a scenario that runs more pods at once than
/// the local platform does is valid, with a warning, while `lab run --platform
/// local` refuses it (the `run-local-too-many-pods` case).
#[test]
fn validate_only_warns_about_the_local_platforms_pods() {
    let case = repo_root().join("tests/bad_input/run-local-too-many-pods");
    let scratch = tempfile::tempdir().unwrap();
    let output = lab_command(&scratch.path().join("lab"))
        .current_dir(&case)
        .args(["lab", "validate", "scenario"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "ok scenario\n");
    assert!(
        stderr.starts_with("warning: scenario/scenario.toml: step 4 runs up to 61 pods at once, more than the local platform's limit (50)"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
