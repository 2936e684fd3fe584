//! Renders a run report for people and machines: Markdown for terminals and
//! pull requests, one self-contained HTML page, SVG charts and JUnit XML; and
//! narrates a plan's steps for the teaching mode; says what `lab run` prints
//! in a terminal (`terminal`) and the live page a browser shows while a run
//! goes (`live`).
//!
//! Every text people read in more than one language is a typed message
//! rendered by one table per language through [`i18n`], in the one
//! [`Language`] type.
//!
//! Pure: it takes a report (or a plan) and returns text. Nothing here reads or
//! writes files, opens sockets or looks at the clock.

mod charts;
pub mod compare;
mod document;
mod html;
pub mod i18n;
mod junit;
pub mod live;
mod markdown;
pub mod narration;
mod reasons;
pub mod run_notes;
pub mod terminal;
mod terms;
mod xml;

pub use charts::{
    Chart, charts, charts_in, errors_chart, ready_chart, requests_chart, server_requests_chart,
    share_chart, version_colours,
};
pub use html::{html, html_in};
pub use i18n::Language;
pub use junit::junit;
pub use markdown::{markdown, markdown_in};
pub use narration::{Narration, narrate};
