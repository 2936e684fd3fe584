//! What the charts say, as typed messages with their parameters; the language
//! tables (`english`, `korean`) turn them into text.

use lab_core::analysis::Outcome;

/// A short label for a step that changes the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StepLabel {
    /// `kubectl apply -f <file>`.
    Apply { file: String },
    /// `kubectl scale --replicas=<n> <target>`.
    Scale { target: String, replicas: String },
    /// `kubectl delete … <name>`.
    Delete { name: String },
    /// `kubectl patch service <service>` to another version (when it says which).
    Switch {
        service: String,
        version: Option<String>,
    },
}

/// Everything the charts say, before it is put in words.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message<'a> {
    /// The clients' requests chart: title, subtitle (with the moving
    /// average's window in seconds when there is one).
    RequestsTitle,
    RequestsSubtitle {
        window: usize,
    },
    /// Prometheus's requests chart: title, subtitle (the query and its step),
    /// and the remark when the run is shorter than the query's range.
    ServerTitle,
    ServerSubtitle {
        query: &'a str,
        every: &'a str,
    },
    RampUp {
        range: &'a str,
    },
    /// The share chart.
    ShareTitle,
    ShareSubtitle {
        window: usize,
    },
    /// The errors chart.
    ErrorsTitle,
    ErrorsSubtitle,
    /// The ready pods chart.
    ReadyTitle,
    ReadySubtitle,
    /// The y axes' titles.
    RequestsPerSecond,
    ShareOfAnswers,
    ErrorsPerSecond,
    ReadyPods,
    /// The x axis's title.
    TimeSinceStart,
    /// Across an empty plot.
    NoTraffic,
    NoPrometheusPoints,
    NoReadyEndpoints,
    /// In the corner of an errors chart without errors.
    NoErrors,
    /// Legend entries.
    ReadyShare,
    NoAnswer,
    ObservedPhase,
    AnalyzedPhase,
    Step,
    Decision,
    /// After an analyze phase's name on its shading.
    AnalyzeSuffix,
    /// The decision's marker.
    Decided(Outcome),
    /// A step's marker, after its number.
    StepLabel(&'a StepLabel),
}
