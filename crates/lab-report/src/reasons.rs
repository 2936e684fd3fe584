//! Why a decision or a gate went as it did, in each language. lab-core says
//! it in English (a decision's `reason`, a gate's `explanation`), which the
//! English table gives as it is; the Korean table tells it again from the
//! structured fields: the decision's cause and gates, a gate's verdict,
//! measurement, threshold, samples and evidence. Where a reason is only free
//! text (the platform's words for what was not ready), Korean names what the
//! fields hold instead (the Deployments waited for).

use crate::document::messages::{confidence, value};
use crate::i18n::Localized;
use lab_core::analysis::{
    Bad, Comparison, Counted, Decision, DecisionCause, GateName, GateVerdict, Gates,
    SLOWER_THAN_P99_LIMIT, Sensitivity, Verdict,
};

/// Why something went as it did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Why<'a> {
    /// Why the decision went so.
    Decision {
        decision: &'a Decision,
        thresholds: &'a Gates,
    },
    /// Why a gate has its verdict.
    Gate {
        gate: &'a GateVerdict,
        thresholds: &'a Gates,
    },
}

impl Localized for Why<'_> {
    fn english(&self) -> String {
        match self {
            Why::Decision { decision, .. } => decision.reason.clone(),
            Why::Gate { gate, .. } => gate.explanation.clone(),
        }
    }

    fn korean(&self) -> String {
        match self {
            Why::Decision {
                decision,
                thresholds,
            } => reason(decision, thresholds),
            Why::Gate { gate, thresholds } => explanation(gate, thresholds),
        }
    }
}

fn comparison(c: Comparison) -> &'static str {
    match c {
        Comparison::AtLeast => "≥",
        Comparison::AtMost => "≤",
        Comparison::Inside => "범위",
    }
}

/// The comparison a measurement broke.
fn broken(c: Comparison) -> &'static str {
    match c {
        Comparison::AtLeast => "<",
        Comparison::AtMost => ">",
        Comparison::Inside => "범위 밖",
    }
}

/// What a gate measured, with its value: `성공률 77.27%`, `p99 12.2 ms`.
fn measured(gate: &GateVerdict, measured: f64) -> String {
    let v = value(Some(measured), gate.unit);
    match gate.gate {
        GateName::SuccessRate => match &gate.evidence {
            Some(e) => format!("성공률 {v} ({}/{})", e.count, e.total),
            None => format!("성공률 {v}"),
        },
        GateName::P99Latency | GateName::P99VsBaseline => format!("p99 {v}"),
        GateName::Restarts => format!("{} 재시작 {v}회", gate.version),
    }
}

/// Why a gate has its verdict, from its fields.
fn explanation(gate: &GateVerdict, thresholds: &Gates) -> String {
    let Some(m) = gate.measured else {
        return if gate.verdict == Verdict::NotApplicable {
            "비교할 baseline 버전이 없거나 그 구간에 baseline 트래픽이 없었습니다".to_string()
        } else if gate.samples == 0 {
            format!("{}에 도달한 요청이 없습니다", gate.version)
        } else {
            format!(
                "{}의 요청 {}개에 지연 시간 요약이 없습니다",
                gate.version, gate.samples
            )
        };
    };
    let what = measured(gate, m);
    let threshold = value(gate.threshold, gate.unit);
    let evidence = gate.evidence.as_ref();
    // The Wilson bound that settles a failure with few requests: the upper
    // bound of the successes, the lower bound of the slow answers.
    let decisive = evidence.filter(|e| match e.counted {
        Counted::Successes => e.interval.high < e.limit,
        Counted::SlowerThanMaxP99 | Counted::SlowerThanBaselineLimit => {
            e.interval.low > SLOWER_THAN_P99_LIMIT
        }
    });
    match gate.verdict {
        Verdict::Fail => match decisive {
            Some(e) if e.counted == Counted::Successes => format!(
                "{what}: {} 신뢰구간의 상한 {:.2}%도 {:.2}%보다 낮습니다",
                confidence(e.confidence),
                e.interval.high * 100.0,
                e.limit * 100.0
            ),
            Some(e) => format!(
                "요청 {}개 중 {}개가 기준 {threshold}보다 느림: {} 신뢰구간의 하한 {:.2}%도 {:.2}%를 넘습니다",
                e.total,
                e.count,
                confidence(e.confidence),
                e.interval.low * 100.0,
                e.limit * 100.0
            ),
            None => format!("{what} {} {threshold}", broken(gate.comparison)),
        },
        Verdict::Inconclusive if gate.gate == GateName::P99VsBaseline => format!(
            "{what}, 기준 {threshold}: 두 버전 중 요청이 적은 쪽이 {}개로, 버전마다 필요한 {}개에 못 미칩니다",
            gate.samples, thresholds.min_samples
        ),
        Verdict::Inconclusive => format!(
            "{what}: 요청 {}개로 필요한 {}개에 못 미칩니다",
            gate.samples, thresholds.min_samples
        ),
        Verdict::Pass => match evidence {
            Some(e)
                if gate.gate == GateName::P99VsBaseline
                    && gate.threshold.is_some_and(|t| m > t) =>
            {
                format!(
                    "{what} > {threshold}이지만, 요청 {}개 중 느린 {}개로는 {:.2}%를 넘는다는 근거가 되지 않습니다 ({} 신뢰구간의 하한 {:.2}%)",
                    e.total,
                    e.count,
                    e.limit * 100.0,
                    confidence(e.confidence),
                    e.interval.low * 100.0
                )
            }
            _ => format!(
                "{what} {} {threshold}{}",
                comparison(gate.comparison),
                unresolved_note(gate)
            ),
        },
        Verdict::NotApplicable => format!("{what}: 해당 없음"),
    }
}

/// The words a passing gate adds when its sample cannot resolve its threshold,
/// as lab-core's English explanation does ("; passed, but …").
fn unresolved_note(gate: &GateVerdict) -> String {
    match &gate.sensitivity {
        Some(s) if !s.resolved => format!("; 통과했지만 {}", detectable(s)),
        _ => String::new(),
    }
}

/// Why the decision went so, from its cause and the gates it was taken from.
fn reason(decision: &Decision, thresholds: &Gates) -> String {
    let with = |verdict: Verdict| -> Vec<&GateVerdict> {
        decision
            .gates
            .iter()
            .filter(|g| g.verdict == verdict)
            .collect()
    };
    match &decision.cause {
        DecisionCause::AllGatesPassed => {
            let passed: Vec<&str> = with(Verdict::Pass)
                .iter()
                .map(|g| g.gate.as_str())
                .collect();
            let skipped: Vec<&str> = with(Verdict::NotApplicable)
                .iter()
                .map(|g| g.gate.as_str())
                .collect();
            let mut reason = format!("모든 게이트 통과: {}", passed.join(", "));
            if !skipped.is_empty() {
                reason.push_str(&format!(" ({} 해당 없음)", skipped.join(", ")));
            }
            reason
        }
        DecisionCause::GatesFailed { .. } => {
            let details: Vec<String> = with(Verdict::Fail)
                .iter()
                .map(|g| format!("{} ({})", g.gate, explanation(g, thresholds)))
                .collect();
            format!("실패: {}", details.join("; "))
        }
        DecisionCause::Inconclusive { gates } if gates.is_empty() => {
            "판단 보류: 적용된 게이트가 없어 후보 버전을 뒷받침할 근거가 없습니다".to_string()
        }
        DecisionCause::Inconclusive { .. } => {
            let details: Vec<String> = with(Verdict::Inconclusive)
                .iter()
                .map(|g| {
                    if g.samples < thresholds.min_samples {
                        format!(
                            "{}의 표본 {}개 < {}개",
                            g.gate, g.samples, thresholds.min_samples
                        )
                    } else {
                        format!("{} ({})", g.gate, explanation(g, thresholds))
                    }
                })
                .collect();
            format!("판단 보류: {}", details.join("; "))
        }
        DecisionCause::ProgressDeadline { waited_for } => format!(
            "진행 기한(progress deadline) 초과: {} Deployment가 준비되지 않았습니다",
            waited_for.join(", ")
        ),
    }
}

/// What a gate's sample can and cannot rule out, in Korean (the English is
/// [`Sensitivity::describe`]).
pub(crate) fn detectable(s: &Sensitivity) -> String {
    let what = match s.counted {
        Bad::Errors => "오류율",
        Bad::Slow => "느린 응답의 비율",
    };
    let needed = s
        .requests_needed
        .map(|n| {
            format!(
                "; {:.2}%와 {:.2}%를 구별하려면 요청 {n}개가 필요합니다",
                s.allowed * 100.0,
                s.allowed * 200.0
            )
        })
        .unwrap_or_default();
    format!(
        "요청 {}개로는 {what}이 {:.2}%까지일 가능성을 배제할 수 없습니다{needed}",
        s.total,
        s.cannot_rule_out * 100.0
    )
}
