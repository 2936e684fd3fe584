//! Bad input through the built binary: every folder under `tests/bad_input/` is
//! one case, with the files it needs, an `args` file (one argument per line) and
//! an `expected` file holding the exact stderr. Each case exits 2 with one line
//! per problem naming the file and place (`file:line:col: message`) or the flag
//! (`error: --rate: …`), and starts nothing: no process, no run directory, not
//! even the lab's home directory.
//!
//! lab-core's own corpus (`crates/lab-core/tests/scenario_corpus`) covers
//! parsing in depth; this one covers the command line around it.

use lab_tests::{lab_command, lab_processes, repo_root};
use std::path::Path;

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
    let output = lab_command(&home)
        .current_dir(case)
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut problems = Vec::new();
    let mut problem = |what: String| problems.push(format!("{name}: {what}"));
    if output.status.code() != Some(2) {
        problem(format!("exit status {:?}, not 2", output.status.code()));
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
    let problems: Vec<String> = cases.iter().flat_map(|case| check(case)).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
