//! Axes and labels: readable tick steps, time and value texts, where the step
//! labels go so they do not overlap.

use super::context::*;
use super::style::*;
use crate::terminal::display_width;

/// `1 s`, `500 ms`, `2 m`.
pub(super) fn seconds_text(ms: u64) -> String {
    if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{} m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// A tick label with as many decimals as the step needs (`2.5`, `0.2`, `10`).
pub(super) fn tick_text(value: f64, step: f64) -> String {
    let decimals = (0..4)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-9
        })
        .unwrap_or(4) as usize;
    format!("{value:.decimals$}")
}

/// Round `max` up to a readable axis top and pick a tick step (1, 2, 2.5, 5 ×
/// 10^k; whole numbers only for counts).
pub(super) fn nice_axis(max: f64, whole: bool) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .filter(|s| !whole || (*s >= 1.0 && s.fract() == 0.0))
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
        .max(if whole { 1.0 } else { 0.0 });
    ((max / step).ceil() * step, step)
}

/// A tick step for a time axis of `end_ms`, at most ten ticks.
pub(super) fn time_step(end_ms: u64) -> u64 {
    let end_s = end_ms as f64 / 1000.0;
    [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600]
        .into_iter()
        .find(|step| end_s / *step as f64 <= 10.0)
        .unwrap_or(7200)
}

pub(super) fn time_text(s: u64, long: bool) -> String {
    if long {
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

pub(super) fn f(value: f64) -> String {
    format!("{value:.1}")
}

/// Which row of the label band each marker's label goes in, so that labels
/// of steps close in time do not overlap.
pub(super) fn label_rows(context: &Context<'_>) -> Vec<usize> {
    let plot_width = WIDTH - RIGHT - LEFT;
    let mut row_ends: Vec<f64> = Vec::new();
    context
        .markers
        .iter()
        .map(|marker| {
            let (from, to) = label_span(marker, context.end_ms as f64, plot_width);
            let row = row_ends
                .iter()
                .position(|end| from > *end + 6.0)
                .unwrap_or(row_ends.len());
            if row == row_ends.len() {
                row_ends.push(to);
            } else {
                row_ends[row] = to;
            }
            row
        })
        .collect()
}

/// Where a marker's label lies horizontally: right of its line, or left of it
/// near the right edge.
pub(super) fn label_span(marker: &Marker, end_ms: f64, plot_width: f64) -> (f64, f64) {
    let x = LEFT + (marker.t_ms as f64 / end_ms).clamp(0.0, 1.0) * plot_width;
    // Hangul is about twice as wide as a Latin letter.
    let width = display_width(&marker.label) as f64 * CHAR_WIDTH;
    if x + 3.0 + width > WIDTH - 8.0 {
        (x - 3.0 - width, x)
    } else {
        (x, x + 3.0 + width)
    }
}
