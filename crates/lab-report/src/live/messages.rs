//! What the live page says, as typed messages with their parameters; the
//! language tables (`english`, `korean`) turn them into text.

use lab_core::analysis::{Outcome, Verdict, WindowKind};
use lab_core::run_event::InterimVerdict;

/// The page's words.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Text<'a> {
    /// The badge while the run goes, and the page's title.
    Live,
    /// The badge once the run has ended.
    Ended,
    /// Before the run's first view, or its first step.
    Starting,
    /// The status before traffic flows.
    NoTrafficYet,
    /// The phase the traffic is counted in.
    Phase {
        name: &'a str,
        kind: WindowKind,
    },
    /// The transition the traffic is counted in.
    Transition(&'a str),
    /// The clock's label.
    RunTime,
    /// The decision's place before it is taken.
    Undecided,
    /// The decision's outcome.
    Outcome(Outcome),
    /// The versions table's heading.
    Versions,
    /// The versions table's columns.
    Version,
    Share,
    PerSecond,
    Answers,
    Errors,
    ReadyPods,
    /// The tutorial's panel's caption.
    Panel,
    /// The panel before Prometheus has points.
    PanelWaiting,
    /// The gates' heading.
    Gates,
    /// The gates before the analyze phase.
    GatesWaiting,
    /// The heading of the looks at the gates.
    Looks,
    /// What one look concluded.
    Interim(InterimVerdict),
    /// A gate's verdict.
    Verdict(Verdict),
    /// The status once the run has ended.
    Finished,
    /// The link to the report.
    Report,
    /// The link to Prometheus's graph.
    PrometheusGraph,
    /// The link to Grafana's dashboard.
    GrafanaDashboard,
    /// The notice when the lab stops serving the page.
    Offline,
    /// The footer.
    Updating,
}
