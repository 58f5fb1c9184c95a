//! Search strategies in ask/tell form.
//!
//! A strategy proposes architectures ([`SearchStrategy::ask`]) and receives their
//! results ([`SearchStrategy::tell`]); the [`Search`](crate::search::Search) driver
//! owns the loop, the parallel evaluation, de-duplication and the records. Because
//! strategies are deterministic functions of their seed and of what they were told,
//! a run is resumed by replaying its recorded trials.
//!
//! Built-in strategies (each with a serde config `XConfig` whose
//! [`validate`](RandomSearchConfig::validate) checks its values, and `init` /
//! `X::new` to build it):
//!
//! | name        | type                     | needs                   |
//! |-------------|--------------------------|-------------------------|
//! | `random`    | [`RandomSearch`]         | [`SearchSpace`]         |
//! | `evolution` | [`RegularizedEvolution`] | [`Mutate`](crate::Mutate) |
//! | `nsga2`     | [`Nsga2`]                | [`Mutate`](crate::Mutate) + [`Crossover`](crate::Crossover) |
//! | `local`     | [`LocalSearch`]          | [`Neighbors`](crate::Neighbors) |
//! | `reinforce`, `marl` | [`rl::PolicyGradient`] | [`Decisions`](crate::Decisions) |
//!
//! All of them are deterministic functions of the driver's random stream and of
//! what they are told (no other randomness, no hash-order dependence), never
//! propose an architecture twice, tolerate batches truncated by the driver,
//! failed trials (ranked worst) and results of architectures they did not ask for.
//!
//! Multi-objective selection is shared: [`rank_and_crowding`] ranks a group by
//! constrained non-domination (Deb et al. 2002; failed trials after every
//! infeasible one) and crowding distance, and [`select_best`] picks the best
//! member of a group (a tournament winner).

use crate::arch::{ArchId, Architecture};
use crate::error::NasError;
use crate::metric::MetricMap;
use crate::pareto::{crowding_distance, non_dominated_sort_constrained};
use crate::space::SearchSpace;
use rand::RngCore;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt::Display;

pub mod evolution;
pub mod local;
pub mod nsga2;
pub mod random;
pub mod rl;

pub use evolution::{RegularizedEvolution, RegularizedEvolutionConfig};
pub use local::{LocalSearch, LocalSearchConfig};
pub use nsga2::{Nsga2, Nsga2Config};
pub use random::{RandomSearch, RandomSearchConfig};

/// One evaluated architecture as strategies see it.
#[derive(Clone, Debug)]
pub struct Evaluated<A: Architecture> {
    /// The architecture.
    pub arch: A,
    /// Its id.
    pub id: ArchId,
    /// Objective vector in minimisation form; `None` when the trial failed.
    pub objectives: Option<Vec<f64>>,
    /// Total constraint violation (0 = feasible, infinite when failed).
    pub violation: f64,
    /// Raw metrics (empty when failed).
    pub metrics: MetricMap,
}

impl<A: Architecture> Evaluated<A> {
    /// Whether the trial produced objectives and meets every constraint.
    pub fn is_feasible(&self) -> bool {
        self.objectives.is_some() && self.violation == 0.0
    }
}

/// An optimiser over a search space, in ask/tell form.
pub trait SearchStrategy<S: SearchSpace>: Send {
    /// Short name (`random`, `evolution`, `nsga2`, `local`, ...).
    fn name(&self) -> &'static str;

    /// Proposes up to `n` architectures to evaluate next. Proposing fewer (or none)
    /// tells the driver the strategy has nothing new (e.g. the space is exhausted).
    fn ask(&mut self, space: &S, n: usize, rng: &mut dyn RngCore) -> Vec<S::Arch>;

    /// Receives the results of the last [`ask`](SearchStrategy::ask), in the order asked.
    fn tell(&mut self, space: &S, results: &[Evaluated<S::Arch>]);

    /// Metrics the strategy measures itself for an architecture it proposed
    /// (EAS trains each child from its parent's weights), or `None` (the
    /// default: the evaluators measure everything). The driver calls it once
    /// per new architecture, on its own thread, before the evaluators, and
    /// never for a trial replayed from the record; the trial's metrics are the
    /// evaluators' with these added. An `Err` is the trial's result.
    fn measure(&mut self, _space: &S, _arch: &S::Arch) -> Option<Result<MetricMap, crate::evaluator::EvalError>> {
        None
    }

    /// Why the strategy cannot go on, when an [`ask`](SearchStrategy::ask)
    /// failed (e.g. a differentiable search that diverged); the driver stops the
    /// run with it. Most strategies cannot fail and keep the default `None`.
    fn failure(&mut self) -> Option<NasError> {
        None
    }
}

/// Where a result stands in a group: its constrained non-domination rank and its
/// crowding distance within its front.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RankCrowding {
    /// Front index, 0 = best. Feasible fronts come first, then infeasible results by
    /// increasing violation, then failed trials (one last front).
    pub rank: usize,
    /// NSGA-II crowding distance within the front (larger = more isolated; infinite
    /// at the front's extremes; 0 for failed trials).
    pub crowding: f64,
}

impl RankCrowding {
    /// Quality order: `Less` when `self` is better, i.e. it has the lower rank or,
    /// at equal rank, the larger crowding distance.
    pub fn quality_cmp(&self, other: &Self) -> Ordering {
        self.rank.cmp(&other.rank).then_with(|| other.crowding.total_cmp(&self.crowding))
    }
}

/// Constrained rank and crowding distance of every member of a group.
///
/// `objectives[i]` is member `i`'s objective vector in minimisation form (`None`
/// for a failed trial) and `violations[i]` its total constraint violation (0 =
/// feasible; NaN is read as infinite, negative values as 0). Members with
/// objectives are sorted with [`non_dominated_sort_constrained`] (Deb's constraint
/// domination); failed members share one front after all others. Crowding
/// distances are computed within each front.
///
/// # Panics
///
/// Panics if the two slices differ in length or the objective vectors differ in
/// dimension (every result of one [`Problem`](crate::Problem) has the same).
pub fn rank_and_crowding(objectives: &[Option<&[f64]>], violations: &[f64]) -> Vec<RankCrowding> {
    assert_eq!(objectives.len(), violations.len(), "one violation per member");
    let ok: Vec<usize> = (0..objectives.len()).filter(|&i| objectives[i].is_some()).collect();
    let points: Vec<&[f64]> = ok.iter().filter_map(|&i| objectives[i]).collect();
    let viol: Vec<f64> = ok
        .iter()
        .map(|&i| {
            let v = violations[i];
            if v.is_nan() { f64::INFINITY } else { v.max(0.0) }
        })
        .collect();
    let fronts = non_dominated_sort_constrained(&points, &viol).expect("lengths match and violations are sanitised");
    let mut out = vec![RankCrowding { rank: fronts.len(), crowding: 0.0 }; objectives.len()];
    for (rank, front) in fronts.iter().enumerate() {
        let crowding = crowding_distance(&points, front);
        for (&k, c) in front.iter().zip(crowding) {
            out[ok[k]] = RankCrowding { rank, crowding: c };
        }
    }
    out
}

/// [`rank_and_crowding`] of a group of evaluated architectures.
pub fn rank_and_crowding_of<A: Architecture>(members: &[&Evaluated<A>]) -> Vec<RankCrowding> {
    let objectives: Vec<Option<&[f64]>> = members.iter().map(|m| m.objectives.as_deref()).collect();
    let violations: Vec<f64> = members.iter().map(|m| m.violation).collect();
    rank_and_crowding(&objectives, &violations)
}

/// Index of the best member of a group: lowest constrained rank, then largest
/// crowding distance, then lowest index (so the choice is deterministic). With one
/// objective and no constraints this is simply the member with the best value;
/// failed trials lose against everything else. `None` for an empty group.
pub fn select_best<A: Architecture>(members: &[&Evaluated<A>]) -> Option<usize> {
    let rc = rank_and_crowding_of(members);
    best_by_quality(&rc)
}

/// Index of the best entry by [`RankCrowding::quality_cmp`], lowest index on ties.
pub(crate) fn best_by_quality(rc: &[RankCrowding]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for i in 0..rc.len() {
        if best.is_none_or(|b| rc[i].quality_cmp(&rc[b]) == Ordering::Less) {
            best = Some(i);
        }
    }
    best
}

/// Draws up to `attempts` samples and returns the first whose id is not in `seen`.
pub(crate) fn sample_novel<S: SearchSpace + ?Sized>(
    space: &S,
    rng: &mut dyn RngCore,
    seen: &BTreeSet<ArchId>,
    attempts: usize,
) -> Option<S::Arch> {
    (0..attempts).map(|_| space.sample(rng)).find(|a| !seen.contains(&a.id()))
}

/// The [`NasError::InvalidValue`] of a config check.
pub(crate) fn invalid(field: &str, value: impl Display, allowed: &str) -> NasError {
    NasError::InvalidValue { field: field.to_string(), value: value.to_string(), allowed: allowed.to_string() }
}

/// Checks `value >= min` for an integer config field.
pub(crate) fn check_at_least(field: &str, value: usize, min: usize) -> crate::Result<()> {
    if value < min { Err(invalid(field, value, &format!("an integer >= {min}"))) } else { Ok(()) }
}

/// Checks that a probability config field lies in `[0, 1]`.
pub(crate) fn check_probability(field: &str, value: f64) -> crate::Result<()> {
    if (0.0..=1.0).contains(&value) { Ok(()) } else { Err(invalid(field, value, "a probability in [0, 1]")) }
}
