//! The live page's words in English.

use super::messages::Text;
use crate::i18n::Localized;
use crate::terms::Term;

pub(super) fn say(text: &Text<'_>) -> String {
    match *text {
        Text::Live => "live".into(),
        Text::Ended => "ended".into(),
        Text::Starting => "starting".into(),
        Text::NoTrafficYet => "no traffic yet".into(),
        Text::Phase { name, kind } => {
            format!("phase {name} ({})", Term::WindowKind(kind).english())
        }
        Text::Transition(name) => format!("transition {name}"),
        Text::RunTime => "run time".into(),
        Text::Undecided => "No decision yet: the gates are judged in the analyze phase.".into(),
        Text::Outcome(o) => Term::Outcome(o).english(),
        Text::Versions => "Traffic by version (this phase, from the clients)".into(),
        Text::Version => "version".into(),
        Text::Share => "share".into(),
        Text::PerSecond => "requests/s".into(),
        Text::Answers => "answers".into(),
        Text::Errors => "errors".into(),
        Text::ReadyPods => "ready pods".into(),
        Text::Panel => "The tutorial's Grafana panel, from the lab's Prometheus".into(),
        Text::PanelWaiting => {
            "Waiting for Prometheus's first points (it scrapes every few seconds)…".into()
        }
        Text::Gates => "Gates".into(),
        Text::GatesWaiting => "Not judged yet: the analyze phase has not begun.".into(),
        Text::Looks => "Looks at the gates".into(),
        Text::Interim(v) => Term::Interim(v).english(),
        Text::Verdict(v) => Term::Verdict(v).english(),
        Text::Finished => "The run has ended.".into(),
        Text::Report => "the report".into(),
        Text::PrometheusGraph => "Prometheus graph".into(),
        Text::GrafanaDashboard => "Grafana dashboard".into(),
        Text::Offline => "The lab no longer serves this page: this is its last state.".into(),
        Text::Updating => "updated every second".into(),
    }
}
