//! Training candidate networks with burn: datasets, the training loop and the
//! training evaluator.
//!
//! Spaces that can build a real network implement [`TrainableSpace`]; their model
//! type implements [`ImageClassifier`]. The trainer is generic over both.
//!
//! - [`data`]: [`ImageDataset`] (in-memory NCHW `f32`), splits, subsets, batches.
//! - [`loaders`]: MNIST idx, CIFAR-10 binary, image folders, the shipped `mnist10k`
//!   and `digits` ([`load_builtin`]).
//! - [`trainer`]: [`TrainConfig`], [`train_classifier`], [`init_seeded`] (seeded,
//!   reproducible parameter initialisation; see its notes on determinism).
//! - [`evaluator`]: [`TrainingEvaluator`], the [`Evaluator`](crate::Evaluator) that
//!   trains each candidate.
//! - [`dyn_trainable`]: [`DynTrainable`], training and timing a space's networks
//!   behind a [`DynSpace`](crate::DynSpace).
//! - [`retrain`](mod@retrain): one chosen architecture trained with a long schedule,
//!   checkpointed per epoch and resumable ([`retrain()`], [`RetrainJob`]).
//! - [`weights`]: trained weights kept on disk ([`save_weights`], [`load_weights`],
//!   [`WeightsInfo`]).
//! - [`backend`]: the [`Backend`] choice (flex / ndarray) and [`measure_throughput`].
//!
//! Training is fastest when the binary uses a pooling allocator such as mimalloc
//! (`#[global_allocator]`): burn frees and reallocates multi-megabyte buffers every
//! step, which glibc's malloc hands back to the kernel each time.

use crate::onnx::{OnnxError, OnnxGraph, OnnxValue};
use crate::space::SearchSpace;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

/// A burn network that maps a batch of images `[N, C, H, W]` to logits `[N, classes]`.
pub trait ImageClassifier: Module + 'static {
    /// Forward pass producing un-normalised class scores.
    fn forward(&self, images: Tensor<4>) -> Tensor<2>;

    /// Writes the inference graph of [`forward`](Self::forward) (batch norms
    /// with their running statistics) into `graph`, from `images`, and returns
    /// the logits. Part of the space recipe (ARCHITECTURE.md): a network without
    /// it cannot be exported to ONNX, which the default says.
    fn to_onnx(&self, graph: &mut OnnxGraph, images: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        let _ = (graph, images);
        Err(OnnxError::Unsupported { what: format!("network `{}`", std::any::type_name::<Self>()) })
    }
}

/// Spaces that build a trainable burn network for each architecture. The input
/// shape and class count come from the space's own configuration (the same one it
/// lowers to a [`NetworkSpec`](crate::NetworkSpec)), so cost and accuracy describe
/// the same network.
pub trait TrainableSpace: SearchSpace {
    /// The network type.
    type Model: ImageClassifier;

    /// Builds a freshly initialised network for `arch` on `device`.
    fn build_model(&self, arch: &Self::Arch, device: &Device) -> Self::Model;

    /// Input shape `[channels, height, width]` the networks expect.
    fn input_chw(&self) -> [usize; 3];

    /// Number of classes the networks predict.
    fn num_classes(&self) -> usize;
}

pub mod backend;
pub mod data;
pub mod dyn_trainable;
pub mod evaluator;
pub mod loaders;
pub mod retrain;
pub mod trainer;
pub mod weights;
pub mod zero_cost;
pub mod zero_cost_evaluator;

pub use backend::{Backend, ReferenceCnn, Throughput, ThroughputConfig, measure_throughput};
pub use data::{Batch, BatchIter, ChannelStats, DataSplit, ImageDataset};
pub use dyn_trainable::{DynTrainable, Forward};
pub use evaluator::TrainingEvaluator;
pub use loaders::{
    BUILTIN_DATASETS, ImageFolderOptions, load_builtin, load_cifar10, load_cifar10_files, load_digits,
    load_image_folder, load_mnist, load_mnist_idx, load_mnist10k,
};
pub use retrain::{EpochResult, RetrainEvent, RetrainJob, RetrainOutcome, retrain};
pub use trainer::{
    OptimizerConfig, TrainConfig, TrainFailure, TrainProgress, TrainReport, evaluate_classifier, fit_classifier,
    init_seeded, train_classifier,
};
pub use weights::{WeightsInfo, load_weights, read_info, save_weights};
