//! The terminal's messages in Korean, in the tutorial's words: Kubernetes
//! terms (Deployment, Service, pod, replicas) stay as the tutorial writes them.

use super::columns::{CONTINUATION, pad};
use super::messages::{Message, ShareLine, duration};
use crate::i18n::Localized;
use crate::terms::Term;
use lab_core::analysis::{Outcome, Verdict};
use lab_core::object::{Object, ObjectKind};
use lab_core::plan::{OnTimeout, Step};
use lab_core::report::Section;

fn outcome(o: Outcome) -> String {
    Term::Outcome(o).korean()
}

fn verdict(v: Verdict) -> String {
    Term::Verdict(v).korean()
}

fn percent(x: Option<f64>) -> String {
    x.map_or("–".to_string(), |x| format!("{:.1}%", x * 100.0))
}

fn share(s: &ShareLine<'_>) -> String {
    format!(
        "{} {} (예상 {}, {})",
        s.version,
        percent(s.observed),
        percent(s.expected),
        verdict(s.verdict)
    )
}

fn kind(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Deployment => "Deployment",
        ObjectKind::Service => "Service",
        ObjectKind::Gateway => "Gateway",
        ObjectKind::HttpRoute => "HTTPRoute",
    }
}

fn object(object: &Object) -> String {
    match (object.replicas(), object.version()) {
        (Some(replicas), Some(version)) => format!(
            "{} {} ({version} pod {replicas}개)",
            object.name(),
            kind(object.kind())
        ),
        _ => format!("{} {}", object.name(), kind(object.kind())),
    }
}

/// What a step does, as the tutorial would say it.
pub(super) fn describe_step(step: &Step) -> String {
    match step {
        Step::Apply { file, objects } => {
            let objects: Vec<String> = objects.iter().map(object).collect();
            format!("{file} 적용: {}", objects.join(", "))
        }
        Step::Scale {
            deployment,
            replicas,
        } => format!("{deployment} Deployment의 replicas를 {replicas}개로 조정"),
        Step::Delete { kind: k, name } => format!("{name} {} 삭제", kind(*k)),
        Step::SwitchSelector { service, selector } => {
            let selector: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "{service} Service의 트래픽을 {} 라벨의 pod로 보냄",
                selector.join(",")
            )
        }
        Step::WaitReady {
            deployments,
            timeout,
            on_timeout,
        } => {
            let otherwise = match on_timeout {
                OnTimeout::RollBack => {
                    "넘기면 진행 기한(progress deadline)을 넘긴 것으로 보고 롤백"
                }
                OnTimeout::Fail => "넘기면 실행 실패",
            };
            format!(
                "{} Deployment의 rollout이 끝나 모든 pod가 준비될 때까지 대기 (최대 {}, {otherwise})",
                deployments.join(", "),
                duration(timeout.as_millis() as u64)
            )
        }
        Step::Observe {
            phase, duration: d, ..
        } => format!(
            "`{phase}` 구간을 {} 동안 관찰",
            duration(d.as_millis() as u64)
        ),
        Step::Analyze {
            phase,
            duration: d,
            interval,
            ..
        } => format!(
            "`{phase}` 구간을 {} 동안 분석하며 {}마다 게이트 확인: 승격 또는 롤백",
            duration(d.as_millis() as u64),
            duration(interval.as_millis() as u64)
        ),
    }
}

pub(super) fn say(message: &Message<'_>) -> String {
    match message {
        Message::Header {
            scenario,
            description,
            platform,
            profile,
            rate,
            expected,
        } => format!(
            "{scenario}: {description} — 플랫폼 {platform}, 프로파일 {profile} (초당 요청 {rate}개); 예상 결과: {}",
            outcome(*expected)
        ),
        Message::RunDirectory(dir) => format!("실행 디렉터리 {dir}"),
        Message::StepStarted {
            number,
            description,
            step,
            kubectl,
        } => {
            let number = match number.section {
                Section::Main => format!("{}단계", number.index),
                Section::Rollback => format!("롤백 {}단계", number.index),
            };
            let description = step.map_or_else(|| description.to_string(), describe_step);
            format!("{number}: {description}\n{CONTINUATION}$ {kubectl}")
        }
        Message::StepFailed(message) => format!("  실패: {message}"),
        Message::Traffic {
            rate,
            url,
            keep_alive: None,
        } => format!("트래픽: {url}에 초당 요청 {rate}개, 요청마다 새 연결"),
        Message::Traffic {
            rate,
            url,
            keep_alive: Some(n),
        } => format!("트래픽: {url}에 초당 요청 {rate}개, keep-alive 연결 {n}개로"),
        Message::PhaseOpened { name, planned_ms } => {
            format!("{name} 구간 시작 ({:.0}초)", *planned_ms as f64 / 1000.0)
        }
        Message::PhaseClosed {
            name,
            answered,
            failed,
        } => {
            let split: Vec<String> = answered
                .iter()
                .map(|a| format!("{} {}개 ({:.1}%)", a.version, a.count, a.percent))
                .collect();
            format!("{name} 구간 끝: {}; 실패 {failed}개", split.join(", "))
        }
        Message::Interim(look) => format!("  게이트: {}", Term::Interim(*look).korean()),
        Message::Decision { outcome: o, reason } => {
            format!("결정: {}: {reason}", outcome(*o))
        }
        Message::Note(message) => format!("참고: {message}"),
        Message::PlatformEvent { object, message } => format!("  {object}: {message}"),
        Message::LiveStep(step) => format!("▶ {}", step.unwrap_or("시작하는 중")),
        Message::PhaseTimer {
            name,
            kind,
            elapsed_ms,
            planned_ms,
        } => format!(
            "  {name} 구간 ({})  {:.1}초 / {:.0}초",
            Term::WindowKind(*kind).korean(),
            *elapsed_ms as f64 / 1000.0,
            *planned_ms as f64 / 1000.0
        ),
        Message::TransitionTimer { name, elapsed_ms } => {
            format!("  전환 {name}  {:.1}초", *elapsed_ms as f64 / 1000.0)
        }
        Message::NoTraffic => "  아직 트래픽 없음".to_string(),
        Message::VersionCounts {
            share,
            requests,
            errors,
            ready,
        } => format!(
            " {:>5.1}%  응답 {requests:>7}  오류 {errors:>4}  준비된 pod {ready:>2}",
            share * 100.0
        ),
        Message::Errors { errors, failed } => {
            format!("  오류 {errors}개, 응답 없음 {failed}개")
        }
        Message::SummaryPhase { name, shares } => {
            let shares: Vec<String> = shares.iter().map(share).collect();
            format!("{} {}", pad(&format!("{name} 구간"), 15), shares.join("; "))
        }
        Message::SummaryGate {
            gate,
            verdict: v,
            explanation,
        } => format!(
            "  게이트 {} {} {explanation}",
            pad(gate, 16),
            pad(&verdict(*v), 12)
        ),
        // The facts told again, in the Korean report's title's words.
        Message::Title {
            scenario,
            reached,
            expected,
            passed,
            report_title: _,
        } => format!(
            "{scenario}: {} (예상 {}), {}",
            reached.map_or_else(|| "결정 없음".to_string(), outcome),
            outcome(*expected),
            if *passed {
                "통과"
            } else {
                "통과하지 못함"
            }
        ),
        Message::Decided {
            time_to_decision_ms,
            intervals,
        } => format!(
            "  후보 버전이 응답을 시작한 (또는 적용된) 뒤 {:.1}초 만에, 분석 주기 {intervals}번이 지나 결정했습니다",
            *time_to_decision_ms as f64 / 1000.0
        ),
        Message::ReportAt(path) => format!("  리포트: {path}"),
        Message::ReportMdAt(path) => {
            format!("          {path} (junit.xml과 SVG 차트도 함께 있습니다)")
        }
    }
}
