//! Rewards of a policy-gradient controller.
//!
//! - `rank` (Pareto): `1 − r / (F − 1)` where `r` is the candidate's
//!   constrained non-domination rank among everything evaluated so far and `F`
//!   the number of fronts (1 on the current front, 0 on the last one).
//! - `hypervolume` (Pareto): the candidate's exclusive hypervolume contribution
//!   to the front of everything evaluated so far, in objectives normalised to
//!   the range seen so far (reference point 1.1 in every normalised objective);
//!   dominated and infeasible candidates get 0.
//! - `mnas` (scalarised, MnasNet, Tan et al. 2019, eq. 2):
//!   `accuracy × (cost / target)^w`, with `w = w_soft` on both sides of the
//!   target (`mode = "soft"`, MnasNet's α = β = −0.07), or `w = 0` at or below
//!   it and `w_hard` above it (`mode = "hard"`, MnasNet's α = 0, β = −1).
//!
//! Pareto rewards change as the archive grows (a candidate on today's front may
//! be dominated tomorrow), so every reward is computed at the time of the
//! update. A failed trial (or a reward that is not finite) gets the worst
//! reward of its batch, never below the kind's floor (0).

use crate::metric::{Comparison, Direction, Metric, MetricMap, Problem};
use crate::pareto::{hypervolume, non_dominated_sort_constrained};
use serde::{Deserialize, Serialize};

/// How a soft or hard latency target shapes the `mnas` reward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitMode {
    /// `w_soft` on both sides of the target.
    #[default]
    Soft,
    /// No penalty at or below the target, `w_hard` above it.
    Hard,
}

/// The reward of a controller (`[strategy.reward]`, `kind = ...`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RewardConfig {
    /// Pareto rank among everything evaluated so far.
    Rank {},
    /// Exclusive hypervolume contribution among everything evaluated so far.
    Hypervolume {},
    /// MnasNet's `accuracy × (cost / target)^w`.
    Mnas {
        /// The accuracy metric (default: the run's first maximised objective).
        #[serde(default)]
        accuracy: Option<Metric>,
        /// The cost metric (default: the metric of the run's first `<=`
        /// constraint, else its second objective).
        #[serde(default)]
        cost: Option<Metric>,
        /// The target (default: that constraint's bound).
        #[serde(default)]
        target: Option<f64>,
        /// Soft or hard target.
        #[serde(default)]
        mode: LimitMode,
        /// Exponent of the soft target (MnasNet: −0.07).
        #[serde(default = "default_w_soft")]
        w_soft: f64,
        /// Exponent above a hard target (MnasNet: −1).
        #[serde(default = "default_w_hard")]
        w_hard: f64,
    },
}

fn default_w_soft() -> f64 {
    -0.07
}

fn default_w_hard() -> f64 {
    -1.0
}

impl Default for RewardConfig {
    fn default() -> Self {
        RewardConfig::Rank {}
    }
}

/// A candidate as the reward sees it.
#[derive(Clone, Debug)]
pub struct Outcome<'a> {
    /// Objectives in minimisation form; `None` for a failed trial.
    pub objectives: Option<&'a [f64]>,
    /// Total constraint violation.
    pub violation: f64,
    /// Raw metrics.
    pub metrics: &'a MetricMap,
}

/// A [`RewardConfig`] resolved against the run's problem.
#[derive(Clone, Debug, PartialEq)]
pub enum Reward {
    /// See [`RewardConfig::Rank`].
    Rank,
    /// See [`RewardConfig::Hypervolume`].
    Hypervolume,
    /// See [`RewardConfig::Mnas`], with every default filled.
    Mnas {
        /// Accuracy metric.
        accuracy: Metric,
        /// Cost metric.
        cost: Metric,
        /// Target cost.
        target: f64,
        /// Soft or hard.
        mode: LimitMode,
        /// Soft exponent.
        w_soft: f64,
        /// Hard exponent.
        w_hard: f64,
    },
}

impl RewardConfig {
    /// Checks the values that do not depend on the run.
    pub fn validate(&self) -> crate::Result<()> {
        if let RewardConfig::Mnas { target, w_soft, w_hard, .. } = self {
            if let Some(t) = target
                && !(t.is_finite() && *t > 0.0)
            {
                return Err(super::super::invalid("reward.target", t, "a positive number"));
            }
            for (field, w) in [("reward.w_soft", w_soft), ("reward.w_hard", w_hard)] {
                if !w.is_finite() {
                    return Err(super::super::invalid(field, w, "a finite number (MnasNet: -0.07 soft, -1 hard)"));
                }
            }
        }
        Ok(())
    }

    /// Resolves the defaults against `problem`; a missing accuracy metric,
    /// cost metric or target is an error naming the field.
    pub fn resolve(&self, problem: &Problem) -> crate::Result<Reward> {
        Ok(match self {
            RewardConfig::Rank {} => Reward::Rank,
            RewardConfig::Hypervolume {} => Reward::Hypervolume,
            RewardConfig::Mnas { accuracy, cost, target, mode, w_soft, w_hard } => {
                let accuracy = match accuracy {
                    Some(m) => *m,
                    None => problem
                        .objectives
                        .iter()
                        .find(|o| o.direction == Direction::Maximize)
                        .map(|o| o.metric)
                        .ok_or_else(|| {
                            super::super::invalid(
                                "strategy.reward.accuracy",
                                "(unset)",
                                "a metric to maximise: the run has no maximised objective to default to",
                            )
                        })?,
                };
                let limit = problem.constraints.iter().find(|c| c.cmp == Comparison::AtMost);
                let cost = match cost {
                    Some(m) => *m,
                    None => limit
                        .map(|c| c.metric)
                        .or_else(|| problem.objectives.get(1).map(|o| o.metric))
                        .ok_or_else(|| {
                            super::super::invalid(
                                "strategy.reward.cost",
                                "(unset)",
                                "a cost metric: the run has no `<=` constraint or second objective to default to",
                            )
                        })?,
                };
                let target = match target {
                    Some(t) => *t,
                    None => limit.filter(|c| c.metric == cost).map(|c| c.bound).ok_or_else(|| {
                        super::super::invalid(
                            "strategy.reward.target",
                            "(unset)",
                            &format!("a positive {} target: the run has no `{} <= ...` constraint", cost, cost),
                        )
                    })?,
                };
                Reward::Mnas { accuracy, cost, target, mode: *mode, w_soft: *w_soft, w_hard: *w_hard }
            }
        })
    }
}

impl Reward {
    /// The reward of every outcome in `archive` (everything evaluated so far,
    /// the current batch included), in order. Failed outcomes and non-finite
    /// rewards are `None`.
    pub fn rewards(&self, archive: &[Outcome<'_>]) -> Vec<Option<f64>> {
        match self {
            Reward::Rank => rank_rewards(archive),
            Reward::Hypervolume => hv_rewards(archive),
            Reward::Mnas { accuracy, cost, target, mode, w_soft, w_hard } => archive
                .iter()
                .map(|o| {
                    o.objectives?;
                    let (a, c) = (*o.metrics.get(accuracy)?, *o.metrics.get(cost)?);
                    let ratio = c / target;
                    let w = match mode {
                        LimitMode::Soft => *w_soft,
                        LimitMode::Hard if ratio <= 1.0 => 0.0,
                        LimitMode::Hard => *w_hard,
                    };
                    let r = a * ratio.powf(w);
                    r.is_finite().then_some(r)
                })
                .collect(),
        }
    }
}

/// Indices of the outcomes with objectives, and those objectives and violations.
fn valid<'a>(archive: &[Outcome<'a>]) -> (Vec<usize>, Vec<&'a [f64]>, Vec<f64>) {
    let idx: Vec<usize> = (0..archive.len()).filter(|&i| archive[i].objectives.is_some()).collect();
    let points = idx.iter().filter_map(|&i| archive[i].objectives).collect();
    let viol = idx
        .iter()
        .map(|&i| {
            let v = archive[i].violation;
            if v.is_nan() { f64::INFINITY } else { v.max(0.0) }
        })
        .collect();
    (idx, points, viol)
}

fn rank_rewards(archive: &[Outcome<'_>]) -> Vec<Option<f64>> {
    let (idx, points, viol) = valid(archive);
    let mut out = vec![None; archive.len()];
    let Ok(fronts) = non_dominated_sort_constrained(&points, &viol) else { return out };
    let last = fronts.len().saturating_sub(1).max(1) as f64;
    for (r, front) in fronts.iter().enumerate() {
        for &k in front {
            out[idx[k]] = Some(if fronts.len() == 1 { 1.0 } else { 1.0 - r as f64 / last });
        }
    }
    out
}

fn hv_rewards(archive: &[Outcome<'_>]) -> Vec<Option<f64>> {
    let (idx, points, viol) = valid(archive);
    let mut out: Vec<Option<f64>> = archive.iter().map(|o| o.objectives.map(|_| 0.0)).collect();
    let feasible: Vec<usize> = (0..points.len()).filter(|&k| viol[k] == 0.0).collect();
    if feasible.is_empty() {
        return out;
    }
    let dim = points[feasible[0]].len();
    let lo: Vec<f64> = (0..dim).map(|d| feasible.iter().map(|&k| points[k][d]).fold(f64::INFINITY, f64::min)).collect();
    let hi: Vec<f64> =
        (0..dim).map(|d| feasible.iter().map(|&k| points[k][d]).fold(f64::NEG_INFINITY, f64::max)).collect();
    let norm = |p: &[f64]| -> Vec<f64> {
        (0..dim).map(|d| if hi[d] > lo[d] { (p[d] - lo[d]) / (hi[d] - lo[d]) } else { 0.0 }).collect()
    };
    let normed: Vec<Vec<f64>> = feasible.iter().map(|&k| norm(points[k])).collect();
    let front = crate::pareto::pareto_front_indices(&normed);
    let reference = vec![1.1; dim];
    let front_points: Vec<&Vec<f64>> = front.iter().map(|&f| &normed[f]).collect();
    let Ok(total) = hypervolume(&front_points, &reference) else { return out };
    for (j, &f) in front.iter().enumerate() {
        let others: Vec<&Vec<f64>> =
            front_points.iter().enumerate().filter(|(i, _)| *i != j).map(|(_, p)| *p).collect();
        let without = hypervolume(&others, &reference).unwrap_or(total);
        // Duplicated points contribute nothing exclusively; that is the definition.
        out[idx[feasible[f]]] = Some((total - without).max(0.0));
    }
    out
}

/// The batch's rewards with failures replaced: a missing reward becomes the
/// lowest reward of the batch, at most `0` (the floor of every kind). Returns
/// the rewards and how many were replaced.
pub fn fill_failures(rewards: &[Option<f64>]) -> (Vec<f64>, usize) {
    let worst = rewards.iter().flatten().copied().fold(0.0, f64::min);
    let failed = rewards.iter().filter(|r| r.is_none()).count();
    (rewards.iter().map(|r| r.unwrap_or(worst)).collect(), failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{Constraint, Objective};

    fn outcome<'a>(obj: Option<&'a [f64]>, violation: f64, metrics: &'a MetricMap) -> Outcome<'a> {
        Outcome { objectives: obj, violation, metrics }
    }

    #[test]
    fn rank_reward_is_one_on_the_front_and_zero_on_the_last_front() {
        let m = MetricMap::new();
        let pts: [&[f64]; 4] = [&[0.0, 1.0], &[1.0, 0.0], &[1.0, 1.0], &[2.0, 2.0]];
        let mut archive: Vec<Outcome<'_>> = pts.iter().map(|p| outcome(Some(p), 0.0, &m)).collect();
        archive.push(outcome(None, f64::INFINITY, &m));
        let r = Reward::Rank.rewards(&archive);
        assert_eq!(r, vec![Some(1.0), Some(1.0), Some(0.5), Some(0.0), None]);
        // An infeasible point ranks after every feasible one.
        let archive = vec![outcome(Some(pts[0]), 0.5, &m), outcome(Some(pts[3]), 0.0, &m)];
        assert_eq!(Reward::Rank.rewards(&archive), vec![Some(0.0), Some(1.0)]);
    }

    #[test]
    fn hypervolume_reward_is_the_exclusive_contribution_by_hand() {
        let m = MetricMap::new();
        // Normalised to [0,1]^2 (lo = (0,0), hi = (2,2)), reference 1.1:
        // front (0,1)->(0,0.5), (1,0)->(0.5,0), (0.5,0.5)->(0.25,0.25); (2,2) dominated.
        let pts: [&[f64]; 4] = [&[0.0, 1.0], &[1.0, 0.0], &[0.5, 0.5], &[2.0, 2.0]];
        let archive: Vec<Outcome<'_>> = pts.iter().map(|p| outcome(Some(p), 0.0, &m)).collect();
        let r = Reward::Hypervolume.rewards(&archive);
        // (0,0.5) exclusive: x in [0,0.25), y in [0.5,1.1) = 0.25 * 0.6 = 0.15.
        // (0.25,0.25) exclusive: [0.25,0.5) x [0.25,0.5) = 0.0625.
        let want = [0.15, 0.15, 0.0625, 0.0];
        for (g, w) in r.iter().zip(want) {
            assert!((g.expect("valid") - w).abs() < 1e-12, "{r:?}");
        }
    }

    #[test]
    fn mnas_reward_follows_the_paper_and_defaults_from_the_problem() {
        let problem = Problem::new(
            vec![Objective::natural(Metric::Accuracy), Objective::natural(Metric::LatencyMs)],
            vec![Constraint { metric: Metric::LatencyMs, cmp: Comparison::AtMost, bound: 4.0 }],
        );
        let soft = RewardConfig::Mnas {
            accuracy: None,
            cost: None,
            target: None,
            mode: LimitMode::Soft,
            w_soft: -0.07,
            w_hard: -1.0,
        };
        let r = soft.resolve(&problem).expect("resolves");
        assert!(matches!(r, Reward::Mnas { cost: Metric::LatencyMs, target: 4.0, .. }));
        let m: MetricMap = [(Metric::Accuracy, 90.0), (Metric::LatencyMs, 8.0)].into_iter().collect();
        let o: &[f64] = &[-90.0, 8.0];
        let got = r.rewards(&[outcome(Some(o), 1.0, &m)])[0].expect("valid");
        assert!((got - 90.0 * 2f64.powf(-0.07)).abs() < 1e-12);
        let hard = RewardConfig::Mnas {
            accuracy: None,
            cost: None,
            target: None,
            mode: LimitMode::Hard,
            w_soft: -0.07,
            w_hard: -1.0,
        }
        .resolve(&problem)
        .expect("ok");
        assert!((hard.rewards(&[outcome(Some(o), 1.0, &m)])[0].expect("valid") - 45.0).abs() < 1e-12);
        let fast: MetricMap = [(Metric::Accuracy, 80.0), (Metric::LatencyMs, 2.0)].into_iter().collect();
        assert_eq!(hard.rewards(&[outcome(Some(o), 0.0, &fast)])[0], Some(80.0));
        // No constraint and no target: refused, naming the field.
        let unconstrained = Problem::new(problem.objectives.clone(), vec![]);
        let err = soft.resolve(&unconstrained).expect_err("no target").to_string();
        assert!(err.contains("strategy.reward.target"), "{err}");
    }

    #[test]
    fn failures_get_the_worst_reward_of_the_batch() {
        assert_eq!(fill_failures(&[Some(0.5), None, Some(0.2)]), (vec![0.5, 0.0, 0.2], 1));
        assert_eq!(fill_failures(&[Some(-1.0), None]), (vec![-1.0, -1.0], 1));
    }
}
