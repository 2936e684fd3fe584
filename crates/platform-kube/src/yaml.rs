//! YAML documents to JSON values and back, so manifests go through serde into
//! k8s-openapi types and objects can be shown as YAML (`--dry-run`).

use serde_json::{Map, Number, Value};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

/// A YAML text that could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// What went wrong, with the line and column when known.
    pub message: String,
}

/// Every non-empty document of a (multi-document) YAML text, as JSON values.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| YamlError {
        message: format!(
            "line {}, column {}: {}",
            e.marker().line(),
            e.marker().col() + 1,
            e.info()
        ),
    })?;
    docs.iter()
        .filter(|doc| !doc.is_null())
        .map(to_json)
        .collect()
}

fn to_json(yaml: &Yaml) -> Result<Value, YamlError> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::Number((*i).into()),
        Yaml::Real(text) => {
            let number = yaml
                .as_f64()
                .and_then(Number::from_f64)
                .ok_or_else(|| YamlError {
                    message: format!("number {text} cannot be represented in JSON"),
                })?;
            Value::Number(number)
        }
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Hash(hash) => {
            let mut map = Map::new();
            for (key, value) in hash {
                let key = match key {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Real(r) => r.clone(),
                    other => {
                        return Err(YamlError {
                            message: format!("unsupported mapping key {other:?}"),
                        });
                    }
                };
                map.insert(key, to_json(value)?);
            }
            Value::Object(map)
        }
        Yaml::Alias(_) => {
            return Err(YamlError {
                message: "YAML aliases are not supported in manifests".into(),
            });
        }
        Yaml::BadValue => {
            return Err(YamlError {
                message: "unreadable YAML value".into(),
            });
        }
    })
}

fn from_json(value: &Value) -> Yaml {
    match value {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(items) => Yaml::Array(items.iter().map(from_json).collect()),
        Value::Object(map) => {
            let mut hash = Hash::new();
            for (key, value) in map {
                hash.insert(Yaml::String(key.clone()), from_json(value));
            }
            Yaml::Hash(hash)
        }
    }
}

/// One YAML document (starting with `---`) for a JSON value; multi-line strings
/// are written as literal blocks so configs stay readable.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline_strings(true);
    // Writing to a String cannot fail.
    let _ = emitter.dump(&from_json(value));
    out.push('\n');
    out
}

/// Set keys of one mapping (`section`, at the top of the first document) of a
/// YAML text, keeping every other key where it was, and write it out again
/// (comments are not kept). For configs held in a ConfigMap, which the lab
/// adapts on the parsed document, never as text.
pub fn set_in_section(
    text: &str,
    section: &str,
    values: &[(&str, String)],
) -> Result<String, YamlError> {
    let mut docs = YamlLoader::load_from_str(text).map_err(|e| YamlError {
        message: format!(
            "line {}, column {}: {}",
            e.marker().line(),
            e.marker().col() + 1,
            e.info()
        ),
    })?;
    let Some(Yaml::Hash(document)) = docs.first_mut() else {
        return Err(YamlError {
            message: "the first document is not a mapping".into(),
        });
    };
    let section_key = Yaml::String(section.to_string());
    if !document.contains_key(&section_key) {
        document.insert(section_key.clone(), Yaml::Hash(Hash::new()));
    }
    let Some(Yaml::Hash(mapping)) = document.get_mut(&section_key) else {
        return Err(YamlError {
            message: format!("{section} is not a mapping"),
        });
    };
    for (key, value) in values {
        let key = Yaml::String((*key).to_string());
        match mapping.get_mut(&key) {
            Some(slot) => *slot = Yaml::String(value.clone()),
            None => {
                mapping.insert(key, Yaml::String(value.clone()));
            }
        }
    }
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline_strings(true);
    let _ = emitter.dump(&docs[0]);
    let body = out.strip_prefix("---\n").unwrap_or(&out);
    Ok(format!("{body}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(text: &str, expected: Value) {
        assert_eq!(
            parse_documents(text).unwrap(),
            expected.as_array().unwrap().clone()
        );
    }

    #[test]
    fn documents_become_json() {
        check("a: 1\n", json!([{"a": 1}]));
        check(
            "---\na: x\n---\n---\nb: [true, 1.5, ~]\n",
            json!([{"a": "x"}, {"b": [true, 1.5, null]}]),
        );
        check("port: \"9101\"\n", json!([{"port": "9101"}]));
        check("", json!([]));
    }

    #[test]
    fn errors_name_the_place() {
        let error = parse_documents("a: [1,\n").unwrap_err();
        assert!(error.message.starts_with("line "), "{}", error.message);
    }

    #[test]
    fn yaml_round_trips() {
        let value = json!({"data": {"prometheus.yml": "global:\n  scrape_interval: 5s\n"}, "n": 3, "s": "true", "q": "9101"});
        let text = to_yaml(&value);
        assert!(text.contains("prometheus.yml: |"), "{text}");
        assert_eq!(parse_documents(&text).unwrap(), vec![value]);
    }

    #[test]
    fn sections_are_set_in_place() {
        let text = "# a comment\nglobal:\n  scrape_interval: 5s\n  scrape_timeout: 4s\nscrape_configs:\n  - job_name: pods\n    role: pod\n";
        let set = set_in_section(
            text,
            "global",
            &[
                ("scrape_interval", "1s".into()),
                ("evaluation_interval", "1s".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            set,
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 4s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: pods\n    role: pod\n"
        );
        assert!(set_in_section("- a\n", "global", &[]).is_err());
        assert!(set_in_section("global: 3\n", "global", &[]).is_err());
    }
}
