//! The report's words in English. Reasons and explanations come from
//! lab-core in English already, and are said as they are.

use super::messages::{Column, Message, Section, confidence, duration_text, seconds};
use crate::i18n::Localized;
use crate::terms::Term;
use lab_core::analysis::{Counted, Outcome};
use lab_core::report::RunStatus;

fn outcome(o: Outcome) -> String {
    Term::Outcome(o).english()
}

fn section(s: Section) -> &'static str {
    match s {
        Section::Decision => "Decision",
        Section::Charts => "Charts",
        Section::Phases => "Phases",
        Section::Gates => "Gates",
        Section::Routes => "Routes",
        Section::CrossCheck => "Client against Prometheus",
        Section::Steps => "Steps",
        Section::Events => "Platform events",
        Section::Notes => "Notes",
    }
}

fn column(c: Column) -> &'static str {
    match c {
        Column::Version => "version",
        Column::Requests => "requests",
        Column::Share => "share",
        Column::Interval => "interval",
        Column::Expected => "expected",
        Column::Split => "split",
        Column::Errors => "errors",
        Column::P50 => "p50",
        Column::P99 => "p99",
        Column::Gate => "gate",
        Column::Verdict => "verdict",
        Column::Measured => "measured",
        Column::Threshold => "threshold",
        Column::Samples => "samples",
        Column::Source => "source",
        Column::Phase => "phase",
        Column::Clients => "clients",
        Column::Prometheus => "Prometheus",
        Column::Class => "class",
        Column::Answers => "answers",
        Column::Mirrored => "mirrored",
        Column::Difference => "difference",
        Column::Allowed => "allowed",
        Column::Query => "query",
        Column::Number => "#",
        Column::Step => "step",
        Column::Kubectl => "kubectl",
        Column::At => "at",
        Column::Took => "took",
        Column::Result => "result",
        Column::Reason => "reason",
        Column::Object => "object",
        Column::Message => "message",
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
            "{scenario}: {} (expected {}), {}",
            reached.map_or_else(|| "no decision".to_string(), outcome),
            outcome(*expected),
            if *passed { "passed" } else { "did not pass" }
        ),
        Message::Run => "run ".to_string(),
        Message::Started(at) => format!(", started {at}"),
        Message::PlatformProfile {
            platform,
            profile,
            proxy_sync_delay,
        } => match proxy_sync_delay {
            Some(delay) => format!(
                "platform {platform}, profile {profile}, proxy sync delay {delay} (a pod that left the endpoints still got new connections this long)"
            ),
            None => format!("platform {platform}, profile {profile}"),
        },
        Message::Status(status) => format!(
            "status: {}",
            match status {
                RunStatus::Completed => "completed".to_string(),
                RunStatus::Interrupted => "interrupted".to_string(),
                RunStatus::Failed { error } => format!("failed: {error}"),
            }
        ),
        Message::Versions {
            baseline,
            candidate,
        } => format!(
            "versions: baseline {}, candidate {candidate}",
            baseline.unwrap_or("–")
        ),
        Message::Pods(pods) => {
            let mut line = match pods.steady {
                Some(steady) => format!("pods: {steady} at the baseline"),
                None => "pods: none sampled at the baseline".to_owned(),
            };
            if let Some(serving) = pods.peak_serving {
                line.push_str(&format!(", at most {serving} not terminating at once"));
                if let Some(ratio) = pods.serving_per_steady() {
                    line.push_str(&format!(" ({ratio:.1} times the baseline)"));
                }
            }
            line.push_str(&format!(
                ", at most {} with terminating ones (first at {})",
                pods.peak,
                seconds(pods.peak_at_ms)
            ));
            line
        }
        Message::Prometheus => "Prometheus: ".to_string(),
        Message::QueriedAt => "queried at ".to_string(),
        Message::Queried => "queried".to_string(),
        Message::ClientOnly => "not available: client-side measurements only".to_string(),
        Message::NoDecision(status) => match status {
            RunStatus::Completed => "No decision was reached.".to_string(),
            RunStatus::Interrupted => {
                "No decision was reached: the run was interrupted.".to_string()
            }
            RunStatus::Failed { error } => {
                format!("No decision was reached: the run failed: {error}.")
            }
        },
        Message::Outcome(o) => outcome(*o),
        Message::Reason { decision, .. } => format!(": {}", decision.reason),
        Message::Decided {
            decided_at_ms,
            time_to_decision_ms,
            intervals,
            window,
            passed,
            expected,
        } => {
            let expected = if *passed {
                format!(
                    "This is the outcome the scenario expects ({}).",
                    outcome(*expected)
                )
            } else {
                format!("The scenario expects {}.", outcome(*expected))
            };
            let intervals = match intervals {
                1 => "1 analysis interval".to_string(),
                n => format!("{n} analysis intervals"),
            };
            format!(
                "Decided {} into the run, {} after the candidate began serving (or was applied), after {intervals}{}. {expected}",
                seconds(*decided_at_ms),
                seconds(*time_to_decision_ms),
                window.map_or(String::new(), |w| format!(" of phase {w}")),
            )
        }
        Message::NoTraffic => "No traffic was measured.".to_string(),
        Message::PhasesIntro { confidence: c } => format!(
            "Each version's share of the answers, with its {} Wilson interval, against the share its ready pods predict. Transitions (the steps between phases) are shown, not judged.",
            confidence(*c)
        ),
        Message::Window {
            name,
            kind,
            length_ms,
            start_ms,
        } => format!(
            "{name} ({}, {} from {})",
            Term::WindowKind(*kind).english(),
            seconds(*length_ms),
            seconds(*start_ms)
        ),
        Message::Downtime {
            longest_ms,
            start_ms,
        } => format!(
            "Downtime: the longest time without a successful answer was {} (from {}).",
            duration_text(*longest_ms),
            seconds(*start_ms)
        ),
        Message::NoDowntime => "Downtime: none.".to_string(),
        Message::Unanswered {
            total,
            refused,
            reset,
            timeout,
            other,
            unattributed,
        } => format!(
            "Requests without an answer: {total} (refused {refused}, reset {reset}, timeout {timeout}, other {other}; {unattributed} not attributed to a version)."
        ),
        Message::Restarts(restarts) => {
            let restarts: Vec<String> = restarts.iter().map(|(v, n)| format!("{v}: {n}")).collect();
            format!("Container restarts: {}.", restarts.join(", "))
        }
        Message::Source(source) => match *source {
            "client" => "client-side tallies".to_string(),
            "platform" => "container restarts reported by the platform".to_string(),
            "gateway" => "what the mirror target answered to the copies, counted by the local gateway".to_string(),
            "prometheus" => "what the mirror target answered to the copies, from its metrics in Prometheus".to_string(),
            other => other.to_string(),
        },
        Message::Explanation { gate, .. } => format!(": {}", gate.explanation),
        Message::Sensitivity(s) => format!(
            " (what the sample can detect: {}{})",
            s.describe(),
            if s.resolved {
                ""
            } else {
                "; not enough to resolve the threshold"
            }
        ),
        Message::Evidence(e) => {
            let counted = match e.counted {
                Counted::Successes => "successes",
                Counted::SlowerThanMaxP99 => "answers slower than the p99 limit",
                Counted::SlowerThanBaselineLimit => {
                    "answers slower than the limit from the baseline's p99"
                }
            };
            format!(
                " (evidence: {} {counted} of {}, {} Wilson interval {:.2}–{:.2}%, held against {:.2}%)",
                e.count,
                e.total,
                confidence(e.confidence),
                e.interval.low * 100.0,
                e.interval.high * 100.0,
                e.limit * 100.0
            )
        }
        Message::GatesIntro(t) => format!(
            "The candidate is judged in the analyze phase: success rate ≥ {:.2}%, p99 ≤ {:.0} ms, p99 ≤ max({} × the baseline's, the baseline's + {:.0} ms), at most {} restarts; no gate passes on fewer than {} requests.",
            t.min_success_rate * 100.0,
            t.max_p99_ms,
            t.max_p99_ratio,
            t.p99_ratio_allowance_ms,
            t.max_restarts,
            t.min_samples
        ),
        Message::PhaseGates => "Phase ".to_string(),
        Message::OverTraffic { length_ms } => {
            format!(", over its {} of traffic:", seconds(*length_ms))
        }
        Message::AtDecision { decided_at_ms } => format!(
            "At the decision ({} into the run):",
            seconds(*decided_at_ms)
        ),
        Message::NoGates => {
            "No gate was evaluated: the run did not reach its analyze phase.".to_string()
        }
        Message::RoutesIntro => "Through the Gateway: which versions answered each class of requests against where the route sent it (one answer from elsewhere fails), and the share of requests mirrored to a version, counted where clients cannot see the copies (by the local gateway, or from the mirror target's metrics in Prometheus, whose estimates are allowed a tolerance), against the route's.".to_string(),
        Message::CrossCheckIntro { available: true } => {
            "Requests each version answered, as the clients counted them and as Prometheus's increase() over the same window saw them.".to_string()
        }
        Message::CrossCheckIntro { available: false } => {
            "Prometheus was not available, so the clients' counts could not be checked against the server's.".to_string()
        }
        Message::StepOk => "ok".to_string(),
        Message::StepSkipped => "skipped".to_string(),
        Message::EventCounts { total, counts } => {
            let counts: Vec<String> = counts.iter().map(|(r, n)| format!("{r} {n}")).collect();
            format!("{total} events: {}.", counts.join(", "))
        }
        Message::PrometheusMissing => {
            "Prometheus was not available: the charts and verdicts come from the clients' counts only, and the cross-check is inconclusive".to_string()
        }
    }
}
