//! The live page's words in Korean, in the tutorial's words: Kubernetes
//! terms (pod, Prometheus, Grafana) stay as the tutorial writes them.

use super::messages::Text;
use crate::i18n::Localized;
use crate::terms::Term;

pub(super) fn say(text: &Text<'_>) -> String {
    match *text {
        Text::Live => "실시간".into(),
        Text::Ended => "종료".into(),
        Text::Starting => "시작하는 중".into(),
        Text::NoTrafficYet => "아직 트래픽 없음".into(),
        Text::Phase { name, kind } => {
            format!("{name} 구간 ({})", Term::WindowKind(kind).korean())
        }
        Text::Transition(name) => format!("전환 {name}"),
        Text::RunTime => "실행 시간".into(),
        Text::Undecided => "아직 결정 전: 게이트는 분석 구간에서 판단합니다.".into(),
        Text::Outcome(o) => Term::Outcome(o).korean(),
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
        Text::Interim(v) => Term::Interim(v).korean(),
        Text::Verdict(v) => Term::Verdict(v).korean(),
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
