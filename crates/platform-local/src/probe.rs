//! Probes as the kubelet runs them: an HTTP GET whose status decides, or a TCP
//! connect, each bounded by the probe's timeout.

use crate::image::ProbeAction;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What one probe attempt saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProbeResult {
    Success,
    /// Nothing listens yet (the process is still starting, or has stopped).
    Refused,
    Failure(String),
}

/// Run one probe against the pod at `address`.
pub(crate) async fn run(action: &ProbeAction, address: Ipv4Addr, timeout: Duration) -> ProbeResult {
    match tokio::time::timeout(timeout, attempt(action, address)).await {
        Ok(result) => result,
        Err(_) => ProbeResult::Failure(format!("timed out after {}s", timeout.as_secs_f64())),
    }
}

async fn attempt(action: &ProbeAction, address: Ipv4Addr) -> ProbeResult {
    let port = match action {
        ProbeAction::HttpGet { port, .. } | ProbeAction::TcpSocket { port } => *port,
    };
    let mut stream = match TcpStream::connect(SocketAddr::from((address, port))).await {
        Ok(stream) => stream,
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
            return ProbeResult::Refused;
        }
        Err(error) => return ProbeResult::Failure(error.to_string()),
    };
    let ProbeAction::HttpGet { path, .. } = action else {
        return ProbeResult::Success;
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}:{port}\r\nUser-Agent: kube-probe/canary-lab\r\nConnection: close\r\n\r\n"
    );
    if let Err(error) = stream.write_all(request.as_bytes()).await {
        return ProbeResult::Failure(error.to_string());
    }
    // The status line fits in the first read of any sane server.
    let mut buffer = [0u8; 256];
    let mut filled = 0;
    loop {
        match stream.read(&mut buffer[filled..]).await {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if buffer[..filled].contains(&b'\n') || filled == buffer.len() {
                    break;
                }
            }
            Err(error) => return ProbeResult::Failure(error.to_string()),
        }
    }
    let head = String::from_utf8_lossy(&buffer[..filled]);
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok());
    match status {
        Some(code) if (200..400).contains(&code) => ProbeResult::Success,
        Some(code) => ProbeResult::Failure(format!("HTTP probe failed with statuscode: {code}")),
        None => ProbeResult::Failure("malformed HTTP response".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn serve_once(response: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buffer = [0u8; 512];
            let _ = socket.read(&mut buffer).await;
            let _ = socket.write_all(response.as_bytes()).await;
        });
        port
    }

    #[tokio::test]
    async fn http_statuses_decide() {
        let localhost = Ipv4Addr::LOCALHOST;
        let timeout = Duration::from_secs(2);
        for (response, expected) in [
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                ProbeResult::Success,
            ),
            ("HTTP/1.1 302 Found\r\n\r\n", ProbeResult::Success),
            (
                "HTTP/1.1 503 Service Unavailable\r\n\r\n",
                ProbeResult::Failure("HTTP probe failed with statuscode: 503".into()),
            ),
            (
                "garbage",
                ProbeResult::Failure("malformed HTTP response".into()),
            ),
        ] {
            let port = serve_once(response).await;
            let action = ProbeAction::HttpGet {
                port,
                path: "/ready".into(),
            };
            assert_eq!(
                run(&action, localhost, timeout).await,
                expected,
                "{response:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_and_a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let action = ProbeAction::HttpGet {
            port,
            path: "/".into(),
        };
        assert_eq!(
            run(&action, Ipv4Addr::LOCALHOST, Duration::from_secs(1)).await,
            ProbeResult::Refused
        );

        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let action = ProbeAction::HttpGet {
            port,
            path: "/".into(),
        };
        let result = run(&action, Ipv4Addr::LOCALHOST, Duration::from_millis(300)).await;
        assert!(
            matches!(result, ProbeResult::Failure(ref m) if m.contains("timed out")),
            "{result:?}"
        );
        drop(silent);
    }
}
