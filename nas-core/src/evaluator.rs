//! Evaluators turn architectures into metrics; cost models price layer descriptions.
//!
//! Everything that costs is an evaluator: a benchmark table, a trained network, a
//! lookup table, an analytical model or a fitted predictor. [`Joint`] merges the
//! metric maps of several evaluators, and
//! [`CostEvaluator`] adapts any [`CostModel`] to a space that lowers to layers.

use crate::arch::Architecture;
use crate::error::NasError;
use crate::fidelity::FidelitySupport;
use crate::layer::NetworkSpec;
use crate::metric::{Metric, MetricMap};
use crate::space::ToNetworkSpec;
use std::sync::Arc;

/// Progress callback: `(message, fraction done in 0..=1)`.
pub type ProgressFn<'a> = dyn Fn(&str, f64) + Sync + 'a;

/// Per-evaluation context handed to evaluators by the search driver.
#[derive(Clone, Copy)]
pub struct EvalContext<'a> {
    /// Seed for this evaluation, derived from `(run seed, arch id)` so results do
    /// not depend on thread scheduling.
    pub seed: u64,
    /// Optional progress callback: `(message, fraction done in 0..=1)`.
    pub progress: Option<&'a ProgressFn<'a>>,
    /// The training budget in epochs a multi-fidelity scheduler asks for
    /// (`None`: the evaluator's own, full budget). See [`crate::fidelity`].
    pub fidelity: Option<u32>,
    /// Where an evaluator that trains a network saves the trained weights (a
    /// burn record, and the training settings beside it as `.json`); `None`:
    /// not kept. The search driver sets it when the run keeps weights
    /// ([`Search::keep_weights`](crate::Search::keep_weights)).
    pub weights: Option<&'a std::path::Path>,
}

impl<'a> EvalContext<'a> {
    /// A context with a seed and no progress reporting.
    pub fn with_seed(seed: u64) -> Self {
        EvalContext { seed, progress: None, fidelity: None, weights: None }
    }

    /// Reports progress if a callback is set.
    pub fn report(&self, message: &str, fraction: f64) {
        if let Some(p) = self.progress {
            p(message, fraction);
        }
    }
}

/// Why an evaluation produced no metrics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// This candidate failed (diverged, not in the table, ...). The search records a
    /// failed trial with the reason and goes on.
    #[error("{reason}")]
    Failed {
        /// Human-readable reason, stored in the trial record.
        reason: String,
    },
    /// The evaluator itself is broken (missing file, bad setup): the search stops.
    #[error(transparent)]
    Fatal(#[from] NasError),
}

impl EvalError {
    /// A per-candidate failure.
    pub fn failed(reason: impl Into<String>) -> Self {
        EvalError::Failed { reason: reason.into() }
    }
}

/// Anything that turns an architecture into metrics.
pub trait Evaluator<A: Architecture>: Send + Sync {
    /// Short name for logs and errors.
    fn name(&self) -> String;

    /// Metrics this evaluator returns.
    fn provides(&self) -> Vec<Metric>;

    /// Evaluates one architecture.
    fn evaluate(&self, arch: &A, ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError>;

    /// Whether evaluation is cheap enough to call thousands of times (tables, cost
    /// models, predictors). Predictor-guided strategies query cheap evaluators freely.
    fn is_cheap(&self) -> bool {
        false
    }

    /// How the results depend on the training budget (default: they are of one
    /// fixed budget, so no scheduler can use this evaluator).
    fn fidelity(&self) -> FidelitySupport {
        FidelitySupport::Fixed
    }

    /// Called by the driver with each batch (architectures and their evaluation
    /// seeds) before it evaluates the members in parallel, so that an evaluator
    /// handing work to other processes publishes the whole batch at once
    /// (default: nothing). An error stops the search.
    fn prepare(&self, batch: &[(&A, u64)]) -> Result<(), EvalError> {
        let _ = batch;
        Ok(())
    }
}

impl<A: Architecture, E: Evaluator<A> + ?Sized> Evaluator<A> for Arc<E> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn provides(&self) -> Vec<Metric> {
        (**self).provides()
    }
    fn evaluate(&self, arch: &A, ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        (**self).evaluate(arch, ctx)
    }
    fn is_cheap(&self) -> bool {
        (**self).is_cheap()
    }
    fn fidelity(&self) -> FidelitySupport {
        (**self).fidelity()
    }
    fn prepare(&self, batch: &[(&A, u64)]) -> Result<(), EvalError> {
        (**self).prepare(batch)
    }
}

/// Runs several evaluators and merges their metric maps (later ones win on overlap).
pub struct Joint<A: Architecture> {
    parts: Vec<Arc<dyn Evaluator<A>>>,
}

impl<A: Architecture> Joint<A> {
    /// Composes the given evaluators, evaluated in order.
    pub fn new(parts: Vec<Arc<dyn Evaluator<A>>>) -> Self {
        Joint { parts }
    }

    /// The composed evaluators.
    pub fn parts(&self) -> &[Arc<dyn Evaluator<A>>] {
        &self.parts
    }
}

impl<A: Architecture> Evaluator<A> for Joint<A> {
    fn name(&self) -> String {
        let names: Vec<String> = self.parts.iter().map(|p| p.name()).collect();
        format!("joint({})", names.join(" + "))
    }
    fn provides(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        for p in &self.parts {
            for m in p.provides() {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        out
    }
    fn is_cheap(&self) -> bool {
        self.parts.iter().all(|p| p.is_cheap())
    }
    fn fidelity(&self) -> FidelitySupport {
        FidelitySupport::combine(&self.parts.iter().map(|p| p.fidelity()).collect::<Vec<_>>())
    }
    /// At a budget of zero epochs (a scheduler's zero-cost rung) only the parts
    /// whose results do not depend on training run.
    fn evaluate(&self, arch: &A, ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        let mut out = MetricMap::new();
        for p in &self.parts {
            if ctx.fidelity == Some(0) && p.fidelity() != FidelitySupport::Independent {
                continue;
            }
            out.extend(p.evaluate(arch, ctx)?);
        }
        Ok(out)
    }
}

/// A model that prices a layer-level network description (analytical or measured).
pub trait CostModel: Send + Sync {
    /// Short name for logs and errors.
    fn name(&self) -> String;
    /// Metrics it returns.
    fn provides(&self) -> Vec<Metric>;
    /// Prices one network.
    fn cost(&self, net: &NetworkSpec) -> Result<MetricMap, NasError>;
}

/// Adapts a [`CostModel`] into an [`Evaluator`] for a space that lowers to layers.
pub struct CostEvaluator<S: ToNetworkSpec> {
    space: Arc<S>,
    model: Arc<dyn CostModel>,
}

impl<S: ToNetworkSpec> CostEvaluator<S> {
    /// Prices architectures of `space` with `model`.
    pub fn new(space: Arc<S>, model: Arc<dyn CostModel>) -> Self {
        CostEvaluator { space, model }
    }
}

impl<S: ToNetworkSpec> Evaluator<S::Arch> for CostEvaluator<S> {
    fn name(&self) -> String {
        self.model.name()
    }
    fn provides(&self) -> Vec<Metric> {
        self.model.provides()
    }
    fn is_cheap(&self) -> bool {
        true
    }
    fn fidelity(&self) -> FidelitySupport {
        FidelitySupport::Independent
    }
    fn evaluate(&self, arch: &S::Arch, _ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        let net = self.space.network_spec(arch);
        Ok(self.model.cost(&net)?)
    }
}

/// The analytical cost model every space gets for free: params, MACs, FLOPs,
/// BitOps and the memory estimate of [`NetworkSpec`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AnalyticalCost;

impl CostModel for AnalyticalCost {
    fn name(&self) -> String {
        "analytical".into()
    }
    fn provides(&self) -> Vec<Metric> {
        vec![Metric::Params, Metric::Flops, Metric::Macs, Metric::BitOps, Metric::MemoryMb]
    }
    fn cost(&self, net: &NetworkSpec) -> Result<MetricMap, NasError> {
        Ok(MetricMap::from([
            (Metric::Params, net.params() as f64),
            (Metric::Flops, net.flops() as f64),
            (Metric::Macs, net.macs() as f64),
            (Metric::BitOps, net.bit_ops() as f64),
            (Metric::MemoryMb, net.memory_bytes() / 1e6),
        ]))
    }
}

/// Settings of the `analytical` evaluator (no fields): [`AnalyticalCost`].
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticalSettings {}

impl crate::registry::CostModelSettings for AnalyticalSettings {
    const NAME: &'static str = "analytical";
    const DESCRIPTION: &'static str = "params, FLOPs, MACs, BitOps and memory from the layer description";
    fn model(&self) -> crate::Result<Arc<dyn CostModel>> {
        Ok(Arc::new(AnalyticalCost))
    }
}
