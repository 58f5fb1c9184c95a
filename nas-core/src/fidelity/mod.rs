//! Multi-fidelity search: evaluating candidates at a training budget (epochs)
//! and promoting the promising ones to larger budgets.
//!
//! Most candidates are visibly bad after a fraction of their training. A
//! *scheduler* evaluates new candidates at a small budget (the lowest *rung*)
//! and promotes the best `1 / eta` of each rung to the next, so that full
//! training is spent on few candidates:
//!
//! - **successive halving** (Jamieson & Talwalkar 2016): synchronous brackets;
//!   `n` candidates at the lowest rung, the best `n / eta` of them at the next
//!   rung once all `n` are done, and so on to the top;
//! - **Hyperband** (Li et al. 2018): successive-halving brackets that start at
//!   every rung in turn (the bracket starting at rung `j` of `K + 1` has
//!   `ceil((K + 1) / (K + 1 - j) * eta^(K - j))` candidates, times
//!   `bracket_scale`), hedging against a low rung that ranks badly;
//! - **ASHA** (Li et al. 2020, asynchronous successive halving): no brackets;
//!   whenever a slot is free, the best not-yet-promoted candidate in the top
//!   `1 / eta` of the highest possible rung is promoted, else a new candidate
//!   starts at the lowest rung.
//!
//! Promotion ranks the results of a rung by constrained non-dominated sorting
//! then crowding distance ([`rank_and_crowding`](crate::strategy::rank_and_crowding)),
//! so fast-but-less-accurate candidates survive next to accurate ones, or by one
//! objective when the config names it. New candidates come from any proposal
//! strategy (random, evolution, NSGA-II, the guided ones), which is told each
//! candidate's first result.
//!
//! The budget of such a run counts epochs: a query at rung `r` costs `r` epochs
//! (an evaluator that cannot continue a trained candidate trains it again from
//! scratch at the next rung). Every evaluation is one record in the trial log,
//! whose `extra.fidelity` holds its rung, its cost, the run's epochs spent so far
//! and the candidate's learning curve (its metrics at every rung it reached); the
//! final metrics of a candidate are those of its highest rung ([`final_trials`]).

use crate::arch::ArchId;
use crate::error::NasError;
use crate::metric::{Metric, MetricMap, Problem};
use crate::trial::Trial;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub mod driver;
pub mod scheduler;
pub mod table;

pub use driver::FidelitySearch;
pub use scheduler::{Job, Scheduler};
pub use table::MultiFidelityTable;

/// How an evaluator's results depend on the training budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FidelitySupport {
    /// The results do not depend on training (latency, cost models).
    Independent,
    /// The results are of one fixed budget (a table without epochs, a
    /// predictor of final accuracy): unusable with a scheduler.
    Fixed,
    /// Results exist at these epochs only (benchmark tables of several
    /// training schedules).
    Discrete(Vec<u32>),
    /// The evaluator trains, for any number of epochs up to `max_epochs`.
    Trainable {
        /// The most epochs it trains.
        max_epochs: u32,
        /// Whether it continues a candidate from its checkpoint at a lower rung
        /// (else a promotion trains from scratch).
        continues: bool,
    },
}

impl FidelitySupport {
    /// The support of several evaluators whose metrics are merged: independent
    /// parts do not constrain; fixed wins; discrete sets intersect.
    pub fn combine(parts: &[FidelitySupport]) -> FidelitySupport {
        let mut out = FidelitySupport::Independent;
        for p in parts {
            out = match (out, p) {
                (a, FidelitySupport::Independent) => a,
                (FidelitySupport::Independent, b) => b.clone(),
                (FidelitySupport::Fixed, _) | (_, FidelitySupport::Fixed) => FidelitySupport::Fixed,
                (FidelitySupport::Discrete(a), FidelitySupport::Discrete(b)) => {
                    FidelitySupport::Discrete(a.into_iter().filter(|e| b.contains(e)).collect())
                }
                (FidelitySupport::Discrete(a), FidelitySupport::Trainable { max_epochs, .. }) => {
                    FidelitySupport::Discrete(a.into_iter().filter(|e| *e <= *max_epochs).collect())
                }
                (FidelitySupport::Trainable { max_epochs, .. }, FidelitySupport::Discrete(a)) => {
                    FidelitySupport::Discrete(a.iter().copied().filter(|e| *e <= max_epochs).collect())
                }
                (
                    FidelitySupport::Trainable { max_epochs: a, continues: ca },
                    FidelitySupport::Trainable { max_epochs: b, continues: cb },
                ) => FidelitySupport::Trainable { max_epochs: a.min(*b), continues: ca && *cb },
            };
        }
        out
    }

    /// Whether a result at `epochs` exists.
    pub fn allows(&self, epochs: u32) -> bool {
        match self {
            FidelitySupport::Independent => true,
            FidelitySupport::Fixed => false,
            FidelitySupport::Discrete(set) => set.contains(&epochs),
            FidelitySupport::Trainable { max_epochs, .. } => epochs >= 1 && epochs <= *max_epochs,
        }
    }

    /// What is allowed, for error messages.
    pub fn describe(&self) -> String {
        match self {
            FidelitySupport::Independent => "any budget (the results do not depend on training)".into(),
            FidelitySupport::Fixed => "none: the evaluators give results of one fixed budget".into(),
            FidelitySupport::Discrete(set) => format!(
                "the budgets its tables hold: {}",
                set.iter().map(|e| format!("{e} epochs")).collect::<Vec<_>>().join(", ")
            ),
            FidelitySupport::Trainable { max_epochs, .. } => format!("1 to {max_epochs} epochs of training"),
        }
    }
}

/// The scheduler families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchedulerKind {
    /// Synchronous successive halving.
    SuccessiveHalving,
    /// Hyperband: successive-halving brackets starting at every rung.
    Hyperband,
    /// Asynchronous successive halving.
    Asha,
}

impl SchedulerKind {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            SchedulerKind::SuccessiveHalving => "successive_halving",
            SchedulerKind::Hyperband => "hyperband",
            SchedulerKind::Asha => "asha",
        }
    }
}

fn default_eta() -> f64 {
    3.0
}

fn default_scale() -> usize {
    1
}

fn default_promotion() -> String {
    "pareto".into()
}

/// The `[scheduler]` section of a config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    /// `successive_halving`, `hyperband` or `asha`.
    pub kind: SchedulerKind,
    /// Reduction factor: the best `1 / eta` of a rung are promoted (default 3).
    #[serde(default = "default_eta")]
    pub eta: f64,
    /// Epochs of the lowest rung (with `max_epochs`: rungs `min * eta^k`).
    #[serde(default)]
    pub min_epochs: Option<u32>,
    /// Epochs of the highest rung.
    #[serde(default)]
    pub max_epochs: Option<u32>,
    /// The rungs, in epochs, increasing (instead of `min_epochs`/`max_epochs`;
    /// e.g. `[12, 200]` for the NAS-Bench-201 tables).
    #[serde(default)]
    pub rungs: Option<Vec<u32>>,
    /// Multiplies the number of candidates of each bracket (successive halving,
    /// Hyperband; default 1).
    #[serde(default = "default_scale")]
    pub bracket_scale: usize,
    /// How a rung is ranked for promotion: `pareto` (non-dominated sorting then
    /// crowding, default) or the metric of one objective (e.g. `accuracy`).
    #[serde(default = "default_promotion")]
    pub promotion: String,
    /// A zero-cost proxy (`synflow`, `naswot`, `grad_norm`; from a `zero_cost`
    /// evaluator) scored before any training: adds a zero-epoch rung below the
    /// others, where the proxy stands in for the objectives that depend on
    /// training (asha and successive_halving, whose candidates all start there).
    #[serde(default)]
    pub zero_cost: Option<Metric>,
}

fn invalid(field: &str, value: impl ToString, allowed: impl Into<String>) -> NasError {
    NasError::InvalidValue { field: format!("scheduler.{field}"), value: value.to_string(), allowed: allowed.into() }
}

impl SchedulerConfig {
    /// The rungs in epochs, checked: `rungs` as given, or `min_epochs * eta^k`
    /// up to `max_epochs`, which must be reached exactly.
    pub fn rungs(&self) -> Result<Vec<u32>, NasError> {
        if !(self.eta.is_finite() && self.eta > 1.0) {
            return Err(invalid("eta", self.eta, "a reduction factor > 1 (typically 2, 3 or 4)"));
        }
        if let Some(r) = &self.rungs {
            if self.min_epochs.is_some() || self.max_epochs.is_some() {
                return Err(invalid(
                    "rungs",
                    format!("{r:?}"),
                    "either `rungs` or `min_epochs`/`max_epochs`, not both",
                ));
            }
            if r.len() < 2 || r[0] == 0 || r.windows(2).any(|w| w[0] >= w[1]) {
                return Err(invalid(
                    "rungs",
                    format!("{r:?}"),
                    "at least two increasing epoch counts >= 1 (a zero-epoch rung comes from `zero_cost = \"naswot\"`)",
                ));
            }
            return Ok(self.with_zero_rung(r.clone()));
        }
        let (Some(min), Some(max)) = (self.min_epochs, self.max_epochs) else {
            return Err(invalid("rungs", "(missing)", "`rungs = [..]` or both `min_epochs` and `max_epochs`"));
        };
        if min == 0 {
            return Err(invalid("min_epochs", 0, "at least 1"));
        }
        if min >= max {
            return Err(invalid("min_epochs", min, format!("less than max_epochs = {max}")));
        }
        let mut out = vec![min];
        let mut e = f64::from(min);
        while (*out.last().unwrap_or(&min)) < max {
            e *= self.eta;
            let next = e.round() as u32;
            if next > max || out.len() > 32 {
                break;
            }
            out.push(next);
        }
        if out.last() != Some(&max) {
            let mut shown = out.clone();
            shown.push((e.round()) as u32);
            return Err(invalid(
                "max_epochs",
                max,
                format!(
                    "min_epochs x eta^k for some k (here {}); or list the rungs with `rungs = [..]`",
                    shown.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        Ok(self.with_zero_rung(out))
    }

    fn with_zero_rung(&self, rungs: Vec<u32>) -> Vec<u32> {
        match self.zero_cost {
            Some(_) => std::iter::once(0).chain(rungs).collect(),
            None => rungs,
        }
    }

    /// The problem a zero-epoch rung is ranked by: every objective that depends
    /// on training (accuracy, loss...) replaced by the zero-cost proxy
    /// (maximised; in place, so objective indices keep their meaning), and the
    /// constraints on such metrics left out. `problem` itself without
    /// `zero_cost`.
    pub fn zero_rung_problem(&self, problem: &Problem) -> Problem {
        let Some(proxy) = self.zero_cost else { return problem.clone() };
        let objectives = problem
            .objectives
            .iter()
            .map(|o| {
                if o.metric.depends_on_training() {
                    crate::metric::Objective { metric: proxy, direction: crate::metric::Direction::Maximize }
                } else {
                    *o
                }
            })
            .collect();
        let constraints = problem.constraints.iter().filter(|c| !c.metric.depends_on_training()).cloned().collect();
        Problem::new(objectives, constraints)
    }

    /// Checks every setting (and that the promotion metric is an objective of
    /// `problem`).
    pub fn validate(&self, problem: &Problem) -> Result<(), NasError> {
        self.rungs()?;
        if self.bracket_scale == 0 || self.bracket_scale > 1000 {
            return Err(invalid("bracket_scale", self.bracket_scale, "an integer from 1 to 1000"));
        }
        if let Some(m) = self.zero_cost {
            if crate::train::zero_cost::Proxy::of_metric(m).is_none() {
                return Err(invalid("zero_cost", m, crate::train::zero_cost::Proxy::names()));
            }
            if self.kind == SchedulerKind::Hyperband {
                return Err(invalid(
                    "zero_cost",
                    m,
                    "no zero-cost rung with hyperband (its brackets start at trained rungs, whose results the \
                     proposal strategy could not compare with proxy scores); use asha or successive_halving",
                ));
            }
            if !problem.objectives.iter().any(|o| o.metric.depends_on_training()) {
                return Err(invalid(
                    "zero_cost",
                    m,
                    "a proxy for an objective that depends on training (accuracy, loss, psnr_db); no objective does",
                ));
            }
        }
        self.promotion(problem).map(|_| ())
    }

    /// The promotion rule: `None` = Pareto ranking, `Some(i)` = objective `i`.
    pub fn promotion(&self, problem: &Problem) -> Result<Option<usize>, NasError> {
        if self.promotion == "pareto" {
            return Ok(None);
        }
        let names: Vec<&str> = problem.objectives.iter().map(|o| o.metric.name()).collect();
        names.iter().position(|n| *n == self.promotion).map(Some).ok_or_else(|| {
            invalid("promotion", &self.promotion, format!("pareto or an objective's metric: {}", names.join(", ")))
        })
    }

    /// Checks that the evaluators can give results at every rung.
    pub fn check_support(&self, support: &FidelitySupport, evaluators: &str) -> Result<(), NasError> {
        let rungs = self.rungs()?;
        // The zero-epoch rung is scored by the zero-cost evaluator alone.
        if let Some(bad) = rungs.iter().filter(|r| **r > 0 || self.zero_cost.is_none()).find(|r| !support.allows(**r)) {
            let field = if self.rungs.is_some() { "rungs" } else { "max_epochs" };
            return Err(invalid(
                field,
                bad,
                format!("a budget the evaluators ({evaluators}) can give results at: {}", support.describe()),
            ));
        }
        if support == &FidelitySupport::Independent {
            return Err(invalid(
                "kind",
                self.kind.name(),
                format!(
                    "no scheduler: none of the evaluators ({evaluators}) trains or reads a table of several training \
                     budgets, so every rung would give the same result"
                ),
            ));
        }
        Ok(())
    }
}

/// One point of a candidate's learning curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Epochs of training.
    pub epochs: u32,
    /// The metrics at that budget.
    pub metrics: MetricMap,
}

/// The `extra.fidelity` field of a multi-fidelity trial record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FidelityRecord {
    /// Epochs of this evaluation.
    pub epochs: u32,
    /// Its rung (0 = lowest).
    pub rung: usize,
    /// Epochs this evaluation cost.
    pub cost_epochs: u32,
    /// Epochs the run had spent once this evaluation finished.
    pub spent_epochs: u64,
    /// The candidate's metrics at every rung it reached so far, this one last.
    pub curve: Vec<CurvePoint>,
}

/// The key of the field in [`Trial::extra`].
pub const EXTRA_KEY: &str = "fidelity";

impl FidelityRecord {
    /// The record of `trial`, if it was evaluated by a scheduler.
    pub fn of(trial: &Trial) -> Option<FidelityRecord> {
        trial.extra.get(EXTRA_KEY).and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Stores the record in `trial`.
    pub fn store(&self, trial: &mut Trial) {
        if let Ok(v) = serde_json::to_value(self) {
            trial.extra.insert(EXTRA_KEY.into(), v);
        }
    }
}

/// The epochs of a trial (`None` for a trial of a run without a scheduler).
pub fn trial_epochs(trial: &Trial) -> Option<u32> {
    trial.extra.get(EXTRA_KEY).and_then(|v| v.get("epochs")).and_then(|e| e.as_u64()).map(|e| e as u32)
}

/// The run's epochs spent once `trial` finished (`None` without a scheduler).
pub fn spent_epochs(trial: &Trial) -> Option<u64> {
    trial.extra.get(EXTRA_KEY).and_then(|v| v.get("spent_epochs")).and_then(|e| e.as_u64())
}

/// Whether each record is its candidate's latest (highest-budget) one. A run
/// without a scheduler has one record per candidate: all `true`.
pub fn latest_mask(trials: &[Trial]) -> Vec<bool> {
    let mut last: HashMap<ArchId, usize> = HashMap::new();
    for (i, t) in trials.iter().enumerate() {
        last.insert(t.arch_id, i);
    }
    (0..trials.len()).map(|i| last.get(&trials[i].arch_id) == Some(&i)).collect()
}

/// Each candidate's final record (its highest rung), in order of those records.
pub fn final_trials(trials: &[Trial]) -> Vec<Trial> {
    trials.iter().zip(latest_mask(trials)).filter(|(_, keep)| *keep).map(|(t, _)| t.clone()).collect()
}

/// Metrics read for a curve point (the problem's).
pub fn curve_metrics(problem: &Problem, metrics: &MetricMap) -> MetricMap {
    let wanted: Vec<Metric> = problem.metrics();
    metrics.iter().filter(|(m, _)| wanted.contains(*m)).map(|(m, v)| (*m, *v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{Direction, Objective};

    fn cfg(toml_like: serde_json::Value) -> SchedulerConfig {
        serde_json::from_value(toml_like).expect("parses")
    }

    fn problem() -> Problem {
        Problem::new(
            vec![
                Objective { metric: Metric::Accuracy, direction: Direction::Maximize },
                Objective { metric: Metric::LatencyMs, direction: Direction::Minimize },
            ],
            vec![],
        )
    }

    #[test]
    fn rungs_come_from_min_eta_max_or_are_listed() {
        let c = cfg(serde_json::json!({"kind": "asha", "min_epochs": 1, "max_epochs": 27}));
        assert_eq!(c.rungs().expect("ok"), vec![1, 3, 9, 27]);
        let c = cfg(serde_json::json!({"kind": "hyperband", "eta": 2, "min_epochs": 2, "max_epochs": 16}));
        assert_eq!(c.rungs().expect("ok"), vec![2, 4, 8, 16]);
        let c = cfg(serde_json::json!({"kind": "asha", "rungs": [12, 200]}));
        assert_eq!(c.rungs().expect("ok"), vec![12, 200]);
    }

    #[test]
    fn bad_settings_are_refused_naming_the_field() {
        let err = |v: serde_json::Value| cfg(v).validate(&problem()).expect_err("refused").to_string();
        let e = err(serde_json::json!({"kind": "asha", "min_epochs": 1, "max_epochs": 20}));
        assert!(e.contains("scheduler.max_epochs") && e.contains("1, 3, 9, 27"), "{e}");
        let e = err(serde_json::json!({"kind": "asha", "min_epochs": 9, "max_epochs": 3}));
        assert!(e.contains("scheduler.min_epochs") && e.contains("less than max_epochs"), "{e}");
        let e = err(serde_json::json!({"kind": "asha", "eta": 1, "min_epochs": 1, "max_epochs": 3}));
        assert!(e.contains("scheduler.eta") && e.contains("> 1"), "{e}");
        let e = err(serde_json::json!({"kind": "asha", "rungs": [200, 12]}));
        assert!(e.contains("scheduler.rungs"), "{e}");
        let e = err(serde_json::json!({"kind": "asha", "rungs": [12, 200], "promotion": "params"}));
        assert!(e.contains("scheduler.promotion") && e.contains("accuracy, latency_ms"), "{e}");
        let c = cfg(serde_json::json!({"kind": "asha", "rungs": [12, 200]}));
        let e = c.check_support(&FidelitySupport::Discrete(vec![12, 200]), "table").map(|_| ());
        assert!(e.is_ok());
        let e = c.check_support(&FidelitySupport::Discrete(vec![200]), "table").expect_err("no 12").to_string();
        assert!(e.contains("scheduler.rungs") && e.contains("12") && e.contains("200 epochs"), "{e}");
        let e = c.check_support(&FidelitySupport::Fixed, "predictor").expect_err("fixed").to_string();
        assert!(e.contains("one fixed budget"), "{e}");
    }

    #[test]
    fn supports_combine_as_merged_metrics_do() {
        use FidelitySupport::*;
        assert_eq!(FidelitySupport::combine(&[Independent, Discrete(vec![12, 200])]), Discrete(vec![12, 200]));
        assert_eq!(FidelitySupport::combine(&[Discrete(vec![12, 200]), Discrete(vec![200])]), Discrete(vec![200]));
        assert_eq!(FidelitySupport::combine(&[Independent, Fixed]), Fixed);
        assert_eq!(
            FidelitySupport::combine(&[
                Trainable { max_epochs: 9, continues: true },
                Trainable { max_epochs: 3, continues: false }
            ]),
            Trainable { max_epochs: 3, continues: false }
        );
        assert_eq!(FidelitySupport::combine(&[Independent, Independent]), Independent);
    }
}
