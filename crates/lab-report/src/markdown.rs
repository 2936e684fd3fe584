//! `report.md`: the run's story for terminals and pull requests. It draws the
//! same blocks as the HTML report; the charts are links to the SVG files
//! written beside it.

use crate::charts::charts_in;
use crate::document::{Align, Block, Line, Span, Table, document};
use crate::i18n::{Language, Localized};
use crate::terms::Term;
use lab_core::analysis::Verdict;
use lab_core::plan::Plan;
use lab_core::report::Report;
use std::fmt::Write;

/// How a verdict reads in Markdown: failures stand out.
fn verdict(v: Verdict, language: Language) -> String {
    let word = Term::Verdict(v).render(language);
    match v {
        Verdict::Fail => format!("**{word}**"),
        _ => word,
    }
}

/// Inline code, with enough backticks to hold any backticks inside.
fn code(text: &str) -> String {
    let mut fence = "`".to_string();
    while text.contains(&fence) {
        fence.push('`');
    }
    if fence.len() > 1 || text.starts_with('`') || text.ends_with('`') {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

fn line(spans: &Line, language: Language) -> String {
    let mut out = String::new();
    for span in spans {
        match span {
            Span::Text(t) => out.push_str(t),
            Span::Code(t) => out.push_str(&code(t)),
            Span::Strong(t) => {
                let _ = write!(out, "**{t}**");
            }
            Span::Verdict(v) => out.push_str(&verdict(*v, language)),
        }
    }
    out
}

/// A table cell: no pipes or line breaks may escape it.
fn cell(spans: &Line, language: Language) -> String {
    line(spans, language)
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn table(out: &mut String, table: &Table, language: Language) {
    let headers: Vec<&str> = table.columns.iter().map(|(h, _)| h.as_str()).collect();
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let rule: Vec<&str> = table
        .columns
        .iter()
        .map(|(_, align)| match align {
            Align::Left => "---",
            Align::Right => "---:",
        })
        .collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
    for row in &table.rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c, language)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// Render a report as Markdown, in English.
pub fn markdown(report: &Report) -> String {
    markdown_in(report, Language::English, None)
}

/// Render a report as Markdown in `language`; with the run's `plan`, the
/// steps are told in `language` too (without it, in the plan's own words).
pub fn markdown_in(report: &Report, language: Language, plan: Option<&Plan>) -> String {
    let mut out = String::new();
    for block in document(report, language, plan) {
        match block {
            Block::Title { text, .. } => {
                let _ = writeln!(out, "# {text}\n");
            }
            Block::Heading { level, text, .. } => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(usize::from(level)));
            }
            Block::Paragraph(spans) => {
                let _ = writeln!(out, "{}\n", line(&spans, language));
            }
            Block::List(items) => {
                for item in &items {
                    let _ = writeln!(out, "- {}", line(item, language));
                }
                out.push('\n');
            }
            Block::Table(t) => table(&mut out, &t, language),
            Block::Charts => {
                for chart in charts_in(report, language) {
                    let _ = writeln!(out, "![{}]({}.svg)\n", chart.title, chart.name);
                }
            }
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_backticks() {
        let check = |text: &str, expected: &str| assert_eq!(code(text), expected);
        check("kubectl get pods", "`kubectl get pods`");
        check("a `b` c", "`` a `b` c ``");
        check("`edge", "`` `edge ``");
    }
}
