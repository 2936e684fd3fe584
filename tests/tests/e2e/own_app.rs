//! Your own app on the local platform: `examples/hello-py`, a Python service
//! with its own manifests, run through `lab run` as the program its image is
//! mapped to in the example's `.canary-lab/images.toml`.

use lab_tests::{Background, assert_window_answered_by, lab_processes};
use std::time::Duration;

const RUN_LIMIT: Duration = Duration::from_secs(240);

#[test]
fn the_python_example_runs_its_canary_to_promotion_without_metrics() {
    let mut run = Background::start(&[
        "lab",
        "run",
        "examples/hello-py/canary",
        "--images",
        "examples/hello-py/.canary-lab/images.toml",
        "--profile",
        "quick",
        "--platform",
        "local",
        "--no-live",
    ]);
    assert_eq!(run.wait_exit(RUN_LIMIT), Some(0), "{}", run.stderr());
    let stdout = run.stdout();
    assert!(
        stdout.contains("canary: promoted (expected promoted), passed"),
        "{stdout}"
    );
    let report = run.report();
    assert!(report.passed);
    // Both versions answered, told apart by the app's own X-Version header.
    assert_window_answered_by(&report, "canary", &["v1", "v2"]);
    // No metrics: no Prometheus, and the report says why.
    assert!(
        report
            .notes
            .iter()
            .any(|note| note.contains("server-side cross-check with Prometheus was skipped")),
        "{:?}",
        report.notes
    );
    assert!(lab_processes(&run.home).is_empty());
}
