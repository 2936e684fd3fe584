//! The lab's container images: tagged by content, and swapped into scenario
//! Deployments in place of the tutorial's image.

use crate::error::LabError;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Container;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Images the scenario manifests may name for the demo app: the lab's own and the
/// ones the tutorial used. Deployments that use them get the lab's demo-app image.
pub const TUTORIAL_IMAGES: &[&str] = &[
    "crisis513/strategies-test",
    "containersol/k8s-deployment-strategies",
];

/// The pull policy of rewritten containers: images are loaded into the cluster,
/// never pulled.
pub const PULL_POLICY: &str = "IfNotPresent";

/// An image the lab builds from this repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSpec {
    /// Repository part of the image name (`canary-lab/demo-app`).
    pub repository: &'static str,
    /// The crate the image is built from (its directory under `crates/`).
    pub crate_name: &'static str,
    /// The Dockerfile, relative to the repository root; built with the root as
    /// context.
    pub dockerfile: &'static str,
    /// The name the scenarios' manifests give the image, if any: it is loaded
    /// into the cluster under that name too, so `kubectl apply -f` of a
    /// scenario's file by hand runs the same image the lab applies.
    pub manifest_name: Option<&'static str>,
}

/// The demo app, the drop-in for the tutorial's image.
pub const DEMO_APP: ImageSpec = ImageSpec {
    repository: "canary-lab/demo-app",
    crate_name: "demo-app",
    dockerfile: "crates/demo-app/Dockerfile",
    manifest_name: Some("canary-lab/demo-app:latest"),
};

/// The traffic generator, run as a Job for in-cluster traffic.
pub const LOADGEN: ImageSpec = ImageSpec {
    repository: "canary-lab/loadgen",
    crate_name: "loadgen",
    dockerfile: "crates/loadgen/Dockerfile",
    manifest_name: None,
};

/// The images `lab up` builds and loads.
pub const LAB_IMAGES: [ImageSpec; 2] = [DEMO_APP, LOADGEN];

/// Length of the content tag, in hex digits.
const TAG_LEN: usize = 16;

impl ImageSpec {
    /// The full image reference for a tag.
    pub fn reference(&self, tag: &str) -> String {
        format!("{}:{tag}", self.repository)
    }

    /// The images its Dockerfile builds from, as its `FROM` lines name them
    /// (`rust:1.98-slim-bookworm@sha256:…`), without its own stages.
    pub fn bases(&self, repo_root: &Path) -> Result<Vec<String>, LabError> {
        let path = repo_root.join(self.dockerfile);
        let text = std::fs::read_to_string(&path).map_err(|e| LabError::io(&path, e))?;
        Ok(dockerfile_bases(&text))
    }

    /// The files whose content goes into the image: its Dockerfile, the workspace
    /// manifest and lock file, and the sources of its crate and of the workspace
    /// crates it depends on.
    pub fn inputs(&self, repo_root: &Path) -> Result<Vec<PathBuf>, LabError> {
        let mut files = vec![
            repo_root.join(self.dockerfile),
            repo_root.join("Cargo.toml"),
            repo_root.join("Cargo.lock"),
        ];
        for krate in internal_crates(repo_root, self.crate_name)? {
            collect_files(&repo_root.join("crates").join(krate), &mut files)?;
        }
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// A tag that changes when, and only when, what goes into the image changes:
    /// the first 16 hex digits of a SHA-256 over the input files' paths and bytes.
    pub fn content_tag(&self, repo_root: &Path) -> Result<String, LabError> {
        let mut hasher = Sha256::new();
        for file in self.inputs(repo_root)? {
            let bytes = std::fs::read(&file).map_err(|e| LabError::io(&file, e))?;
            let relative = file.strip_prefix(repo_root).unwrap_or(&file);
            hasher.update(relative.to_string_lossy().as_bytes());
            hasher.update([0]);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
        let digest = hasher.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok(hex[..TAG_LEN].to_string())
    }
}

/// The images a Dockerfile's `FROM` lines name, in order, leaving out the
/// Dockerfile's own stages (`FROM build`).
pub fn dockerfile_bases(text: &str) -> Vec<String> {
    let mut stages: Vec<String> = Vec::new();
    let mut bases = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("FROM")) {
            continue;
        }
        let mut words = words.skip_while(|w| w.starts_with("--"));
        let Some(image) = words.next() else {
            continue;
        };
        if !stages.iter().any(|s| s.eq_ignore_ascii_case(image)) {
            bases.push(image.to_string());
        }
        if words.next().is_some_and(|w| w.eq_ignore_ascii_case("AS"))
            && let Some(stage) = words.next()
        {
            stages.push(stage.to_string());
        }
    }
    bases
}

/// Whether an image reference is pinned: `name:tag@sha256:<64 hex digits>`
/// (the tag for people, the digest for Docker).
pub fn is_pinned(image: &str) -> bool {
    let Some((named, digest)) = image.split_once("@sha256:") else {
        return false;
    };
    let last = named.rsplit('/').next().unwrap_or(named);
    last.contains(':')
        && digest.len() == 64
        && digest
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// The crate and, recursively, the workspace crates it depends on (normal
/// dependencies only: those are what a release build compiles).
fn internal_crates(repo_root: &Path, name: &str) -> Result<BTreeSet<String>, LabError> {
    let mut found = BTreeSet::new();
    let mut pending = vec![name.to_string()];
    while let Some(krate) = pending.pop() {
        if !found.insert(krate.clone()) {
            continue;
        }
        let manifest = repo_root.join("crates").join(&krate).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).map_err(|e| LabError::io(&manifest, e))?;
        let parsed: toml::Table = toml::from_str(&text).map_err(|e| LabError::BadFile {
            path: manifest.clone(),
            message: e.to_string(),
        })?;
        if let Some(deps) = parsed.get("dependencies").and_then(|d| d.as_table()) {
            for dep in deps.keys() {
                if repo_root
                    .join("crates")
                    .join(dep)
                    .join("Cargo.toml")
                    .is_file()
                {
                    pending.push(dep.clone());
                }
            }
        }
    }
    Ok(found)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), LabError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LabError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| LabError::io(dir, e))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| LabError::io(&path, e))?;
        if file_type.is_dir() {
            // Build output never goes into an image's inputs.
            if entry.file_name() != "target" {
                collect_files(&path, files)?;
            }
        } else if file_type.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// The repository part of an image reference: without tag, digest and a
/// `docker.io/` (or `docker.io/library/`) prefix.
fn repository_of(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_slash = without_digest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let without_tag = match without_digest[last_slash..].find(':') {
        Some(colon) => &without_digest[..last_slash + colon],
        None => without_digest,
    };
    without_tag
        .strip_prefix("docker.io/library/")
        .or_else(|| without_tag.strip_prefix("docker.io/"))
        .unwrap_or(without_tag)
}

/// Whether a container image stands for the demo app (the lab's image under any
/// tag, or one of the tutorial's images).
pub fn is_demo_app_image(image: &str) -> bool {
    let repository = repository_of(image);
    repository == DEMO_APP.repository || TUTORIAL_IMAGES.contains(&repository)
}

/// Point every demo-app container of a Deployment at the lab's image, with
/// `imagePullPolicy: IfNotPresent`. Returns how many containers changed.
pub fn use_lab_image(deployment: &mut Deployment, demo_app_image: &str) -> usize {
    let Some(pod) = deployment
        .spec
        .as_mut()
        .and_then(|s| s.template.spec.as_mut())
    else {
        return 0;
    };
    let containers = pod
        .containers
        .iter_mut()
        .chain(pod.init_containers.iter_mut().flatten());
    let mut changed = 0;
    for container in containers {
        if rewrite(container, demo_app_image) {
            changed += 1;
        }
    }
    changed
}

fn rewrite(container: &mut Container, demo_app_image: &str) -> bool {
    match &container.image {
        Some(image) if is_demo_app_image(image) => {
            container.image = Some(demo_app_image.to_string());
            container.image_pull_policy = Some(PULL_POLICY.to_string());
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_image(image: &str, expected: bool) {
        assert_eq!(is_demo_app_image(image), expected, "{image}");
    }

    #[test]
    fn demo_app_images_are_recognised() {
        check_image("containersol/k8s-deployment-strategies", true);
        check_image("containersol/k8s-deployment-strategies:latest", true);
        check_image("docker.io/containersol/k8s-deployment-strategies:v1", true);
        check_image("crisis513/strategies-test:v2.0.0", true);
        check_image("crisis513/strategies-test@sha256:0123", true);
        check_image("canary-lab/demo-app:0123456789abcdef", true);
        check_image("canary-lab/demo-app", true);
        check_image("canary-lab/loadgen:0123", false);
        check_image("nginx:1.27", false);
        check_image(
            "registry:5000/containersol/k8s-deployment-strategies",
            false,
        );
        check_image("containersol/k8s-deployment-strategies-other", false);
    }

    fn deployment(images: &[&str]) -> Deployment {
        let containers: Vec<serde_json::Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| serde_json::json!({"name": format!("c{i}"), "image": image}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "my-app-v1"},
            "spec": {"selector": {}, "template": {"spec": {"containers": containers}}}
        }))
        .unwrap()
    }

    #[test]
    fn only_demo_app_containers_are_rewritten() {
        let mut d = deployment(&["containersol/k8s-deployment-strategies", "busybox:1.36"]);
        assert_eq!(use_lab_image(&mut d, "canary-lab/demo-app:abc"), 1);
        let containers = &d.spec.unwrap().template.spec.unwrap().containers;
        assert_eq!(
            containers[0].image.as_deref(),
            Some("canary-lab/demo-app:abc")
        );
        assert_eq!(
            containers[0].image_pull_policy.as_deref(),
            Some("IfNotPresent")
        );
        assert_eq!(containers[1].image.as_deref(), Some("busybox:1.36"));
        assert_eq!(containers[1].image_pull_policy, None);
    }

    #[test]
    fn dockerfile_bases_leave_out_their_own_stages() {
        let text = "# syntax is not a base\nFROM --platform=$BUILDPLATFORM rust:1.98@sha256:ab AS build\nRUN x\nfrom build as test\nFROM debian:12-slim\nCOPY --from=build /a /b\n";
        assert_eq!(
            dockerfile_bases(text),
            ["rust:1.98@sha256:ab", "debian:12-slim"]
        );
        let digest = "0123456789abcdef".repeat(4);
        assert!(is_pinned(&format!(
            "rust:1.98-slim-bookworm@sha256:{digest}"
        )));
        assert!(is_pinned(&format!(
            "registry:5000/team/app:v1@sha256:{digest}"
        )));
        assert!(!is_pinned("rust:1.98-slim-bookworm"));
        assert!(
            !is_pinned(&format!("rust@sha256:{digest}")),
            "no tag for people"
        );
        assert!(!is_pinned(&format!("registry:5000/app@sha256:{digest}")));
        assert!(!is_pinned("rust:1.98@sha256:0123"));
        assert!(!is_pinned(&format!(
            "rust:1.98@sha256:{}",
            digest.to_uppercase()
        )));
    }

    fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn the_lab_images_build_from_bases_pinned_by_digest() {
        for image in LAB_IMAGES {
            let bases = image.bases(&repo_root()).unwrap();
            assert_eq!(bases.len(), 2, "{}: {bases:?}", image.dockerfile);
            for base in &bases {
                assert!(
                    is_pinned(base),
                    "{}: {base} is not pinned by digest",
                    image.dockerfile
                );
            }
            let text = std::fs::read_to_string(repo_root().join(image.dockerfile)).unwrap();
            // A `# syntax=` frontend would be fetched at build time, unpinned.
            assert!(
                !text
                    .lines()
                    .any(|l| l.trim_start().starts_with("# syntax=")),
                "{}",
                image.dockerfile
            );
        }
    }

    #[test]
    fn the_scenarios_name_the_demo_app_by_its_manifest_name() {
        let alias = DEMO_APP.manifest_name.unwrap();
        let scenarios = repo_root().join("lab/scenarios");
        let mut seen = 0;
        for entry in std::fs::read_dir(&scenarios).unwrap() {
            let dir = entry.unwrap().path();
            for file in std::fs::read_dir(&dir).into_iter().flatten() {
                let file = file.unwrap().path();
                if file.extension().is_none_or(|e| e != "yaml") {
                    continue;
                }
                let text = std::fs::read_to_string(&file).unwrap();
                for line in text.lines() {
                    if let Some(image) = line.trim().strip_prefix("image:") {
                        assert_eq!(image.trim(), alias, "{}", file.display());
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen >= 16, "{seen} images");
    }

    #[test]
    fn a_new_base_is_a_new_content_tag() {
        let root = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("Cargo.toml", "[workspace]\n");
        write("Cargo.lock", "# lock\n");
        write("crates/demo-app/Cargo.toml", "[dependencies]\n");
        let digest = |c: &str| c.repeat(64);
        write(
            "crates/demo-app/Dockerfile",
            &format!("FROM debian:bookworm-slim@sha256:{}\n", digest("a")),
        );
        let first = DEMO_APP.content_tag(root.path()).unwrap();
        write(
            "crates/demo-app/Dockerfile",
            &format!("FROM debian:bookworm-slim@sha256:{}\n", digest("b")),
        );
        assert_ne!(DEMO_APP.content_tag(root.path()).unwrap(), first);
    }

    #[test]
    fn content_tag_follows_the_inputs() {
        let root = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("Cargo.toml", "[workspace]\n");
        write("Cargo.lock", "# lock\n");
        write("crates/demo-app/Dockerfile", "FROM scratch\n");
        write(
            "crates/demo-app/Cargo.toml",
            "[dependencies]\nlab-core.workspace = true\ntokio.workspace = true\n",
        );
        write("crates/demo-app/src/main.rs", "fn main() {}\n");
        write("crates/lab-core/Cargo.toml", "[dependencies]\n");
        write("crates/lab-core/src/lib.rs", "\n");
        write("crates/loadgen/Cargo.toml", "[dependencies]\n");
        let first = DEMO_APP.content_tag(root.path()).unwrap();
        assert_eq!(first.len(), 16);
        assert_eq!(DEMO_APP.content_tag(root.path()).unwrap(), first);
        // Build output and unrelated crates do not count.
        write("crates/demo-app/target/debug/x", "junk");
        write("crates/loadgen/src/lib.rs", "// changed");
        assert_eq!(DEMO_APP.content_tag(root.path()).unwrap(), first);
        // A dependency's source does.
        write("crates/lab-core/src/lib.rs", "// changed\n");
        let second = DEMO_APP.content_tag(root.path()).unwrap();
        assert_ne!(second, first);
        write("Cargo.lock", "# lock 2\n");
        assert_ne!(DEMO_APP.content_tag(root.path()).unwrap(), second);
    }
}
