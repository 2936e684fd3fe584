//! `$(VAR)` references in a container's command, args and env, expanded as
//! Kubernetes expands them: `$(NAME)` becomes the variable's value when it is
//! defined and stays as written when it is not, `$$` is a literal `$`, and any
//! other `$` is kept.

/// Expand the `$(VAR)` references of `text`, looking names up with `lookup`.
pub(crate) fn expand<'a>(text: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('(')
            && let Some(close) = tail.find(')')
        {
            let name = &tail[..close];
            match lookup(name) {
                Some(value) => out.push_str(value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &tail[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Expand a container's env in order, as the kubelet does: each value may use
/// the variables defined before it.
pub(crate) fn expand_env(env: &[(String, String)]) -> Vec<(String, String)> {
    let mut done: Vec<(String, String)> = Vec::with_capacity(env.len());
    for (name, value) in env {
        let expanded = expand(value, |key| lookup(&done, key));
        // A later definition of a name replaces the earlier one.
        done.retain(|(existing, _)| existing != name);
        done.push((name.clone(), expanded));
    }
    done
}

/// The value of `key` in an expanded env.
pub(crate) fn lookup<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_expand_as_kubernetes_expands_them() {
        let env = [
            ("POD_IP".to_string(), "127.9.0.3".to_string()),
            ("PORT".to_string(), "8080".to_string()),
            ("EMPTY".to_string(), String::new()),
        ];
        let check = |text: &str, expected: &str| {
            assert_eq!(expand(text, |key| lookup(&env, key)), expected, "{text}");
        };
        check("--listen=$(POD_IP):$(PORT)", "--listen=127.9.0.3:8080");
        check("$(UNDEFINED)", "$(UNDEFINED)");
        check("$$(POD_IP)", "$(POD_IP)");
        check("$$$(PORT)", "$8080");
        check("cost: $5", "cost: $5");
        check("$", "$");
        check("$(", "$(");
        check("$(POD_IP", "$(POD_IP");
        check("a$(EMPTY)b", "ab");
        check("$()", "$()");
        check("no references", "no references");
        check("$(PORT)$(PORT)", "80808080");
    }

    #[test]
    fn env_values_use_the_variables_defined_before_them() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let expanded = expand_env(&env(&[
            ("LATER_FIRST", "$(HOST)"),
            ("HOST", "127.0.0.1"),
            ("URL", "http://$(HOST):$(PORT)/"),
            ("PORT", "80"),
        ]));
        assert_eq!(
            expanded,
            env(&[
                ("LATER_FIRST", "$(HOST)"),
                ("HOST", "127.0.0.1"),
                ("URL", "http://127.0.0.1:$(PORT)/"),
                ("PORT", "80"),
            ])
        );
    }
}
