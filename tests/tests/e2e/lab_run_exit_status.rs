//! `lab run`'s exit status, through the built binary: 0 when the scenario's
//! expected outcome was met, 1 with the reason when it was not.

use lab_tests::{Background, lab_processes, repo_root};
use std::time::Duration;

const RUN_LIMIT: Duration = Duration::from_secs(240);

#[test]
fn lab_run_exits_0_when_the_outcome_is_the_expected_one_and_1_naming_the_gate_when_not() {
    // As shipped, bad-canary expects to be rolled back.
    let quick = ["--profile", "quick", "--platform", "local"];
    let mut run = Background::start(&[&["lab", "run", "bad-canary"][..], &quick].concat());
    assert_eq!(run.wait_exit(RUN_LIMIT), Some(0), "{}", run.stderr());
    assert!(
        run.stdout()
            .contains("bad-canary: rolled back (expected rolled back), passed"),
        "{}",
        run.stdout()
    );
    assert!(run.report().passed);
    assert!(lab_processes(&run.home).is_empty());

    // The same scenario, but expecting a promotion.
    let copy = tempfile::tempdir().unwrap();
    let dir = copy.path().join("bad-canary-expecting-promotion");
    std::fs::create_dir(&dir).unwrap();
    let shipped = repo_root().join("lab/scenarios/bad-canary");
    for file in ["scenario.toml", "app-v1.yaml", "app-v2.yaml"] {
        std::fs::copy(shipped.join(file), dir.join(file)).unwrap();
    }
    let definition = std::fs::read_to_string(dir.join("scenario.toml")).unwrap();
    assert!(definition.contains("expected = \"rolled-back\""));
    std::fs::write(
        dir.join("scenario.toml"),
        definition.replace("expected = \"rolled-back\"", "expected = \"promoted\""),
    )
    .unwrap();
    let path = dir.display().to_string();
    let mut run = Background::start(&[&["lab", "run", path.as_str()][..], &quick].concat());
    assert_eq!(run.wait_exit(RUN_LIMIT), Some(1), "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains(
            "error: expected promoted, got rolled-back: failed: success_rate (success rate "
        ),
        "the reason does not name the failing gate: {stderr}"
    );
    let report = run.report();
    assert!(!report.passed);
    assert!(lab_processes(&run.home).is_empty());
}
