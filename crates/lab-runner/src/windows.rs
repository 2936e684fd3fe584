//! The run's traffic cut into windows: the plan's phases (`observe`, `analyze`)
//! and the transitions between them, named after the phase they lead to
//! (`→ canary`), so the windows of a run follow from its plan. Each window
//! remembers which part of it Prometheus's counts cover.

use crate::context::Context;
use crate::copies::{self, CopyMetrics};
use crate::live::LiveWindow;
use crate::measure::{self, MirrorCounts, WindowSpan};
use crate::traffic::Traffic;
use lab_core::analysis::{
    AnalysisConfig, ReadySample, ServerObservation, WindowKind, WindowObservation,
};
use lab_core::assembly::{Compared, MeasuredWindow};
use lab_core::plan::Step;
use lab_core::platform::{MirrorCount, Platform};
use lab_core::report::Section;
use lab_core::run_event::{RunEvent, transition_name};
use loadgen::Snapshot;
use std::collections::BTreeMap;
use std::time::Duration;

/// A window about to open.
pub(crate) struct NextWindow {
    name: String,
    kind: WindowKind,
    /// For a transition, the phase it leads to.
    leads_to: Option<String>,
    planned: Option<Duration>,
}

impl NextWindow {
    /// A phase of the plan, planned to last `planned`.
    pub(crate) fn phase(name: &str, kind: WindowKind, planned: Duration) -> Self {
        Self {
            name: name.to_string(),
            kind,
            leads_to: None,
            planned: Some(planned),
        }
    }

    /// The transition to `leads_to` (`None`: to the run's end).
    fn transition(leads_to: Option<String>) -> Self {
        Self {
            name: transition_name(leads_to.as_deref()),
            kind: WindowKind::Transition,
            leads_to,
            planned: None,
        }
    }
}

/// Which part of an open window Prometheus's counts cover.
pub(crate) enum Counted {
    /// All of it: Prometheus scraped every ready pod when the window opened.
    Whole,
    /// Not yet: Prometheus has not scraped every ready pod.
    Pending,
    /// From `start_ms` on, when Prometheus had scraped every ready pod (or the
    /// wait for it gave up: `partial`).
    From {
        start_ms: u64,
        start: Box<Snapshot>,
        partial: bool,
    },
    /// None of it, for this reason.
    NotCompared(String),
}

/// A window that is open: traffic since `start` belongs to it.
struct OpenWindow {
    name: String,
    kind: WindowKind,
    leads_to: Option<String>,
    start_ms: u64,
    start: Snapshot,
    /// The Service's failed connections per version when the window opened.
    failed_at_open: BTreeMap<String, u64>,
    /// The Gateway's mirrored copies when the window opened.
    mirror_at_open: Option<MirrorCount>,
    /// Which part of the window Prometheus's counts are compared over.
    counted: Counted,
    /// From when Prometheus covers the window and whether only partly, kept
    /// when the comparison is given up (a window cut at a failing gate): the
    /// copies it counted may have decided that gate.
    copies_from: Option<(u64, bool)>,
}

/// Which part of a closed window Prometheus's counts are compared over.
pub(crate) enum ServerPart {
    Whole,
    From {
        start_ms: u64,
        /// The traffic from `start_ms` to the window's end.
        delta: Box<Snapshot>,
        partial: bool,
    },
    NotCompared(String),
}

/// A window that closed, with the traffic it saw.
pub(crate) struct ClosedWindow {
    pub(crate) name: String,
    pub(crate) kind: WindowKind,
    pub(crate) start_ms: u64,
    pub(crate) end_ms: u64,
    delta: Snapshot,
    /// The Service's failed connections per version during the window.
    failed: BTreeMap<String, u64>,
    /// The Gateway's mirrored copies at the window's open and end.
    mirror: Option<MirrorCounts>,
    pub(crate) server: ServerPart,
    /// From when Prometheus covered the window, and whether only partly.
    copies_from: Option<(u64, bool)>,
}

impl ClosedWindow {
    /// The part of the window Prometheus is asked about: from when, and whether
    /// it had scraped every ready pod by then; `None` when not compared.
    pub(crate) fn counted_from(&self) -> Option<(u64, bool)> {
        match &self.server {
            ServerPart::Whole => Some((self.start_ms, false)),
            ServerPart::From {
                start_ms, partial, ..
            } => Some((*start_ms, *partial)),
            ServerPart::NotCompared(_) => None,
        }
    }

    /// The part of the window the mirrored copies are counted over when
    /// the platform did not count them: from when Prometheus covered it,
    /// and whether only partly; `None` when nothing is to be counted.
    pub(crate) fn copies_from(&self, timeline: &[ReadySample]) -> Option<(u64, bool)> {
        let mirrored = measure::samples_for(timeline, self.start_ms, self.end_ms)
            .iter()
            .any(|s| !s.route.mirrored.is_empty());
        (self.mirror.is_none() && mirrored)
            .then_some(self.copies_from)
            .flatten()
    }

    /// What the clients measured, as the analysis takes it; `server` is
    /// Prometheus's count over the part it was asked about, and `copies` the
    /// mirrored copies it counted over the part it covered (and whether
    /// only partly) when nothing else counted them.
    fn measured(
        &self,
        offset_ms: u64,
        timeline: &[ReadySample],
        restarts: &BTreeMap<String, u32>,
        config: &AnalysisConfig,
        server: Option<ServerObservation>,
        copies: Option<&CopyMetrics>,
    ) -> MeasuredWindow {
        let partial = self.copies_from.is_some_and(|(_, partial)| partial);
        let span = |start_ms| WindowSpan {
            name: &self.name,
            kind: self.kind,
            start_ms,
            end_ms: self.end_ms,
        };
        let mut observation = measure::observation(
            span(self.start_ms),
            &self.delta,
            offset_ms,
            timeline,
            restarts,
            config,
            &self.failed,
        );
        measure::add_mirrored(&mut observation, self.mirror.as_ref(), config);
        if let Some(copies) = copies {
            copies::add(&mut observation, copies, partial, config);
        }
        let compared = match &self.server {
            ServerPart::Whole => {
                observation.server = server;
                Compared::Whole
            }
            ServerPart::From {
                start_ms, delta, ..
            } => {
                // Judged on the whole window, compared with Prometheus on the
                // part it counted.
                let mut counted = measure::observation(
                    span(*start_ms),
                    delta,
                    offset_ms,
                    timeline,
                    restarts,
                    config,
                    &BTreeMap::new(),
                );
                measure::add_mirrored(&mut counted, self.mirror.as_ref(), config);
                if let Some(copies) = copies {
                    copies::add(&mut counted, copies, partial, config);
                }
                counted.server = server.clone();
                observation.server = server;
                Compared::From(Box::new(counted))
            }
            ServerPart::NotCompared(reason) => Compared::NotCompared(reason.clone()),
        };
        MeasuredWindow {
            observation,
            compared,
        }
    }
}

/// The open window, the closed ones, and where in the plan the run is.
#[derive(Default)]
pub(crate) struct Windows {
    open: Option<OpenWindow>,
    pub(crate) closed: Vec<ClosedWindow>,
    /// The step being executed (section and index), for naming transitions.
    position: Option<(Section, usize)>,
}

impl Windows {
    /// Steps between phases form a transition window, named after the phase it
    /// leads to; open one unless a window is open or traffic has not started.
    pub(crate) fn ensure_transition<P: Platform>(
        &mut self,
        cx: &Context<'_, P>,
        traffic: Option<&Traffic>,
        section: Section,
        i: usize,
    ) {
        self.position = Some((section, i));
        if self.open.is_some() || traffic.is_none() {
            return;
        }
        let steps = match section {
            Section::Main => &cx.plan.steps,
            Section::Rollback => &cx.plan.rollback,
        };
        let next = steps[i..].iter().find_map(|step| match step {
            Step::Observe { phase, .. } | Step::Analyze { phase, .. } => Some(phase.clone()),
            _ => None,
        });
        self.open(cx, traffic, NextWindow::transition(next));
    }

    /// Open the transition of the step being executed, once traffic started.
    pub(crate) fn resume_transition<P: Platform>(
        &mut self,
        cx: &Context<'_, P>,
        traffic: Option<&Traffic>,
    ) {
        if let Some((section, i)) = self.position {
            self.ensure_transition(cx, traffic, section, i);
        }
    }

    fn open<P: Platform>(
        &mut self,
        cx: &Context<'_, P>,
        traffic: Option<&Traffic>,
        next: NextWindow,
    ) {
        let Some(traffic) = traffic else {
            return;
        };
        let start = traffic.snapshot();
        let start_ms = cx.now_ms();
        let planned_ms = next.planned.map(|d| d.as_millis() as u64);
        cx.live.lock().unwrap().window = Some(LiveWindow {
            name: next.name.clone(),
            kind: next.kind,
            leads_to: next.leads_to.clone(),
            start_ms,
            planned_ms,
            start: start.clone(),
        });
        cx.journal.emit(RunEvent::WindowOpened {
            name: next.name.clone(),
            kind: next.kind,
            leads_to: next.leads_to.clone(),
            planned_ms,
        });
        let failed_at_open = cx.failed_connections();
        let mirror_at_open = cx.mirror_copies();
        self.open = Some(OpenWindow {
            mirror_at_open,
            name: next.name,
            kind: next.kind,
            leads_to: next.leads_to,
            start_ms,
            start,
            failed_at_open,
            counted: Counted::Whole,
            copies_from: Some((start_ms, false)),
        });
    }

    /// Close the open window and open `next`, if any.
    pub(crate) fn cut<P: Platform>(
        &mut self,
        cx: &Context<'_, P>,
        traffic: Option<&Traffic>,
        next: Option<NextWindow>,
    ) {
        let Some(traffic) = traffic else {
            return;
        };
        if let Some(window) = self.open.take() {
            let end = traffic.snapshot();
            let delta = end.since(&window.start);
            let end_ms = cx.now_ms();
            cx.journal.emit(RunEvent::WindowClosed {
                name: window.name.clone(),
                kind: window.kind,
                leads_to: window.leads_to,
                answers: delta
                    .versions
                    .iter()
                    .filter(|(_, s)| s.count() > 0)
                    .map(|(v, s)| (v.clone(), s.count()))
                    .collect(),
                failed_requests: delta.errors.total(),
            });
            let failed = cx.failed_since(&window.failed_at_open);
            let server = match window.counted {
                Counted::Whole => ServerPart::Whole,
                Counted::Pending => ServerPart::NotCompared(
                    "the window closed before Prometheus scraped every ready pod".to_string(),
                ),
                Counted::From {
                    start_ms,
                    start,
                    partial,
                } => ServerPart::From {
                    start_ms,
                    delta: Box::new(end.since(&start)),
                    partial,
                },
                Counted::NotCompared(reason) => ServerPart::NotCompared(reason),
            };
            let mirror = window.mirror_at_open.zip(cx.mirror_copies());
            let closed = ClosedWindow {
                copies_from: window.copies_from,
                mirror,
                name: window.name,
                kind: window.kind,
                start_ms: window.start_ms,
                end_ms,
                delta,
                failed,
                server,
            };
            if cx.config.live.is_some() {
                // The live page's provisional report shows it as measured.
                let config = cx.analysis_config();
                let mut live = cx.live.lock().unwrap();
                let measured = closed.measured(
                    traffic.offset_ms,
                    &live.timeline,
                    &live.restarts(),
                    &config,
                    None,
                    None,
                );
                live.windows.push(measured);
            }
            self.closed.push(closed);
        }
        match next {
            Some(next) => self.open(cx, Some(traffic), next),
            None => cx.live.lock().unwrap().window = None,
        }
    }

    /// Say which part of the open window Prometheus's counts cover.
    pub(crate) fn set_counted(&mut self, counted: Counted) {
        if let Some(window) = self.open.as_mut() {
            match &counted {
                Counted::Whole => window.copies_from = Some((window.start_ms, false)),
                Counted::From {
                    start_ms, partial, ..
                } => window.copies_from = Some((*start_ms, *partial)),
                Counted::Pending => window.copies_from = None,
                // Given up comparing: Prometheus still covers what it did.
                Counted::NotCompared(_) => {}
            }
            window.counted = counted;
        }
    }

    /// From when Prometheus covers the open window, in run time, and
    /// whether only partly (it gave up waiting for a pod's first scrape);
    /// `None` while it covers none of it.
    pub(crate) fn covered_since(&self) -> Option<(u64, bool)> {
        self.open.as_ref()?.copies_from
    }

    /// Whether Prometheus's counts cover the whole open window.
    pub(crate) fn counted_whole(&self) -> bool {
        matches!(self.open.as_ref().map(|w| &w.counted), Some(Counted::Whole))
    }

    /// The open window as the clients saw it so far.
    pub(crate) fn observation_so_far<P: Platform>(
        &self,
        cx: &Context<'_, P>,
        traffic: Option<&Traffic>,
    ) -> Option<WindowObservation> {
        let (window, traffic) = (self.open.as_ref()?, traffic?);
        let delta = traffic.snapshot().since(&window.start);
        let failed = cx.failed_since(&window.failed_at_open);
        let config = cx.analysis_config();
        let mirror = window.mirror_at_open.clone().zip(cx.mirror_copies());
        let live = cx.live.lock().unwrap();
        let mut observation = measure::observation(
            WindowSpan {
                name: &window.name,
                kind: window.kind,
                start_ms: window.start_ms,
                end_ms: cx.now_ms(),
            },
            &delta,
            traffic.offset_ms,
            &live.timeline,
            &live.restarts(),
            &config,
            &failed,
        );
        measure::add_mirrored(&mut observation, mirror.as_ref(), &config);
        Some(observation)
    }

    /// For each window whose Prometheus counts cover only its later part, a note
    /// saying which part.
    pub(crate) fn partly_counted_notes(&self, language: lab_report::Language) -> Vec<String> {
        use lab_report::i18n::Localized;
        self.closed
            .iter()
            .filter_map(|window| match window.server {
                ServerPart::From { start_ms, .. } => Some(
                    lab_report::run_notes::RunNote::PartlyCounted {
                        window: &window.name,
                        after_s: start_ms.saturating_sub(window.start_ms) as f64 / 1000.0,
                        compared_s: window.end_ms.saturating_sub(start_ms) as f64 / 1000.0,
                    }
                    .render(language),
                ),
                _ => None,
            })
            .collect()
    }

    /// Every closed window as the analysis takes it, with Prometheus's counts
    /// (`server`, by window name) over the part each was compared on, and
    /// the mirrored copies it counted there (`copies`, by window name).
    pub(crate) fn measured(
        &self,
        offset_ms: u64,
        timeline: &[ReadySample],
        restarts: &BTreeMap<String, u32>,
        config: &AnalysisConfig,
        server: &BTreeMap<String, ServerObservation>,
        copies: &BTreeMap<String, CopyMetrics>,
    ) -> Vec<MeasuredWindow> {
        self.closed
            .iter()
            .map(|window| {
                window.measured(
                    offset_ms,
                    timeline,
                    restarts,
                    config,
                    server.get(&window.name).cloned(),
                    copies.get(&window.name),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_at(start_ms: u64) -> Windows {
        Windows {
            open: Some(OpenWindow {
                name: "shadow".to_owned(),
                kind: WindowKind::Analyze,
                leads_to: None,
                start_ms,
                start: Snapshot::empty(),
                failed_at_open: BTreeMap::new(),
                mirror_at_open: None,
                counted: Counted::Whole,
                copies_from: Some((start_ms, false)),
            }),
            ..Windows::default()
        }
    }

    #[test]
    fn prometheus_coverage_outlives_giving_up_the_comparison() {
        let mut windows = open_at(1000);
        assert_eq!(windows.covered_since(), Some((1000, false)));
        windows.set_counted(Counted::Pending);
        assert_eq!(windows.covered_since(), None);
        windows.set_counted(Counted::From {
            start_ms: 2500,
            start: Box::new(Snapshot::empty()),
            partial: true,
        });
        assert_eq!(windows.covered_since(), Some((2500, true)));
        // A window cut at a failing gate is not compared, but the copies
        // Prometheus counted from 2.5 s may have decided that gate.
        windows.set_counted(Counted::NotCompared("cut".to_owned()));
        assert_eq!(windows.covered_since(), Some((2500, true)));
        assert!(!windows.counted_whole());
    }
}
