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

mod english;
mod korean;
mod messages;

use crate::charts::{
    SVG_NAMESPACE, errors_chart, ready_chart, requests_chart, server_requests_chart, share_chart,
    version_colours,
};
use crate::i18n::{Language, Localized};
use crate::reasons::Why;
use crate::terminal::step_text;
use crate::xml;
use lab_core::analysis::{GateVerdict, Verdict, WindowKind};
use lab_core::plan::Plan;
use lab_core::report::Report;
use lab_core::run_event::{InterimVerdict, Progress};
use messages::Text;
use std::fmt::Write;

impl Localized for Text<'_> {
    fn english(&self) -> String {
        english::say(self)
    }

    fn korean(&self) -> String {
        korean::say(self)
    }
}

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
        Text::Live.render(language),
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
        badge.render(language)
    );
    if let Some(view) = view {
        links(&mut out, view, language);
    }
    out.push_str("</span></header>\n");
    let _ = writeln!(
        out,
        "<div id=\"offline\">{}</div>",
        xml::text(&Text::Offline.render(language))
    );
    out.push_str("<main id=\"live\">");
    out.push_str(&live_fragment(view, plan, language));
    out.push_str("</main>\n");
    let _ = writeln!(
        out,
        "<footer>canary-lab · {}</footer>",
        xml::text(&Text::Updating.render(language))
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
            xml::text(&Text::PrometheusGraph.render(language))
        );
    }
    if let Some(grafana) = &view.grafana {
        let _ = write!(
            out,
            "<a id=\"grafana-link\" href=\"{}\">{}</a>",
            xml::attr(&grafana_dashboard_url(grafana)),
            xml::text(&Text::GrafanaDashboard.render(language))
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
            xml::text(&Text::Starting.render(language))
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
        share_chart(&view.report, language),
        requests_chart(&view.report, language),
        ready_chart(&view.report, language),
        errors_chart(&view.report, language),
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
    let step = match view.progress.as_ref().and_then(|p| p.step.as_deref()) {
        Some(step) => step_text(step, plan, language),
        None => Text::Starting.render(language),
    };
    if view.finished {
        let _ = write!(
            out,
            "<div class=\"step ended\">{} <a id=\"report-link\" href=\"report.html\">{}</a></div>",
            xml::text(&Text::Finished.render(language)),
            xml::text(&Text::Report.render(language))
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
                xml::text(&Text::Phase { name, kind }.render(language)),
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
                xml::text(&Text::Transition(name).render(language)),
                seconds(p.window_elapsed_ms)
            );
        }
        None if !view.finished => {
            let _ = write!(
                out,
                "<div class=\"phase\">{}</div>",
                xml::text(&Text::NoTrafficYet.render(language))
            );
        }
        None => {}
    }
    let _ = writeln!(
        out,
        "<div class=\"clock\">{} {}</div></section>",
        xml::text(&Text::RunTime.render(language)),
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
                xml::text(&Text::Outcome(decision.outcome).render(language)),
                xml::text(
                    &Why::Decision {
                        decision,
                        thresholds: &view.report.thresholds
                    }
                    .render(language)
                ),
                seconds(decision.decided_at_ms)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "<section id=\"decision\" class=\"decision pending\" data-outcome=\"\">{}</section>",
                xml::text(&Text::Undecided.render(language))
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
    match server_requests_chart(report, language).filter(|_| !drawn.is_empty()) {
        Some(chart) => out.push_str(&inline(&chart.svg)),
        None => {
            let _ = write!(
                out,
                "<div class=\"waiting\">{}</div>",
                xml::text(&Text::PanelWaiting.render(language))
            );
        }
    }
    let _ = writeln!(
        out,
        "<figcaption>{}: <code>{}</code></figcaption></figure>",
        xml::text(&Text::Panel.render(language)),
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
        xml::text(&Text::Versions.render(language)),
        xml::text(&Text::Version.render(language)),
        xml::text(&Text::Share.render(language)),
        xml::text(&Text::PerSecond.render(language)),
        xml::text(&Text::Answers.render(language)),
        xml::text(&Text::Errors.render(language)),
        xml::text(&Text::ReadyPods.render(language)),
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
        xml::text(&Text::Verdict(v).render(language))
    )
}

fn gates(out: &mut String, view: &LiveView, language: Language) {
    let _ = write!(
        out,
        "<section class=\"card\" id=\"gates\"><h2>{}</h2>",
        xml::text(&Text::Gates.render(language))
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
                    xml::text(
                        &Why::Gate {
                            gate,
                            thresholds: &view.report.thresholds
                        }
                        .render(language)
                    )
                );
            }
            out.push_str("</tbody></table>");
        }
        None => {
            let _ = write!(
                out,
                "<p>{}</p>",
                xml::text(&Text::GatesWaiting.render(language))
            );
        }
    }
    if !view.looks.is_empty() {
        let _ = write!(
            out,
            "<h2 style=\"margin-top:12px\">{}</h2><ol class=\"looks\">",
            xml::text(&Text::Looks.render(language))
        );
        for look in &view.looks {
            let _ = write!(
                out,
                "<li data-look=\"{}\">{} — {}</li>",
                look.verdict.as_str(),
                seconds(look.t_ms),
                xml::text(&Text::Interim(look.verdict).render(language))
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
