//! A small client for Prometheus's HTTP API: instant and range queries, and the
//! list of scrape targets.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long one request to Prometheus may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a Prometheus request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromError {
    /// Prometheus did not answer.
    #[error("prometheus at {url} is unreachable: {message}")]
    Unreachable {
        /// Prometheus's base URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Prometheus answered with an error.
    #[error("prometheus rejected `{query}`: {message}")]
    Rejected {
        /// The query or endpoint.
        query: String,
        /// Prometheus's error message.
        message: String,
    },
}

/// One series of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// One series of a range query.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// (unix seconds, value) points.
    pub points: Vec<(f64, f64)>,
}

/// One active scrape target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The target's labels after relabelling.
    pub labels: BTreeMap<String, String>,
    /// `up`, `down` or `unknown`.
    pub health: String,
}

/// A Prometheus server.
#[derive(Debug, Clone)]
pub struct Prometheus {
    url: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorItem {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[derive(Deserialize)]
struct MatrixItem {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct TargetsData {
    #[serde(rename = "activeTargets")]
    active_targets: Vec<ActiveTarget>,
}

#[derive(Deserialize)]
struct ActiveTarget {
    labels: BTreeMap<String, String>,
    health: String,
}

/// Seconds since the Unix epoch, as Prometheus wants times.
pub fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn parse_value(text: &str) -> f64 {
    text.parse().unwrap_or(f64::NAN)
}

impl Prometheus {
    /// A client for the Prometheus at `url` (`http://127.0.0.1:9090`).
    pub fn new(url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("a client with a timeout builds");
        Self {
            url: url.into().trim_end_matches('/').to_string(),
            http,
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        params: &[(&str, String)],
        what: &str,
    ) -> Result<T, PromError> {
        let unreachable = |message: String| PromError::Unreachable {
            url: self.url.clone(),
            message,
        };
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .query(params)
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let envelope: Envelope<T> = response
            .json()
            .await
            .map_err(|e| unreachable(format!("unreadable answer: {e}")))?;
        match (envelope.status.as_str(), envelope.data) {
            ("success", Some(data)) => Ok(data),
            _ => Err(PromError::Rejected {
                query: what.to_string(),
                message: envelope.error.unwrap_or_else(|| "no data".to_string()),
            }),
        }
    }

    /// Whether Prometheus answers `/-/ready`.
    pub async fn ready(&self) -> bool {
        match self.http.get(format!("{}/-/ready", self.url)).send().await {
            Ok(response) => response.status().is_success(),
            Err(_) => false,
        }
    }

    /// An instant query evaluated at `time`.
    pub async fn query(&self, expr: &str, time: SystemTime) -> Result<Vec<Sample>, PromError> {
        let params = [
            ("query", expr.to_string()),
            ("time", format!("{:.3}", unix_seconds(time))),
        ];
        let data: QueryData = self.get("/api/v1/query", &params, expr).await?;
        if data.result_type != "vector" {
            return Err(PromError::Rejected {
                query: expr.to_string(),
                message: format!("expected a vector, got a {}", data.result_type),
            });
        }
        let items: Vec<VectorItem> =
            serde_json::from_value(data.result).map_err(|e| PromError::Rejected {
                query: expr.to_string(),
                message: e.to_string(),
            })?;
        Ok(items
            .into_iter()
            .map(|item| Sample {
                labels: item.metric,
                value: parse_value(&item.value.1),
            })
            .collect())
    }

    /// A range query from `start` to `end` every `step`.
    pub async fn query_range(
        &self,
        expr: &str,
        start: SystemTime,
        end: SystemTime,
        step: Duration,
    ) -> Result<Vec<Series>, PromError> {
        let params = [
            ("query", expr.to_string()),
            ("start", format!("{:.3}", unix_seconds(start))),
            ("end", format!("{:.3}", unix_seconds(end))),
            ("step", format!("{:.3}", step.as_secs_f64().max(0.001))),
        ];
        let data: QueryData = self.get("/api/v1/query_range", &params, expr).await?;
        let items: Vec<MatrixItem> =
            serde_json::from_value(data.result).map_err(|e| PromError::Rejected {
                query: expr.to_string(),
                message: e.to_string(),
            })?;
        Ok(items
            .into_iter()
            .map(|item| Series {
                labels: item.metric,
                points: item
                    .values
                    .into_iter()
                    .map(|(t, v)| (t, parse_value(&v)))
                    .collect(),
            })
            .collect())
    }

    /// The active scrape targets.
    pub async fn targets(&self) -> Result<Vec<Target>, PromError> {
        let params = [("state", "active".to_string())];
        let data: TargetsData = self
            .get("/api/v1/targets", &params, "/api/v1/targets")
            .await?;
        Ok(data
            .active_targets
            .into_iter()
            .map(|t| Target {
                labels: t.labels,
                health: t.health,
            })
            .collect())
    }
}
