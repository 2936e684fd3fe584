//! The results file: every comparison as a [`Record`] with the machine it ran
//! on, written as JSON and as a Markdown table.

use super::statistics::{Goal, Outcome, Side};
use serde::{Deserialize, Serialize};

impl Outcome {
    fn goal_text(&self) -> String {
        goal_text(self.goal, &self.sides, &self.metric)
    }

    /// The outcome as it is written to the results file.
    pub fn record(&self, name: &str, load_average_at_start: &str) -> Record {
        Record {
            name: name.to_string(),
            load_average_at_start: load_average_at_start.to_string(),
            load_average_at_end: String::new(),
            setup: self.setup.clone(),
            metric: self.metric.clone(),
            goal: self.goal,
            goal_text: self.goal_text(),
            sides: self
                .sides
                .iter()
                .map(|side| {
                    let stats = side.stats();
                    SideRecord {
                        name: side.name.clone(),
                        samples: side.samples.clone(),
                        min: stats.min,
                        median: stats.median,
                        max: stats.max,
                    }
                })
                .collect(),
            round_ratios: self.round_ratios(),
            median_ratio: self.ratio(),
            ratio_of_medians: self.ratio_of_medians(),
            met: self.met(),
            notes: self.notes.clone(),
            error: None,
        }
    }
}

fn goal_text(goal: Goal, sides: &[impl SideName], metric: &str) -> String {
    match (goal, sides) {
        (Goal::RatioAtLeast { ratio }, [a, b, ..]) => {
            format!("{}/{} >= {ratio}", a.side_name(), b.side_name())
        }
        (Goal::RatioAtLeast { ratio }, _) => format!("ratio >= {ratio}"),
        (Goal::AtMost { limit }, _) => format!("<= {limit} {metric}"),
    }
}

/// Anything with a side's name.
trait SideName {
    fn side_name(&self) -> &str;
}

impl SideName for Side {
    fn side_name(&self) -> &str {
        &self.name
    }
}

impl SideName for SideRecord {
    fn side_name(&self) -> &str {
        &self.name
    }
}

/// One side of a comparison in the results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideRecord {
    /// What was measured.
    pub name: String,
    /// One value per round, in the order measured.
    pub samples: Vec<f64>,
    /// Smallest sample.
    pub min: f64,
    /// Median sample.
    pub median: f64,
    /// Largest sample.
    pub max: f64,
}

/// One comparison in the results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The comparison's name (`cargo xtask bench NAME` runs it alone).
    pub name: String,
    /// `/proc/loadavg`'s 1, 5 and 15 minute load averages when it started.
    pub load_average_at_start: String,
    /// The same when it ended (this comparison's own load included).
    pub load_average_at_end: String,
    /// How it was run.
    pub setup: String,
    /// What the samples are, with their unit.
    pub metric: String,
    /// What it aims for, which also says its kind (`ratio_at_least`, `at_most`).
    pub goal: Goal,
    /// The goal for people (`loadgen/oha >= 0.9`, `<= 60 s`).
    pub goal_text: String,
    /// The sides with their samples, min, median and max.
    pub sides: Vec<SideRecord>,
    /// A/B: the per-round ratios first side / second side; empty otherwise.
    pub round_ratios: Vec<f64>,
    /// A/B: the median of `round_ratios`, the judged figure; `null` otherwise.
    pub median_ratio: Option<f64>,
    /// A/B: the first side's median over the second's; `null` otherwise.
    pub ratio_of_medians: Option<f64>,
    /// Whether the goal was met.
    pub met: bool,
    /// Facts worth keeping next to the figures.
    pub notes: Vec<String>,
    /// Why the comparison could not be measured; `null` when it was.
    pub error: Option<String>,
}

impl Record {
    /// A comparison that failed to run.
    pub(crate) fn failed(name: &str, load_average_at_start: &str, error: &anyhow::Error) -> Record {
        Record {
            name: name.to_string(),
            load_average_at_start: load_average_at_start.to_string(),
            load_average_at_end: String::new(),
            setup: String::new(),
            metric: String::new(),
            goal: Goal::AtMost { limit: 0.0 },
            goal_text: String::new(),
            sides: Vec::new(),
            round_ratios: Vec::new(),
            median_ratio: None,
            ratio_of_medians: None,
            met: false,
            notes: Vec::new(),
            error: Some(format!("{error:#}")),
        }
    }

    /// Print it for people, as it is measured.
    pub(crate) fn print(&self) {
        if let Some(error) = &self.error {
            println!("{}: FAILED: {error}", self.name);
            return;
        }
        println!("{}: {}", self.name, self.setup);
        println!(
            "  load average at start: {}, at end: {}",
            self.load_average_at_start, self.load_average_at_end
        );
        for side in &self.sides {
            println!(
                "  {:<10} min {:>10.1}  median {:>10.1}  max {:>10.1}  {}",
                side.name, side.min, side.median, side.max, self.metric
            );
        }
        if let (Some(ratio), Some(of_medians)) = (self.median_ratio, self.ratio_of_medians) {
            println!(
                "  median ratio {}/{} (per round): {ratio:.3}  (ratio of medians {of_medians:.3})",
                self.sides[0].name, self.sides[1].name
            );
        }
        println!(
            "  goal {}: {}",
            self.goal_text,
            if self.met { "met" } else { "MISSED" }
        );
        for note in &self.notes {
            println!("  note: {note}");
        }
    }

    /// One row of the Markdown table: comparison, sides' medians (min–max),
    /// the judged figure, the goal and whether it was met.
    fn markdown_row(&self) -> String {
        if let Some(error) = &self.error {
            return format!(
                "| {} | failed: {error} | | | | {} |",
                self.name, self.load_average_at_start
            );
        }
        let sides: Vec<String> = self
            .sides
            .iter()
            .map(|s| {
                format!(
                    "{} {} ({}–{})",
                    s.name,
                    figure(s.median),
                    figure(s.min),
                    figure(s.max)
                )
            })
            .collect();
        let judged = match (self.goal, self.median_ratio) {
            (Goal::RatioAtLeast { .. }, Some(ratio)) => format!("{ratio:.3}×"),
            (Goal::RatioAtLeast { .. }, None) => "no ratio".to_string(),
            (Goal::AtMost { .. }, _) => self
                .sides
                .iter()
                .map(|s| figure(s.median))
                .collect::<Vec<_>>()
                .join(", "),
        };
        format!(
            "| {} | {} ({}) | {judged} | {} | {} | {} |",
            self.name,
            sides.join("; "),
            self.metric,
            self.goal_text,
            if self.met { "met" } else { "**missed**" },
            self.load_average_at_start
        )
    }
}

/// A figure with as many decimals as its size deserves.
fn figure(value: f64) -> String {
    if value.abs() >= 1000.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The machine a run measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's model name from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// CPUs this process may run on.
    pub cpus: usize,
    /// The kernel release.
    pub kernel: String,
    /// Total memory in MiB.
    pub memory_mib: u64,
    /// `/proc/loadavg`'s 1, 5 and 15 minute load averages when the run started.
    pub load_average_at_start: String,
}

/// The results file: the machine and every comparison run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// When the run started, UTC (`2026-11-26T04-30-00Z`).
    pub started_at: String,
    /// How the binaries measured were built.
    pub build: String,
    /// Where it ran.
    pub machine: Machine,
    /// What was measured, in the order run.
    pub comparisons: Vec<Record>,
}

impl Document {
    /// The Markdown table of the comparisons, for BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut text = format!(
            "Run {} on {} ({} CPUs), Linux {}, {} MiB; load average at start {}; {} build.\n\n",
            self.started_at,
            m.cpu_model,
            m.cpus,
            m.kernel,
            m.memory_mib,
            m.load_average_at_start,
            self.build
        );
        text.push_str(
            "| comparison | medians (min–max) | judged | goal | | load average at start |\n",
        );
        text.push_str("|---|---|---|---|---|---|\n");
        for record in &self.comparisons {
            text.push_str(&record.markdown_row());
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::statistics::outcome;

    fn document() -> Document {
        let ab = outcome(
            Goal::RatioAtLeast { ratio: 0.9 },
            vec![
                Side::new("loadgen", vec![68565.9, 61000.5]),
                Side::new("oha", vec![70000.0, 64000.25]),
            ],
        );
        let limit = Outcome {
            metric: "s".into(),
            notes: vec!["round 1 promoted".into()],
            ..outcome(
                Goal::AtMost { limit: 60.0 },
                vec![Side::new("lab run", vec![41.5, 39.25, 44.0])],
            )
        };
        Document {
            started_at: "2026-11-26T04-30-00Z".into(),
            build: "release".into(),
            machine: Machine {
                cpu_model: "AMD EPYC".into(),
                cpus: 2,
                kernel: "6.1.0".into(),
                memory_mib: 24000,
                load_average_at_start: "0.10 0.20 0.30".into(),
            },
            comparisons: vec![
                ab.record("loadgen-keepalive", "0.50 0.40 0.30"),
                limit.record("lab-run-canary", "0.60 0.40 0.30"),
                Record::failed(
                    "demo-app-keepalive",
                    "0.70 0.40 0.30",
                    &anyhow::anyhow!("nginx exited"),
                ),
            ],
        }
    }

    #[test]
    fn results_read_back_as_written() {
        let document = document();
        let text = serde_json::to_string_pretty(&document).unwrap();
        let back: Document = serde_json::from_str(&text).unwrap();
        assert_eq!(back, document);

        // The fields a reader relies on, by name, as written.
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let ab = &value["comparisons"][0];
        assert_eq!(
            ab["goal"],
            serde_json::json!({"kind": "ratio_at_least", "ratio": 0.9})
        );
        assert_eq!(ab["goal_text"], "loadgen/oha >= 0.9");
        assert_eq!(ab["load_average_at_start"], "0.50 0.40 0.30");
        assert_eq!(ab["sides"][1]["median"], 67000.125);
        let ratios = ab["round_ratios"].as_array().unwrap();
        assert_eq!(ratios.len(), 2);
        let median = ab["median_ratio"].as_f64().unwrap();
        assert!((median - (68565.9 / 70000.0 + 61000.5 / 64000.25) / 2.0).abs() < 1e-12);
        assert_eq!(ab["met"], true);
        assert_eq!(ab["error"], serde_json::Value::Null);
        let limit = &value["comparisons"][1];
        assert_eq!(
            limit["goal"],
            serde_json::json!({"kind": "at_most", "limit": 60.0})
        );
        assert_eq!(limit["goal_text"], "<= 60 s");
        assert_eq!(limit["sides"][0]["median"], 41.5);
        assert_eq!(limit["median_ratio"], serde_json::Value::Null);
        assert_eq!(limit["round_ratios"], serde_json::json!([]));
        let failed = &value["comparisons"][2];
        assert_eq!(failed["met"], false);
        assert_eq!(failed["error"], "nginx exited");
        assert_eq!(value["machine"]["cpus"], 2);
    }

    #[test]
    fn markdown_table_has_a_row_per_comparison() {
        let table = document().markdown();
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(
            rows,
            [
                "| comparison | medians (min–max) | judged | goal | | load average at start |",
                "| loadgen-keepalive | loadgen 64783 (61000–68566); oha 67000 (64000–70000) (requests/s) | 0.966× | loadgen/oha >= 0.9 | met | 0.50 0.40 0.30 |",
                "| lab-run-canary | lab run 41.5 (39.2–44.0) (s) | 41.5 | <= 60 s | met | 0.60 0.40 0.30 |",
                "| demo-app-keepalive | failed: nginx exited | | | | 0.70 0.40 0.30 |",
            ]
        );
    }
}
