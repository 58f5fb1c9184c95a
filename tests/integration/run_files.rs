//! Reading a run directory's files in tests.

use std::path::Path;

/// `(index, arch, metrics as JSON)` of every trial of `dir`, by index (the log
/// is in the order evaluations finished).
pub fn trials_by_index(dir: &Path) -> Vec<(u64, String, String)> {
    let mut t: Vec<(u64, String, String)> = std::fs::read_to_string(dir.join("trials.jsonl"))
        .expect("trials")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            (v["index"].as_u64().expect("index"), v["arch"].as_str().expect("arch").into(), v["metrics"].to_string())
        })
        .collect();
    t.sort();
    t
}
