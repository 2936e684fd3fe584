//! Fault knobs: injected errors, added latency, slow start, crashes, never ready.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::time::Duration;

/// A probability in `0..=1`, e.g. the share of requests answered with an error.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Fraction(f64);

impl Fraction {
    /// Never.
    pub const ZERO: Fraction = Fraction(0.0);
    /// Always.
    pub const ONE: Fraction = Fraction(1.0);

    /// The fraction `value`, or `None` when it is not a number in `0..=1`.
    pub fn new(value: f64) -> Option<Fraction> {
        (0.0..=1.0).contains(&value).then_some(Fraction(value))
    }

    /// The probability as a number in `0..=1`.
    pub fn get(self) -> f64 {
        self.0
    }

    /// Draws once: true with this probability. Exact at 0 and 1, lock-free in between.
    pub fn chance(self) -> bool {
        if self.0 <= 0.0 {
            false
        } else if self.0 >= 1.0 {
            true
        } else {
            unit_interval() < self.0
        }
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The fault knobs, all off in [`Faults::none`].
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Share of `GET /` requests answered with 500.
    pub error_rate: Fraction,
    /// Latency added to `GET /` requests before they are answered.
    pub latency: Duration,
    /// Share of `GET /` requests the latency applies to.
    pub latency_rate: Fraction,
    /// Time after start before `/ready` answers 200.
    pub startup_delay: Duration,
    /// Exit with a non-zero status right after answering this many `GET /` requests.
    pub crash_after_requests: Option<NonZeroU64>,
    /// Exit with a non-zero status after running this long.
    pub crash_after: Option<Duration>,
    /// `/ready` never answers 200.
    pub never_ready: bool,
}

impl Faults {
    /// No fault: the app behaves like the tutorial's image.
    pub fn none() -> Faults {
        Faults {
            error_rate: Fraction::ZERO,
            latency: Duration::ZERO,
            latency_rate: Fraction::ONE,
            startup_delay: Duration::ZERO,
            crash_after_requests: None,
            crash_after: None,
            never_ready: false,
        }
    }

    /// Draws whether this `GET /` request is delayed, and returns the delay if so.
    pub fn draw_latency(&self) -> Option<Duration> {
        (!self.latency.is_zero() && self.latency_rate.chance()).then_some(self.latency)
    }

    /// Draws whether this `GET /` request is answered with an error.
    pub fn draw_error(&self) -> bool {
        self.error_rate.chance()
    }
}

/// Lists the knobs that are on, as flags, e.g. `--error-rate 0.1 --latency 600ms`;
/// empty when none is.
impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut knobs: Vec<String> = Vec::new();
        if self.error_rate != Fraction::ZERO {
            knobs.push(format!("--error-rate {}", self.error_rate));
        }
        if !self.latency.is_zero() {
            knobs.push(format!(
                "--latency {}",
                humantime::format_duration(self.latency)
            ));
            if self.latency_rate != Fraction::ONE {
                knobs.push(format!("--latency-rate {}", self.latency_rate));
            }
        }
        if !self.startup_delay.is_zero() {
            knobs.push(format!(
                "--startup-delay {}",
                humantime::format_duration(self.startup_delay)
            ));
        }
        if let Some(n) = self.crash_after_requests {
            knobs.push(format!("--crash-after-requests {n}"));
        }
        if let Some(after) = self.crash_after {
            knobs.push(format!(
                "--crash-after {}",
                humantime::format_duration(after)
            ));
        }
        if self.never_ready {
            knobs.push("--never-ready".to_owned());
        }
        f.write_str(&knobs.join(" "))
    }
}

/// Why a crash knob fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// `--crash-after-requests`: this many `GET /` requests were answered.
    AfterRequests(NonZeroU64),
    /// `--crash-after`: the process ran this long.
    AfterTime(Duration),
}

impl fmt::Display for Crash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Crash::AfterRequests(n) => {
                write!(f, "answered {n} requests (--crash-after-requests {n})")
            }
            Crash::AfterTime(after) => {
                let after = humantime::format_duration(*after);
                write!(f, "ran for {after} (--crash-after {after})")
            }
        }
    }
}

thread_local! {
    /// Per-thread generator state, so drawing never contends on a lock or a cache line.
    static GENERATOR: Cell<u64> = Cell::new(seed());
}

/// A seed that differs between threads and processes, from std's random hash keys.
fn seed() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::thread::current().id())
}

/// The next number of wyrand, a small fast generator with good statistical quality.
fn next_u64() -> u64 {
    GENERATOR.with(|state| {
        let s = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(s);
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    })
}

/// A uniform number in `[0, 1)` with 53 random bits.
fn unit_interval() -> f64 {
    (next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_accepts_only_zero_to_one() {
        let check = |value: f64, expected: Option<f64>| {
            assert_eq!(Fraction::new(value).map(Fraction::get), expected, "{value}");
        };
        check(0.0, Some(0.0));
        check(0.25, Some(0.25));
        check(1.0, Some(1.0));
        check(-0.01, None);
        check(1.01, None);
        check(f64::NAN, None);
        check(f64::INFINITY, None);
    }

    #[test]
    fn chance_is_exact_at_the_ends() {
        assert!((0..10_000).all(|_| Fraction::ONE.chance()));
        assert!((0..10_000).all(|_| !Fraction::ZERO.chance()));
    }

    #[test]
    fn chance_matches_the_fraction() {
        // n = 100k, p = 0.3: sd = 145; 5 sd on either side fails less than once in 10^6 runs.
        let hits = (0..100_000)
            .filter(|_| Fraction::new(0.3).unwrap().chance())
            .count();
        assert!((29_275..=30_725).contains(&hits), "{hits}");
    }

    #[test]
    fn unit_interval_stays_in_range() {
        assert!(
            (0..100_000)
                .map(|_| unit_interval())
                .all(|x| (0.0..1.0).contains(&x))
        );
    }

    #[test]
    fn display_lists_the_knobs_that_are_on() {
        let check = |faults: Faults, expected: &str| assert_eq!(faults.to_string(), expected);
        check(Faults::none(), "");
        check(
            Faults {
                error_rate: Fraction::new(0.1).unwrap(),
                latency: Duration::from_millis(600),
                latency_rate: Fraction::new(0.5).unwrap(),
                startup_delay: Duration::from_secs(2),
                crash_after_requests: NonZeroU64::new(100),
                crash_after: Some(Duration::from_secs(90)),
                never_ready: true,
            },
            "--error-rate 0.1 --latency 600ms --latency-rate 0.5 --startup-delay 2s \
             --crash-after-requests 100 --crash-after 1m 30s --never-ready",
        );
    }
}
