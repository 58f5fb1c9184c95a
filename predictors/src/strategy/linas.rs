//! LINAS-style search (Cummings et al., *Accelerating neural architecture
//! exploration across modalities using genetic algorithms*, GECCO 2022; the
//! DyNAS-T "LINAS" loop), multi-objective.
//!
//! 1. The first [`n_init`](LinasConfig::n_init) architectures are uniform random.
//! 2. Then, at every ask: refit the predictor on all results so far; run NSGA-II
//!    ([`nas_core::strategy::Nsga2`], population
//!    [`population_size`](LinasConfig::population_size), for
//!    [`generations`](LinasConfig::generations)) against the predicted metrics and
//!    the cheap ones; take the unseen members of the best predicted fronts (at
//!    least [`candidates_per_pick`](LinasConfig::candidates_per_pick) per
//!    architecture asked) and evaluate the most promising of them, picked by the
//!    [`Acquisition`] (see [the module docs](super)); refit; repeat.

use super::{Acquisition, Guide, GuidedSpace};
use crate::error::{PredictorError, Result, check};
use crate::features::FeatureConfig;
use crate::model::ModelConfig;
use nas_core::strategy::{Nsga2Config, rank_and_crowding_of};
use nas_core::{Evaluated, Evaluator, Problem, SearchStrategy};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Settings of [`Linas`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinasConfig {
    /// Random architectures before the first fit (default 20).
    pub n_init: usize,
    /// Population of the inner NSGA-II (default 50).
    pub population_size: usize,
    /// Generations of the inner NSGA-II per ask (default 40).
    pub generations: usize,
    /// Candidates from the predicted fronts per architecture asked (default 10).
    pub candidates_per_pick: usize,
    /// Acquisition (default UCB, kappa 1).
    pub acquisition: Acquisition,
    /// Predictor (default gradient-boosted trees, the XGBoost-style model of
    /// DyNAS-T; with no uncertainty, UCB reduces to the predicted mean).
    pub model: ModelConfig,
    /// FBNetV3-style pretraining (default 0 = off; needs `model.kind = "mlp"`):
    /// before its first fit the MLP learns to predict log params and log FLOPs of
    /// this many random unlabelled architectures; every refit fine-tunes it.
    pub pretrain: usize,
    /// Features the predictor sees (default `path_stats` + params + FLOPs).
    pub features: FeatureConfig,
}

impl Default for LinasConfig {
    fn default() -> Self {
        LinasConfig {
            n_init: 20,
            population_size: 50,
            generations: 40,
            candidates_per_pick: 10,
            acquisition: Acquisition::default(),
            model: super::bananas::default_model(),
            features: FeatureConfig::default(),
            pretrain: 0,
        }
    }
}

impl LinasConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check(self.population_size >= 4, "population_size", self.population_size, "an integer >= 4")?;
        check(self.generations >= 1, "generations", self.generations, "an integer >= 1")?;
        check(self.candidates_per_pick >= 1, "candidates_per_pick", self.candidates_per_pick, "an integer >= 1")?;
        super::validate_common(self.n_init, &self.acquisition, &self.model, self.pretrain)?;
        self.features.validate()
    }

    /// Builds the strategy for `problem`, taking cheap metrics from `cheap`.
    pub fn init<S: GuidedSpace>(self, problem: Problem, cheap: Option<Arc<dyn Evaluator<S::Arch>>>) -> Linas<S> {
        Linas::new(self, problem, cheap)
    }
}

/// LINAS-style predictor-guided search; see the module docs.
pub struct Linas<S: GuidedSpace> {
    config: LinasConfig,
    guide: Guide<S>,
    last_error: Option<PredictorError>,
}

impl<S: GuidedSpace> Linas<S> {
    /// The strategy for `problem`; metrics `cheap` provides are never predicted.
    pub fn new(config: LinasConfig, problem: Problem, cheap: Option<Arc<dyn Evaluator<S::Arch>>>) -> Self {
        let guide =
            Guide::new(problem, cheap, config.features.clone(), config.model.clone()).with_pretrain(config.pretrain);
        Linas { config, guide, last_error: None }
    }

    /// The configuration.
    pub fn config(&self) -> &LinasConfig {
        &self.config
    }

    /// The last fitting error, if a refit failed (the strategy then samples at random).
    pub fn last_error(&self) -> Option<&PredictorError> {
        self.last_error.as_ref()
    }
}

impl<S: GuidedSpace> SearchStrategy<S> for Linas<S> {
    fn name(&self) -> &'static str {
        "linas"
    }

    fn ask(&mut self, space: &S, n: usize, rng: &mut dyn RngCore) -> Vec<S::Arch> {
        let config = &self.config;
        let (out, error) = self.guide.ask(space, n, config.n_init, config.acquisition, rng, |guide, space, rng| {
            let seed = rng.next_u64();
            predicted_front(config, guide, space, n * config.candidates_per_pick, seed)
        });
        if error.is_some() {
            self.last_error = error;
        }
        out
    }

    fn tell(&mut self, _space: &S, results: &[Evaluated<S::Arch>]) {
        self.guide.tell(results);
    }
}

/// Runs the inner NSGA-II against the predictors; returns the unseen members of
/// the best predicted fronts, at least `want` of them when there are.
fn predicted_front<S: GuidedSpace>(
    config: &LinasConfig,
    guide: &mut Guide<S>,
    space: &S,
    want: usize,
    seed: u64,
) -> Vec<S::Arch> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pop = config.population_size;
    let mut inner = Nsga2Config { population_size: pop, ..Default::default() }.init::<S::Arch>();
    let mut all: Vec<Evaluated<S::Arch>> = Vec::new();
    let mut ids = BTreeSet::new();
    for _ in 0..config.generations {
        let batch = SearchStrategy::<S>::ask(&mut inner, space, pop, &mut rng);
        if batch.is_empty() {
            break;
        }
        let results = guide.predicted_results(space, batch);
        SearchStrategy::<S>::tell(&mut inner, space, &results);
        for r in results {
            if ids.insert(r.id) && !guide.seen.contains(&r.id) {
                all.push(r);
            }
        }
    }
    let refs: Vec<&Evaluated<S::Arch>> = all.iter().collect();
    let rc = rank_and_crowding_of(&refs);
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&i, &j| rc[i].rank.cmp(&rc[j].rank).then(i.cmp(&j)));
    let mut out = Vec::new();
    let mut last_rank = None;
    for i in order {
        if out.len() >= want && last_rank != Some(rc[i].rank) {
            break;
        }
        last_rank = Some(rc[i].rank);
        out.push(all[i].arch.clone());
    }
    out
}
impl nas_core::StrategySettings for LinasConfig {
    const NAME: &'static str = "linas";
    const DESCRIPTION: &'static str =
        "LINAS-style predictor-guided search (DyNAS-T): NSGA-II on predictors, evaluate the best";
    fn validate(&self) -> nas_core::Result<()> {
        LinasConfig::validate(self).map_err(Into::into)
    }
    fn needs(&self) -> Vec<nas_core::Capability> {
        let mut needs = vec![nas_core::Capability::Mutate, nas_core::Capability::Crossover];
        needs.extend(self.features.needs(self.pretrain));
        needs
    }
    fn cheap_metrics(&self) -> Vec<nas_core::Metric> {
        self.features.cheap.clone()
    }
    fn build(
        &self,
        ctx: &nas_core::registry::StrategyContext<'_>,
    ) -> nas_core::Result<Box<dyn SearchStrategy<nas_core::DynSpace>>> {
        Ok(Box::new(self.clone().init::<nas_core::DynSpace>(ctx.problem.clone(), ctx.cheap.clone())))
    }
}
