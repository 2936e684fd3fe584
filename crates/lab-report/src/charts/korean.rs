//! The charts' words in Korean, in the tutorial's words: pod, Service and
//! Prometheus stay as the tutorial writes them.

use super::messages::{Message, StepLabel};
use crate::i18n::Localized;
use crate::terms::Term;

fn step(label: &StepLabel) -> String {
    match label {
        StepLabel::Apply { file } => format!("{file} 적용"),
        StepLabel::Scale { target, replicas } => format!("{target} replicas {replicas}개로 조정"),
        StepLabel::Delete { name } => format!("{name} 삭제"),
        StepLabel::Switch {
            service,
            version: Some(version),
        } => format!("{service} 트래픽 → {version}"),
        StepLabel::Switch {
            service,
            version: None,
        } => format!("{service} 전환"),
    }
}

pub(super) fn say(message: &Message<'_>) -> String {
    match message {
        Message::RequestsTitle => "버전별 초당 요청 (클라이언트)".into(),
        Message::RequestsSubtitle { window } if *window > 1 => {
            format!("클라이언트가 센 초당 응답, {window}초 이동 평균")
        }
        Message::RequestsSubtitle { .. } => "클라이언트가 센 초당 응답".into(),
        Message::ServerTitle => "버전별 초당 요청 (Prometheus)".into(),
        Message::ServerSubtitle { query, every } => format!("{query}, {every}마다"),
        Message::RampUp { range } => {
            format!("; 실행이 {range} 범위보다 짧아 처음에는 비율이 서서히 오릅니다")
        }
        Message::ShareTitle => "버전별 트래픽 비율".into(),
        Message::ShareSubtitle { window } if *window > 1 => {
            format!("전체 응답 중 버전별 응답, {window}초 구간; 점선: 준비된 pod의 비율")
        }
        Message::ShareSubtitle { .. } => {
            "전체 응답 중 버전별 응답, 초마다; 점선: 준비된 pod의 비율".into()
        }
        Message::ErrorsTitle => "버전별 초당 오류".into(),
        Message::ErrorsSubtitle => "초당 4xx, 5xx 응답과 실패한 요청".into(),
        Message::ReadyTitle => "버전별 준비된 pod".into(),
        Message::ReadySubtitle => "실행 중에 샘플링한 Service의 준비된 엔드포인트".into(),
        Message::RequestsPerSecond => "초당 요청".into(),
        Message::ShareOfAnswers => "응답 비율 (%)".into(),
        Message::ErrorsPerSecond => "초당 오류".into(),
        Message::ReadyPods => "준비된 pod".into(),
        Message::TimeSinceStart => "실행 시작 후 시간".into(),
        Message::NoTraffic => "기록된 트래픽이 없습니다".into(),
        Message::NoPrometheusPoints => "Prometheus가 데이터를 돌려주지 않았습니다".into(),
        Message::NoReadyEndpoints => "샘플링된 준비된 엔드포인트가 없습니다".into(),
        Message::NoErrors => "오류 없음".into(),
        Message::ReadyShare => "준비된 pod의 비율".into(),
        Message::NoAnswer => "응답 없음 (버전 모름)".into(),
        Message::ObservedPhase => "관찰 구간".into(),
        Message::AnalyzedPhase => "분석 구간".into(),
        Message::Step => "단계".into(),
        Message::Decision => "결정".into(),
        Message::AnalyzeSuffix => " (분석)".into(),
        Message::Decided(outcome) => format!("결정: {}", Term::Outcome(*outcome).korean()),
        Message::StepLabel(label) => step(label),
    }
}
