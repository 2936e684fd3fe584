//! Renders a run report for people: Markdown for terminals and pull requests.
//! Pure: it takes a report and returns text.

mod markdown;

pub use markdown::markdown;
