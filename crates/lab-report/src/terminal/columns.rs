//! Terminal columns: how wide a text is (Hangul and CJK take two columns),
//! padding and cutting to a width, and the indent of continued lines.

/// The indent of the lines that continue an event line (`$ kubectl …`).
pub const CONTINUATION: &str = "         ";

/// How many terminal columns a text takes: Hangul and CJK take two.
pub fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA960..=0xA97F
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

/// `text` padded with spaces to `width` columns.
pub(crate) fn pad(text: &str, width: usize) -> String {
    let mut out = text.to_string();
    for _ in display_width(text)..width {
        out.push(' ');
    }
    out
}

/// Cut a line to fit the terminal, so that it never wraps (a wrapped line would
/// throw off the redraw).
pub fn fit(text: &str, width: usize) -> String {
    if display_width(text) < width {
        return text.to_string();
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = display_width(c.encode_utf8(&mut [0; 4]));
        if used + w > width.saturating_sub(2) {
            break;
        }
        used += w;
        cut.push(c);
    }
    format!("{cut}…")
}
