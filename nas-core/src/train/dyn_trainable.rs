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
use super::trainer::{TrainConfig, init_seeded, panic_message};
use super::zero_cost::{Proxy, ProxyScores};
use super::{ImageClassifier, TrainableSpace};
use crate::error::NasError;
use crate::evaluator::Evaluator;
use burn::tensor::{Device, Tensor};
use std::sync::Arc;

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
