//! The differentiable methods as ask/tell strategies (`darts`, `pc_darts`,
//! `gdas`, `proxyless`).
//!
//! Each `ask` runs the supernet search of the next seed of `seeds` and proposes
//! its derived architecture; the run's evaluators then evaluate it like any
//! other trial (table lookup, training from scratch, LUT, ...), so it lands on
//! the Pareto plot and in the export. A seed whose architecture an earlier seed
//! already derived proposes nothing new; every seed is still reported.
//!
//! In the run directory, `differentiable/` holds `cost_model.json` (the hardware
//! term's fitted per-op costs and fit quality), one `seed-<s>/` per seed
//! (`checkpoint/epoch-NNN/`, `result.json` with the per-epoch history),
//! `export/seed-<s>.json` (each seed's derived architecture and metrics, on the
//! front or not) and `summary.json`: every seed and the mean ± std of each
//! metric.
//! A resumed run reads finished seeds back from `result.json` and continues an
//! interrupted one from its last checkpoint.

use super::cost::LinearCost;
use super::search::{SeedJob, SeedOutcome};
use super::settings::{DifferentiableSettings, Method};
use super::supernet::DynSupernet;
use crate::arch::{ArchId, Architecture};
use crate::capability::Capability;
use crate::dynspace::{AnyArch, DynSpace};
use crate::error::{NasError, Result};
use crate::evaluator::{EvalContext, Evaluator};
use crate::fsutil::write_atomic;
use crate::metric::{Direction, Metric, MetricMap, Objective};
use crate::registry::{DatasetRequest, StrategyContext, StrategySettings};
use crate::stats::MeanStd;
use crate::strategy::{Evaluated, SearchStrategy};
use crate::train::ImageDataset;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

/// A differentiable search as a strategy (see the module docs).
pub struct DifferentiableStrategy {
    method: Method,
    settings: DifferentiableSettings,
    weights_split: Arc<ImageDataset>,
    arch_split: Arc<ImageDataset>,
    cost: Option<LinearCost>,
    workdir: Option<PathBuf>,
    quiet: bool,
    next: usize,
    seeds: Vec<SeedReport>,
    proposed: HashSet<ArchId>,
    failure: Option<NasError>,
    first_objective: Option<Objective>,
}

/// One seed's line of `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// The derived architecture's notation.
    pub notation: String,
    /// Its id.
    pub arch_id: ArchId,
    /// The epoch it was derived at.
    pub derived_epoch: usize,
    /// Edges changed to meet the hard limit.
    pub projected_edges: usize,
    /// Modelled cost (hardware loss only).
    pub modelled_cost: Option<f64>,
    /// Search wall-clock seconds.
    pub seconds: f64,
    /// Peak resident memory during the search (MiB).
    pub peak_rss_mb: Option<f64>,
    /// Guard actions taken.
    pub guard: Vec<String>,
    /// Its metrics from the run's evaluators (filled when told).
    pub metrics: MetricMap,
}

/// `summary.json`: every seed and the mean ± std of each metric over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The method.
    pub method: String,
    /// One entry per seed, in seed order.
    pub seeds: Vec<SeedReport>,
    /// Mean and standard deviation (sample, n − 1) of each metric over the seeds.
    pub mean_std: BTreeMap<String, (f64, f64)>,
    /// Distinct architectures derived.
    pub distinct: usize,
    /// The seed whose architecture is best by the run's first objective.
    pub best_seed: Option<u64>,
}

impl DifferentiableStrategy {
    /// Builds the strategy: splits the training images into the weight and
    /// architecture halves and, with a hardware term, fits the per-op cost model
    /// to `cheap` (refusing a source that misses an op, or a limit that no
    /// architecture can meet).
    pub fn new(method: Method, settings: DifferentiableSettings, ctx: &StrategyContext<'_>) -> Result<Self> {
        let data = ctx.data.ok_or_else(|| NasError::InvalidValue {
            field: "strategy.dataset".into(),
            value: settings.dataset.clone(),
            allowed: "a dataset the run loads (the setup passes it to the strategy)".into(),
        })?;
        let supernet = ctx.space.supernet().ok_or_else(|| NasError::MissingCapability {
            space: ctx.space.settings().to_string(),
            capability: Capability::Supernet.describe().into(),
            user: format!("strategy `{}`", method.name()),
            alternatives: Vec::new(),
        })?;
        supernet.layout().validate()?;
        supernet.check_partial(method.partial())?;
        let mut train = (*data.train).clone();
        if let Some(n) = settings.max_train_samples
            && n < train.len()
        {
            train = train.subset(n, 0x5EED_D1FF);
        }
        let (w, a) = train.split(0.5, 0xD1FF_5EED)?;
        let cost = match &settings.hardware {
            None => None,
            Some(hw) => {
                let cheap = ctx.cheap.clone().ok_or_else(|| NasError::InvalidValue {
                    field: "strategy.hardware.metric".into(),
                    value: hw.metric.name().into(),
                    allowed: "a metric of a cheap evaluator of the run (table, lut, analytical, energy, ...)".into(),
                })?;
                let cost = fit_cost(supernet, cheap.as_ref(), hw.metric, hw.samples)?;
                if let Some(limit) = hw.limit
                    && cost.min_cost() > limit
                {
                    return Err(NasError::InvalidValue {
                        field: "strategy.hardware.limit".into(),
                        value: limit.to_string(),
                        allowed: format!(
                            "at least {:.4} {}, the modelled {} of the cheapest architecture of the space",
                            cost.min_cost(),
                            hw.metric.unit(),
                            hw.metric.name()
                        ),
                    });
                }
                Some(cost)
            }
        };
        Ok(DifferentiableStrategy {
            method,
            settings,
            weights_split: Arc::new(w),
            arch_split: Arc::new(a),
            cost,
            workdir: ctx.workdir.map(|p| p.join("differentiable")),
            quiet: ctx.quiet,
            next: 0,
            seeds: Vec::new(),
            proposed: HashSet::new(),
            failure: None,
            first_objective: ctx.problem.objectives.first().copied(),
        })
    }

    /// The fitted cost model of the hardware term.
    pub fn cost_model(&self) -> Option<&LinearCost> {
        self.cost.as_ref()
    }

    /// The seeds searched so far.
    pub fn reports(&self) -> &[SeedReport] {
        &self.seeds
    }

    fn write_json<T: Serialize>(&self, name: &str, value: &T) {
        if let Some(dir) = &self.workdir
            && let Ok(text) = serde_json::to_string_pretty(value)
            && let Err(e) = write_atomic(&dir.join(name), text.as_bytes())
        {
            eprintln!("warning: {e}");
        }
    }

    /// The summary of the seeds so far.
    pub fn summary(&self) -> Summary {
        let mut by_metric: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for s in &self.seeds {
            for (m, v) in &s.metrics {
                by_metric.entry(m.name().to_string()).or_default().push(*v);
            }
        }
        let mean_std = by_metric
            .into_iter()
            .map(|(k, v)| {
                let m = MeanStd::of(&v);
                (k, (m.mean, m.std))
            })
            .collect();
        let distinct = self.seeds.iter().map(|s| s.arch_id).collect::<HashSet<_>>().len();
        let best_seed = self.first_objective.and_then(|o| {
            let sign = if o.direction == Direction::Maximize { 1.0 } else { -1.0 };
            self.seeds
                .iter()
                .filter_map(|s| s.metrics.get(&o.metric).map(|v| (s.seed, sign * v)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(seed, _)| seed)
        });
        Summary { method: self.method.name().into(), seeds: self.seeds.clone(), mean_std, distinct, best_seed }
    }

    fn run_seed(&mut self, supernet: &dyn DynSupernet, seed: u64) -> std::result::Result<SeedOutcome, NasError> {
        let dir = self.workdir.as_ref().map(|d| d.join(format!("seed-{seed}")));
        let quiet = self.quiet;
        let name = self.method.name();
        let log = move |line: &str| {
            if !quiet {
                eprintln!("[{name} seed {seed}] {line}");
            }
        };
        let job = SeedJob {
            method: self.method,
            settings: &self.settings,
            seed,
            train: &self.weights_split,
            val: &self.arch_split,
            cost: self.cost.as_ref(),
            dir: dir.as_deref(),
            log: &log,
        };
        supernet.search(&job).map_err(|e| NasError::StrategyFailed { strategy: name.into(), message: e.to_string() })
    }
}

/// Fits the per-op cost model of `metric` to `cheap` on the space's supernet
/// layout.
pub fn fit_cost(
    supernet: &dyn DynSupernet,
    cheap: &dyn Evaluator<AnyArch>,
    metric: Metric,
    samples: usize,
) -> Result<LinearCost> {
    let layout = supernet.layout();
    let cost = |choices: &[usize]| -> std::result::Result<f64, String> {
        let arch = supernet.arch(choices).map_err(|e| e.to_string())?;
        let m = cheap.evaluate(&arch, &EvalContext::with_seed(0)).map_err(|e| e.to_string())?;
        m.get(&metric).copied().ok_or_else(|| format!("{} gives no `{}`", cheap.name(), metric.name()))
    };
    let sample = |rng: &mut dyn RngCore, fixed: Option<(usize, usize)>| supernet.sample(rng, fixed);
    LinearCost::fit(&layout, metric, &cost, &sample, samples, 0xC057).map_err(|e| NasError::InvalidValue {
        field: "strategy.hardware".into(),
        value: metric.name().into(),
        allowed: e.to_string(),
    })
}

impl SearchStrategy<DynSpace> for DifferentiableStrategy {
    fn name(&self) -> &'static str {
        self.method.name()
    }

    fn ask(&mut self, space: &DynSpace, _n: usize, _rng: &mut dyn RngCore) -> Vec<AnyArch> {
        if self.failure.is_some() {
            return Vec::new();
        }
        let Some(supernet) = space.supernet() else {
            self.failure = Some(NasError::StrategyFailed {
                strategy: self.method.name().into(),
                message: "the space has no supernet".into(),
            });
            return Vec::new();
        };
        if self.next == 0
            && let Some(cost) = self.cost.clone()
        {
            self.write_json("cost_model.json", &cost);
        }
        while self.next < self.settings.seeds.len() {
            let seed = self.settings.seeds[self.next];
            self.next += 1;
            let outcome = match self.run_seed(supernet, seed) {
                Ok(o) => o,
                Err(e) => {
                    self.failure = Some(e);
                    return Vec::new();
                }
            };
            let arch = match supernet.arch(&outcome.choices) {
                Ok(a) => a,
                Err(e) => {
                    self.failure = Some(e);
                    return Vec::new();
                }
            };
            // A cell an earlier seed derived was evaluated then: report its metrics.
            let known = self.seeds.iter().find(|s| s.arch_id == arch.id()).map(|s| s.metrics.clone());
            self.seeds.push(SeedReport {
                seed,
                notation: arch.notation(),
                arch_id: arch.id(),
                derived_epoch: outcome.derived_epoch,
                projected_edges: outcome.projected_edges,
                modelled_cost: self.cost.as_ref().map(|c| c.predict(&outcome.choices)),
                seconds: outcome.seconds,
                peak_rss_mb: outcome.peak_rss_mb,
                guard: outcome.history.iter().filter_map(|r| r.guard.clone()).collect(),
                metrics: known.unwrap_or_default(),
            });
            self.write_json("summary.json", &self.summary());
            if self.proposed.insert(arch.id()) {
                return vec![arch];
            }
        }
        Vec::new()
    }

    fn tell(&mut self, _space: &DynSpace, results: &[Evaluated<AnyArch>]) {
        for r in results {
            for s in self.seeds.iter_mut().filter(|s| s.arch_id == r.id) {
                s.metrics = r.metrics.clone();
            }
        }
        self.write_json("summary.json", &self.summary());
        // Every seed's derived architecture with its metrics, front member or not.
        for s in self.seeds.clone() {
            self.write_json(&format!("export/seed-{}.json", s.seed), &s);
        }
    }

    fn failure(&mut self) -> Option<NasError> {
        self.failure.take()
    }
}

macro_rules! method_settings {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $desc:literal, $default:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(pub DifferentiableSettings);

        impl Default for $ty {
            fn default() -> Self {
                $ty($default)
            }
        }

        impl StrategySettings for $ty {
            const NAME: &'static str = $name;
            const DESCRIPTION: &'static str = $desc;

            fn validate(&self) -> Result<()> {
                self.0.validate($name).map(|_| ())
            }

            fn needs(&self) -> Vec<Capability> {
                vec![Capability::Supernet]
            }

            fn cheap_metrics(&self) -> Vec<Metric> {
                self.0.hardware.iter().map(|h| h.metric).collect()
            }

            fn min_budget(&self) -> usize {
                self.0.seeds.len()
            }

            fn dataset(&self) -> Option<DatasetRequest> {
                Some(DatasetRequest {
                    dataset: self.0.dataset.clone(),
                    path: self.0.path.clone(),
                    val_fraction: self.0.val_fraction,
                })
            }

            fn build(&self, ctx: &StrategyContext<'_>) -> Result<Box<dyn SearchStrategy<DynSpace>>> {
                let method = self.0.validate($name)?;
                Ok(Box::new(DifferentiableStrategy::new(method, self.0.clone(), ctx)?))
            }
        }
    };
}

method_settings!(
    /// `[strategy] kind = "darts"`: DARTS, first order or (`second_order = true`) unrolled.
    DartsSettings,
    "darts",
    "DARTS (Liu et al. 2019): softmax-relaxed supernet, first or second order, hardware-aware loss",
    DifferentiableSettings::default()
);
method_settings!(
    /// `[strategy] kind = "pc_darts"`: PC-DARTS with partial channels (`k`) and edge normalisation.
    PcDartsSettings,
    "pc_darts",
    "PC-DARTS (Xu et al. 2020): partial channel connections (1/K) and edge normalisation",
    DifferentiableSettings::default()
);
method_settings!(
    /// `[strategy] kind = "gdas"`: GDAS, Gumbel-softmax hard samples with an annealed temperature.
    GdasSettings,
    "gdas",
    "GDAS (Dong & Yang 2019): one Gumbel-softmax sampled op per edge, straight-through, annealed temperature",
    DifferentiableSettings::default()
);
method_settings!(
    /// `[strategy] kind = "proxyless"`: ProxylessNAS, binarised paths with path-level gradients.
    ProxylessSettings,
    "proxyless",
    "ProxylessNAS (Cai et al. 2019): binarised paths (memory of one sub-network), path-level gradients",
    DifferentiableSettings::default()
);
