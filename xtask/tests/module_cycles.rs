//! No module of any crate imports one that imports it back.
//!
//! Each crate's `src/` is read as text. An edge goes from a module to the
//! module that defines what it names: `use crate::…`, `use super::…`,
//! `use self::…` and paths written inline (`crate::a::b`, `super::x`, a child
//! module's `child::item`, intra-doc links included), resolved through
//! `pub use` re-exports to the module that defines the item. A braced import
//! (`use crate::a::{B, C}`) also names the module `a` itself. Unit-test
//! modules (`#[cfg(test)] mod tests` at the end of a file) are left out. A
//! cycle is a strongly connected set of more than one module; the test names
//! each one's modules and a path around it.
//!
//! Every crate is checked, crates/platform-local included: its own
//! `tests/module_graph.rs` holds its layers (helpers, store and node,
//! admission, controllers, the facade) on top of this.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn show(module: &Module) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Each `.rs` file under `src` as a module path, with its text up to its
/// unit-test module.
fn read_modules(src: &Path) -> BTreeMap<Module, String> {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let text = std::fs::read_to_string(&path).unwrap();
            (parts, text)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(parts, text)| (module_path(&parts), without_tests(&text)))
        .collect()
}

fn module_path(parts: &[String]) -> Module {
    match parts {
        [only] if only == "lib" || only == "main" => Vec::new(),
        [dirs @ .., last] if last == "mod" => dirs.to_vec(),
        all => all.to_vec(),
    }
}

/// The text before `#[cfg(test)]` followed by a `mod tests`.
fn without_tests(text: &str) -> String {
    let mut from = 0;
    while let Some(at) = text[from..].find("#[cfg(test)]") {
        let start = from + at;
        let rest = text[start + "#[cfg(test)]".len()..].trim_start();
        let rest = rest
            .strip_prefix("pub(crate)")
            .or_else(|| rest.strip_prefix("pub"))
            .map_or(rest, str::trim_start);
        if rest.starts_with("mod tests") {
            return text[..start].to_owned();
        }
        from = start + 1;
    }
    text.to_owned()
}

/// Every maximal `a::b::c` path in `text` that starts a word (not after a
/// word character or `:`).
fn inline_paths(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts =
            is_word(chars[i]) && (i == 0 || !(is_word(chars[i - 1]) || chars[i - 1] == ':'));
        if !starts {
            i += 1;
            continue;
        }
        let mut end = i;
        let mut segments = 0;
        loop {
            let word_start = end;
            while end < chars.len() && is_word(chars[end]) {
                end += 1;
            }
            if end == word_start {
                break;
            }
            segments += 1;
            let more = end + 2 < chars.len()
                && chars[end] == ':'
                && chars[end + 1] == ':'
                && is_word(chars[end + 2]);
            if !more {
                break;
            }
            end += 2;
        }
        if segments > 1 {
            paths.push(chars[i..end].iter().collect());
        }
        i = end.max(i + 1);
    }
    paths
}

/// The bodies of `use …;` statements (`pub_only`: only `pub use`, in any of
/// its visibilities).
fn use_trees(text: &str, pub_only: bool) -> Vec<String> {
    let mut trees = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("use") {
        let start = from + at;
        from = start + 3;
        let before = text[..start].chars().next_back();
        let after = text[start + 3..].chars().next();
        if before.is_some_and(|c| is_word(c) || c == ':') || !after.is_some_and(char::is_whitespace)
        {
            continue;
        }
        if pub_only {
            let head = text[..start].trim_end();
            let head = match head.strip_suffix(')') {
                Some(inner) => match inner.rfind('(') {
                    Some(open) => inner[..open].trim_end(),
                    None => continue,
                },
                None => head,
            };
            let is_pub = head.ends_with("pub")
                && !head[..head.len() - 3]
                    .chars()
                    .next_back()
                    .is_some_and(is_word);
            if !is_pub {
                continue;
            }
        }
        if let Some(end) = text[start..].find(';') {
            trees.push(text[start + 3..start + end].trim().to_owned());
        }
    }
    trees
}

/// `a::{b, c::{d, e as f}}` as `a::b`, `a::c::d`, `a::c::e`.
fn flatten(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    if let Some(open) = tree.find("::{")
        && tree.ends_with('}')
    {
        let prefix = &tree[..open];
        let inner = &tree[open + 3..tree.len() - 1];
        let mut parts = Vec::new();
        let (mut depth, mut current) = (0, String::new());
        for c in inner.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if c == ',' && depth == 0 {
                parts.push(std::mem::take(&mut current));
            } else {
                current.push(c);
            }
        }
        if !current.trim().is_empty() {
            parts.push(current);
        }
        return parts
            .iter()
            .flat_map(|part| {
                let part = part.trim();
                if part == "self" {
                    vec![prefix.to_owned()]
                } else {
                    flatten(part)
                        .into_iter()
                        .map(|path| format!("{prefix}::{path}"))
                        .collect()
                }
            })
            .collect();
    }
    let words: Vec<&str> = tree.split_whitespace().collect();
    match words.as_slice() {
        [path, "as", _] => vec![(*path).to_owned()],
        _ => vec![tree.split_whitespace().collect::<Vec<_>>().join("")],
    }
}

/// Names an item keyword defines in `text` (`struct X`, `fn y`, `mod z`, …).
fn definitions(text: &str) -> BTreeSet<String> {
    const KEYWORDS: [&str; 9] = [
        "struct",
        "enum",
        "fn",
        "trait",
        "type",
        "const",
        "static",
        "mod",
        "macro_rules!",
    ];
    let mut names = BTreeSet::new();
    for keyword in KEYWORDS {
        let mut from = 0;
        while let Some(at) = text[from..].find(keyword) {
            let end = from + at + keyword.len();
            from = end;
            let rest = &text[end..];
            let trimmed = rest.trim_start();
            if trimmed.len() == rest.len() {
                continue;
            }
            let name: String = trimmed.chars().take_while(|c| is_word(*c)).collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// A crate's module graph.
struct Graph {
    modules: BTreeMap<Module, String>,
    definitions: BTreeMap<Module, BTreeSet<String>>,
    reexports: BTreeMap<Module, BTreeMap<String, String>>,
}

impl Graph {
    fn new(modules: BTreeMap<Module, String>) -> Graph {
        let definitions = modules
            .iter()
            .map(|(m, text)| (m.clone(), definitions(text)))
            .collect();
        let reexports = modules
            .iter()
            .map(|(m, text)| {
                let named = use_trees(text, true)
                    .iter()
                    .flat_map(|tree| flatten(tree))
                    .map(|path| (path.rsplit("::").next().unwrap_or("").to_owned(), path))
                    .collect();
                (m.clone(), named)
            })
            .collect();
        Graph {
            modules,
            definitions,
            reexports,
        }
    }

    fn child(&self, module: &Module, name: &str) -> Option<Module> {
        let mut child = module.clone();
        child.push(name.to_owned());
        self.modules.contains_key(&child).then_some(child)
    }

    /// Where a path written in `module` starts, and its remaining segments.
    fn absolute(&self, module: &Module, path: &str) -> Option<(Module, Vec<String>)> {
        let mut segments: Vec<String> = path.split("::").map(str::to_owned).collect();
        let base = match segments[0].as_str() {
            "crate" => {
                segments.remove(0);
                Vec::new()
            }
            "super" => {
                let mut base = module.clone();
                while segments.first().is_some_and(|s| s == "super") {
                    base.pop();
                    segments.remove(0);
                }
                base
            }
            "self" => {
                segments.remove(0);
                module.clone()
            }
            first if self.child(module, first).is_some() => module.clone(),
            _ => return None,
        };
        Some((base, segments))
    }

    /// The module that defines what `segments` name from `base`.
    fn resolve(&self, base: Module, segments: &[String], depth: usize) -> Module {
        let mut current = base;
        for segment in segments {
            if let Some(child) = self.child(&current, segment) {
                current = child;
                continue;
            }
            let reexported = self.reexports.get(&current).and_then(|r| r.get(segment));
            let defined = self
                .definitions
                .get(&current)
                .is_some_and(|d| d.contains(segment));
            if let Some(path) = reexported
                && !defined
                && depth < 10
                && let Some((base, rest)) = self.absolute(&current, path)
            {
                return self.resolve(base, &rest, depth + 1);
            }
            return current;
        }
        current
    }

    fn edges(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
        for (module, text) in &self.modules {
            let mut paths: Vec<String> = use_trees(text, false)
                .iter()
                .flat_map(|tree| flatten(tree))
                .collect();
            for path in inline_paths(text) {
                let first = path.split("::").next().unwrap_or("");
                if first == "crate" || first == "super" || self.child(module, first).is_some() {
                    paths.push(path);
                }
            }
            let targets = edges.entry(module.clone()).or_default();
            for path in paths {
                if let Some((base, segments)) = self.absolute(module, &path) {
                    let target = self.resolve(base, &segments, 0);
                    if &target != module {
                        targets.insert(target);
                    }
                }
            }
        }
        edges
    }
}

/// Every cycle among a crate's modules, each with its modules and a path
/// around it (`cycle among a, b: a -> b -> a`).
fn cycles(modules: BTreeMap<Module, String>) -> Vec<String> {
    let edges = Graph::new(modules).edges();
    strongly_connected(&edges)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|mut component| {
            component.sort();
            let members: Vec<String> = component.iter().map(show).collect();
            format!(
                "cycle among {}: {}",
                members.join(", "),
                around(&component, &edges)
            )
        })
        .collect()
}

/// Tarjan's strongly connected components.
fn strongly_connected(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        components: Vec<Vec<Module>>,
    }
    fn visit<'a>(state: &mut State<'a>, v: &'a Module) {
        let n = state.index.len();
        state.index.insert(v, n);
        state.low.insert(v, n);
        state.stack.push(v);
        state.on_stack.insert(v);
        for w in state.edges.get(v).into_iter().flatten() {
            if !state.index.contains_key(w) {
                visit(state, w);
                let low = state.low[v].min(state.low[w]);
                state.low.insert(v, low);
            } else if state.on_stack.contains(w) {
                let low = state.low[v].min(state.index[w]);
                state.low.insert(v, low);
            }
        }
        if state.low[v] == state.index[v] {
            let mut component = Vec::new();
            while let Some(w) = state.stack.pop() {
                state.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            state.components.push(component);
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.components
}

/// A shortest path from the component's first module back to it, inside it.
fn around(component: &[Module], edges: &BTreeMap<Module, BTreeSet<Module>>) -> String {
    let members: BTreeSet<&Module> = component.iter().collect();
    let start = component.iter().min().unwrap();
    let mut previous: BTreeMap<&Module, &Module> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut last = None;
    'search: while let Some(v) = queue.pop_front() {
        for w in edges.get(v).into_iter().flatten() {
            if !members.contains(w) {
                continue;
            }
            if w == start {
                last = Some(v);
                break 'search;
            }
            if !previous.contains_key(w) {
                previous.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    let mut path = vec![start];
    let mut at = last.unwrap_or(start);
    while at != start {
        path.push(at);
        at = previous[at];
    }
    path.push(start);
    let end = path.len() - 1;
    path[1..end].reverse();
    path.iter()
        .map(|m| show(m))
        .collect::<Vec<_>>()
        .join(" -> ")
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every crate's `src/`, as `(crates/name, path)`.
fn crate_sources() -> Vec<(String, PathBuf)> {
    let root = workspace();
    let mut sources: Vec<(String, PathBuf)> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("src").is_dir())
        .map(|path| {
            let name = format!("crates/{}", path.file_name().unwrap().to_string_lossy());
            (name, path.join("src"))
        })
        .collect();
    for member in ["xtask", "tests"] {
        sources.push((member.to_owned(), root.join(member).join("src")));
    }
    sources.sort();
    sources
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let sources = crate_sources();
    assert!(sources.len() >= 9, "{sources:?}");
    let mut found = Vec::new();
    for (name, src) in sources {
        for cycle in cycles(read_modules(&src)) {
            found.push(format!("{name}: {cycle}"));
        }
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

/// A crate made of `(file, text)` pairs.
fn synthetic(files: &[(&str, &str)]) -> BTreeMap<Module, String> {
    files
        .iter()
        .map(|(file, text)| {
            let parts: Vec<String> = file
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_owned)
                .collect();
            (module_path(&parts), without_tests(text))
        })
        .collect()
}

#[test]
fn cycles_are_found_and_named() {
    // A parent and the child that imports the parent's type back, through a
    // re-export; a unit-test module importing anything does not count.
    let crate_files = [
        ("lib.rs", "mod scenario;\nmod plan;\n"),
        (
            "scenario.rs",
            "mod checks;\nmod model;\npub use model::Step;\npub struct Scenario;\nfn parse() { checks::check(); }\n",
        ),
        (
            "scenario/checks.rs",
            "use super::Scenario;\npub fn check() {}\n",
        ),
        (
            "scenario/model.rs",
            "pub struct Step;\n#[cfg(test)]\nmod tests {\n    use crate::plan::Plan;\n}\n",
        ),
        (
            "plan.rs",
            "use crate::scenario::model::Step;\n/// See [`crate::scenario::Step`].\npub struct Plan;\n",
        ),
    ];
    assert_eq!(
        cycles(synthetic(&crate_files)),
        ["cycle among scenario, scenario::checks: scenario -> scenario::checks -> scenario"]
    );
    // Moving the shared type down breaks it.
    let mut fixed = crate_files;
    fixed[2].1 = "use super::model::Step;\npub fn check() {}\n";
    assert_eq!(cycles(synthetic(&fixed)), Vec::<String>::new());
    // A longer cycle through an inline path and a doc link.
    let longer = [
        ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
        ("a.rs", "pub fn f() { crate::b::g() }\n"),
        (
            "b.rs",
            "pub fn g() {}\n/// Like [`crate::c::h`].\npub fn k() {}\n",
        ),
        ("c.rs", "use crate::a;\npub fn h() { a::f() }\n"),
    ];
    assert_eq!(
        cycles(synthetic(&longer)),
        ["cycle among a, b, c: a -> b -> c -> a"]
    );
}

#[test]
fn use_trees_flatten_to_paths() {
    assert_eq!(
        flatten("crate::a::{self, B, c::{D, e as F}}"),
        [
            "crate::a",
            "crate::a::B",
            "crate::a::c::D",
            "crate::a::c::e"
        ]
    );
    assert_eq!(
        use_trees("pub(crate) use x::Y;\nuse z::W;\npub use v::U;", true),
        ["x::Y", "v::U"]
    );
    assert_eq!(
        inline_paths("a crate::b::c, x::y;super::z::{w} d:e::f"),
        ["crate::b::c", "x::y", "super::z"]
    );
}
