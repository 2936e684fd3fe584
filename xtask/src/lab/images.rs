//! Which programs a run on the local platform may start, decided before
//! anything starts.
//!
//! A scenario folder may come from anyone, so the programs come from the
//! user: the mapping file (`.canary-lab/images.toml` in the directory the lab
//! runs in, or `--images FILE`). A scenario's own `[[images]]` and a
//! container's `command` name programs too; they are refused, naming the file
//! and line, unless `--allow-scenario-commands` is given.

use crate::exit::{Problems, Usage};
use lab_core::limits::{self, MAX_FILE_BYTES};
use lab_core::object::Object;
use lab_core::plan::Plan;
use lab_core::scenario::DEFINITION_FILE;
use lab_report::Language;
use lab_report::i18n::Localized;
use lab_report::run_notes::RunNote;
use platform_local::DEMO_APP_IMAGES;
use platform_local::image_map::{ImageMap, MAPPING_FILE, image_repository};
use platform_local::template_fit;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The flag that lets a scenario name the programs the lab runs.
pub const ALLOW_FLAG: &str = "--allow-scenario-commands";

/// Options naming the programs a scenario's images run.
#[derive(clap::Args, Debug, Clone)]
pub struct ImageArgs {
    /// The file mapping images to local programs (default:
    /// `.canary-lab/images.toml` in the current directory, when it exists).
    #[arg(long, value_name = "FILE")]
    pub images: Option<PathBuf>,
    /// Let the scenario name programs to run: its own `[[images]]` in
    /// scenario.toml, and a container's `command` in its manifests. Only for
    /// scenarios you trust: they run with your rights on this machine.
    #[arg(long)]
    pub allow_scenario_commands: bool,
}

/// The programs a run of `plan` may start, or every reason it may not, each
/// naming its file and line.
pub fn programs(args: &ImageArgs, plan: &Plan) -> anyhow::Result<ImageMap> {
    let mut map = user_map(args)?;
    let dir = Path::new(&plan.dir);
    let definition = dir.join(DEFINITION_FILE);
    let text = read_limited(&definition)?;
    let found = ImageMap::scenario_mappings(&definition, &text).map_err(|p| Problems(vec![p]))?;
    if let Some(first) = found.first() {
        if !args.allow_scenario_commands {
            return Err(Problems(vec![format!(
                "{}:{}: maps image {:?} to a program, and a scenario may not make the lab run a program: map the image in {MAPPING_FILE} (or --images FILE), or pass {ALLOW_FLAG} if you trust this scenario",
                definition.display(),
                first.line,
                first.image
            )])
            .into());
        }
        map.extend(ImageMap::parse_scenario(&definition, &text).map_err(|p| Problems(vec![p]))?);
    }
    let mut problems = Vec::new();
    for manifest in &plan.manifests {
        let path = dir.join(&manifest.file);
        let text = read_limited(&path).unwrap_or_default();
        for object in &manifest.objects {
            let Object::Deployment(deployment) = object else {
                continue;
            };
            let pod_specs = deployment
                .spec
                .iter()
                .filter_map(|spec| spec.template.spec.as_ref());
            for refusal in pod_specs.flat_map(template_fit::refusals) {
                let line = key_line(&text, &refusal.container, refusal.key);
                problems.push(format!(
                    "{}:{line}:{}: {}",
                    path.display(),
                    column(&text, line, refusal.key),
                    refusal.why
                ));
            }
            let containers = deployment
                .spec
                .iter()
                .filter_map(|spec| spec.template.spec.as_ref())
                // Only the first container runs (`template_fit`).
                .filter_map(|spec| spec.containers.first());
            for container in containers {
                let image = container.image.as_deref().unwrap_or("");
                let repository = image_repository(image);
                let line = image_line(&text, image);
                let at = format!("{}:{line}:{}", path.display(), column(&text, line, image));
                if DEMO_APP_IMAGES.contains(&repository) {
                    continue;
                }
                if map.find(image).is_none() {
                    problems.push(format!(
                        "{at}: image {image:?} is not mapped to a local program: add to {MAPPING_FILE} (or a file named by --images) [[images]] image = \"{repository}\" command = [\"program\", \"arg\"]"
                    ));
                } else if container.command.is_some() && !args.allow_scenario_commands {
                    let line = command_line(&text, line);
                    problems.push(format!(
                        "{}:{line}:{}: container command names a program from the scenario: leave it out to run the program {repository} is mapped to, or pass {ALLOW_FLAG} if you trust this scenario",
                        path.display(),
                        column(&text, line, "command")
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(map)
    } else {
        Err(Problems(problems).into())
    }
}

/// What the scenario's pod templates say that the local platform does not
/// model, in one line for the plan and the report's notes, in `language`;
/// `None`: nothing.
pub fn unmodelled_note(plan: &Plan, language: Language) -> Option<String> {
    let fields: BTreeSet<String> = plan
        .manifests
        .iter()
        .flat_map(|manifest| &manifest.objects)
        .filter_map(Object::as_deployment)
        .filter_map(|deployment| deployment.spec.as_ref())
        .filter_map(|spec| spec.template.spec.as_ref())
        .flat_map(template_fit::unmodelled_fields)
        .collect();
    let fields: Vec<String> = fields.into_iter().collect();
    (!fields.is_empty()).then(|| RunNote::NotModelled { fields: &fields }.render(language))
}

/// The line (from 1) of `key:` in the container named `container`: the first
/// one after its `name:` line; that line itself when there is none.
fn key_line(text: &str, container: &str, key: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let bare = |line: &str| {
        line.trim_start()
            .trim_start_matches("- ")
            .trim_start()
            .to_string()
    };
    let Some(start) = lines.iter().position(|line| {
        let line = bare(line);
        line.strip_prefix("name:")
            .is_some_and(|name| name.trim().trim_matches('"') == container)
    }) else {
        return 1;
    };
    lines[start..]
        .iter()
        .position(|line| bare(line).starts_with(&format!("{key}:")))
        .map_or(start + 1, |offset| start + offset + 1)
}

/// The note for a report whose pods expose no Prometheus metrics, in
/// `language`.
pub fn metrics_note(plan: &Plan, language: Language) -> Option<String> {
    let scraped = plan
        .manifests
        .iter()
        .flat_map(|manifest| &manifest.objects)
        .filter_map(Object::as_deployment)
        .filter_map(|deployment| deployment.spec.as_ref())
        .filter_map(|spec| spec.template.metadata.as_ref())
        .filter_map(|metadata| metadata.annotations.as_ref())
        .any(|annotations| {
            annotations.get("prometheus.io/scrape").map(String::as_str) == Some("true")
        });
    (!scraped).then(|| RunNote::NoMetrics.render(language))
}

/// The user's mapping file, if there is one.
fn user_map(args: &ImageArgs) -> anyhow::Result<ImageMap> {
    let path = match &args.images {
        Some(path) => {
            if !path.is_file() {
                return Err(Usage(format!("--images: {} is not a file", path.display())).into());
            }
            path.clone()
        }
        None => {
            let path = PathBuf::from(MAPPING_FILE);
            if !path.is_file() {
                return Ok(ImageMap::default());
            }
            path
        }
    };
    let text = read_limited(&path)?;
    Ok(ImageMap::parse(&path, &text).map_err(|problem| Problems(vec![problem]))?)
}

/// A file's text, refused past the lab's file size limit before it is read.
fn read_limited(path: &Path) -> anyhow::Result<String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|error| Usage(format!("{shown}: {error}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(Usage(format!(
            "{shown}: {} is more than the lab's limit for a file ({})",
            limits::format_bytes(size),
            limits::format_bytes(MAX_FILE_BYTES)
        ))
        .into());
    }
    Ok(std::fs::read_to_string(path).map_err(|error| Usage(format!("{shown}: {error}")))?)
}

/// The line (from 1) where `image` is written in a manifest, 1 when not found.
fn image_line(text: &str, image: &str) -> usize {
    text.lines()
        .position(|line| {
            let line = line.trim_start().trim_start_matches("- ").trim_start();
            line.starts_with("image:") && line.contains(image)
        })
        .map_or(1, |index| index + 1)
}

/// The column (from 1) of `needle` on line `line` of `text`, 1 when not there.
fn column(text: &str, line: usize, needle: &str) -> usize {
    text.lines()
        .nth(line - 1)
        .and_then(|text| text.find(needle))
        .map_or(1, |index| index + 1)
}

/// The line of the `command:` of the container whose image is at `image_line`:
/// the nearest one in the same document.
fn command_line(text: &str, image_line: usize) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let document = |index: usize| {
        lines[..index]
            .iter()
            .filter(|line| line.starts_with("---"))
            .count()
    };
    let here = document(image_line.saturating_sub(1));
    lines
        .iter()
        .enumerate()
        .filter(|(index, line)| {
            let line = line.trim_start().trim_start_matches("- ").trim_start();
            line.starts_with("command:") && document(*index) == here
        })
        .min_by_key(|(index, _)| index.abs_diff(image_line - 1))
        .map_or(image_line, |(index, _)| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: example/hello:v1\n        command: [\"/bin/sh\"]\n---\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: example/other\n        command:\n        - x\n";

    #[test]
    fn images_and_commands_are_found_on_their_lines() {
        assert_eq!(image_line(MANIFEST, "example/hello:v1"), 8);
        assert_eq!(command_line(MANIFEST, 8), 9);
        assert_eq!(image_line(MANIFEST, "example/other"), 16);
        assert_eq!(command_line(MANIFEST, 16), 17);
        assert_eq!(image_line(MANIFEST, "absent"), 1);
        assert_eq!(column(MANIFEST, 8, "example/hello"), 16);
        assert_eq!(column(MANIFEST, 9, "command"), 9);
    }

    #[test]
    fn a_containers_key_is_found_after_its_name() {
        let text = "containers:\n- name: app\n  ports: []\n- name: proxy\n  image: envoy\n  ports:\n  - containerPort: 1\n";
        assert_eq!(key_line(text, "proxy", "ports"), 6);
        assert_eq!(key_line(text, "app", "ports"), 3);
        assert_eq!(key_line(text, "absent", "ports"), 1);
    }
}
