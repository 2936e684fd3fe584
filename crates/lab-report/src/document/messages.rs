//! What a report says, as typed messages with their parameters; the language
//! tables (`english`, `korean`) turn them into text. Numbers are written the
//! same way in every language, by the functions here.

use lab_core::analysis::{
    Decision, Evidence, GateVerdict, Gates, Outcome, Sensitivity, Unit, WindowKind,
};
use lab_core::report::{PodCounts, RunStatus};

/// The report's sections, in order; each has an anchor and a heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Decision,
    Charts,
    Phases,
    Gates,
    Routes,
    CrossCheck,
    Steps,
    Events,
    Notes,
}

impl Section {
    /// The anchor, the same in every language.
    pub(crate) fn id(self) -> &'static str {
        match self {
            Section::Decision => "decision",
            Section::Charts => "charts",
            Section::Phases => "phases",
            Section::Gates => "gates",
            Section::Routes => "routes",
            Section::CrossCheck => "cross-check",
            Section::Steps => "steps",
            Section::Events => "events",
            Section::Notes => "notes",
        }
    }
}

/// A table's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Version,
    Requests,
    Share,
    Interval,
    Expected,
    Split,
    Errors,
    P50,
    P99,
    Gate,
    Verdict,
    Measured,
    Threshold,
    Samples,
    Source,
    Phase,
    Clients,
    Prometheus,
    Difference,
    Class,
    Answers,
    Mirrored,
    Allowed,
    Query,
    Number,
    Step,
    Kubectl,
    At,
    Took,
    Result,
    Reason,
    Object,
    Message,
}

/// Everything a report says, before it is put in words.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message<'a> {
    /// A section's heading.
    Heading(Section),
    /// A table's column header.
    Column(Column),
    /// `canary: promoted (expected promoted), passed`.
    Title {
        scenario: &'a str,
        reached: Option<Outcome>,
        expected: Outcome,
        passed: bool,
    },
    /// Before the run's id.
    Run,
    /// After the run's id.
    Started(&'a str),
    /// The platform and the profile.
    PlatformProfile {
        platform: &'a str,
        profile: &'a str,
        /// The local proxy sync delay, as `1s`; `None` on a cluster.
        proxy_sync_delay: Option<String>,
    },
    /// How far the run got.
    Status(&'a RunStatus),
    /// The baseline and the candidate.
    Versions {
        baseline: Option<&'a str>,
        candidate: &'a str,
    },
    /// The pods of the scenario's Deployments that ran at once.
    Pods(&'a PodCounts),
    /// Before what is said of Prometheus.
    Prometheus,
    /// Before Prometheus's address.
    QueriedAt,
    /// Prometheus was queried, at no known address.
    Queried,
    /// Prometheus was not there.
    ClientOnly,
    /// Why there is no decision.
    NoDecision(&'a RunStatus),
    /// The decision's outcome.
    Outcome(Outcome),
    /// Why the decision went so, after its outcome.
    Reason {
        decision: &'a Decision,
        thresholds: &'a Gates,
    },
    /// When the decision came, and whether it is the expected one.
    Decided {
        decided_at_ms: u64,
        time_to_decision_ms: u64,
        intervals: u32,
        window: Option<&'a str>,
        passed: bool,
        expected: Outcome,
    },
    /// No window had traffic.
    NoTraffic,
    /// What the phase tables show.
    PhasesIntro {
        confidence: f64,
    },
    /// A window's heading.
    Window {
        name: &'a str,
        kind: WindowKind,
        length_ms: u64,
        start_ms: u64,
    },
    /// The longest time without a successful answer.
    Downtime {
        longest_ms: u64,
        start_ms: u64,
    },
    /// No time without a successful answer.
    NoDowntime,
    /// Requests that got no answer.
    Unanswered {
        total: u64,
        refused: u64,
        reset: u64,
        timeout: u64,
        other: u64,
        unattributed: u64,
    },
    /// Container restarts by version.
    Restarts(Vec<(&'a str, u32)>),
    /// Where a gate's numbers came from.
    Source(&'a str),
    /// Why a gate has its verdict, after the verdict.
    Explanation {
        gate: &'a GateVerdict,
        thresholds: &'a Gates,
    },
    /// The Wilson interval behind a gate.
    Evidence(&'a Evidence),
    /// What a gate's sample could detect.
    Sensitivity(&'a Sensitivity),
    /// The gates' thresholds.
    GatesIntro(&'a Gates),
    /// Before a phase's name, above its gates.
    PhaseGates,
    /// After a phase's name, above its gates.
    OverTraffic {
        length_ms: u64,
    },
    /// Above the gates the decision was taken from.
    AtDecision {
        decided_at_ms: u64,
    },
    /// No gate was evaluated.
    NoGates,
    /// What the cross-check compares, or why it could not.
    CrossCheckIntro {
        available: bool,
    },
    /// What the routes section shows.
    RoutesIntro,
    /// A step's result.
    StepOk,
    StepSkipped,
    /// The platform's events counted by reason.
    EventCounts {
        total: usize,
        counts: Vec<(&'a str, usize)>,
    },
    /// The note when Prometheus was missing.
    PrometheusMissing,
}

/// `1.5 s`.
pub(crate) fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// A length of time: `21 ms` below a second, else `2.4 s`.
pub(crate) fn duration_text(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        seconds(ms)
    }
}

/// A gate's value in its unit; `–` when there is none.
pub(crate) fn value(v: Option<f64>, unit: Unit) -> String {
    match (v, unit) {
        (None, _) => "–".to_string(),
        (Some(v), Unit::Ratio) => format!("{:.2}%", v * 100.0),
        (Some(v), Unit::Ms) => format!("{v:.1} ms"),
        (Some(v), Unit::Count) => format!("{v:.0}"),
    }
}

/// A confidence without trailing zeros: `99%`, `99.5%`.
pub(crate) fn confidence(c: f64) -> String {
    let text = format!("{:.2}", c * 100.0);
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}
