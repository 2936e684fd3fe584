//! Prerequisites of tests and benchmarks: check them, and on a Debian machine where
//! we run as root, install what is missing; elsewhere say exactly what to install.

use crate::shell;
use anyhow::bail;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a missing tool comes from.
#[derive(Clone, Copy)]
pub enum Source {
    /// A Debian package (installed with apt-get when running as root on Debian).
    Debian(&'static str),
    /// A crate installed with `cargo install --locked`.
    Cargo(&'static str),
}

/// An external program the lab needs.
#[derive(Clone, Copy)]
pub struct Tool {
    /// The executable's name.
    pub binary: &'static str,
    /// Where it comes from.
    pub source: Source,
    /// What it is needed for, shown when it is missing.
    pub needed_for: &'static str,
}

/// Prometheus server, started by the local platform.
pub const PROMETHEUS: Tool = Tool {
    binary: "prometheus",
    source: Source::Debian("prometheus"),
    needed_for: "the local platform's Prometheus",
};

/// promtool, which checks metrics, configs and rules.
pub const PROMTOOL: Tool = Tool {
    binary: "promtool",
    source: Source::Debian("prometheus"),
    needed_for: "checking metrics, configs and dashboards",
};

/// chromium, the browser the live page's end-to-end test drives headless.
/// Debian's package only: a browser is never downloaded.
pub const CHROMIUM: Tool = Tool {
    binary: "chromium",
    source: Source::Debian("chromium"),
    needed_for: "the live page's browser test",
};

/// oha, the HTTP load generator `cargo xtask bench` compares loadgen with.
pub const OHA: Tool = Tool {
    binary: "oha",
    source: Source::Cargo("oha"),
    needed_for: "cargo xtask bench (the comparisons with oha)",
};

/// nginx, the static server `cargo xtask bench` compares the demo app with.
pub const NGINX: Tool = Tool {
    binary: "nginx",
    source: Source::Debian("nginx"),
    needed_for: "cargo xtask bench (demo-app against nginx)",
};

/// wrk, the HTTP load generator the demo app and nginx are measured with.
pub const WRK: Tool = Tool {
    binary: "wrk",
    source: Source::Debian("wrk"),
    needed_for: "cargo xtask bench (demo-app against nginx)",
};

/// Places beside PATH where Debian puts programs a non-root PATH may lack.
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin"];

/// Find a tool on PATH or in the usual system directories.
pub fn find(binary: &str) -> Option<PathBuf> {
    shell::which(binary).or_else(|| {
        EXTRA_DIRS
            .iter()
            .map(|dir| Path::new(dir).join(binary))
            .find(|path| path.is_file())
    })
}

/// Make sure every tool is present, installing what can be installed here.
pub fn ensure(tools: &[Tool]) -> anyhow::Result<()> {
    let missing: Vec<Tool> = tools
        .iter()
        .copied()
        .filter(|t| find(t.binary).is_none())
        .collect();
    if missing.is_empty() {
        for tool in tools {
            eprintln!(
                "prerequisite {}: {}",
                tool.binary,
                find(tool.binary).unwrap().display()
            );
        }
        return Ok(());
    }
    let mut debian: Vec<&str> = missing
        .iter()
        .filter_map(|t| match t.source {
            Source::Debian(package) => Some(package),
            Source::Cargo(_) => None,
        })
        .collect();
    debian.sort_unstable();
    debian.dedup();
    if !debian.is_empty() {
        if can_apt() {
            eprintln!("installing Debian packages: {}", debian.join(" "));
            shell::run(Command::new("apt-get").arg("update").arg("-q"))?;
            shell::run(
                Command::new("apt-get")
                    .args(["install", "-y", "-q", "--no-install-recommends"])
                    .args(&debian)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )?;
        } else {
            bail!(
                "missing {}: install the Debian/Ubuntu package(s) `{}` (sudo apt-get install {}), \
                 or put the programs on PATH; needed for {}",
                names(&missing, |s| matches!(s, Source::Debian(_))),
                debian.join(" "),
                debian.join(" "),
                needs(&missing),
            );
        }
    }
    for tool in &missing {
        if let Source::Cargo(krate) = tool.source {
            eprintln!(
                "installing {} with cargo install --locked {krate}",
                tool.binary
            );
            shell::run(shell::cargo().args(["install", "--locked", krate]))?;
        }
    }
    let still: Vec<Tool> = tools
        .iter()
        .copied()
        .filter(|t| find(t.binary).is_none())
        .collect();
    if !still.is_empty() {
        bail!(
            "still missing after installing: {}; needed for {}",
            names(&still, |_| true),
            needs(&still)
        );
    }
    for tool in tools {
        eprintln!(
            "prerequisite {}: {}",
            tool.binary,
            find(tool.binary).unwrap().display()
        );
    }
    Ok(())
}

fn names(tools: &[Tool], keep: impl Fn(Source) -> bool) -> String {
    tools
        .iter()
        .filter(|t| keep(t.source))
        .map(|t| t.binary)
        .collect::<Vec<_>>()
        .join(", ")
}

fn needs(tools: &[Tool]) -> String {
    let mut needs: Vec<&str> = tools.iter().map(|t| t.needed_for).collect();
    needs.dedup();
    needs.join(", ")
}

/// Installing with apt-get works when we are root on a Debian-family system.
fn can_apt() -> bool {
    Path::new("/etc/debian_version").exists() && shell::which("apt-get").is_some() && nix_is_root()
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Make sure the toolchain has rustfmt and clippy, adding them with rustup if it can.
pub fn ensure_rust_components() -> anyhow::Result<()> {
    let have = |sub: &str| {
        shell::cargo()
            .args([sub, "--version"])
            .output()
            .map(|out| out.status.success())
            .unwrap_or(false)
    };
    if have("fmt") && have("clippy") {
        return Ok(());
    }
    if shell::which("rustup").is_some() {
        return shell::run(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]));
    }
    bail!(
        "cargo fmt and cargo clippy are needed: install the rustfmt and clippy components of your toolchain"
    )
}

/// The version of kubernetes-validate, the outside schema check of the object
/// bodies the mocked-API tests see the kube platform send.
pub const KUBERNETES_VALIDATE_VERSION: &str = "1.37.0";

/// Where the test command keeps kubernetes-validate: a virtualenv of its own,
/// so no system Python package is touched.
pub const KUBERNETES_VALIDATE_VENV: &str = "target/kubernetes-validate";

/// Make sure kubernetes-validate is installed in its virtualenv under the
/// repository (python3-venv from Debian's packages when missing, the package
/// from PyPI); returns its executable, which the tests find through
/// `KUBERNETES_VALIDATE`.
pub fn ensure_kubernetes_validate(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join(KUBERNETES_VALIDATE_VENV);
    let executable = venv.join("bin/kubernetes-validate");
    let installed = || {
        Command::new(&executable)
            .arg("--version")
            .output()
            .map(|out| {
                out.status.success()
                    && String::from_utf8_lossy(&out.stdout).contains(KUBERNETES_VALIDATE_VERSION)
            })
            .unwrap_or(false)
    };
    if installed() {
        eprintln!("prerequisite kubernetes-validate: {}", executable.display());
        return Ok(executable);
    }
    let make_venv = || {
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !make_venv() {
        if !can_apt() {
            bail!(
                "python3 -m venv {} failed: install python3 and python3-venv (sudo apt-get install python3 python3-venv); needed for the schema check of the kube platform's object bodies",
                venv.display()
            );
        }
        eprintln!("installing Debian packages: python3 python3-venv");
        shell::run(Command::new("apt-get").arg("update").arg("-q"))?;
        shell::run(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(["python3", "python3-venv"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        if !make_venv() {
            bail!(
                "python3 -m venv {} failed after installing python3-venv",
                venv.display()
            );
        }
    }
    eprintln!(
        "installing kubernetes-validate=={KUBERNETES_VALIDATE_VERSION} into {}",
        venv.display()
    );
    shell::run(
        Command::new(venv.join("bin/python3"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(format!(
                "kubernetes-validate=={KUBERNETES_VALIDATE_VERSION}"
            )),
    )?;
    if !installed() {
        bail!(
            "kubernetes-validate {KUBERNETES_VALIDATE_VERSION} is still missing from {} after installing it",
            venv.display()
        );
    }
    eprintln!("prerequisite kubernetes-validate: {}", executable.display());
    Ok(executable)
}
