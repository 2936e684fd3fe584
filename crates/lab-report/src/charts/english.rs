//! The charts' words in English.

use super::messages::{Message, StepLabel};
use lab_core::analysis::Outcome;

fn step(label: &StepLabel) -> String {
    match label {
        StepLabel::Apply { file } => format!("apply {file}"),
        StepLabel::Scale { target, replicas } => format!("scale {target} to {replicas}"),
        StepLabel::Delete { name } => format!("delete {name}"),
        StepLabel::Switch {
            service,
            version: Some(version),
        } => format!("switch {service} to {version}"),
        StepLabel::Switch {
            service,
            version: None,
        } => format!("switch {service}"),
    }
}

pub(super) fn say(message: &Message<'_>) -> String {
    match message {
        Message::RequestsTitle => "Requests per second by version (clients)".into(),
        Message::RequestsSubtitle { window } if *window > 1 => {
            format!("answers per second as the clients counted them, {window} s moving average")
        }
        Message::RequestsSubtitle { .. } => "answers per second as the clients counted them".into(),
        Message::ServerTitle => "Requests per second by version (Prometheus)".into(),
        Message::ServerSubtitle { query, every } => format!("{query}, every {every}"),
        Message::RampUp { range } => {
            format!("; the run is shorter than the {range} range, so the rates ramp up")
        }
        Message::ShareTitle => "Share of traffic by version".into(),
        Message::ShareSubtitle { window } if *window > 1 => format!(
            "answers by version over all answers, {window} s window; dashed: ready pods' share"
        ),
        Message::ShareSubtitle { .. } => {
            "answers by version over all answers, per second; dashed: ready pods' share".into()
        }
        Message::ErrorsTitle => "Errors per second by version".into(),
        Message::ErrorsSubtitle => "4xx and 5xx answers and failed requests, per second".into(),
        Message::ReadyTitle => "Ready pods by version".into(),
        Message::ReadySubtitle => "the Service's ready endpoints, as sampled during the run".into(),
        Message::RequestsPerSecond => "requests/s".into(),
        Message::ShareOfAnswers => "share of answers (%)".into(),
        Message::ErrorsPerSecond => "errors/s".into(),
        Message::ReadyPods => "ready pods".into(),
        Message::TimeSinceStart => "time since the run started".into(),
        Message::NoTraffic => "no traffic was recorded".into(),
        Message::NoPrometheusPoints => "Prometheus returned no points".into(),
        Message::NoReadyEndpoints => "no ready endpoints were sampled".into(),
        Message::NoErrors => "no errors".into(),
        Message::ReadyShare => "ready pods' share".into(),
        Message::NoAnswer => "no answer (no version)".into(),
        Message::ObservedPhase => "observed phase".into(),
        Message::AnalyzedPhase => "analyzed phase".into(),
        Message::Step => "step".into(),
        Message::Decision => "decision".into(),
        Message::AnalyzeSuffix => " (analyze)".into(),
        Message::Decided(Outcome::Promoted) => "decided: promote".into(),
        Message::Decided(Outcome::RolledBack) => "decided: roll back".into(),
        Message::StepLabel(label) => step(label),
    }
}
