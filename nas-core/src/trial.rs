//! Trial records: one finished evaluation of one architecture.

use crate::arch::ArchId;
use crate::metric::MetricMap;
use serde::{Deserialize, Serialize};

/// Outcome of a trial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    /// Metrics were produced.
    Ok,
    /// The candidate failed; `reason` says why. The search went on.
    Failed,
}

/// The record of one evaluated architecture, as written to `trials.jsonl`.
///
/// Records are self-describing (architecture notation, id, seed, worker) so that a
/// trial store shared by many workers can merge them, and carry an open `extra`
/// map for fields that later strategies or evaluators add (fidelity, subnet
/// config, accelerator parameters) without changing the schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Position in the run: the order in which the driver requested evaluations.
    pub index: usize,
    /// Stable architecture id.
    pub arch_id: ArchId,
    /// Architecture in its space's native notation.
    pub arch: String,
    /// Ok or failed.
    pub status: TrialStatus,
    /// Why the trial failed (absent when ok).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Metrics (empty when failed).
    #[serde(default)]
    pub metrics: MetricMap,
    /// Seed the evaluation used.
    pub seed: u64,
    /// Wall-clock seconds of the evaluation.
    pub eval_seconds: f64,
    /// Which worker produced it (host:pid), for shared trial stores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// Extension fields.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Trial {
    /// Whether the trial produced metrics.
    pub fn is_ok(&self) -> bool {
        self.status == TrialStatus::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Metric;

    #[test]
    fn json_round_trip_is_exact() {
        let t = Trial {
            index: 3,
            arch_id: ArchId::of("x"),
            arch: "x".into(),
            status: TrialStatus::Ok,
            reason: None,
            metrics: MetricMap::from([(Metric::Accuracy, 93.123_456_789_012_3), (Metric::LatencyMs, 0.1 + 0.2)]),
            seed: u64::MAX,
            eval_seconds: 1.5,
            worker: None,
            extra: Default::default(),
        };
        let line = serde_json::to_string(&t).expect("ser");
        assert!(line.contains("\"latency_ms\""));
        let back: Trial = serde_json::from_str(&line).expect("de");
        assert_eq!(back, t);
    }
}
