//! Opening a lab for a run: the platform started (local) or connected to (a
//! cluster lab that `lab up` brought up), its capabilities wired, and the run's
//! configuration.

use crate::cluster::recorded;
use crate::error::SessionError;
use crate::home::LabHome;
use crate::local::prometheus_for_run;
use crate::platform::LabPlatform;
use lab_core::limits;
use lab_core::object::ObjectKind;
use lab_core::plan::{Placement, Plan};
use lab_core::platform::Platform;
use lab_core::replay::{self, PeakPods};
use lab_core::scenario::{DEFINITION_FILE, Manifest};
use lab_runner::RunConfig;
use platform_kube::lab::{self, PASSWORD_FILE};
use platform_kube::monitoring::GRAFANA_USER;
use platform_kube::{Grafana, Provider};
use platform_local::{LocalConfig, LocalPlatform, PodNetworkChosen};
use std::path::PathBuf;
use tokio::sync::watch;

/// Where a lab runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformChoice {
    /// Processes on this machine, with the real Prometheus.
    Local,
    /// A cluster: kind, minikube or an existing context.
    Cluster(Provider),
}

impl PlatformChoice {
    /// Where a plan for this platform runs: on a cluster, waits of at least
    /// two minutes, the endpoint settle and kubectl lines in the lab's namespace.
    pub fn placement(&self) -> Placement {
        match self {
            PlatformChoice::Local => Placement::local(),
            PlatformChoice::Cluster(provider) => lab::run_placement(provider),
        }
    }

    /// Whether the platform runs `peak` pods at once; `definition` names the
    /// scenario file in the message. The local platform runs each pod as a
    /// process on this machine, so it refuses more than
    /// [`limits::LOCAL_MAX_PODS`]; a cluster's scheduler decides there.
    pub fn check_pods(&self, peak: &PeakPods, definition: &str) -> Result<(), String> {
        match self {
            PlatformChoice::Local if peak.pods > limits::LOCAL_MAX_PODS => Err(format!(
                "{definition}: {} runs up to {} pods at once, more than the local platform's limit ({}): each pod is a process on this machine; give fewer replicas, or run it on a cluster (--platform kind)",
                peak.step_label(),
                peak.pods,
                limits::LOCAL_MAX_PODS
            )),
            PlatformChoice::Local | PlatformChoice::Cluster(_) => Ok(()),
        }
    }
}

/// Where traffic is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrafficFrom {
    /// This machine, through the Service's NodePort (or the local listener).
    #[default]
    Host,
    /// A loadgen Job inside the cluster (cluster platforms only).
    InCluster,
}

/// What is asked of a lab: where it runs and where its traffic comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabSpec {
    platform: PlatformChoice,
    traffic: TrafficFrom,
}

impl LabSpec {
    /// A lab on `platform` with traffic from `traffic`; in-cluster traffic needs
    /// a cluster.
    pub fn new(platform: PlatformChoice, traffic: TrafficFrom) -> Result<Self, SessionError> {
        if traffic == TrafficFrom::InCluster && platform == PlatformChoice::Local {
            return Err(SessionError::Usage(
                "--traffic in-cluster: needs a cluster platform (--platform kind|minikube or --context); the local platform has no cluster".into(),
            ));
        }
        Ok(Self { platform, traffic })
    }

    /// Where the lab runs.
    pub fn platform(&self) -> &PlatformChoice {
        &self.platform
    }

    /// Whether this lab's platform runs the plan: bad input (exit 2) when it
    /// asks for more pods at once than the platform runs. Checked before
    /// anything starts.
    pub fn check_plan(&self, plan: &Plan) -> Result<(), SessionError> {
        let Some(peak) = replay::peak_pods(plan) else {
            return Ok(());
        };
        let definition = format!("{}/{DEFINITION_FILE}", plan.dir.trim_end_matches('/'));
        self.platform
            .check_pods(&peak, &definition)
            .map_err(SessionError::Usage)
    }

    /// Whether pods run the demo-app binary on this machine (the local
    /// platform), so it must be supplied.
    pub fn needs_demo_app(&self) -> bool {
        self.platform == PlatformChoice::Local
    }

    /// Whether the lab `lab up` recorded is on this spec's cluster: bad input
    /// (exit 2) naming both when a run asks for one cluster and the lab is up
    /// on another, so the recorded lab never silently wins over the flag.
    pub fn check_recorded(&self, home: &LabHome) -> Result<(), SessionError> {
        let PlatformChoice::Cluster(asked) = &self.platform else {
            return Ok(());
        };
        match recorded(home)? {
            Some(state) if state.provider != *asked => Err(SessionError::Usage(format!(
                "{}: the lab is up on {}, not on {}: run on {} or `cargo xtask lab down` first",
                flag(asked),
                state.provider.name(),
                asked.name(),
                state.provider.name()
            ))),
            _ => Ok(()),
        }
    }

    /// Whether the lab's cluster must be brought up (`lab up`) before a run.
    pub fn needs_cluster_up(&self, home: &LabHome) -> Result<bool, SessionError> {
        Ok(matches!(self.platform, PlatformChoice::Cluster(_)) && recorded(home)?.is_none())
    }
}

/// The flag that asks for `provider`: `--platform kind`, `--context NAME`.
fn flag(provider: &Provider) -> String {
    match provider {
        Provider::Context(name) => format!("--context {name}"),
        Provider::Kind | Provider::Minikube => format!("--platform {}", provider.name()),
    }
}

/// What the environment supplies for a run.
#[derive(Debug, Clone, Default)]
pub struct Supplies {
    /// The demo-app binary the local platform's pods run.
    pub demo_app: Option<PathBuf>,
    /// The Prometheus binary to start (`--prometheus`); must be a file. Without
    /// it, the lab's own Prometheus (`lab up --platform local`) or the one
    /// installed on this machine.
    pub prometheus: Option<PathBuf>,
    /// Images mapped to local programs (the local platform's pods).
    pub images: platform_local::image_map::ImageMap,
    /// Whether a container's `command` in a manifest may name its program.
    pub allow_pod_commands: bool,
    /// How the local platform's pods get their network (`--pod-network`),
    /// said in the report's notes; `None` is loopback, unsaid.
    pub pod_network: Option<platform_local::PodNetworkMode>,
    /// Why the local platform runs without Prometheus (the pods expose no
    /// metrics), said in the report; `None` starts it.
    pub no_metrics: Option<String>,
    /// The language the run's notes are said in.
    pub language: lab_report::Language,
}

/// A lab opened for a run: the platform, and the run's configuration (its id,
/// directory, interrupt and notes; the caller sets what it decides, such as
/// connections, `keep` and an observer).
pub struct OpenRun {
    /// The platform, every capability wired.
    pub platform: LabPlatform,
    /// The run's configuration.
    pub config: RunConfig,
}

/// Open a lab for a run of `plan`: start the local platform (attaching to the
/// lab's Prometheus, or starting one) or connect to the cluster lab, wire its
/// capabilities, and give the run a new id and directory under the home.
/// `interrupt` stops the run. Bad input fails before anything is created.
pub async fn open_run(
    spec: &LabSpec,
    home: &LabHome,
    plan: &Plan,
    supplies: Supplies,
    interrupt: watch::Receiver<bool>,
) -> Result<OpenRun, SessionError> {
    spec.check_plan(plan)?;
    spec.check_recorded(home)?;
    let mut notes = Vec::new();
    let platform = match &spec.platform {
        PlatformChoice::Local => {
            // Found (and a bad --prometheus refused) even when it is not started.
            let found = prometheus_for_run(
                home,
                supplies.prometheus.as_deref(),
                plan.profile.scrape_interval,
                supplies.language,
            )?;
            let prometheus = match (supplies.no_metrics, found) {
                (Some(reason), _) | (None, Err(reason)) => {
                    notes.push(reason);
                    None
                }
                (None, Ok(config)) => Some(config),
            };
            let demo_app = supplies.demo_app.ok_or_else(|| {
                SessionError::Missing("the local platform needs the demo-app binary".into())
            })?;
            let (run_id, run_dir) = home.new_run(&plan.scenario);
            let platform = LocalPlatform::start(LocalConfig {
                run_dir: run_dir.join("platform"),
                demo_app,
                prometheus,
                namespace: "canary-lab".to_string(),
                state_file: Some(home.run_state_file()),
                max_grace: None,
                proxy_sync_delay: plan.profile.proxy_sync_delay,
                images: supplies.images,
                allow_pod_commands: supplies.allow_pod_commands,
                pod_network: supplies.pod_network.unwrap_or_default(),
            })
            .await
            .map_err(|error| {
                SessionError::Local(format!("could not start the local platform: {error}"))
            })?;
            if supplies.pod_network.is_some() {
                notes.push(pod_network_note(platform.pod_network(), supplies.language));
            }
            return Ok(OpenRun {
                platform: LabPlatform::local(platform),
                config: config(run_id, run_dir, interrupt, notes),
            });
        }
        PlatformChoice::Cluster(_) => {
            let root = home.repo_root();
            let mut platform = lab::lab_platform(root).await?;
            // Before anything is applied: Gateways and HTTPRoutes need the
            // Gateway API and its implementation, which only `lab up --gateway`
            // installs.
            if uses_gateway_api(&plan.manifests)
                && let Some(missing) = lab::missing_gateway(platform.client()).await?
            {
                return Err(SessionError::Usage(missing));
            }
            // The plan's scrape interval must be the cluster's, or its
            // cross-check tolerance, final settle and report would be wrong.
            if let Some(change) =
                lab::ensure_scrape_interval(platform.client(), root, plan.profile.scrape_interval)
                    .await?
            {
                notes.push(scrape_interval_note(&change, supplies.language));
            }
            if let Some(url) = platform.urls().grafana
                && let Ok(password) = std::fs::read_to_string(root.join(PASSWORD_FILE))
            {
                platform = platform.with_grafana(Grafana::new(url, GRAFANA_USER, password.trim()));
            }
            if spec.traffic == TrafficFrom::InCluster {
                platform = platform.with_in_cluster_traffic();
            }
            LabPlatform::cluster(platform)
        }
    };
    let (run_id, run_dir) = home.new_run(&plan.scenario);
    Ok(OpenRun {
        platform,
        config: config(run_id, run_dir, interrupt, notes),
    })
}

/// Whether manifests (a plan's or a scenario's) hold Gateway API objects
/// (Gateways, HTTPRoutes): a cluster then needs `lab up --gateway`.
pub fn uses_gateway_api(manifests: &[Manifest]) -> bool {
    manifests
        .iter()
        .flat_map(|m| &m.objects)
        .any(|o| matches!(o.kind(), ObjectKind::Gateway | ObjectKind::HttpRoute))
}

/// The note saying how the pods got their network, in `language`.
fn pod_network_note(chosen: &PodNetworkChosen, language: lab_report::Language) -> String {
    use lab_report::i18n::Localized;
    use lab_report::run_notes::RunNote;
    match chosen {
        PodNetworkChosen::Loopback { unavailable } => RunNote::PodNetworkLoopback {
            unavailable: unavailable.as_deref(),
        },
        PodNetworkChosen::Netns {
            pods,
            bridge,
            services,
        } => RunNote::PodNetworkNetns {
            pods,
            bridge,
            services,
        },
    }
    .render(language)
}

/// The note saying the cluster's Prometheus now scrapes at the plan's
/// interval, in `language`.
fn scrape_interval_note(
    change: &lab::ScrapeIntervalChange,
    language: lab_report::Language,
) -> String {
    use lab_report::i18n::Localized;
    use lab_report::run_notes::RunNote;
    use platform_kube::monitoring::prometheus_duration;
    let was = change.was.map(prometheus_duration);
    RunNote::ScrapeIntervalChanged {
        was: was.as_deref(),
        now: &prometheus_duration(change.now),
    }
    .render(language)
}

fn config(
    run_id: String,
    run_dir: PathBuf,
    interrupt: watch::Receiver<bool>,
    notes: Vec<String>,
) -> RunConfig {
    let mut config = RunConfig::new(run_id, run_dir, interrupt);
    config.notes = notes;
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::report::Section;

    #[test]
    fn the_local_platform_refuses_more_pods_than_it_runs_and_a_cluster_does_not() {
        let peak = |pods| PeakPods {
            pods,
            section: Section::Main,
            index: 3,
        };
        let local = PlatformChoice::Local;
        assert_eq!(local.check_pods(&peak(50), "s/scenario.toml"), Ok(()));
        assert_eq!(
            local.check_pods(&peak(51), "s/scenario.toml"),
            Err("s/scenario.toml: step 4 runs up to 51 pods at once, more than the local platform's limit (50): each pod is a process on this machine; give fewer replicas, or run it on a cluster (--platform kind)".to_owned())
        );
        let kind = PlatformChoice::Cluster(Provider::Kind);
        assert_eq!(kind.check_pods(&peak(5000), "s/scenario.toml"), Ok(()));
    }

    #[test]
    fn the_scrape_interval_note_is_said_in_the_runs_language() {
        let change = lab::ScrapeIntervalChange {
            was: Some(std::time::Duration::from_secs(5)),
            now: std::time::Duration::from_millis(1500),
        };
        assert_eq!(
            scrape_interval_note(&change, lab_report::Language::English),
            "the cluster's Prometheus scraped every 5s; it was reconfigured and restarted to scrape every 1500ms, as the plan says (metrics of earlier runs are gone from it)"
        );
        let korean = scrape_interval_note(&change, lab_report::Language::Korean);
        assert!(korean.contains("5s마다"), "{korean}");
        assert!(korean.contains("1500ms마다"), "{korean}");
        let unknown = lab::ScrapeIntervalChange {
            was: None,
            ..change
        };
        assert!(
            scrape_interval_note(&unknown, lab_report::Language::Korean).contains("알 수 없어서")
        );
    }

    use platform_kube::lab::{LabState, STATE_FILE};

    /// A home whose repository records a cluster lab on `provider`.
    fn home_with_lab(provider: Option<Provider>) -> (tempfile::TempDir, LabHome) {
        let dir = tempfile::tempdir().unwrap();
        if let Some(provider) = provider {
            let state = LabState {
                context: provider.kube_context(),
                provider,
                demo_app_image: "canary-lab/demo-app:1".into(),
                loadgen_image: "canary-lab/loadgen:1".into(),
                created: Vec::new(),
                gateway: false,
            };
            let path = dir.path().join(STATE_FILE);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
        }
        let home = LabHome::at(dir.path(), dir.path().join("target/lab"));
        (dir, home)
    }

    fn spec(platform: PlatformChoice) -> LabSpec {
        LabSpec::new(platform, TrafficFrom::Host).unwrap()
    }

    #[test]
    fn a_run_on_another_cluster_than_the_recorded_lab_is_refused_naming_both() {
        let (_dir, home) = home_with_lab(Some(Provider::Kind));
        let error = spec(PlatformChoice::Cluster(Provider::Minikube))
            .check_recorded(&home)
            .unwrap_err();
        assert!(error.is_usage(), "{error:?}");
        assert_eq!(
            error.to_string(),
            "--platform minikube: the lab is up on kind, not on minikube: run on kind or `cargo xtask lab down` first"
        );
        assert!(!error.to_string().contains('\n'));

        let (_dir, home) = home_with_lab(Some(Provider::Minikube));
        let error = spec(PlatformChoice::Cluster(Provider::Context("dev".into())))
            .check_recorded(&home)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "--context dev: the lab is up on minikube, not on context dev: run on minikube or `cargo xtask lab down` first"
        );
    }

    #[test]
    fn a_run_on_the_recorded_cluster_or_with_none_recorded_or_locally_goes_ahead() {
        let (_dir, home) = home_with_lab(Some(Provider::Kind));
        spec(PlatformChoice::Cluster(Provider::Kind))
            .check_recorded(&home)
            .unwrap();
        spec(PlatformChoice::Local).check_recorded(&home).unwrap();
        let (_dir, home) = home_with_lab(None);
        spec(PlatformChoice::Cluster(Provider::Minikube))
            .check_recorded(&home)
            .unwrap();
    }

    #[tokio::test]
    async fn opening_a_run_on_another_cluster_fails_before_anything_starts() {
        let (_dir, home) = home_with_lab(Some(Provider::Kind));
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lab/scenarios/canary");
        let scenario = lab_runner::load_scenario(&dir, "lab/scenarios/canary").unwrap();
        let plan = Plan::build(
            &scenario,
            lab_core::plan::ProfileName::Quick,
            &lab_core::plan::Overrides::default(),
        )
        .unwrap();
        let (_tx, interrupt) = watch::channel(false);
        let result = open_run(
            &spec(PlatformChoice::Cluster(Provider::Minikube)),
            &home,
            &plan,
            Supplies::default(),
            interrupt,
        )
        .await;
        let Err(error) = result else {
            panic!("a run on minikube opened while the lab is up on kind");
        };
        assert!(error.is_usage(), "{error:?}");
        assert!(!home.runs_dir().exists(), "no run directory is made");
    }

    fn shipped_plan(name: &str) -> Plan {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../lab/scenarios")
            .join(name);
        let scenario = lab_runner::load_scenario(&dir, &format!("lab/scenarios/{name}")).unwrap();
        Plan::build(
            &scenario,
            lab_core::plan::ProfileName::Quick,
            &lab_core::plan::Overrides::default(),
        )
        .unwrap()
    }

    #[test]
    fn only_scenarios_with_gateways_need_the_gateway_api() {
        assert!(uses_gateway_api(&shipped_plan("canary-weighted").manifests));
        assert!(uses_gateway_api(&shipped_plan("shadow").manifests));
        assert!(!uses_gateway_api(&shipped_plan("canary").manifests));
    }
}
