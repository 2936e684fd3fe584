//! `report.html`: one self-contained page. The charts are inline SVG, the
//! style is inline CSS, and nothing refers outside the file: no script, no
//! stylesheet or font link, no image source, no URL (addresses in the report's
//! text are shown without their scheme). The markup is well-formed XML, so
//! the same parser that checks it can read it.

use crate::charts::{CJK_FONTS, SVG_NAMESPACE, charts_in};
use crate::document::{Align, Block, Line, Span, Table, document, sections, title};
use crate::i18n::{Language, Localized};
use crate::terms::Term;
use crate::xml;
use lab_core::analysis::Verdict;
use lab_core::plan::Plan;
use lab_core::report::Report;
use std::fmt::Write;

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1f2328;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 20px 64px; background: #ffffff; }
h1 { font-size: 26px; margin: 0 0 8px; padding: 12px 16px; border-radius: 6px; }
h1.passed { background: #dafbe1; border-left: 6px solid #1a7f37; }
h1.failed { background: #ffebe9; border-left: 6px solid #cf222e; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 16px; margin: 20px 0 6px; }
nav { margin: 8px 0 16px; font-size: 14px; }
nav a { margin-right: 14px; color: #0969da; text-decoration: none; }
code { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  background: #f0f2f4; padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
.table { overflow-x: auto; margin: 6px 0 10px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f2f4; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { font-weight: 600; padding: 0 6px; border-radius: 10px; white-space: nowrap; }
.verdict.pass { background: #dafbe1; color: #116329; }
.verdict.fail { background: #ffebe9; color: #a40e26; }
.verdict.inconclusive { background: #fff8c5; color: #7d4e00; }
.verdict.not_applicable { background: #f0f2f4; color: #57606a; }
figure.chart { margin: 12px 0; }
figure.chart svg { max-width: 100%; height: auto; border: 1px solid #d0d7de; border-radius: 6px; }
"#;

/// The page's style: Korean adds families with Hangul to the body's fonts,
/// after the Latin ones, so that Hangul shows where such a font is installed.
fn style(language: Language) -> String {
    match language {
        Language::English => STYLE.to_string(),
        Language::Korean => STYLE.replacen(
            "Arial, sans-serif;",
            &format!("Arial, {}, sans-serif;", CJK_FONTS.replace('\'', "\"")),
            1,
        ),
    }
}

/// Text as HTML shows it: escaped, and with URL schemes dropped, so that the
/// page refers to nothing outside itself even in its words.
fn text(raw: &str) -> String {
    unlinked(&xml::text(raw))
}

/// `http://127.0.0.1:9090/api` reads `127.0.0.1:9090/api`; any other `//` gets a
/// zero-width space between its slashes.
fn unlinked(escaped: &str) -> String {
    escaped
        .replace("https://", "")
        .replace("http://", "")
        .replace("//", "/\u{200B}/")
}

fn verdict(v: Verdict, language: Language) -> String {
    format!(
        r#"<span class="verdict {}">{}</span>"#,
        v.as_str(),
        xml::text(&Term::Verdict(v).render(language))
    )
}

fn line(spans: &Line, language: Language) -> String {
    let mut out = String::new();
    for span in spans {
        match span {
            Span::Text(t) => out.push_str(&text(t)),
            Span::Code(t) => {
                let _ = write!(out, "<code>{}</code>", text(t));
            }
            Span::Strong(t) => {
                let _ = write!(out, "<strong>{}</strong>", text(t));
            }
            Span::Verdict(v) => out.push_str(&verdict(*v, language)),
        }
    }
    out
}

fn table(out: &mut String, table: &Table, language: Language) {
    let class = |align: Align| match align {
        Align::Left => "",
        Align::Right => r#" class="num""#,
    };
    out.push_str("<div class=\"table\"><table><thead><tr>");
    for (header, align) in &table.columns {
        let _ = write!(out, "<th{}>{}</th>", class(*align), text(header));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for (cell, (_, align)) in row.iter().zip(&table.columns) {
            let _ = write!(out, "<td{}>{}</td>", class(*align), line(cell, language));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

/// Render a report as one self-contained HTML page, in English.
pub fn html(report: &Report) -> String {
    html_in(report, Language::English, None)
}

/// Render a report as one self-contained HTML page in `language`; with the
/// run's `plan`, the steps are told in `language` too (without it, in the
/// plan's own words).
pub fn html_in(report: &Report, language: Language, plan: Option<&Plan>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
        language.code(),
        text(&title(report, language)),
        style(language)
    );
    for block in document(report, language, plan) {
        match block {
            Block::Title {
                text: title,
                passed,
            } => {
                let class = if passed { "passed" } else { "failed" };
                let _ = writeln!(out, "<h1 class=\"{class}\">{}</h1>", text(&title));
                out.push_str("<nav>");
                for (id, name) in sections(report, language) {
                    let _ = write!(out, "<a href=\"#{id}\">{}</a>", text(&name));
                }
                out.push_str("</nav>\n");
            }
            Block::Heading { level, text: t, id } => {
                let _ = writeln!(
                    out,
                    "<h{level} id=\"{}\">{}</h{level}>",
                    unlinked(&xml::attr(&id)),
                    text(&t)
                );
            }
            Block::Paragraph(spans) => {
                let _ = writeln!(out, "<p>{}</p>", line(&spans, language));
            }
            Block::List(items) => {
                out.push_str("<ul>\n");
                for item in &items {
                    let _ = writeln!(out, "<li>{}</li>", line(item, language));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(t) => table(&mut out, &t, language),
            Block::Charts => {
                for chart in charts_in(report, language) {
                    // Inline SVG in HTML needs no namespace declaration, and
                    // leaving it out keeps the page free of URLs.
                    let svg = chart.svg.replacen(SVG_NAMESPACE, "", 1);
                    let _ = writeln!(
                        out,
                        "<figure class=\"chart\" id=\"chart-{}\">{}</figure>",
                        chart.name,
                        unlinked(&svg)
                    );
                }
            }
        }
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_drops_url_schemes_and_double_slashes() {
        let check = |raw: &str, expected: &str| assert_eq!(text(raw), expected, "{raw}");
        check(
            "queried at http://127.0.0.1:9090",
            "queried at 127.0.0.1:9090",
        );
        check(
            "error sending request for url (https://grafana:3000/api/annotations)",
            "error sending request for url (grafana:3000/api/annotations)",
        );
        check("a//b", "a/\u{200B}/b");
        check("<script>", "&lt;script&gt;");
    }
}
