//! A fuzz target over the scenario and manifest parsers, run as property tests
//! in the normal suite (a few seconds, a bounded number of cases): the shipped
//! scenarios, mutated with the tokens a hostile or careless author would type
//! (anchors and aliases, deep nesting, huge numbers, tags, duplicated and cut
//! text, stray bytes), and streams of those tokens alone. Whatever the input,
//! parsing answers within [`TIME_LIMIT`] without panicking, and every problem
//! names a file of the folder and starts in lower case. A case it finds is kept
//! as a regression case in `tests/bad_input`.

mod scenario_support;

use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_core::replay;
use lab_core::scenario::yaml::parse_documents;
use lab_core::scenario::{ScenarioSource, parse};
use proptest::prelude::*;
use proptest::sample::Index;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long parsing one folder may take (a debug build on a busy machine).
const TIME_LIMIT: Duration = Duration::from_secs(1);

/// What gets inserted: YAML and TOML syntax, and values at the edges.
const TOKENS: &[&str] = &[
    "&a ",
    "*a",
    "&b [*a, *a, *a]",
    "<<: *a\n",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
    "]",
    "}",
    ": ",
    "- ",
    "---\n",
    "...\n",
    "? ",
    "|\n",
    ">-\n",
    "!!int ",
    "!!binary ",
    "!custom ",
    "\"",
    "'",
    "\t",
    "\n",
    "\n  ",
    "#",
    "~",
    ".inf",
    "0x7fffffff",
    "0o777",
    "2147483647",
    "-2147483648",
    "99999999999999999999999",
    "1e400",
    "yes",
    "replicas: 2147483647\n",
    "[[steps]]\n",
    "[[rollback]]\n",
    "[gates]\n",
    " = ",
    "\"\"\"",
    "replicas = 100000\n",
    "for = \"100000h\"\n",
    "timeout = \"0s\"\n",
    "scale = \"my-app-v1\"\n",
    "é",
    "\u{feff}",
    "\0",
];

/// One edit of a file.
#[derive(Debug, Clone)]
enum Mutation {
    Insert(Index, Index),
    Delete(Index, usize),
    Duplicate(Index, usize),
    Replace(Index, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), any::<Index>()).prop_map(|(at, token)| Mutation::Insert(at, token)),
        2 => (any::<Index>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        2 => (any::<Index>(), 1..200usize).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
        1 => (any::<Index>(), any::<char>()).prop_map(|(at, c)| Mutation::Replace(at, c)),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let at = |index: &Index| index.index(chars.len() + 1);
    match mutation {
        Mutation::Insert(index, token) => {
            let at = at(index);
            let token = TOKENS[token.index(TOKENS.len())];
            chars.splice(at..at, token.chars());
        }
        Mutation::Delete(index, len) => {
            let at = at(index);
            let end = (at + len).min(chars.len());
            chars.drain(at..end);
        }
        Mutation::Duplicate(index, len) => {
            let at = at(index);
            let end = (at + len).min(chars.len());
            let copy: Vec<char> = chars[at..end].to_vec();
            chars.splice(end..end, copy);
        }
        Mutation::Replace(index, c) => {
            if !chars.is_empty() {
                let at = index.index(chars.len());
                chars[at] = *c;
            }
        }
    }
    chars.into_iter().collect()
}

/// The shipped scenarios, read once.
fn seeds() -> &'static [ScenarioSource] {
    static SEEDS: OnceLock<Vec<ScenarioSource>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        scenario_support::shipped()
            .iter()
            .map(|dir| {
                let mut source = scenario_support::read(dir, &scenario_support::name(dir));
                source.files.retain(|file| file.name != "README.md");
                source
            })
            .collect()
    })
}

/// Parse a folder and check how it was answered.
fn answered(source: &ScenarioSource) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let parsed = parse(source);
    let took = started.elapsed();
    prop_assert!(took < TIME_LIMIT, "took {took:?}");
    match parsed {
        Ok(scenario) => {
            // A valid scenario also plans and replays.
            if let Ok(plan) = Plan::build(&scenario, ProfileName::Quick, &Overrides::default()) {
                let _ = replay::peak_pods(&plan);
            }
            let _ = replay::scenario_peak_pods(&scenario);
        }
        Err(problems) => {
            prop_assert!(!problems.errors().is_empty());
            for problem in problems.errors() {
                let named = source
                    .files
                    .iter()
                    .any(|file| problem.file == format!("{}/{}", source.dir, file.name))
                    || problem.file.ends_with("/scenario.toml");
                prop_assert!(named, "{problem}");
                let message = &problem.message;
                prop_assert!(!message.is_empty(), "{problem}");
                let first = message.chars().next().unwrap_or('a');
                prop_assert!(!first.is_uppercase(), "{problem}");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2500,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_scenarios_are_answered(
        seed in any::<Index>(),
        file in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let seeds = seeds();
        let mut source = seeds[seed.index(seeds.len())].clone();
        let count = source.files.len();
        let text = &mut source.files[file.index(count)].text;
        for mutation in &mutations {
            *text = apply(text, mutation);
        }
        answered(&source)?;
    }

    #[test]
    fn token_streams_are_answered(
        tokens in prop::collection::vec(any::<Index>(), 0..300),
        into_toml in any::<bool>(),
    ) {
        let text: String = tokens.iter().map(|t| TOKENS[t.index(TOKENS.len())]).collect();
        let started = Instant::now();
        let _ = parse_documents(&text);
        prop_assert!(started.elapsed() < TIME_LIMIT);
        let mut source = seeds()[0].clone();
        let name = if into_toml { "scenario.toml" } else { "app-v2.yaml" };
        if let Some(file) = source.files.iter_mut().find(|file| file.name == name) {
            file.text = text;
        }
        answered(&source)?;
    }
}
