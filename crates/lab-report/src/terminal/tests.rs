use super::*;
use lab_core::analysis::Outcome;
use lab_core::run_event::{InterimVerdict, VersionProgress};
use std::collections::BTreeMap;

fn progress() -> Progress {
    Progress {
        step: Some(
            "analyze phase `canary` for 8s, checking the gates every 2s: promote or roll back"
                .to_string(),
        ),
        window: Some("canary".to_string()),
        window_kind: Some(WindowKind::Analyze),
        window_leads_to: None,
        window_elapsed_ms: 4000,
        window_planned_ms: Some(8000),
        versions: [
            (
                "v1.0.0".to_string(),
                VersionProgress {
                    requests: 360,
                    errors: 0,
                    share: 0.9,
                },
            ),
            (
                "v2.0.0".to_string(),
                VersionProgress {
                    requests: 40,
                    errors: 2,
                    share: 0.1,
                },
            ),
        ]
        .into(),
        failed_requests: 1,
        ready: BTreeMap::from([("v1.0.0".to_string(), 9), ("v2.0.0".to_string(), 1)]),
    }
}

fn lines(progress: &Progress, width: usize, language: Language) -> Vec<String> {
    live_block(progress, None, width, language)
        .iter()
        .map(|l| plain(l))
        .collect()
}

#[test]
fn the_live_block_shows_step_timer_bars_and_ready_pods() {
    let lines = lines(&progress(), 80, Language::English);
    let check = |i: usize, expected: &str| {
        assert_eq!(lines[i], expected, "line {i}");
    };
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert!(lines.iter().all(|l| l.chars().count() < 80), "{lines:#?}");
    check(
        0,
        "▶ analyze phase `canary` for 8s, checking the gates every 2s: promote or roll …",
    );
    check(
        1,
        "  phase canary (analyze)  4.0s / 8s  ██████████░░░░░░░░░░",
    );
    check(
        2,
        "  v1.0.0       ██████████████░░  90.0%      360 answers     0 errors   9 ready",
    );
    check(
        3,
        "  v2.0.0       ██░░░░░░░░░░░░░░  10.0%       40 answers     2 errors   1 ready",
    );
    check(4, "  errors 2, without an answer 1");
}

#[test]
fn versions_that_are_gone_leave_the_live_block() {
    let mut gone = progress();
    gone.versions.get_mut("v1.0.0").unwrap().requests = 0;
    gone.ready.insert("v1.0.0".to_string(), 0);
    let lines = lines(&gone, 80, Language::English);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines[2].starts_with("  v2.0.0 "), "{lines:#?}");
}

#[test]
fn the_live_block_fits_narrow_terminals_and_waits_for_traffic() {
    let mut quiet = progress();
    quiet.window = None;
    quiet.window_kind = None;
    quiet.versions.clear();
    let lines = lines(&quiet, 72, Language::English);
    assert_eq!(lines[1], "  no traffic yet");
    assert!(lines.iter().all(|l| l.chars().count() < 72), "{lines:#?}");
    assert_eq!(lines[0].chars().count(), 71);
}

#[test]
fn bars_carry_their_version_and_the_last_line_alerts_on_errors() {
    let block = live_block(&progress(), None, 80, Language::English);
    assert_eq!(block[2][1].style, Style::Version(0));
    assert_eq!(
        block[3][1].style,
        Style::Version(1),
        "v2 keeps the second colour"
    );
    assert_eq!(block[0][0].style, Style::Bold);
    assert_eq!(block[4][0].style, Style::Alert);
    let mut clean = progress();
    clean.failed_requests = 0;
    clean.versions.get_mut("v2.0.0").unwrap().errors = 0;
    let block = live_block(&clean, None, 80, Language::English);
    assert_eq!(block.last().unwrap()[0].style, Style::Dim);
}

#[test]
fn the_korean_live_block_fits_by_display_width() {
    let lines = lines(&progress(), 80, Language::Korean);
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert!(lines.iter().all(|l| display_width(l) < 80), "{lines:#?}");
    assert_eq!(
        lines[1],
        "  canary 구간 (분석)  4.0초 / 8초  ██████████░░░░░░░░░░"
    );
    assert!(
        lines[3].ends_with("응답      40  오류    2  준비된 pod  1"),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4], "  오류 2개, 응답 없음 1개");
}

#[test]
fn display_width_counts_hangul_twice() {
    assert_eq!(display_width("abc"), 3);
    assert_eq!(display_width("구간"), 4);
    assert_eq!(display_width("▶ █░"), 4);
    assert_eq!(fit("구간구간구간", 8), "구간구…");
    assert!(display_width(&fit("구간구간구간", 8)) < 8);
    assert_eq!(pad("구간", 6), "구간  ");
}

fn timed(t_ms: u64, event: RunEvent) -> Timed {
    Timed { t_ms, event }
}

#[test]
fn event_lines_in_english_are_as_they_always_were() {
    let check = |event: RunEvent, expected: Option<&str>| {
        assert_eq!(
            event_line(&timed(12_044, event), None, Language::English).as_deref(),
            expected
        );
    };
    check(
        RunEvent::StepStarted {
            index: 5,
            section: Section::Main,
            description: "scale deployment my-app-v1 to 9 replicas".into(),
            kubectl: "kubectl scale --replicas=9 deployment/my-app-v1".into(),
        },
        Some(
            "  12.0s step 5: scale deployment my-app-v1 to 9 replicas\n         $ kubectl scale --replicas=9 deployment/my-app-v1",
        ),
    );
    check(
        RunEvent::StepStarted {
            index: 1,
            section: Section::Rollback,
            description: "delete deployment my-app-v2".into(),
            kubectl: "kubectl delete deployment my-app-v2".into(),
        },
        Some(
            "  12.0s rollback 1: delete deployment my-app-v2\n         $ kubectl delete deployment my-app-v2",
        ),
    );
    check(
        RunEvent::TrafficStarted {
            url: "http://127.136.0.2:80".into(),
            rate: 100.0,
            keep_alive: None,
        },
        Some("  12.0s traffic: 100 requests/s to http://127.136.0.2:80, a new connection each"),
    );
    check(
        RunEvent::TrafficStarted {
            url: "http://x".into(),
            rate: 10.5,
            keep_alive: Some(4),
        },
        Some("  12.0s traffic: 10.5 requests/s to http://x over 4 kept-alive connections"),
    );
    check(
        RunEvent::WindowOpened {
            name: "canary".into(),
            kind: WindowKind::Analyze,
            leads_to: None,
            planned_ms: Some(8000),
        },
        Some("  12.0s phase canary for 8s"),
    );
    check(
        RunEvent::WindowOpened {
            name: "→ canary".into(),
            kind: WindowKind::Transition,
            leads_to: Some("canary".into()),
            planned_ms: None,
        },
        None,
    );
    check(
        RunEvent::WindowClosed {
            name: "canary".into(),
            kind: WindowKind::Analyze,
            leads_to: None,
            answers: BTreeMap::from([("v1.0.0".into(), 729), ("v2.0.0".into(), 72)]),
            failed_requests: 0,
        },
        Some("  12.0s phase canary done: v1.0.0 729 (91.0%), v2.0.0 72 (9.0%); 0 failed"),
    );
    check(
        RunEvent::Interim {
            window: "canary".into(),
            verdict: InterimVerdict::KeepObserving,
            gates: vec![],
        },
        Some("  12.0s   gates: keep observing"),
    );
    check(
        RunEvent::Decision {
            outcome: Outcome::Promoted,
            reason: "all gates passed".into(),
            decision: None,
        },
        Some("  12.0s decision: promoted: all gates passed"),
    );
    check(
        RunEvent::StepFinished {
            index: 3,
            section: Section::Main,
            result: StepResult::Failed {
                message: "timed out".into(),
            },
            elapsed_ms: 10,
        },
        Some("  12.0s   failed: timed out"),
    );
    check(
        RunEvent::Platform {
            reason: "BackOff".into(),
            object: "pod/my-app-v2-1".into(),
            message: "restarting".into(),
        },
        Some("  12.0s   pod/my-app-v2-1: restarting"),
    );
    check(
        RunEvent::Platform {
            reason: "Killing".into(),
            object: "pod/my-app-v1-1".into(),
            message: "scaled down".into(),
        },
        None,
    );
    check(
        RunEvent::Note {
            message: "Prometheus is missing".into(),
        },
        Some("  12.0s note: Prometheus is missing"),
    );
}

#[test]
fn event_lines_in_korean_tell_the_same_things() {
    let say = |event: RunEvent| event_line(&timed(1_000, event), None, Language::Korean).unwrap();
    assert_eq!(
        say(RunEvent::WindowClosed {
            name: "canary".into(),
            kind: WindowKind::Analyze,
            leads_to: None,
            answers: BTreeMap::from([("v1.0.0".into(), 9), ("v2.0.0".into(), 1)]),
            failed_requests: 2,
        }),
        "   1.0s canary 구간 끝: v1.0.0 9개 (90.0%), v2.0.0 1개 (10.0%); 실패 2개"
    );
    assert_eq!(
        say(RunEvent::Decision {
            outcome: Outcome::RolledBack,
            reason: "failed: success_rate".into(),
            decision: None,
        }),
        "   1.0s 결정: 롤백: failed: success_rate"
    );
    assert_eq!(
        say(RunEvent::Interim {
            window: "canary".into(),
            verdict: InterimVerdict::PassSoFar,
            gates: vec![],
        }),
        "   1.0s   게이트: 지금까지 통과"
    );
}
