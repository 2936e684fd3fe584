//! The named comparisons, and choosing them on the command line by name, alias
//! or group.

use super::setup::Bench;
use super::statistics::Outcome;
use super::{gateway, lab, live_page, loadgen, server, service};
use crate::exit::Usage;
use crate::prereq;

/// One comparison: its name, what it shows, what it needs and how to run it.
pub(crate) struct Comparison {
    /// Its name on the command line.
    pub(crate) name: &'static str,
    /// Other names it answers to on the command line.
    pub(crate) aliases: &'static [&'static str],
    pub(crate) about: &'static str,
    /// External programs it runs, installed or asked for before anything runs.
    pub(crate) tools: &'static [prereq::Tool],
    /// The commands it runs, for `--dry-run` and for reproducing it by hand.
    pub(crate) plan: fn(&Bench) -> Vec<String>,
    pub(crate) run: fn(&Bench) -> anyhow::Result<Outcome>,
}

pub(crate) const COMPARISONS: &[Comparison] = &[
    Comparison {
        name: "loadgen-keepalive",
        aliases: &[],
        about: "loadgen vs oha against demo-app, closed loop at full speed, kept-alive connections",
        tools: &[prereq::OHA],
        plan: loadgen::keepalive_plan,
        run: loadgen::keepalive,
    },
    Comparison {
        name: "loadgen-newconn",
        aliases: &[],
        about: "loadgen vs oha against demo-app, closed loop at full speed, a new connection per request",
        tools: &[prereq::OHA],
        plan: loadgen::newconn_plan,
        run: loadgen::newconn,
    },
    Comparison {
        name: "demo-app-keepalive",
        aliases: &[],
        about: "demo-app vs nginx serving the same answer, wrk with kept-alive connections",
        tools: &[prereq::NGINX, prereq::WRK],
        plan: server::keepalive_plan,
        run: server::keepalive,
    },
    Comparison {
        name: "demo-app-newconn",
        aliases: &[],
        about: "demo-app vs nginx serving the same answer, wrk with a new connection per request",
        tools: &[prereq::NGINX, prereq::WRK],
        plan: server::newconn_plan,
        run: server::newconn,
    },
    Comparison {
        name: "service-keepalive",
        aliases: &[],
        about: "the local platform's Service vs its pod addressed directly, oha with kept-alive connections",
        tools: &[prereq::OHA],
        plan: service::keepalive_plan,
        run: service::keepalive,
    },
    Comparison {
        name: "service-newconn",
        aliases: &[],
        about: "the local platform's Service vs its pod addressed directly, oha with a new connection per request",
        tools: &[prereq::OHA],
        plan: service::newconn_plan,
        run: service::newconn,
    },
    Comparison {
        name: "service-nat-keepalive",
        aliases: &[],
        about: "the local platform's Service as nftables DNAT vs its pod in a network namespace, oha with kept-alive connections (root)",
        tools: &[prereq::OHA, prereq::NFT],
        plan: service::nat_keepalive_plan,
        run: service::nat_keepalive,
    },
    Comparison {
        name: "service-nat-newconn",
        aliases: &[],
        about: "the local platform's Service as nftables DNAT vs its pod in a network namespace, oha with a new connection per request (root)",
        tools: &[prereq::OHA, prereq::NFT],
        plan: service::nat_newconn_plan,
        run: service::nat_newconn,
    },
    Comparison {
        name: "gateway-latency",
        aliases: &[],
        about: "the median latency the local gateway adds to a request, against its pod addressed directly (oha, one connection)",
        tools: &[prereq::OHA],
        plan: gateway::latency_plan,
        run: gateway::latency,
    },
    Comparison {
        name: "lab-run-canary",
        aliases: &["scenario"],
        about: "wall time of `lab run canary --platform local --profile quick`, the whole process",
        tools: &[prereq::PROMETHEUS],
        plan: lab::canary_plan,
        run: lab::canary,
    },
    Comparison {
        name: "lab-compare-quick",
        aliases: &[],
        about: "wall time of `lab compare --profile quick` over every shipped scenario",
        tools: &[prereq::PROMETHEUS],
        plan: lab::compare_plan,
        run: lab::compare,
    },
    Comparison {
        name: "bad-canary-decision",
        aliases: &[],
        about: "time from v2 ready to the roll-back decision of `lab run bad-canary --profile quick`",
        tools: &[prereq::PROMETHEUS],
        plan: lab::bad_canary_plan,
        run: lab::bad_canary,
    },
    Comparison {
        name: "demo-app-memory",
        aliases: &[],
        about: "demo-app's idle resident memory, fresh and after a burst of traffic",
        tools: &[],
        plan: server::memory_plan,
        run: server::memory,
    },
    Comparison {
        name: "loadgen-memory",
        aliases: &[],
        about: "loadgen's peak resident memory during a full-speed run",
        tools: &[],
        plan: loadgen::memory_plan,
        run: loadgen::memory,
    },
    Comparison {
        name: "live-page-cpu",
        aliases: &["live-page"],
        about: "CPU time of `lab run canary --profile quick` with the live page and a browser on it, against --no-live",
        tools: &[prereq::PROMETHEUS, prereq::CHROMIUM],
        plan: live_page::plan,
        run: live_page::run,
    },
];

/// The comparisons named on the command line (all when none is): one by its name
/// or an alias, or a group by the first part of their names (`loadgen` runs
/// `loadgen-keepalive`, `loadgen-newconn` and `loadgen-memory`).
pub(crate) fn choose(name: Option<&str>) -> Result<Vec<&'static Comparison>, Usage> {
    let Some(name) = name else {
        return Ok(COMPARISONS.iter().collect());
    };
    if let Some(one) = COMPARISONS
        .iter()
        .find(|c| c.name == name || c.aliases.contains(&name))
    {
        return Ok(vec![one]);
    }
    let group: Vec<&Comparison> = COMPARISONS
        .iter()
        .filter(|c| {
            c.name
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('-'))
        })
        .collect();
    if !group.is_empty() {
        return Ok(group);
    }
    let names: Vec<&str> = COMPARISONS.iter().map(|c| c.name).collect();
    Err(Usage(format!(
        "bench: no comparison named {name:?} (one of: {}; or a group: {})",
        names.join(", "),
        groups().join(", ")
    )))
}

/// The groups of comparisons: the first parts of names that more than one share.
pub(crate) fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&str> = Vec::new();
    for c in COMPARISONS {
        if let Some((first, _)) = c.name.rsplit_once('-')
            && !groups.contains(&first)
            && COMPARISONS
                .iter()
                .filter(|o| {
                    o.name
                        .strip_prefix(first)
                        .is_some_and(|r| r.starts_with('-'))
                })
                .count()
                > 1
        {
            groups.push(first);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    #[test]
    fn every_comparison_has_a_plan_with_its_tools() {
        let bench = Bench {
            rounds: Some(2),
            duration: Some(Duration::from_secs(3)),
            binaries: PathBuf::from("/bin-dir"),
            scratch: PathBuf::from("/scratch"),
        };
        let mut names: Vec<&str> = COMPARISONS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COMPARISONS.len(), "names are unique");
        for comparison in COMPARISONS {
            let plan = (comparison.plan)(&bench).join("\n");
            assert!(!plan.is_empty(), "{} has no plan", comparison.name);
            for tool in comparison.tools {
                assert!(
                    plan.contains(tool.binary),
                    "{}'s plan does not run {}:\n{plan}",
                    comparison.name,
                    tool.binary
                );
            }
            // The run length and the rounds asked for reach the plan.
            assert!(plan.contains("round"), "{}:\n{plan}", comparison.name);
        }
    }

    #[test]
    fn choosing_comparisons() {
        assert_eq!(choose(None).unwrap().len(), COMPARISONS.len());
        let one = choose(Some("service-newconn")).unwrap();
        assert_eq!(
            one.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["service-newconn"]
        );
        let loadgen = choose(Some("loadgen")).unwrap();
        assert_eq!(
            loadgen.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["loadgen-keepalive", "loadgen-newconn", "loadgen-memory"]
        );
        let demo_app = choose(Some("demo-app")).unwrap();
        assert_eq!(
            demo_app.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["demo-app-keepalive", "demo-app-newconn", "demo-app-memory"]
        );
        assert_eq!(groups(), ["loadgen", "demo-app", "service", "service-nat"]);
        let nat = choose(Some("service-nat")).unwrap();
        assert_eq!(
            nat.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["service-nat-keepalive", "service-nat-newconn"]
        );
        assert!(
            choose(Some("load")).is_err(),
            "a group is a whole first part"
        );
        let scenario = choose(Some("scenario")).unwrap();
        assert_eq!(
            scenario.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["lab-run-canary"]
        );
        let error = choose(Some("nope")).err().unwrap().0;
        assert!(
            error.starts_with("bench: no comparison named \"nope\" (one of: loadgen-keepalive,")
        );
    }
}
