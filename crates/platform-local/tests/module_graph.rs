//! The crate's module graph: which module imports which, read from the sources.
//!
//! It holds the layering that ARCHITECTURE.md states: helpers at the bottom, the
//! store and the node above them, admission above the store, each controller
//! above those (never importing another controller), the registration point
//! above the controllers, and the facade (`lib.rs`) on top. No module imports
//! one that imports it back. Unit tests (`#[cfg(test)] mod tests`) are left out.
//!
//! `cargo test -p platform-local --test module_graph -- --nocapture` prints the
//! graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's layer: it may import modules of lower layers, and modules of its
/// own unit (a controller's submodules, the store's).
fn layer(module: &str) -> (u8, String) {
    let unit = |depth: usize| {
        module
            .split("::")
            .take(depth)
            .collect::<Vec<_>>()
            .join("::")
    };
    match module {
        "crate" => (5, unit(1)),
        "crate::controllers" => (4, unit(2)),
        m if m.starts_with("crate::controllers::") => (3, unit(3)),
        m if m.starts_with("crate::admission") => (2, unit(2)),
        m if m.starts_with("crate::store") || m.starts_with("crate::node") => (1, unit(2)),
        // Helpers: file formats, addresses, images, probes, processes,
        // Prometheus. They import each other only without cycles.
        _ => (0, unit(2)),
    }
}

fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file as its module path (`crate::controllers::kubelet`).
fn modules(dir: &Path, prefix: &str, found: &mut BTreeMap<String, PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        if path.is_dir() {
            modules(&path, &format!("{prefix}::{stem}"), found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let module = match stem.as_str() {
                "lib" | "mod" => prefix.to_string(),
                _ => format!("{prefix}::{stem}"),
            };
            found.insert(module, path);
        }
    }
}

/// The code of a file without comments and without its unit tests.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .map(|line| match line.find(" // ") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Parse a path (with `{…}` groups) starting at `at`; push every full path.
fn parse_tree(
    chars: &[char],
    mut at: usize,
    prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    let mut path = prefix;
    loop {
        while at < chars.len() && chars[at].is_whitespace() {
            at += 1;
        }
        if at < chars.len() && chars[at] == '{' {
            at += 1;
            loop {
                at = parse_tree(chars, at, path.clone(), out);
                while at < chars.len() && chars[at].is_whitespace() {
                    at += 1;
                }
                match chars.get(at) {
                    Some(',') => at += 1,
                    Some('}') => return at + 1,
                    _ => return at,
                }
                while at < chars.len() && chars[at].is_whitespace() {
                    at += 1;
                }
                if chars.get(at) == Some(&'}') {
                    return at + 1;
                }
            }
        }
        let start = at;
        while at < chars.len() && (is_ident(chars[at]) || chars[at] == '*') {
            at += 1;
        }
        if at == start {
            out.push(path);
            return at;
        }
        path.push(chars[start..at].iter().collect());
        if chars.get(at) == Some(&':') && chars.get(at + 1) == Some(&':') {
            at += 2;
        } else {
            out.push(path);
            return at;
        }
    }
}

/// The paths a module names that start with `crate`, `super`, `self` or one of
/// its child modules.
fn paths(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let boundary = at == 0 || !(is_ident(chars[at - 1]) || chars[at - 1] == ':');
        if boundary && is_ident(chars[at]) {
            let start = at;
            while at < chars.len() && is_ident(chars[at]) {
                at += 1;
            }
            let word: String = chars[start..at].iter().collect();
            let roots = ["crate", "super", "self"];
            let followed = chars.get(at) == Some(&':') && chars.get(at + 1) == Some(&':');
            if followed && (roots.contains(&word.as_str()) || children.contains(&word)) {
                at = parse_tree(&chars, at + 2, vec![word], &mut out);
            }
            continue;
        }
        at += 1;
    }
    out
}

/// Resolve a path named in `module` to the module it reaches.
fn resolve(module: &str, path: &[String], known: &BTreeSet<String>) -> String {
    let mut current: Vec<&str> = module.split("::").collect();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            current = vec!["crate"];
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        _ => {}
    }
    while rest.first().map(String::as_str) == Some("super") {
        current.pop();
        rest = &rest[1..];
    }
    let mut resolved = current.join("::");
    for segment in rest {
        let deeper = format!("{resolved}::{segment}");
        if known.contains(&deeper) {
            resolved = deeper;
        } else {
            break;
        }
    }
    resolved
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = BTreeMap::new();
    modules(&source_dir(), "crate", &mut files);
    let known: BTreeSet<String> = files.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, path) in &files {
        let children: BTreeSet<String> = known
            .iter()
            .filter_map(|other| other.strip_prefix(&format!("{module}::")))
            .filter(|rest| !rest.contains("::"))
            .map(str::to_string)
            .collect();
        let imports: BTreeSet<String> = paths(&code(path), &children)
            .iter()
            .map(|p| resolve(module, p, &known))
            .filter(|target| target != module)
            .collect();
        graph.insert(module.clone(), imports);
    }
    graph
}

/// Every cycle's modules (strongly connected components of two or more).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(module) = stack.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|m| (m, reaches(m))).collect();
    let mut found: Vec<Vec<String>> = Vec::new();
    for module in graph.keys() {
        if !reach[module].contains(module) || found.iter().any(|c| c.contains(module)) {
            continue;
        }
        let component = graph
            .keys()
            .filter(|other| reach[module].contains(*other) && reach[*other].contains(module))
            .cloned()
            .collect();
        found.push(component);
    }
    found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = graph();
    for (module, imports) in &graph {
        let list: Vec<&str> = imports.iter().map(String::as_str).collect();
        println!("{module} -> {}", list.join(", "));
    }
    let cycles = cycles(&graph);
    for cycle in &cycles {
        println!("cycle: {}", cycle.join(" <-> "));
    }
    assert!(cycles.is_empty(), "import cycles: {cycles:?}");
    println!("no cycles among {} modules", graph.len());
}

#[test]
fn modules_import_only_lower_layers() {
    let mut wrong = Vec::new();
    for (module, imports) in graph() {
        let (level, unit) = layer(&module);
        for target in imports {
            let (target_level, target_unit) = layer(&target);
            let allowed =
                target_unit == unit || target_level < level || (level == 0 && target_level == 0);
            if !allowed {
                wrong.push(format!("{module} -> {target}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layering: {wrong:#?}");
}

#[test]
fn the_parser_reads_grouped_and_relative_paths() {
    let children = BTreeSet::from(["worker".to_string()]);
    let code = "use crate::store::{Store, objects::{Pod, Service}};\nuse super::x;\nfn f() { worker::run(); crate::LocalError::X; }";
    let found: Vec<String> = paths(code, &children)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(
        found,
        [
            "crate::store::Store",
            "crate::store::objects::Pod",
            "crate::store::objects::Service",
            "super::x",
            "worker::run",
            "crate::LocalError::X",
        ]
    );
    let known = BTreeSet::from([
        "crate".to_string(),
        "crate::store".to_string(),
        "crate::store::objects".to_string(),
        "crate::controllers".to_string(),
        "crate::controllers::kubelet".to_string(),
        "crate::controllers::kubelet::worker".to_string(),
    ]);
    let check = |module: &str, path: &str, expected: &str| {
        let path: Vec<String> = path.split("::").map(str::to_string).collect();
        assert_eq!(
            resolve(module, &path, &known),
            expected,
            "{module}: {path:?}"
        );
    };
    check(
        "crate::controllers::kubelet",
        "crate::store::objects::Pod",
        "crate::store::objects",
    );
    check("crate::controllers::kubelet", "crate::LocalError", "crate");
    check(
        "crate::controllers::kubelet::worker",
        "super::Command",
        "crate::controllers::kubelet",
    );
    check(
        "crate::controllers::kubelet",
        "worker::run",
        "crate::controllers::kubelet::worker",
    );
    check(
        "crate::store",
        "self::objects::Pod",
        "crate::store::objects",
    );
}
