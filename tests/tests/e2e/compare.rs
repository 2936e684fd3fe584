//! `lab compare` on two quick scenarios: compare.json's shape is pinned, and
//! recreate shows downtime where the canary shows none.

use lab_tests::lab_command;

#[test]
fn compare_writes_one_row_per_scenario() {
    let home = tempfile::tempdir().expect("a temporary lab home");
    let status = lab_command(home.path())
        .args(["lab", "compare", "recreate", "canary", "--profile", "quick"])
        .status()
        .expect("lab compare starts");
    assert!(status.success(), "{status}");
    let dir = std::fs::read_dir(home.path().join("compare"))
        .expect("a compare directory")
        .next()
        .expect("one comparison")
        .expect("readable")
        .path();
    for file in ["compare.html", "compare.md", "compare.json"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("compare.json")).unwrap())
            .expect("compare.json parses");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(
        keys(&json),
        ["id", "platform", "profile", "rows", "schema_version"]
    );
    let rows = json["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        keys(&rows[0]),
        ["error", "measures", "qualitative", "run", "scenario"]
    );
    assert_eq!(
        keys(&rows[0]["measures"]),
        [
            "decision_to_last_candidate_ms",
            "downtime_ms",
            "expected",
            "exposure_requests",
            "failed_requests",
            "failed_requests_seen",
            "outcome",
            "p99_baseline_ms",
            "p99_rollout_ms",
            "passed",
            "peak_pods_above_steady",
            "peak_pods_per_steady",
            "peak_pods_with_terminating_above_steady",
            "planned_peak_pods_above_steady",
            "rollout_ms",
        ]
    );
    let (recreate, canary) = (&rows[0]["measures"], &rows[1]["measures"]);
    // Measured from the platform: the canary's promotion starts ten v2 pods
    // while v1's nine drain, so pods terminating lift its peak; without them
    // it stays near the steady ten (v2's first pod replaces a v1 pod).
    assert!(
        canary["peak_pods_with_terminating_above_steady"]
            .as_u64()
            .unwrap()
            >= 1,
        "{canary}"
    );
    let per_steady = canary["peak_pods_per_steady"].as_f64().unwrap();
    assert!((1.0..=1.2).contains(&per_steady), "{canary}");
    assert_eq!(rows[0]["scenario"], "recreate");
    assert!(
        recreate["downtime_ms"].as_u64().unwrap() >= 250,
        "{recreate}"
    );
    assert_eq!(canary["failed_requests"], 0, "{canary}");
    assert!(
        canary["exposure_requests"].as_u64().unwrap() > 0,
        "{canary}"
    );
}
