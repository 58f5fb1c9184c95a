//! Turns a validated [`ExperimentConfig`] into live objects through the
//! [`Registry`]: the dataset, the space (a [`DynSpace`]), the merged evaluator
//! and the strategy.

use crate::config::{ExperimentConfig, Plan};
use crate::registry::data_dir;
use anyhow::{Context, Result, bail};
use nas_core::registry::{EvaluatorContext, StrategyContext};
use nas_core::train::DataSplit;
use nas_core::{AnyArch, DynSpace, Evaluator, Joint, Problem, Registry, SearchStrategy};
use std::path::Path;
use std::sync::Arc;

/// The evaluator of a run and what the run derives from its parts.
pub struct Evaluators {
    /// All configured evaluators, merged.
    pub evaluator: Arc<dyn Evaluator<AnyArch>>,
    /// The true feasible front (minimisation form), when a table covers the space
    /// and the problem.
    pub true_front: Option<Vec<Vec<f64>>>,
    /// What predictor-guided strategies may query freely: every cheap evaluator of
    /// the config, with table accuracy columns left out (only their device
    /// latency stays), merged; `None` when there is none.
    pub cheap: Option<Arc<dyn Evaluator<AnyArch>>>,
    /// Warnings of the evaluators (e.g. a table measured on another machine).
    pub warnings: Vec<String>,
}

/// A run's live objects.
pub struct Setup {
    /// The config's sections, parsed.
    pub plan: Plan,
    /// The dataset, when an evaluator trains.
    pub data: Option<DataSplit>,
    /// The space (input shape from the dataset when there is one).
    pub space: DynSpace,
    /// The problem.
    pub problem: Problem,
    /// The evaluators.
    pub evals: Evaluators,
}

/// Which evaluators to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// All of them (a run).
    All,
    /// Only those reports need (tables: the true front); no dataset is loaded
    /// unless `with_data` (its input shape can change the space's networks).
    ReportsOnly {
        /// Load the dataset (for the space's input shape).
        with_data: bool,
    },
}

impl Setup {
    /// Builds the dataset, the space and the evaluators of `cfg`.
    pub fn new(cfg: &ExperimentConfig, registry: &Registry, build: Build) -> Result<Self> {
        let plan = cfg.plan("config", registry)?;
        plan.check_datasets()?;
        let load = match build {
            Build::All => true,
            Build::ReportsOnly { with_data } => with_data,
        };
        let data = match plan.dataset() {
            Some(req) if load => Some(
                registry
                    .load_data(&req, &data_dir(), cfg.seed)
                    .with_context(|| format!("loading the dataset `{}`", req.dataset))?,
            ),
            _ => None,
        };
        let space = plan
            .space
            .build(data.as_ref().map(DataSplit::input_shape))
            .with_context(|| format!("building the `{}` space", cfg.space.kind))?;
        let problem = cfg.problem();
        let evals = build_evaluators(registry, &plan, &space, data.as_ref(), &problem, build)?;
        Ok(Setup { plan, data, space, problem, evals })
    }

    /// The strategy of the config (its needs checked against the space);
    /// `workdir` is the run directory strategies may write to.
    pub fn strategy(
        &self,
        registry: &Registry,
        workdir: Option<&Path>,
        quiet: bool,
        budget: usize,
    ) -> Result<Box<dyn SearchStrategy<DynSpace>>> {
        let ctx = StrategyInputs { data: self.data.as_ref(), workdir, quiet, budget };
        build_strategy(registry, &self.plan, &self.space, &self.evals, &self.problem, ctx)
    }
}

/// What a strategy may use besides the space and the evaluators.
#[derive(Clone, Copy, Default)]
pub struct StrategyInputs<'a> {
    /// The run's data (a differentiable search trains its supernet on it).
    pub data: Option<&'a DataSplit>,
    /// The run directory (checkpoints).
    pub workdir: Option<&'a Path>,
    /// No progress output.
    pub quiet: bool,
    /// The run's budget.
    pub budget: usize,
}

/// Builds and merges the evaluators of `plan` (only those reports need with
/// [`Build::ReportsOnly`]).
pub fn build_evaluators(
    registry: &Registry,
    plan: &Plan,
    space: &DynSpace,
    data: Option<&DataSplit>,
    problem: &Problem,
    build: Build,
) -> Result<Evaluators> {
    let dir = data_dir();
    let ctx = EvaluatorContext { space, problem, data, data_dir: &dir };
    let mut parts: Vec<Arc<dyn Evaluator<AnyArch>>> = Vec::new();
    let mut cheap_parts: Vec<Arc<dyn Evaluator<AnyArch>>> = Vec::new();
    let mut true_front = None;
    let mut warnings = Vec::new();
    for (i, spec) in plan.evaluators.iter().enumerate() {
        if build != Build::All && !spec.for_reports() {
            continue;
        }
        let built = registry
            .build_evaluator(spec.as_ref(), &ctx)
            .with_context(|| format!("evaluators[{i}] (kind = \"{}\")", spec.kind()))?;
        parts.push(built.evaluator);
        cheap_parts.extend(built.cheap);
        if built.true_front.is_some() {
            true_front = built.true_front;
        }
        warnings.extend(built.warnings);
    }
    let merge = |mut v: Vec<Arc<dyn Evaluator<AnyArch>>>| -> Option<Arc<dyn Evaluator<AnyArch>>> {
        match v.len() {
            0 => None,
            1 => v.pop(),
            _ => Some(Arc::new(Joint::new(v))),
        }
    };
    let cheap = merge(cheap_parts);
    let evaluator = merge(parts).unwrap_or_else(|| Arc::new(Joint::new(Vec::new())));
    Ok(Evaluators { evaluator, true_front, cheap, warnings })
}

/// The strategy of `plan`, after checking that the space has what it needs and
/// that the cheap evaluators give the metrics it reads.
pub fn build_strategy(
    registry: &Registry,
    plan: &Plan,
    space: &DynSpace,
    evals: &Evaluators,
    problem: &Problem,
    inputs: StrategyInputs<'_>,
) -> Result<Box<dyn SearchStrategy<DynSpace>>> {
    let provided = evals.cheap.as_ref().map(|c| c.provides()).unwrap_or_default();
    for m in plan.strategy.cheap_metrics() {
        if !provided.contains(&m) {
            let allowed = if provided.is_empty() {
                "none: add a table, lut, measured, energy, systolic or analytical evaluator".to_string()
            } else {
                provided.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
            };
            bail!(
                "strategy.features.cheap: `{}` is not provided by a cheap evaluator; cheap metrics: {allowed}",
                m.name()
            );
        }
    }
    let ctx = StrategyContext {
        space,
        problem,
        data: inputs.data,
        workdir: inputs.workdir,
        cheap: evals.cheap.clone(),
        quiet: inputs.quiet,
        budget: inputs.budget,
    };
    Ok(registry.build_strategy(plan.strategy.as_ref(), space, &ctx)?)
}

/// Resolves a path from a config: absolute stays, relative is taken from the
/// config file's folder.
pub fn resolve(base: &Path, p: &Path) -> std::path::PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { base.join(p) }
}
