//! The trainable burn network of a NAS-Bench-201 cell.
//!
//! It mirrors [`lower`](super::lower) module for module: the same layers, the same
//! parameters (bias-free convolutions, affine batch norms), so its
//! [`trainable_params`](crate::blocks::nn::trainable_params) equal the lowering's
//! `params()` (burn's `Module::num_params()` adds the batch-norm running
//! statistics, 2 per channel, on top).

use super::genotype::{EDGES, NUM_NODES, Nb201Arch};
use super::lower::NUM_STAGES;
use super::ops::Nb201Op;
use super::space::Nb201Space;
use crate::blocks::nn::{ConvBn, ConvShape, ReluConvBn, batch_norm};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{BatchNorm, Identity, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use nas_core::kernels;
use nas_core::onnx::{OnnxError, OnnxGraph, OnnxValue};
use nas_core::train::zero_cost::relu;
use nas_core::train::{ImageClassifier, TrainableSpace};

/// The module of one cell edge.
// Burn's `Module` derive has no `Box<M>` support, and these modules are built once
// per network, so the size difference between variants is harmless.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum EdgeOp {
    /// `none`: contributes nothing (skipped in the node sum).
    Zero(Identity),
    /// `skip_connect`: identity.
    Skip(Identity),
    /// `nor_conv_1x1` / `nor_conv_3x3`.
    Conv(ReluConvBn),
    /// `avg_pool_3x3` (stride 1, padding 1, padding not counted).
    Pool(AvgPool2d),
}

impl EdgeOp {
    fn new(op: Nb201Op, channels: usize, device: &Device) -> Self {
        match op {
            Nb201Op::None => EdgeOp::Zero(Identity::new()),
            Nb201Op::SkipConnect => EdgeOp::Skip(Identity::new()),
            Nb201Op::NorConv1x1 | Nb201Op::NorConv3x3 => {
                let k = op.conv_kernel().expect("conv op has a kernel");
                EdgeOp::Conv(ReluConvBn::new(ConvShape::dense(channels, channels, k, 1), device))
            }
            Nb201Op::AvgPool3x3 => EdgeOp::Pool(
                AvgPool2dConfig::new([3, 3])
                    .with_strides([1, 1])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .with_count_include_pad(false)
                    .init(),
            ),
        }
    }
}

/// A NAS-Bench-201 cell: node `j` is the sum of its non-`none` input edges; a node
/// with only `none` inputs is zero (and ops reading it run on zeros).
#[derive(Module, Debug)]
pub struct Nb201Cell {
    /// One module per edge, in [`EDGES`] order.
    pub edges: Vec<EdgeOp>,
}

impl Nb201Cell {
    /// Builds the cell for `arch` at `channels`.
    pub fn new(arch: &Nb201Arch, channels: usize, device: &Device) -> Self {
        Nb201Cell { edges: arch.ops().iter().map(|&op| EdgeOp::new(op, channels, device)).collect() }
    }

    /// Forward pass (shape preserving).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        cell_dag(x, |edge, input| match &self.edges[edge] {
            EdgeOp::Zero(_) => None,
            EdgeOp::Skip(_) => Some(input),
            EdgeOp::Conv(m) => Some(m.forward(input)),
            EdgeOp::Pool(m) => Some(kernels::avg_pool2d(m, input)),
        })
    }

    /// The ONNX nodes of [`forward`](Self::forward): the same DAG, a node with
    /// only `none` inputs being zeros.
    pub fn to_onnx(&self, g: &mut OnnxGraph, x: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        let mut nodes: Vec<Option<OnnxValue>> = vec![Some(x.clone())];
        for node in 1..NUM_NODES {
            let mut terms = Vec::new();
            for (edge, &(to, from)) in EDGES.iter().enumerate() {
                if to != node || matches!(self.edges[edge], EdgeOp::Zero(_)) {
                    continue;
                }
                let input = match &nodes[from] {
                    Some(v) => v.clone(),
                    None => g.zeros_like(x),
                };
                g.push_scope(format!("edge{edge}"));
                let term = match &self.edges[edge] {
                    EdgeOp::Zero(_) => unreachable!("skipped above"),
                    EdgeOp::Skip(_) => input,
                    EdgeOp::Conv(m) => m.to_onnx(g, &input)?,
                    EdgeOp::Pool(m) => g.avg_pool2d(&input, m)?,
                };
                g.pop_scope();
                terms.push(term);
            }
            nodes.push(g.sum(&terms));
        }
        Ok(match nodes.pop().flatten() {
            Some(v) => v,
            None => g.zeros_like(x),
        })
    }
}

/// The cell's DAG on input `x`: node `j` is the sum of `term(edge, input)` over
/// the edges entering it (a `None` term contributes nothing); a node with no
/// term is zero, and edges reading it get zeros. Shared by the network and the
/// supernet.
pub(crate) fn cell_dag(x: Tensor<4>, mut term: impl FnMut(usize, Tensor<4>) -> Option<Tensor<4>>) -> Tensor<4> {
    let dims = x.dims();
    let device = x.device();
    // In the input's precision (zero-cost scores run in f64).
    let dtype = x.dtype();
    let zeros = || Tensor::<4>::zeros(dims, (&device, dtype));
    // `None` marks a zero node.
    let mut nodes: Vec<Option<Tensor<4>>> = vec![Some(x)];
    for node in 1..NUM_NODES {
        let mut sum: Option<Tensor<4>> = None;
        for (edge, &(to, from)) in EDGES.iter().enumerate() {
            if to != node {
                continue;
            }
            let Some(t) = term(edge, nodes[from].clone().unwrap_or_else(zeros)) else { continue };
            sum = Some(match sum {
                Some(s) => s + t,
                None => t,
            });
        }
        nodes.push(sum);
    }
    nodes.pop().flatten().unwrap_or_else(zeros)
}

/// The stride-2 ResNet basic block between stages.
#[derive(Module, Debug)]
pub struct ResNetReduction {
    /// ReLU-Conv3x3/2-BN.
    pub conv_a: ReluConvBn,
    /// ReLU-Conv3x3-BN.
    pub conv_b: ReluConvBn,
    /// AvgPool 2x2/2 of the shortcut.
    pub shortcut_pool: AvgPool2d,
    /// Conv1x1 of the shortcut (no BN).
    pub shortcut_conv: Conv2d,
}

impl ResNetReduction {
    /// Builds the block from `in_channels` to `out_channels`.
    pub fn new(in_channels: usize, out_channels: usize, device: &Device) -> Self {
        ResNetReduction {
            conv_a: ReluConvBn::new(ConvShape::dense(in_channels, out_channels, 3, 2), device),
            conv_b: ReluConvBn::new(ConvShape::dense(out_channels, out_channels, 3, 1), device),
            shortcut_pool: AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            shortcut_conv: ConvShape::dense(in_channels, out_channels, 1, 1).init(device),
        }
    }

    /// Forward pass (halves height and width).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let residual = kernels::conv2d(&self.shortcut_conv, kernels::avg_pool2d(&self.shortcut_pool, x.clone()));
        residual + self.conv_b.forward(self.conv_a.forward(x))
    }

    /// The ONNX nodes of [`forward`](Self::forward).
    pub fn to_onnx(&self, g: &mut OnnxGraph, x: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        let pooled = g.avg_pool2d(x, &self.shortcut_pool)?;
        let residual = g.conv2d(&pooled, &self.shortcut_conv)?;
        let a = self.conv_a.to_onnx(g, x)?;
        let b = self.conv_b.to_onnx(g, &a)?;
        Ok(g.add(&residual, &b))
    }
}

/// One stage of the macro network: an optional reduction, then `N` cells.
#[derive(Module, Debug)]
pub struct Nb201Stage {
    /// The ResNet reduction block starting stages 2 and 3.
    pub reduction: Option<ResNetReduction>,
    /// The searched cells.
    pub cells: Vec<Nb201Cell>,
}

impl Nb201Stage {
    /// Forward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = match &self.reduction {
            Some(r) => r.forward(x),
            None => x,
        };
        self.cells.iter().fold(x, |x, cell| cell.forward(x))
    }
}

/// The NAS-Bench-201 `TinyNetwork` for one cell.
#[derive(Module, Debug)]
pub struct Nb201Network {
    /// Conv3x3 + BN stem.
    pub stem: ConvBn,
    /// The three stages (C, 2C, 4C channels).
    pub stages: Vec<Nb201Stage>,
    /// Final BN (followed by ReLU and global average pooling).
    pub last_bn: BatchNorm,
    /// Linear classifier.
    pub classifier: Linear,
}

impl Nb201Network {
    /// Builds the network for `arch` in the macro network of `space`.
    pub fn new(space: &Nb201Space, arch: &Nb201Arch, device: &Device) -> Self {
        let cfg = space.config();
        let c = cfg.channels;
        let stem = ConvBn::new(ConvShape::dense(cfg.input_chw[0], c, 3, 1), device);
        let mut stages = Vec::with_capacity(NUM_STAGES);
        let mut prev = c;
        for stage in 0..NUM_STAGES {
            let channels = c << stage;
            let reduction = (stage > 0).then(|| ResNetReduction::new(prev, channels, device));
            let cells = (0..cfg.cells_per_stage).map(|_| Nb201Cell::new(arch, channels, device)).collect();
            stages.push(Nb201Stage { reduction, cells });
            prev = channels;
        }
        Nb201Network {
            stem,
            stages,
            last_bn: batch_norm(prev, device),
            classifier: LinearConfig::new(prev, cfg.num_classes).init(device),
        }
    }
}

impl ImageClassifier for Nb201Network {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.stages.iter().fold(self.stem.forward(images), |x, stage| stage.forward(x));
        let x = relu(kernels::batch_norm(&self.last_bn, x));
        let [n, c, _, _] = x.dims();
        let pooled = x.mean_dim(3).mean_dim(2).reshape([n, c]);
        self.classifier.forward(pooled)
    }

    fn to_onnx(&self, g: &mut OnnxGraph, images: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        g.push_scope("stem");
        let mut x = self.stem.to_onnx(g, images)?;
        g.pop_scope();
        for (s, stage) in self.stages.iter().enumerate() {
            if let Some(r) = &stage.reduction {
                g.push_scope(format!("stages.{s}.reduction"));
                x = r.to_onnx(g, &x)?;
                g.pop_scope();
            }
            for (c, cell) in stage.cells.iter().enumerate() {
                g.push_scope(format!("stages.{s}.cells.{c}"));
                x = cell.to_onnx(g, &x)?;
                g.pop_scope();
            }
        }
        g.push_scope("head");
        let x = g.batch_norm(&x, &self.last_bn);
        let x = g.relu(&x);
        let pooled = g.global_avg_pool(&x);
        let logits = g.linear(&pooled, &self.classifier);
        g.pop_scope();
        Ok(logits)
    }
}

impl TrainableSpace for Nb201Space {
    type Model = Nb201Network;

    fn build_model(&self, arch: &Nb201Arch, device: &Device) -> Nb201Network {
        Nb201Network::new(self, arch, device)
    }

    fn input_chw(&self) -> [usize; 3] {
        self.config().input_chw
    }

    fn num_classes(&self) -> usize {
        self.config().num_classes
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::blocks::nn::trainable_params;
    use crate::nb201::Nb201Config;
    use nas_core::ToNetworkSpec;

    fn small() -> Nb201Space {
        Nb201Space::new(Nb201Config { channels: 4, cells_per_stage: 1, input_chw: [3, 8, 8], num_classes: 5 })
            .expect("valid")
    }

    const ARCHS: [&str; 4] = [
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|nor_conv_1x1~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    ];

    /// Burn's running mean and variance: 2 per channel of every batch norm.
    pub(crate) fn running_stats(spec: &nas_core::NetworkSpec) -> u64 {
        let bn = spec.layers.iter().filter(|l| l.spec.op == nas_core::OpKind::BatchNorm2d);
        bn.map(|l| 2 * l.spec.out_channels as u64).sum()
    }

    #[test]
    fn parameter_count_matches_the_lowering() {
        let device = Device::flex();
        for space in [small(), Nb201Space::default()] {
            for notation in ARCHS {
                let arch = Nb201Arch::parse(notation).expect("valid");
                let model = space.build_model(&arch, &device);
                let spec = space.network_spec(&arch);
                assert_eq!(trainable_params(&model) as u64, spec.params(), "{notation}");
                assert_eq!(model.num_params() as u64, spec.params() + running_stats(&spec), "{notation}");
            }
        }
    }

    #[test]
    fn forward_gives_finite_logits() {
        let device = Device::flex();
        let space = small();
        for notation in ARCHS {
            let arch = Nb201Arch::parse(notation).expect("valid");
            let model = space.build_model(&arch, &device);
            let x = Tensor::<4>::random([2, 3, 8, 8], burn::tensor::Distribution::Default, &device);
            let y = model.forward(x);
            assert_eq!(y.dims(), [2, 5]);
            let values: Vec<f32> = y.into_data().try_to_vec::<f32>().expect("f32 logits");
            assert!(values.iter().all(|v| v.is_finite()), "{notation}: {values:?}");
        }
    }

    #[test]
    fn gradients_reach_the_stem() {
        let device = Device::flex().autodiff();
        let space = small();
        let arch = Nb201Arch::parse(ARCHS[0]).expect("valid");
        let model = space.build_model(&arch, &device);
        let x = Tensor::<4>::random([2, 3, 8, 8], burn::tensor::Distribution::Default, &device);
        let loss = model.forward(x).powi_scalar(2).mean();
        let grads = loss.backward();
        let g = model.stem.conv.weight.grad(&grads).expect("stem gradient");
        let norm: f32 = g.abs().sum().into_scalar::<f32>();
        assert!(norm.is_finite() && norm > 0.0, "gradient norm {norm}");
    }

    #[test]
    fn zero_cost_scores_of_the_benchmark_networks_are_finite_and_a_dead_cell_scores_lowest() {
        use nas_core::train::DynTrainable;
        use nas_core::train::zero_cost::{Proxy, proxy_batch};
        let device = Device::flex();
        // The benchmark's own network (C = 16, N = 5): synflow's gradients reach
        // e^90 in the first layers, beyond f32.
        let space = Nb201Space::default();
        let batch = proxy_batch(None, [3, 32, 32], 10, 8, 1);
        let score = |notation: &str| -> Vec<f64> {
            let arch = Nb201Arch::parse(notation).expect("valid");
            // (Not compared across calls here: the other tests of this binary build
            // networks outside `init_seeded`, from burn's process-wide generator,
            // on other threads.)
            let s = space.zero_cost(&arch, &batch, &Proxy::ALL, &device, 7).expect("scores");
            s.into_iter().map(|(_, v)| v).collect()
        };
        let deep = score(ARCHS[3]);
        assert!(deep.iter().all(|v| v.is_finite()), "{deep:?}");
        assert!(deep[0] > 88.0, "ln synflow {} would overflow f32", deep[0]);
        // Every path of the cell is `none`: the output does not depend on the input.
        let dead = score(ARCHS[1]);
        assert_eq!(dead[0], f64::NEG_INFINITY, "synflow {dead:?}");
        assert_eq!(dead[1], f64::NEG_INFINITY, "naswot {dead:?}");
        assert_eq!(dead[2], 0.0, "grad_norm {dead:?}");
    }
}
