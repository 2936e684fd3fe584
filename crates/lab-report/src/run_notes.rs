//! The notes a run states once at its start, on the console and in the
//! report: how its pods are networked, what it cannot measure or model. In
//! the run's language, like everything else it says.

use crate::i18n::Localized;
use lab_core::plan::{ShortOf, Shortfall};
use lab_core::platform::ListenerFault;

/// One note of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunNote<'a> {
    /// Pods on loopback addresses; `unavailable` says why network namespaces
    /// were not used when they were asked for (`--pod-network auto`).
    PodNetworkLoopback {
        /// Why network namespaces could not be had.
        unavailable: Option<&'a str>,
    },
    /// Pods in network namespaces behind kernel address translation.
    PodNetworkNetns {
        /// The pods' range (`10.244.7.0/24`).
        pods: &'a str,
        /// The bridge (`clab7-br`).
        bridge: &'a str,
        /// The Services' range.
        services: &'a str,
    },
    /// No pod template asks to be scraped: no server-side cross-check.
    NoMetrics,
    /// No Prometheus on this machine: client-side measures only.
    NoPrometheus,
    /// Pod template fields the local platform ignores.
    NotModelled {
        /// The fields, as `spec.volumes`, `containers[].resources`.
        fields: &'a [String],
    },
    /// The candidate's sample in the analyze phase falls short of its gates.
    SampleShort(&'a Shortfall),
    /// A window's cross-check covers only its part after Prometheus had
    /// scraped every ready pod.
    PartlyCounted {
        /// The window.
        window: &'a str,
        /// From its start to full coverage, seconds.
        after_s: f64,
        /// The part compared, seconds.
        compared_s: f64,
    },
    /// Prometheus stopped answering.
    PrometheusLost {
        /// The error.
        error: &'a str,
    },
    /// Prometheus did not answer when asked for the mirrored copies after
    /// the run (its other counts were kept).
    CopiesUncounted {
        /// The error.
        error: &'a str,
    },
    /// Prometheus did not find new pods in time.
    LateDiscovery {
        /// The pods.
        pods: &'a str,
        /// How long it was given, seconds.
        timeout_s: u64,
    },
    /// Every phase on a cluster opens after the endpoint change settled.
    ClusterSettle {
        /// The settle time, seconds.
        settle_s: f64,
        /// The platform.
        platform: &'a str,
    },
    /// `--keep`: the last state runs on.
    Kept,
    /// The teardown failed.
    TeardownFailed {
        /// The error.
        error: &'a str,
    },
    /// A step could not be marked on the platform's dashboard (the cluster
    /// lab's Grafana); said once, for the first failure.
    AnnotationFailed {
        /// The error, as the platform said it.
        error: &'a str,
    },
    /// The cluster's Prometheus scraped at another interval than the plan's,
    /// so it was reconfigured and restarted.
    ScrapeIntervalChanged {
        /// The interval it scraped at (`5s`), if it could be read.
        was: Option<&'a str>,
        /// The plan's interval, which it scrapes at now (`1s`).
        now: &'a str,
    },
    /// A listener of the platform (a local Service's) could not accept
    /// connections.
    ListenerFault(&'a ListenerFault),
}

impl Localized for RunNote<'_> {
    fn english(&self) -> String {
        match self {
            RunNote::PodNetworkLoopback { unavailable } => {
                let mut note = "pod network loopback: every pod shares this machine's network on its own 127.x address, so an app must listen on $(POD_IP) (the downward API's status.podIP), not on every address; Services are userspace proxies".to_owned();
                if let Some(reason) = unavailable {
                    note.push_str(&format!(" (network namespaces unavailable: {reason})"));
                }
                note
            }
            RunNote::PodNetworkNetns {
                pods,
                bridge,
                services,
            } => format!(
                "pod network netns: each pod in its own network namespace on {pods} (bridge {bridge}), Services as nftables address translation on {services}, chosen at random per connection"
            ),
            RunNote::NoMetrics => "no pod template has the prometheus.io/scrape annotation, so the pods expose no metrics: the server-side cross-check with Prometheus was skipped; the client-side analysis is complete".to_owned(),
            RunNote::NotModelled { fields } => format!(
                "not modelled here: the local platform runs each pod as one process and ignores these pod template fields: {}",
                fields.join(", ")
            ),
            RunNote::SampleShort(shortfall) => shortfall.english(),
            RunNote::PartlyCounted {
                window,
                after_s,
                compared_s,
            } => format!(
                "window {window}: Prometheus had scraped every ready pod {after_s:.1}s after it opened; its cross-check compares the {compared_s:.1}s after that"
            ),
            RunNote::PrometheusLost { error } => format!(
                "prometheus stopped answering ({error}); server-side checks are inconclusive, client-side results are kept"
            ),
            RunNote::CopiesUncounted { error } => format!(
                "prometheus did not answer for the mirrored copies ({error}); the mirror verdicts and the mirrored candidate's gates have no copies to judge"
            ),
            RunNote::LateDiscovery { pods, timeout_s } => format!(
                "prometheus did not report {pods} up within {timeout_s}s; requests they served before their first scrape are invisible to increase()"
            ),
            RunNote::ClusterSettle { settle_s, platform } => format!(
                "each phase opened {settle_s:.1}s after the step before it ({platform}), so kube-proxy followed the endpoint change first; the split is judged from then"
            ),
            RunNote::Kept => "the last state was kept running (--keep)".to_owned(),
            RunNote::NoPrometheus => "prometheus is not installed (Debian: apt-get install prometheus; or pass --prometheus PATH): this run measures on the client side only, and the cross-check against Prometheus is inconclusive".to_owned(),
            RunNote::TeardownFailed { error } => format!("teardown failed: {error}"),
            RunNote::AnnotationFailed { error } => format!(
                "annotating the dashboard failed ({error}); it may not mark every step of this run"
            ),
            RunNote::ScrapeIntervalChanged { was, now } => {
                let was = match was {
                    Some(was) => format!("every {was}"),
                    None => "at an unknown interval".to_owned(),
                };
                format!(
                    "the cluster's Prometheus scraped {was}; it was reconfigured and restarted to scrape every {now}, as the plan says (metrics of earlier runs are gone from it)"
                )
            }
            RunNote::ListenerFault(fault) => format!(
                "service {} could not accept a connection {} times ({}); its listener paused up to {} ms between tries",
                fault.service,
                fault.failed_accepts,
                fault.last_error.as_deref().unwrap_or("no error given"),
                fault.longest_pause.as_millis()
            ),
        }
    }

    fn korean(&self) -> String {
        match self {
            RunNote::PodNetworkLoopback { unavailable } => {
                let mut note = "pod 네트워크 loopback: 모든 pod가 이 머신의 네트워크를 함께 쓰며 각자 127.x 주소를 가지므로, 앱은 모든 주소가 아니라 $(POD_IP)(downward API의 status.podIP)에서 들어야 합니다. Service는 사용자 공간 프록시입니다".to_owned();
                if let Some(reason) = unavailable {
                    note.push_str(&format!(" (네트워크 네임스페이스를 쓸 수 없음: {reason})"));
                }
                note
            }
            RunNote::PodNetworkNetns {
                pods,
                bridge,
                services,
            } => format!(
                "pod 네트워크 netns: pod마다 {pods} 대역의 자기 네트워크 네임스페이스를 가지며(브리지 {bridge}), Service는 {services} 대역의 nftables 주소 변환으로 연결마다 무작위로 pod를 고릅니다"
            ),
            RunNote::NoMetrics => "prometheus.io/scrape 어노테이션이 있는 pod 템플릿이 없어 pod가 메트릭을 내보내지 않습니다. Prometheus와의 서버 측 교차 확인은 건너뛰었고, 클라이언트 측 분석은 모두 이루어졌습니다".to_owned(),
            RunNote::NotModelled { fields } => format!(
                "여기서는 재현하지 않음: 로컬 플랫폼은 pod마다 프로세스 하나를 실행하며 다음 pod 템플릿 필드는 무시합니다: {}",
                fields.join(", ")
            ),
            RunNote::SampleShort(shortfall) => {
                let what = match shortfall.of {
                    ShortOf::MinSamples(n) => format!("min_samples {n}"),
                    ShortOf::Resolve(n) => format!("게이트 기준을 가려낼 요청 {n}개"),
                };
                match &shortfall.reach {
                    None => format!(
                        "후보 버전은 분석 단계에서 트래픽을 받지 않으므로 게이트가 {what}에 이를 수 없습니다"
                    ),
                    Some(r) => format!(
                        "후보 버전은 분석 단계에서 약 {}개의 요청을 받아({} /s × {}% × {} s) {what}에 못 미칩니다. 초당 {}개 요청이나 {} s 길이의 분석 단계면 이를 수 있습니다",
                        r.requests, r.rate, r.percent, r.seconds, r.rate_needed, r.seconds_needed
                    ),
                }
            }
            RunNote::PartlyCounted {
                window,
                after_s,
                compared_s,
            } => format!(
                "{window} 구간: Prometheus가 준비된 pod를 모두 수집한 것은 구간이 열리고 {after_s:.1}s 뒤였으므로, 교차 확인은 그 뒤 {compared_s:.1}s를 비교합니다"
            ),
            RunNote::PrometheusLost { error } => format!(
                "Prometheus가 응답을 멈췄습니다({error}). 서버 측 확인은 판정 불가로 두고, 클라이언트 측 결과는 유지합니다"
            ),
            RunNote::CopiesUncounted { error } => format!(
                "Prometheus가 미러링된 복사본을 물었을 때 응답하지 않았습니다({error}). 미러 판정과 복사본만 받은 후보의 게이트는 판정할 복사본이 없습니다"
            ),
            RunNote::LateDiscovery { pods, timeout_s } => format!(
                "Prometheus가 {timeout_s}s 안에 {pods}을(를) up으로 보고하지 않았습니다. 첫 수집 전에 처리한 요청은 increase()에 보이지 않습니다"
            ),
            RunNote::ClusterSettle { settle_s, platform } => format!(
                "각 단계는 앞 단계로부터 {settle_s:.1}s 뒤에 열렸습니다({platform}). kube-proxy가 엔드포인트 변경을 먼저 따라가도록 한 것이며, 분배는 그때부터 판정합니다"
            ),
            RunNote::Kept => "마지막 상태를 계속 실행해 두었습니다(--keep)".to_owned(),
            RunNote::NoPrometheus => "Prometheus가 설치되어 있지 않습니다(Debian: apt-get install prometheus, 또는 --prometheus PATH 지정). 이 실행은 클라이언트 측에서만 측정하며, Prometheus와의 교차 확인은 판정 불가입니다".to_owned(),
            RunNote::TeardownFailed { error } => format!("정리에 실패했습니다: {error}"),
            RunNote::AnnotationFailed { error } => format!(
                "대시보드에 주석을 달지 못했습니다({error}). 이 실행의 단계가 대시보드에 모두 표시되지는 않을 수 있습니다"
            ),
            RunNote::ScrapeIntervalChanged { was, now } => {
                let was = match was {
                    Some(was) => format!("{was}마다 수집하고 있어서"),
                    None => "어떤 간격으로 수집하는지 알 수 없어서".to_owned(),
                };
                format!(
                    "클러스터의 Prometheus는 {was}, 계획의 간격인 {now}마다 수집하도록 설정을 바꾸고 재시작했습니다(이전 실행의 메트릭은 남아 있지 않습니다)"
                )
            }
            RunNote::ListenerFault(fault) => format!(
                "Service {}의 리스너가 연결을 {}번 받아들이지 못했습니다({}). 다시 시도하기 전에 최대 {} ms까지 기다렸습니다",
                fault.service,
                fault.failed_accepts,
                fault.last_error.as_deref().unwrap_or("오류 내용 없음"),
                fault.longest_pause.as_millis()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;

    fn hangul(text: &str) -> bool {
        text.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c))
    }

    #[test]
    fn every_note_is_said_in_each_language_with_its_facts() {
        let fields = ["spec.volumes".to_owned()];
        let fault = ListenerFault {
            service: "my-app".to_owned(),
            failed_accepts: 3,
            last_error: Some("Too many open files (os error 24)".to_owned()),
            longest_pause: std::time::Duration::from_secs(1),
        };
        let silent_fault = ListenerFault {
            last_error: None,
            ..fault.clone()
        };
        let short = Shortfall {
            of: ShortOf::Resolve(1301),
            reach: Some(lab_core::plan::Reach {
                requests: 200,
                rate: "100".to_owned(),
                percent: 25,
                seconds: 8,
                rate_needed: 651,
                seconds_needed: 53,
            }),
        };
        let notes = [
            RunNote::PodNetworkLoopback { unavailable: None },
            RunNote::PodNetworkLoopback {
                unavailable: Some("not root"),
            },
            RunNote::PodNetworkNetns {
                pods: "10.244.7.0/24",
                bridge: "clab7-br",
                services: "10.96.7.0/24",
            },
            RunNote::NoMetrics,
            RunNote::NotModelled { fields: &fields },
            RunNote::SampleShort(&short),
            RunNote::PartlyCounted {
                window: "canary",
                after_s: 2.2,
                compared_s: 8.0,
            },
            RunNote::PrometheusLost { error: "timed out" },
            RunNote::CopiesUncounted { error: "timed out" },
            RunNote::LateDiscovery {
                pods: "my-app-v2-abc",
                timeout_s: 20,
            },
            RunNote::ClusterSettle {
                settle_s: 2.0,
                platform: "kind",
            },
            RunNote::Kept,
            RunNote::NoPrometheus,
            RunNote::TeardownFailed { error: "boom" },
            RunNote::AnnotationFailed {
                error: "grafana refused the annotation: 403 Forbidden",
            },
            RunNote::ScrapeIntervalChanged {
                was: Some("5s"),
                now: "1500ms",
            },
            RunNote::ScrapeIntervalChanged {
                was: None,
                now: "1500ms",
            },
            RunNote::ListenerFault(&fault),
            RunNote::ListenerFault(&silent_fault),
        ];
        for note in &notes {
            let english = note.render(Language::English);
            let korean = note.render(Language::Korean);
            assert!(!hangul(&english), "{english}");
            assert!(hangul(&korean), "{korean}");
            for fact in [
                "10.244.7.0/24",
                "clab7-br",
                "not root",
                "spec.volumes",
                "$(POD_IP)",
                "1301",
                "651",
                "53 s",
                "2.2s",
                "8.0s",
                "timed out",
                "my-app-v2-abc",
                "--keep",
                "boom",
                "grafana refused the annotation: 403 Forbidden",
                "5s",
                "1500ms",
                "Too many open files (os error 24)",
                "1000 ms",
                "my-app",
            ] {
                assert_eq!(
                    english.contains(fact),
                    korean.contains(fact),
                    "{fact}: {english} / {korean}"
                );
            }
        }
    }

    #[test]
    fn the_platforms_notes_keep_their_words_and_the_errors_text() {
        let fault = ListenerFault {
            service: "my-app".to_owned(),
            failed_accepts: 3,
            last_error: Some("Too many open files (os error 24)".to_owned()),
            longest_pause: std::time::Duration::from_millis(640),
        };
        let note = RunNote::ListenerFault(&fault);
        assert_eq!(
            note.render(Language::English),
            "service my-app could not accept a connection 3 times (Too many open files (os error 24)); its listener paused up to 640 ms between tries"
        );
        assert_eq!(
            note.render(Language::Korean),
            "Service my-app의 리스너가 연결을 3번 받아들이지 못했습니다(Too many open files (os error 24)). 다시 시도하기 전에 최대 640 ms까지 기다렸습니다"
        );
        let silent = ListenerFault {
            last_error: None,
            ..fault
        };
        assert!(
            RunNote::ListenerFault(&silent)
                .render(Language::English)
                .contains("(no error given)")
        );
        let scrape = RunNote::ScrapeIntervalChanged {
            was: Some("5s"),
            now: "1s",
        };
        assert_eq!(
            scrape.render(Language::English),
            "the cluster's Prometheus scraped every 5s; it was reconfigured and restarted to scrape every 1s, as the plan says (metrics of earlier runs are gone from it)"
        );
        assert_eq!(
            scrape.render(Language::Korean),
            "클러스터의 Prometheus는 5s마다 수집하고 있어서, 계획의 간격인 1s마다 수집하도록 설정을 바꾸고 재시작했습니다(이전 실행의 메트릭은 남아 있지 않습니다)"
        );
        assert!(
            RunNote::ScrapeIntervalChanged {
                was: None,
                now: "1s"
            }
            .render(Language::English)
            .starts_with("the cluster's Prometheus scraped at an unknown interval;")
        );
        let annotation = RunNote::AnnotationFailed {
            error: "grafana at http://127.0.0.1:30030 is unreachable: connection refused",
        };
        for language in [Language::English, Language::Korean] {
            assert!(
                annotation.render(language).contains(
                    "(grafana at http://127.0.0.1:30030 is unreachable: connection refused)"
                ),
                "{language:?}"
            );
        }
    }
}
