//! The figures of a comparison: the samples per side, their min, median and
//! max, the per-round ratios of an A/B comparison and whether its goal is met.

use serde::{Deserialize, Serialize};

/// The samples of one side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// What was measured (`loadgen`, `oha`, `service`).
    pub name: String,
    /// One value per round, in the order measured.
    pub samples: Vec<f64>,
}

impl Side {
    /// A side with its samples.
    pub fn new(name: &str, samples: Vec<f64>) -> Side {
        Side {
            name: name.to_string(),
            samples,
        }
    }

    /// Min, median and max of its samples.
    pub fn stats(&self) -> Stats {
        Stats::of(&self.samples)
    }
}

/// Min, median and max of a list of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Smallest sample.
    pub min: f64,
    /// Median (the mean of the middle two for an even count).
    pub median: f64,
    /// Largest sample.
    pub max: f64,
}

impl Stats {
    /// Stats of a list of samples (zeros when empty).
    pub fn of(samples: &[f64]) -> Stats {
        if samples.is_empty() {
            return Stats {
                min: 0.0,
                median: 0.0,
                max: 0.0,
            };
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        Stats {
            min: sorted[0],
            median,
            max: sorted[sorted.len() - 1],
        }
    }
}

/// What a comparison aims for; it also says which kind of comparison it is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Goal {
    /// A/B: the median of the per-round ratios first side / second side is at
    /// least `ratio`.
    RatioAtLeast {
        /// The lowest acceptable ratio.
        ratio: f64,
    },
    /// Limit: the median of every side is at most `limit` (in the metric's unit).
    AtMost {
        /// The highest acceptable median.
        limit: f64,
    },
}

/// The result of one comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// How it was run (tools, mode, concurrency, duration).
    pub setup: String,
    /// What the samples are, with their unit (`answered requests/s`, `MB`).
    pub metric: String,
    /// The sides; in an A/B comparison the first is the one judged.
    pub sides: Vec<Side>,
    /// What the comparison aims for.
    pub goal: Goal,
    /// Facts worth keeping next to the figures (errors seen, versions tallied).
    pub notes: Vec<String>,
}

impl Outcome {
    /// The per-round ratios first side / second side of an A/B comparison.
    pub fn round_ratios(&self) -> Vec<f64> {
        match (self.goal, self.sides.as_slice()) {
            (Goal::RatioAtLeast { .. }, [a, b, ..]) => a
                .samples
                .iter()
                .zip(&b.samples)
                .filter(|&(_, &b)| b > 0.0)
                .map(|(a, b)| a / b)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The median of the per-round ratios of an A/B comparison.
    pub fn ratio(&self) -> Option<f64> {
        let ratios = self.round_ratios();
        (!ratios.is_empty()).then(|| Stats::of(&ratios).median)
    }

    /// The first side's median divided by the second's, in an A/B comparison.
    pub fn ratio_of_medians(&self) -> Option<f64> {
        match (self.goal, self.sides.as_slice()) {
            (Goal::RatioAtLeast { .. }, [a, b, ..]) if b.stats().median > 0.0 => {
                Some(a.stats().median / b.stats().median)
            }
            _ => None,
        }
    }

    /// Whether the goal is met.
    pub fn met(&self) -> bool {
        match self.goal {
            Goal::RatioAtLeast { ratio } => self.ratio().is_some_and(|r| r >= ratio),
            Goal::AtMost { limit } => {
                !self.sides.is_empty()
                    && self
                        .sides
                        .iter()
                        .all(|s| !s.samples.is_empty() && s.stats().median <= limit)
            }
        }
    }
}

/// An outcome with these sides, for the tests of this harness.
#[cfg(test)]
pub(crate) fn outcome(goal: Goal, sides: Vec<Side>) -> Outcome {
    Outcome {
        setup: "s".into(),
        metric: "requests/s".into(),
        sides,
        goal,
        notes: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats() {
        let check = |samples: &[f64], expected: (f64, f64, f64)| {
            let s = Stats::of(samples);
            assert_eq!((s.min, s.median, s.max), expected, "{samples:?}");
        };
        check(&[3.0, 1.0, 2.0], (1.0, 2.0, 3.0));
        check(&[4.0, 1.0, 3.0, 2.0], (1.0, 2.5, 4.0));
        check(&[7.0], (7.0, 7.0, 7.0));
        check(&[], (0.0, 0.0, 0.0));
    }

    #[test]
    fn goals_judge_the_right_figure() {
        let check = |goal: Goal, sides: &[&[f64]], met: bool| {
            let sides = sides
                .iter()
                .enumerate()
                .map(|(i, s)| Side::new(&format!("s{i}"), s.to_vec()))
                .collect();
            let o = outcome(goal, sides);
            assert_eq!(o.met(), met, "{goal:?} {:?}", o.sides);
        };
        let at_most = Goal::AtMost { limit: 60.0 };
        check(at_most, &[&[40.0, 70.0, 50.0]], true);
        check(at_most, &[&[61.0, 70.0, 50.0]], false);
        // Every side of a limit is held to it.
        check(at_most, &[&[4.0], &[61.0]], false);
        check(at_most, &[], false);
        check(at_most, &[&[]], false);
        let ratio = Goal::RatioAtLeast { ratio: 0.85 };
        check(ratio, &[&[85.0, 80.0], &[100.0, 100.0]], false);
        check(ratio, &[&[86.0, 90.0], &[100.0, 100.0]], true);
        // A lone side has no ratio: never met.
        check(ratio, &[&[86.0]], false);
        // A limit has no ratio, whatever its sides.
        let two = outcome(
            at_most,
            vec![Side::new("a", vec![1.0]), Side::new("b", vec![2.0])],
        );
        assert_eq!((two.ratio(), two.ratio_of_medians()), (None, None));
    }
}
