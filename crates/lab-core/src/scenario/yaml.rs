//! YAML text to JSON values that remember where each node came from.
//!
//! Kubernetes reads manifests as JSON objects, so each YAML document becomes a
//! [`serde_json::Value`] plus a map from JSON pointer (RFC 6901) to the line and
//! column of the node, which lets later checks point at the exact place of a problem.
//! Plain scalars resolve with the YAML 1.2 core schema (`true`, `12`, `1.5`, `null`;
//! anything quoted stays a string). Plain scalars that kubectl's YAML 1.1 reader
//! would resolve differently (`yes`, `off`, `0644`) are reported, because the same
//! file would mean something else on a cluster.
//!
//! Anchors and aliases (`&a`, `*a`) are refused, at the first one and before
//! anything is expanded: Kubernetes manifests need none, and a few hundred bytes
//! of nested aliases expand to gigabytes (a "billion laughs").

use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::fmt;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A place in a text file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, starting at 1.
    pub line: u32,
    /// Column, starting at 1, counted in characters.
    pub column: u32,
}

impl Position {
    /// The position at `line`, `column` (both 1-based).
    pub fn new(line: u32, column: u32) -> Position {
        Position { line, column }
    }

    fn from_marker(marker: &Marker) -> Position {
        Position {
            line: u32::try_from(marker.line()).unwrap_or(u32::MAX),
            column: u32::try_from(marker.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A problem in a YAML file, at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where the problem is.
    pub position: Position,
    /// What is wrong, lower case, no trailing period.
    pub message: String,
    /// The file was not read past this problem, so it may hold more objects
    /// than the documents returned.
    pub cuts_short: bool,
}

/// Why an anchor or alias is refused.
const ANCHORS_REFUSED: &str = "yaml anchors and aliases are not supported: write the value out (Kubernetes manifests need none)";

/// One YAML document as JSON, with the position of every node.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlDocument {
    /// The document's content.
    pub value: Value,
    /// Where the document's root node starts.
    pub start: Position,
    /// JSON pointer of a mapping member → position of its key.
    keys: HashMap<String, Position>,
    /// JSON pointer of any node → position of the node itself.
    values: HashMap<String, Position>,
}

impl YamlDocument {
    /// Where the node at `pointer` is: the position of its key when it is a mapping
    /// member, else the node's own position. A pointer with no recorded position (a
    /// node that does not exist) falls back to its nearest ancestor, so every
    /// pointer gets a useful place.
    pub fn position(&self, pointer: &str) -> Position {
        let mut current = pointer;
        loop {
            if let Some(position) = self.keys.get(current).or_else(|| self.values.get(current)) {
                return *position;
            }
            match current.rfind('/') {
                Some(slash) => current = &current[..slash],
                None => return self.start,
            }
        }
    }

    /// Where the value of the node at `pointer` is (not its key), if recorded.
    pub fn value_position(&self, pointer: &str) -> Option<Position> {
        self.values.get(pointer).copied()
    }

    /// Where the key of the mapping member at `pointer` is, if it is one.
    pub fn key_position(&self, pointer: &str) -> Option<Position> {
        self.keys.get(pointer).copied()
    }
}

/// Append one reference token to a JSON pointer, escaping `~` and `/` (RFC 6901).
pub fn pointer_child(parent: &str, token: &str) -> String {
    let mut pointer = String::with_capacity(parent.len() + token.len() + 1);
    pointer.push_str(parent);
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
    pointer
}

/// Parse a YAML stream into its documents. Empty documents (only comments, or
/// nothing between two `---`) are skipped, as kubectl does. A syntax error, or an
/// anchor or alias, ends the stream: the documents completed before it are
/// returned with the error, so they can still be checked.
pub fn parse_documents(text: &str) -> (Vec<YamlDocument>, Vec<YamlError>) {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => break,
            Ok((event, marker)) => {
                let at = marker.index();
                builder.on_event(event, marker);
                if builder.stopped {
                    point_at_anchor(text, at, &mut builder.errors);
                    break;
                }
            }
            Err(error) => {
                builder.errors.push(YamlError {
                    position: Position::from_marker(error.marker()),
                    message: format!("yaml syntax: {}", error.info()),
                    cuts_short: true,
                });
                break;
            }
        }
    }
    (builder.documents, builder.errors)
}

/// The parser marks an anchored node after its anchor (`&a {…}` at `{`): point
/// the refusal at the `&` or `*` before it on the same line instead.
fn point_at_anchor(text: &str, at: usize, errors: &mut [YamlError]) {
    let Some(error) = errors.last_mut() else {
        return;
    };
    let line: Vec<char> = text
        .chars()
        .take(at + 1)
        .collect::<Vec<_>>()
        .rsplit(|c| *c == '\n')
        .next()
        .map(<[char]>::to_vec)
        .unwrap_or_default();
    if let Some(column) = line.iter().rposition(|c| *c == '&' || *c == '*') {
        error.position.column = u32::try_from(column + 1).unwrap_or(u32::MAX);
    }
}

/// Resolve a plain (unquoted, untagged) scalar with the YAML 1.2 core schema.
///
/// Errors are scalars that cannot become JSON (`.inf`, `.nan`).
pub fn resolve_plain(text: &str) -> Result<Value, String> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if let Some(number) = resolve_int(text) {
        return Ok(number);
    }
    if is_core_float(text) {
        return float(text);
    }
    if is_special_float(text) {
        return Err(format!(
            "`{text}` is not a finite number, which JSON cannot hold"
        ));
    }
    Ok(Value::String(text.to_owned()))
}

/// `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+` as a JSON number.
fn resolve_int(text: &str) -> Option<Value> {
    let (radix, digits, negative) = if let Some(octal) = text.strip_prefix("0o") {
        (8, octal, false)
    } else if let Some(hex) = text.strip_prefix("0x") {
        (16, hex, false)
    } else if let Some(rest) = text.strip_prefix('-') {
        (10, rest, true)
    } else {
        (10, text.strip_prefix('+').unwrap_or(text), false)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok();
    let number = match (magnitude, negative) {
        (Some(m), false) => u64::try_from(m).ok().map(Number::from),
        (Some(m), true) => i128::try_from(m)
            .ok()
            .and_then(|m| i64::try_from(-m).ok())
            .map(Number::from),
        (None, _) => None,
    };
    // Integers too large for 64 bits still are numbers; JSON keeps them as floats.
    Some(match number {
        Some(number) => Value::Number(number),
        None => float(text).unwrap_or_else(|_| Value::String(text.to_owned())),
    })
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((whole, fraction)) => digits(whole) && (fraction.is_empty() || digits(fraction)),
        None => digits(mantissa),
    };
    let exponent_ok = match exponent {
        Some(exponent) => digits(exponent.strip_prefix(['-', '+']).unwrap_or(exponent)),
        None => true,
    };
    mantissa_ok && exponent_ok
}

fn is_special_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    matches!(body, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN")
}

fn float(text: &str) -> Result<Value, String> {
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| format!("`{text}` is not a finite number, which JSON cannot hold"))
}

/// Why a plain scalar would mean something else to kubectl, which reads YAML 1.1.
fn yaml_1_1_difference(text: &str) -> Option<String> {
    const BOOLEANS: [&str; 16] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF",
    ];
    if BOOLEANS.contains(&text) {
        return Some(format!(
            "plain `{text}` is a boolean for kubectl (YAML 1.1) but a string here: quote it"
        ));
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if unsigned.len() > 1
        && unsigned.starts_with('0')
        && unsigned.chars().all(|c| c.is_ascii_digit())
    {
        return Some(format!(
            "plain `{text}` is octal for kubectl (YAML 1.1) but decimal here: write it without the leading zero, or quote it"
        ));
    }
    if text.starts_with("0o") && resolve_int(text).is_some() {
        return Some(format!(
            "plain `{text}` is a string for kubectl (YAML 1.1) but a number here: write it in decimal"
        ));
    }
    None
}

/// Resolve a scalar with an explicit tag (`!!str 9101`).
fn resolve_tagged(text: &str, tag: &Tag) -> Result<Value, String> {
    if format!("{}{}", tag.handle, tag.suffix) == "!" {
        // The non-specific tag `!` forces a string.
        return Ok(Value::String(text.to_owned()));
    }
    if tag.handle != "tag:yaml.org,2002:" {
        return Err(format!("unsupported tag {}{}", tag.handle, tag.suffix));
    }
    let mismatch = || format!("`{text}` is not a valid !!{}", tag.suffix);
    match tag.suffix.as_str() {
        "str" => Ok(Value::String(text.to_owned())),
        "null" => match resolve_plain(text)? {
            Value::Null => Ok(Value::Null),
            _ => Err(mismatch()),
        },
        "bool" => match resolve_plain(text)? {
            value @ Value::Bool(_) => Ok(value),
            _ => Err(mismatch()),
        },
        "int" => resolve_int(text).ok_or_else(mismatch),
        "float" => {
            if resolve_int(text).is_some() || is_core_float(text) {
                float(text)
            } else if is_special_float(text) {
                Err(format!(
                    "`{text}` is not a finite number, which JSON cannot hold"
                ))
            } else {
                Err(mismatch())
            }
        }
        other => Err(format!("unsupported tag !!{other}")),
    }
}

fn check_collection_tag(tag: Option<&Tag>, expected: &str) -> Option<String> {
    let tag = tag?;
    if tag.handle == "tag:yaml.org,2002:" && tag.suffix == expected {
        None
    } else if tag.handle == "tag:yaml.org,2002:" {
        Some(format!("unsupported tag !!{}", tag.suffix))
    } else {
        Some(format!("unsupported tag {}{}", tag.handle, tag.suffix))
    }
}

/// A collection being built.
#[derive(Debug)]
enum Frame {
    Sequence {
        items: Vec<Value>,
        pointer: String,
        start: Position,
    },
    Mapping {
        members: Map<String, Value>,
        pointer: String,
        start: Position,
        /// The key read, waiting for its value (`None` for a key that was rejected).
        key: Option<Option<String>>,
    },
}

/// Receives parser events and builds documents.
#[derive(Default)]
struct Builder {
    documents: Vec<YamlDocument>,
    errors: Vec<YamlError>,
    stack: Vec<Frame>,
    keys: HashMap<String, Position>,
    values: HashMap<String, Position>,
    /// Nesting depth of a complex mapping key being skipped (0: none).
    skipping: usize,
    /// An anchor or alias was met: nothing more is read.
    stopped: bool,
}

/// Where a new node goes.
enum Slot {
    Root,
    Item(String),
    Member(String),
    Key,
    Discard,
}

impl Builder {
    fn error(&mut self, position: Position, message: String) {
        self.errors.push(YamlError {
            position,
            message,
            cuts_short: false,
        });
    }

    /// Refuse an anchor or alias and stop reading.
    fn refuse_anchor(&mut self, position: Position) {
        self.errors.push(YamlError {
            position,
            message: ANCHORS_REFUSED.to_owned(),
            cuts_short: true,
        });
        self.stopped = true;
    }

    /// Decide where the node starting now belongs.
    fn slot(&mut self) -> Slot {
        match self.stack.last() {
            None => Slot::Root,
            Some(Frame::Sequence { items, pointer, .. }) => {
                Slot::Item(pointer_child(pointer, &items.len().to_string()))
            }
            Some(Frame::Mapping { key: None, .. }) => Slot::Key,
            Some(Frame::Mapping {
                key: Some(Some(key)),
                pointer,
                ..
            }) => Slot::Member(pointer_child(pointer, key)),
            Some(Frame::Mapping {
                key: Some(None), ..
            }) => Slot::Discard,
        }
    }

    /// Record a node's position and, for a member, its key's position.
    fn record(&mut self, slot: &Slot, position: Position) {
        match slot {
            Slot::Root => {
                self.values.insert(String::new(), position);
            }
            Slot::Item(pointer) | Slot::Member(pointer) => {
                self.values.insert(pointer.clone(), position);
            }
            Slot::Key | Slot::Discard => {}
        }
    }

    /// Put a finished node in its parent (or finish the document).
    fn place(&mut self, value: Value, start: Position) {
        match self.stack.last_mut() {
            None => {
                let keys = std::mem::take(&mut self.keys);
                let values = std::mem::take(&mut self.values);
                if !value.is_null() {
                    self.documents.push(YamlDocument {
                        value,
                        start,
                        keys,
                        values,
                    });
                }
            }
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping { members, key, .. }) => {
                if let Some(Some(name)) = key.take() {
                    members.insert(name, value);
                }
            }
        }
    }

    /// A scalar or alias used as a mapping key.
    fn key(&mut self, key: Option<String>, position: Position) {
        let Some(Frame::Mapping {
            members,
            pointer,
            key: pending,
            ..
        }) = self.stack.last_mut()
        else {
            return;
        };
        let accepted = match key {
            Some(name) if members.contains_key(&name) => {
                let message = format!("duplicate key `{name}`");
                self.errors.push(YamlError {
                    position,
                    message,
                    cuts_short: false,
                });
                None
            }
            Some(name) => {
                let member = pointer_child(pointer, &name);
                self.keys.insert(member, position);
                Some(name)
            }
            None => None,
        };
        *pending = Some(accepted);
    }

    /// The start of a mapping or sequence.
    fn open(&mut self, sequence: bool, tag: Option<&Tag>, position: Position) {
        let slot = self.slot();
        if let Slot::Key = slot {
            self.error(position, "a mapping key must be a plain value".to_owned());
            self.skipping = 1;
            return;
        }
        if let Some(message) = check_collection_tag(tag, if sequence { "seq" } else { "map" }) {
            self.error(position, message);
        }
        let pointer = match &slot {
            Slot::Root => String::new(),
            Slot::Item(pointer) | Slot::Member(pointer) => pointer.clone(),
            Slot::Key | Slot::Discard => "/-".to_owned(),
        };
        self.record(&slot, position);
        self.stack.push(if sequence {
            Frame::Sequence {
                items: Vec::new(),
                pointer,
                start: position,
            }
        } else {
            Frame::Mapping {
                members: Map::new(),
                pointer,
                start: position,
                key: None,
            }
        });
    }

    /// The end of the innermost mapping or sequence.
    fn close(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let (value, pointer, mut start) = match frame {
            Frame::Sequence {
                items,
                pointer,
                start,
            } => (Value::Array(items), pointer, start),
            Frame::Mapping {
                members,
                pointer,
                start,
                ..
            } => (Value::Object(members), pointer, start),
        };
        // The parser marks a block mapping at the end of its first key; the node
        // really starts where its first child does.
        let first_child = match &value {
            Value::Array(items) if !items.is_empty() => {
                self.values.get(&pointer_child(&pointer, "0"))
            }
            Value::Object(members) => members
                .keys()
                .filter_map(|key| self.keys.get(&pointer_child(&pointer, key)))
                .min(),
            _ => None,
        };
        if let Some(child) = first_child {
            start = start.min(*child);
        }
        if self.values.contains_key(&pointer) {
            self.values.insert(pointer, start);
        }
        self.place(value, start);
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        let position = Position::from_marker(&marker);
        let anchored = match &event {
            Event::Alias(_) => true,
            Event::Scalar(_, _, anchor, _)
            | Event::SequenceStart(anchor, _)
            | Event::MappingStart(anchor, _) => *anchor != 0,
            _ => false,
        };
        if anchored {
            self.refuse_anchor(position);
            return;
        }
        if self.skipping > 0 {
            match event {
                Event::SequenceStart(..) | Event::MappingStart(..) => self.skipping += 1,
                Event::SequenceEnd | Event::MappingEnd => {
                    self.skipping -= 1;
                    if self.skipping == 0 {
                        self.key(None, position);
                    }
                }
                _ => {}
            }
            return;
        }
        match event {
            Event::DocumentStart => {
                self.keys.clear();
                self.values.clear();
            }
            Event::Scalar(text, style, _, tag) => {
                let slot = self.slot();
                if let Slot::Key = slot {
                    self.key(Some(text), position);
                    return;
                }
                let resolved = match (&tag, style) {
                    (Some(tag), _) => resolve_tagged(&text, tag),
                    (None, TScalarStyle::Plain) => {
                        if let Some(message) = yaml_1_1_difference(&text) {
                            self.error(position, message);
                        }
                        resolve_plain(&text)
                    }
                    (None, _) => Ok(Value::String(text.clone())),
                };
                let value = resolved.unwrap_or_else(|message| {
                    self.error(position, message);
                    Value::String(text)
                });
                self.record(&slot, position);
                self.place(value, position);
            }
            Event::SequenceStart(_, tag) => self.open(true, tag.as_ref(), position),
            Event::MappingStart(_, tag) => self.open(false, tag.as_ref(), position),
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            // Refused above.
            Event::Alias(_) => {}
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Parse `text` and list `pointer → line:column` for each asked pointer.
    fn check_positions(text: &str, pointers: &[&str], expected: &[&str]) {
        let (documents, errors) = parse_documents(text);
        assert_eq!(errors, vec![], "unexpected errors");
        let document = &documents[0];
        let got: Vec<String> = pointers
            .iter()
            .map(|pointer| format!("{pointer} {}", document.position(pointer)))
            .collect();
        assert_eq!(got, expected);
    }

    /// Resolve one plain scalar.
    fn check_plain(text: &str, expected: Result<Value, &str>) {
        assert_eq!(
            resolve_plain(text),
            expected.map_err(str::to_owned),
            "{text:?}"
        );
    }

    /// Parse a one-document stream and compare its value.
    fn check_value(text: &str, expected: Value) {
        let (documents, errors) = parse_documents(text);
        assert_eq!(errors, vec![], "{text:?}");
        assert_eq!(documents.len(), 1, "{text:?}");
        assert_eq!(documents[0].value, expected, "{text:?}");
    }

    /// Parse and list the errors as `line:column: message`.
    fn check_errors(text: &str, expected: &[&str]) {
        let (_, errors) = parse_documents(text);
        let got: Vec<String> = errors
            .iter()
            .map(|error| format!("{}: {}", error.position, error.message))
            .collect();
        assert_eq!(got, expected, "{text:?}");
    }

    const SERVICE: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: my-app
  labels: {app: my-app, tier: [a, b]}
spec:
  ports:
  - name: http
    port: 80
  -   port: 81
  selector:
    app.kubernetes.io/name: my-app
";

    #[test]
    fn block_members_point_at_their_keys() {
        check_positions(
            SERVICE,
            &[
                "",
                "/apiVersion",
                "/kind",
                "/metadata",
                "/metadata/name",
                "/spec/ports",
                "/spec/selector",
            ],
            &[
                "",
                "/apiVersion 1:1",
                "/kind 2:1",
                "/metadata 3:1",
                "/metadata/name 4:3",
                "/spec/ports 7:3",
                "/spec/selector 11:3",
            ]
            .map(|s| if s.is_empty() { " 1:1" } else { s }),
        );
    }

    #[test]
    fn sequence_items_point_at_their_first_content() {
        check_positions(
            SERVICE,
            &[
                "/spec/ports/0",
                "/spec/ports/0/port",
                "/spec/ports/1",
                "/spec/ports/1/port",
            ],
            &[
                "/spec/ports/0 8:5",
                "/spec/ports/0/port 9:5",
                "/spec/ports/1 10:7",
                "/spec/ports/1/port 10:7",
            ],
        );
    }

    #[test]
    fn flow_collections_have_positions() {
        check_positions(
            SERVICE,
            &[
                "/metadata/labels/app",
                "/metadata/labels/tier",
                "/metadata/labels/tier/1",
            ],
            &[
                "/metadata/labels/app 5:12",
                "/metadata/labels/tier 5:25",
                "/metadata/labels/tier/1 5:35",
            ],
        );
    }

    #[test]
    fn keys_with_slashes_are_escaped() {
        check_positions(
            SERVICE,
            &["/spec/selector/app.kubernetes.io~1name"],
            &["/spec/selector/app.kubernetes.io~1name 12:5"],
        );
    }

    #[test]
    fn values_and_keys_have_their_own_positions() {
        let (documents, _) = parse_documents(SERVICE);
        let document = &documents[0];
        assert_eq!(document.key_position("/kind"), Some(Position::new(2, 1)));
        assert_eq!(document.value_position("/kind"), Some(Position::new(2, 7)));
        assert_eq!(document.key_position("/spec/ports/0"), None);
    }

    #[test]
    fn missing_pointers_fall_back_to_the_nearest_ancestor() {
        check_positions(
            SERVICE,
            &["/spec/ports/0/targetPort", "/spec/nothing/below", "/absent"],
            &[
                "/spec/ports/0/targetPort 8:5",
                "/spec/nothing/below 6:1",
                "/absent 1:1",
            ],
        );
    }

    #[test]
    fn documents_are_split_and_empty_ones_skipped() {
        let text = "a: 1\n---\n# only a comment\n---\n\n  b: 2\n...\n---\nc: 3\n";
        let (documents, errors) = parse_documents(text);
        assert_eq!(errors, vec![]);
        let got: Vec<(Value, String)> = documents
            .iter()
            .map(|d| (d.value.clone(), d.start.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                (json!({"a": 1}), "1:1".to_owned()),
                (json!({"b": 2}), "6:3".to_owned()),
                (json!({"c": 3}), "9:1".to_owned()),
            ]
        );
        assert_eq!(documents[1].position("/b"), Position::new(6, 3));
    }

    #[test]
    fn plain_scalars_resolve_with_the_core_schema() {
        check_plain("", Ok(Value::Null));
        check_plain("~", Ok(Value::Null));
        check_plain("null", Ok(Value::Null));
        check_plain("NULL", Ok(Value::Null));
        check_plain("true", Ok(json!(true)));
        check_plain("False", Ok(json!(false)));
        check_plain("9101", Ok(json!(9101)));
        check_plain("-3", Ok(json!(-3)));
        check_plain("+7", Ok(json!(7)));
        check_plain("0", Ok(json!(0)));
        check_plain("0o17", Ok(json!(15)));
        check_plain("0x1F", Ok(json!(31)));
        check_plain("18446744073709551615", Ok(json!(u64::MAX)));
        check_plain("-9223372036854775808", Ok(json!(i64::MIN)));
        check_plain("1e3", Ok(json!(1000.0)));
        check_plain("0.2", Ok(json!(0.2)));
        check_plain(".5", Ok(json!(0.5)));
        check_plain("1.", Ok(json!(1.0)));
        check_plain("-1.5E-2", Ok(json!(-0.015)));
        check_plain(
            ".inf",
            Err("`.inf` is not a finite number, which JSON cannot hold"),
        );
        check_plain(
            ".NaN",
            Err("`.NaN` is not a finite number, which JSON cannot hold"),
        );
        // Not numbers or booleans in YAML 1.2.
        check_plain("v1.0.0", Ok(json!("v1.0.0")));
        check_plain("10m", Ok(json!("10m")));
        check_plain("600ms", Ok(json!("600ms")));
        check_plain("1_000", Ok(json!("1_000")));
        check_plain("0b101", Ok(json!("0b101")));
        check_plain("0x", Ok(json!("0x")));
        check_plain("1e", Ok(json!("1e")));
        check_plain(".", Ok(json!(".")));
        check_plain("-", Ok(json!("-")));
        check_plain("yes", Ok(json!("yes")));
        check_plain("TRUE ", Ok(json!("TRUE ")));
        check_plain("nan", Ok(json!("nan")));
        check_plain("inf", Ok(json!("inf")));
    }

    #[test]
    fn quoted_and_block_scalars_stay_strings() {
        check_value(
            "a: \"9101\"\nb: '1.5'\nc: \"true\"\nd: |\n  12\ne: >-\n  null\nf: 9101\n",
            json!({"a": "9101", "b": "1.5", "c": "true", "d": "12\n", "e": "null", "f": 9101}),
        );
    }

    #[test]
    fn tags_choose_the_type() {
        check_value(
            "a: !!str 9101\nb: !!int \"12\"\nc: !!float 1\nd: !!bool true\ne: !!null ~\nf: ! 12\ng: !!map {x: 1}\n",
            json!({"a": "9101", "b": 12, "c": 1.0, "d": true, "e": null, "f": "12", "g": {"x": 1}}),
        );
    }

    #[test]
    fn anchors_and_aliases_are_refused_before_they_expand() {
        let refused = "yaml anchors and aliases are not supported: write the value out (Kubernetes manifests need none)";
        check_errors(
            "a: &labels {app: my-app}\nb: *labels\n",
            &[&format!("1:4: {refused}")],
        );
        check_errors(
            "a: 1\nb: *x\n",
            &["2:4: yaml syntax: while parsing node, found unknown anchor"],
        );
        check_errors("- &n 3\n", &[&format!("1:3: {refused}")]);
        // Nine levels of nine-fold aliases: refused at the first anchor, and
        // only the documents before it are kept.
        let mut bomb = String::from(
            "kind: Service\n---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for level in b'b'..=b'i' {
            let previous = char::from(level - 1);
            let items = vec![format!("*{previous}"); 9].join(",");
            bomb.push_str(&format!(
                "{}: &{} [{items}]\n",
                char::from(level),
                char::from(level)
            ));
        }
        let (documents, errors) = parse_documents(&bomb);
        assert_eq!(documents.len(), 1);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].cuts_short);
        assert_eq!(errors[0].position, Position::new(3, 4));
    }

    #[test]
    fn scalar_keys_become_strings() {
        check_value(
            "80: http\ntrue: x\n\"q\": 1\n",
            json!({"80": "http", "true": "x", "q": 1}),
        );
    }

    #[test]
    fn problems_are_reported_with_positions() {
        check_errors("a: 1\na: 2\n", &["2:1: duplicate key `a`"]);
        check_errors("a: !!int x\n", &["1:10: `x` is not a valid !!int"]);
        check_errors("a: !custom x\n", &["1:12: unsupported tag !custom"]);
        check_errors("a: !!set {x: 1}\n", &["1:10: unsupported tag !!set"]);
        check_errors(
            "a: .inf\n",
            &["1:4: `.inf` is not a finite number, which JSON cannot hold"],
        );
        check_errors(
            "? [a, b]\n: 1\nc: 2\n",
            &["1:3: a mapping key must be a plain value"],
        );
        check_errors(
            "a: [1, 2\n",
            &["2:1: yaml syntax: while parsing a flow sequence, expected ',' or ']'"],
        );
        check_errors(
            "a:\n  b: 1\n c: 2\n",
            &["3:3: yaml syntax: while parsing a block mapping, did not find expected key"],
        );
    }

    #[test]
    fn values_kubectl_reads_differently_are_reported() {
        check_errors(
            "a: yes\nb: Off\nc: \"yes\"\n",
            &[
                "1:4: plain `yes` is a boolean for kubectl (YAML 1.1) but a string here: quote it",
                "2:4: plain `Off` is a boolean for kubectl (YAML 1.1) but a string here: quote it",
            ],
        );
        check_errors(
            "mode: 0644\nzero: 0\nhex: 0x10\n",
            &[
                "1:7: plain `0644` is octal for kubectl (YAML 1.1) but decimal here: write it without the leading zero, or quote it",
            ],
        );
        check_errors(
            "a: 0o17\n",
            &[
                "1:4: plain `0o17` is a string for kubectl (YAML 1.1) but a number here: write it in decimal",
            ],
        );
    }

    #[test]
    fn a_syntax_error_keeps_the_documents_before_it() {
        let (documents, errors) = parse_documents("a: 1\n---\nb: [\n");
        assert_eq!(documents.len(), 1);
        assert_eq!(documents[0].value, json!({"a": 1}));
        assert_eq!(errors.len(), 1);
    }
}
