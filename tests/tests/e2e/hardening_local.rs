//! Hardening of the local platform and of what a run writes:
//! - every address the lab serves on is loopback (127.0.0.0/8): pods, their
//!   endpoints, the Service listener and Prometheus, as the platform reports
//!   them and as the kernel's table of listening sockets shows them;
//! - a password given to the runner's Grafana client (the lab generates one per
//!   cluster lab) never appears in a run's files, even when Grafana answers with
//!   it, nor in the cluster `lab up --dry-run` output.
//!
//! One run checks both, to keep the suite short.

use lab_core::platform::Platform;
use lab_tests::{
    assert_no_process_left, lab_command, quick_plan, repo_root, run_local_during, wait_for_event,
};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn is_lab_loopback(ip: Ipv4Addr) -> bool {
    ip.octets()[0] == 127
}

/// `http://ip:port` → the address.
fn url_address(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// Listening TCP sockets (IPv4 and IPv6) by inode: their local address.
fn listening_sockets() -> BTreeMap<u64, String> {
    let mut sockets = BTreeMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if fields.len() < 10 || fields[3] != "0A" {
                continue;
            }
            let (ip, port) = fields[1].split_once(':').unwrap();
            let port = u16::from_str_radix(port, 16).unwrap();
            let local = if ip.len() == 8 {
                let ip = Ipv4Addr::from(u32::from_str_radix(ip, 16).unwrap().to_le_bytes());
                format!("{ip}:{port}")
            } else {
                format!("[{ip}]:{port}")
            };
            sockets.insert(fields[9].parse().unwrap(), local);
        }
    }
    sockets
}

/// The listening sockets a process holds: their local addresses.
fn listening_of(pid: u32, sockets: &BTreeMap<u64, String>) -> Vec<String> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            let inode: u64 = target
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()?;
            sockets.get(&inode).cloned()
        })
        .collect()
}

/// What the platform serves on, from its own reports and from the kernel.
async fn check_loopback(platform: &platform_local::LocalPlatform, service: &str) {
    let pods = platform.pods().await.unwrap();
    assert!(pods.len() >= 10, "{pods:?}");
    for pod in &pods {
        let ip: Ipv4Addr = pod.address.parse().unwrap();
        assert!(is_lab_loopback(ip), "pod {} on {ip}", pod.name);
    }
    let endpoints = platform.endpoints(service).await.unwrap();
    assert!(!endpoints.is_empty());
    for endpoint in &endpoints {
        let address: SocketAddr = endpoint.address.parse().unwrap();
        assert!(address.ip().is_loopback(), "endpoint {address}");
        assert!(matches!(address.ip(), std::net::IpAddr::V4(ip) if is_lab_loopback(ip)));
    }
    let listener = url_address(&platform.service_url(service).await.unwrap());
    assert!(matches!(listener.ip(), std::net::IpAddr::V4(ip) if is_lab_loopback(ip)));
    let prometheus = url_address(&platform.urls().prometheus.expect("Prometheus runs"));
    assert!(matches!(prometheus.ip(), std::net::IpAddr::V4(ip) if is_lab_loopback(ip)));

    // The kernel agrees: every socket the pods, Prometheus and the harness (the
    // Service listener) listen on is bound to 127.0.0.0/8, none to a wildcard.
    let sockets = listening_sockets();
    let mut pids = platform.pids();
    assert!(pids.len() >= 11, "{pids:?}");
    pids.push(std::process::id());
    let mut bound = BTreeSet::new();
    for pid in pids {
        let listening = listening_of(pid, &sockets);
        assert!(!listening.is_empty(), "pid {pid} listens on nothing");
        for local in listening {
            let ip = local.rsplit_once(':').unwrap().0;
            let loopback = ip.parse::<Ipv4Addr>().is_ok_and(is_lab_loopback);
            assert!(loopback, "pid {pid} listens on {local}");
            bound.insert(local);
        }
    }
    assert!(
        bound.contains(&listener.to_string()),
        "{listener} not among {bound:?}"
    );
    assert!(
        bound.contains(&prometheus.to_string()),
        "{prometheus} not among {bound:?}"
    );
}

/// A Grafana stand-in on loopback that refuses every annotation and, to make a
/// leak visible, puts the credentials it was sent into its answer. Returns its
/// URL and the `Authorization` headers it received.
async fn leaky_grafana() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request).into_owned();
                let authorization = text
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("authorization: ")
                            .or(l.strip_prefix("Authorization: "))
                    })
                    .unwrap_or_default()
                    .to_string();
                record.lock().unwrap().push(authorization.clone());
                let body = format!("{{\"message\":\"invalid credentials: {authorization}\"}}");
                let answer = format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every file under a folder, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A password like the ones the lab generates, different in every run.
fn generated_password() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("Gx7-{nanos:x}-{:x}-q2", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_serves_on_loopback_only_and_writes_no_credentials() {
    assert_eq!(base64(b"admin:pw"), "YWRtaW46cHc=");
    let password = generated_password();
    let secrets = [
        password.clone(),
        base64(format!("admin:{password}").as_bytes()),
    ];
    let (url, seen) = leaky_grafana().await;
    let grafana = lab_session::Grafana::new(url, "admin", password.clone());
    assert!(!format!("{grafana:?}").contains(&password));

    let plan = quick_plan("canary");
    let service = plan.entry.name().to_owned();
    let run = run_local_during(&plan, Some(grafana), move |platform, events| async move {
        wait_for_event(
            &events,
            Duration::from_secs(60),
            "window_opened",
            &[("name", "canary")],
        )
        .await;
        check_loopback(&platform, &service).await;
    })
    .await;
    assert!(run.report.passed, "{:#?}", run.report.decision);

    // The client did send the password (so a leak could happen)...
    let sent = seen.lock().unwrap().clone();
    assert!(!sent.is_empty(), "Grafana was never called");
    assert!(
        sent.iter().all(|a| a == &format!("Basic {}", secrets[1])),
        "{sent:?}"
    );
    assert!(
        run.report
            .notes
            .iter()
            .any(|n| n.contains("grafana refused the annotation")),
        "{:#?}",
        run.report.notes
    );
    // ...and no file of the run holds it: report.json, report.md, events.jsonl,
    // pod and Prometheus logs.
    let run_dir = run.run_dir.clone();
    let files = files_under(&run_dir);
    for name in ["report.json", "report.md", "events.jsonl"] {
        assert!(files.contains(&run_dir.join(name)), "no {name}");
    }
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{} holds a credential",
                file.display()
            );
        }
    }
    assert_no_process_left(&run);
}

#[test]
fn the_cluster_dry_run_shows_no_password() {
    let root = repo_root();
    let password = generated_password();
    let plan = platform_kube::lab::plan_up(&root, &platform_kube::Provider::Kind, &password, true)
        .unwrap();
    let mut printed = Vec::new();
    platform_kube::lab::print_plan(&plan, &root, &mut printed).unwrap();
    let printed = String::from_utf8(printed).unwrap();
    assert!(printed.contains("<admin-password: not shown>"), "{printed}");
    assert!(!printed.contains(&password));
    assert!(!printed.contains(&base64(format!("admin:{password}").as_bytes())));

    // Through the command line too, whatever password a lab on this machine keeps.
    let home = tempfile::tempdir().unwrap();
    let output = lab_command(home.path())
        .args(["lab", "up", "--platform", "kind", "--dry-run"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("<admin-password: not shown>"));
    if let Ok(kept) = std::fs::read_to_string(root.join(platform_kube::lab::PASSWORD_FILE)) {
        assert!(!stdout.contains(kept.trim()));
    }
}
