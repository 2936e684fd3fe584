//! The analyze phase: every analysis interval the gates are judged on the
//! traffic so far; a gate that fails with clear evidence ends the analysis at
//! once, otherwise the decision comes at the end of the phase.

use crate::context::{Context, Interrupted, StepFailure};
use crate::copies;
use crate::discovery::{Discovery, discovery, follow_discovery};
use crate::traffic::Traffic;
use crate::windows::{Counted, Windows};
use lab_core::analysis::{
    AnalysisConfig, Decision, Interim, WindowObservation, analyze_window, decide, evaluate_interim,
    mirror_only_versions,
};
use lab_core::platform::Platform;
use lab_core::run_event::{InterimVerdict, RunEvent};
use std::time::Duration;

/// Observe the analyze phase, checking the gates every interval; stop early
/// when a gate fails with clear evidence.
///
/// The window opened when the candidate became ready. When Prometheus has not
/// scraped every ready pod yet, the phase lasts its full length from the
/// moment it has (so its counts cover a whole phase, as in observe phases),
/// while the gates are checked from the start.
pub(crate) async fn analyze<P: Platform>(
    cx: &mut Context<'_, P>,
    windows: &mut Windows,
    traffic: Option<&Traffic>,
    phase: &str,
    duration: Duration,
    interval: Duration,
    started: tokio::time::Instant,
) -> Result<Decision, StepFailure> {
    let config = cx.analysis_config();
    let opened = tokio::time::Instant::now();
    let give_up = opened + cx.config.discovery_timeout;
    let mut counting_from = match discovery(cx).await? {
        Discovery::Missing(_) => {
            windows.set_counted(Counted::Pending);
            None
        }
        Discovery::Complete | Discovery::Unavailable => Some(opened),
    };
    let mut intervals = 0u32;
    loop {
        let tick = started + interval * (intervals + 1);
        if counting_from.is_none() {
            counting_from = follow_discovery(cx, windows, traffic, opened, tick, give_up).await?;
        }
        let end = counting_from.map(|from| from + duration);
        let next = end.map_or(tick, |end| tick.min(end));
        cx.guard(tokio::time::sleep_until(next)).await?;
        let at_end = end.is_some_and(|end| next >= end);
        if !at_end {
            intervals += 1;
        }
        // Restarts as they are now, not as last sampled: a crash just before
        // this look counts.
        cx.refresh_restarts().await;
        let Some(mut observation) = windows.observation_so_far(cx, traffic) else {
            return Err(StepFailure::Failed(
                "no traffic during the analyze phase".to_string(),
            ));
        };
        count_copies(cx, windows, &mut observation, &config).await?;
        let gates = analyze_window(&observation, &config).gates;
        if at_end {
            if intervals == 0 || next > started + interval * intervals {
                intervals += 1;
            }
            return Ok(decide(phase, gates, &cx.plan.gates, cx.timing(intervals)));
        }
        let interim = evaluate_interim(&gates);
        cx.journal.emit(RunEvent::Interim {
            window: phase.to_string(),
            verdict: match &interim {
                Interim::FailNow { .. } => InterimVerdict::FailNow,
                Interim::KeepObserving { .. } => InterimVerdict::KeepObserving,
                Interim::PassSoFar => InterimVerdict::PassSoFar,
            },
            gates: gates
                .iter()
                .map(|g| {
                    format!(
                        "{} {}: {}",
                        g.gate.as_str(),
                        g.verdict.as_str(),
                        g.explanation
                    )
                })
                .collect(),
        });
        if let Interim::FailNow { .. } = interim {
            // A window cut at its first failing gate ends at an arbitrary
            // instant, often before Prometheus scraped the candidate at all:
            // comparing counts would measure that race, not the lab.
            if !windows.counted_whole() {
                windows.set_counted(Counted::NotCompared(
                    "the analysis stopped at a failing gate before Prometheus had counted the whole window".to_string(),
                ));
            }
            return Ok(decide(phase, gates, &cx.plan.gates, cx.timing(intervals)));
        }
    }
}

/// Add the copies the mirror targets' metrics counted, from when Prometheus
/// covers the window, when nothing else counted them and the routes mirrored
/// to a version that serves no user. Prometheus failing here is said once and
/// the run goes on without it (the gates then have no copies to judge).
async fn count_copies<P: Platform>(
    cx: &mut Context<'_, P>,
    windows: &Windows,
    observation: &mut WindowObservation,
    config: &AnalysisConfig,
) -> Result<(), Interrupted> {
    if observation.gateway.mirror_source.is_some() || mirror_only_versions(observation).is_empty() {
        return Ok(());
    }
    let (Some(prometheus), Some((from_ms, partial))) =
        (cx.prometheus.clone(), windows.covered_since())
    else {
        return Ok(());
    };
    let to_ms = cx.now_ms();
    let asked = copies::query(&prometheus, cx.plan, cx.wall_start, from_ms, to_ms);
    match cx.guard(asked).await? {
        Ok(metrics) => copies::add(observation, &metrics, partial, config),
        Err(error) => cx.prometheus_lost(&error),
    }
    Ok(())
}
