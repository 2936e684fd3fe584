//! Escaping for everything written as XML: SVG, the HTML report (written as
//! well-formed XHTML-compatible markup) and JUnit.

/// Characters XML 1.0 cannot carry at all: most control characters. They become
/// U+FFFD so a stray byte in an error message never makes a file unreadable.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || ('\u{10000}'..='\u{10FFFF}').contains(&c)
}

/// Escape text content.
pub(crate) fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if allowed(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// Escape an attribute value (for double or single quotes); newlines and tabs
/// are kept as character references so they survive attribute normalization.
pub(crate) fn attr(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if allowed(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_escape_markup_and_control_characters() {
        let check = |raw: &str, in_text: &str, in_attr: &str| {
            assert_eq!(text(raw), in_text, "text of {raw:?}");
            assert_eq!(attr(raw), in_attr, "attribute of {raw:?}");
        };
        check("plain", "plain", "plain");
        check("a<b & c>d", "a&lt;b &amp; c&gt;d", "a&lt;b &amp; c&gt;d");
        check(
            r#"say "hi" 'there'"#,
            r#"say "hi" 'there'"#,
            "say &quot;hi&quot; &apos;there&apos;",
        );
        check("two\nlines\t", "two\nlines\t", "two&#10;lines&#9;");
        check("bell\u{7}", "bell\u{FFFD}", "bell\u{FFFD}");
        check("한국어 →", "한국어 →", "한국어 →");
    }
}
