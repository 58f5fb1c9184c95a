//! Predictor-guided search strategies.
//!
//! | name | type | idea |
//! |---|---|---|
//! | `bananas` | [`Bananas`] | BANANAS-style (White et al., AAAI 2021): fit a predictor with uncertainty, mutate the best architectures so far into candidates, pick by an acquisition function |
//! | `linas` | [`Linas`] | LINAS-style (DyNAS-T, Cummings et al. 2022): run NSGA-II against the predictors and the cheap objectives, evaluate the most promising members of the predicted front, refit |
//!
//! Both are multi-objective throughout. At construction they receive the
//! [`Problem`], the features to use ([`FeatureConfig`]), the model
//! ([`ModelConfig`]) and a **cheap evaluator** (`Arc<dyn Evaluator<A>>`, e.g. the
//! device column of a latency table, a LUT or the analytical cost model). Every
//! metric the problem reads that the cheap evaluator provides is taken from it,
//! for any candidate, as often as needed; every other metric (accuracy) is
//! predicted by a model fitted on the results told so far. The driver's budget
//! therefore counts only the expensive queries: distinct architectures evaluated.
//!
//! Selection ([`Acquisition`]): candidates are scored by the hypervolume
//! improvement of an optimistic objective vector (`mean - kappa * std` in
//! minimisation form for UCB, a draw from `N(mean, std)` for independent Thompson
//! sampling, the mean itself for `mean` and for models without uncertainty) over
//! the front of the evaluated architectures, or by the expected hypervolume
//! improvement ([`ehvi`]); a batch is picked greedily, each pick added to the
//! front at its predicted mean (Kriging believer). Candidates predicted infeasible
//! are only picked when nothing else is left.
//!
//! Hypervolumes are taken in a normalised space whose ideal (0) and nadir (1) are
//! those of the non-dominated set of the evaluated front and the candidates'
//! predicted means, with the reference point at 1.1: an estimate of how the HV
//! ratio normalises by the true front. (Normalising by the evaluated front alone
//! gives no credit for extending the front beyond its current ends; by the span of
//! all candidates, too much credit to fast but useless architectures.)
//!
//! Measured (NB201 CIFAR-10 accuracy vs table latency, 100 queries, 20 seeds,
//! `hwnas compare experiments/configs/nb201-predictor-guided.toml --strategies
//! linas,bananas,nsga2 --seeds 20 --at 100`): LINAS with gradient boosting on
//! `path_stats` 0.964 (fpga) / 0.961 (eyeriss) HV ratio, BANANAS (same model)
//! 0.963 / 0.964, LINAS with an MLP pretrained on 3,000 unlabelled cells
//! (`model = { kind = "mlp" }`, `pretrain = 3000`) 0.964 / 0.973 (0.960 for
//! fpga without pretraining), against 0.939 / 0.935 for NSGA-II without a
//! predictor. Tried
//! without gain (within ±0.01 or worse): uncertainty from bagged boosted trees or
//! the forest's spread with UCB / Thompson / EHVI, scoring every unseen cell of
//! the enumerable space instead of the inner NSGA-II front, extra mutation
//! candidates around the front, a latency-stratified initial design, a
//! log-error target, batch size 1, warm-starting the inner NSGA-II from the
//! evaluated cells, a ridge base under the boosted trees.
//!
//! What limits these figures (measured, fpga): the HV ratio rewards the best one
//! or two cells of each of ~13 latency levels, and among the 405 cells above 93.5%
//! (where the upper half of the front lies) gradient boosting fitted on 100 random
//! cells ranks at Kendall tau 0.04, and on 12,000 cells at 0.41: the differences
//! there are mostly training noise. Giving the predictor an oracle feature shows
//! the loop itself can do better when the ranking is there: the true accuracy plus
//! N(0, 0.2) noise as a free feature gives 0.971 with gradient boosting (trees
//! cannot extrapolate above their best leaf) and 0.983 with ridge; CIFAR-100
//! accuracy of the same cell as a free feature gives 0.968 / 0.970. LINAS reaches
//! 0.974 at 150 queries and 0.979 at 200.
//!
//! Guarantees (as the built-in strategies): no architecture is proposed twice;
//! randomness comes only from the driver's generator (and seeds drawn from it), so
//! the same seed gives the same trials; failed trials are remembered but not used
//! for fitting; results of architectures the strategy did not ask for are used.

use crate::error::Result;
use crate::features::FeatureConfig;
use crate::model::{Fit, Model, ModelConfig, Predict};
use nas_core::pareto::{hypervolume, pareto_front_indices};
use nas_core::{
    ArchId, Architecture, EvalContext, Evaluated, Evaluator, Metric, MetricMap, MultiEncode, Problem, SearchSpace,
    ToNetworkSpec,
};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

pub mod bananas;
#[cfg(test)]
mod contract;
pub mod ehvi;
pub mod linas;

pub use bananas::{Bananas, BananasConfig};
pub use linas::{Linas, LinasConfig};

/// What a guided strategy needs from a space.
pub trait GuidedSpace: MultiEncode + ToNetworkSpec + nas_core::Mutate + nas_core::Crossover {}
impl<T: MultiEncode + ToNetworkSpec + nas_core::Mutate + nas_core::Crossover> GuidedSpace for T {}

/// How candidates are scored.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Acquisition {
    /// Upper confidence bound: `mean + kappa * std` for maximised metrics.
    Ucb {
        /// Exploration weight (default 1.0).
        #[serde(default = "default_kappa")]
        kappa: f64,
    },
    /// Independent Thompson sampling: one draw from `N(mean, std)` per candidate.
    Thompson,
    /// The predicted mean only (pure exploitation).
    Mean,
    /// Expected hypervolume improvement under the predictive normal distribution
    /// (exact with two objectives of which one is predicted; Monte Carlo with
    /// `samples` common draws otherwise). See [`ehvi`].
    Ehvi {
        /// Monte Carlo draws when no exact form applies (default 64).
        #[serde(default = "default_samples")]
        samples: usize,
    },
}

fn default_samples() -> usize {
    64
}

/// Checks the settings every guided strategy has: `n_init`, the acquisition,
/// the model, and `pretrain` (only with an MLP).
pub(crate) fn validate_common(
    n_init: usize,
    acquisition: &Acquisition,
    model: &ModelConfig,
    pretrain: usize,
) -> Result<()> {
    crate::error::check(n_init >= 2, "n_init", n_init, "an integer >= 2")?;
    acquisition.validate()?;
    crate::error::check(
        pretrain == 0 || matches!(model, ModelConfig::Mlp(_)),
        "pretrain",
        pretrain,
        "0 unless model.kind = \"mlp\"",
    )?;
    model.validate()
}

impl Acquisition {
    /// Checks the values (`acquisition.kappa`, `acquisition.samples`).
    pub fn validate(&self) -> Result<()> {
        match *self {
            Acquisition::Ucb { kappa } => crate::error::check(
                kappa.is_finite() && kappa >= 0.0,
                "acquisition.kappa",
                kappa,
                "a finite number >= 0",
            ),
            Acquisition::Ehvi { samples } => {
                crate::error::check(samples >= 1, "acquisition.samples", samples, "an integer >= 1")
            }
            Acquisition::Thompson | Acquisition::Mean => Ok(()),
        }
    }
}

fn default_kappa() -> f64 {
    1.0
}

impl Default for Acquisition {
    fn default() -> Self {
        Acquisition::Ucb { kappa: 1.0 }
    }
}

/// Predicted objective vectors of candidates (minimisation form).
struct Scored<A> {
    arch: A,
    mean: Vec<f64>,
    optimistic: Vec<f64>,
    /// Predictive standard deviation per objective (0 for cheap metrics).
    std: Vec<f64>,
    violation: f64,
}

/// The shared machinery of the guided strategies: what was seen, the features and
/// cheap metrics of architectures, the fitted models.
pub(crate) struct Guide<S: SearchSpace> {
    pub problem: Problem,
    pub cheap: Option<Arc<dyn Evaluator<S::Arch>>>,
    pub features: FeatureConfig,
    pub model: ModelConfig,
    pub seen: BTreeSet<ArchId>,
    told: BTreeSet<ArchId>,
    pub history: Vec<Evaluated<S::Arch>>,
    feature_cache: HashMap<ArchId, Option<Vec<f64>>>,
    cheap_cache: HashMap<ArchId, Option<MetricMap>>,
    models: Vec<(Metric, Model)>,
    /// FBNetV3-style pretraining: unlabelled architectures (0 = off; MLP only).
    pretrain: usize,
    pretrained: Option<crate::pretrain::Pretrained>,
}

impl<S: GuidedSpace> Guide<S> {
    pub fn new(
        problem: Problem,
        cheap: Option<Arc<dyn Evaluator<S::Arch>>>,
        features: FeatureConfig,
        model: ModelConfig,
    ) -> Self {
        Guide {
            problem,
            cheap,
            features,
            model,
            seen: BTreeSet::new(),
            told: BTreeSet::new(),
            history: Vec::new(),
            feature_cache: HashMap::new(),
            cheap_cache: HashMap::new(),
            models: Vec::new(),
            pretrain: 0,
            pretrained: None,
        }
    }

    /// Pretrains the MLP predictor on the free features of `n` random unlabelled
    /// architectures before its first fit (see [`crate::pretrain`]).
    pub fn with_pretrain(mut self, n: usize) -> Self {
        self.pretrain = n;
        self
    }

    /// The pretrained MLP body, made on first use from `n` random architectures:
    /// inputs their features, targets their log10 params and FLOPs.
    fn pretrained_body(&mut self, space: &S, cfg: &crate::model::MlpConfig, seed: u64) -> Result<()> {
        if self.pretrained.is_some() {
            return Ok(());
        }
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
        let targets = FeatureConfig {
            encoding: self.features.encoding,
            free: crate::features::FreeFeature::SCALAR.to_vec(),
            cheap: Vec::new(),
        };
        let (mut xu, mut free) = (Vec::new(), Vec::new());
        for _ in 0..self.pretrain {
            let a = space.sample(&mut rng);
            if let (Some(f), Some(t)) = (self.features_of(space, &a), targets.features(space, &a)) {
                xu.push(f);
                free.push(t[t.len() - crate::features::FreeFeature::SCALAR.len()..].to_vec());
            }
        }
        self.pretrained = Some(crate::pretrain::pretrain(cfg, &xu, &free, seed)?);
        Ok(())
    }

    /// Metrics of the problem that the cheap evaluator provides.
    fn cheap_metrics(&self) -> Vec<Metric> {
        let provided = self.cheap.as_ref().map(|c| c.provides()).unwrap_or_default();
        self.problem.metrics().into_iter().filter(|m| provided.contains(m)).collect()
    }

    /// Metrics of the problem that must be predicted.
    fn predicted_metrics(&self) -> Vec<Metric> {
        let cheap = self.cheap_metrics();
        self.problem.metrics().into_iter().filter(|m| !cheap.contains(m)).collect()
    }

    fn cheap_of(&mut self, space: &S, arch: &S::Arch) -> Option<MetricMap> {
        let _ = space;
        let id = arch.id();
        if let Some(hit) = self.cheap_cache.get(&id) {
            return hit.clone();
        }
        let v = self.cheap.as_ref().and_then(|c| c.evaluate(arch, &EvalContext::with_seed(0)).ok());
        self.cheap_cache.insert(id, v.clone());
        v
    }

    fn features_of(&mut self, space: &S, arch: &S::Arch) -> Option<Vec<f64>> {
        let id = arch.id();
        if let Some(hit) = self.feature_cache.get(&id) {
            return hit.clone();
        }
        let mut v = self.features.features(space, arch);
        if v.is_some() && !self.features.cheap.is_empty() {
            let cheap = self.cheap_of(space, arch);
            let extra: Option<Vec<f64>> =
                self.features.cheap.iter().map(|m| cheap.as_ref().and_then(|c| c.get(m).copied())).collect();
            v = match (v, extra) {
                (Some(f), Some(e)) => Some(FeatureConfig::with_extra(f, &e)),
                _ => None,
            };
        }
        self.feature_cache.insert(id, v.clone());
        v
    }

    /// Records results (all of them, asked for or not).
    pub fn tell(&mut self, results: &[Evaluated<S::Arch>]) {
        for r in results {
            self.seen.insert(r.id);
            if self.told.insert(r.id) {
                self.history.push(r.clone());
            }
        }
    }

    /// Refits one model per predicted metric on the successful results.
    pub fn refit(&mut self, space: &S, seed: u64) -> Result<()> {
        self.models.clear();
        let ok: Vec<Evaluated<S::Arch>> = self.history.iter().filter(|h| h.objectives.is_some()).cloned().collect();
        for (k, m) in self.predicted_metrics().into_iter().enumerate() {
            let mut x = Vec::new();
            let mut y = Vec::new();
            for h in &ok {
                if let (Some(v), Some(f)) = (h.metrics.get(&m).copied(), self.features_of(space, &h.arch)) {
                    x.push(f);
                    y.push(v);
                }
            }
            if x.len() >= 2 {
                let fit_seed = nas_core::seed::derive_seed(seed, k as u64);
                let model = match self.model.clone() {
                    ModelConfig::Mlp(cfg) if self.pretrain > 0 => {
                        self.pretrained_body(space, &cfg, nas_core::seed::derive_seed(seed, 0xFB))?;
                        match &self.pretrained {
                            Some(pre) => Model::Mlp(cfg.fit_from(pre, &x, &y, fit_seed)?),
                            None => self.model.fit(&x, &y, fit_seed)?,
                        }
                    }
                    _ => self.model.fit(&x, &y, fit_seed)?,
                };
                self.models.push((m, model));
            }
        }
        Ok(())
    }

    /// Whether every predicted metric has a fitted model.
    pub fn ready(&self) -> bool {
        self.predicted_metrics().iter().all(|m| self.models.iter().any(|(n, _)| n == m))
    }

    /// Predicted metric maps (mean, std per metric) of `archs`; architectures
    /// without features or cheap metrics are dropped.
    fn predict(&mut self, space: &S, archs: Vec<S::Arch>) -> Vec<(S::Arch, MetricMap, MetricMap)> {
        let cheap_metrics = self.cheap_metrics();
        let mut kept = Vec::new();
        let mut rows = Vec::new();
        for a in archs {
            let Some(f) = self.features_of(space, &a) else { continue };
            let mut mean = MetricMap::new();
            if !cheap_metrics.is_empty() {
                let Some(c) = self.cheap_of(space, &a) else { continue };
                for m in &cheap_metrics {
                    if let Some(v) = c.get(m) {
                        mean.insert(*m, *v);
                    }
                }
            }
            rows.push(f);
            kept.push((a, mean, MetricMap::new()));
        }
        for (m, model) in &self.models {
            if let Ok(p) = model.predict(&rows) {
                for (i, k) in kept.iter_mut().enumerate() {
                    k.1.insert(*m, p.mean[i]);
                    k.2.insert(*m, p.std.as_ref().map_or(0.0, |s| s[i]));
                }
            }
        }
        kept
    }

    /// Predicted results of `archs` as [`Evaluated`] records (for an inner search).
    pub fn predicted_results(&mut self, space: &S, archs: Vec<S::Arch>) -> Vec<Evaluated<S::Arch>> {
        self.predict(space, archs)
            .into_iter()
            .map(|(arch, mean, _)| {
                let objectives = self.problem.min_vector(&mean);
                let violation = if objectives.is_some() { self.problem.violation(&mean) } else { f64::INFINITY };
                Evaluated { id: arch.id(), arch, objectives, violation, metrics: mean }
            })
            .collect()
    }

    fn score(
        &mut self,
        space: &S,
        archs: Vec<S::Arch>,
        acq: Acquisition,
        rng: &mut dyn RngCore,
    ) -> Vec<Scored<S::Arch>> {
        let problem = self.problem.clone();
        self.predict(space, archs)
            .into_iter()
            .filter_map(|(arch, mean, std)| {
                let mv = problem.min_vector(&mean)?;
                let mut opt_map = mean.clone();
                for (m, s) in &std {
                    let dir = problem.objectives.iter().find(|o| o.metric == *m);
                    let sign = dir.map_or(1.0, |o| -o.to_min(1.0)); // +1 when maximised
                    let delta = match acq {
                        Acquisition::Ucb { kappa } => kappa * s,
                        Acquisition::Thompson => s * standard_normal(rng),
                        Acquisition::Mean | Acquisition::Ehvi { .. } => 0.0,
                    };
                    if let Some(v) = opt_map.get_mut(m) {
                        *v += sign * delta;
                    }
                }
                let optimistic = problem.min_vector(&opt_map)?;
                let violation = problem.violation(&mean);
                let sd = problem.objectives.iter().map(|o| std.get(&o.metric).copied().unwrap_or(0.0)).collect();
                Some(Scored { arch, mean: mv, optimistic, std: sd, violation })
            })
            .collect()
    }

    /// Picks up to `n` of `candidates` (unseen, distinct) greedily by the
    /// acquisition: hypervolume improvement of the optimistic vectors (UCB,
    /// Thompson, mean) or expected hypervolume improvement ([`Acquisition::Ehvi`])
    /// over the evaluated front, each pick then added to the front at its mean.
    pub fn select(
        &mut self,
        space: &S,
        candidates: Vec<S::Arch>,
        n: usize,
        acq: Acquisition,
        rng: &mut dyn RngCore,
    ) -> Vec<S::Arch> {
        let mut distinct = BTreeSet::new();
        let candidates: Vec<S::Arch> =
            candidates.into_iter().filter(|a| !self.seen.contains(&a.id()) && distinct.insert(a.id())).collect();
        let mut scored = self.score(space, candidates, acq, rng);
        let mut front: Vec<Vec<f64>> =
            self.history.iter().filter(|h| h.is_feasible()).filter_map(|h| h.objectives.clone()).collect();
        let keep = pareto_front_indices(&front);
        front = keep.into_iter().map(|i| front[i].clone()).collect();
        let Some(dims) = scored.first().map(|s| s.mean.len()) else { return Vec::new() };
        // Common standard normal draws for Monte Carlo EHVI.
        let draws: Vec<Vec<f64>> = match acq {
            Acquisition::Ehvi { samples } => {
                (0..samples.max(1)).map(|_| (0..dims).map(|_| standard_normal(rng)).collect()).collect()
            }
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        while out.len() < n && !scored.is_empty() {
            let (lo, span) = normalisation(&front, &scored);
            let norm = |p: &[f64]| -> Vec<f64> { p.iter().enumerate().map(|(d, v)| (v - lo[d]) / span[d]).collect() };
            let reference = vec![1.1; dims];
            let nf: Vec<Vec<f64>> = front.iter().map(|p| norm(p)).collect();
            let front2 = (dims == 2).then(|| ehvi::Front2::new(&nf, [1.1, 1.1]));
            let base = if front2.is_some() { 0.0 } else { hypervolume(&nf, &reference).unwrap_or(0.0) };
            let improvement = |p: &[f64]| -> f64 {
                match &front2 {
                    Some(f) => f.improvement(p[0], p[1]),
                    None => {
                        let mut with = nf.clone();
                        with.push(p.to_vec());
                        hypervolume(&with, &reference).unwrap_or(0.0) - base
                    }
                }
            };
            let mut best: Option<(bool, f64, usize)> = None;
            for (i, s) in scored.iter().enumerate() {
                let feasible = s.violation == 0.0;
                let o = norm(&s.optimistic);
                let gain = match acq {
                    Acquisition::Ehvi { .. } => {
                        let m = norm(&s.mean);
                        let sd: Vec<f64> = s.std.iter().zip(&span).map(|(v, w)| v / w).collect();
                        let uncertain: Vec<usize> = (0..dims).filter(|&d| sd[d] > 0.0).collect();
                        match (&front2, uncertain.as_slice()) {
                            (Some(f), []) => f.improvement(m[0], m[1]),
                            (Some(f), [1]) => f.expected_improvement(m[0], m[1], sd[1]),
                            (Some(_), [0]) => {
                                let swapped: Vec<Vec<f64>> = nf.iter().map(|p| vec![p[1], p[0]]).collect();
                                ehvi::Front2::new(&swapped, [1.1, 1.1]).expected_improvement(m[1], m[0], sd[0])
                            }
                            _ => ehvi::expected_improvement_mc(&nf, &reference, &m, &sd, &draws),
                        }
                    }
                    _ => improvement(&o),
                };
                // Without improvement: minus the additive epsilon distance to the front.
                let score = if gain > 1e-15 {
                    gain
                } else {
                    -nf.iter()
                        .map(|f| f.iter().zip(&o).map(|(a, b)| b - a).fold(f64::NEG_INFINITY, f64::max))
                        .fold(f64::INFINITY, f64::min)
                        .max(0.0)
                        - 1.0
                };
                let key = (feasible, score, i);
                if best.is_none_or(|(bf, bs, _)| (feasible && !bf) || (feasible == bf && score > bs)) {
                    best = Some(key);
                }
            }
            let Some((_, _, i)) = best else { break };
            let s = scored.swap_remove(i);
            if s.violation == 0.0 {
                front.push(s.mean.clone());
            }
            out.push(s.arch);
        }
        out
    }

    /// One ask of a guided strategy: uniform random architectures until
    /// `n_init` results are in; then refit, generate candidates with
    /// `candidates(guide, space, rng)`, pick `n` by `acq`, and top up with random
    /// unseen architectures when fewer are left (or a refit failed: its error is
    /// returned). Every returned architecture is marked proposed.
    pub fn ask(
        &mut self,
        space: &S,
        n: usize,
        n_init: usize,
        acq: Acquisition,
        rng: &mut dyn RngCore,
        candidates: impl FnOnce(&mut Self, &S, &mut dyn RngCore) -> Vec<S::Arch>,
    ) -> (Vec<S::Arch>, Option<crate::error::PredictorError>) {
        let told = self.history.iter().filter(|h| h.objectives.is_some()).count();
        let mut out = Vec::new();
        let mut error = None;
        if told >= n_init {
            let seed = rng.next_u64();
            match self.refit(space, seed) {
                Ok(()) if self.ready() => {
                    let cands = candidates(self, space, rng);
                    out = self.select(space, cands, n, acq, rng);
                }
                Ok(()) => {}
                Err(e) => error = Some(e),
            }
            if out.len() < n {
                self.propose(&out);
                let more = self.random(space, n - out.len(), rng);
                out.extend(more);
            }
        } else {
            let want = n.min(n_init - told).max(1);
            out = self.random(space, want, rng);
        }
        self.propose(&out);
        (out, error)
    }

    /// Up to `n` random unseen architectures.
    pub fn random(&self, space: &S, n: usize, rng: &mut dyn RngCore) -> Vec<S::Arch> {
        let mut out = Vec::new();
        let mut ids = BTreeSet::new();
        for _ in 0..n * 100 {
            if out.len() >= n {
                break;
            }
            let a = space.sample(rng);
            if !self.seen.contains(&a.id()) && ids.insert(a.id()) {
                out.push(a);
            }
        }
        out
    }

    /// Marks proposals as seen.
    pub fn propose(&mut self, archs: &[S::Arch]) {
        for a in archs {
            self.seen.insert(a.id());
        }
    }
}

/// The normalisation of objective vectors: ideal 0 and nadir 1 of the
/// non-dominated set of the evaluated front and the candidates' predicted means,
/// an estimate of the true front's extent (the HV ratio normalises by the true
/// front the same way). Returns `(lo, span)`.
fn normalisation<A>(front: &[Vec<f64>], scored: &[Scored<A>]) -> (Vec<f64>, Vec<f64>) {
    let dims = scored.first().map_or(0, |s| s.mean.len());
    let all: Vec<&Vec<f64>> = front.iter().chain(scored.iter().map(|s| &s.mean)).collect();
    let nd = pareto_front_indices(&all);
    let mut lo = vec![f64::INFINITY; dims];
    let mut hi = vec![f64::NEG_INFINITY; dims];
    for i in nd {
        for d in 0..dims {
            lo[d] = lo[d].min(all[i][d]);
            hi[d] = hi[d].max(all[i][d]);
        }
    }
    let span = (0..dims).map(|d| if hi[d] - lo[d] > 1e-12 { hi[d] - lo[d] } else { 1.0 }).collect();
    (lo, span)
}

/// A standard normal draw (Box-Muller).
fn standard_normal(rng: &mut dyn RngCore) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
