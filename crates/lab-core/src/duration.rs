//! Durations as people write them (`30s`, `500ms`, `2m`): the one parser for
//! `scenario.toml` and every command-line flag, humantime's.

use std::time::Duration;

/// Parse a duration such as `30s`, `500ms` or `2m`; zero, and a number
/// without a unit, are refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => {
            Err(format!("duration `{text}` must be longer than zero"))
        }
        Ok(duration) => Ok(duration),
        Err(_) => Err(format!(
            "bad duration `{text}`: expected a number and a unit, such as 30s, 500ms or 2m"
        )),
    }
}

/// A duration as people write it: `6s`, `500ms`, `2m`.
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// Serde for durations as text (`"6s"`, `"500ms"`), so plans read well as JSON.
pub mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Write a duration as `6s`, `500ms`, `2m`.
    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(*duration))
    }

    /// Read a duration written as `6s`, `500ms`, `2m`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit_and_a_length() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("0s"),
            Err("duration `0s` must be longer than zero".to_owned())
        );
        assert_eq!(
            parse_duration("30"),
            Err(
                "bad duration `30`: expected a number and a unit, such as 30s, 500ms or 2m"
                    .to_owned()
            )
        );
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s 500ms");
    }
}
