//! `scenario.toml`: walked key by key from a spanned TOML document, so every
//! unknown key, wrong type and missing key is reported with its place, not only the
//! first one serde would stop at.

mod steps;
mod traffic;

use super::model::TrafficClass;
use super::yaml::Position;
use super::{DEFINITION_FILE, Problems, ScenarioStep};
use crate::analysis::{Gates, Outcome};
use crate::duration::parse_duration;
use crate::limits;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct At<T> {
    pub(crate) value: T,
    pub(crate) at: Position,
}

/// One `[[steps]]` or `[[rollback]]` table.
#[derive(Debug, Clone)]
pub(crate) struct StepEntry {
    /// The step, when it is well formed.
    pub(crate) step: Option<ScenarioStep>,
    /// `step 3` or `rollback step 2`, for messages.
    pub(crate) label: String,
    /// Where the step's action value is written (the header when it has none).
    pub(crate) at: Position,
    /// Whether the table has an `analyze` key (even if the step is malformed).
    pub(crate) analyzes: bool,
}

/// `scenario.toml`, as far as it could be read.
#[derive(Debug, Clone)]
pub(crate) struct Definition {
    pub(crate) description: Option<At<String>>,
    pub(crate) service: Option<At<String>>,
    pub(crate) gateway: Option<At<String>>,
    /// The `[[traffic]]` classes, with where each is written.
    pub(crate) traffic: Vec<At<TrafficClass>>,
    pub(crate) baseline: Option<At<String>>,
    pub(crate) candidate: Option<At<String>>,
    pub(crate) expected: Option<At<Outcome>>,
    pub(crate) gates: Gates,
    pub(crate) steps: Vec<StepEntry>,
    pub(crate) rollback: Vec<StepEntry>,
    /// A step list over the limit was not read: which steps there are is
    /// unknown.
    pub(crate) steps_unread: bool,
}

const TOP_KEYS: [&str; 11] = [
    "description",
    "service",
    "gateway",
    "traffic",
    "baseline",
    "candidate",
    "expected",
    "gates",
    "steps",
    "rollback",
    "images",
];
const GATE_KEYS: [&str; 7] = [
    "min_success_rate",
    "max_p99",
    "max_p99_ratio",
    "p99_ratio_allowance",
    "min_samples",
    "max_restarts",
    "confidence",
];
/// The most `[[traffic]]` classes, and headers per class.
const MAX_CLASSES: usize = 8;
const MAX_CLASS_HEADERS: usize = 16;
const CLASS_KEYS: [&str; 3] = ["class", "share", "headers"];
const ACTIONS: [&str; 7] = [
    "apply", "wait", "observe", "scale", "delete", "switch", "analyze",
];
/// Keys that qualify an action, with the action they belong to.
const MODIFIERS: [(&str, &[&str]); 5] = [
    ("timeout", &["wait"]),
    ("for", &["observe", "analyze"]),
    ("replicas", &["scale"]),
    ("kind", &["delete"]),
    ("selector", &["switch"]),
];

/// Parse `scenario.toml`, reporting its problems.
pub(crate) fn parse(text: &str, problems: &mut Problems) -> Definition {
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    let lines = LineIndex::new(text);
    let mut reader = Reader {
        lines: &lines,
        found: Problems::default(),
    };
    let definition = reader.definition(document.get_ref());
    // After a syntax error the parser recovers with guesses; a problem on the same
    // line as a syntax error is a consequence of it, not news.
    let syntax: Vec<(Position, String)> = syntax_errors
        .iter()
        .map(|error| {
            let at = lines.position(error.span().map_or(0, |span| span.start));
            (at, format!("toml syntax: {}", error.message()))
        })
        .collect();
    for (at, message) in &syntax {
        problems.at(DEFINITION_FILE, *at, message.clone());
    }
    for (file, at, message) in reader.found.found {
        let shadowed = at.is_some_and(|at| syntax.iter().any(|(syntax, _)| syntax.line == at.line));
        if !shadowed {
            match at {
                Some(at) => problems.at(&file, at, message),
                None => problems.file_level(&file, message),
            }
        }
    }
    definition
}

/// Byte offsets to line and column.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        LineIndex { text, starts }
    }

    fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|start| *start <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Position::new(
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
        )
    }
}

/// Walks the document.
struct Reader<'a> {
    lines: &'a LineIndex<'a>,
    found: Problems,
}

type Entry<'i> = (&'i Spanned<Cow<'i, str>>, &'i Spanned<DeValue<'i>>);

impl Reader<'_> {
    fn at(&self, span: Range<usize>) -> Position {
        self.lines.position(span.start)
    }

    fn report(&mut self, span: Range<usize>, message: String) {
        let at = self.at(span);
        self.found.at(DEFINITION_FILE, at, message);
    }

    fn definition(&mut self, table: &DeTable<'_>) -> Definition {
        let mut definition = Definition {
            description: None,
            service: None,
            gateway: None,
            traffic: Vec::new(),
            baseline: None,
            candidate: None,
            expected: None,
            gates: Gates::default(),
            steps: Vec::new(),
            rollback: Vec::new(),
            steps_unread: false,
        };
        let mut seen_steps = false;
        let mut seen_rollback = false;
        for (key, value) in sorted(table) {
            match key.get_ref().as_ref() {
                "description" => definition.description = self.non_empty_string(key, value),
                "service" => definition.service = self.non_empty_string(key, value),
                "gateway" => definition.gateway = self.non_empty_string(key, value),
                "traffic" => definition.traffic = self.traffic(key, value),
                "baseline" => definition.baseline = self.non_empty_string(key, value),
                "candidate" => definition.candidate = self.non_empty_string(key, value),
                "expected" => definition.expected = self.outcome(key, value),
                "gates" => {
                    if let Some(gates) = self.table(key, value) {
                        definition.gates = self.gates(gates);
                    }
                }
                "steps" => {
                    seen_steps = true;
                    definition.steps = self.steps(key, value, "step");
                    definition.steps_unread |= self.over_step_limit(value);
                }
                "rollback" => {
                    seen_rollback = true;
                    definition.rollback = self.steps(key, value, "rollback step");
                    definition.steps_unread |= self.over_step_limit(value);
                }
                // Images mapped to local programs: read, and refused unless the
                // user allows it, where a lab is opened.
                "images" => {}
                other => {
                    let message = format!(
                        "unknown key `{other}`: expected one of {}",
                        TOP_KEYS.join(", ")
                    );
                    self.report(key.span(), message);
                }
            }
        }
        let start = Position::new(1, 1);
        let missing = [
            (
                "description",
                !table_has(table, "description"),
                "one line saying what the scenario shows",
            ),
            (
                "service",
                !table_has(table, "service") && !table_has(table, "gateway"),
                "the Service traffic goes through (or `gateway`, the Gateway it enters by)",
            ),
            (
                "baseline",
                !table_has(table, "baseline"),
                "the version label of the running version",
            ),
            (
                "candidate",
                !table_has(table, "candidate"),
                "the version label of the new version",
            ),
            (
                "expected",
                !table_has(table, "expected"),
                "`promoted` or `rolled-back`",
            ),
        ];
        for (key, is_missing, meaning) in missing {
            if is_missing {
                self.found.at(
                    DEFINITION_FILE,
                    start,
                    format!("missing key `{key}`: {meaning}"),
                );
            }
        }
        if let (Some(_), Some(gateway)) = (&definition.service, &definition.gateway) {
            self.found.at(
                DEFINITION_FILE,
                gateway.at,
                "`gateway` and `service` both given: traffic enters through one of them".to_owned(),
            );
        }
        if !seen_steps {
            self.found.at(
                DEFINITION_FILE,
                start,
                "no [[steps]]: a scenario needs steps to run".to_owned(),
            );
        }
        if !seen_rollback {
            let message =
                "no [[rollback]] steps: say how the candidate is undone when the analysis fails"
                    .to_owned();
            self.found.at(DEFINITION_FILE, start, message);
        }
        definition
    }

    fn gates(&mut self, table: &DeTable<'_>) -> Gates {
        let mut gates = Gates::default();
        for (key, value) in sorted(table) {
            let span = value.span();
            match key.get_ref().as_ref() {
                "min_success_rate" => {
                    if let Some(rate) = self.number(key, value) {
                        if (0.0..=1.0).contains(&rate) {
                            gates.min_success_rate = rate;
                        } else {
                            let message =
                                format!("`min_success_rate` must be between 0 and 1, not {rate}");
                            self.report(span, message);
                        }
                    }
                }
                "max_p99" => {
                    if let Some(duration) = self.duration(key, value) {
                        gates.max_p99_ms = duration.as_secs_f64() * 1000.0;
                    }
                }
                "max_p99_ratio" => {
                    if let Some(ratio) = self.number(key, value) {
                        if ratio >= 1.0 && ratio.is_finite() {
                            gates.max_p99_ratio = ratio;
                        } else {
                            let message =
                                format!("`max_p99_ratio` must be at least 1, not {ratio}");
                            self.report(span, message);
                        }
                    }
                }
                "p99_ratio_allowance" => {
                    if let Some(duration) = self.duration(key, value) {
                        gates.p99_ratio_allowance_ms = duration.as_secs_f64() * 1000.0;
                    }
                }
                "min_samples" => {
                    if let Some(samples) = self.integer(key, value) {
                        match u64::try_from(samples) {
                            Ok(samples) if samples > 0 => gates.min_samples = samples,
                            _ => {
                                let message =
                                    format!("`min_samples` must be at least 1, not {samples}");
                                self.report(span, message);
                            }
                        }
                    }
                }
                "max_restarts" => {
                    if let Some(restarts) = self.integer(key, value) {
                        match u32::try_from(restarts) {
                            Ok(restarts) => gates.max_restarts = restarts,
                            Err(_) => {
                                let message =
                                    format!("`max_restarts` must be 0 or more, not {restarts}");
                                self.report(span, message);
                            }
                        }
                    }
                }
                "confidence" => {
                    if let Some(confidence) = self.number(key, value) {
                        if confidence > 0.0 && confidence < 1.0 {
                            gates.confidence = confidence;
                        } else {
                            let message = format!(
                                "`confidence` must be between 0 and 1 (exclusive), not {confidence}"
                            );
                            self.report(span, message);
                        }
                    }
                }
                other => {
                    let message = format!(
                        "unknown gate `{other}`: expected one of {}",
                        GATE_KEYS.join(", ")
                    );
                    self.report(key.span(), message);
                }
            }
        }
        gates
    }

    fn outcome(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<At<Outcome>> {
        let text = self.string(key, value)?;
        let outcome = match text.value.as_str() {
            "promoted" => Outcome::Promoted,
            "rolled-back" => Outcome::RolledBack,
            other => {
                let message =
                    format!("`expected` must be \"promoted\" or \"rolled-back\", not \"{other}\"");
                self.report(value.span(), message);
                return None;
            }
        };
        Some(At {
            value: outcome,
            at: text.at,
        })
    }

    fn string(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<At<String>> {
        match value.get_ref() {
            DeValue::String(text) => Some(At {
                value: text.to_string(),
                at: self.at(value.span()),
            }),
            other => {
                let message = format!(
                    "`{}` must be a string, not {}",
                    key.get_ref(),
                    type_name(other)
                );
                self.report(value.span(), message);
                None
            }
        }
    }

    fn non_empty_string(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<At<String>> {
        let text = self.string(key, value)?;
        if text.value.trim().is_empty() {
            self.report(
                value.span(),
                format!("`{}` must not be empty", key.get_ref()),
            );
            return None;
        }
        Some(text)
    }

    fn table<'v, 'i>(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &'v Spanned<DeValue<'i>>,
    ) -> Option<&'v DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            other => {
                let message = format!(
                    "`{}` must be a table, not {}",
                    key.get_ref(),
                    type_name(other)
                );
                self.report(value.span(), message);
                None
            }
        }
    }

    fn integer(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<i64> {
        match value.get_ref() {
            DeValue::Integer(integer) => {
                match i64::from_str_radix(integer.as_str(), integer.radix()) {
                    Ok(number) => Some(number),
                    Err(_) => {
                        self.report(value.span(), format!("`{}` is too large", key.get_ref()));
                        None
                    }
                }
            }
            other => {
                let message = format!(
                    "`{}` must be an integer, not {}",
                    key.get_ref(),
                    type_name(other)
                );
                self.report(value.span(), message);
                None
            }
        }
    }

    fn number(&mut self, key: &Spanned<Cow<'_, str>>, value: &Spanned<DeValue<'_>>) -> Option<f64> {
        match value.get_ref() {
            DeValue::Float(float) => float.as_str().parse().ok(),
            DeValue::Integer(_) => self.integer(key, value).map(|number| number as f64),
            other => {
                let message = format!(
                    "`{}` must be a number, not {}",
                    key.get_ref(),
                    type_name(other)
                );
                self.report(value.span(), message);
                None
            }
        }
    }

    fn duration(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<Duration> {
        self.duration_value(key.get_ref(), value)
    }

    fn duration_value(&mut self, name: &str, value: &Spanned<DeValue<'_>>) -> Option<Duration> {
        let DeValue::String(text) = value.get_ref() else {
            let message = format!(
                "`{name}` must be a duration string such as \"30s\", not {}",
                type_name(value.get_ref())
            );
            self.report(value.span(), message);
            return None;
        };
        match parse_duration(text) {
            Ok(duration) => Some(duration),
            Err(problem) => {
                self.report(value.span(), format!("`{name}`: {problem}"));
                None
            }
        }
    }

    fn replicas(&mut self, value: &Spanned<DeValue<'_>>) -> Option<i32> {
        let DeValue::Integer(integer) = value.get_ref() else {
            let message = format!(
                "`replicas` must be an integer, not {}",
                type_name(value.get_ref())
            );
            self.report(value.span(), message);
            return None;
        };
        let number = i64::from_str_radix(integer.as_str(), integer.radix()).ok();
        match number.map(i32::try_from) {
            Some(Ok(replicas)) if replicas >= 0 => match limits::replicas(i64::from(replicas)) {
                Ok(()) => Some(replicas),
                Err(problem) => {
                    self.report(value.span(), format!("`replicas`: {problem}"));
                    None
                }
            },
            Some(Ok(replicas)) => {
                self.report(
                    value.span(),
                    format!("`replicas` must not be negative ({replicas})"),
                );
                None
            }
            _ => {
                self.report(value.span(), format!("`replicas` is too large ({integer})"));
                None
            }
        }
    }

    /// A Deployment name or a list of them.
    fn names(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<Vec<String>> {
        let items: Vec<&Spanned<DeValue<'_>>> = match value.get_ref() {
            DeValue::String(_) => vec![value],
            DeValue::Array(items) => items.iter().collect(),
            other => {
                let message = format!(
                    "`{}` must be a Deployment name or a list of them, not {}",
                    key.get_ref(),
                    type_name(other)
                );
                self.report(value.span(), message);
                return None;
            }
        };
        if items.is_empty() {
            self.report(
                value.span(),
                format!("`{}` must name at least one Deployment", key.get_ref()),
            );
            return None;
        }
        let mut names: Vec<String> = Vec::new();
        let mut ok = true;
        for item in items {
            match item.get_ref() {
                DeValue::String(name) if names.contains(&name.to_string()) => {
                    self.report(
                        item.span(),
                        format!("`{}` names {name} twice", key.get_ref()),
                    );
                    ok = false;
                }
                DeValue::String(name) if !name.trim().is_empty() => names.push(name.to_string()),
                other => {
                    let message = format!(
                        "`{}` must list Deployment names, not {}",
                        key.get_ref(),
                        show(other)
                    );
                    self.report(item.span(), message);
                    ok = false;
                }
            }
        }
        ok.then_some(names)
    }

    fn phase(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<String> {
        let phase = self.string(key, value)?.value;
        let valid = phase
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && phase
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Some(phase)
        } else {
            let message =
                format!("phase name `{phase}` must be lower case letters, digits and `-`");
            self.report(value.span(), message);
            None
        }
    }

    fn selector(&mut self, value: &Spanned<DeValue<'_>>) -> Option<BTreeMap<String, String>> {
        let DeValue::Table(table) = value.get_ref() else {
            let message = format!(
                "`selector` must be a table of labels such as {{ app = \"my-app\" }}, not {}",
                type_name(value.get_ref())
            );
            self.report(value.span(), message);
            return None;
        };
        if table.is_empty() {
            self.report(value.span(), "`selector` must not be empty".to_owned());
            return None;
        }
        let mut selector = BTreeMap::new();
        let mut ok = true;
        for (key, label) in sorted(table) {
            match label.get_ref() {
                DeValue::String(text) => {
                    selector.insert(key.get_ref().to_string(), text.to_string());
                }
                other => {
                    let message = format!(
                        "selector label `{}` must be a string, not {}",
                        key.get_ref(),
                        type_name(other)
                    );
                    self.report(label.span(), message);
                    ok = false;
                }
            }
        }
        ok.then_some(selector)
    }
}

/// A table's entries in the order they were written.
fn sorted<'v, 'i>(table: &'v DeTable<'i>) -> Vec<Entry<'v>>
where
    'i: 'v,
{
    let mut entries: Vec<Entry<'v>> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

fn table_has(table: &DeTable<'_>, key: &str) -> bool {
    table.iter().any(|(name, _)| name.get_ref() == key)
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// A value for a message: strings quoted, others by type.
fn show(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => format!("\"{text}\""),
        other => type_name(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "ab\nçd\n\nx";
        let index = LineIndex::new(text);
        let check = |offset: usize, expected: &str| {
            assert_eq!(index.position(offset).to_string(), expected, "{offset}")
        };
        check(0, "1:1");
        check(1, "1:2");
        check(3, "2:1");
        check(5, "2:2");
        check(7, "3:1");
        check(8, "4:1");
        check(99, "4:2");
    }
}
