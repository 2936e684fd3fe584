//! `report.md`: the run's story for terminals and pull requests. It draws the
//! same blocks as the HTML report; the charts are links to the SVG files
//! written beside it.

use crate::charts::charts;
use crate::document::{Align, Block, Line, Span, Table, document};
use lab_core::analysis::Verdict;
use lab_core::report::Report;
use std::fmt::Write;

/// How a verdict reads in Markdown: failures stand out.
fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "**FAIL**",
        Verdict::Inconclusive => "inconclusive",
        Verdict::NotApplicable => "n/a",
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

fn line(spans: &Line) -> String {
    let mut out = String::new();
    for span in spans {
        match span {
            Span::Text(t) => out.push_str(t),
            Span::Code(t) => out.push_str(&code(t)),
            Span::Strong(t) => {
                let _ = write!(out, "**{t}**");
            }
            Span::Verdict(v) => out.push_str(verdict(*v)),
        }
    }
    out
}

/// A table cell: no pipes or line breaks may escape it.
fn cell(spans: &Line) -> String {
    line(spans).replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn table(out: &mut String, table: &Table) {
    let headers: Vec<&str> = table.columns.iter().map(|(h, _)| *h).collect();
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
        let cells: Vec<String> = row.iter().map(cell).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// Render a report as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    for block in document(report) {
        match block {
            Block::Title { text, .. } => {
                let _ = writeln!(out, "# {text}\n");
            }
            Block::Heading { level, text, .. } => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(usize::from(level)));
            }
            Block::Paragraph(spans) => {
                let _ = writeln!(out, "{}\n", line(&spans));
            }
            Block::List(items) => {
                for item in &items {
                    let _ = writeln!(out, "- {}", line(item));
                }
                out.push('\n');
            }
            Block::Table(t) => table(&mut out, &t),
            Block::Charts => {
                for chart in charts(report) {
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
