//! Metrics with units, objectives and hard constraints.

use crate::error::{NasError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A measurable property of an architecture. The snake-case name carries the unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Metric {
    /// Top-1 accuracy in percent (0..100).
    Accuracy,
    /// Validation loss (cross-entropy, nats).
    Loss,
    /// Peak signal-to-noise ratio in dB (super-resolution).
    PsnrDb,
    /// Inference latency in milliseconds.
    LatencyMs,
    /// Inference energy in millijoules.
    EnergyMj,
    /// Learnable parameters (count).
    Params,
    /// Floating-point operations per sample (count).
    Flops,
    /// Multiply-accumulates per sample (count).
    Macs,
    /// Bit operations per sample: MACs x weight bits x activation bits.
    BitOps,
    /// Inference memory estimate in megabytes (10^6 bytes).
    MemoryMb,
    /// Wall-clock seconds the evaluation took (training cost).
    EvalSeconds,
    /// Zero-cost proxy: natural log of the SynFlow score at initialisation
    /// (see [`zero_cost`](crate::train::zero_cost)).
    Synflow,
    /// Zero-cost proxy: NASWOT's `ln |det K|` of the ReLU-code kernel at
    /// initialisation.
    Naswot,
    /// Zero-cost proxy: the sum of the weights' gradient norms at initialisation.
    GradNorm,
    /// Silicon area of an accelerator design in mm².
    AreaMm2,
    /// Mean utilisation of the processing elements while they compute, in
    /// percent (MAC-weighted over the layers with MACs).
    PeUtilisation,
}

impl Metric {
    /// Every metric, in declaration order.
    pub const ALL: [Metric; 16] = [
        Metric::Accuracy,
        Metric::Loss,
        Metric::PsnrDb,
        Metric::LatencyMs,
        Metric::EnergyMj,
        Metric::Params,
        Metric::Flops,
        Metric::Macs,
        Metric::BitOps,
        Metric::MemoryMb,
        Metric::EvalSeconds,
        Metric::Synflow,
        Metric::Naswot,
        Metric::GradNorm,
        Metric::AreaMm2,
        Metric::PeUtilisation,
    ];

    /// Whether the value depends on how long the network was trained
    /// (accuracy, loss, PSNR, training time), as opposed to what the network is
    /// (latency, energy, sizes, zero-cost scores at initialisation).
    pub fn depends_on_training(&self) -> bool {
        matches!(self, Metric::Accuracy | Metric::Loss | Metric::PsnrDb | Metric::EvalSeconds)
    }

    /// The config / record name, e.g. `latency_ms`.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::Loss => "loss",
            Metric::PsnrDb => "psnr_db",
            Metric::LatencyMs => "latency_ms",
            Metric::EnergyMj => "energy_mj",
            Metric::Params => "params",
            Metric::Flops => "flops",
            Metric::Macs => "macs",
            Metric::BitOps => "bit_ops",
            Metric::MemoryMb => "memory_mb",
            Metric::EvalSeconds => "eval_seconds",
            Metric::Synflow => "synflow",
            Metric::Naswot => "naswot",
            Metric::GradNorm => "grad_norm",
            Metric::AreaMm2 => "area_mm2",
            Metric::PeUtilisation => "pe_utilisation",
        }
    }

    /// Unit for axis labels.
    pub fn unit(&self) -> &'static str {
        match self {
            Metric::Accuracy => "%",
            Metric::Loss => "nats",
            Metric::PsnrDb => "dB",
            Metric::LatencyMs => "ms",
            Metric::EnergyMj => "mJ",
            Metric::Params | Metric::Flops | Metric::Macs | Metric::BitOps => "count",
            Metric::MemoryMb => "MB",
            Metric::EvalSeconds => "s",
            Metric::Synflow | Metric::Naswot | Metric::GradNorm => "score",
            Metric::AreaMm2 => "mm2",
            Metric::PeUtilisation => "%",
        }
    }

    /// A human label with unit, e.g. `latency (ms)`.
    pub fn label(&self) -> String {
        let base = self.name().trim_end_matches(&format!("_{}", self.unit().to_lowercase())).replace('_', " ");
        format!("{base} ({})", self.unit())
    }

    /// The direction users almost always want.
    pub fn natural_direction(&self) -> Direction {
        match self {
            Metric::Accuracy
            | Metric::PsnrDb
            | Metric::Synflow
            | Metric::Naswot
            | Metric::GradNorm
            | Metric::PeUtilisation => Direction::Maximize,
            _ => Direction::Minimize,
        }
    }

    /// The values this metric can take (see [`Domain`]): accuracy in
    /// `[0, 100]`, latency, energy and memory positive, counts non-negative,
    /// losses and PSNR finite.
    pub fn domain(&self) -> Domain {
        match self {
            Metric::Accuracy | Metric::PeUtilisation => Domain::Percent,
            Metric::LatencyMs | Metric::EnergyMj | Metric::MemoryMb | Metric::AreaMm2 => Domain::Positive,
            Metric::Loss | Metric::Params | Metric::Flops | Metric::Macs | Metric::BitOps | Metric::EvalSeconds => {
                Domain::NonNegative
            }
            Metric::PsnrDb | Metric::Synflow | Metric::Naswot => Domain::Finite,
            Metric::GradNorm => Domain::NonNegative,
        }
    }

    /// Checks `value` against [`Metric::domain`]; the error says the metric,
    /// the value and what is allowed.
    pub fn check(&self, value: f64) -> std::result::Result<(), String> {
        let d = self.domain();
        if d.contains(value) {
            Ok(())
        } else {
            Err(format!("{self} = {value} is outside its domain: {}", d.describe()))
        }
    }

    /// Comma-separated list of all metric names (for error messages).
    pub fn all_names() -> String {
        Metric::ALL.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
    }
}

/// The values a metric can take. Every table, LUT, predictor output and
/// training result is checked against its metric's domain before it reaches a
/// strategy; `NaN` and infinities are outside every domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// A percentage in `[0, 100]`.
    Percent,
    /// A finite number `> 0` (latencies, energies, memory).
    Positive,
    /// A finite number `>= 0` (counts, losses, seconds).
    NonNegative,
    /// Any finite number.
    Finite,
}

impl Domain {
    /// Whether `value` lies in the domain.
    pub fn contains(self, value: f64) -> bool {
        value.is_finite()
            && match self {
                Domain::Percent => (0.0..=100.0).contains(&value),
                Domain::Positive => value > 0.0,
                Domain::NonNegative => value >= 0.0,
                Domain::Finite => true,
            }
    }

    /// What is allowed, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Domain::Percent => "a percentage in [0, 100]",
            Domain::Positive => "a finite number > 0",
            Domain::NonNegative => "a finite number >= 0",
            Domain::Finite => "a finite number",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = NasError;
    fn from_str(s: &str) -> Result<Self> {
        Metric::ALL.iter().copied().find(|m| m.name() == s.trim()).ok_or_else(|| NasError::UnknownName {
            what: "metric",
            value: s.to_string(),
            allowed: Metric::all_names(),
        })
    }
}

/// Metric values of one architecture.
pub type MetricMap = BTreeMap<Metric, f64>;

/// Whether an objective is maximised or minimised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Larger is better.
    Maximize,
    /// Smaller is better.
    Minimize,
}

/// One optimisation objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Objective {
    /// The metric.
    pub metric: Metric,
    /// Maximise or minimise.
    pub direction: Direction,
}

impl Objective {
    /// An objective with the metric's natural direction.
    pub fn natural(metric: Metric) -> Self {
        Objective { metric, direction: metric.natural_direction() }
    }

    /// The value in minimisation form (negated when maximised).
    pub fn to_min(&self, value: f64) -> f64 {
        match self.direction {
            Direction::Maximize => -value,
            Direction::Minimize => value,
        }
    }

    /// Inverse of [`Objective::to_min`].
    pub fn from_min(&self, value: f64) -> f64 {
        self.to_min(value)
    }
}

/// Comparison of a hard constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparison {
    /// `metric <= bound`.
    #[serde(rename = "<=")]
    AtMost,
    /// `metric >= bound`.
    #[serde(rename = ">=")]
    AtLeast,
}

/// A hard constraint such as `latency_ms <= 5`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// Constrained metric.
    pub metric: Metric,
    /// Comparison.
    pub cmp: Comparison,
    /// Bound in the metric's unit.
    pub bound: f64,
}

impl Constraint {
    /// How far `value` is outside the bound (0 when satisfied), relative to the bound
    /// magnitude so that constraints in different units add up fairly.
    pub fn violation(&self, value: f64) -> f64 {
        let scale = self.bound.abs().max(1e-12);
        let v = match self.cmp {
            Comparison::AtMost => value - self.bound,
            Comparison::AtLeast => self.bound - value,
        };
        if v.is_nan() { f64::INFINITY } else { (v / scale).max(0.0) }
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.cmp {
            Comparison::AtMost => "<=",
            Comparison::AtLeast => ">=",
        };
        write!(f, "{} {} {}", self.metric, op, self.bound)
    }
}

impl FromStr for Constraint {
    type Err = NasError;
    /// Parses `"<metric> <= <number>"` or `"<metric> >= <number>"`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || NasError::BadConstraint {
            value: s.to_string(),
            expected: format!(
                "\"<metric> <= <number>\" or \"<metric> >= <number>\" with metric one of: {}",
                Metric::all_names()
            ),
        };
        let (lhs, cmp, rhs) = if let Some((l, r)) = s.split_once("<=") {
            (l, Comparison::AtMost, r)
        } else if let Some((l, r)) = s.split_once(">=") {
            (l, Comparison::AtLeast, r)
        } else {
            return Err(bad());
        };
        let metric: Metric = lhs.trim().parse().map_err(|_| bad())?;
        let bound: f64 = rhs.trim().parse().map_err(|_| bad())?;
        if !bound.is_finite() {
            return Err(bad());
        }
        Ok(Constraint { metric, cmp, bound })
    }
}

/// What a search optimises: objectives plus hard constraints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Objectives (at least one).
    pub objectives: Vec<Objective>,
    /// Hard constraints (may be empty).
    pub constraints: Vec<Constraint>,
}

impl Problem {
    /// A problem from objectives and constraints.
    pub fn new(objectives: Vec<Objective>, constraints: Vec<Constraint>) -> Self {
        Problem { objectives, constraints }
    }

    /// Metrics the problem reads.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut m: Vec<Metric> = self.objectives.iter().map(|o| o.metric).collect();
        for c in &self.constraints {
            if !m.contains(&c.metric) {
                m.push(c.metric);
            }
        }
        m
    }

    /// The objective vector in minimisation form, or `None` if a metric is missing
    /// or not finite.
    pub fn min_vector(&self, metrics: &MetricMap) -> Option<Vec<f64>> {
        self.objectives
            .iter()
            .map(|o| metrics.get(&o.metric).copied().filter(|v| v.is_finite()).map(|v| o.to_min(v)))
            .collect()
    }

    /// Total constraint violation (0 = feasible; infinite when a metric is missing).
    pub fn violation(&self, metrics: &MetricMap) -> f64 {
        self.constraints.iter().map(|c| metrics.get(&c.metric).map_or(f64::INFINITY, |v| c.violation(*v))).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_labels_have_units() {
        for m in Metric::ALL {
            assert_eq!(m.name().parse::<Metric>().expect("parse"), m);
        }
        assert_eq!(Metric::LatencyMs.label(), "latency (ms)");
        assert_eq!(Metric::Accuracy.label(), "accuracy (%)");
        assert!("latency".parse::<Metric>().is_err());
    }

    #[test]
    fn constraints_parse_and_measure_violation() {
        let c: Constraint = " latency_ms <= 5 ".parse().expect("parse");
        assert_eq!(c, Constraint { metric: Metric::LatencyMs, cmp: Comparison::AtMost, bound: 5.0 });
        assert_eq!(c.violation(4.0), 0.0);
        assert!((c.violation(6.0) - 0.2).abs() < 1e-12);
        let a: Constraint = "accuracy >= 90".parse().expect("parse");
        assert!((a.violation(81.0) - 0.1).abs() < 1e-12);
        assert!("latency_ms < 5".parse::<Constraint>().is_err());
        assert!("speed <= 5".parse::<Constraint>().is_err());
        assert!("latency_ms <= fast".parse::<Constraint>().is_err());
    }

    #[test]
    fn problem_vectors_are_in_minimisation_form() {
        let p = Problem::new(
            vec![Objective::natural(Metric::Accuracy), Objective::natural(Metric::LatencyMs)],
            vec!["latency_ms <= 2".parse().expect("parse")],
        );
        let mut m = MetricMap::new();
        m.insert(Metric::Accuracy, 90.0);
        m.insert(Metric::LatencyMs, 3.0);
        assert_eq!(p.min_vector(&m), Some(vec![-90.0, 3.0]));
        assert!((p.violation(&m) - 0.5).abs() < 1e-12);
        m.remove(&Metric::LatencyMs);
        assert_eq!(p.min_vector(&m), None);
        assert!(p.violation(&m).is_infinite());
    }
}
