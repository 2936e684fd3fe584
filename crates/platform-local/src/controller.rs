//! The Deployment controller: makes each Deployment's pods match its replicas and
//! template, with the `Recreate` or `RollingUpdate` strategy, as the Kubernetes
//! Deployment and ReplicaSet controllers do.

use crate::pod;
use crate::state::{Inner, PodRec, Shared, Strategy};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::sync::Arc;

/// Reconcile on every change until the platform shuts down (the task is aborted).
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut changes = shared.subscribe();
    loop {
        {
            let mut inner = shared.lock();
            if reconcile(&shared, &mut inner) {
                shared.bump(&inner);
            }
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// What a Deployment should do next, decided from counts alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Actions {
    /// New pods (current template) to create.
    pub(crate) create: usize,
    /// Surplus new pods to remove.
    pub(crate) remove_new: usize,
    /// Old pods (previous templates) to remove: unready ones first.
    pub(crate) remove_old: usize,
}

/// Counts the decision depends on; terminating pods are not counted, except
/// `old_terminating`, which holds back a Recreate rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) replicas: usize,
    pub(crate) new: usize,
    pub(crate) new_ready: usize,
    pub(crate) old: usize,
    pub(crate) old_ready: usize,
    pub(crate) old_terminating: usize,
}

/// Decide the next actions for one Deployment.
pub(crate) fn decide(strategy: &Strategy, counts: Counts) -> Actions {
    let Counts {
        replicas,
        new,
        new_ready,
        old,
        old_ready,
        old_terminating,
    } = counts;
    let steady = || Actions {
        create: replicas.saturating_sub(new),
        remove_new: new.saturating_sub(replicas),
        remove_old: 0,
    };
    match strategy {
        Strategy::Recreate => {
            if old > 0 {
                // Kill every old pod first; nothing new starts until they are gone.
                Actions {
                    remove_old: old,
                    ..Actions::default()
                }
            } else if old_terminating > 0 {
                Actions::default()
            } else {
                steady()
            }
        }
        Strategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } => {
            if old == 0 {
                return steady();
            }
            let surge = scaled(max_surge, replicas, true);
            let mut unavailable = scaled(max_unavailable, replicas, false);
            if surge == 0 && unavailable == 0 {
                unavailable = 1;
            }
            let total = new + old;
            let create = (replicas + surge)
                .saturating_sub(total)
                .min(replicas.saturating_sub(new));
            // Unready old pods serve nothing: remove them freely. Ready ones only
            // while enough pods stay available.
            let old_unready = old - old_ready;
            let min_available = replicas.saturating_sub(unavailable);
            let removable_ready = (new_ready + old_ready).saturating_sub(min_available);
            Actions {
                create,
                remove_new: 0,
                remove_old: old_unready + removable_ready.min(old_ready),
            }
        }
    }
}

/// `maxSurge` rounds up, `maxUnavailable` rounds down, as in Kubernetes.
fn scaled(value: &IntOrString, replicas: usize, round_up: bool) -> usize {
    match value {
        IntOrString::Int(n) => (*n).max(0) as usize,
        IntOrString::String(text) => {
            let percent: usize = text.trim_end_matches('%').parse().unwrap_or(25);
            let product = replicas * percent;
            if round_up {
                product.div_ceil(100)
            } else {
                product / 100
            }
        }
    }
}

/// Apply the decided actions to every Deployment; true when something changed.
fn reconcile(shared: &Arc<Shared>, inner: &mut Inner) -> bool {
    let names: Vec<String> = inner.deployments.keys().cloned().collect();
    let grace = shared.max_grace();
    let mut changed = false;
    for name in names {
        let (hash, strategy, replicas) = {
            let d = &inner.deployments[&name];
            (
                d.hash.clone(),
                d.strategy.clone(),
                d.replicas.max(0) as usize,
            )
        };
        let mine = |p: &&PodRec| p.deployment == name;
        let mut counts = Counts {
            replicas,
            new: 0,
            new_ready: 0,
            old: 0,
            old_ready: 0,
            old_terminating: 0,
        };
        for pod in inner.pods.values().filter(mine) {
            match (pod.hash == hash, pod.terminating) {
                (true, false) => {
                    counts.new += 1;
                    counts.new_ready += usize::from(pod.ready);
                }
                (false, false) => {
                    counts.old += 1;
                    counts.old_ready += usize::from(pod.ready);
                }
                (false, true) => counts.old_terminating += 1,
                (true, true) => {}
            }
        }
        let actions = decide(&strategy, counts);
        if actions == Actions::default() {
            continue;
        }
        changed = true;
        for _ in 0..actions.create {
            shared.create_pod(inner, &name);
        }
        // Remove unready pods first, then the youngest, as the ReplicaSet
        // controller ranks them.
        let victims = |want_new: bool, count: usize, inner: &mut Inner| {
            let mut candidates: Vec<(bool, std::time::Instant, String)> = inner
                .pods
                .iter()
                .filter(|(_, p)| {
                    p.deployment == name && !p.terminating && (p.hash == hash) == want_new
                })
                .map(|(n, p)| (p.ready, p.created, n.clone()))
                .collect();
            candidates.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            for (_, _, pod_name) in candidates.into_iter().take(count) {
                if let Some(pod) = inner.pods.get_mut(&pod_name) {
                    pod::terminate(pod, grace);
                }
            }
        };
        victims(true, actions.remove_new, inner);
        victims(false, actions.remove_old, inner);
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolling(surge: IntOrString, unavailable: IntOrString) -> Strategy {
        Strategy::RollingUpdate {
            max_surge: surge,
            max_unavailable: unavailable,
        }
    }

    fn counts(
        replicas: usize,
        new: usize,
        new_ready: usize,
        old: usize,
        old_ready: usize,
    ) -> Counts {
        Counts {
            replicas,
            new,
            new_ready,
            old,
            old_ready,
            old_terminating: 0,
        }
    }

    fn check(strategy: &Strategy, counts: Counts, expected: (usize, usize, usize)) {
        let actions = decide(strategy, counts);
        assert_eq!(
            (actions.create, actions.remove_new, actions.remove_old),
            expected,
            "{strategy:?} {counts:?}"
        );
    }

    #[test]
    fn steady_state_scales_up_and_down() {
        let s = rolling(IntOrString::Int(1), IntOrString::Int(0));
        check(&s, counts(10, 0, 0, 0, 0), (10, 0, 0));
        check(&s, counts(9, 10, 10, 0, 0), (0, 1, 0));
        check(&s, counts(10, 10, 10, 0, 0), (0, 0, 0));
        check(&Strategy::Recreate, counts(3, 1, 1, 0, 0), (2, 0, 0));
    }

    #[test]
    fn rolling_update_with_surge_one_and_no_unavailability() {
        let s = rolling(IntOrString::Int(1), IntOrString::Int(0));
        // Start: one surge pod, no old pod may go while it is unready.
        check(&s, counts(10, 0, 0, 10, 10), (1, 0, 0));
        check(&s, counts(10, 1, 0, 10, 10), (0, 0, 0));
        // The surge pod is ready: one old pod may go.
        check(&s, counts(10, 1, 1, 10, 10), (0, 0, 1));
        // Old pod gone: room for the next surge pod.
        check(&s, counts(10, 1, 1, 9, 9), (1, 0, 0));
        // Unready old pods are removed at once.
        check(&s, counts(10, 1, 0, 10, 8), (0, 0, 2));
    }

    #[test]
    fn rolling_update_percentages_round_like_kubernetes() {
        let s = rolling(
            IntOrString::String("25%".into()),
            IntOrString::String("25%".into()),
        );
        // surge ceil(2.5)=3, unavailable floor(2.5)=2 → 2 old may go at once, 3 new start.
        check(&s, counts(10, 0, 0, 10, 10), (3, 0, 2));
        assert_eq!(scaled(&IntOrString::String("25%".into()), 10, true), 3);
        assert_eq!(scaled(&IntOrString::String("25%".into()), 10, false), 2);
        // Both zero is treated as one unavailable, so a rollout can progress.
        let zero = rolling(IntOrString::Int(0), IntOrString::Int(0));
        check(&zero, counts(2, 0, 0, 2, 2), (0, 0, 1));
    }

    #[test]
    fn recreate_kills_all_old_then_waits_for_them() {
        check(&Strategy::Recreate, counts(3, 0, 0, 3, 3), (0, 0, 3));
        let waiting = Counts {
            old_terminating: 2,
            ..counts(3, 0, 0, 0, 0)
        };
        check(&Strategy::Recreate, waiting, (0, 0, 0));
        check(&Strategy::Recreate, counts(3, 0, 0, 0, 0), (3, 0, 0));
    }
}
