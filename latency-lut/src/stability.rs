//! How steady the machine was while a table was built or a validation ran.
//!
//! A latency table is a set of timings taken over a minute or more. If the
//! machine's speed changes in that time (another process starts, the host steals
//! time from the virtual machine, the CPU changes frequency), entries measured
//! in the slow phase and the end-to-end calibration networks disagree, and every
//! prediction inherits the error. Nothing in a single timing shows it: each
//! sample is internally consistent. What shows it is measuring the same thing at
//! two different times:
//!
//! - **drift**: the calibration networks are measured at the start and again at
//!   the end of the build; the median ratio end/start minus one is the machine's
//!   change of speed over the build;
//! - **round spread**: the layer entries are measured in interleaved rounds; the
//!   median over all layers of (round median / pooled median) is the machine's
//!   speed during that round, and the spread of these indices over rounds shows
//!   a phase inside the build;
//! - **repeat spread** (validation): a subset of the end-to-end measurements is
//!   repeated at the end; the median relative change says whether the reference
//!   itself held still.
//!
//! [`StabilityOptions`] sets the tolerance and the retries; [`Stability`] is what
//! the table records and `hwnas lut show` prints. [`Slowdown`] lets tests inject
//! a change of speed at a chosen stage.

use crate::measure::quantile;
use serde::{Deserialize, Serialize};

/// Settings of the stability checks of a build.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StabilityOptions {
    /// Largest accepted change of speed (drift, round spread), as a fraction
    /// (default 0.05). The validation's ±10% figure needs the table to hold to
    /// a few percent. Measured on a 2-core virtual machine: builds whose tables
    /// then validated at 98-100% within ±10% drifted by -2.2% to +4.1% between
    /// start and end; the phases that spoiled tables differed by 5-12%.
    pub tolerance: f64,
    /// Largest accepted relative error of the calibration fit on its own
    /// networks (default 0.10).
    pub max_fit_error: f64,
    /// Re-measurements after the first attempt (default 2).
    pub max_retries: usize,
}

impl Default for StabilityOptions {
    fn default() -> Self {
        StabilityOptions { tolerance: 0.05, max_fit_error: 0.10, max_retries: 2 }
    }
}

/// What one attempt of a build found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// Change of speed between the calibration networks at the start and at the
    /// end (median of end / start, minus one).
    pub drift: f64,
    /// Speed index of each layer round (1 = the pooled speed).
    pub round_speeds: Vec<f64>,
    /// Rounds measured again because their speed was off.
    pub rounds_remeasured: usize,
    /// Largest relative error of the calibration fit (when fitted).
    pub fit_error: Option<f64>,
    /// What was wrong (empty: the attempt passed).
    pub problems: Vec<String>,
}

impl AttemptRecord {
    /// Spread of the round speed indices (max - min).
    pub fn round_spread(&self) -> f64 {
        spread(&self.round_speeds)
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// A badness score to keep the best of several failed attempts.
    pub fn badness(&self) -> f64 {
        self.drift.abs() + self.round_spread() + self.fit_error.unwrap_or(0.0)
    }
}

/// How steady the machine was during a build (recorded in the table file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    /// The settings of the checks.
    pub options: StabilityOptions,
    /// Every attempt, in order; the table holds the measurements of `kept`.
    pub attempts: Vec<AttemptRecord>,
    /// Index of the attempt whose measurements the table holds.
    pub kept: usize,
    /// Median over the entries of their relative spread (IQR / median).
    pub median_entry_spread: f64,
    /// Largest relative spread of an entry.
    pub max_entry_spread: f64,
}

impl Stability {
    /// The attempt the table holds.
    pub fn kept_attempt(&self) -> Option<&AttemptRecord> {
        self.attempts.get(self.kept)
    }

    /// Whether the kept attempt passed every check.
    pub fn settled(&self) -> bool {
        self.kept_attempt().is_some_and(AttemptRecord::passed)
    }

    /// Re-measurements made (attempts after the first).
    pub fn retries(&self) -> usize {
        self.attempts.len().saturating_sub(1)
    }

    /// The warning to print wherever the table is used, when it did not settle.
    pub fn warning(&self, table: &str) -> Option<String> {
        let a = self.kept_attempt()?;
        if a.passed() {
            return None;
        }
        Some(format!(
            "{table} was built while this machine's speed was not steady ({}; {} attempt(s)); its predictions may \
             be off by that much. Rebuild it when the machine is quiet (`hwnas lut build`)",
            a.problems.join("; "),
            self.attempts.len()
        ))
    }
}

/// Max minus min of `values` (0 when empty).
pub fn spread(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    hi - lo
}

/// Median of `values` (0 when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    quantile(&v, 0.5)
}

/// The machine's speed in each round: for every item (a layer, a network),
/// its median in round `r` divided by its median over all rounds; the index of
/// round `r` is the median of these ratios over the items. `medians[item][round]`.
pub fn round_speeds(medians: &[Vec<f64>]) -> Vec<f64> {
    let rounds = medians.iter().map(Vec::len).min().unwrap_or(0);
    (0..rounds)
        .map(|r| {
            let ratios: Vec<f64> = medians
                .iter()
                .filter_map(|m| {
                    let pooled = median(m);
                    (pooled > 0.0 && m[r] > 0.0).then(|| m[r] / pooled)
                })
                .collect();
            median(&ratios)
        })
        .collect()
}

/// The change of speed between two measurements of the same items: the median
/// of `after / before`, minus one (positive: slower afterwards).
pub fn drift(before: &[f64], after: &[f64]) -> f64 {
    let ratios: Vec<f64> =
        before.iter().zip(after).filter(|(b, a)| **b > 0.0 && **a > 0.0).map(|(b, a)| a / b).collect();
    if ratios.is_empty() { 0.0 } else { median(&ratios) - 1.0 }
}

/// The typical relative difference between two measurements of the same items:
/// the median of `|after / before - 1|`.
pub fn repeat_spread(before: &[f64], after: &[f64]) -> f64 {
    let diffs: Vec<f64> =
        before.iter().zip(after).filter(|(b, a)| **b > 0.0 && **a > 0.0).map(|(b, a)| (a / b - 1.0).abs()).collect();
    median(&diffs)
}

/// A stage of a build or validation, for [`Slowdown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The calibration networks at the start of attempt `attempt`.
    CalibrationStart {
        /// 0-based attempt.
        attempt: usize,
    },
    /// Layer round `round` of attempt `attempt`.
    Layers {
        /// 0-based attempt.
        attempt: usize,
        /// 0-based round.
        round: usize,
    },
    /// The calibration networks at the end of attempt `attempt`.
    CalibrationEnd {
        /// 0-based attempt.
        attempt: usize,
    },
    /// The end-to-end measurements of a validation.
    Validation,
    /// The repeated subset at the end of a validation.
    ValidationRepeat,
}

/// A change of the machine's speed, injected into the timings of a stage
/// (tests only: the real machine needs no help). Every sample timed in `stage`
/// is multiplied by `factor(stage)`.
pub trait Slowdown: Sync {
    /// The factor for `stage` (1 = none).
    fn factor(&self, stage: Stage) -> f64;
}

/// The machine as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSlowdown;

impl Slowdown for NoSlowdown {
    fn factor(&self, _stage: Stage) -> f64 {
        1.0
    }
}

impl<F: Fn(Stage) -> f64 + Sync> Slowdown for F {
    fn factor(&self, stage: Stage) -> f64 {
        self(stage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_speeds_find_the_slow_round() {
        // Three items, three rounds; round 1 is 20% slower for every item.
        let m = vec![vec![1.0, 1.2, 1.0], vec![2.0, 2.4, 2.0], vec![0.5, 0.6, 0.5]];
        let s = round_speeds(&m);
        assert_eq!(s.len(), 3);
        // Pooled median of each item is its round-0 value (1.0, 2.0, 0.5).
        assert!((s[0] - 1.0).abs() < 1e-12 && (s[1] - 1.2).abs() < 1e-12 && (s[2] - 1.0).abs() < 1e-12, "{s:?}");
        assert!((spread(&s) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn drift_and_repeat_spread_are_relative() {
        let before = [1.0, 2.0, 4.0];
        assert!((drift(&before, &[1.1, 2.2, 4.4]) - 0.1).abs() < 1e-12);
        assert!((drift(&before, &[0.9, 1.8, 3.6]) + 0.1).abs() < 1e-12);
        // Changes of +10%, -10%, 0: no drift, but a spread of 10%.
        assert!(drift(&before, &[1.1, 1.8, 4.0]).abs() < 1e-12);
        assert!((repeat_spread(&before, &[1.1, 1.8, 4.0]) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn an_unsettled_table_has_a_warning_naming_the_problem() {
        let ok = AttemptRecord {
            drift: 0.01,
            round_speeds: vec![1.0, 1.01],
            rounds_remeasured: 0,
            fit_error: Some(0.02),
            problems: vec![],
        };
        let bad = AttemptRecord { drift: 0.3, problems: vec!["speed drifted by +30.0%".into()], ..ok.clone() };
        let mut s = Stability {
            options: StabilityOptions::default(),
            attempts: vec![bad.clone(), ok],
            kept: 1,
            median_entry_spread: 0.01,
            max_entry_spread: 0.05,
        };
        assert!(s.settled() && s.warning("t.json").is_none());
        assert_eq!(s.retries(), 1);
        s.kept = 0;
        let w = s.warning("t.json").expect("warns");
        assert!(w.contains("t.json") && w.contains("+30.0%") && w.contains("2 attempt"), "{w}");
    }
}
