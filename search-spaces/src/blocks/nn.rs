//! Burn modules shared by the spaces' networks.
//!
//! All convolutions are bias-free and every batch norm is affine, as in the
//! NAS-Bench-201 and DARTS reference implementations.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use nas_core::kernels;
use nas_core::onnx::{OnnxError, OnnxGraph, OnnxValue};
use nas_core::train::zero_cost::relu;

/// Geometry of a square 2-D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
    /// Dilation.
    pub dilation: usize,
    /// Groups (`in_channels` for a depthwise convolution).
    pub groups: usize,
}

impl ConvShape {
    /// A dense convolution with "same" padding `kernel / 2`.
    pub fn dense(in_channels: usize, out_channels: usize, kernel: usize, stride: usize) -> Self {
        ConvShape { in_channels, out_channels, kernel, stride, padding: kernel / 2, dilation: 1, groups: 1 }
    }

    /// A depthwise convolution on `channels` with explicit padding and dilation.
    pub fn depthwise(channels: usize, kernel: usize, stride: usize, padding: usize, dilation: usize) -> Self {
        ConvShape { in_channels: channels, out_channels: channels, kernel, stride, padding, dilation, groups: channels }
    }

    /// Builds the bias-free burn convolution.
    pub fn init(&self, device: &Device) -> Conv2d {
        let p = self.padding;
        Conv2dConfig::new([self.in_channels, self.out_channels], [self.kernel, self.kernel])
            .with_stride([self.stride, self.stride])
            .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
            .with_dilation([self.dilation, self.dilation])
            .with_groups(self.groups)
            .with_bias(false)
            .init(device)
    }
}

/// An affine batch norm over `channels`.
pub fn batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels).init(device)
}

/// `Conv -> BN` (the stems).
#[derive(Module, Debug)]
pub struct ConvBn {
    /// The convolution.
    pub conv: Conv2d,
    /// The batch norm.
    pub bn: BatchNorm,
}

impl ConvBn {
    /// Builds the block.
    pub fn new(shape: ConvShape, device: &Device) -> Self {
        ConvBn { conv: shape.init(device), bn: batch_norm(shape.out_channels, device) }
    }

    /// Forward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        kernels::batch_norm(&self.bn, kernels::conv2d(&self.conv, x))
    }

    /// The ONNX nodes of [`forward`](Self::forward).
    pub fn to_onnx(&self, g: &mut OnnxGraph, x: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        let y = g.conv2d(x, &self.conv)?;
        Ok(g.batch_norm(&y, &self.bn))
    }
}

/// `ReLU -> Conv -> BN` (NB201 `ReLUConvBN`, DARTS preprocessing).
#[derive(Module, Debug)]
pub struct ReluConvBn {
    /// The convolution.
    pub conv: Conv2d,
    /// The batch norm.
    pub bn: BatchNorm,
}

impl ReluConvBn {
    /// Builds the block.
    pub fn new(shape: ConvShape, device: &Device) -> Self {
        ReluConvBn { conv: shape.init(device), bn: batch_norm(shape.out_channels, device) }
    }

    /// Forward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        kernels::batch_norm(&self.bn, kernels::conv2d(&self.conv, relu(x)))
    }

    /// The ONNX nodes of [`forward`](Self::forward).
    pub fn to_onnx(&self, g: &mut OnnxGraph, x: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        let r = g.relu(x);
        let y = g.conv2d(&r, &self.conv)?;
        Ok(g.batch_norm(&y, &self.bn))
    }
}

/// DARTS `FactorizedReduce`: ReLU, two 1x1 stride-2 convolutions to half the output
/// channels each (the second on the input shifted by one pixel), concatenated, BN.
#[derive(Module, Debug)]
pub struct FactorizedReduce {
    /// Convolution on the unshifted input.
    pub conv1: Conv2d,
    /// Convolution on the input shifted by one pixel.
    pub conv2: Conv2d,
    /// The batch norm over the concatenation.
    pub bn: BatchNorm,
}

impl FactorizedReduce {
    /// Builds the block (`out_channels` must be even).
    pub fn new(in_channels: usize, out_channels: usize, device: &Device) -> Self {
        let half = ConvShape { padding: 0, ..ConvShape::dense(in_channels, out_channels / 2, 1, 2) };
        FactorizedReduce { conv1: half.init(device), conv2: half.init(device), bn: batch_norm(out_channels, device) }
    }

    /// Forward pass; the input height and width must be even.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = relu(x);
        let shifted = x.clone().slice(s![.., .., 1.., 1..]);
        let out = Tensor::cat(vec![kernels::conv2d(&self.conv1, x), kernels::conv2d(&self.conv2, shifted)], 1);
        kernels::batch_norm(&self.bn, out)
    }

    /// The ONNX nodes of [`forward`](Self::forward).
    pub fn to_onnx(&self, g: &mut OnnxGraph, x: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        let x = g.relu(x);
        let shifted = g.crop_top_left(&x, 1);
        let a = g.conv2d(&x, &self.conv1)?;
        let b = g.conv2d(&shifted, &self.conv2)?;
        let out = g.concat(&[a, b], 1);
        Ok(g.batch_norm(&out, &self.bn))
    }
}

/// Counts the *trainable* parameters of a module: every float parameter except
/// the batch-norm running statistics.
///
/// Burn's [`Module::num_params`] also counts `running_mean` and `running_var`
/// (2 per channel of every [`BatchNorm`]); PyTorch's `parameters()`, the
/// benchmarks' published counts and [`NetworkSpec::params`](nas_core::NetworkSpec::params)
/// do not. This is the count comparable with the lowering.
pub fn trainable_params<M: Module>(module: &M) -> usize {
    let mut counter = TrainableCounter::default();
    module.visit(&mut counter);
    counter.count
}

/// Visitor behind [`trainable_params`]: tracks the field path and skips
/// `BatchNorm.running_mean` / `BatchNorm.running_var`.
#[derive(Default)]
struct TrainableCounter {
    path: Vec<(String, String)>,
    count: usize,
}

impl burn::module::ModuleVisitor for TrainableCounter {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let running = matches!(
            self.path.last(),
            Some((name, container)) if container == "Struct:BatchNorm" && (name == "running_mean" || name == "running_var")
        );
        if !running {
            self.count += param.lazy_shape().num_elements();
        }
    }

    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push((name.to_string(), container_type.to_string()));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trainable_params_skip_running_statistics() {
        let device = Device::flex();
        let block = ReluConvBn::new(ConvShape::dense(3, 8, 3, 1), &device);
        assert_eq!(trainable_params(&block), 8 * 3 * 9 + 2 * 8);
        assert_eq!(block.num_params(), 8 * 3 * 9 + 4 * 8);
        let fr = FactorizedReduce::new(4, 8, &device);
        assert_eq!(trainable_params(&fr), 2 * 4 * 4 + 2 * 8);
    }

    #[test]
    fn factorized_reduce_halves_the_size() {
        let device = Device::flex();
        let fr = FactorizedReduce::new(4, 8, &device);
        let y = fr.forward(Tensor::<4>::ones([2, 4, 8, 8], &device));
        assert_eq!(y.dims(), [2, 8, 4, 4]);
    }
}
