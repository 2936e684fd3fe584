//! The narration's Korean table, in the tutorial's language.

use super::messages::{After, Heading, Line, Pods, split};
use lab_core::plan::OnTimeout;

/// What the pause asks of the reader.
pub(crate) const PROMPT: &str = "Enter를 누르면 실행합니다 (읽는 동안에도 트래픽은 계속 흐릅니다)";

/// What is said when the input ends and the pauses stop.
pub(crate) const NO_MORE_PAUSES: &str = "입력이 닫혀서 더 멈추지 않고 계속 진행합니다";

pub(crate) fn heading(heading: &Heading) -> String {
    match heading {
        Heading::Main { n, total } => format!("{n}/{total}단계"),
        Heading::Rollback { n, total } => format!("롤백 {n}/{total}단계"),
    }
}

fn pods(n: i32) -> String {
    format!("pod {n}개")
}

fn after(after: &After) -> String {
    match after {
        After::Nobody => "이후에는 응답할 pod가 하나도 남지 않습니다.".to_string(),
        After::All { version, pods: n } => {
            format!(
                "이후에는 모든 트래픽이 {version} 버전({})으로 갑니다.",
                pods(*n)
            )
        }
        After::Split(shares) => {
            format!("이후 트래픽 비율은 이렇게 됩니다: {}.", split(shares, pods))
        }
    }
}

fn target(target: &Pods) -> String {
    target
        .iter()
        .map(|(v, n)| format!("{v} 버전({})", pods(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn line(line: &Line) -> String {
    match line {
        Line::Create {
            service,
            deployments,
        } => {
            let made: Vec<String> = deployments
                .iter()
                .map(|d| {
                    format!(
                        "{} Deployment({} 버전 {})",
                        d.name,
                        d.version,
                        pods(d.replicas)
                    )
                })
                .collect();
            match service {
                Some(s) if made.is_empty() => format!("{s} Service를 만듭니다."),
                Some(s) => format!("{s} Service와 {}를 만듭니다.", made.join(", ")),
                None => format!("{}를 만듭니다.", made.join(", ")),
            }
        }
        Line::ChangeTemplate {
            deployment,
            from,
            to,
            replicas,
        } => format!(
            "{deployment} Deployment의 pod 템플릿을 {from} 버전에서 {to} 버전으로 바꿉니다({}).",
            pods(*replicas)
        ),
        Line::RollingUpdate {
            max_surge,
            max_unavailable,
        } => format!(
            "RollingUpdate 전략(maxSurge {max_surge}, maxUnavailable {max_unavailable})이라 pod를 몇 개씩 차례로 교체하므로, 교체되는 동안에는 두 버전이 준비된 pod 수에 비례해 함께 응답합니다."
        ),
        Line::Termination { pre_stop: None } => "기존 pod는 endpoint에서 빠지는 순간 SIGTERM도 함께 받지만, kube-proxy는 동기화(약 1초)가 끝난 뒤에야 그 pod로 연결을 보내지 않습니다. preStop 훅 없이 SIGTERM을 받자마자 연결을 닫는 앱은 그 사이에 들어온 요청을 거부합니다.".to_string(),
        Line::Termination { pre_stop: Some(hook) } => format!(
            "기존 pod는 preStop 훅({hook})이 도는 동안 endpoint에서 빠지고, SIGTERM은 훅이 끝난 뒤에야 받습니다. 그때는 kube-proxy(동기화 약 1초)가 이미 그 pod로 연결을 보내지 않으므로 거부되는 요청이 없습니다."
        ),
        Line::Recreate => "Recreate 전략이라 기존 pod를 모두 종료한 뒤에 새 pod를 띄웁니다. 그 사이에는 Service에 준비된 endpoint가 없으므로 다운타임이 생깁니다.".to_string(),
        Line::Probe { probe: Some(p) } => {
            format!("새 pod는 readiness probe({p})를 통과한 뒤에야 트래픽을 받습니다.")
        }
        Line::Probe { probe: None } => {
            "새 pod는 준비(ready)된 뒤에야 트래픽을 받습니다.".to_string()
        }
        Line::SelectsAnyVersion { selector } => format!(
            "Service는 버전이 아니라 `{selector}` 라벨만 보고 pod를 고릅니다. 이 라벨이 붙은 준비된 pod라면 어느 버전이든 새 연결을 같은 확률로 받습니다."
        ),
        Line::SelectsVersion { selector } => format!(
            "Service 셀렉터에 version 라벨(`{selector}`)이 들어 있어서, 다른 버전이 떠 있어도 이 pod들만 트래픽을 받습니다."
        ),
        Line::NotSelected { selector } => format!(
            "Service 셀렉터(`{selector}`)와 맞지 않으므로 이 pod들은 아직 트래픽을 받지 않습니다."
        ),
        Line::JoinsSplit { selector, split: shares } => format!(
            "이 pod들도 `{selector}` 라벨을 달고 있어서, 준비되는 대로 Service가 함께 트래픽을 보냅니다: {}.",
            split(shares, pods)
        ),
        Line::TakesAll => "준비되는 대로 Service가 모든 트래픽을 이 pod들로 보냅니다.".to_string(),
        Line::NoService { service } => {
            format!("아직 {service} Service가 없으므로 이 pod들은 트래픽을 받지 않습니다.")
        }
        Line::Reapplied { file } => format!("{file} 파일의 내용 그대로 다시 적용합니다."),
        Line::Scale {
            deployment,
            version,
            from,
            to,
        } => format!(
            "{deployment} Deployment({version})의 replicas를 {from}개에서 {to}개로 바꿉니다."
        ),
        Line::RandomPick { split: shares } => format!(
            "Service는 새 연결마다 준비된 pod 하나를 무작위로 고르므로 pod 수가 곧 트래픽 비율이 됩니다: {}.",
            split(shares, pods)
        ),
        Line::After(then) => after(then),
        Line::PodsLeave => "줄어드는 pod는 먼저 Service endpoint에서 빠진 뒤 종료됩니다.".to_string(),
        Line::DeleteDeployment {
            name,
            version,
            replicas,
        } => format!(
            "{name} Deployment({version} 버전, {})를 삭제합니다.",
            pods(*replicas)
        ),
        Line::LeaveEndpoints { after: then } => format!(
            "pod는 먼저 Service endpoint에서 빠지고 나서 종료되므로 처리 중인 요청은 끝까지 응답을 받습니다. {}",
            after(then)
        ),
        Line::DeleteService { name } => format!("{name} Service를 삭제합니다."),
        Line::ServiceGone => {
            "이 Service로 들어오던 트래픽은 더 이상 pod에 전달되지 않습니다.".to_string()
        }
        Line::Switch { service, selector } => {
            format!("{service} Service의 셀렉터를 바꿉니다: `{selector}`.")
        }
        Line::SwitchAtOnce { target: to } => format!(
            "이제 모든 새 연결이 한꺼번에 {}으로 갑니다. Blue/Green은 pod 수가 아니라 셀렉터로 트래픽을 한 번에 옮깁니다.",
            target(to)
        ),
        Line::SwitchBack => {
            "이전 버전 pod는 그대로 떠 있으므로, 되돌릴 때도 셀렉터만 다시 바꾸면 됩니다."
                .to_string()
        }
        Line::Wait {
            deployments,
            timeout,
        } => format!(
            "{} Deployment의 모든 pod가 준비될 때까지 기다립니다(`kubectl rollout status`와 같으며, 최대 {timeout}).",
            deployments.join(", ")
        ),
        Line::ReadyIsEndpoint => "readiness probe를 통과한 pod만 Service endpoint가 되므로, 트래픽 비율은 pod가 생성될 때가 아니라 준비될 때 바뀝니다.".to_string(),
        Line::WaitTimeout(OnTimeout::RollBack) => "그 안에 준비되지 않으면 새 버전이 진행 기한(progress deadline)을 넘긴 것으로 보고 롤백합니다.".to_string(),
        Line::WaitTimeout(OnTimeout::Fail) => "그 안에 준비되지 않으면 실습 환경 자체가 올라오지 않은 것이므로 실행을 멈춥니다.".to_string(),
        Line::Watch { phase, length } => {
            format!("아무것도 바꾸지 않고 {length} 동안 `{phase}` 구간의 트래픽을 지켜봅니다.")
        }
        Line::DrawShare { split: shares } => format!(
            "각 버전은 준비된 pod 비율만큼 요청을 받아야 합니다: {}.",
            split(shares, pods)
        ),
        Line::Grafana { query } => {
            format!("튜토리얼에서는 같은 모습을 Grafana의 `{query}` 패널로 확인합니다.")
        }
        Line::Judge {
            candidate,
            phase,
            length,
            interval,
            share,
        } => format!(
            "{length} 동안 실제 트래픽으로 {candidate} 버전을 평가하며(`{phase}` 구간), {interval}마다 게이트를 확인합니다. {candidate} 버전은 요청의 약 {share}를 받습니다."
        ),
        Line::Gates {
            success,
            max_p99_ms,
            max_p99_ratio,
            baseline,
            max_restarts,
            min_samples,
        } => format!(
            "게이트: 성공률 ≥ {success}%, p99 ≤ {max_p99_ms} ms, p99가 {baseline} 버전의 {max_p99_ratio}배 이하, 재시작 {max_restarts}회 이하. 요청이 {min_samples}개 미만이면 어떤 게이트도 통과하지 않습니다."
        ),
        Line::DecisionRule => "명확한 실패가 보이면 즉시 롤백하고, 그렇지 않으면 끝에서 모든 게이트를 통과해야 승격(promote)합니다.".to_string(),
        Line::GatewayOpens { gateway } => format!(
            "{gateway} Gateway가 리스너를 엽니다. 이제부터 요청은 이곳으로 들어오고, 각 요청이 어디로 갈지는 Service의 pod 수가 아니라 HTTPRoute가 정합니다."
        ),
        Line::GatewayNoRoute { gateway } => format!(
            "HTTPRoute가 부모로 가리키기 전까지 {gateway} Gateway는 모든 요청에 404로 응답합니다."
        ),
        Line::RouteApplied { route } => format!(
            "이 적용은 {route} HTTPRoute의 규칙을 그 자리에서 바꿉니다. pod는 재시작하지 않고, Gateway가 변경을 반영하는 즉시 요청이 새 규칙을 따릅니다."
        ),
        Line::BehindRoute { gateway } => format!(
            "이 pod들은 HTTPRoute가 자기 Service를 가리킬 때에만 {gateway} Gateway를 통해 요청을 받습니다. 몫은 pod 수가 아니라 라우트의 가중치로 정해집니다."
        ),
        Line::HeaderMatch { headers, services } => format!(
            "`{headers}` 헤더가 있는 요청은 {services}(으)로 가고, 나머지 요청은 다음 규칙으로 넘어갑니다. 헤더 매치는 비율이 아니라 사용자 집단을 고릅니다."
        ),
        Line::Weights { backends } => format!(
            "요청마다 가중치에 따라 백엔드를 하나 고릅니다: {}. 가중치는 pod의 몫이 아니라 요청의 몫이므로, 각 Service의 pod 수가 얼마든 분배는 그대로입니다.",
            backends
                .iter()
                .map(|(service, share, n)| format!("{service} {share} ({})", pods(*n)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Line::RouteTo { service, pods: n } => format!(
            "이 규칙에 맞는 요청은 모두 {service}({})(으)로 갑니다.",
            pods(*n)
        ),
        Line::Mirror { service, share } => format!(
            "RequestMirror 필터가 이 요청의 {share}를 복사해 {service}에도 보내고 그 응답은 버립니다. 사용자는 위 백엔드의 응답만 보므로, {service}는 실제 요청을 받으면서도 그 오류가 사용자에게 보이지 않습니다(쓰기 같은 부수 효과는 그대로 일어납니다)."
        ),
        Line::RouteShare { routed, mirrored } => {
            let routed = if routed.is_empty() { "어느 버전도 아닌 곳" } else { routed.as_str() };
            let mut text = format!("대상 헤더가 없는 요청은 라우트의 가중치에 따라 {routed}(으)로 가야 합니다");
            if !mirrored.is_empty() {
                text.push_str(&format!(". 복사본은 {mirrored}(으)로 갑니다"));
            }
            text.push('.');
            text
        }
        Line::JudgeRoutes {
            candidate,
            phase,
            length,
            interval,
            routed,
            mirrored,
        } => {
            let what = match (routed.is_empty(), mirrored.is_empty()) {
                (false, _) => format!("대상 헤더가 없는 요청의 약 {routed}를 받습니다"),
                (true, false) => format!("복사본({mirrored})에만 응답하므로, 게이트는 어떤 사용자도 보지 않는 복사본의 응답을 읽습니다"),
                (true, true) => "라우트가 대상 헤더가 없는 요청을 하나도 보내지 않습니다".to_owned(),
            };
            format!(
                "{candidate} 버전을 {length} 동안 실제 트래픽으로 평가하고(`{phase}` 단계) {interval}마다 게이트를 확인합니다. {what}."
            )
        }
    }
}
