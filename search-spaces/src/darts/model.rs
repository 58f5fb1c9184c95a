//! The trainable burn network of a DARTS genotype (`NetworkCIFAR` without
//! auxiliary head and drop-path).
//!
//! It mirrors [`lower`](super::lower) module for module, so its
//! [`trainable_params`](crate::blocks::nn::trainable_params) equal the lowering's
//! `params()` (burn's `Module::num_params()` adds the batch-norm running
//! statistics, 2 per channel, on top).

use super::config::CellPlan;
use super::genotype::{DartsCell, DartsGenotype, NUM_NODES};
use super::lower::edge_stride;
use super::ops::DartsOp;
use super::space::DartsSpace;
use crate::blocks::nn::{ConvBn, ConvShape, FactorizedReduce, ReluConvBn, batch_norm};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, Identity, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use nas_core::kernels;
use nas_core::onnx::{OnnxError, OnnxGraph, OnnxValue};
use nas_core::train::zero_cost::relu;
use nas_core::train::{ImageClassifier, TrainableSpace};

/// DARTS `SepConv`: (ReLU, depthwise kxk, pointwise 1x1, BN) twice; the stride is
/// on the first depthwise convolution.
#[derive(Module, Debug)]
pub struct SepConv {
    /// First depthwise convolution (strided).
    pub dw1: Conv2d,
    /// First pointwise convolution.
    pub pw1: Conv2d,
    /// First batch norm.
    pub bn1: BatchNorm,
    /// Second depthwise convolution.
    pub dw2: Conv2d,
    /// Second pointwise convolution.
    pub pw2: Conv2d,
    /// Second batch norm.
    pub bn2: BatchNorm,
}

impl SepConv {
    /// Builds the op on `c` channels.
    pub fn new(c: usize, kernel: usize, stride: usize, device: &Device) -> Self {
        let pw = ConvShape::dense(c, c, 1, 1);
        SepConv {
            dw1: ConvShape::depthwise(c, kernel, stride, kernel / 2, 1).init(device),
            pw1: pw.init(device),
            bn1: batch_norm(c, device),
            dw2: ConvShape::depthwise(c, kernel, 1, kernel / 2, 1).init(device),
            pw2: pw.init(device),
            bn2: batch_norm(c, device),
        }
    }

    /// Forward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = kernels::batch_norm(&self.bn1, kernels::conv2d(&self.pw1, kernels::conv2d(&self.dw1, relu(x))));
        kernels::batch_norm(&self.bn2, kernels::conv2d(&self.pw2, kernels::conv2d(&self.dw2, relu(x))))
    }

    /// The ONNX nodes of [`forward`](Self::forward).
    pub fn to_onnx(&self, g: &mut OnnxGraph, x: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        let mut y = x.clone();
        for (dw, pw, bn) in [(&self.dw1, &self.pw1, &self.bn1), (&self.dw2, &self.pw2, &self.bn2)] {
            let r = g.relu(&y);
            let d = g.conv2d(&r, dw)?;
            let p = g.conv2d(&d, pw)?;
            y = g.batch_norm(&p, bn);
        }
        Ok(y)
    }
}

/// DARTS `DilConv`: ReLU, depthwise kxk with dilation 2 (strided), pointwise 1x1, BN.
#[derive(Module, Debug)]
pub struct DilConv {
    /// Dilated depthwise convolution.
    pub dw: Conv2d,
    /// Pointwise convolution.
    pub pw: Conv2d,
    /// Batch norm.
    pub bn: BatchNorm,
}

impl DilConv {
    /// Builds the op on `c` channels.
    pub fn new(c: usize, kernel: usize, stride: usize, device: &Device) -> Self {
        DilConv {
            dw: ConvShape::depthwise(c, kernel, stride, kernel - 1, 2).init(device),
            pw: ConvShape::dense(c, c, 1, 1).init(device),
            bn: batch_norm(c, device),
        }
    }

    /// Forward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        kernels::batch_norm(&self.bn, kernels::conv2d(&self.pw, kernels::conv2d(&self.dw, relu(x))))
    }

    /// The ONNX nodes of [`forward`](Self::forward).
    pub fn to_onnx(&self, g: &mut OnnxGraph, x: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        let r = g.relu(x);
        let d = g.conv2d(&r, &self.dw)?;
        let p = g.conv2d(&d, &self.pw)?;
        Ok(g.batch_norm(&p, &self.bn))
    }
}

/// The module of one edge.
// Burn's `Module` derive has no `Box<M>` support, and these modules are built once
// per network, so the size difference between variants is harmless.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum DartsEdgeOp {
    /// `max_pool_3x3`.
    MaxPool(MaxPool2d),
    /// `avg_pool_3x3` (padding not counted).
    AvgPool(AvgPool2d),
    /// `skip_connect` with stride 1.
    Identity(Identity),
    /// `skip_connect` with stride 2.
    Reduce(FactorizedReduce),
    /// `sep_conv_3x3` / `sep_conv_5x5`.
    Sep(SepConv),
    /// `dil_conv_3x3` / `dil_conv_5x5`.
    Dil(DilConv),
}

impl DartsEdgeOp {
    /// Builds `op` on `c` channels with `stride`.
    pub fn new(op: DartsOp, c: usize, stride: usize, device: &Device) -> Self {
        let pad = PaddingConfig2d::Explicit(1, 1, 1, 1);
        match op {
            DartsOp::MaxPool3x3 => DartsEdgeOp::MaxPool(
                MaxPool2dConfig::new([3, 3]).with_strides([stride, stride]).with_padding(pad).init(),
            ),
            DartsOp::AvgPool3x3 => DartsEdgeOp::AvgPool(
                AvgPool2dConfig::new([3, 3])
                    .with_strides([stride, stride])
                    .with_padding(pad)
                    .with_count_include_pad(false)
                    .init(),
            ),
            DartsOp::SkipConnect if stride == 1 => DartsEdgeOp::Identity(Identity::new()),
            DartsOp::SkipConnect => DartsEdgeOp::Reduce(FactorizedReduce::new(c, c, device)),
            DartsOp::SepConv3x3 | DartsOp::SepConv5x5 => {
                DartsEdgeOp::Sep(SepConv::new(c, op.conv_kernel().expect("sep conv kernel"), stride, device))
            }
            DartsOp::DilConv3x3 | DartsOp::DilConv5x5 => {
                DartsEdgeOp::Dil(DilConv::new(c, op.conv_kernel().expect("dil conv kernel"), stride, device))
            }
        }
    }

    /// Forward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            DartsEdgeOp::MaxPool(m) => m.forward(x),
            DartsEdgeOp::AvgPool(m) => kernels::avg_pool2d(m, x),
            DartsEdgeOp::Identity(_) => x,
            DartsEdgeOp::Reduce(m) => m.forward(x),
            DartsEdgeOp::Sep(m) => m.forward(x),
            DartsEdgeOp::Dil(m) => m.forward(x),
        }
    }

    /// The ONNX nodes of [`forward`](Self::forward).
    pub fn to_onnx(&self, g: &mut OnnxGraph, x: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        match self {
            DartsEdgeOp::MaxPool(m) => g.max_pool2d(x, m),
            DartsEdgeOp::AvgPool(m) => g.avg_pool2d(x, m),
            DartsEdgeOp::Identity(_) => Ok(x.clone()),
            DartsEdgeOp::Reduce(m) => m.to_onnx(g, x),
            DartsEdgeOp::Sep(m) => m.to_onnx(g, x),
            DartsEdgeOp::Dil(m) => m.to_onnx(g, x),
        }
    }
}

/// Preprocessing of a cell's first input.
// Burn's `Module` derive has no `Box<M>` support, and these modules are built once
// per network, so the size difference between variants is harmless.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Preprocess {
    /// ReLU-Conv1x1-BN.
    Conv(ReluConvBn),
    /// `FactorizedReduce` (the previous cell reduced, so state 0 is twice as large).
    Reduce(FactorizedReduce),
}

/// One DARTS cell.
#[derive(Module, Debug)]
pub struct DartsCellNet {
    /// Preprocessing of state 0.
    pub pre0: Preprocess,
    /// Preprocessing of state 1 (ReLU-Conv1x1-BN).
    pub pre1: ReluConvBn,
    /// The eight edges (node `k` = edges `2k`, `2k + 1`).
    pub ops: Vec<DartsEdgeOp>,
    /// Input state of each edge.
    #[module(skip)]
    pub inputs: Vec<usize>,
}

impl DartsCellNet {
    /// Builds the cell `cell` with the shapes of `plan`.
    pub fn new(cell: &DartsCell, plan: &CellPlan, device: &Device) -> Self {
        let c = plan.c;
        let pre0 = if plan.reduction_prev {
            Preprocess::Reduce(FactorizedReduce::new(plan.c_prev_prev, c, device))
        } else {
            Preprocess::Conv(ReluConvBn::new(ConvShape::dense(plan.c_prev_prev, c, 1, 1), device))
        };
        let pre1 = ReluConvBn::new(ConvShape::dense(plan.c_prev, c, 1, 1), device);
        let ops =
            cell.edges().iter().map(|e| DartsEdgeOp::new(e.op, c, edge_stride(plan.kind, e.input), device)).collect();
        DartsCellNet { pre0, pre1, ops, inputs: cell.edges().iter().map(|e| e.input).collect() }
    }

    /// Forward pass from the two previous states; returns the concatenated nodes.
    pub fn forward(&self, s0: Tensor<4>, s1: Tensor<4>) -> Tensor<4> {
        let s0 = match &self.pre0 {
            Preprocess::Conv(m) => m.forward(s0),
            Preprocess::Reduce(m) => m.forward(s0),
        };
        let mut states = vec![s0, self.pre1.forward(s1)];
        for k in 0..NUM_NODES {
            let a = self.ops[2 * k].forward(states[self.inputs[2 * k]].clone());
            let b = self.ops[2 * k + 1].forward(states[self.inputs[2 * k + 1]].clone());
            states.push(a + b);
        }
        Tensor::cat(states.split_off(2), 1)
    }

    /// The ONNX nodes of [`forward`](Self::forward).
    pub fn to_onnx(&self, g: &mut OnnxGraph, s0: &OnnxValue, s1: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        g.push_scope("pre0");
        let s0 = match &self.pre0 {
            Preprocess::Conv(m) => m.to_onnx(g, s0)?,
            Preprocess::Reduce(m) => m.to_onnx(g, s0)?,
        };
        g.pop_scope();
        g.push_scope("pre1");
        let s1 = self.pre1.to_onnx(g, s1)?;
        g.pop_scope();
        let mut states = vec![s0, s1];
        for k in 0..NUM_NODES {
            let mut pair = Vec::with_capacity(2);
            for e in [2 * k, 2 * k + 1] {
                g.push_scope(format!("ops.{e}"));
                pair.push(self.ops[e].to_onnx(g, &states[self.inputs[e]])?);
                g.pop_scope();
            }
            states.push(g.add(&pair[0], &pair[1]));
        }
        Ok(g.concat(&states[2..], 1))
    }
}

/// The DARTS evaluation network for one genotype.
#[derive(Module, Debug)]
pub struct DartsNetwork {
    /// Conv3x3 + BN stem.
    pub stem: ConvBn,
    /// The cells in order.
    pub cells: Vec<DartsCellNet>,
    /// Linear classifier after global average pooling.
    pub classifier: Linear,
}

impl DartsNetwork {
    /// Builds the network of `genotype` in the macro network of `space`.
    pub fn new(space: &DartsSpace, genotype: &DartsGenotype, device: &Device) -> Self {
        let cfg = space.config();
        let stem = ConvBn::new(ConvShape::dense(cfg.input_chw[0], cfg.stem_channels(), 3, 1), device);
        let cells = cfg.plan().iter().map(|plan| DartsCellNet::new(genotype.cell(plan.kind), plan, device)).collect();
        let classifier = LinearConfig::new(cfg.final_channels(), cfg.num_classes).init(device);
        DartsNetwork { stem, cells, classifier }
    }
}

impl ImageClassifier for DartsNetwork {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let s = self.stem.forward(images);
        let (mut s0, mut s1) = (s.clone(), s);
        for cell in &self.cells {
            let out = cell.forward(s0, s1.clone());
            (s0, s1) = (s1, out);
        }
        let [n, c, _, _] = s1.dims();
        self.classifier.forward(s1.mean_dim(3).mean_dim(2).reshape([n, c]))
    }

    fn to_onnx(&self, g: &mut OnnxGraph, images: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        g.push_scope("stem");
        let s = self.stem.to_onnx(g, images)?;
        g.pop_scope();
        let (mut s0, mut s1) = (s.clone(), s);
        for (i, cell) in self.cells.iter().enumerate() {
            g.push_scope(format!("cells.{i}"));
            let out = cell.to_onnx(g, &s0, &s1)?;
            g.pop_scope();
            (s0, s1) = (s1, out);
        }
        g.push_scope("head");
        let pooled = g.global_avg_pool(&s1);
        let logits = g.linear(&pooled, &self.classifier);
        g.pop_scope();
        Ok(logits)
    }
}

impl TrainableSpace for DartsSpace {
    type Model = DartsNetwork;

    fn build_model(&self, arch: &DartsGenotype, device: &Device) -> DartsNetwork {
        DartsNetwork::new(self, arch, device)
    }

    fn input_chw(&self) -> [usize; 3] {
        self.config().input_chw
    }

    fn num_classes(&self) -> usize {
        self.config().num_classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::nn::trainable_params;
    use crate::darts::DartsConfig;
    use crate::darts::genotype::CellKind;
    use crate::nb201::model::tests::running_stats;
    use nas_core::{SearchSpace, ToNetworkSpec};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn small() -> DartsSpace {
        DartsSpace::new(DartsConfig {
            channels: 8,
            layers: 5,
            input_chw: [3, 16, 16],
            num_classes: 7,
            stem_multiplier: 3,
        })
        .expect("valid")
    }

    #[test]
    fn parameter_count_matches_the_lowering() {
        let device = Device::flex();
        let space = small();
        let kinds: Vec<CellKind> = space.config().plan().iter().map(|p| p.kind).collect();
        assert!(kinds.contains(&CellKind::Reduce) && kinds.contains(&CellKind::Normal));
        let g = DartsGenotype::darts_v2();
        let (model, spec) = (space.build_model(&g, &device), space.network_spec(&g));
        assert_eq!(trainable_params(&model) as u64, spec.params());
        assert_eq!(model.num_params() as u64, spec.params() + running_stats(&spec));
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..5 {
            let g = space.sample(&mut rng);
            let model = space.build_model(&g, &device);
            assert_eq!(trainable_params(&model) as u64, space.network_spec(&g).params());
        }
    }

    #[test]
    fn forward_gives_finite_logits_of_the_right_shape() {
        let device = Device::flex();
        let space = small();
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for g in [DartsGenotype::darts_v2(), space.sample(&mut rng), space.sample(&mut rng)] {
            let model = space.build_model(&g, &device);
            let x = Tensor::<4>::random([2, 3, 16, 16], burn::tensor::Distribution::Default, &device);
            let y = model.forward(x);
            assert_eq!(y.dims(), [2, 7]);
            let values: Vec<f32> = y.into_data().try_to_vec::<f32>().expect("f32 logits");
            assert!(values.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn gradients_reach_the_stem() {
        let device = Device::flex().autodiff();
        let space = small();
        let model = space.build_model(&DartsGenotype::darts_v2(), &device);
        let x = Tensor::<4>::random([2, 3, 16, 16], burn::tensor::Distribution::Default, &device);
        let grads = model.forward(x).powi_scalar(2).mean().backward();
        let g = model.stem.conv.weight.grad(&grads).expect("stem gradient");
        let norm: f32 = g.abs().sum().into_scalar::<f32>();
        assert!(norm.is_finite() && norm > 0.0);
    }
}
