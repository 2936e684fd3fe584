//! The most a scenario folder or a flag may ask of the lab.
//!
//! Scenario folders travel (workshop material, a pull request run by CI, a
//! colleague's example), so every size they can set has a limit, checked when
//! the folder is validated, before anything starts, with the usual one-line
//! error. The flags that override a profile get the same limits. The limits
//! are documented in `lab/scenarios/README.md`.
//!
//! How many pods run at once depends on the platform: the local platform runs
//! each pod as a process on this machine, so a plan is checked against
//! [`LOCAL_MAX_PODS`] where a plan is checked for a platform (when a lab is
//! opened), not here.

use crate::duration::format_duration;
use std::time::Duration;

/// Bytes a scenario file (`scenario.toml` or a manifest) may have: 256 KiB,
/// the most `kubectl apply` keeps of an object.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;

/// Bytes of all a folder's scenario files together: 1 MiB, so a folder is
/// parsed and checked in about a second and 100 MB.
pub const MAX_FOLDER_BYTES: u64 = 1024 * 1024;

/// Manifest files a scenario folder may have.
pub const MAX_MANIFEST_FILES: usize = 16;

/// Objects (YAML documents) a manifest file may hold.
pub const MAX_OBJECTS_PER_FILE: usize = 32;

/// Steps in `[[steps]]`, and again in `[[rollback]]`.
pub const MAX_STEPS: usize = 100;

/// Replicas a Deployment or a `scale` step may ask for.
pub const MAX_REPLICAS: i32 = 1000;

/// The longest phase (`observe`, `analyze`: `for`, `--observe`, `--analyze`).
pub const MAX_PHASE: Duration = Duration::from_secs(3600);

/// The longest wait (`wait`'s `timeout`, `--wait-timeout`).
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// The shortest analysis interval (`--interval`): the gates are judged this
/// often at most.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// The shortest and the longest Prometheus scrape interval (`--scrape-interval`).
pub const SCRAPE_INTERVAL: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(60));

/// The highest traffic rate, in requests per second (`--rate`): what one
/// machine's loopback sustains with a new connection per request.
pub const MAX_RATE: f64 = 5000.0;

/// The most kept-alive connections (`--keep-alive`).
pub const MAX_CONNECTIONS: u16 = 1000;

/// `[[images]]` mappings of an image to a local program in one file.
pub const MAX_IMAGE_MAPPINGS: usize = 64;

/// Pods the local platform runs at once: each is a process with its own
/// probes, and a machine of a few cores runs about this many with Prometheus
/// and the traffic beside them.
pub const LOCAL_MAX_PODS: i64 = 50;

/// `256 KiB`, `100.0 MiB`: a size in bytes as people read it.
pub fn format_bytes(bytes: u64) -> String {
    const KIB: u64 = 1024;
    match bytes {
        b if b >= KIB * KIB && b % (KIB * KIB) == 0 => format!("{} MiB", b / (KIB * KIB)),
        b if b >= KIB * KIB => format!("{:.1} MiB", b as f64 / (KIB * KIB) as f64),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b if b >= KIB => format!("{:.1} KiB", b as f64 / KIB as f64),
        b => format!("{b} bytes"),
    }
}

/// Why a file of `bytes` is refused, if it is.
pub fn file_size(bytes: u64) -> Result<(), String> {
    if bytes > MAX_FILE_BYTES {
        return Err(format!(
            "{} is more than the lab's limit for a scenario file ({})",
            format_bytes(bytes),
            format_bytes(MAX_FILE_BYTES)
        ));
    }
    Ok(())
}

/// Why a folder whose scenario files have `bytes` in all is refused, if it is.
pub fn folder_size(bytes: u64) -> Result<(), String> {
    if bytes > MAX_FOLDER_BYTES {
        return Err(format!(
            "{} of scenario files is more than the lab's limit for a folder ({})",
            format_bytes(bytes),
            format_bytes(MAX_FOLDER_BYTES)
        ));
    }
    Ok(())
}

/// Why a folder with `count` manifest files is refused, if it is.
pub fn manifest_files(count: usize) -> Result<(), String> {
    if count > MAX_MANIFEST_FILES {
        return Err(format!(
            "{count} manifest files in this folder, more than the lab's limit ({MAX_MANIFEST_FILES})"
        ));
    }
    Ok(())
}

/// Why a replica count is refused, if it is.
pub fn replicas(replicas: i64) -> Result<(), String> {
    if replicas > i64::from(MAX_REPLICAS) {
        return Err(format!(
            "{replicas} replicas is more than the lab's limit ({MAX_REPLICAS})"
        ));
    }
    Ok(())
}

fn at_most(what: &str, duration: Duration, limit: Duration) -> Result<(), String> {
    if duration > limit {
        return Err(format!(
            "{} is longer than the lab's longest {what} ({})",
            format_duration(duration),
            format_duration(limit)
        ));
    }
    Ok(())
}

/// Why a phase length is refused, if it is.
pub fn phase(duration: Duration) -> Result<(), String> {
    at_most("phase", duration, MAX_PHASE)
}

/// Why a wait's timeout is refused, if it is.
pub fn wait(duration: Duration) -> Result<(), String> {
    at_most("wait", duration, MAX_WAIT)
}

/// Why an analysis interval is refused, if it is.
pub fn interval(duration: Duration) -> Result<(), String> {
    if duration < MIN_INTERVAL {
        return Err(format!(
            "{} is shorter than the lab's shortest analysis interval ({})",
            format_duration(duration),
            format_duration(MIN_INTERVAL)
        ));
    }
    at_most("analysis interval", duration, MAX_PHASE)
}

/// Why a scrape interval is refused, if it is.
pub fn scrape_interval(duration: Duration) -> Result<(), String> {
    let (shortest, longest) = SCRAPE_INTERVAL;
    if duration < shortest {
        return Err(format!(
            "{} is shorter than the lab's shortest scrape interval ({})",
            format_duration(duration),
            format_duration(shortest)
        ));
    }
    at_most("scrape interval", duration, longest)
}

/// Why a traffic rate is refused, if it is.
pub fn rate(rate: f64) -> Result<(), String> {
    if rate > MAX_RATE {
        return Err(format!(
            "{rate} requests/s is more than the lab's limit ({MAX_RATE})"
        ));
    }
    Ok(())
}

/// Why a number of kept-alive connections is refused, if it is.
pub fn connections(connections: u64) -> Result<(), String> {
    if connections == 0 || connections > u64::from(MAX_CONNECTIONS) {
        return Err(format!(
            "{connections} connections is not between 1 and the lab's limit ({MAX_CONNECTIONS})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        let check = |bytes: u64, expected: &str| assert_eq!(format_bytes(bytes), expected);
        check(12, "12 bytes");
        check(256 * 1024, "256 KiB");
        check(1536, "1.5 KiB");
        check(100 * 1024 * 1024 + 1, "100.0 MiB");
        check(1024 * 1024, "1 MiB");
    }

    #[test]
    fn each_limit_lets_its_own_value_through_and_refuses_above() {
        assert_eq!(file_size(MAX_FILE_BYTES), Ok(()));
        assert_eq!(folder_size(MAX_FOLDER_BYTES), Ok(()));
        assert_eq!(
            folder_size(3 * 512 * 1024),
            Err(
                "1.5 MiB of scenario files is more than the lab's limit for a folder (1 MiB)"
                    .to_owned()
            )
        );
        assert_eq!(
            file_size(100 * 1024 * 1024),
            Err("100 MiB is more than the lab's limit for a scenario file (256 KiB)".to_owned())
        );
        assert_eq!(replicas(1000), Ok(()));
        assert_eq!(
            replicas(2_147_483_647),
            Err("2147483647 replicas is more than the lab's limit (1000)".to_owned())
        );
        assert_eq!(phase(MAX_PHASE), Ok(()));
        assert_eq!(
            phase(Duration::from_secs(7200)),
            Err("2h is longer than the lab's longest phase (1h)".to_owned())
        );
        assert_eq!(
            wait(Duration::from_secs(3601)),
            Err("1h 1s is longer than the lab's longest wait (1h)".to_owned())
        );
        assert_eq!(
            interval(Duration::from_millis(10)),
            Err("10ms is shorter than the lab's shortest analysis interval (100ms)".to_owned())
        );
        assert_eq!(interval(Duration::from_secs(1)), Ok(()));
        assert_eq!(scrape_interval(Duration::from_secs(60)), Ok(()));
        assert!(scrape_interval(Duration::from_secs(61)).is_err());
        assert!(scrape_interval(Duration::from_millis(50)).is_err());
        assert_eq!(rate(5000.0), Ok(()));
        assert_eq!(
            rate(1e9),
            Err("1000000000 requests/s is more than the lab's limit (5000)".to_owned())
        );
        assert_eq!(connections(1000), Ok(()));
        assert_eq!(
            connections(0),
            Err("0 connections is not between 1 and the lab's limit (1000)".to_owned())
        );
    }
}
