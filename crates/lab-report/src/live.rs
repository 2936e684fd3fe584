//! The live page: what a run looks like while it goes, for a browser (or a
//! workshop's projector) beside the terminal. Pure: a [`LiveView`] in, HTML
//! out; the lab's own small server serves it and asks for a new view once a
//! second.
//!
//! The page is the tutorial's Grafana panel first (the tutorial's query from
//! the lab's Prometheus), then each version's requests per second, share and
//! ready pods, the report's own charts (so the page at the end and
//! `report.html` agree), the gates as they are checked and the decision. It
//! is self-contained: inline CSS and SVG, and a small inline script that
//! fetches the changing part (`fragment`) every second; no font, library or
//! address outside the lab's own server.

use crate::charts::{
    SVG_NAMESPACE, errors_chart, ready_chart, requests_chart, server_requests_chart, share_chart,
    version_colours,
};
use crate::narration::Language;
use crate::terminal::{describe_step, korean};
use crate::xml;
use lab_core::analysis::{GateVerdict, Outcome, Verdict, WindowKind};
use lab_core::plan::Plan;
use lab_core::report::Report;
use lab_core::run_event::{InterimVerdict, Progress};
use std::fmt::Write;

/// The dashboard the cluster lab's Grafana provisions (`grafana/dashboards`).
pub const GRAFANA_DASHBOARD_UID: &str = "canary-lab";

/// An analysis interval's look at the gates.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// When, since the run started.
    pub t_ms: u64,
    /// What the look concluded.
    pub verdict: InterimVerdict,
}

/// What the live page shows at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveView {
    /// The run so far, assembled as the final report is (provisional until
    /// `finished`).
    pub report: Report,
    /// The live state of the last second.
    pub progress: Option<Progress>,
    /// The analysis intervals' looks so far.
    pub looks: Vec<Look>,
    /// Time since the run started.
    pub now_ms: u64,
    /// The tutorial's query for this app
    /// (`sum(rate(http_requests_total{app="my-app"}[2m])) by (version)`).
    pub tutorial_query: String,
    /// The lab's Grafana, when it has one (a cluster lab).
    pub grafana: Option<String>,
    /// The run has ended and its report is written.
    pub finished: bool,
}

/// The page's words.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Text<'a> {
    Live,
    Ended,
    Starting,
    NoTrafficYet,
    Phase { name: &'a str, kind: WindowKind },
    Transition(&'a str),
    RunTime,
    Undecided,
    Outcome(Outcome),
    Versions,
    Version,
    Share,
    PerSecond,
    Answers,
    Errors,
    ReadyPods,
    Panel,
    PanelWaiting,
    Gates,
    GatesWaiting,
    Looks,
    Interim(InterimVerdict),
    Verdict(Verdict),
    Finished,
    Report,
    PrometheusGraph,
    GrafanaDashboard,
    Offline,
    Updating,
}

fn say(text: Text<'_>, language: Language) -> String {
    match language {
        Language::English => english(text),
        Language::Korean => korean_text(text),
    }
}

fn english(text: Text<'_>) -> String {
    match text {
        Text::Live => "live".into(),
        Text::Ended => "ended".into(),
        Text::Starting => "starting".into(),
        Text::NoTrafficYet => "no traffic yet".into(),
        Text::Phase { name, kind } => format!("phase {name} ({})", kind.as_str()),
        Text::Transition(name) => format!("transition {name}"),
        Text::RunTime => "run time".into(),
        Text::Undecided => "No decision yet: the gates are judged in the analyze phase.".into(),
        Text::Outcome(Outcome::Promoted) => "promoted".into(),
        Text::Outcome(Outcome::RolledBack) => "rolled back".into(),
        Text::Versions => "Traffic by version (this phase, from the clients)".into(),
        Text::Version => "version".into(),
        Text::Share => "share".into(),
        Text::PerSecond => "requests/s".into(),
        Text::Answers => "answers".into(),
        Text::Errors => "errors".into(),
        Text::ReadyPods => "ready pods".into(),
        Text::Panel => "The tutorial's Grafana panel, from the lab's Prometheus".into(),
        Text::PanelWaiting => {
            "Waiting for Prometheus's first points (it scrapes every few seconds)…".into()
        }
        Text::Gates => "Gates".into(),
        Text::GatesWaiting => "Not judged yet: the analyze phase has not begun.".into(),
        Text::Looks => "Looks at the gates".into(),
        Text::Interim(v) => v.as_str().into(),
        Text::Verdict(Verdict::Pass) => "pass".into(),
        Text::Verdict(Verdict::Fail) => "FAIL".into(),
        Text::Verdict(Verdict::Inconclusive) => "inconclusive".into(),
        Text::Verdict(Verdict::NotApplicable) => "n/a".into(),
        Text::Finished => "The run has ended.".into(),
        Text::Report => "the report".into(),
        Text::PrometheusGraph => "Prometheus graph".into(),
        Text::GrafanaDashboard => "Grafana dashboard".into(),
        Text::Offline => "The lab no longer serves this page: this is its last state.".into(),
        Text::Updating => "updated every second".into(),
    }
}

fn korean_text(text: Text<'_>) -> String {
    match text {
        Text::Live => "실시간".into(),
        Text::Ended => "종료".into(),
        Text::Starting => "시작하는 중".into(),
        Text::NoTrafficYet => "아직 트래픽 없음".into(),
        Text::Phase { name, kind } => {
            format!("{name} 구간 ({})", korean::window_kind(kind))
        }
        Text::Transition(name) => format!("전환 {name}"),
        Text::RunTime => "실행 시간".into(),
        Text::Undecided => "아직 결정 전: 게이트는 분석 구간에서 판단합니다.".into(),
        Text::Outcome(o) => korean::outcome(o).into(),
        Text::Versions => "버전별 트래픽 (현재 구간, 클라이언트 기준)".into(),
        Text::Version => "버전".into(),
        Text::Share => "비율".into(),
        Text::PerSecond => "초당 요청".into(),
        Text::Answers => "응답".into(),
        Text::Errors => "오류".into(),
        Text::ReadyPods => "준비된 pod".into(),
        Text::Panel => "튜토리얼의 Grafana 패널 (실습 환경의 Prometheus)".into(),
        Text::PanelWaiting => "Prometheus의 첫 데이터를 기다리는 중 (몇 초마다 수집합니다)…".into(),
        Text::Gates => "게이트".into(),
        Text::GatesWaiting => "아직 판단 전: 분석 구간이 시작되지 않았습니다.".into(),
        Text::Looks => "게이트 확인 기록".into(),
        Text::Interim(v) => korean::interim(v).into(),
        Text::Verdict(v) => korean::verdict(v).into(),
        Text::Finished => "실행이 끝났습니다.".into(),
        Text::Report => "리포트 보기".into(),
        Text::PrometheusGraph => "Prometheus 그래프".into(),
        Text::GrafanaDashboard => "Grafana 대시보드".into(),
        Text::Offline => {
            "실습 환경이 이 페이지를 더 이상 제공하지 않습니다: 마지막 상태입니다.".into()
        }
        Text::Updating => "1초마다 갱신".into(),
    }
}

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f5; color: #1f2328;
  font: 18px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK KR", "DejaVu Sans", Helvetica, Arial, sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 22px;
  padding: 14px 28px; background: #1f2328; color: #ffffff; }
header h1 { font-size: 28px; margin: 0; }
header .badge { background: #cf222e; color: #fff; border-radius: 6px; padding: 1px 10px;
  font-size: 16px; font-weight: 700; letter-spacing: .04em; text-transform: uppercase; }
body.finished header .badge { background: #57606a; }
header a { color: #9ecbff; }
header .links { margin-left: auto; display: flex; gap: 18px; font-size: 17px; }
main { padding: 16px 28px 40px; max-width: 1800px; margin: 0 auto; }
.row { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 18px; align-items: start; }
#gates td { font-size: 16px; }
@media (max-width: 1100px) { .row { grid-template-columns: minmax(0, 1fr); } }
.card { background: #ffffff; border-radius: 10px; padding: 14px 18px; margin-bottom: 18px;
  box-shadow: 0 1px 3px rgba(0,0,0,.12); }
h2 { font-size: 20px; margin: 0 0 8px; }
.status { display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: center; }
.status .step { font-size: 22px; font-weight: 600; flex: 1 1 100%; }
.status .phase { font-size: 20px; }
.status .clock { color: #57606a; }
.timer { display: inline-block; width: 260px; height: 14px; background: #e2e6ea; border-radius: 7px;
  vertical-align: middle; margin-left: 10px; overflow: hidden; }
.timer > span { display: block; height: 100%; background: #57606a; }
.decision { font-size: 24px; padding: 12px 18px; border-radius: 10px; margin-bottom: 18px; }
.decision.pending { background: #ffffff; color: #57606a; font-size: 19px; }
.decision.promoted { background: #dafbe1; border-left: 10px solid #1a7f37; }
.decision.rolled_back { background: #ffebe9; border-left: 10px solid #cf222e; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 6px 10px; text-align: left; border-bottom: 1px solid #e2e6ea; }
th { font-size: 15px; color: #57606a; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
#versions td { font-size: 24px; white-space: nowrap; }
#versions td.share-bar { width: 45%; }
.swatch { display: inline-block; width: 18px; height: 18px; border-radius: 4px; vertical-align: -2px; margin-right: 8px; }
.bar { width: 100%; height: 24px; background: #e2e6ea; border-radius: 5px; overflow: hidden; }
.bar > span { display: block; height: 100%; }
figure { margin: 0; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 15px; color: #57606a; margin-top: 4px; }
.waiting { padding: 60px 10px; text-align: center; color: #57606a; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 18px; }
.verdict { font-weight: 600; padding: 0 8px; border-radius: 10px; white-space: nowrap; }
.verdict.pass { background: #dafbe1; color: #116329; }
.verdict.fail { background: #ffebe9; color: #a40e26; }
.verdict.inconclusive { background: #fff8c5; color: #7d4e00; }
.verdict.not_applicable { background: #f0f2f4; color: #57606a; }
ol.looks { margin: 8px 0 0; padding-left: 24px; font-size: 16px; }
code { font: 15px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.ended { font-size: 20px; }
#offline { display: none; background: #fff8c5; padding: 8px 28px; }
body.offline #offline { display: block; }
footer { color: #57606a; font-size: 15px; padding: 0 28px 20px; }
"#;

/// Fetches the changing part every second; keeps the last state readable when
/// the lab stops serving.
const SCRIPT: &str = r#"
(function () {
  var live = document.getElementById('live');
  var updates = 0;
  function tick() {
    fetch('fragment', { cache: 'no-store' }).then(function (r) {
      if (!r.ok) { throw new Error('status ' + r.status); }
      return r.text();
    }).then(function (html) {
      live.innerHTML = html;
      updates += 1;
      document.body.setAttribute('data-updates', String(updates));
      document.body.classList.remove('offline');
      var state = live.firstElementChild && live.firstElementChild.getAttribute('data-state');
      if (state === 'finished') { document.body.classList.add('finished'); return; }
      setTimeout(tick, 1000);
    }).catch(function () {
      document.body.classList.add('offline');
      setTimeout(tick, 5000);
    });
  }
  setTimeout(tick, 1000);
})();
"#;

/// Percent-encode a URL's query value.
fn query_value(raw: &str) -> String {
    let mut out = String::new();
    for byte in raw.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// Prometheus's own graph page with `query` filled in.
pub fn prometheus_graph_url(prometheus: &str, query: &str) -> String {
    format!(
        "{}/graph?g0.expr={}&g0.tab=0",
        prometheus.trim_end_matches('/'),
        query_value(query)
    )
}

/// The lab's dashboard in Grafana.
pub fn grafana_dashboard_url(grafana: &str) -> String {
    format!(
        "{}/d/{GRAFANA_DASHBOARD_UID}",
        grafana.trim_end_matches('/')
    )
}

/// A chart's SVG inside the page, which gives it its namespace.
fn inline(svg: &str) -> String {
    svg.replacen(SVG_NAMESPACE, "", 1)
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The whole page: the frame, and the current state inside it.
pub fn live_page(
    view: Option<&LiveView>,
    scenario: &str,
    plan: Option<&Plan>,
    language: Language,
) -> String {
    let mut out = String::new();
    let state = view.map_or(
        "waiting",
        |v| if v.finished { "finished" } else { "running" },
    );
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>{} — {}</title><style>{STYLE}</style></head>\n<body class=\"{}\">\n",
        language.code(),
        xml::text(scenario),
        say(Text::Live, language),
        if state == "finished" { "finished" } else { "" },
    );
    let badge = if state == "finished" {
        Text::Ended
    } else {
        Text::Live
    };
    let _ = write!(
        out,
        "<header><h1>{}</h1><span class=\"badge\">{}</span><span class=\"links\">",
        xml::text(scenario),
        say(badge, language)
    );
    if let Some(view) = view {
        links(&mut out, view, language);
    }
    out.push_str("</span></header>\n");
    let _ = writeln!(
        out,
        "<div id=\"offline\">{}</div>",
        xml::text(&say(Text::Offline, language))
    );
    out.push_str("<main id=\"live\">");
    out.push_str(&live_fragment(view, plan, language));
    out.push_str("</main>\n");
    let _ = writeln!(
        out,
        "<footer>canary-lab · {}</footer>",
        xml::text(&say(Text::Updating, language))
    );
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body></html>\n");
    out
}

fn links(out: &mut String, view: &LiveView, language: Language) {
    if let Some(prometheus) = &view.report.prometheus.url {
        let _ = write!(
            out,
            "<a id=\"prometheus-link\" href=\"{}\">{}</a>",
            xml::attr(&prometheus_graph_url(prometheus, &view.tutorial_query)),
            xml::text(&say(Text::PrometheusGraph, language))
        );
    }
    if let Some(grafana) = &view.grafana {
        let _ = write!(
            out,
            "<a id=\"grafana-link\" href=\"{}\">{}</a>",
            xml::attr(&grafana_dashboard_url(grafana)),
            xml::text(&say(Text::GrafanaDashboard, language))
        );
    }
}

/// The part of the page that changes: everything under the header.
pub fn live_fragment(view: Option<&LiveView>, plan: Option<&Plan>, language: Language) -> String {
    let mut out = String::new();
    let Some(view) = view else {
        let _ = write!(
            out,
            "<div data-state=\"waiting\" class=\"card waiting\">{}</div>",
            xml::text(&say(Text::Starting, language))
        );
        return out;
    };
    let state = if view.finished { "finished" } else { "running" };
    let _ = writeln!(out, "<div data-state=\"{state}\">");
    status(&mut out, view, plan, language);
    decision(&mut out, view, language);
    versions(&mut out, view, language);
    out.push_str("<div class=\"row\">\n");
    panel(&mut out, view, language);
    gates(&mut out, view, language);
    out.push_str("</div>\n<div class=\"charts\">\n");
    for chart in [
        share_chart(&view.report),
        requests_chart(&view.report),
        ready_chart(&view.report),
        errors_chart(&view.report),
    ] {
        let _ = writeln!(
            out,
            "<figure class=\"card\" id=\"chart-{}\">{}</figure>",
            chart.name,
            inline(&chart.svg)
        );
    }
    out.push_str("</div>\n</div>\n");
    out
}

fn status(out: &mut String, view: &LiveView, plan: Option<&Plan>, language: Language) {
    out.push_str("<section class=\"card status\">");
    let step = view.progress.as_ref().and_then(|p| p.step.as_deref());
    let step = match (step, plan) {
        (Some(step), Some(plan)) => plan
            .steps
            .iter()
            .chain(&plan.rollback)
            .find(|s| s.describe() == step)
            .map_or_else(|| step.to_string(), |s| describe_step(s, language)),
        (Some(step), None) => step.to_string(),
        (None, _) => say(Text::Starting, language),
    };
    if view.finished {
        let _ = write!(
            out,
            "<div class=\"step ended\">{} <a id=\"report-link\" href=\"report.html\">{}</a></div>",
            xml::text(&say(Text::Finished, language)),
            xml::text(&say(Text::Report, language))
        );
    } else {
        let _ = write!(out, "<div class=\"step\">▶ {}</div>", xml::text(&step));
    }
    let progress = view.progress.as_ref().filter(|_| !view.finished);
    match progress.and_then(|p| Some((p, p.window.as_deref()?, p.window_kind?))) {
        Some((p, name, kind)) if kind != WindowKind::Transition => {
            let planned = p.window_planned_ms.unwrap_or(0);
            let done = if planned > 0 {
                (p.window_elapsed_ms as f64 / planned as f64).min(1.0)
            } else {
                1.0
            };
            let _ = write!(
                out,
                "<div class=\"phase\" data-phase=\"{}\" data-kind=\"{}\">{} <strong>{} / {}</strong>\
                 <span class=\"timer\"><span style=\"width:{:.1}%\"></span></span></div>",
                xml::attr(name),
                kind.as_str(),
                xml::text(&say(Text::Phase { name, kind }, language)),
                seconds(p.window_elapsed_ms),
                seconds(planned),
                done * 100.0
            );
        }
        Some((p, name, _)) => {
            let _ = write!(
                out,
                "<div class=\"phase\" data-phase=\"{}\" data-kind=\"transition\">{} <strong>{}</strong></div>",
                xml::attr(name),
                xml::text(&say(Text::Transition(name), language)),
                seconds(p.window_elapsed_ms)
            );
        }
        None if !view.finished => {
            let _ = write!(
                out,
                "<div class=\"phase\">{}</div>",
                xml::text(&say(Text::NoTrafficYet, language))
            );
        }
        None => {}
    }
    let _ = writeln!(
        out,
        "<div class=\"clock\">{} {}</div></section>",
        xml::text(&say(Text::RunTime, language)),
        seconds(view.now_ms)
    );
}

fn decision(out: &mut String, view: &LiveView, language: Language) {
    match &view.report.decision {
        Some(decision) => {
            let _ = writeln!(
                out,
                "<section id=\"decision\" class=\"decision {}\" data-outcome=\"{}\"><strong>{}</strong>: {} <span class=\"clock\">({})</span></section>",
                decision.outcome.as_str(),
                decision.outcome.as_str(),
                xml::text(&say(Text::Outcome(decision.outcome), language)),
                xml::text(&decision.reason),
                seconds(decision.decided_at_ms)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "<section id=\"decision\" class=\"decision pending\" data-outcome=\"\">{}</section>",
                xml::text(&say(Text::Undecided, language))
            );
        }
    }
}

fn panel(out: &mut String, view: &LiveView, language: Language) {
    let report = &view.report;
    let drawn: Vec<String> = report.series.server.as_ref().map_or(Vec::new(), |server| {
        version_colours(report)
            .into_iter()
            .map(|(v, _)| v)
            .filter(|v| {
                server
                    .points
                    .iter()
                    .any(|p| p.rates.get(v).is_some_and(|r| r.is_finite() && *r > 0.0))
            })
            .collect()
    });
    let _ = write!(
        out,
        "<figure class=\"card\" id=\"panel\" data-versions=\"{}\">",
        xml::attr(&drawn.join(" "))
    );
    match server_requests_chart(report).filter(|_| !drawn.is_empty()) {
        Some(chart) => out.push_str(&inline(&chart.svg)),
        None => {
            let _ = write!(
                out,
                "<div class=\"waiting\">{}</div>",
                xml::text(&say(Text::PanelWaiting, language))
            );
        }
    }
    let _ = writeln!(
        out,
        "<figcaption>{}: <code>{}</code></figcaption></figure>",
        xml::text(&say(Text::Panel, language)),
        xml::text(&view.tutorial_query)
    );
}

/// Requests per second of each version over the last complete seconds.
fn per_second(report: &Report, version: &str) -> Option<f64> {
    let series = &report.series.client;
    // The last second is still being counted.
    let complete = &series[..series.len().saturating_sub(1)];
    let recent = &complete[complete.len().saturating_sub(3)..];
    if recent.is_empty() {
        return None;
    }
    let sum: u64 = recent
        .iter()
        .filter_map(|s| s.versions.get(version))
        .map(|c| c.successes + c.errors)
        .sum();
    Some(sum as f64 / recent.len() as f64)
}

fn versions(out: &mut String, view: &LiveView, language: Language) {
    let _ = writeln!(
        out,
        "<section class=\"card\" id=\"versions\"><h2>{}</h2><table><thead><tr><th>{}</th><th>{}</th><th class=\"num\"></th><th class=\"num\">{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th></tr></thead><tbody>",
        xml::text(&say(Text::Versions, language)),
        xml::text(&say(Text::Version, language)),
        xml::text(&say(Text::Share, language)),
        xml::text(&say(Text::PerSecond, language)),
        xml::text(&say(Text::Answers, language)),
        xml::text(&say(Text::Errors, language)),
        xml::text(&say(Text::ReadyPods, language)),
    );
    let progress = view.progress.as_ref();
    for (version, colour) in version_colours(&view.report) {
        let traffic = progress.and_then(|p| p.versions.get(&version));
        let ready = progress
            .and_then(|p| p.ready.get(&version))
            .copied()
            .unwrap_or(0);
        let requests = traffic.map_or(0, |t| t.requests);
        if ready == 0 && requests == 0 {
            continue;
        }
        let share = traffic.map_or(0.0, |t| t.share);
        let rate =
            per_second(&view.report, &version).map_or("–".to_string(), |r| format!("{r:.0}"));
        let _ = writeln!(
            out,
            "<tr data-version=\"{v}\" data-share=\"{share:.4}\" data-requests=\"{requests}\"><td><span class=\"swatch\" style=\"background:{colour}\"></span>{t}</td>\
             <td class=\"share-bar\"><div class=\"bar\"><span style=\"width:{:.1}%;background:{colour}\"></span></div></td>\
             <td class=\"num\"><strong>{:.1}%</strong></td><td class=\"num\">{rate}</td><td class=\"num\">{requests}</td><td class=\"num\">{}</td><td class=\"num\">{ready}</td></tr>",
            share * 100.0,
            share * 100.0,
            traffic.map_or(0, |t| t.errors),
            v = xml::attr(&version),
            t = xml::text(&version),
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// The gates of the latest analyze window, judged on its traffic so far.
fn latest_gates(report: &Report) -> Option<(&str, &[GateVerdict])> {
    if let Some(decision) = &report.decision
        && !decision.gates.is_empty()
    {
        return Some((decision.window.as_deref().unwrap_or(""), &decision.gates));
    }
    report
        .windows
        .iter()
        .rev()
        .find(|w| w.kind == WindowKind::Analyze && !w.gates.is_empty())
        .map(|w| (w.name.as_str(), w.gates.as_slice()))
}

fn verdict(v: Verdict, language: Language) -> String {
    format!(
        "<span class=\"verdict {}\">{}</span>",
        v.as_str(),
        xml::text(&say(Text::Verdict(v), language))
    )
}

fn gates(out: &mut String, view: &LiveView, language: Language) {
    let _ = write!(
        out,
        "<section class=\"card\" id=\"gates\"><h2>{}</h2>",
        xml::text(&say(Text::Gates, language))
    );
    match latest_gates(&view.report) {
        Some((window, gates)) => {
            let _ = write!(out, "<table data-window=\"{}\"><tbody>", xml::attr(window));
            for gate in gates {
                let _ = write!(
                    out,
                    "<tr data-gate=\"{}\" data-verdict=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    gate.gate.as_str(),
                    gate.verdict.as_str(),
                    gate.gate.as_str(),
                    verdict(gate.verdict, language),
                    xml::text(&gate.explanation)
                );
            }
            out.push_str("</tbody></table>");
        }
        None => {
            let _ = write!(
                out,
                "<p>{}</p>",
                xml::text(&say(Text::GatesWaiting, language))
            );
        }
    }
    if !view.looks.is_empty() {
        let _ = write!(
            out,
            "<h2 style=\"margin-top:12px\">{}</h2><ol class=\"looks\">",
            xml::text(&say(Text::Looks, language))
        );
        for look in &view.looks {
            let _ = write!(
                out,
                "<li data-look=\"{}\">{} — {}</li>",
                look.verdict.as_str(),
                seconds(look.t_ms),
                xml::text(&say(Text::Interim(look.verdict), language))
            );
        }
        out.push_str("</ol>");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_link_carries_the_tutorial_query() {
        assert_eq!(
            prometheus_graph_url(
                "http://127.1.0.3:9090/",
                "sum(rate(http_requests_total{app=\"my-app\"}[2m])) by (version)"
            ),
            "http://127.1.0.3:9090/graph?g0.expr=sum%28rate%28http_requests_total%7Bapp%3D%22my-app%22%7D%5B2m%5D%29%29%20by%20%28version%29&g0.tab=0"
        );
        assert_eq!(
            grafana_dashboard_url("http://127.0.0.1:30030"),
            "http://127.0.0.1:30030/d/canary-lab"
        );
    }
}
