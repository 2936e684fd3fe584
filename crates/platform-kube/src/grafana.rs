//! Step annotations in the cluster lab's Grafana, so the dashboard marks each
//! step of a run.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The uid of the lab's dashboard (`grafana/dashboards/canary-lab.json`): step
/// annotations are posted to it, so its built-in annotation query draws them.
pub const DASHBOARD_UID: &str = "canary-lab";

/// The tag every step annotation carries, which the dashboard's annotation
/// query for the lab's steps selects.
pub const ANNOTATION_TAG: &str = "canary-lab";

/// A Grafana to annotate, with the credentials of its admin user.
#[derive(Clone)]
pub struct Grafana {
    url: String,
    user: String,
    password: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for Grafana {
    // The password never appears in logs or reports.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grafana")
            .field("url", &self.url)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Grafana {
    /// A Grafana at `url` (`http://127.0.0.1:30030`).
    pub fn new(
        url: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            url: url.into().trim_end_matches('/').to_string(),
            user: user.into(),
            password: password.into(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .expect("a client with a timeout builds"),
        }
    }

    /// Add an annotation on the lab's dashboard at `time`, tagged `canary-lab`
    /// and with the run id; the error says why not, in one line.
    pub async fn annotate(&self, time: SystemTime, text: &str, run_id: &str) -> Result<(), String> {
        let millis = time
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let body = annotation_body(millis, text, run_id);
        let response = self
            .http
            .post(format!("{}/api/annotations", self.url))
            .basic_auth(&self.user, Some(&self.password))
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("grafana at {} is unreachable: {e}", self.url))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "grafana refused the annotation: {}",
                response.status()
            ))
        }
    }
}

/// The body of a step annotation: on the lab's dashboard (no panel: every
/// panel draws it), at `millis` since the epoch.
pub fn annotation_body(millis: u64, text: &str, run_id: &str) -> serde_json::Value {
    serde_json::json!({
        "dashboardUID": DASHBOARD_UID,
        "time": millis,
        "tags": [ANNOTATION_TAG, run_id],
        "text": text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-request HTTP server on loopback that answers `status` and hands
    /// back the request it got.
    async fn one_request(status: &str) -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let status = status.to_string();
        let served = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                let n = socket.read(&mut buffer).await.unwrap();
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= length || n == 0 {
                        break;
                    }
                }
            }
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8(request).unwrap()
        });
        (url, served)
    }

    #[tokio::test]
    async fn annotations_go_to_the_lab_dashboard() {
        let (url, served) = one_request("200 OK").await;
        let grafana = Grafana::new(url, "admin", "secret");
        let at = UNIX_EPOCH + Duration::from_millis(1_790_000_000_123);
        grafana
            .annotate(
                at,
                "step 5: scale deployment my-app-v1 to 9 replicas",
                "run-1",
            )
            .await
            .unwrap();
        let request = served.await.unwrap();
        assert!(
            request.starts_with("POST /api/annotations HTTP/1.1\r\n"),
            "{request}"
        );
        let (_, body) = request.split_once("\r\n\r\n").unwrap();
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "dashboardUID": "canary-lab",
                "time": 1_790_000_000_123u64,
                "tags": ["canary-lab", "run-1"],
                "text": "step 5: scale deployment my-app-v1 to 9 replicas",
            })
        );
    }

    #[tokio::test]
    async fn a_refused_annotation_says_so() {
        let (url, served) = one_request("403 Forbidden").await;
        let error = Grafana::new(url, "admin", "wrong")
            .annotate(UNIX_EPOCH, "x", "run-1")
            .await
            .unwrap_err();
        served.await.unwrap();
        assert_eq!(error, "grafana refused the annotation: 403 Forbidden");
    }
}
