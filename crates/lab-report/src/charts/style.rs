//! The charts' sizes, font and colours.

/// The SVG namespace; inline SVG in HTML goes without it.
pub(crate) const SVG_NAMESPACE: &str = r#" xmlns="http://www.w3.org/2000/svg""#;

pub(crate) const WIDTH: f64 = 960.0;
pub(super) const HEIGHT: f64 = 360.0;
/// Room for the y axis's tick labels and title.
pub(super) const LEFT: f64 = 72.0;
/// Room for the legend.
pub(super) const RIGHT: f64 = 170.0;
/// Room for the x axis's tick labels and title.
pub(super) const BOTTOM: f64 = 50.0;
/// The title and subtitle above everything.
pub(super) const HEADER: f64 = 52.0;
/// One row of step labels above the plot.
pub(super) const LABEL_ROW: f64 = 14.0;
/// An estimate of the width of one character of 11 px text, to keep labels apart.
pub(super) const CHAR_WIDTH: f64 = 6.4;
pub(crate) const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', Helvetica, Arial, sans-serif";
/// Families with Hangul, for Korean text: listed after the Latin ones, so
/// Latin text looks the same and Hangul falls through to the first installed.
pub(crate) const CJK_FONTS: &str =
    "'Noto Sans CJK KR', 'Noto Sans KR', 'Apple SD Gothic Neo', 'Malgun Gothic'";

/// Version colours in order: v1 blue, v2 orange, then green, red, purple, brown,
/// pink, olive.
pub(crate) const COLOURS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
];
pub(super) const OBSERVE_SHADE: &str = "#e8f0fb";
pub(super) const ANALYZE_SHADE: &str = "#fdf0d9";
pub(crate) const TEXT: &str = "#222222";
pub(crate) const MUTED: &str = "#666666";
pub(crate) const GRID: &str = "#e2e2e2";
pub(super) const PROMOTED: &str = "#1a7f37";
pub(super) const ROLLED_BACK: &str = "#cf222e";
pub(super) const UNATTRIBUTED: &str = "#555555";
