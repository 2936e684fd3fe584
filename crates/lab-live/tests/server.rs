//! The live page's server over real sockets: GET and HEAD of its own paths
//! only, nothing cached, no request body, the run's report files once written,
//! loopback only, and nothing served once stopped.

use lab_core::plan::{Overrides, Plan, ProfileName};
use lab_live::{LivePage, LiveServer};
use lab_report::Language;
use lab_runner::LiveFeed;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn plan() -> Plan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = lab_runner::scenario_dir::shipped(&root, "canary");
    let scenario = lab_runner::load_scenario(&dir, "canary").unwrap();
    Plan::build(&scenario, ProfileName::Quick, &Overrides::default()).unwrap()
}

/// Send `request` as it is and read the whole answer (the server closes).
async fn exchange(server: &LiveServer, request: &str) -> String {
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

fn get(method: &str, path: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
}

fn status(answer: &str) -> &str {
    answer.lines().next().unwrap_or("")
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

#[tokio::test]
async fn it_answers_get_and_head_of_its_own_paths_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = LiveServer::start(LivePage {
        feed: LiveFeed::new(),
        run_dir: dir.path().to_path_buf(),
        plan: plan(),
        language: Language::English,
    })
    .await
    .unwrap();
    assert!(server.address().ip().is_loopback());
    assert!(
        server.url().starts_with("http://127.0.0.1:"),
        "{}",
        server.url()
    );

    let page = exchange(&server, &get("GET", "/")).await;
    assert_eq!(status(&page), "HTTP/1.1 200 OK");
    assert_eq!(header(&page, "cache-control"), Some("no-store"));
    assert!(
        header(&page, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body(&page).contains("data-state=\"waiting\""), "{page}");
    let fragment = exchange(&server, &get("GET", "/fragment")).await;
    assert_eq!(status(&fragment), "HTTP/1.1 200 OK");
    assert_eq!(header(&fragment, "cache-control"), Some("no-store"));

    let head = exchange(&server, &get("HEAD", "/")).await;
    assert_eq!(status(&head), "HTTP/1.1 200 OK");
    assert_eq!(body(&head), "", "HEAD has no body");

    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"] {
        let refused = exchange(&server, &get(method, "/")).await;
        assert_eq!(
            status(&refused),
            "HTTP/1.1 405 Method Not Allowed",
            "{method}"
        );
        assert_eq!(header(&refused, "allow"), Some("GET, HEAD"), "{method}");
    }
    for path in [
        "/events.jsonl",
        "/../events.jsonl",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/platform/",
        "/report.html/..",
    ] {
        let missing = exchange(&server, &get("GET", path)).await;
        assert_eq!(status(&missing), "HTTP/1.1 404 Not Found", "{path}");
    }
    let long = exchange(&server, &get("GET", &format!("/{}", "x".repeat(3000)))).await;
    assert_eq!(status(&long), "HTTP/1.1 414 URI Too Long");
    let with_body = exchange(
        &server,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )
    .await;
    assert_eq!(status(&with_body), "HTTP/1.1 413 Payload Too Large");
    let huge_head = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: {}\r\n\r\n",
        "y".repeat(64 * 1024)
    );
    let refused = exchange(&server, &huge_head).await;
    assert!(
        refused.is_empty() || status(&refused).starts_with("HTTP/1.1 431"),
        "an oversized head is refused: {}",
        status(&refused)
    );

    // The report's files, once the run has written them; nothing else of the
    // run directory.
    let missing = exchange(&server, &get("GET", "/report.html")).await;
    assert_eq!(status(&missing), "HTTP/1.1 404 Not Found");
    std::fs::write(dir.path().join("report.html"), "<html>report</html>").unwrap();
    std::fs::write(dir.path().join("events.jsonl"), "{}").unwrap();
    let report = exchange(&server, &get("GET", "/report.html")).await;
    assert_eq!(status(&report), "HTTP/1.1 200 OK");
    assert_eq!(body(&report), "<html>report</html>");
    let events = exchange(&server, &get("GET", "/events.jsonl")).await;
    assert_eq!(status(&events), "HTTP/1.1 404 Not Found");

    let address = server.address();
    server.stop().await;
    assert!(
        TcpStream::connect(address).await.is_err(),
        "nothing listens once stopped"
    );
}
