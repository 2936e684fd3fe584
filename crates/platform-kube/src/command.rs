//! External commands (docker, kind, minikube), each bounded by a timeout and
//! killed if it runs over, shown as a user would type them.

use crate::error::LabError;
use std::fmt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// How long a probe (`kind version`, `docker version`) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// One external command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalCommand {
    /// The program (looked up on PATH).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// How long it may run before it is killed.
    pub timeout: Duration,
}

/// What a captured command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl ExternalCommand {
    /// A command with the probe timeout.
    pub fn new(program: &str, args: &[&str]) -> Self {
        ExternalCommand {
            program: program.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            timeout: PROBE_TIMEOUT,
        }
    }

    /// The same command with another timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn command(&self, cwd: &Path) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.args)
            .current_dir(cwd)
            .kill_on_drop(true)
            .stdin(Stdio::null());
        command
    }

    /// Run it with its output going to our standard error (standard output is
    /// kept for results); fail on a non-zero exit or when it runs over its time.
    pub async fn run(&self, cwd: &Path) -> Result<(), LabError> {
        let mut command = self.command(cwd);
        command.stdout(stderr_stdio()).stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .map_err(|e| self.failed(format!("could not start: {e}")))?;
        match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(self.failed(format!("failed ({status})"))),
            Ok(Err(e)) => Err(self.failed(format!("failed: {e}"))),
            Err(_) => {
                let _ = child.kill().await;
                Err(self.failed(format!("did not finish within {:?}", self.timeout)))
            }
        }
    }

    /// Run it and capture its output; a command that cannot start or runs over
    /// its time is an error, a non-zero exit is not.
    pub async fn capture(&self, cwd: &Path) -> Result<Captured, LabError> {
        let mut command = self.command(cwd);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = command
            .spawn()
            .map_err(|e| self.failed(format!("could not start: {e}")))?;
        match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(output)) => Ok(Captured {
                success: output.status.success(),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            }),
            Ok(Err(e)) => Err(self.failed(format!("failed: {e}"))),
            // Dropping the child kills it.
            Err(_) => Err(self.failed(format!("did not answer within {:?}", self.timeout))),
        }
    }

    fn failed(&self, message: String) -> LabError {
        LabError::Command {
            command: self.to_string(),
            message,
        }
    }
}

fn stderr_stdio() -> Stdio {
    use std::os::fd::AsFd;
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Stdio::from(fd),
        Err(_) => Stdio::inherit(),
    }
}

fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

impl fmt::Display for ExternalCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&quote(&self.program))?;
        for arg in &self.args {
            write!(f, " {}", quote(arg))?;
        }
        Ok(())
    }
}

/// Whether a program is on PATH.
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        dir.join(program)
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_display_as_typed() {
        let c = ExternalCommand::new("docker", &["version", "--format", "{{.Server.Version}}"]);
        assert_eq!(
            c.to_string(),
            "docker version --format '{{.Server.Version}}'"
        );
        let c = ExternalCommand::new(
            "kind",
            &[
                "load",
                "docker-image",
                "canary-lab/demo-app:abc",
                "--name",
                "canary-lab",
            ],
        );
        assert_eq!(
            c.to_string(),
            "kind load docker-image canary-lab/demo-app:abc --name canary-lab"
        );
        assert_eq!(
            ExternalCommand::new("echo", &["it's"]).to_string(),
            "echo 'it'\\''s'"
        );
    }

    #[tokio::test]
    async fn capture_and_run() {
        let dir = Path::new("/");
        let out = ExternalCommand::new("sh", &["-c", "echo out; echo err >&2; exit 3"])
            .capture(dir)
            .await
            .unwrap();
        assert_eq!(
            out,
            Captured {
                success: false,
                stdout: "out\n".into(),
                stderr: "err\n".into()
            }
        );
        assert!(ExternalCommand::new("true", &[]).run(dir).await.is_ok());
        let error = ExternalCommand::new("false", &[])
            .run(dir)
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(error, "`false` failed (exit status: 1)");
        let error = ExternalCommand::new("no-such-program-here", &[])
            .capture(dir)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("`no-such-program-here` could not start"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn commands_that_run_over_are_stopped() {
        let started = std::time::Instant::now();
        let slow = ExternalCommand::new("sleep", &["30"]).timeout(Duration::from_millis(200));
        let error = slow.capture(Path::new("/")).await.unwrap_err().to_string();
        assert_eq!(error, "`sleep 30` did not answer within 200ms");
        assert!(started.elapsed() < Duration::from_secs(10));
        let error = slow.run(Path::new("/")).await.unwrap_err().to_string();
        assert_eq!(error, "`sleep 30` did not finish within 200ms");
    }

    #[test]
    fn path_lookup() {
        assert!(on_path("sh"));
        assert!(!on_path("no-such-program-here"));
    }
}
