//! Step annotations in the cluster lab's Grafana, so the dashboard marks each
//! step of a run.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

    /// Add an annotation at `time` with tags `canary-lab` and the run id; the
    /// error says why not, in one line.
    pub async fn annotate(&self, time: SystemTime, text: &str, run_id: &str) -> Result<(), String> {
        let millis = time
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let body = serde_json::json!({
            "time": millis,
            "tags": ["canary-lab", run_id],
            "text": text,
        });
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
