//! A pod SIGKILLed during a canary rollout on the local platform: it leaves the
//! endpoints, is restarted after the kubelet's back-off, the kill is in the
//! report's events, and it costs at most the requests it had in flight.
//!
//! The bound: at 100 requests/s over ten endpoints, with a new connection per
//! request, each pod gets about ten connections a second and answers each in
//! about a millisecond, so at the instant of the kill it holds about 0.01
//! requests; the connections the Service sends it before its process is reaped
//! and it leaves the endpoints (milliseconds) add about as few. Five allows a
//! busy machine (answers taking 100 ms would still mean about one in flight)
//! while catching a dead pod left among the endpoints, which would fail about
//! ten requests a second.
//!
//! The run's proxy sync delay is zero: with kube-proxy's lag, the Service
//! would keep sending the dead pod connections for that long (about ten a
//! second here), which `local_termination` measures; this test bounds what
//! the kill itself costs.

use lab_core::analysis::Outcome;
use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_tests::{assert_no_process_left, repo_root, run_local_during, wait_for_event};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most requests a killed pod may cost (see above).
const IN_FLIGHT_BOUND: u64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_pod_is_restarted_and_costs_only_its_requests_in_flight() {
    let dir = lab_runner::scenario_dir::shipped(&repo_root(), "bad-canary");
    let scenario = lab_runner::load_scenario(&dir, "lab/scenarios/bad-canary").unwrap();
    let overrides = Overrides {
        proxy_sync_delay: Some(Duration::ZERO),
        ..Overrides::default()
    };
    let plan = Plan::build(&scenario, ProfileName::Quick, &overrides).unwrap();
    let killed = Arc::new(Mutex::new(None::<String>));
    let victim = killed.clone();
    let run = run_local_during(&plan, None, move |platform, events| async move {
        use lab_core::platform::Platform;
        wait_for_event(
            &events,
            Duration::from_secs(60),
            "window_opened",
            &[("name", "canary")],
        )
        .await;
        let pods = platform.pods().await.unwrap();
        let pod = pods
            .iter()
            .find(|p| p.version == "v1.0.0" && p.ready)
            .expect("a ready v1 pod")
            .name
            .clone();
        platform.kill_pod(&pod).await.unwrap();
        *victim.lock().unwrap() = Some(pod.clone());
        // Replaced in place: restarted once after the back-off, ready again.
        let start = Instant::now();
        loop {
            let pods = platform.pods().await.unwrap();
            if pods
                .iter()
                .any(|p| p.name == pod && p.restarts == 1 && p.ready)
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{pod} was not restarted: {pods:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            start.elapsed() >= Duration::from_secs(9),
            "{pod} came back before its back-off"
        );
    })
    .await;
    let report = &run.report;
    let pod = killed.lock().unwrap().clone().expect("a pod was killed");

    // The rollout went on: bad-canary still rolled back, v1 back at ten.
    assert!(report.passed, "{:#?}", report.decision);
    assert_eq!(report.outcome, Some(Outcome::RolledBack));
    let last = report.timeline.last().unwrap();
    assert_eq!(last.ready.get("v1.0.0"), Some(&10));

    // The kill and the restart are in the report's events.
    let object = format!("pod/{pod}");
    let of_pod: Vec<_> = report
        .events
        .iter()
        .filter(|e| e.object == object)
        .collect();
    assert!(
        of_pod
            .iter()
            .any(|e| e.reason == "Killing" && e.message.contains("SIGKILL")),
        "{of_pod:#?}"
    );
    assert!(of_pod.iter().any(|e| e.reason == "BackOff"), "{of_pod:#?}");
    assert_eq!(
        of_pod.iter().filter(|e| e.reason == "Started").count(),
        2,
        "{of_pod:#?}"
    );
    assert!(
        report
            .windows
            .iter()
            .any(|w| w.restarts.get("v1.0.0").copied().unwrap_or(0) >= 1)
    );

    // Its cost: at most the requests it had in flight, each attributed to v1.
    let failed: u64 = report
        .windows
        .iter()
        .map(|w| w.connection_failures.total())
        .sum();
    assert!(failed <= IN_FLIGHT_BOUND, "{failed} requests failed");
    for window in &report.windows {
        assert_eq!(window.unattributed, 0, "window {}", window.name);
    }
    let v1 = &run.service["v1.0.0"];
    assert!(
        v1.connect_failures + v1.empty_replies <= IN_FLIGHT_BOUND,
        "the Service saw {v1:?}"
    );
    let attributed: u64 = report
        .windows
        .iter()
        .filter_map(|w| w.versions.get("v1.0.0"))
        .map(|t| t.attributed_failures)
        .sum();
    assert_eq!(attributed, failed, "failed requests not attributed to v1");
    eprintln!("requests lost to the kill: {failed} (the Service saw {v1:?})");
    assert_no_process_left(&run);
}
