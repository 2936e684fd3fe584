//! `[[steps]]`: each step's table and its action.

use super::{ACTIONS, Entry, MODIFIERS, Reader, StepEntry, show, sorted, type_name};
use crate::limits;
use crate::object::ObjectKind;
use crate::scenario::ScenarioStep;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

impl Reader<'_> {
    pub(super) fn steps(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
        label: &str,
    ) -> Vec<StepEntry> {
        let DeValue::Array(items) = value.get_ref() else {
            let name = key.get_ref();
            let message = format!(
                "`{name}` must be an array of tables ([[{name}]]), not {}",
                type_name(value.get_ref())
            );
            self.report(value.span(), message);
            return Vec::new();
        };
        if let Some(first_extra) = items.get(limits::MAX_STEPS) {
            let message = format!(
                "[[{}]] has {} steps, more than the lab's limit ({}): split the scenario",
                key.get_ref(),
                items.len(),
                limits::MAX_STEPS
            );
            self.report(first_extra.span(), message);
            return Vec::new();
        }
        let mut entries = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let label = format!("{label} {}", index + 1);
            match item.get_ref() {
                DeValue::Table(table) => entries.push(self.step(table, item.span(), label)),
                other => {
                    let message = format!("{label} must be a table, not {}", type_name(other));
                    self.report(item.span(), message);
                    entries.push(StepEntry {
                        step: None,
                        label,
                        at: self.at(item.span()),
                        analyzes: false,
                    });
                }
            }
        }
        entries
    }

    /// Whether a step list is over the limit (and so was not read).
    pub(super) fn over_step_limit(&self, value: &Spanned<DeValue<'_>>) -> bool {
        matches!(value.get_ref(), DeValue::Array(items) if items.len() > limits::MAX_STEPS)
    }

    pub(super) fn step(
        &mut self,
        table: &DeTable<'_>,
        header: Range<usize>,
        label: String,
    ) -> StepEntry {
        let entries = sorted(table);
        let actions: Vec<Entry<'_>> = entries
            .iter()
            .copied()
            .filter(|(key, _)| ACTIONS.contains(&key.get_ref().as_ref()))
            .collect();
        let analyzes = actions.iter().any(|(key, _)| key.get_ref() == "analyze");
        let mut entry = StepEntry {
            step: None,
            label: label.clone(),
            at: self.at(header.clone()),
            analyzes,
        };
        for (key, _) in &entries {
            let name = key.get_ref().as_ref();
            if !ACTIONS.contains(&name) && !MODIFIERS.iter().any(|(modifier, _)| *modifier == name)
            {
                let message = format!(
                    "{label}: unknown key `{name}`: a step is one of {}",
                    ACTIONS.join(", ")
                );
                self.report(key.span(), message);
            }
        }
        let (action_key, action_value) = match actions.as_slice() {
            [] => {
                let message = format!(
                    "{label} has no action: expected one of {}",
                    ACTIONS.join(", ")
                );
                self.report(header, message);
                return entry;
            }
            [single] => *single,
            [_, second, ..] => {
                let names: Vec<String> = actions
                    .iter()
                    .map(|(key, _)| format!("`{}`", key.get_ref()))
                    .collect();
                let message = format!(
                    "{label} has {} actions ({}): a step does one thing",
                    actions.len(),
                    names.join(", ")
                );
                self.report(second.0.span(), message);
                return entry;
            }
        };
        let action = action_key.get_ref().as_ref();
        entry.at = self.at(action_value.span());
        let mut modifiers: BTreeMap<&str, &Spanned<DeValue<'_>>> = BTreeMap::new();
        for (key, value) in &entries {
            let name = key.get_ref().as_ref();
            if let Some((_, owners)) = MODIFIERS.iter().find(|(modifier, _)| *modifier == name) {
                if owners.contains(&action) {
                    modifiers.insert(name, value);
                } else {
                    let message = format!("{label}: `{name}` does not belong to a `{action}` step");
                    self.report(key.span(), message);
                }
            }
        }
        entry.step = self.action(&label, action_key, action_value, &modifiers);
        entry
    }

    /// Build one step from its action and modifiers.
    pub(super) fn action(
        &mut self,
        label: &str,
        key: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
        modifiers: &BTreeMap<&str, &Spanned<DeValue<'_>>>,
    ) -> Option<ScenarioStep> {
        let optional_duration = |reader: &mut Self, name: &str| -> Result<Option<Duration>, ()> {
            let Some(value) = modifiers.get(name) else {
                return Ok(None);
            };
            let duration = reader.duration_value(name, value).ok_or(())?;
            let within = match name {
                "timeout" => limits::wait(duration),
                _ => limits::phase(duration),
            };
            match within {
                Ok(()) => Ok(Some(duration)),
                Err(problem) => {
                    reader.report(value.span(), format!("`{name}`: {problem}"));
                    Err(())
                }
            }
        };
        match key.get_ref().as_ref() {
            "apply" => {
                let file = self.non_empty_string(key, value)?;
                Some(ScenarioStep::Apply { file: file.value })
            }
            "wait" => {
                let deployments = self.names(key, value);
                let timeout = optional_duration(self, "timeout");
                Some(ScenarioStep::Wait {
                    deployments: deployments?,
                    timeout: timeout.ok()?,
                })
            }
            action @ ("observe" | "analyze") => {
                let phase = self.phase(key, value);
                let duration = optional_duration(self, "for");
                let (phase, duration) = (phase?, duration.ok()?);
                Some(if action == "observe" {
                    ScenarioStep::Observe { phase, duration }
                } else {
                    ScenarioStep::Analyze { phase, duration }
                })
            }
            "scale" => {
                let deployment = self.non_empty_string(key, value);
                let replicas = match modifiers.get("replicas") {
                    Some(replicas) => self.replicas(replicas),
                    None => {
                        self.report(
                            value.span(),
                            format!("{label}: a `scale` step needs `replicas`"),
                        );
                        None
                    }
                };
                Some(ScenarioStep::Scale {
                    deployment: deployment?.value,
                    replicas: replicas?,
                })
            }
            "delete" => {
                let name = self.non_empty_string(key, value);
                let kind = match modifiers.get("kind") {
                    None => Some(ObjectKind::Deployment),
                    Some(kind) => match kind
                        .get_ref()
                        .as_str()
                        .and_then(ObjectKind::from_kubectl_name)
                    {
                        Some(found) => Some(found),
                        None => {
                            let message = format!(
                                "`kind` must be \"deployment\", \"service\", \"gateway\" or \"httproute\", not {}",
                                show(kind.get_ref())
                            );
                            self.report(kind.span(), message);
                            None
                        }
                    },
                };
                Some(ScenarioStep::Delete {
                    kind: kind?,
                    name: name?.value,
                })
            }
            "switch" => {
                let service = self.non_empty_string(key, value);
                let selector = match modifiers.get("selector") {
                    Some(selector) => self.selector(selector),
                    None => {
                        self.report(
                            value.span(),
                            format!("{label}: a `switch` step needs `selector`"),
                        );
                        None
                    }
                };
                Some(ScenarioStep::Switch {
                    service: service?.value,
                    selector: selector?,
                })
            }
            _ => None,
        }
    }
}
