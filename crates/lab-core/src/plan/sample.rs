//! How many requests the candidate will get in the analyze phase, and whether
//! that is enough for its gates.

use crate::analysis::{Gates, SLOWER_THAN_P99_LIMIT, requests_to_tell_double};
use std::fmt;

/// The candidate's expected sample in the analyze phase.
///
/// Method: the steps before `analyze` are replayed on paper by the lab's one
/// replay of steps over cluster state (applied Deployments and their replicas,
/// scales, deletions, the Service's selector); the candidate's share is its replicas over all replicas the Service selects,
/// as the platform splits traffic by ready endpoints. The requests are
/// `rate × share × analyze duration`.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleEstimate {
    /// Requests per second through the Service.
    pub rate: f64,
    /// The candidate's expected share of them in the analyze phase.
    pub share: f64,
    /// The analyze phase's length in seconds.
    pub seconds: f64,
    /// The candidate's expected requests in the phase.
    pub requests: f64,
    /// The requests a gate needs before it may pass.
    pub min_samples: u64,
    /// The requests that tell the gates' allowed bad share from twice it (the
    /// larger of the success rate's and the p99's); `None` when neither has one.
    pub to_resolve: Option<u64>,
}

/// What a sample falls short of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortOf {
    /// The requests a gate needs before it may pass.
    MinSamples(u64),
    /// The requests that resolve the gates' thresholds.
    Resolve(u64),
}

/// The expected sample against what would reach the shortfall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The candidate's expected requests.
    pub requests: u64,
    /// The rate, as written (`100`, `2.5`).
    pub rate: String,
    /// The candidate's share, in percent.
    pub percent: u64,
    /// The analyze phase, in seconds.
    pub seconds: u64,
    /// The rate that would reach it.
    pub rate_needed: u64,
    /// The analyze phase that would reach it, in seconds.
    pub seconds_needed: u64,
}

/// A sample that falls short, for a warning in any language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// What it falls short of.
    pub of: ShortOf,
    /// The expected sample and what would do; `None` when the candidate gets
    /// no traffic in the phase.
    pub reach: Option<Reach>,
}

impl Shortfall {
    /// The warning in English (the plan's language; a run says it in its
    /// own through lab-report).
    pub fn english(&self) -> String {
        let what = match self.of {
            ShortOf::MinSamples(n) => format!("min_samples {n}"),
            ShortOf::Resolve(n) => format!("{n} to resolve the gates' thresholds"),
        };
        match &self.reach {
            None => format!(
                "the candidate gets no traffic in the analyze phase: its gates cannot reach {what}"
            ),
            Some(r) => format!(
                "the candidate gets about {} requests in the analyze phase ({} /s × {}% × {} s), below {what}: {} requests/s or an analyze phase of {} s would reach it",
                r.requests, r.rate, r.percent, r.seconds, r.rate_needed, r.seconds_needed
            ),
        }
    }
}

impl SampleEstimate {
    /// The estimate for `rate` requests/s, a candidate `share` and an analyze
    /// phase of `seconds`, judged by `gates`.
    pub fn new(rate: f64, share: f64, seconds: f64, gates: &Gates) -> SampleEstimate {
        let z = gates.z();
        let to_resolve = [
            requests_to_tell_double(1.0 - gates.min_success_rate, z),
            requests_to_tell_double(SLOWER_THAN_P99_LIMIT, z),
        ]
        .into_iter()
        .flatten()
        .max();
        SampleEstimate {
            rate,
            share,
            seconds,
            requests: rate * share * seconds,
            min_samples: gates.min_samples,
            to_resolve,
        }
    }

    /// Whether the gates can reach `min_samples`.
    pub fn reaches_min_samples(&self) -> bool {
        self.requests >= self.min_samples as f64
    }

    /// Whether the gates can resolve their thresholds.
    pub fn resolves(&self) -> bool {
        self.to_resolve.is_none_or(|n| self.requests >= n as f64)
    }

    /// What the sample falls short of, with the rate or duration that would
    /// do; `None` when it is enough.
    pub fn shortfall(&self) -> Option<Shortfall> {
        let (needed, of) = if !self.reaches_min_samples() {
            (self.min_samples, ShortOf::MinSamples(self.min_samples))
        } else if let Some(n) = self.to_resolve.filter(|_| !self.resolves()) {
            (n, ShortOf::Resolve(n))
        } else {
            return None;
        };
        if self.share <= 0.0 {
            return Some(Shortfall { of, reach: None });
        }
        Some(Shortfall {
            of,
            reach: Some(Reach {
                requests: self.requests.round() as u64,
                rate: number(self.rate),
                percent: (self.share * 100.0).round() as u64,
                seconds: self.seconds.round() as u64,
                rate_needed: (needed as f64 / (self.share * self.seconds)).ceil() as u64,
                seconds_needed: (needed as f64 / (self.share * self.rate)).ceil() as u64,
            }),
        })
    }

    /// One warning line in English when the sample falls short, with the
    /// rate or duration that would do; `None` when it is enough.
    pub fn warning(&self) -> Option<String> {
        self.shortfall().map(|shortfall| shortfall.english())
    }
}

impl fmt::Display for SampleEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the candidate gets about {:.0} requests in the analyze phase ({} /s × {:.0}% × {:.0} s); {} needed to pass",
            self.requests,
            number(self.rate),
            self.share * 100.0,
            self.seconds,
            self.min_samples
        )?;
        if let Some(n) = self.to_resolve {
            write!(f, ", {n} to tell the allowed bad share from twice it")?;
        }
        Ok(())
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}
