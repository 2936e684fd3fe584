//! The report's words in Korean, in the tutorial's words: Kubernetes terms
//! (pod, Deployment, Service) and Prometheus stay as the tutorial writes them.
//! A decision's reason and a gate's explanation are told from their fields
//! (`crate::reasons`).

use super::messages::{Column, Message, Section, confidence, duration_text, seconds};
use crate::i18n::Localized;
use crate::reasons::{Why, detectable};
use crate::terms::Term;
use lab_core::analysis::{Counted, Outcome};
use lab_core::report::RunStatus;

fn outcome(o: Outcome) -> String {
    Term::Outcome(o).korean()
}

fn section(s: Section) -> &'static str {
    match s {
        Section::Decision => "결정",
        Section::Charts => "차트",
        Section::Phases => "구간",
        Section::Gates => "게이트",
        Section::Routes => "경로",
        Section::CrossCheck => "클라이언트와 Prometheus 비교",
        Section::Steps => "단계",
        Section::Events => "플랫폼 이벤트",
        Section::Notes => "참고",
    }
}

fn column(c: Column) -> &'static str {
    match c {
        Column::Version => "버전",
        Column::Requests => "요청",
        Column::Share => "비율",
        Column::Interval => "신뢰구간",
        Column::Expected => "예상",
        Column::Split => "분배",
        Column::Errors => "오류",
        Column::P50 => "p50",
        Column::P99 => "p99",
        Column::Gate => "게이트",
        Column::Verdict => "판정",
        Column::Measured => "측정값",
        Column::Threshold => "기준",
        Column::Samples => "표본",
        Column::Source => "출처",
        Column::Phase => "구간",
        Column::Clients => "클라이언트",
        Column::Prometheus => "Prometheus",
        Column::Class => "클래스",
        Column::Answers => "응답",
        Column::Mirrored => "미러링",
        Column::Difference => "차이",
        Column::Allowed => "허용",
        Column::Query => "쿼리",
        Column::Number => "#",
        Column::Step => "단계",
        Column::Kubectl => "kubectl",
        Column::At => "시작",
        Column::Took => "소요",
        Column::Result => "결과",
        Column::Reason => "이유",
        Column::Object => "오브젝트",
        Column::Message => "메시지",
    }
}

pub(super) fn say(message: &Message<'_>) -> String {
    match message {
        Message::Heading(s) => section(*s).to_string(),
        Message::Column(c) => column(*c).to_string(),
        Message::Title {
            scenario,
            reached,
            expected,
            passed,
        } => format!(
            "{scenario}: {} (예상 {}), {}",
            reached.map_or_else(|| "결정 없음".to_string(), outcome),
            outcome(*expected),
            if *passed { "통과" } else { "통과하지 못함" }
        ),
        Message::Run => "실행 ".to_string(),
        Message::Started(at) => format!(", 시작 {at}"),
        Message::PlatformProfile {
            platform,
            profile,
            proxy_sync_delay,
        } => match proxy_sync_delay {
            Some(delay) => format!(
                "플랫폼 {platform}, 프로파일 {profile}, 프록시 동기화 지연 {delay} (엔드포인트에서 빠진 pod도 이 시간 동안 새 연결을 받았습니다)"
            ),
            None => format!("플랫폼 {platform}, 프로파일 {profile}"),
        },
        Message::Status(status) => format!(
            "상태: {}",
            match status {
                RunStatus::Completed => "완료".to_string(),
                RunStatus::Interrupted => "중단됨".to_string(),
                RunStatus::Failed { error } => format!("실패: {error}"),
            }
        ),
        Message::Versions {
            baseline,
            candidate,
        } => format!(
            "버전: baseline {}, 후보 {candidate}",
            baseline.unwrap_or("–")
        ),
        Message::Pods(pods) => {
            let mut line = match pods.steady {
                Some(steady) => format!("파드: 기준 구간 {steady}개"),
                None => "파드: 기준 구간에서 표본 없음".to_owned(),
            };
            if let Some(serving) = pods.peak_serving {
                line.push_str(&format!(", 종료 중이 아닌 파드 동시 최대 {serving}개"));
                if let Some(ratio) = pods.serving_per_steady() {
                    line.push_str(&format!(" (기준의 {ratio:.1}배)"));
                }
            }
            line.push_str(&format!(
                ", 종료 중 파드 포함 최대 {}개 ({}에 처음)",
                pods.peak,
                seconds(pods.peak_at_ms)
            ));
            line
        }
        Message::Prometheus => "Prometheus: ".to_string(),
        Message::QueriedAt => "조회 주소 ".to_string(),
        Message::Queried => "조회함".to_string(),
        Message::ClientOnly => "사용할 수 없음: 클라이언트 측 측정값만 있습니다".to_string(),
        Message::NoDecision(status) => match status {
            RunStatus::Completed => "결정에 이르지 못했습니다.".to_string(),
            RunStatus::Interrupted => "결정에 이르지 못했습니다: 실행이 중단되었습니다.".to_string(),
            RunStatus::Failed { error } => {
                format!("결정에 이르지 못했습니다: 실행이 실패했습니다: {error}.")
            }
        },
        Message::Outcome(o) => outcome(*o),
        Message::Reason {
            decision,
            thresholds,
        } => format!(
            ": {}",
            Why::Decision {
                decision,
                thresholds
            }
            .korean()
        ),
        Message::Decided {
            decided_at_ms,
            time_to_decision_ms,
            intervals,
            window,
            passed,
            expected,
        } => {
            let expected = if *passed {
                format!("시나리오가 예상한 결과입니다 ({}).", outcome(*expected))
            } else {
                format!("시나리오가 예상한 결과는 {}입니다.", outcome(*expected))
            };
            format!(
                "실행 {} 시점, 후보 버전이 응답을 시작한 (또는 적용된) 뒤 {} 만에, {}분석 주기 {intervals}번이 지나 결정했습니다. {expected}",
                seconds(*decided_at_ms),
                seconds(*time_to_decision_ms),
                window.map_or(String::new(), |w| format!("{w} 구간의 ")),
            )
        }
        Message::NoTraffic => "측정된 트래픽이 없습니다.".to_string(),
        Message::PhasesIntro { confidence: c } => format!(
            "각 버전이 받은 응답의 비율과 그 {} Wilson 신뢰구간을, 준비된 pod 수로 예상한 비율과 비교합니다. 전환 구간(구간 사이의 단계)은 보여 주기만 하고 판정하지 않습니다.",
            confidence(*c)
        ),
        Message::Window {
            name,
            kind,
            length_ms,
            start_ms,
        } => format!(
            "{name} ({}, {}부터 {} 동안)",
            Term::WindowKind(*kind).korean(),
            seconds(*start_ms),
            seconds(*length_ms)
        ),
        Message::Downtime {
            longest_ms,
            start_ms,
        } => format!(
            "다운타임: 성공한 응답이 없었던 가장 긴 시간은 {}입니다 ({} 시점부터).",
            duration_text(*longest_ms),
            seconds(*start_ms)
        ),
        Message::NoDowntime => "다운타임: 없음.".to_string(),
        Message::Unanswered {
            total,
            refused,
            reset,
            timeout,
            other,
            unattributed,
        } => format!(
            "응답 없는 요청: {total}개 (연결 거부 {refused}, 연결 재설정 {reset}, 시간 초과 {timeout}, 기타 {other}; 버전을 알 수 없는 요청 {unattributed}개)."
        ),
        Message::Restarts(restarts) => {
            let restarts: Vec<String> = restarts
                .iter()
                .map(|(v, n)| format!("{v}: {n}회"))
                .collect();
            format!("컨테이너 재시작: {}.", restarts.join(", "))
        }
        Message::Source(source) => match *source {
            "client" => "클라이언트 측 집계".to_string(),
            "platform" => "플랫폼이 보고한 컨테이너 재시작".to_string(),
            "gateway" => "미러 대상이 복사본에 보낸 응답(로컬 게이트웨이가 집계)".to_string(),
            "prometheus" => "미러 대상이 복사본에 보낸 응답(Prometheus에 수집된 미러 대상의 메트릭)".to_string(),
            other => other.to_string(),
        },
        Message::Explanation { gate, thresholds } => {
            format!(": {}", Why::Gate { gate, thresholds }.korean())
        }
        Message::Sensitivity(s) => format!(
            " (표본으로 알 수 있는 것: {}{})",
            detectable(s),
            if s.resolved {
                ""
            } else {
                "; 기준을 가리기에는 부족합니다"
            }
        ),
        Message::Evidence(e) => {
            let counted = match e.counted {
                Counted::Successes => "성공",
                Counted::SlowerThanMaxP99 => "p99 기준보다 느린 응답",
                Counted::SlowerThanBaselineLimit => "baseline의 p99로 정한 기준보다 느린 응답",
            };
            format!(
                " (근거: {}개 중 {counted} {}개, {} Wilson 신뢰구간 {:.2}–{:.2}%, 기준 {:.2}%)",
                e.total,
                e.count,
                confidence(e.confidence),
                e.interval.low * 100.0,
                e.interval.high * 100.0,
                e.limit * 100.0
            )
        }
        Message::GatesIntro(t) => format!(
            "후보 버전은 분석 구간에서 판정합니다: 성공률 ≥ {:.2}%, p99 ≤ {:.0} ms, p99 ≤ max(baseline의 {}배, baseline + {:.0} ms), 재시작 최대 {}회; 요청이 {}개보다 적으면 어떤 게이트도 통과하지 않습니다.",
            t.min_success_rate * 100.0,
            t.max_p99_ms,
            t.max_p99_ratio,
            t.p99_ratio_allowance_ms,
            t.max_restarts,
            t.min_samples
        ),
        Message::PhaseGates => String::new(),
        Message::OverTraffic { length_ms } => {
            format!(" 구간, 트래픽 {} 동안:", seconds(*length_ms))
        }
        Message::AtDecision { decided_at_ms } => {
            format!("결정 시점 (실행 {} 시점):", seconds(*decided_at_ms))
        }
        Message::NoGates => {
            "판정한 게이트가 없습니다: 실행이 분석 구간에 이르지 못했습니다.".to_string()
        }
        Message::RoutesIntro => "게이트웨이를 거친 트래픽입니다. 요청 클래스마다 어느 버전이 응답했는지를 경로가 보낸 곳과 비교하고(다른 곳의 응답이 하나라도 있으면 실패), 버전으로 미러링된 요청의 비율을 경로가 정한 비율과 비교합니다. 클라이언트는 복사본을 보지 못하므로 복사본은 로컬 게이트웨이가 세거나, 미러 대상의 Prometheus 메트릭에서 셉니다(추정치이므로 허용 오차를 둡니다).".to_string(),
        Message::CrossCheckIntro { available: true } => {
            "각 버전이 응답한 요청 수를, 클라이언트가 센 값과 같은 구간에 대한 Prometheus의 increase()로 본 값으로 비교합니다.".to_string()
        }
        Message::CrossCheckIntro { available: false } => {
            "Prometheus를 사용할 수 없어 클라이언트의 집계를 서버의 집계와 비교하지 못했습니다.".to_string()
        }
        Message::StepOk => "성공".to_string(),
        Message::StepSkipped => "건너뜀".to_string(),
        Message::EventCounts { total, counts } => {
            let counts: Vec<String> = counts.iter().map(|(r, n)| format!("{r} {n}")).collect();
            format!("이벤트 {total}개: {}.", counts.join(", "))
        }
        Message::PrometheusMissing => {
            "Prometheus를 사용할 수 없었습니다: 차트와 판정은 클라이언트의 집계만으로 만들었고, 클라이언트와 Prometheus 비교는 판단 보류입니다".to_string()
        }
    }
}
