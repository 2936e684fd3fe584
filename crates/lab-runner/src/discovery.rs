//! Prometheus discovering new pods: it sends discovery updates at most every
//! few seconds, so a phase starts only once Prometheus reports every ready pod
//! `up`, and an analyze window, which opens at once, is compared with
//! Prometheus only over the part after that.

use crate::context::{Context, Interrupted};
use crate::routes::entry_endpoints;
use crate::traffic::Traffic;
use crate::windows::{Counted, Windows};
use lab_core::platform::Platform;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How often Prometheus's targets are polled while waiting for new pods.
const DISCOVERY_POLL: Duration = Duration::from_millis(250);

/// Whether Prometheus scrapes every ready endpoint of the Service.
pub(crate) enum Discovery {
    Complete,
    Missing(Vec<String>),
    /// No Prometheus (any more).
    Unavailable,
}

/// Whether Prometheus scrapes every ready endpoint of the Service now.
pub(crate) async fn discovery<P: Platform>(
    cx: &mut Context<'_, P>,
) -> Result<Discovery, Interrupted> {
    let Some(prometheus) = cx.prometheus.clone() else {
        return Ok(Discovery::Unavailable);
    };
    let routes = cx.live.lock().unwrap().routes.clone();
    let wanted: BTreeSet<String> = match entry_endpoints(cx.platform, cx.plan, &routes).await {
        Some((endpoints, _)) => endpoints.into_iter().map(|e| e.pod).collect(),
        None => return Ok(Discovery::Complete),
    };
    match cx.guard(prometheus.targets()).await? {
        Ok(targets) => {
            let up: BTreeSet<String> = targets
                .iter()
                .filter(|t| t.health == "up")
                .filter_map(|t| t.labels.get("pod").cloned())
                .collect();
            let missing: Vec<String> = wanted.difference(&up).cloned().collect();
            Ok(if missing.is_empty() {
                Discovery::Complete
            } else {
                Discovery::Missing(missing)
            })
        }
        Err(error) => {
            cx.prometheus_lost(&error);
            Ok(Discovery::Unavailable)
        }
    }
}

/// Wait until Prometheus scrapes every ready pod, or note that it did not in time.
pub(crate) async fn await_discovery<P: Platform>(
    cx: &mut Context<'_, P>,
) -> Result<(), Interrupted> {
    let deadline = Instant::now() + cx.config.discovery_timeout;
    loop {
        match discovery(cx).await? {
            Discovery::Missing(missing) if Instant::now() >= deadline => {
                note_late_discovery(cx, &missing);
                return Ok(());
            }
            Discovery::Missing(_) => {}
            Discovery::Complete | Discovery::Unavailable => return Ok(()),
        }
        cx.guard(tokio::time::sleep(DISCOVERY_POLL)).await?;
    }
}

fn note_late_discovery<P: Platform>(cx: &mut Context<'_, P>, missing: &[String]) {
    let timeout_s = cx.config.discovery_timeout.as_secs();
    cx.say(lab_report::run_notes::RunNote::LateDiscovery {
        pods: &missing.join(", "),
        timeout_s,
    });
}

/// Follow Prometheus until `until` while the open window waits for it to
/// scrape every ready pod. Returns when its counts start to cover the window:
/// now, or `started` when there is no Prometheus to wait for; `None` when
/// `until` came first.
pub(crate) async fn follow_discovery<P: Platform>(
    cx: &mut Context<'_, P>,
    windows: &mut Windows,
    traffic: Option<&Traffic>,
    started: tokio::time::Instant,
    until: tokio::time::Instant,
    give_up: tokio::time::Instant,
) -> Result<Option<tokio::time::Instant>, Interrupted> {
    loop {
        let now = tokio::time::Instant::now();
        let partial = match discovery(cx).await? {
            Discovery::Missing(missing) if now >= give_up => {
                note_late_discovery(cx, &missing);
                true
            }
            Discovery::Missing(_) => {
                let wake = (tokio::time::Instant::now() + DISCOVERY_POLL).min(until);
                cx.guard(tokio::time::sleep_until(wake)).await?;
                if wake >= until {
                    return Ok(None);
                }
                continue;
            }
            Discovery::Complete => false,
            Discovery::Unavailable => {
                windows.set_counted(Counted::Whole);
                return Ok(Some(started));
            }
        };
        let counted = match traffic {
            Some(traffic) => Counted::From {
                start_ms: cx.now_ms(),
                start: Box::new(traffic.snapshot()),
                partial,
            },
            None => Counted::Whole,
        };
        windows.set_counted(counted);
        return Ok(Some(now));
    }
}
