//! Backend choice and the training-throughput benchmark.
//!
//! Two CPU backends are built in: **flex** (burn's pure-Rust CPU backend, with
//! rayon threads, SIMD kernels and `gemm`-based convolutions) and **ndarray** (the
//! older, deprecated CPU backend, kept for comparison). [`measure_throughput`]
//! trains the [`ReferenceCnn`] on random 32x32 images and reports images per second
//! with a forward / backward / optimiser breakdown.

use super::ImageClassifier;
use super::trainer::{OptimizerConfig, TrainFailure, panic_message, with_threads};
use crate::error::NasError;
use crate::kernels::{self, KernelPath};
use crate::onnx::{OnnxError, OnnxGraph, OnnxValue};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;
use std::time::Instant;

/// The burn backend a network trains on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// burn's pure-Rust CPU backend (multi-threaded, SIMD). The fast default.
    #[default]
    Flex,
    /// The ndarray CPU backend (deprecated by burn; several times slower).
    Ndarray,
}

impl Backend {
    /// Every backend, in declaration order.
    pub const ALL: [Backend; 2] = [Backend::Flex, Backend::Ndarray];

    /// The config name (`flex`, `ndarray`).
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
        }
    }

    /// A plain (non-autodiff) device of this backend; call `.autodiff()` on it to
    /// train.
    pub fn device(&self) -> Device {
        match self {
            Backend::Flex => Device::flex(),
            #[allow(deprecated)] // ndarray is deprecated upstream; kept as a comparison point
            Backend::Ndarray => Device::ndarray(),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = NasError;
    fn from_str(s: &str) -> Result<Self, NasError> {
        Backend::ALL.iter().copied().find(|b| b.name() == s.trim()).ok_or_else(|| NasError::UnknownName {
            what: "backend",
            value: s.to_string(),
            allowed: Backend::ALL.map(|b| b.name()).join(", "),
        })
    }
}

/// The reference network of the throughput benchmark: conv3x3 (C->16), BN, ReLU,
/// conv3x3 (16->32, stride 2), BN, ReLU, global average pool, linear (32->classes).
#[derive(Module, Debug)]
pub struct ReferenceCnn {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    relu: Relu,
    pool: AdaptiveAvgPool2d,
    head: Linear,
}

impl ReferenceCnn {
    /// A freshly initialised network for `channels`-channel images.
    pub fn new(channels: usize, classes: usize, device: &Device) -> Self {
        ReferenceCnn {
            conv1: Conv2dConfig::new([channels, 16], [3, 3]).with_padding(PaddingConfig2d::Same).init(device),
            bn1: BatchNormConfig::new(16).init(device),
            conv2: Conv2dConfig::new([16, 32], [3, 3])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device),
            bn2: BatchNormConfig::new(32).init(device),
            relu: Relu::new(),
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            head: LinearConfig::new(32, classes).init(device),
        }
    }
}

impl ImageClassifier for ReferenceCnn {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.relu.forward(kernels::batch_norm(&self.bn1, kernels::conv2d(&self.conv1, images)));
        let x = self.relu.forward(kernels::batch_norm(&self.bn2, kernels::conv2d(&self.conv2, x)));
        let x = self.pool.forward(x);
        let [n, c, _, _] = x.dims();
        self.head.forward(x.reshape([n, c]))
    }

    fn to_onnx(&self, g: &mut OnnxGraph, images: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        let mut x = images.clone();
        for (conv, bn) in [(&self.conv1, &self.bn1), (&self.conv2, &self.bn2)] {
            let y = g.conv2d(&x, conv)?;
            let y = g.batch_norm(&y, bn);
            x = g.relu(&y);
        }
        let pooled = g.global_avg_pool(&x);
        Ok(g.linear(&pooled, &self.head))
    }
}

/// Settings of [`measure_throughput`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThroughputConfig {
    /// Images per step (default 64).
    pub batch_size: usize,
    /// Image side (default 32; images are 3 x side x side).
    pub image_size: usize,
    /// Untimed steps first (default 2).
    pub warmup_steps: usize,
    /// Timed steps (default 10).
    pub steps: usize,
    /// Private thread pool size (default: rayon's global pool).
    pub threads: Option<usize>,
    /// Convolution and batch-norm kernels (default: hwnas's).
    pub kernels: KernelPath,
}

impl Default for ThroughputConfig {
    fn default() -> Self {
        ThroughputConfig {
            batch_size: 64,
            image_size: 32,
            warmup_steps: 2,
            steps: 10,
            threads: None,
            kernels: KernelPath::Hwnas,
        }
    }
}

/// Result of [`measure_throughput`]; times are means per step in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// The backend measured.
    pub backend: Backend,
    /// The kernels measured.
    pub kernels: KernelPath,
    /// Training images per second.
    pub images_per_second: f64,
    /// Whole step.
    pub step_ms: f64,
    /// Forward pass and loss.
    pub forward_ms: f64,
    /// Backward pass (gradients).
    pub backward_ms: f64,
    /// Optimiser update (Adam).
    pub optimizer_ms: f64,
}

impl fmt::Display for Throughput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} kernels): {:.0} img/s ({:.1} ms/step = forward {:.1} + backward {:.1} + optimizer {:.1})",
            self.backend,
            self.kernels,
            self.images_per_second,
            self.step_ms,
            self.forward_ms,
            self.backward_ms,
            self.optimizer_ms
        )
    }
}

/// One benchmark training step state: the model, optimiser and a fixed batch.
pub struct ThroughputBench {
    model: Option<ReferenceCnn>,
    optim: burn::optim::ModuleOptimizer,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    loss: burn::nn::loss::CrossEntropyLoss,
}

impl ThroughputBench {
    /// The reference CNN (seeded), Adam (lr 1e-3) and one random batch of
    /// `batch_size` 3 x `image_size` x `image_size` images on `backend`.
    pub fn new(backend: Backend, batch_size: usize, image_size: usize) -> Self {
        let device = backend.device().autodiff();
        let model = super::trainer::init_seeded(7, &device, || ReferenceCnn::new(3, 10, &device));
        let images =
            Tensor::<4>::random([batch_size, 3, image_size, image_size], Distribution::Normal(0.0, 1.0), &device);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let labels: Vec<i64> = (0..batch_size).map(|_| rng.random_range(0..10)).collect();
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch_size]), &device);
        let optim = OptimizerConfig::Adam { lr: 1e-3, weight_decay: 0.0 }.init();
        let loss = CrossEntropyLossConfig::new().init(&device);
        ThroughputBench { model: Some(model), optim, images, labels, loss }
    }

    /// One training step; returns (forward, backward, optimiser) seconds.
    pub fn step(&mut self) -> (f64, f64, f64) {
        let model = self.model.take().expect("the model is put back after every step");
        let t0 = Instant::now();
        let logits = model.forward(self.images.clone());
        let loss = self.loss.forward(logits, self.labels.clone());
        let _ = loss.clone().into_scalar::<f32>(); // the trainer reads the loss every step too
        let t1 = Instant::now();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let t2 = Instant::now();
        let model = self.optim.step(1e-3, model, grads);
        let t3 = Instant::now();
        self.model = Some(model);
        ((t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64(), (t3 - t2).as_secs_f64())
    }
}

/// Measures training throughput of the [`ReferenceCnn`] with Adam on random
/// images (see [`ThroughputConfig`]).
pub fn measure_throughput(backend: Backend, cfg: &ThroughputConfig) -> Result<Throughput, TrainFailure> {
    if cfg.batch_size == 0 || cfg.image_size < 2 || cfg.steps == 0 || cfg.threads == Some(0) {
        return Err(NasError::InvalidValue {
            field: "throughput".into(),
            value: format!("{cfg:?}"),
            allowed: "batch_size >= 1, image_size >= 2, steps >= 1, threads >= 1".into(),
        }
        .into());
    }
    with_threads(cfg.threads, || {
        kernels::with_kernel_path(cfg.kernels, || {
            catch_unwind(AssertUnwindSafe(|| {
                let mut bench = ThroughputBench::new(backend, cfg.batch_size, cfg.image_size);
                for _ in 0..cfg.warmup_steps {
                    bench.step();
                }
                let (mut f, mut b, mut o) = (0.0, 0.0, 0.0);
                for _ in 0..cfg.steps {
                    let (df, db, dop) = bench.step();
                    f += df;
                    b += db;
                    o += dop;
                }
                let n = cfg.steps as f64;
                let step = (f + b + o) / n;
                Throughput {
                    backend,
                    images_per_second: cfg.batch_size as f64 / step,
                    step_ms: step * 1e3,
                    forward_ms: f / n * 1e3,
                    backward_ms: b / n * 1e3,
                    optimizer_ms: o / n * 1e3,
                    kernels: cfg.kernels,
                }
            }))
        })
        .map_err(|p| TrainFailure::Backend(panic_message(p)))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_round_trip() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>().expect("parse"), b);
            assert_eq!(serde_json::to_string(&b).expect("json"), format!("\"{b}\""));
        }
        assert!("cuda".parse::<Backend>().is_err());
    }

    #[test]
    fn throughput_runs_on_both_backends() {
        let cfg = ThroughputConfig {
            batch_size: 8,
            image_size: 8,
            warmup_steps: 1,
            steps: 2,
            threads: Some(1),
            kernels: KernelPath::Hwnas,
        };
        for b in Backend::ALL {
            let t = measure_throughput(b, &cfg).expect("measures");
            assert!(t.images_per_second > 0.0 && t.step_ms > 0.0, "{t}");
        }
    }
}
