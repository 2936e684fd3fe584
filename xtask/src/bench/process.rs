//! The servers a comparison measures against, as child processes killed on drop,
//! and what `/proc` says about a process's memory.

use anyhow::{Context as _, bail};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The version the demo app reports.
pub const VERSION: &str = "v1.0.0";
/// The host name the demo app reports, fixed so both servers send the same bytes.
pub const HOSTNAME: &str = "bench-pod";
/// demo-app's answer to `GET /` with that version and host name.
pub const BODY: &str = "Host: bench-pod, Version: v1.0.0\n";

/// How long a server may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A free port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process that is stopped and reaped when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
    /// Stop it with SIGTERM first (nginx's master then stops its workers; a
    /// SIGKILL would leave them running); else SIGKILL at once.
    terminate_first: bool,
}

impl Server {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait until `GET /` on `addr` answers 200 with the demo app's body.
    fn wait_answers(mut self, addr: SocketAddr, what: &str) -> anyhow::Result<Server> {
        let deadline = Instant::now() + START_TIMEOUT;
        while !answers(addr) {
            if let Some(status) = self.child.try_wait()? {
                bail!("{what} exited before answering ({status})");
            }
            if Instant::now() > deadline {
                bail!("{what} did not answer on {addr} within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(self)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.terminate_first {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo-app command line on these ports of 127.0.0.1.
pub fn demo_app_command(binary: &Path, listen: &str, probe: &str, metrics: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["--listen-address", &format!("127.0.0.1:{listen}")])
        .args(["--probe-address", &format!("127.0.0.1:{probe}")])
        .args(["--metrics-address", &format!("127.0.0.1:{metrics}")])
        .env("VERSION", VERSION)
        .env("HOSTNAME", HOSTNAME);
    command
}

/// Start the demo app on free loopback ports and wait until it answers.
pub fn start_demo_app(binary: &Path) -> anyhow::Result<Server> {
    let (listen, probe, metrics) = (free_port()?, free_port()?, free_port()?);
    let mut command = demo_app_command(
        binary,
        &listen.to_string(),
        &probe.to_string(),
        &metrics.to_string(),
    );
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{listen}/"),
        terminate_first: false,
    };
    server.wait_answers(SocketAddr::from(([127, 0, 0, 1], listen)), "demo-app")
}

/// nginx's configuration for a server that answers `GET /` as the demo app does:
/// the same body, `Content-Type` and `X-Version`, kept-alive connections without a
/// request limit (as hyper), no access log (the demo app writes none), one worker
/// process (the demo app serves on one thread).
pub fn nginx_config(dir: &Path, port: &str) -> String {
    let dir = dir.display();
    let body = BODY.replace('\n', "\\n");
    format!(
        "worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server_tokens off;
    keepalive_requests 1000000000;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = / {{
            default_type \"text/plain; charset=utf-8\";
            add_header X-Version {VERSION};
            return 200 \"{body}\";
        }}
    }}
}}
"
    )
}

/// The nginx command line for a configuration in `dir`.
pub fn nginx_command(nginx: &Path, dir: &Path) -> Command {
    let mut command = Command::new(nginx);
    command
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(["-e", "stderr"]);
    command
}

/// Start nginx on a free loopback port, configured in `dir`.
pub fn start_nginx(nginx: &Path, dir: &Path) -> anyhow::Result<Server> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let port = free_port()?;
    let config = dir.join("nginx.conf");
    std::fs::write(&config, nginx_config(dir, &port.to_string()))
        .with_context(|| format!("writing {}", config.display()))?;
    let log = std::fs::File::create(dir.join("stderr.log"))?;
    let child = nginx_command(nginx, dir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", nginx.display()))?;
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}/"),
        terminate_first: true,
    };
    server.wait_answers(SocketAddr::from(([127, 0, 0, 1], port)), "nginx")
}

/// Whether `GET /` answers 200 with the demo app's body.
fn answers(addr: SocketAddr) -> bool {
    let attempt = || -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        stream.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        Ok(text)
    };
    attempt().is_ok_and(|text| text.starts_with("HTTP/1.1 200") && text.ends_with(BODY))
}

/// A field of `/proc/PID/status` in kB (`VmRSS`, `VmHWM`), while the process runs.
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Clock ticks per second of `/proc/PID/stat`'s times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time a process has used, and the CPU time of its children it has waited
/// for, in seconds (`/proc/PID/stat`: utime + stime, cutime + cstime).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    /// The process's own user and system time.
    pub own: f64,
    /// Its waited-for children's user and system time.
    pub children: f64,
}

impl CpuTimes {
    /// The CPU time of `pid` (`self` for this process), while it runs.
    pub fn of(pid: &str) -> Option<CpuTimes> {
        parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    /// What was used between `earlier` and this reading.
    pub fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            own: self.own - earlier.own,
            children: self.children - earlier.children,
        }
    }
}

/// utime, stime, cutime and cstime are fields 14 to 17; the command name (field
/// 2) may hold spaces and parentheses, so count from the last `)`.
fn parse_stat(stat: &str) -> Option<CpuTimes> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let [utime, stime, cutime, cstime] = fields.as_slice() else {
        return None;
    };
    Some(CpuTimes {
        own: (utime + stime) / TICKS_PER_SECOND,
        children: (cutime + cstime) / TICKS_PER_SECOND,
    })
}

/// `/proc`'s kB (1024 bytes) in MB (10^6 bytes).
pub fn kb_to_mb(kb: u64) -> f64 {
    kb as f64 * 1024.0 / 1e6
}

/// A scratch directory under the bench's, emptied first.
pub fn fresh_dir(scratch: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = scratch.join(name);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error).with_context(|| format!("removing {}", dir.display())),
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields() {
        let me = std::process::id();
        let rss = status_kb(me, "VmRSS").unwrap();
        let peak = status_kb(me, "VmHWM").unwrap();
        assert!(rss > 0 && peak >= rss, "rss {rss} peak {peak}");
        assert_eq!(status_kb(me, "VmNothing"), None);
        // `VmRSS` must not match `VmRSSx`-like prefixes of other fields.
        assert_eq!(status_kb(me, "Vm"), None);
    }

    #[test]
    fn cpu_times_from_stat() {
        let check = |stat: &str, expected: Option<(f64, f64)>| {
            let got = parse_stat(stat).map(|t| (t.own, t.children));
            assert_eq!(got, expected, "{stat}");
        };
        check(
            "42 (tokio) worker) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 3 0",
            Some((3.0, 0.1)),
        );
        check("42 (short) S 1 42", None);
        check("no parenthesis", None);
        let me = CpuTimes::of("self").unwrap();
        assert!(me.own >= 0.0 && me.children >= 0.0, "{me:?}");
    }

    #[test]
    fn nginx_answers_what_demo_app_answers() {
        let config = nginx_config(Path::new("/d"), "8081");
        assert!(config.contains("listen 127.0.0.1:8081;"), "{config}");
        assert!(
            config.contains("return 200 \"Host: bench-pod, Version: v1.0.0\\n\";"),
            "{config}"
        );
        assert!(config.contains("add_header X-Version v1.0.0;"), "{config}");
        assert!(config.contains("pid /d/nginx.pid;"), "{config}");
    }
}
