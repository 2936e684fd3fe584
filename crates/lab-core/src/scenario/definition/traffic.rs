//! `[[traffic]]`: the classes of requests loadgen sends, with their shares and headers.

use super::{
    At, CLASS_KEYS, MAX_CLASS_HEADERS, MAX_CLASSES, Reader, show, sorted, table_has, type_name,
};
use crate::scenario::model::TrafficClass;
use crate::scenario::{DEFAULT_CLASS, DEFINITION_FILE};
use std::borrow::Cow;
use std::collections::BTreeMap;
use toml::Spanned;
use toml::de::DeValue;

impl Reader<'_> {
    /// `[[traffic]]`: classes of requests with their share and headers.
    pub(super) fn traffic(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Vec<At<TrafficClass>> {
        let DeValue::Array(items) = value.get_ref() else {
            let message = format!(
                "`{}` must be an array of tables ([[traffic]]), not {}",
                key.get_ref(),
                type_name(value.get_ref())
            );
            self.report(value.span(), message);
            return Vec::new();
        };
        if let Some(extra) = items.get(MAX_CLASSES) {
            let message = format!(
                "[[traffic]] has {} classes, more than the lab's limit ({MAX_CLASSES})",
                items.len()
            );
            self.report(extra.span(), message);
            return Vec::new();
        }
        let mut classes: Vec<At<TrafficClass>> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let label = format!("traffic class {}", index + 1);
            let DeValue::Table(table) = item.get_ref() else {
                let message = format!("{label} must be a table, not {}", type_name(item.get_ref()));
                self.report(item.span(), message);
                continue;
            };
            let (mut name, mut share, mut headers) = (None, None, None);
            for (key, value) in sorted(table) {
                match key.get_ref().as_ref() {
                    "class" => name = self.class_name(key, value),
                    "share" => share = self.share(key, value),
                    "headers" => headers = self.headers(value),
                    other => {
                        let message = format!(
                            "{label}: unknown key `{other}`: expected one of {}",
                            CLASS_KEYS.join(", ")
                        );
                        self.report(key.span(), message);
                    }
                }
            }
            let at = self.at(item.span());
            for (key, missing) in [
                ("class", !table_has(table, "class")),
                ("share", !table_has(table, "share")),
                ("headers", !table_has(table, "headers")),
            ] {
                if missing {
                    self.found
                        .at(DEFINITION_FILE, at, format!("{label}: missing key `{key}`"));
                }
            }
            if let (Some(name), Some(share), Some(headers)) = (name, share, headers) {
                if let Some(first) = classes.iter().find(|c| c.value.name == name.value) {
                    let message = format!(
                        "{label}: class `{}` is already defined at line {}",
                        name.value, first.at.line
                    );
                    self.found.at(DEFINITION_FILE, name.at, message);
                    continue;
                }
                classes.push(At {
                    value: TrafficClass {
                        name: name.value,
                        share,
                        headers,
                    },
                    at: name.at,
                });
            }
        }
        let total: f64 = classes.iter().map(|class| class.value.share).sum();
        if total > 1.0 + 1e-9
            && let Some(last) = classes.last()
        {
            let message = format!(
                "the [[traffic]] shares add up to {total}, more than 1: the `{DEFAULT_CLASS}` class is what they leave"
            );
            self.found.at(DEFINITION_FILE, last.at, message);
        }
        classes
    }

    pub(super) fn class_name(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<At<String>> {
        let name = self.string(key, value)?;
        let valid = name
            .value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
            && name.value.len() <= 63
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            let message = format!(
                "class name `{}` must be lower case letters, digits and `-`, starting with a letter",
                name.value
            );
            self.report(value.span(), message);
            return None;
        }
        if name.value == DEFAULT_CLASS {
            let message = format!(
                "class `{DEFAULT_CLASS}` is the lab's name for the requests no class claims: pick another"
            );
            self.report(value.span(), message);
            return None;
        }
        Some(name)
    }

    pub(super) fn share(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<f64> {
        let share = self.number(key, value)?;
        if share > 0.0 && share <= 1.0 {
            Some(share)
        } else {
            let message = format!("`share` must be more than 0 and at most 1, not {share}");
            self.report(value.span(), message);
            None
        }
    }

    pub(super) fn headers(
        &mut self,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<BTreeMap<String, String>> {
        let DeValue::Table(table) = value.get_ref() else {
            let message = format!(
                "`headers` must be a table such as {{ \"X-API-Version\" = \"v2.0.0\" }}, not {}",
                type_name(value.get_ref())
            );
            self.report(value.span(), message);
            return None;
        };
        if table.is_empty() || table.len() > MAX_CLASS_HEADERS {
            let message = format!("`headers` must name 1 to {MAX_CLASS_HEADERS} headers");
            self.report(value.span(), message);
            return None;
        }
        let mut headers = BTreeMap::new();
        let mut ok = true;
        for (name, header) in sorted(table) {
            let name_text = name.get_ref().to_string();
            let token = !name_text.is_empty()
                && name_text.len() <= 256
                && name_text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token {
                self.report(name.span(), format!("`{name_text}` is not a header name"));
                ok = false;
                continue;
            }
            match header.get_ref() {
                // A class travels to an in-cluster loadgen as
                // `--class NAME,SHARE,HEADER=VALUE`.
                DeValue::String(text) if text.contains(',') => {
                    let message = format!(
                        "header `{name_text}` must not contain `,` (a class reaches loadgen as NAME,SHARE,HEADER=VALUE)"
                    );
                    self.report(header.span(), message);
                    ok = false;
                }
                DeValue::String(text)
                    if !text.is_empty()
                        && text.len() <= 4096
                        && text
                            .bytes()
                            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) =>
                {
                    headers.insert(name_text, text.to_string());
                }
                other => {
                    let message = format!(
                        "header `{name_text}` must be a non-empty string of visible ASCII, not {}",
                        show(other)
                    );
                    self.report(header.span(), message);
                    ok = false;
                }
            }
        }
        ok.then_some(headers)
    }
}
