//! The outside schema check of what the kube platform sends: every object body
//! (server-side apply, a created Job) goes through kubernetes-validate at the
//! cluster's Kubernetes version, so a body a real API server would reject
//! fails a test here, not on the cluster. `cargo xtask test` installs the
//! validator and names it in `KUBERNETES_VALIDATE`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Kubernetes version the lab's clusters run (kind's node image, v1.34).
pub const KUBERNETES_VERSION: &str = "1.34.0";

/// The validator: `KUBERNETES_VALIDATE`, else the test command's virtualenv
/// under `target/`, else one on PATH.
fn validator() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBERNETES_VALIDATE").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/kubernetes-validate/bin/kubernetes-validate");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("kubernetes-validate")
}

/// Whether a request body is an object the schema covers: one with an
/// apiVersion and a kind (a merge patch of one field has neither).
pub fn is_object(body: &Value) -> bool {
    body.get("apiVersion").is_some_and(Value::is_string)
        && body.get("kind").is_some_and(Value::is_string)
}

/// Check `bodies` against the Kubernetes schema, strictly (unknown fields are
/// errors): `Err` with the validator's words when one is invalid. Panics when
/// the validator cannot run at all, since then nothing was checked.
pub fn check(bodies: &[Value]) -> Result<(), String> {
    if bodies.is_empty() {
        return Ok(());
    }
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let kind = body["kind"].as_str().unwrap_or("object").to_lowercase();
            let path = dir.path().join(format!("{i:02}-{kind}.json"));
            std::fs::write(&path, serde_json::to_vec_pretty(body).unwrap()).unwrap();
            path
        })
        .collect();
    let validator = validator();
    let out = Command::new(&validator)
        .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
        .args(&files)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): `cargo xtask test` installs it (or set KUBERNETES_VALIDATE)",
                validator.display()
            )
        });
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => {
            let named: Vec<String> = files
                .iter()
                .zip(bodies)
                .filter(|(file, _)| said.contains(&*file.to_string_lossy()))
                .map(|(file, body)| format!("{}: {body}", file.display()))
                .collect();
            Err(format!("{}\n{}", said.trim(), named.join("\n")))
        }
        code => panic!("{} failed ({code:?}): {said}", validator.display()),
    }
}
