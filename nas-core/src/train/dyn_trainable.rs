//! Training and timing a space's networks without naming its model type.
//!
//! [`TrainableSpace`] has an associated model type, so code that holds a space
//! behind a [`DynSpace`](crate::DynSpace) cannot name it. [`DynTrainable`]
//! offers what such code needs (the input shape, a forward-only network for
//! timing, the training evaluator) through an object-safe trait; every
//! `TrainableSpace + Clone` implements it.

use super::backend::Backend;
use super::data::ImageDataset;
use super::evaluator::TrainingEvaluator;
use super::retrain::{RetrainEvent, RetrainJob, RetrainOutcome};
use super::trainer::{TrainConfig, init_seeded, panic_message};
use super::zero_cost::{Proxy, ProxyScores};
use super::{ImageClassifier, TrainableSpace};
use crate::error::NasError;
use crate::evaluator::Evaluator;
use crate::onnx::{OnnxGraph, OnnxModel, OnnxModelInfo};
use burn::tensor::{Device, Tensor};
use std::path::Path;
use std::sync::Arc;

/// The network of `arch`, seeded, with `weights` loaded when given.
fn load_model<S: TrainableSpace>(
    space: &S,
    arch: &S::Arch,
    weights: Option<&Path>,
    device: &Device,
    seed: u64,
) -> Result<S::Model, NasError> {
    let model = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        init_seeded(seed, device, || space.build_model(arch, device))
    }))
    .map_err(|p| NasError::Backend(format!("building the network failed: {}", panic_message(p))))?;
    match weights {
        Some(path) => super::weights::load_weights(model, path),
        None => Ok(model),
    }
}

/// A built network used for inference only (timing, zero-cost scores), whatever
/// its concrete type.
pub trait Forward: Send {
    /// Logits `[N, classes]` of a batch `[N, C, H, W]`.
    fn forward(&self, images: Tensor<4>) -> Tensor<2>;
}

impl<M: ImageClassifier + Send> Forward for M {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        ImageClassifier::forward(self, images)
    }
}

/// The object-safe side of [`TrainableSpace`] (see the module docs).
pub trait DynTrainable<A>: Send + Sync {
    /// Input shape `[channels, height, width]` of the networks.
    fn input_chw(&self) -> [usize; 3];

    /// Classes the networks predict.
    fn num_classes(&self) -> usize;

    /// A network for `arch` on `device`, its parameters initialised from `seed`
    /// ([`init_seeded`]: the same seed gives the same weights).
    fn build_forward(&self, arch: &A, device: &Device, seed: u64) -> Box<dyn Forward>;

    /// The network of `arch` for inference on `device`: its parameters loaded
    /// from the burn record `weights` when given (an error names the file when
    /// it does not fit the architecture), else initialised from `seed`.
    fn load_forward(
        &self,
        arch: &A,
        weights: Option<&Path>,
        device: &Device,
        seed: u64,
    ) -> Result<Box<dyn Forward>, NasError>;

    /// The ONNX model of `arch` (weights as in [`load_forward`](Self::load_forward));
    /// `info.input_chw` is filled in from the space.
    fn export_onnx(
        &self,
        arch: &A,
        weights: Option<&Path>,
        seed: u64,
        info: &OnnxModelInfo,
    ) -> Result<OnnxModel, NasError>;

    /// Trains `arch` as `job` says, continuing from its checkpoint when there
    /// is one (see [`retrain`](super::retrain::retrain)).
    fn retrain(
        &self,
        arch: &A,
        job: &RetrainJob,
        events: &mut (dyn FnMut(RetrainEvent) + Send),
    ) -> Result<RetrainOutcome, NasError>;

    /// The zero-cost `proxies` of the network of `arch` initialised from `seed`,
    /// on `batch` (see [`zero_cost`](super::zero_cost)). A panic inside burn
    /// becomes [`NasError::Backend`].
    fn zero_cost(
        &self,
        arch: &A,
        batch: &ImageDataset,
        proxies: &[Proxy],
        device: &Device,
        seed: u64,
    ) -> Result<ProxyScores, NasError>;

    /// The evaluator that trains architectures of this space on `train` and
    /// validates on `val` (checked: shapes, classes, settings).
    fn training_evaluator(
        &self,
        train: Arc<ImageDataset>,
        val: Arc<ImageDataset>,
        config: TrainConfig,
        backend: Backend,
    ) -> Result<Arc<dyn Evaluator<A>>, NasError>;
}

impl<S: TrainableSpace + Clone + 'static> DynTrainable<S::Arch> for S {
    fn input_chw(&self) -> [usize; 3] {
        TrainableSpace::input_chw(self)
    }

    fn num_classes(&self) -> usize {
        TrainableSpace::num_classes(self)
    }

    fn build_forward(&self, arch: &S::Arch, device: &Device, seed: u64) -> Box<dyn Forward> {
        Box::new(init_seeded(seed, device, || self.build_model(arch, device)))
    }

    fn load_forward(
        &self,
        arch: &S::Arch,
        weights: Option<&Path>,
        device: &Device,
        seed: u64,
    ) -> Result<Box<dyn Forward>, NasError> {
        Ok(Box::new(load_model(self, arch, weights, device, seed)?))
    }

    fn export_onnx(
        &self,
        arch: &S::Arch,
        weights: Option<&Path>,
        seed: u64,
        info: &OnnxModelInfo,
    ) -> Result<OnnxModel, NasError> {
        let model = load_model(self, arch, weights, &Device::flex(), seed)?;
        let mut graph = OnnxGraph::new();
        let input = OnnxGraph::input();
        let output = model.to_onnx(&mut graph, &input)?;
        let info = OnnxModelInfo { input_chw: TrainableSpace::input_chw(self), ..info.clone() };
        Ok(graph.finish(&input, &output, &info))
    }

    fn retrain(
        &self,
        arch: &S::Arch,
        job: &RetrainJob,
        events: &mut (dyn FnMut(RetrainEvent) + Send),
    ) -> Result<RetrainOutcome, NasError> {
        super::retrain::retrain(self, arch, job, events)
    }

    fn zero_cost(
        &self,
        arch: &S::Arch,
        batch: &ImageDataset,
        proxies: &[Proxy],
        device: &Device,
        seed: u64,
    ) -> Result<ProxyScores, NasError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let build = || init_seeded(seed, device, || self.build_model(arch, device));
            super::zero_cost::score(build, batch, proxies, device)
        }))
        .map_err(|p| NasError::Backend(format!("zero-cost proxies: {}", panic_message(p))))?
    }

    fn training_evaluator(
        &self,
        train: Arc<ImageDataset>,
        val: Arc<ImageDataset>,
        config: TrainConfig,
        backend: Backend,
    ) -> Result<Arc<dyn Evaluator<S::Arch>>, NasError> {
        let eval = TrainingEvaluator::new(Arc::new(self.clone()), train, val, config, backend);
        eval.check()?;
        Ok(Arc::new(eval))
    }
}
