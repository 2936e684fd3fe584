//! The Deployment controller: makes each Deployment's pods match its replicas and
//! template, with the `Recreate` or `RollingUpdate` strategy, as the Kubernetes
//! Deployment and ReplicaSet controllers do. It creates pod records (each with
//! its address, as scheduling to this one node) and asks for pod deletions; the
//! kubelet runs and stops them.
//!
//! The decisions are pure: [`decide`] from counts, [`plan`] from the pods. A
//! rolling update's bounds are lab-core's ([`RollingUpdate::bounds`]), with
//! Kubernetes' rounding.

use crate::node::Node;
use crate::store::{DeploymentSpec, PodRecord, PodSpec, Store};
use lab_core::object::{ObjectKind, RollingUpdate, Strategy};
use lab_core::platform::PlatformError;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Start the controller.
pub(crate) fn start(store: &Arc<Store>, node: &Arc<Node>) -> Option<JoinHandle<()>> {
    Some(tokio::spawn(run(store.clone(), node.clone())))
}

/// Reconcile on every change until the platform shuts down (the task is aborted).
async fn run(store: Arc<Store>, node: Arc<Node>) {
    let mut changes = store.subscribe();
    loop {
        reconcile(&store, &node);
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// Create and delete pods so that every Deployment moves toward its spec.
fn reconcile(store: &Store, node: &Node) {
    let mut write = store.write();
    let plans: Vec<(String, DeploymentSpec, Plan)> = write
        .deployments()
        .iter()
        .map(|(name, d)| {
            (
                name.clone(),
                d.spec.clone(),
                plan(name, &d.spec, write.pods()),
            )
        })
        .collect();
    for (name, spec, plan) in plans {
        // The ReplicaSet's name: the Deployment's and the template's hash.
        let prefix = format!(
            "{name}-{}",
            &spec.template_hash[..spec.template_hash.len().min(10)]
        );
        for _ in 0..plan.create {
            let address = node.pod_address();
            let pod_spec = PodSpec {
                deployment: name.clone(),
                template_hash: spec.template_hash.clone(),
                runtime: spec.template.clone(),
            };
            let pod = write.create_pod(&prefix, pod_spec, address);
            store.event(
                "Scheduled",
                format!("pod/{pod}"),
                format!("assigned address {address}"),
            );
        }
        for pod in &plan.delete {
            write.delete_pod(pod);
        }
    }
}

/// What one Deployment should do now: how many pods to create, which to delete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    pub(crate) create: usize,
    pub(crate) delete: Vec<String>,
}

/// Count a Deployment's pods, decide, and pick the pods to delete: unready
/// ones first, then the youngest, as the ReplicaSet controller ranks them.
pub(crate) fn plan(name: &str, spec: &DeploymentSpec, pods: &BTreeMap<String, PodRecord>) -> Plan {
    let mine = || pods.iter().filter(|(_, p)| p.spec.deployment == name);
    let mut counts = Counts {
        replicas: spec.replicas.max(0) as usize,
        new: 0,
        new_ready: 0,
        old: 0,
        old_ready: 0,
        old_terminating: 0,
    };
    for (_, pod) in mine() {
        match (
            pod.spec.template_hash == spec.template_hash,
            pod.terminating(),
        ) {
            (true, false) => {
                counts.new += 1;
                counts.new_ready += usize::from(pod.status.ready);
            }
            (false, false) => {
                counts.old += 1;
                counts.old_ready += usize::from(pod.status.ready);
            }
            (false, true) => counts.old_terminating += 1,
            (true, true) => {}
        }
    }
    let actions = decide(&spec.strategy, counts);
    let victims = |new: bool, count: usize| {
        let mut candidates: Vec<(&String, &PodRecord)> = mine()
            .filter(|(_, p)| {
                !p.terminating() && (p.spec.template_hash == spec.template_hash) == new
            })
            .collect();
        candidates.sort_by(|(_, a), (_, b)| {
            a.status
                .ready
                .cmp(&b.status.ready)
                .then(b.created.cmp(&a.created))
        });
        candidates
            .into_iter()
            .take(count)
            .map(|(name, _)| name.clone())
    };
    let mut delete: Vec<String> = victims(true, actions.remove_new).collect();
    delete.extend(victims(false, actions.remove_old));
    Plan {
        create: actions.create,
        delete,
    }
}

/// `None` when the Deployment has rolled out and all replicas are ready, else a
/// line saying what is missing (`deployment my-app-v2: 0/1 ready, 1 updated`),
/// as `kubectl rollout status` tells it.
pub(crate) fn rollout_status(
    name: &str,
    deployment: Option<&DeploymentSpec>,
    pods: &BTreeMap<String, PodRecord>,
) -> Result<Option<String>, PlatformError> {
    let deployment = deployment.ok_or_else(|| PlatformError::NotFound {
        kind: ObjectKind::Deployment,
        name: name.to_string(),
    })?;
    let live = pods
        .values()
        .filter(|p| p.spec.deployment == name && !p.terminating());
    let (mut updated, mut ready, mut old) = (0i32, 0i32, 0i32);
    for pod in live {
        if pod.spec.template_hash == deployment.template_hash {
            updated += 1;
            ready += i32::from(pod.status.ready);
        } else {
            old += 1;
        }
    }
    let replicas = deployment.replicas;
    if updated == replicas && ready == replicas && old == 0 {
        return Ok(None);
    }
    let mut status = format!("deployment {name}: {ready}/{replicas} ready, {updated} updated");
    if old > 0 {
        status.push_str(&format!(", {old} old"));
    }
    Ok(Some(status))
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
        Strategy::RollingUpdate(rolling) => {
            if old == 0 {
                return steady();
            }
            let (surge, unavailable) = bounds(rolling, replicas);
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

/// A rolling update's surge and unavailable pods for `replicas`, as counts:
/// `maxSurge` rounds up, `maxUnavailable` down, and one pod may be unavailable
/// when both come to 0, as in Kubernetes.
fn bounds(rolling: &RollingUpdate, replicas: usize) -> (usize, usize) {
    let bounds = rolling.bounds(i32::try_from(replicas).unwrap_or(i32::MAX));
    let count = |pods: i32| usize::try_from(pods).unwrap_or(0);
    (count(bounds.surge), count(bounds.unavailable))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::object::PodCount;

    fn rolling(surge: PodCount, unavailable: PodCount) -> Strategy {
        Strategy::RollingUpdate(RollingUpdate {
            max_surge: surge,
            max_unavailable: unavailable,
        })
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
        let s = rolling(PodCount::Pods(1), PodCount::Pods(0));
        check(&s, counts(10, 0, 0, 0, 0), (10, 0, 0));
        check(&s, counts(9, 10, 10, 0, 0), (0, 1, 0));
        check(&s, counts(10, 10, 10, 0, 0), (0, 0, 0));
        check(&Strategy::Recreate, counts(3, 1, 1, 0, 0), (2, 0, 0));
    }

    #[test]
    fn rolling_update_with_surge_one_and_no_unavailability() {
        let s = rolling(PodCount::Pods(1), PodCount::Pods(0));
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
        let s = rolling(PodCount::Percent(25), PodCount::Percent(25));
        // surge ceil(2.5)=3, unavailable floor(2.5)=2 → 2 old may go at once, 3 new start.
        check(&s, counts(10, 0, 0, 10, 10), (3, 0, 2));
        assert_eq!(bounds(&RollingUpdate::DEFAULT, 10), (3, 2));
        // surge ceil(0.75)=1, unavailable floor(0.75)=0: one new pod, no old one goes.
        check(&s, counts(3, 0, 0, 3, 3), (1, 0, 0));
        assert_eq!(bounds(&RollingUpdate::DEFAULT, 3), (1, 0));
        // Both zero is treated as one unavailable, so a rollout can progress.
        let zero = rolling(PodCount::Pods(0), PodCount::Pods(0));
        check(&zero, counts(2, 0, 0, 2, 2), (0, 0, 1));
        assert_eq!(bounds(&RollingUpdate::DEFAULT, 0), (0, 1));
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

    use crate::store::fixtures;
    use std::time::Duration;

    /// Pods as (name, revision, ready, terminating, age in seconds).
    fn pods(specs: &[(&str, &str, bool, bool, u64)]) -> BTreeMap<String, PodRecord> {
        let template = fixtures::template(&[("app", "web")]);
        specs
            .iter()
            .map(|&(name, hash, ready, terminating, age)| {
                let mut pod = fixtures::pod(
                    "web",
                    hash,
                    &template,
                    [127, 9, 1, 1],
                    Duration::from_secs(age),
                );
                pod.status.ready = ready;
                if terminating {
                    pod.deletion = Some(crate::store::Deletion {
                        grace: Duration::from_secs(30),
                    });
                }
                (name.to_string(), pod)
            })
            .collect()
    }

    fn spec(replicas: i32, strategy: Strategy) -> DeploymentSpec {
        DeploymentSpec {
            replicas,
            template_hash: "new".into(),
            template: fixtures::template(&[("app", "web")]),
            strategy,
        }
    }

    #[test]
    fn plans_pick_unready_then_youngest_pods() {
        let surge = rolling(PodCount::Pods(1), PodCount::Pods(0));
        let check = |spec: &DeploymentSpec,
                     pods: &BTreeMap<String, PodRecord>,
                     create: usize,
                     delete: &[&str]| {
            let expected = Plan {
                create,
                delete: delete.iter().map(|d| d.to_string()).collect(),
            };
            assert_eq!(plan("web", spec, pods), expected);
        };
        // Scale down: the unready pod goes first, then the youngest ready one.
        let three = pods(&[
            ("a", "new", true, false, 30),
            ("b", "new", false, false, 40),
            ("c", "new", true, false, 10),
        ]);
        check(&spec(1, surge), &three, 0, &["b", "c"]);
        // Scale up counts only live pods: a terminating pod is replaced.
        let leaving = pods(&[("a", "new", true, false, 30), ("b", "new", false, true, 40)]);
        check(&spec(2, surge), &leaving, 1, &[]);
        // Rolling update with a ready surge pod: the youngest old pod goes.
        let rolling_out = pods(&[
            ("new-1", "new", true, false, 1),
            ("old-1", "old", true, false, 50),
            ("old-2", "old", true, false, 20),
        ]);
        check(&spec(2, surge), &rolling_out, 0, &["old-2"]);
        // Recreate: every old pod at once (youngest first), nothing new while
        // they terminate.
        check(
            &spec(2, Strategy::Recreate),
            &rolling_out,
            0,
            &["old-2", "old-1"],
        );
        let draining = pods(&[("old-1", "old", false, true, 50)]);
        check(&spec(2, Strategy::Recreate), &draining, 0, &[]);
        // Another Deployment's pods are not ours.
        let mut foreign = pods(&[("x", "new", true, false, 5)]);
        foreign.get_mut("x").unwrap().spec.deployment = "api".into();
        check(&spec(1, Strategy::Recreate), &foreign, 1, &[]);
    }

    #[test]
    fn rollout_status_says_what_is_missing() {
        let surge = rolling(PodCount::Pods(1), PodCount::Pods(0));
        let check = |replicas: i32, pods: &BTreeMap<String, PodRecord>, expected: Option<&str>| {
            let status = rollout_status("web", Some(&spec(replicas, surge)), pods).unwrap();
            assert_eq!(status.as_deref(), expected);
        };
        let done = pods(&[("a", "new", true, false, 5), ("b", "old", true, true, 9)]);
        check(1, &done, None);
        check(2, &done, Some("deployment web: 1/2 ready, 1 updated"));
        let mixed = pods(&[("a", "new", false, false, 5), ("b", "old", true, false, 9)]);
        check(
            1,
            &mixed,
            Some("deployment web: 0/1 ready, 1 updated, 1 old"),
        );
        assert_eq!(
            rollout_status("web", None, &done),
            Err(PlatformError::NotFound {
                kind: ObjectKind::Deployment,
                name: "web".into()
            })
        );
    }
}
