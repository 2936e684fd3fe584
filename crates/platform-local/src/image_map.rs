//! Which local program runs an image: the `[[images]]` tables of the user's
//! mapping file (`.canary-lab/images.toml`), and of a scenario's
//! `scenario.toml` when the user allows a scenario to name programs.
//!
//! ```toml
//! [[images]]
//! image = "example/hello-py"        # a repository, or a prefix ending in `*`
//! command = ["python3", "app.py"]   # the image's entrypoint: program and arguments
//! args = ["--verbose"]              # the image's default arguments (optional)
//! ```
//!
//! The program runs in the directory of the file that maps it; a program
//! written with a `/` is a path from that directory, one without is looked up
//! in `PATH`.

use lab_core::limits::{self, MAX_FILE_BYTES};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The user's mapping file, from the directory the lab runs in.
pub const MAPPING_FILE: &str = ".canary-lab/images.toml";

/// Arguments of one mapping's `command` or `args`, at most.
pub const MAX_MAPPED_ARGS: usize = 64;

/// One image mapped to a local program.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageCommand {
    /// A repository (`example/hello-py`), or a prefix ending in `*`.
    pub image: String,
    /// The entrypoint: the program (resolved) and its first arguments.
    pub command: Vec<String>,
    /// The default arguments, replaced by a container's `args`.
    pub args: Vec<String>,
    /// Where the program runs: the mapping file's directory.
    pub dir: PathBuf,
    /// `file:line` of the mapping, for messages.
    pub source: String,
}

impl ImageCommand {
    /// Whether this mapping runs `image` (a full reference: tag and digest are ignored).
    pub fn matches(&self, image: &str) -> bool {
        let repository = image_repository(image);
        match self.image.strip_suffix('*') {
            Some(prefix) => repository.starts_with(prefix),
            None => repository == self.image,
        }
    }
}

/// Images mapped to local programs, the first match winning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageMap {
    entries: Vec<ImageCommand>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    images: Vec<toml::Spanned<Entry>>,
}

/// The `[[images]]` of `scenario.toml`; its other keys are the scenario's.
#[derive(Deserialize)]
struct ScenarioImages {
    #[serde(default)]
    images: Vec<toml::Spanned<Entry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    image: String,
    command: Vec<String>,
    #[serde(default)]
    args: Vec<String>,
}

/// Where a mapping was found in its file.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingAt {
    /// The mapped image pattern.
    pub image: String,
    /// Its `line:column`, from 1.
    pub line: String,
}

impl ImageMap {
    /// Parse the user's mapping file `path` (its text `text`); the error is one
    /// line naming the file and line.
    pub fn parse(path: &Path, text: &str) -> Result<Self, String> {
        let shown = path.display().to_string();
        check_size(&shown, text)?;
        let file: MappingFile =
            toml::from_str(text).map_err(|error| toml_problem(&shown, text, &error))?;
        let dir = directory_of(path);
        Self::from_entries(&shown, text, &dir, file.images)
    }

    /// The `[[images]]` tables of a scenario's `scenario.toml` at `path`, without
    /// checking them: where each is, so that the caller can refuse them.
    pub fn scenario_mappings(path: &Path, text: &str) -> Result<Vec<MappingAt>, String> {
        let shown = path.display().to_string();
        let file: ScenarioImages = toml::from_str(text).map_err(|error| {
            // A malformed `[[images]]` is reported where it is; anything else
            // is the scenario parser's to report.
            toml_problem(&shown, text, &error)
        })?;
        Ok(file
            .images
            .iter()
            .map(|entry| MappingAt {
                image: entry.get_ref().image.clone(),
                line: line_of(text, entry.span().start),
            })
            .collect())
    }

    /// The `[[images]]` tables of `scenario.toml`, honoured (the user allowed it).
    pub fn parse_scenario(path: &Path, text: &str) -> Result<Self, String> {
        let shown = path.display().to_string();
        check_size(&shown, text)?;
        let file: ScenarioImages =
            toml::from_str(text).map_err(|error| toml_problem(&shown, text, &error))?;
        let dir = directory_of(path);
        Self::from_entries(&shown, text, &dir, file.images)
    }

    fn from_entries(
        shown: &str,
        text: &str,
        dir: &Path,
        entries: Vec<toml::Spanned<Entry>>,
    ) -> Result<Self, String> {
        if entries.len() > limits::MAX_IMAGE_MAPPINGS {
            return Err(format!(
                "{shown}:1:1: {} image mappings, more than the lab's limit of {}",
                entries.len(),
                limits::MAX_IMAGE_MAPPINGS
            ));
        }
        let mut mapped = Vec::with_capacity(entries.len());
        for entry in entries {
            let line = line_of(text, entry.span().start);
            let at = format!("{shown}:{line}");
            let Entry {
                image,
                command,
                args,
            } = entry.into_inner();
            let pattern = image.strip_suffix('*').unwrap_or(&image);
            if pattern.is_empty() || image[..image.len() - 1].contains('*') {
                return Err(format!(
                    "{at}: image {image:?} must be a repository or a prefix ending in '*'"
                ));
            }
            if command.is_empty() || command[0].is_empty() {
                return Err(format!(
                    "{at}: command must name a program (command = [\"program\", \"arg\"])"
                ));
            }
            if command.len() > MAX_MAPPED_ARGS || args.len() > MAX_MAPPED_ARGS {
                return Err(format!(
                    "{at}: more than {MAX_MAPPED_ARGS} arguments in command or args"
                ));
            }
            if command.iter().chain(&args).any(|arg| arg.contains('\0')) {
                return Err(format!("{at}: an argument holds a NUL byte"));
            }
            let mut command = command;
            if command[0].contains('/') && Path::new(&command[0]).is_relative() {
                command[0] = dir.join(&command[0]).display().to_string();
            }
            mapped.push(ImageCommand {
                image,
                command,
                args,
                dir: dir.to_path_buf(),
                source: at,
            });
        }
        Ok(Self { entries: mapped })
    }

    /// The mappings of `other` after these (these win).
    pub fn extend(&mut self, other: ImageMap) {
        self.entries.extend(other.entries);
    }

    /// The program that runs `image`, if it is mapped.
    pub fn find(&self, image: &str) -> Option<&ImageCommand> {
        self.entries.iter().find(|entry| entry.matches(image))
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The directory a mapped program runs in: the mapping file's, made absolute
/// so that it does not depend on where the lab runs.
fn directory_of(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

fn check_size(shown: &str, text: &str) -> Result<(), String> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{shown}:1:1: {} is more than the lab's limit for a mapping file ({})",
            limits::format_bytes(text.len() as u64),
            limits::format_bytes(MAX_FILE_BYTES)
        ));
    }
    Ok(())
}

fn toml_problem(shown: &str, text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    match error.span() {
        Some(span) => format!("{shown}:{}: {message}", line_of(text, span.start)),
        None => format!("{shown}:1:1: {message}"),
    }
}

/// `line:column` (from 1) of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> String {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    format!("{line}:{column}")
}

/// `docker.io/crisis513/strategies-test:v1@sha256:…` → `crisis513/strategies-test`.
pub fn image_repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    // A tag follows the last ':' only when no '/' comes after it (a registry port
    // like `localhost:5000/x` is not a tag).
    let without_tag = match without_digest.rfind(':') {
        Some(colon) if !without_digest[colon..].contains('/') => &without_digest[..colon],
        _ => without_digest,
    };
    for registry in ["docker.io/library/", "docker.io/", "index.docker.io/"] {
        if let Some(rest) = without_tag.strip_prefix(registry) {
            return rest;
        }
    }
    without_tag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ImageMap, String> {
        ImageMap::parse(Path::new("/p/.canary-lab/images.toml"), text)
    }

    #[test]
    fn a_mapping_runs_its_image_and_patterns_match_prefixes() {
        let map = parse(
            "[[images]]\nimage = \"example/hello\"\ncommand = [\"python3\", \"app.py\"]\n\n\
             [[images]]\nimage = \"registry.example.com/team/*\"\ncommand = [\"bin/server\"]\nargs = [\"-v\"]\n",
        )
        .unwrap();
        let hello = map.find("docker.io/example/hello:v2").unwrap();
        assert_eq!(hello.command, ["python3", "app.py"]);
        assert_eq!(hello.dir, Path::new("/p/.canary-lab"));
        assert_eq!(hello.source, "/p/.canary-lab/images.toml:1:1");
        let team = map.find("registry.example.com/team/api@sha256:00").unwrap();
        assert_eq!(team.command, ["/p/.canary-lab/bin/server"]);
        assert_eq!(team.args, ["-v"]);
        assert_eq!(team.source, "/p/.canary-lab/images.toml:5:1");
        assert!(map.find("example/hello-other").is_none());
        assert!(map.find("nginx").is_none());
    }

    #[test]
    fn bad_mappings_are_refused_with_their_line() {
        let check = |text: &str, expected: &str| {
            let error = parse(text).unwrap_err();
            assert!(
                error.starts_with("/p/.canary-lab/images.toml:") && error.contains(expected),
                "{error}"
            );
            assert!(!error.contains('\n'), "{error}");
        };
        check(
            "[[images]]\nimage = \"a\"\ncommand = []\n",
            "command must name",
        );
        check("[[images]]\nimage = \"a\"\n", "missing field `command`");
        check(
            "[[images]]\nimage = \"a\"\ncommand = [\"x\"]\nshell = true\n",
            "unknown field `shell`",
        );
        check(
            "[[images]]\nimage = \"a*b*\"\ncommand = [\"x\"]\n",
            "prefix",
        );
        check("[[images]]\nimage = \"*\"\ncommand = [\"x\"]\n", "prefix");
        check("images = 3\n", "images.toml:1:");
        let many = "[[images]]\nimage = \"a\"\ncommand = [\"x\"]\n".repeat(65);
        check(&many, "limit of 64");
    }

    #[test]
    fn scenario_mappings_are_found_with_their_line() {
        let text = "description = \"x\"\n\n[[images]]\nimage = \"a/b\"\ncommand = [\"sh\"]\n";
        let found = ImageMap::scenario_mappings(Path::new("s/scenario.toml"), text).unwrap();
        assert_eq!(
            found,
            [MappingAt {
                image: "a/b".into(),
                line: "3:1".into()
            }]
        );
    }

    #[test]
    fn image_repositories() {
        let check =
            |image: &str, expected: &str| assert_eq!(image_repository(image), expected, "{image}");
        check("crisis513/strategies-test", "crisis513/strategies-test");
        check(
            "crisis513/strategies-test:latest",
            "crisis513/strategies-test",
        );
        check(
            "docker.io/containersol/k8s-deployment-strategies:v2",
            "containersol/k8s-deployment-strategies",
        );
        check("canary-lab/demo-app:0123abcd", "canary-lab/demo-app");
        check("canary-lab/demo-app@sha256:00ff", "canary-lab/demo-app");
        check("localhost:5000/demo", "localhost:5000/demo");
        check("nginx", "nginx");
    }
}
