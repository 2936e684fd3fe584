//! One chart's SVG: the frame, the shaded phases, the axes, the lines, bands
//! and bars, the markers and the legend.

use super::axis::*;
use super::context::*;
use super::messages::Message;
use super::style::*;
use crate::i18n::{Language, Localized};
use crate::terminal::display_width;
use crate::xml;
use lab_core::analysis::WindowKind;
use std::collections::BTreeSet;
use std::fmt::Write;

/// A rendered chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The file stem it is written under (`requests` → `requests.svg`).
    pub name: &'static str,
    /// Its title.
    pub title: String,
    /// The standalone SVG document.
    pub svg: String,
}

/// One chart being drawn, in layers: shading under the grid, the grid and axes,
/// the series, and markers and legend on top.
pub(super) struct Plot {
    pub(super) name: &'static str,
    pub(super) language: Language,
    pub(super) title: String,
    pub(super) top: f64,
    pub(super) end_ms: f64,
    pub(super) y_max: f64,
    pub(super) y_step: f64,
    pub(super) rows: Vec<usize>,
    pub(super) header: String,
    pub(super) shading: String,
    pub(super) grid: String,
    pub(super) series: String,
    pub(super) over: String,
}

impl Plot {
    pub(super) fn new(
        name: &'static str,
        context: &Context<'_>,
        title: &str,
        subtitle: &str,
        data_max: f64,
        unit: &str,
    ) -> Self {
        // Share charts run 0–100%; others leave room above the highest value for
        // the phase names.
        let (y_max, y_step) = match name {
            "share" => (100.0, 20.0),
            "ready" | "errors" => nice_axis(data_max * 1.15, true),
            _ => nice_axis(data_max * 1.15, false),
        };
        let rows = label_rows(context);
        let row_count = rows.iter().max().map_or(0, |r| r + 1);
        let top = HEADER + row_count as f64 * LABEL_ROW + 8.0;
        let mut header = String::new();
        let _ = write!(
            header,
            r##"<svg{SVG_NAMESPACE} viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="{}" font-size="12" role="img" aria-labelledby="{name}-title">"##,
            xml::attr(&font(context.language))
        );
        let _ = write!(
            header,
            r##"<title id="{name}-title">{}</title><rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##,
            xml::text(title)
        );
        let _ = write!(
            header,
            r##"<text x="16" y="22" font-size="16" font-weight="bold" fill="{TEXT}">{}</text><text x="16" y="40" fill="{MUTED}">{}</text>"##,
            xml::text(title),
            xml::text(subtitle)
        );
        let mut plot = Plot {
            name,
            language: context.language,
            title: title.to_string(),
            top,
            end_ms: context.end_ms as f64,
            y_max,
            y_step,
            rows,
            header,
            shading: String::new(),
            grid: String::new(),
            series: String::new(),
            over: String::new(),
        };
        plot.axes(unit);
        plot
    }

    pub(super) fn left(&self) -> f64 {
        LEFT
    }

    pub(super) fn right(&self) -> f64 {
        WIDTH - RIGHT
    }

    pub(super) fn bottom(&self) -> f64 {
        HEIGHT - BOTTOM
    }

    pub(super) fn x(&self, t_ms: f64) -> f64 {
        self.left() + (t_ms / self.end_ms).clamp(0.0, 1.0) * (self.right() - self.left())
    }

    pub(super) fn y(&self, value: f64) -> f64 {
        self.bottom() - (value / self.y_max).clamp(0.0, 1.05) * (self.bottom() - self.top)
    }

    pub(super) fn axes(&mut self, unit: &str) {
        let (left, right, top, bottom) = (self.left(), self.right(), self.top, self.bottom());
        let mut out = String::new();
        let ticks = (self.y_max / self.y_step).round() as usize;
        for k in 0..=ticks {
            let value = self.y_step * k as f64;
            let y = self.y(value);
            let _ = write!(
                out,
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{GRID}" stroke-width="1"/><text x="{}" y="{}" text-anchor="end" fill="{MUTED}">{}</text>"##,
                f(left),
                f(y),
                f(right),
                f(y),
                f(left - 8.0),
                f(y + 4.0),
                tick_text(value, self.y_step)
            );
        }
        let step = time_step(self.end_ms as u64);
        let long = self.end_ms > 180_000.0;
        let mut s = 0;
        while (s * 1000) as f64 <= self.end_ms {
            let x = self.x((s * 1000) as f64);
            let _ = write!(
                out,
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{MUTED}" stroke-width="1"/><text x="{}" y="{}" text-anchor="middle" fill="{MUTED}">{}</text>"##,
                f(x),
                f(bottom),
                f(x),
                f(bottom + 5.0),
                f(x),
                f(bottom + 19.0),
                time_text(s, long)
            );
            s += step;
        }
        let _ = write!(
            out,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{TEXT}" stroke-width="1"/><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{TEXT}" stroke-width="1"/>"##,
            f(left),
            f(bottom),
            f(right),
            f(bottom),
            f(left),
            f(top),
            f(left),
            f(bottom)
        );
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="{TEXT}">{}</text>"##,
            f((left + right) / 2.0),
            f(HEIGHT - 10.0),
            xml::text(&Message::TimeSinceStart.render(self.language))
        );
        let middle = (top + bottom) / 2.0;
        let _ = write!(
            out,
            r##"<text x="20" y="{}" text-anchor="middle" fill="{TEXT}" transform="rotate(-90 20 {})">{}</text>"##,
            f(middle),
            f(middle),
            xml::text(unit)
        );
        let _ = write!(
            out,
            r##"<clipPath id="{}-plot"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath>"##,
            self.name,
            f(left),
            f(top - 2.0),
            f(right - left),
            f(bottom - top + 4.0)
        );
        self.grid = out;
    }

    /// Shade the phases and mark the steps and the decision.
    pub(super) fn background(&mut self, context: &Context<'_>) {
        let (top, bottom) = (self.top, self.bottom());
        let analyze = Message::AnalyzeSuffix.render(self.language);
        for window in &context.report.windows {
            let (shade, suffix) = match window.kind {
                WindowKind::Observe => (OBSERVE_SHADE, ""),
                WindowKind::Analyze => (ANALYZE_SHADE, analyze.as_str()),
                WindowKind::Transition => continue,
            };
            let (x0, x1) = (self.x(window.start_ms as f64), self.x(window.end_ms as f64));
            let _ = write!(
                self.shading,
                r##"<rect class="phase" x="{}" y="{}" width="{}" height="{}" fill="{shade}"/>"##,
                f(x0),
                f(top),
                f((x1 - x0).max(0.0)),
                f(bottom - top)
            );
            let label = format!("{}{suffix}", window.name);
            let room = ((x1 - x0 - 8.0) / CHAR_WIDTH).floor();
            if room >= 3.0 {
                let room = room as usize;
                let label = if display_width(&label) > room {
                    format!("{}…", cut(&label, room.saturating_sub(1)))
                } else {
                    label
                };
                // Over the series, with a white halo, so that it reads on any fill.
                let _ = write!(
                    self.over,
                    r##"<text x="{}" y="{}" font-size="11" fill="{TEXT}" stroke="#ffffff" stroke-width="3" stroke-opacity="0.8" paint-order="stroke">{}</text>"##,
                    f(x0 + 4.0),
                    f(top + 13.0),
                    xml::text(&label)
                );
            }
        }
        let plot_width = self.right() - self.left();
        for (marker, row) in context.markers.iter().zip(&self.rows) {
            let x = self.x(marker.t_ms as f64);
            let (dash, width) = if marker.decision {
                ("", "2")
            } else {
                (r#" stroke-dasharray="4 3""#, "1")
            };
            let label_y = HEADER + *row as f64 * LABEL_ROW + 10.0;
            let _ = write!(
                self.over,
                r##"<line class="marker" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{width}"{dash}/>"##,
                f(x),
                f(label_y + 2.0),
                f(x),
                f(bottom),
                marker.colour
            );
            let (from, _) = label_span(marker, self.end_ms, plot_width);
            let _ = write!(
                self.over,
                r##"<text x="{}" y="{}" font-size="11" fill="{}">{}</text>"##,
                f(if from < x { from } else { x + 3.0 }),
                f(label_y),
                if marker.decision { marker.colour } else { TEXT },
                xml::text(&marker.label)
            );
        }
    }

    /// A message across an empty plot.
    pub(super) fn empty(&mut self, message: &str) {
        let _ = write!(
            self.over,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="14" fill="{MUTED}">{}</text>"##,
            f((self.left() + self.right()) / 2.0),
            f((self.top + self.bottom()) / 2.0),
            xml::text(message)
        );
    }

    /// A remark in the plot's top right corner.
    pub(super) fn note(&mut self, message: &str) {
        let _ = write!(
            self.over,
            r##"<text x="{}" y="{}" text-anchor="end" font-size="12" fill="{MUTED}">{}</text>"##,
            f(self.right() - 6.0),
            f(self.top + 28.0),
            xml::text(message)
        );
    }

    pub(super) fn path(&self, segments: &[Vec<(f64, f64)>]) -> String {
        let mut d = String::new();
        for segment in segments {
            for (i, (t, v)) in segment.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{},{} ",
                    if i == 0 { "M" } else { "L" },
                    f(self.x(*t)),
                    f(self.y(*v))
                );
            }
        }
        d.trim_end().to_string()
    }

    /// One version's line, optionally with a light fill under it.
    pub(super) fn line(
        &mut self,
        version: &str,
        colour: &str,
        segments: &[Vec<(f64, f64)>],
        fill: bool,
    ) {
        if fill {
            for segment in segments.iter().filter(|s| s.len() > 1) {
                let (first, last) = (segment[0].0, segment[segment.len() - 1].0);
                let _ = write!(
                    self.series,
                    r##"<path class="area" d="{} L{},{} L{},{} Z" fill="{colour}" fill-opacity="0.08" stroke="none"/>"##,
                    self.path(std::slice::from_ref(segment)),
                    f(self.x(last)),
                    f(self.bottom()),
                    f(self.x(first)),
                    f(self.bottom())
                );
            }
        }
        let _ = write!(
            self.series,
            r##"<path class="series" data-version="{}" d="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round"/>"##,
            xml::attr(version),
            self.path(segments)
        );
    }

    /// A line that belongs to no version.
    pub(super) fn extra_line(&mut self, label: &str, colour: &str, segments: &[Vec<(f64, f64)>]) {
        let _ = write!(
            self.series,
            r##"<path class="extra" data-series="{}" d="{}" fill="none" stroke="{colour}" stroke-width="1.5" stroke-dasharray="2 2"/>"##,
            xml::attr(label),
            self.path(segments)
        );
    }

    /// A stacked band between two edges.
    pub(super) fn band(
        &mut self,
        version: &str,
        colour: &str,
        upper: &[(f64, f64)],
        lower: &[(f64, f64)],
    ) {
        if upper.is_empty() {
            return;
        }
        let mut d = self.path(&[upper.to_vec()]);
        for (t, v) in lower.iter().rev() {
            let _ = write!(d, " L{},{}", f(self.x(*t)), f(self.y(*v)));
        }
        let _ = write!(
            self.series,
            r##"<path class="series" data-version="{}" d="{d} Z" fill="{colour}" fill-opacity="0.85" stroke="{colour}" stroke-width="0.5"/>"##,
            xml::attr(version)
        );
    }

    /// A dashed dark line (the share the ready pods predict).
    pub(super) fn dashed(&mut self, segments: &[Vec<(f64, f64)>]) {
        if segments.is_empty() {
            return;
        }
        let _ = write!(
            self.series,
            r##"<path class="expected" d="{}" fill="none" stroke="{TEXT}" stroke-width="1.5" stroke-dasharray="6 4"/>"##,
            self.path(segments)
        );
    }

    pub(super) fn finish(mut self, context: &Context<'_>, legend: &[LegendItem]) -> Chart {
        let x0 = self.right() + 20.0;
        let mut y = self.top + 10.0;
        let mut legend_markup = String::new();
        let mut item = |swatch: String, label: &str, y: &mut f64| {
            let _ = write!(
                legend_markup,
                r##"{swatch}<text x="{}" y="{}" fill="{TEXT}">{}</text>"##,
                f(x0 + 26.0),
                f(*y + 4.0),
                xml::text(label)
            );
            *y += 20.0;
        };
        let line_swatch = |colour: &str, y: f64, extra: &str| {
            format!(
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{colour}" stroke-width="3"{extra}/>"##,
                f(x0),
                f(y),
                f(x0 + 20.0),
                f(y)
            )
        };
        for entry in legend {
            match entry {
                LegendItem::Version(version, colour) => {
                    item(line_swatch(colour, y, ""), version, &mut y);
                }
                LegendItem::Line(label, colour) => {
                    item(
                        line_swatch(colour, y, r#" stroke-dasharray="2 2""#),
                        label,
                        &mut y,
                    );
                }
                LegendItem::Dashed(label) => {
                    let swatch = format!(
                        r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{TEXT}" stroke-width="1.5" stroke-dasharray="6 4"/>"##,
                        f(x0),
                        f(x0 + 20.0),
                    );
                    item(swatch, label, &mut y);
                }
            }
        }
        let kinds: BTreeSet<&str> = context
            .report
            .windows
            .iter()
            .map(|w| w.kind.as_str())
            .collect();
        y += 6.0;
        for (kind, shade, label) in [
            ("observe", OBSERVE_SHADE, Message::ObservedPhase),
            ("analyze", ANALYZE_SHADE, Message::AnalyzedPhase),
        ] {
            if kinds.contains(kind) {
                let label = label.render(self.language);
                let swatch = format!(
                    r##"<rect x="{}" y="{}" width="20" height="12" fill="{shade}" stroke="{GRID}"/>"##,
                    f(x0),
                    f(y - 6.0)
                );
                item(swatch, &label, &mut y);
            }
        }
        if context.markers.iter().any(|m| !m.decision) {
            let swatch = format!(
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{MUTED}" stroke-width="1" stroke-dasharray="4 3"/>"##,
                f(x0 + 10.0),
                f(y - 7.0),
                f(x0 + 10.0),
                f(y + 7.0)
            );
            item(swatch, &Message::Step.render(self.language), &mut y);
        }
        if let Some(marker) = context.markers.iter().find(|m| m.decision) {
            let swatch = format!(
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"/>"##,
                f(x0 + 10.0),
                f(y - 7.0),
                f(x0 + 10.0),
                f(y + 7.0),
                marker.colour
            );
            item(swatch, &Message::Decision.render(self.language), &mut y);
        }
        let _ = write!(self.over, r##"<g class="legend">{legend_markup}</g>"##);
        let svg = format!(
            r##"{}<g class="phases">{}</g><g class="grid">{}</g><g clip-path="url(#{}-plot)">{}</g>{}</svg>"##,
            self.header, self.shading, self.grid, self.name, self.series, self.over
        );
        Chart {
            name: self.name,
            title: self.title,
            svg,
        }
    }
}

/// The longest start of `text` that takes at most `width` columns (Hangul
/// takes two).
fn cut(text: &str, width: usize) -> String {
    let mut used = 0;
    text.chars()
        .take_while(|c| {
            used += display_width(c.encode_utf8(&mut [0; 4]));
            used <= width
        })
        .collect()
}

/// The font list: Korean adds families with Hangul, where the system has one.
fn font(language: Language) -> String {
    match language {
        Language::English => FONT.to_string(),
        Language::Korean => FONT.replacen("sans-serif", &format!("{CJK_FONTS}, sans-serif"), 1),
    }
}
