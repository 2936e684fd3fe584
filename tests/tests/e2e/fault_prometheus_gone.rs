//! Prometheus killed in the middle of the analyze phase: the run completes and
//! decides from the clients' measurements, says in its notes that Prometheus
//! stopped answering, and every cross-check that needed Prometheus is
//! inconclusive, never a failure.

use lab_core::analysis::{DecisionCause, Outcome, Verdict, WindowKind};
use lab_tests::{
    assert_no_failed_request, assert_no_process_left, quick_plan, run_local_during, signal,
    wait_for_event,
};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_prometheus_and_keeps_its_client_side_results() {
    let plan = quick_plan("canary");
    let run = run_local_during(&plan, None, |platform, events| async move {
        wait_for_event(
            &events,
            Duration::from_secs(60),
            "window_opened",
            &[("name", "canary")],
        )
        .await;
        let prometheus = platform
            .pids()
            .into_iter()
            .find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|name| name.trim() == "prometheus")
            })
            .expect("Prometheus runs");
        signal(prometheus, "KILL");
    })
    .await;
    let report = &run.report;

    // The run completed and decided on the clients' measurements.
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::Promoted));
    let decision = report.decision.as_ref().unwrap();
    assert_eq!(decision.cause, DecisionCause::AllGatesPassed);
    let canary = report.windows.iter().find(|w| w.name == "canary").unwrap();
    assert!(canary.versions["v1.0.0"].requests > 0 && canary.versions["v2.0.0"].requests > 0);
    assert_eq!(canary.gates.len(), 4);
    assert!(canary.gates.iter().all(|g| g.verdict == Verdict::Pass));
    assert_no_failed_request(report);

    // It says what happened, and nothing Prometheus did not count is a failure.
    assert!(!report.prometheus.available);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("prometheus stopped answering")),
        "{:#?}",
        report.notes
    );
    assert!(report.series.server.is_none());
    for window in &report.windows {
        assert!(window.server.is_none(), "window {}", window.name);
        for check in &window.cross_check {
            // Transitions are shown, not judged, with or without Prometheus.
            let judged = window.kind != WindowKind::Transition;
            assert!(
                check.verdict == Verdict::Inconclusive
                    || (!judged && check.verdict == Verdict::NotApplicable),
                "window {}: {:?}: {}",
                window.name,
                check.verdict,
                check.explanation
            );
            assert_eq!(check.server_count, None);
        }
        if window.kind != WindowKind::Transition {
            assert!(!window.cross_check.is_empty(), "window {}", window.name);
        }
    }
    assert_no_process_left(&run);
}
