//! report.html stands alone: well-formed, with every chart inline and nothing
//! that refers outside the file.

mod fixtures;
mod xml_support;

use lab_core::report::{Report, StepResult};
use lab_report::Language;
use xml_support::{Element, parse};

/// Every way a page can reach outside itself, checked on every attribute and
/// every text node as a parser reads them.
fn assert_self_contained(html: &str) {
    for needle in [
        "http:", "https:", "//", "src=", "<script", "<link", "@import", "url(http",
    ] {
        assert!(
            !html.to_lowercase().contains(needle),
            "the page contains {needle:?}"
        );
    }
    let root = parse(html.trim_start_matches("<!DOCTYPE html>"));
    assert_eq!(root.name, "html");
    for element in root.descendants() {
        assert!(
            !matches!(
                element.name.as_str(),
                "script"
                    | "link"
                    | "img"
                    | "iframe"
                    | "object"
                    | "embed"
                    | "image"
                    | "use"
                    | "video"
                    | "audio"
                    | "source"
            ),
            "<{}> in the page",
            element.name
        );
        for (name, value) in &element.attributes {
            let lower = value.to_lowercase();
            if name == "href" || name.ends_with(":href") {
                assert!(
                    value.starts_with('#') || value.starts_with("data:"),
                    "{name}={value} on <{}>",
                    element.name
                );
            }
            assert_ne!(name, "src", "<{}>", element.name);
            assert_ne!(name, "xmlns", "inline SVG needs no namespace URL");
            for needle in ["http:", "https:", "//"] {
                assert!(
                    !lower.contains(needle),
                    "{name}={value} on <{}>",
                    element.name
                );
            }
        }
    }
    for text in root.texts() {
        let lower = text.to_lowercase();
        for needle in ["http:", "https:", "//"] {
            assert!(!lower.contains(needle), "text {text:?}");
        }
    }
}

fn body(root: &Element) -> String {
    root.texts().concat()
}

#[test]
fn reports_with_and_without_prometheus_are_self_contained() {
    for report in [
        fixtures::promoted(true),
        fixtures::promoted(false),
        fixtures::rolled_back(),
        fixtures::empty(),
    ] {
        assert_self_contained(&lab_report::html(&report));
    }
}

#[test]
fn urls_and_markup_in_the_report_are_defused() {
    let mut report: Report = fixtures::promoted(true);
    report.notes.push(
        "grafana annotation failed: error sending request for url (https://127.0.0.1:30030//api/annotations)".to_string(),
    );
    report.steps[0].result = StepResult::Failed {
        message: "<script>alert(1)</script> & \"quotes\" 'too'".to_string(),
    };
    report.scenario = "a<b>&c".to_string();
    let html = lab_report::html(&report);
    assert_self_contained(&html);
    let text = body(&parse(html.trim_start_matches("<!DOCTYPE html>")));
    assert!(
        text.contains("127.0.0.1:30030"),
        "the address stays readable"
    );
    assert!(text.contains("<script>alert(1)</script> & \"quotes\" 'too'"));
    assert!(text.contains("a<b>&c: promoted"));
}

#[test]
fn the_page_says_what_the_run_showed() {
    let report = fixtures::promoted(true);
    let root = parse(lab_report::html(&report).trim_start_matches("<!DOCTYPE html>"));
    let text = body(&root);
    for expected in [
        "canary: promoted (expected promoted), passed",
        "all gates passed: success_rate, p99_latency, p99_vs_baseline, restarts",
        "11.5 s after the candidate began serving",
        "kubectl scale --replicas=9 deployment/my-app-v1",
        "sum by (version) (increase(http_requests_total{app=\"my-app\"}[8008ms]))",
        "client-side tallies",
        "Downtime",
        "7.5–12.9%",
        "queried at 127.0.0.1:37189",
    ] {
        assert!(text.contains(expected), "{expected:?} missing");
    }
    // Every chart is inline, in the order of the chart list.
    let figures: Vec<&str> = root
        .find_all("figure")
        .iter()
        .map(|f| f.attr("id").unwrap())
        .collect();
    assert_eq!(
        figures,
        [
            "chart-requests",
            "chart-requests-prometheus",
            "chart-share",
            "chart-errors",
            "chart-ready"
        ]
    );
    assert_eq!(root.find_all("svg").len(), 5);
    // One table per window, the gates, the cross-check and the steps.
    assert_eq!(root.find_all("table").len(), report.windows.len() + 3);
    // Every fragment link has its target.
    let ids: Vec<&str> = root
        .descendants()
        .iter()
        .filter_map(|e| e.attr("id"))
        .collect();
    for link in root.find_all("a") {
        let target = link.attr("href").unwrap().trim_start_matches('#');
        assert!(ids.contains(&target), "#{target} has no target");
    }
}

#[test]
fn a_run_without_prometheus_says_so() {
    let root =
        parse(lab_report::html(&fixtures::promoted(false)).trim_start_matches("<!DOCTYPE html>"));
    let text = body(&root);
    assert!(text.contains("Prometheus: not available"));
    assert!(text.contains("prometheus is not installed"));
    assert_eq!(root.find_all("svg").len(), 4);
}

#[test]
fn a_korean_page_is_marked_korean_and_says_it_in_korean() {
    let report = fixtures::rolled_back();
    let html = lab_report::html_in(&report, Language::Korean, Some(&fixtures::canary_plan()));
    assert_self_contained(&html);
    let root = parse(html.trim_start_matches("<!DOCTYPE html>"));
    assert_eq!(root.attr("lang"), Some("ko"));
    assert_eq!(
        parse(lab_report::html(&report).trim_start_matches("<!DOCTYPE html>")).attr("lang"),
        Some("en")
    );
    let headings: Vec<String> = root
        .find_all("h2")
        .iter()
        .map(|h| h.texts().concat())
        .collect();
    assert_eq!(
        headings,
        [
            "결정",
            "차트",
            "구간",
            "게이트",
            "클라이언트와 Prometheus 비교",
            "단계",
            "플랫폼 이벤트"
        ]
    );
    let title = root.find_all("h1")[0].texts().concat();
    assert_eq!(title, "canary: 롤백 (예상 롤백), 통과");
    // The table of contents and the verdicts are Korean too.
    let nav: Vec<String> = root
        .find_all("a")
        .iter()
        .map(|a| a.texts().concat())
        .collect();
    assert_eq!(nav[0], "결정");
    let text = body(&root);
    assert!(text.contains("실패: success_rate (성공률 77.27% (17/22)"));
    // The charts speak Korean, in a font list with Hangul.
    for svg in root.find_all("svg") {
        let font = svg.attr("font-family").unwrap();
        assert!(font.contains("Noto Sans CJK KR"), "{font}");
    }
    for expected in [
        "버전별 초당 요청 (클라이언트)",
        "실행 시작 후 시간",
        "결정: 롤백",
    ] {
        assert!(text.contains(expected), "{expected:?} missing");
    }
    assert!(html.contains("\"Noto Sans CJK KR\""), "the page's fonts");
    assert!(!text.contains("time since the run started"));
}
