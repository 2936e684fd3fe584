//! Strategies side by side: one row of measures per scenario run, read from
//! each run's report, rendered as `compare.json`, `compare.md` and a
//! self-contained `compare.html` with one bar chart per measure.

use crate::charts::style::{COLOURS, FONT, GRID, MUTED, TEXT, WIDTH};
use crate::i18n::Language;
use crate::xml;
use lab_core::analysis::Outcome;
use lab_core::report::{Report, RunStatus};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// The version of `compare.json`'s shape.
pub const COMPARE_SCHEMA_VERSION: u32 = 3;

/// A whole comparison: one row per scenario, in the order they ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The shape's version ([`COMPARE_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The comparison's id (its directory under `target/lab/compare`).
    pub id: String,
    /// The profile every scenario ran with.
    pub profile: String,
    /// The platform they ran on.
    pub platform: String,
    /// The rows.
    pub rows: Vec<Row>,
    /// The language of `compare.md` and `compare.html` (not part of the JSON).
    #[serde(skip)]
    pub language: Language,
}

/// One scenario's measures, or why it did not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The scenario's name.
    pub scenario: String,
    /// The run's id and its report, relative to the comparison's directory;
    /// `None` when it did not run.
    pub run: Option<RunLink>,
    /// Why it did not run or did not finish; `None` when it did.
    pub error: Option<String>,
    /// The measures; `None` when it did not run.
    pub measures: Option<Measures>,
    /// The reference README's opinions on the strategy.
    pub qualitative: Option<Qualitative>,
}

/// Where a row's run lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunLink {
    /// The run id.
    pub run_id: String,
    /// Its `report.html`, relative to the comparison's directory.
    pub report: String,
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measures {
    /// The expected outcome.
    pub expected: Outcome,
    /// The outcome; `None` when the run ended without one.
    pub outcome: Option<Outcome>,
    /// Whether the run met its expectation.
    pub passed: bool,
    /// Longest period without a successful answer during the rollout, ms.
    pub downtime_ms: u64,
    /// Failed requests (errors and connection failures) during the rollout.
    pub failed_requests: u64,
    /// The highest p99 of any version during the rollout, ms.
    pub p99_rollout_ms: Option<f64>,
    /// The baseline window's p99, ms.
    pub p99_baseline_ms: Option<f64>,
    /// From the first change to full rollout or rollback, ms.
    pub rollout_ms: Option<u64>,
    /// Candidate requests before the decision (exposure).
    pub exposure_requests: u64,
    /// Most pods of the scenario's Deployments not terminating at once above
    /// the steady state (those at the baseline), as the run sampled them:
    /// the strategy's surge or second fleet; `None` when the report has no
    /// such count.
    pub peak_pods_above_steady: Option<u32>,
    /// The same peak per steady pod (2.0: two full fleets at once), which
    /// compares strategies whatever their fleet's size.
    pub peak_pods_per_steady: Option<f64>,
    /// The peak above the steady state with terminating pods counted until
    /// gone: what the cluster held while old pods shut down.
    pub peak_pods_with_terminating_above_steady: Option<u32>,
    /// The same on paper, from the plan: what the steps were expected to run.
    pub planned_peak_pods_above_steady: Option<i32>,
    /// From the decision to the last candidate request, ms; rolled-back runs only.
    pub decision_to_last_candidate_ms: Option<u64>,
    /// Failed requests users saw over the whole run.
    pub failed_requests_seen: u64,
}

/// The reference README's columns, its opinions rather than measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Qualitative {
    /// Zero downtime.
    pub zero_downtime: String,
    /// Real traffic testing.
    pub real_traffic_testing: String,
    /// Targeted users.
    pub targeted_users: String,
    /// Cloud cost.
    pub cloud_cost: String,
    /// Rollback duration.
    pub rollback_duration: String,
    /// Negative impact on users.
    pub impact_on_users: String,
    /// Complexity of setup.
    pub complexity: String,
}

impl Qualitative {
    /// The reference README's row for a strategy, by the scenario's name
    /// (`bad-canary` is a canary).
    pub fn for_scenario(scenario: &str) -> Option<Qualitative> {
        let row = |z: &str, r: &str, t: &str, c: &str, d: &str, i: &str, x: &str| Qualitative {
            zero_downtime: z.to_owned(),
            real_traffic_testing: r.to_owned(),
            targeted_users: t.to_owned(),
            cloud_cost: c.to_owned(),
            rollback_duration: d.to_owned(),
            impact_on_users: i.to_owned(),
            complexity: x.to_owned(),
        };
        Some(if scenario.starts_with("recreate") {
            row("✗", "✗", "✗", "■□□", "■■■", "■■■", "□□□")
        } else if scenario.starts_with("ramped") {
            row("✓", "✗", "✗", "■□□", "■■■", "■□□", "■□□")
        } else if scenario.starts_with("blue-green") {
            row("✓", "✗", "✗", "■■■", "□□□", "■■□", "■■□")
        } else if scenario.contains("canary") {
            row("✓", "✓", "✗", "■□□", "■□□", "■□□", "■■□")
        } else {
            return None;
        })
    }
}

impl Measures {
    /// The measures of a finished run, from its report alone, plus the peak
    /// pods its plan expected.
    ///
    /// The rollout is every window after the first (the baseline). The first
    /// change is the end of the baseline window; full rollout or rollback is the
    /// end of the last step. Exposure counts the candidate's requests in the
    /// windows that began before the decision.
    pub fn of(report: &Report, planned_peak_pods_above_steady: Option<i32>) -> Measures {
        let candidate = report.roles.candidate.as_str();
        let baseline = report.windows.first();
        let rollout = report.windows.get(1..).unwrap_or_default();
        let failures = |w: &lab_core::report::WindowReport| {
            w.versions
                .values()
                .map(|t| t.requests - t.successes + t.attributed_failures)
                .sum::<u64>()
                + w.connection_failures.total()
                + w.unattributed
        };
        let p99 = |w: &lab_core::report::WindowReport| {
            w.versions
                .values()
                .filter_map(|t| t.latency.map(|l| l.p99_ms))
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
        };
        let decided_at = report.decision.as_ref().map(|d| d.decided_at_ms);
        let first_change = baseline.map(|w| w.end_ms);
        let last_step = report.steps.iter().filter_map(|s| s.finished_ms).max();
        let rolled_back = report.outcome == Some(Outcome::RolledBack);
        let last_candidate = report
            .series
            .client
            .iter()
            .filter(|s| {
                s.versions
                    .get(candidate)
                    .is_some_and(|c| c.successes + c.errors > 0)
            })
            .map(|s| s.t_ms)
            .max();
        Measures {
            expected: report.expected,
            outcome: report.outcome,
            passed: report.passed,
            downtime_ms: rollout
                .iter()
                .map(|w| w.downtime.longest_ms)
                .max()
                .unwrap_or(0),
            failed_requests: rollout.iter().map(failures).sum(),
            p99_rollout_ms: rollout
                .iter()
                .filter_map(p99)
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v)))),
            p99_baseline_ms: baseline.and_then(p99),
            rollout_ms: first_change
                .zip(last_step)
                .map(|(a, b)| b.saturating_sub(a)),
            exposure_requests: report
                .windows
                .iter()
                .filter(|w| decided_at.is_none_or(|d| w.start_ms < d))
                .filter_map(|w| w.versions.get(candidate))
                .map(|t| t.requests)
                .sum(),
            peak_pods_above_steady: report.pods.and_then(|p| p.serving_above_steady()),
            peak_pods_per_steady: report.pods.and_then(|p| p.serving_per_steady()),
            peak_pods_with_terminating_above_steady: report.pods.and_then(|p| p.above_steady()),
            planned_peak_pods_above_steady,
            decision_to_last_candidate_ms: if rolled_back {
                decided_at
                    .zip(last_candidate)
                    .map(|(d, l)| l.saturating_sub(d))
            } else {
                None
            },
            failed_requests_seen: report.windows.iter().map(failures).sum(),
        }
    }
}

impl Row {
    /// The row of a finished run, with the peak pods its plan expected.
    pub fn ran(report: &Report, report_path: String, planned_peak_pods: Option<i32>) -> Row {
        let error = match &report.status {
            RunStatus::Failed { error } => Some(error.clone()),
            _ => None,
        };
        Row {
            scenario: report.scenario.clone(),
            run: Some(RunLink {
                run_id: report.run_id.clone(),
                report: report_path,
            }),
            error,
            measures: Some(Measures::of(report, planned_peak_pods)),
            qualitative: Qualitative::for_scenario(&report.scenario),
        }
    }

    /// The row of a scenario that failed to run.
    pub fn failed(scenario: &str, error: String) -> Row {
        Row {
            scenario: scenario.to_owned(),
            run: None,
            error: Some(error),
            measures: None,
            qualitative: Qualitative::for_scenario(scenario),
        }
    }
}

/// One measure across scenarios: its title, unit and value per row.
struct Measure {
    title: &'static str,
    title_ko: &'static str,
    unit: &'static str,
    value: fn(&Measures) -> Option<f64>,
}

const MEASURES: &[Measure] = &[
    Measure {
        title: "Downtime during the rollout",
        title_ko: "롤아웃 중 다운타임",
        unit: "ms",
        value: |m| Some(m.downtime_ms as f64),
    },
    Measure {
        title: "Failed requests during the rollout",
        title_ko: "롤아웃 중 실패한 요청",
        unit: "requests",
        value: |m| Some(m.failed_requests as f64),
    },
    Measure {
        title: "p99 during the rollout",
        title_ko: "롤아웃 중 p99",
        unit: "ms",
        value: |m| m.p99_rollout_ms,
    },
    Measure {
        title: "First change to full rollout or rollback",
        title_ko: "첫 변경부터 전체 롤아웃 또는 롤백까지",
        unit: "s",
        value: |m| m.rollout_ms.map(|v| v as f64 / 1000.0),
    },
    Measure {
        title: "Candidate requests before the decision",
        title_ko: "결정 전 후보 버전 요청",
        unit: "requests",
        value: |m| Some(m.exposure_requests as f64),
    },
    Measure {
        title: "Peak pods per steady pod",
        title_ko: "평상시 파드 하나당 최대 파드 수",
        unit: "×",
        value: |m| m.peak_pods_per_steady,
    },
];

fn cell<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

fn outcome_text(m: &Measures) -> String {
    format!(
        "{} (expected {}){}",
        m.outcome.map_or("none", Outcome::as_str),
        m.expected.as_str(),
        if m.passed { "" } else { ", NOT AS EXPECTED" }
    )
}

impl Comparison {
    /// The comparison as pretty JSON (`compare.json`).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a comparison serializes")
    }

    /// `en` or `ko`, in the comparison's language.
    fn say<'a>(&self, en: &'a str, ko: &'a str) -> &'a str {
        match self.language {
            Language::English => en,
            Language::Korean => ko,
        }
    }

    /// The table as Markdown rows: header, then one row per scenario.
    fn table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let header_ko = vec![
            "시나리오",
            "결과",
            "다운타임 (ms)",
            "롤아웃 중 실패한 요청",
            "롤아웃 / 기준 p99 (ms)",
            "첫 변경부터 완료까지 (s)",
            "노출 (후보 버전 요청)",
            "평상시보다 많은 최대 파드, 배수 (계획)",
            "종료 중 파드를 포함한 최대 초과 파드",
            "결정부터 마지막 후보 요청까지 (ms)",
            "사용자가 본 실패한 요청",
            "무중단",
            "실제 트래픽 테스트",
            "대상 사용자 지정",
            "클라우드 비용",
            "롤백 소요 시간",
            "사용자 영향",
            "복잡도",
        ];
        let header_en = vec![
            "scenario",
            "outcome",
            "downtime (ms)",
            "failed requests in rollout",
            "p99 rollout / baseline (ms)",
            "first change to done (s)",
            "exposure (candidate requests)",
            "peak pods above steady, × steady (planned)",
            "peak pods above steady with terminating",
            "decision to last candidate request (ms)",
            "failed requests users saw",
            "zero downtime",
            "real traffic testing",
            "targeted users",
            "cloud cost",
            "rollback duration",
            "impact on users",
            "complexity",
        ];
        let header = match self.language {
            Language::English => header_en,
            Language::Korean => header_ko,
        };
        let rows = self
            .rows
            .iter()
            .map(|row| {
                let mut cells = vec![row.scenario.clone()];
                match &row.measures {
                    Some(m) => cells.extend([
                        outcome_text(m),
                        m.downtime_ms.to_string(),
                        m.failed_requests.to_string(),
                        format!(
                            "{} / {}",
                            cell(m.p99_rollout_ms.map(|v| format!("{v:.1}"))),
                            cell(m.p99_baseline_ms.map(|v| format!("{v:.1}")))
                        ),
                        cell(m.rollout_ms.map(|v| format!("{:.1}", v as f64 / 1000.0))),
                        m.exposure_requests.to_string(),
                        format!(
                            "{}, ×{} ({})",
                            cell(m.peak_pods_above_steady),
                            cell(m.peak_pods_per_steady.map(|r| format!("{r:.1}"))),
                            cell(m.planned_peak_pods_above_steady)
                        ),
                        cell(m.peak_pods_with_terminating_above_steady),
                        cell(m.decision_to_last_candidate_ms),
                        m.failed_requests_seen.to_string(),
                    ]),
                    None => {
                        cells.push(format!(
                            "{}: {}",
                            self.say("did not run", "실행되지 않음"),
                            row.error.as_deref().unwrap_or("unknown")
                        ));
                        cells.extend(std::iter::repeat_n("–".to_owned(), 9));
                    }
                }
                match &row.qualitative {
                    Some(q) => cells.extend(
                        [
                            &q.zero_downtime,
                            &q.real_traffic_testing,
                            &q.targeted_users,
                            &q.cloud_cost,
                            &q.rollback_duration,
                            &q.impact_on_users,
                            &q.complexity,
                        ]
                        .map(String::clone),
                    ),
                    None => cells.extend(std::iter::repeat_n("–".to_owned(), 7)),
                }
                cells
            })
            .collect();
        (header, rows)
    }

    /// A few sentences saying what the table shows, from its values.
    pub fn summary(&self) -> Vec<String> {
        let measured: Vec<(&str, &Measures)> = self
            .rows
            .iter()
            .filter_map(|r| r.measures.as_ref().map(|m| (r.scenario.as_str(), m)))
            .collect();
        let mut lines = Vec::new();
        let names = |f: &dyn Fn(&Measures) -> bool| {
            measured
                .iter()
                .filter(|(_, m)| f(m))
                .map(|(s, _)| *s)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let down = names(&|m| m.failed_requests > 0 && m.downtime_ms > 1000);
        if !down.is_empty() {
            lines.push(match self.language {
                Language::English => format!(
                    "Users saw the service down for over a second during the rollout of: {down}."
                ),
                Language::Korean => format!("롤아웃 중 1초 넘게 서비스가 중단된 시나리오: {down}."),
            });
        }
        let up = names(&|m| m.failed_requests == 0);
        if !up.is_empty() {
            lines.push(match self.language {
                Language::English => format!("No request failed during the rollout of: {up}."),
                Language::Korean => format!("롤아웃 중 실패한 요청이 없는 시나리오: {up}."),
            });
        }
        // The ratio as shown (one decimal), so that ties are those the
        // reader sees.
        let shown = |m: &Measures| m.peak_pods_per_steady.map(|r| (r * 10.0).round() as i64);
        if let Some(top) = measured.iter().filter_map(|(_, m)| shown(m)).max()
            && top > 10
        {
            let most = names(&|m| shown(m) == Some(top));
            let ratio = top as f64 / 10.0;
            lines.push(match self.language {
                Language::English => format!(
                    "Most pods for the fleet, terminating pods aside: {most}, {ratio:.1} times the steady state at once."
                ),
                Language::Korean => format!(
                    "종료 중 파드를 빼고 평상시 대비 파드를 가장 많이 띄운 시나리오: {most} (동시에 평상시의 {ratio:.1}배)."
                ),
            });
        }
        // Pods still terminating beyond the peak without them.
        let draining = |m: &Measures| match (
            m.peak_pods_with_terminating_above_steady,
            m.peak_pods_above_steady,
        ) {
            (Some(with), Some(without)) if with > without => Some(with),
            _ => None,
        };
        if let Some(top) = measured.iter().filter_map(|(_, m)| draining(m)).max() {
            let most = names(&|m| draining(m) == Some(top));
            lines.push(match self.language {
                Language::English => format!(
                    "Counting pods still terminating, {most} ran {top} more pods than the steady state at once: old pods draining while new ones start."
                ),
                Language::Korean => format!(
                    "종료 중인 파드까지 세면 {most}은(는) 평상시보다 파드를 동시에 {top}개 더 띄웠습니다. 새 파드가 뜨는 동안 이전 파드가 정리되고 있기 때문입니다."
                ),
            });
        }
        let rolled = names(&|m| m.outcome == Some(Outcome::RolledBack));
        if !rolled.is_empty() {
            lines.push(match self.language {
                Language::English => format!("Rolled back before full rollout: {rolled}; the exposure column is what the bad candidate served before the decision."),
                Language::Korean => format!("전체 롤아웃 전에 롤백된 시나리오: {rolled}. 노출 열은 결정 전에 잘못된 후보 버전이 처리한 요청입니다."),
            });
        }
        let failed: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.measures.is_none())
            .map(|r| r.scenario.as_str())
            .collect();
        if !failed.is_empty() {
            lines.push(format!(
                "{}: {}.",
                self.say("Did not run", "실행되지 않음"),
                failed.join(", ")
            ));
        }
        lines
    }

    /// The comparison as Markdown (`compare.md`).
    pub fn markdown(&self) -> String {
        let mut out = match self.language {
            Language::English => format!(
                "# Strategies compared\n\nProfile `{}` on the `{}` platform, comparison `{}`.\n\n",
                self.profile, self.platform, self.id
            ),
            Language::Korean => format!(
                "# 배포 전략 비교\n\n프로필 `{}`, 플랫폼 `{}`, 비교 `{}`.\n\n",
                self.profile, self.platform, self.id
            ),
        };
        for line in self.summary() {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
        let (header, rows) = self.table();
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
        for row in rows {
            let _ = writeln!(out, "| {} |", row.join(" | ").replace('\n', " "));
        }
        let _ = write!(
            out,
            "\n{}\n\n## {}\n\n",
            self.note(),
            self.say("Runs", "실행")
        );
        for row in &self.rows {
            match &row.run {
                Some(run) => {
                    let _ = writeln!(out, "- {}: [{}]({})", row.scenario, run.run_id, run.report);
                }
                None => {
                    let _ = writeln!(
                        out,
                        "- {}: {}",
                        row.scenario,
                        self.say("did not run", "실행되지 않음")
                    );
                }
            }
        }
        out
    }

    fn note(&self) -> &'static str {
        self.say(
            "The last seven columns are the reference README's opinions, not measures.",
            "마지막 일곱 열은 참고 README의 의견이며 측정값이 아닙니다.",
        )
    }

    /// One bar chart per measure, as standalone SVG documents.
    pub fn charts(&self) -> Vec<(String, String)> {
        MEASURES
            .iter()
            .map(|measure| {
                let bars: Vec<(&str, Option<f64>)> = self
                    .rows
                    .iter()
                    .map(|r| {
                        (
                            r.scenario.as_str(),
                            r.measures.as_ref().and_then(measure.value),
                        )
                    })
                    .collect();
                let title = self.say(measure.title, measure.title_ko);
                (title.to_owned(), bar_chart(title, measure.unit, &bars))
            })
            .collect()
    }

    /// The comparison as one self-contained HTML page (`compare.html`).
    pub fn html(&self) -> String {
        let title = self.say("Strategies compared", "배포 전략 비교");
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{title}</title><style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head><body>\n<h1>{title}</h1>\n",
            self.language.code()
        );
        let _ = writeln!(
            out,
            "<p>{} <code>{}</code>, {} <code>{}</code>, {} <code>{}</code>.</p>",
            self.say("Profile", "프로필"),
            xml::text(&self.profile),
            self.say("platform", "플랫폼"),
            xml::text(&self.platform),
            self.say("comparison", "비교"),
            xml::text(&self.id)
        );
        for line in self.summary() {
            let _ = writeln!(out, "<p>{}</p>", xml::text(&line));
        }
        let (header, rows) = self.table();
        out.push_str("<table><tr>");
        for h in header {
            let _ = write!(out, "<th>{}</th>", xml::text(h));
        }
        out.push_str("</tr>\n");
        for (row, cells) in self.rows.iter().zip(rows) {
            out.push_str("<tr>");
            for (i, c) in cells.iter().enumerate() {
                match (&row.run, i) {
                    (Some(run), 0) => {
                        let _ = write!(
                            out,
                            "<td><a href=\"{}\">{}</a></td>",
                            xml::attr(&run.report),
                            xml::text(c)
                        );
                    }
                    _ => {
                        let _ = write!(out, "<td>{}</td>", xml::text(c));
                    }
                }
            }
            out.push_str("</tr>\n");
        }
        let _ = writeln!(out, "</table>\n<p>{}</p>", xml::text(self.note()));
        for (title, svg) in self.charts() {
            let _ = writeln!(
                out,
                "<h2>{}</h2>\n{}",
                xml::text(&title),
                svg.replace(crate::charts::SVG_NAMESPACE, "")
            );
        }
        out.push_str("</body></html>\n");
        out
    }
}

/// A horizontal bar chart, one bar per scenario, in the reports' fonts and
/// colours.
fn bar_chart(title: &str, unit: &str, bars: &[(&str, Option<f64>)]) -> String {
    const ROW: f64 = 24.0;
    const LABEL: f64 = 160.0;
    const TOP: f64 = 30.0;
    let height = TOP + ROW * bars.len() as f64 + 10.0;
    let max = bars
        .iter()
        .filter_map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let plot = WIDTH - LABEL - 120.0;
    let mut svg = format!(
        "<svg{} width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"{}\" font-size=\"12\">",
        crate::charts::SVG_NAMESPACE,
        xml::attr(FONT)
    );
    let _ = write!(
        svg,
        "<text x=\"4\" y=\"18\" fill=\"{TEXT}\" font-size=\"14\">{} ({})</text>",
        xml::text(title),
        unit
    );
    for (i, (name, value)) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let _ = write!(
            svg,
            "<line x1=\"{LABEL}\" x2=\"{LABEL}\" y1=\"{y}\" y2=\"{}\" stroke=\"{GRID}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{TEXT}\">{}</text>",
            y + ROW,
            LABEL - 6.0,
            y + 16.0,
            xml::text(name)
        );
        match value {
            Some(v) => {
                let w = plot * v / max;
                let _ = write!(
                    svg,
                    "<rect x=\"{LABEL}\" y=\"{}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{}\" fill=\"{MUTED}\">{}</text>",
                    y + 4.0,
                    ROW - 8.0,
                    COLOURS[i % COLOURS.len()],
                    LABEL + w + 6.0,
                    y + 16.0,
                    format_value(*v)
                );
            }
            None => {
                let _ = write!(
                    svg,
                    "<text x=\"{}\" y=\"{}\" fill=\"{MUTED}\">–</text>",
                    LABEL + 6.0,
                    y + 16.0
                );
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
