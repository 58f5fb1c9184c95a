//! Regularized (aging) evolution, after Real, Aggarwal, Huang and Le,
//! *Regularized evolution for image classifier architecture search*, AAAI 2019.
//!
//! The population is a queue of `P` evaluated architectures. The first `P`
//! proposals are uniform random samples; afterwards each child is a mutation of
//! the winner of a tournament among `S` members drawn uniformly (without
//! replacement) from the population, and every evaluated child joins the
//! population while the **oldest** member dies.
//!
//! Generalisations (documented choices):
//! - **Multi-objective tournament**: the winner is the sample member with the
//!   lowest constrained non-domination rank *within the sample* (Deb's constraint
//!   domination: feasible before infeasible, less violation first), then the
//!   largest crowding distance within the sample, then the lowest population index
//!   (the oldest), see [`select_best`]. With one objective and
//!   no constraints this is exactly the classic "best fitness" winner. Failed
//!   trials lose against everything.
//! - **Batched / asynchronous**: `ask(n)` draws `n` children from the *current*
//!   population (n independent tournaments); they join the population, in the
//!   order told, when their results come back. With `n = 1` this is the original
//!   sequential algorithm.
//! - **No repeats**: since the budget counts distinct architectures, a child whose
//!   id was already proposed is re-drawn by mutating the same parent again, up to
//!   [`max_retries`](RegularizedEvolutionConfig::max_retries) times, then replaced
//!   by a random architecture not proposed before. Results of architectures the
//!   strategy did not ask for are remembered (never proposed) but do not join the
//!   population.

use super::{Evaluated, SearchStrategy, check_at_least, invalid, sample_novel, select_best};
use crate::arch::{ArchId, Architecture};
use crate::space::Mutate;
use rand::RngCore;
use rand::seq::index;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};

/// Settings of [`RegularizedEvolution`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegularizedEvolutionConfig {
    /// Population size `P` (default 50, as in Real et al. and the NAS-Bench-201 baseline).
    pub population_size: usize,
    /// Tournament sample size `S`, `1 <= S <= P` (default 10).
    pub sample_size: usize,
    /// Mutations of the parent tried to find a child not proposed before, and
    /// random draws tried after that (default 50).
    pub max_retries: usize,
}

impl Default for RegularizedEvolutionConfig {
    fn default() -> Self {
        RegularizedEvolutionConfig { population_size: 50, sample_size: 10, max_retries: 50 }
    }
}

impl RegularizedEvolutionConfig {
    /// Checks the values.
    pub fn validate(&self) -> crate::Result<()> {
        check_at_least("population_size", self.population_size, 1)?;
        if self.sample_size == 0 || self.sample_size > self.population_size {
            return Err(invalid(
                "sample_size",
                self.sample_size,
                &format!("an integer in 1..={} (the population size)", self.population_size),
            ));
        }
        check_at_least("max_retries", self.max_retries, 1)
    }

    /// Builds the strategy (see [`RegularizedEvolution::new`]).
    pub fn init<A: Architecture>(self) -> RegularizedEvolution<A> {
        RegularizedEvolution::new(self)
    }
}

/// Regularized (aging) evolution; see the module docs.
#[derive(Debug)]
pub struct RegularizedEvolution<A: Architecture> {
    config: RegularizedEvolutionConfig,
    /// Oldest first.
    population: VecDeque<Evaluated<A>>,
    /// Ids proposed or told so far.
    seen: BTreeSet<ArchId>,
    /// Ids of the last ask, not told yet.
    pending: BTreeSet<ArchId>,
}

impl<A: Architecture> RegularizedEvolution<A> {
    /// Regularized evolution with `config`. Values are not validated here (call
    /// [`RegularizedEvolutionConfig::validate`]); out-of-range values are clamped
    /// to the nearest valid one.
    pub fn new(config: RegularizedEvolutionConfig) -> Self {
        RegularizedEvolution { config, population: VecDeque::new(), seen: BTreeSet::new(), pending: BTreeSet::new() }
    }

    /// The configuration.
    pub fn config(&self) -> &RegularizedEvolutionConfig {
        &self.config
    }

    /// The current population, oldest first.
    pub fn population(&self) -> impl ExactSizeIterator<Item = &Evaluated<A>> {
        self.population.iter()
    }

    fn population_size(&self) -> usize {
        self.config.population_size.max(1)
    }

    fn retries(&self) -> usize {
        self.config.max_retries.max(1)
    }

    /// Tournament winner among `S` members drawn without replacement.
    fn tournament(&self, rng: &mut dyn RngCore) -> &Evaluated<A> {
        let len = self.population.len();
        let k = self.config.sample_size.clamp(1, len);
        let mut picks = index::sample(rng, len, k).into_vec();
        picks.sort_unstable();
        let sample: Vec<&Evaluated<A>> = picks.iter().map(|&i| &self.population[i]).collect();
        let best = select_best(&sample).expect("the sample is not empty");
        sample[best]
    }

    fn child<S: Mutate<Arch = A>>(&self, space: &S, rng: &mut dyn RngCore) -> Option<A> {
        let parent = self.tournament(rng).arch.clone();
        (0..self.retries())
            .map(|_| space.mutate(&parent, rng))
            .find(|c| !self.seen.contains(&c.id()))
            .or_else(|| sample_novel(space, rng, &self.seen, self.retries()))
    }
}

impl<A: Architecture> Default for RegularizedEvolution<A> {
    fn default() -> Self {
        Self::new(RegularizedEvolutionConfig::default())
    }
}

impl<A: Architecture, S: Mutate<Arch = A>> SearchStrategy<S> for RegularizedEvolution<A> {
    fn name(&self) -> &'static str {
        "evolution"
    }

    fn ask(&mut self, space: &S, n: usize, rng: &mut dyn RngCore) -> Vec<A> {
        let warmup = self.population.len() < self.population_size();
        let n = if warmup { n.min(self.population_size() - self.population.len()) } else { n };
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let next = if warmup {
                sample_novel(space, rng, &self.seen, self.retries().max(100))
            } else {
                self.child(space, rng)
            };
            let Some(a) = next else { break };
            let id = a.id();
            self.seen.insert(id);
            self.pending.insert(id);
            out.push(a);
        }
        out
    }

    fn tell(&mut self, _space: &S, results: &[Evaluated<A>]) {
        let p = self.population_size();
        for r in results {
            self.seen.insert(r.id);
            if self.pending.remove(&r.id) {
                self.population.push_back(r.clone());
                while self.population.len() > p {
                    self.population.pop_front();
                }
            }
        }
        self.pending.clear();
    }
}

impl crate::registry::StrategySettings for RegularizedEvolutionConfig {
    const NAME: &'static str = "evolution";
    const DESCRIPTION: &'static str = "regularized (aging) evolution, Real et al. 2019";
    fn validate(&self) -> crate::Result<()> {
        RegularizedEvolutionConfig::validate(self)
    }
    fn needs(&self) -> Vec<crate::Capability> {
        use crate::Capability;
        vec![Capability::Mutate]
    }
    fn build(
        &self,
        _ctx: &crate::registry::StrategyContext<'_>,
    ) -> crate::Result<Box<dyn SearchStrategy<crate::DynSpace>>> {
        Ok(Box::new(self.clone().init::<crate::AnyArch>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{Metric, Objective, Problem};
    use crate::space::SearchSpace;
    use crate::strategy::RandomSearch;
    use crate::testing::*;
    use rand::SeedableRng;

    fn strategy() -> RegularizedEvolution<ToyArch> {
        RegularizedEvolutionConfig::default().init()
    }

    fn small() -> RegularizedEvolution<ToyArch> {
        RegularizedEvolutionConfig { population_size: 20, sample_size: 5, ..Default::default() }.init()
    }

    #[test]
    fn common_contract() {
        check_contract(strategy, 120);
        check_contract(small, 60);
    }

    #[test]
    fn tolerates_failures_truncation_and_foreign_results() {
        check_robustness(strategy);
        check_robustness(small);
    }

    #[test]
    fn config_validation_and_serde() {
        let c: RegularizedEvolutionConfig = serde_json::from_str("{\"sample_size\": 4}").expect("parses");
        assert_eq!(c.population_size, 50);
        assert_eq!(c.sample_size, 4);
        c.validate().expect("valid");
        assert!(serde_json::from_str::<RegularizedEvolutionConfig>("{\"populaton_size\": 4}").is_err());
        let bad = RegularizedEvolutionConfig { sample_size: 51, ..Default::default() };
        assert!(matches!(bad.validate(), Err(crate::NasError::InvalidValue { field, .. }) if field == "sample_size"));
        let bad = RegularizedEvolutionConfig { population_size: 0, ..Default::default() };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn single_objective_tournament_picks_the_best_and_failures_lose() {
        let problem = Problem::new(vec![Objective::natural(Metric::Accuracy)], vec![]);
        let eval = ToyEval::with_failures();
        let members: Vec<Evaluated<ToyArch>> =
            ToySpace.enumerate().expect("enumerates").step_by(41).map(|a| toy_evaluated(&eval, &problem, &a)).collect();
        assert!(members.iter().any(|m| m.objectives.is_none()));
        let refs: Vec<&Evaluated<ToyArch>> = members.iter().collect();
        let best = crate::strategy::select_best(&refs).expect("non-empty");
        let best_acc = members.iter().filter_map(|m| m.objectives.as_ref()).map(|o| o[0]).fold(f64::INFINITY, f64::min);
        assert_eq!(members[best].objectives.as_ref().map(|o| o[0]), Some(best_acc));
        // Only failures: the lowest index wins.
        let failed: Vec<&Evaluated<ToyArch>> = members.iter().filter(|m| m.objectives.is_none()).collect();
        assert_eq!(crate::strategy::select_best(&failed), Some(0));
    }

    #[test]
    fn population_ages_out_the_oldest() {
        let space = ToySpace;
        let problem = toy_problem();
        let eval = ToyEval::new();
        let mut s = small();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut order = Vec::new();
        for _ in 0..10 {
            let batch = SearchStrategy::<ToySpace>::ask(&mut s, &space, 7, &mut rng);
            let results: Vec<_> = batch.iter().map(|a| toy_evaluated(&eval, &problem, a)).collect();
            order.extend(results.iter().map(|r| r.id));
            SearchStrategy::<ToySpace>::tell(&mut s, &space, &results);
        }
        let pop: Vec<ArchId> = s.population().map(|m| m.id).collect();
        assert_eq!(pop, order[order.len() - 20..].to_vec());
    }

    #[test]
    fn beats_random_search_at_a_small_budget() {
        let problem = toy_problem();
        let random = mean_hv_ratio(RandomSearch::<ToyArch>::default, &problem, 100, 10);
        let evo = mean_hv_ratio(strategy, &problem, 100, 10);
        let evo_small = mean_hv_ratio(small, &problem, 100, 10);
        eprintln!("toy HV ratio at 100 evals: random {random:.4}, evolution {evo:.4}, evolution(20,5) {evo_small:.4}");
        assert!(evo >= random + 0.015, "evolution {evo:.4} vs random {random:.4}");
    }

    #[test]
    fn finds_the_constrained_front_at_a_generous_budget() {
        let problem = toy_constrained_problem();
        let truth = true_front(&ToySpace, &problem);
        for seed in 0..4 {
            let trials = run_toy(&ToySpace, &ToyEval::new(), &problem, &mut strategy(), 400, seed);
            assert_eq!(trials_front(&trials, &problem), truth, "seed {seed}");
        }
    }
}
