//! The live page: self-contained (nothing loaded from elsewhere), the same
//! charts and colours as the report, the decision and the report's link at
//! the end, and in Korean with `--lang ko`.

mod fixtures;

use lab_core::analysis::WindowKind;
use lab_core::run_event::{InterimVerdict, Progress, VersionProgress};
use lab_report::Language;
use lab_report::live::{LiveView, Look, live_fragment, live_page};
use std::collections::BTreeMap;

fn view(finished: bool) -> LiveView {
    LiveView {
        report: fixtures::promoted(true),
        progress: Some(Progress {
            step: Some("observe phase `promoted` for 6s".to_string()),
            window: Some("promoted".to_string()),
            window_kind: Some(WindowKind::Observe),
            window_leads_to: None,
            window_elapsed_ms: 3000,
            window_planned_ms: Some(6000),
            versions: BTreeMap::from([(
                "v2.0.0".to_string(),
                VersionProgress {
                    requests: 300,
                    errors: 0,
                    share: 1.0,
                },
            )]),
            failed_requests: 0,
            ready: BTreeMap::from([("v2.0.0".to_string(), 10)]),
        }),
        looks: vec![Look {
            t_ms: 14_000,
            verdict: InterimVerdict::PassSoFar,
        }],
        now_ms: 30_000,
        tutorial_query: "sum(rate(http_requests_total{app=\"my-app\"}[2m])) by (version)"
            .to_string(),
        grafana: None,
        finished,
    }
}

#[test]
fn the_page_is_self_contained_and_polls_its_own_server() {
    let page = live_page(Some(&view(false)), "canary", None, Language::English);
    for external in [
        "src=\"http",
        "href=\"//",
        "@import",
        "url(h",
        "url(/",
        "<link",
        "<img",
    ] {
        assert!(!page.contains(external), "{external} in the page");
    }
    assert!(
        page.contains("fetch('fragment'"),
        "the page fetches its fragment"
    );
    // The only absolute address is the link to Prometheus's own graph page.
    let addresses: Vec<&str> = page
        .match_indices("http://")
        .map(|(i, _)| &page[i..i + 30])
        .collect();
    assert!(
        addresses
            .iter()
            .all(|a| a.starts_with("http://127.0.0.1:") && a.contains("/graph?g")),
        "{addresses:?}"
    );
    assert!(page.contains("g0.expr=sum%28rate%28http_requests_total%7Bapp%3D%22my-app%22%7D"));
}

#[test]
fn the_fragment_shows_versions_in_the_charts_colours_and_the_decision() {
    let fragment = live_fragment(Some(&view(false)), None, Language::English);
    assert!(fragment.contains("data-state=\"running\""));
    assert!(
        fragment.contains("data-version=\"v2.0.0\" data-share=\"1.0000\" data-requests=\"300\""),
        "{fragment}"
    );
    // v2 is orange, as in every chart.
    assert!(fragment.contains("background:#ff7f0e"));
    assert!(
        fragment.contains("data-versions=\"v1.0.0 v2.0.0\""),
        "both in the panel"
    );
    assert!(fragment.contains("data-outcome=\"promoted\""));
    assert!(fragment.contains("id=\"chart-share\""));
    assert!(fragment.contains("data-look=\"pass so far\""));
    assert!(!fragment.contains("report-link"), "no report while running");
    let finished = live_fragment(Some(&view(true)), None, Language::English);
    assert!(finished.contains("data-state=\"finished\""));
    assert!(finished.contains("id=\"report-link\" href=\"report.html\""));
    let waiting = live_fragment(None, None, Language::English);
    assert!(waiting.contains("data-state=\"waiting\""));
}

#[test]
fn the_page_speaks_korean() {
    let page = live_page(Some(&view(true)), "canary", None, Language::Korean);
    assert!(page.contains("<html lang=\"ko\">"));
    for korean in [
        "승격",
        "버전별 트래픽",
        "준비된 pod",
        "게이트",
        "리포트 보기",
        "지금까지 통과",
        // The decision's reason and the gates' explanations, and the charts.
        "모든 게이트 통과: success_rate",
        "성공률 100.00% (79/79) ≥ 99.00%",
        "버전별 트래픽 비율",
        "실행 시작 후 시간",
    ] {
        assert!(page.contains(korean), "{korean} missing");
    }
    assert!(!page.contains("Traffic by version"));
    assert!(!page.contains("all gates passed"));
    assert!(!page.contains("time since the run started"));
}
