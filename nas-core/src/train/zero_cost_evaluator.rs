//! The `zero_cost` evaluator: the zero-cost proxies of each candidate's network
//! at initialisation (see [`zero_cost`](super::zero_cost)), as metrics.
//!
//! ```toml
//! [[evaluators]]
//! kind = "zero_cost"
//! proxies = ["synflow", "naswot", "grad_norm"]   # default: all three
//! batch_size = 64                                 # images scored
//! images = "random"                               # or "train": the run's training images
//! ```
//!
//! The scores do not depend on training, so a multi-fidelity scheduler can use
//! one of them in place of accuracy at a zero-epoch rung
//! (`[scheduler] zero_cost = "naswot"`).

use super::backend::Backend;
use super::data::ImageDataset;
use super::zero_cost::{Proxy, proxy_batch};
use crate::dynspace::{AnyArch, DynSpace};
use crate::error::NasError;
use crate::evaluator::{EvalContext, EvalError, Evaluator};
use crate::fidelity::FidelitySupport;
use crate::metric::{Metric, MetricMap};
use crate::registry::{BuiltEvaluator, EvaluatorContext, EvaluatorSettings};
use crate::{Architecture, Capability};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Which images are scored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyImages {
    /// Standard normal pixels of the space's input shape, uniform labels
    /// (seeded; no dataset needed).
    #[default]
    Random,
    /// The training images of the run's dataset (a `train` evaluator's).
    Train,
}

fn default_batch() -> usize {
    64
}

fn default_proxies() -> Vec<Proxy> {
    Proxy::ALL.to_vec()
}

/// Seed of the scored batch: the same images for every candidate.
const BATCH_SEED: u64 = 0x2E60_C057;

/// The `[[evaluators]] kind = "zero_cost"` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZeroCostSettings {
    /// The proxies computed (default all: synflow, naswot, grad_norm).
    #[serde(default = "default_proxies")]
    pub proxies: Vec<Proxy>,
    /// Images in the scored batch (default 64; 2 to 1024).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// `random` (default) or `train`.
    #[serde(default)]
    pub images: ProxyImages,
    /// burn backend: `flex` (default) or `ndarray`.
    #[serde(default)]
    pub backend: Backend,
}

impl Default for ZeroCostSettings {
    fn default() -> Self {
        ZeroCostSettings {
            proxies: default_proxies(),
            batch_size: default_batch(),
            images: ProxyImages::Random,
            backend: Backend::default(),
        }
    }
}

impl EvaluatorSettings for ZeroCostSettings {
    const NAME: &'static str = "zero_cost";
    const DESCRIPTION: &'static str =
        "zero-cost proxies of each network at initialisation from one batch: synflow, naswot, grad_norm";

    fn validate(&self) -> Result<(), NasError> {
        NasError::check_size("batch_size", self.batch_size, 2, 1024)?;
        if self.proxies.is_empty() {
            return Err(NasError::InvalidValue {
                field: "proxies".into(),
                value: "[]".into(),
                allowed: format!("one or more of {}", Proxy::names()),
            });
        }
        Ok(())
    }

    fn provides(&self) -> Vec<Metric> {
        self.proxies.iter().map(|p| p.metric()).collect()
    }

    fn needs(&self) -> Vec<Capability> {
        vec![Capability::Train]
    }

    fn build(&self, ctx: &EvaluatorContext<'_>) -> Result<BuiltEvaluator, NasError> {
        let trainable = ctx.space.trainable().ok_or_else(|| NasError::MissingCapability {
            space: crate::SearchSpace::name(ctx.space).into(),
            capability: Capability::Train.describe().into(),
            user: "evaluator `zero_cost`".into(),
            alternatives: Vec::new(),
        })?;
        let data = match self.images {
            ProxyImages::Random => None,
            ProxyImages::Train => Some(
                ctx.data
                    .ok_or_else(|| NasError::InvalidValue {
                        field: "images".into(),
                        value: "train".into(),
                        allowed: "random, or train with a `train` evaluator in the config (its dataset is scored)"
                            .into(),
                    })?
                    .train
                    .as_ref(),
            ),
        };
        let batch = proxy_batch(data, trainable.input_chw(), trainable.num_classes(), self.batch_size, BATCH_SEED);
        Ok(BuiltEvaluator::new(Arc::new(ZeroCostEvaluator {
            space: ctx.space.clone(),
            batch: Arc::new(batch),
            proxies: self.proxies.clone(),
            backend: self.backend,
        })))
    }
}

/// Scores each candidate with zero-cost proxies (see the module docs).
pub struct ZeroCostEvaluator {
    space: DynSpace,
    batch: Arc<ImageDataset>,
    proxies: Vec<Proxy>,
    backend: Backend,
}

impl ZeroCostEvaluator {
    /// An evaluator of `space`'s networks (which must train) on `batch`.
    pub fn new(space: DynSpace, batch: Arc<ImageDataset>, proxies: Vec<Proxy>, backend: Backend) -> Self {
        ZeroCostEvaluator { space, batch, proxies, backend }
    }
}

impl Evaluator<AnyArch> for ZeroCostEvaluator {
    fn name(&self) -> String {
        format!(
            "zero_cost({} on {} {} images)",
            self.proxies.iter().map(|p| p.name()).collect::<Vec<_>>().join(", "),
            self.batch.len(),
            self.batch.name()
        )
    }

    fn provides(&self) -> Vec<Metric> {
        self.proxies.iter().map(|p| p.metric()).collect()
    }

    fn fidelity(&self) -> FidelitySupport {
        FidelitySupport::Independent
    }

    fn evaluate(&self, arch: &AnyArch, _ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        let trainable = self.space.trainable().ok_or_else(|| {
            EvalError::Fatal(NasError::Backend(format!(
                "space `{}` builds no network",
                crate::SearchSpace::name(&self.space)
            )))
        })?;
        let device = self.backend.device();
        // The weights depend on the candidate only: the same network whatever the run seed.
        let seed = crate::seed::derive_seed(BATCH_SEED, arch.id().0);
        let scores = trainable
            .zero_cost(arch, &self.batch, &self.proxies, &device, seed)
            .map_err(|e| EvalError::failed(e.to_string()))?;
        Ok(scores.into_iter().map(|(p, v)| (p.metric(), v)).collect())
    }
}
