//! What every comparison may use: the rounds and run length asked for, where
//! the binaries measured are, and the alternating rounds of an A/B comparison.

use super::statistics::Side;
use anyhow::Context as _;
use std::path::PathBuf;
use std::time::Duration;

/// Default rounds for A/B comparisons.
pub(crate) const DEFAULT_ROUNDS: usize = 5;

/// What every comparison may use.
pub struct Bench {
    /// Rounds asked for on the command line.
    pub(crate) rounds: Option<usize>,
    /// Run length asked for on the command line.
    pub(crate) duration: Option<Duration>,
    /// Where the binaries measured are (`target/release` for a real run).
    pub(crate) binaries: PathBuf,
    /// Where logs and scratch files go (`target/lab/bench`).
    pub(crate) scratch: PathBuf,
}

impl Bench {
    /// The rounds asked for, or the comparison's default.
    pub(crate) fn rounds_or(&self, default: usize) -> usize {
        self.rounds.unwrap_or(default)
    }

    /// The run length asked for, or the comparison's default.
    pub(crate) fn duration_or(&self, default: Duration) -> Duration {
        self.duration.unwrap_or(default)
    }

    /// A measured binary by name.
    pub(crate) fn binary(&self, name: &str) -> PathBuf {
        self.binaries.join(name)
    }
}

/// Measure each side once per round, alternating which goes first.
pub fn alternate(
    rounds: usize,
    names: [&str; 2],
    mut measure: impl FnMut(usize, u32) -> anyhow::Result<f64>,
) -> anyhow::Result<Vec<Side>> {
    let mut sides: Vec<Side> = names.iter().map(|n| Side::new(n, Vec::new())).collect();
    for round in 0..rounds {
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            eprintln!("  round {}: {}", round + 1, names[side]);
            let value = measure(side, round as u32 + 1)
                .with_context(|| format!("round {} of {}", round + 1, names[side]))?;
            sides[side].samples.push(value);
        }
    }
    Ok(sides)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::statistics::outcome;
    use crate::bench::statistics::{Goal, Outcome};

    #[test]
    fn alternating_order_and_ratio() {
        let mut order = Vec::new();
        // Both sides drop in round 3, as on a machine that got busier.
        let sides = alternate(3, ["a", "b"], |side, round| {
            order.push((side, round));
            Ok(match (side, round) {
                (0, 3) => 50.0,
                (0, r) => 90.0 + r as f64,
                (_, 3) => 52.0,
                _ => 100.0,
            })
        })
        .unwrap();
        assert_eq!(order, [(0, 1), (1, 1), (1, 2), (0, 2), (0, 3), (1, 3)]);
        assert_eq!(sides[0].samples, [91.0, 92.0, 50.0]);
        let outcome = outcome(Goal::RatioAtLeast { ratio: 0.9 }, sides);
        // Per round 0.91, 0.92 and 0.96; the ratio of medians mixes rounds: 91/100.
        assert_eq!(outcome.ratio(), Some(0.92));
        assert_eq!(outcome.ratio_of_medians(), Some(0.91));
        assert!(outcome.met());
        let missed = Outcome {
            goal: Goal::RatioAtLeast { ratio: 0.95 },
            ..outcome
        };
        assert!(!missed.met());
    }

    #[test]
    fn a_failing_round_names_its_side() {
        let error = alternate(2, ["service", "pod"], |side, round| {
            if (side, round) == (1, 2) {
                anyhow::bail!("no answer")
            }
            Ok(1.0)
        })
        .unwrap_err();
        assert_eq!(format!("{error:#}"), "round 2 of pod: no answer");
    }
}
