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

    /// Seconds from the start of the run to the end of this evaluation
    /// (`extra.wall_s`; `None` for records written before it existed).
    pub fn wall_seconds(&self) -> Option<f64> {
        self.extra.get(WALL_KEY).and_then(serde_json::Value::as_f64)
    }
}

/// The key of [`Trial::wall_seconds`] in [`Trial::extra`].
pub const WALL_KEY: &str = "wall_s";

/// The clock of a run: seconds since it started, continued across a resume
/// (from the latest stamp among the earlier run's records), so that HV can be
/// drawn against wall time.
#[derive(Clone, Copy, Debug)]
pub struct RunClock {
    start: std::time::Instant,
    offset: f64,
}

impl RunClock {
    /// A clock starting now, after the records of an interrupted run.
    pub fn new<'t>(prior: impl IntoIterator<Item = &'t Trial>) -> Self {
        let offset = prior.into_iter().filter_map(Trial::wall_seconds).fold(0.0, f64::max);
        RunClock { start: std::time::Instant::now(), offset }
    }

    /// Stores the run's seconds so far in `trial` ([`Trial::wall_seconds`]).
    pub fn stamp(&self, trial: &mut Trial) {
        let s = self.offset + self.start.elapsed().as_secs_f64();
        trial.extra.insert(WALL_KEY.into(), serde_json::json!((s * 1000.0).round() / 1000.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Metric;

    #[test]
    fn the_run_clock_continues_after_the_records_of_an_interrupted_run() {
        let mut earlier = Trial {
            index: 0,
            arch_id: ArchId::of("x"),
            arch: "x".into(),
            status: TrialStatus::Ok,
            reason: None,
            metrics: MetricMap::new(),
            seed: 0,
            eval_seconds: 1.0,
            worker: None,
            extra: Default::default(),
        };
        assert_eq!(earlier.wall_seconds(), None);
        earlier.extra.insert(WALL_KEY.into(), serde_json::json!(125.5));
        let clock = RunClock::new([&earlier]);
        let mut t = earlier.clone();
        clock.stamp(&mut t);
        let s = t.wall_seconds().expect("stamped");
        assert!((125.5..126.5).contains(&s), "{s}");
        // A fresh run starts at zero.
        RunClock::new([]).stamp(&mut t);
        assert!(t.wall_seconds().expect("stamped") < 1.0);
    }

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
