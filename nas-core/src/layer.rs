//! The layer-level description of a network: what spaces produce and cost models price.
//!
//! Every space lowers an architecture to a [`NetworkSpec`]: an ordered list of
//! [`LayerSpec`]s in execution order. Cost models (analytical FLOPs/params, measured
//! lookup tables, energy and systolic-array models) only see this description, so a
//! new space gets every cost model for free, and a new cost model prices every space.

use serde::{Deserialize, Serialize};

/// Activation functions that appear as their own layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6).
    Relu6,
    /// Hard swish (MobileNetV3).
    HardSwish,
    /// Logistic sigmoid.
    Sigmoid,
}

/// The kind of operation a layer performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// 2-D convolution (depthwise when `groups == in_channels == out_channels`).
    Conv2d,
    /// Fully connected layer on a flat vector (`input_hw` is `[1, 1]`).
    Linear,
    /// Batch normalisation over channels.
    BatchNorm2d,
    /// Element-wise activation.
    Activation(Activation),
    /// Average pooling with `kernel`, `stride`, `padding`.
    AvgPool2d,
    /// Max pooling with `kernel`, `stride`, `padding`.
    MaxPool2d,
    /// Global average pooling to `[1, 1]`.
    GlobalAvgPool,
    /// Element-wise sum of `inputs` tensors of the same shape.
    Add,
    /// Channel concatenation of `inputs` tensors (`out_channels` is the total).
    Concat,
    /// Pixel shuffle upsampling by `stride` (super-resolution tails).
    PixelShuffle,
}

/// One layer configuration: everything that determines its cost, nothing else.
///
/// Two layers with equal `LayerSpec`s cost the same on a given device, which is
/// what makes lookup tables possible (the table key is the whole struct).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LayerSpec {
    /// Operation kind.
    pub op: OpKind,
    /// Input channels (of each input for `Add`; total for `Concat` is `out_channels`).
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel size (1 for element-wise ops).
    pub kernel: usize,
    /// Stride (the upscale factor for `PixelShuffle`).
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Dilation of the kernel.
    pub dilation: usize,
    /// Convolution groups.
    pub groups: usize,
    /// Whether the layer has a bias (conv/linear) or affine parameters (batch norm).
    pub bias: bool,
    /// Number of input tensors (2+ for `Add` and `Concat`, else 1).
    pub inputs: usize,
    /// Input spatial size `[height, width]`.
    pub input_hw: [usize; 2],
    /// Bit-width of the weights (32 for float).
    pub weight_bits: u8,
    /// Bit-width of the activations (32 for float).
    pub act_bits: u8,
}

impl LayerSpec {
    fn base(op: OpKind, in_channels: usize, out_channels: usize, input_hw: [usize; 2]) -> Self {
        LayerSpec {
            op,
            in_channels,
            out_channels,
            kernel: 1,
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
            bias: false,
            inputs: 1,
            input_hw,
            weight_bits: 32,
            act_bits: 32,
        }
    }

    /// A convolution with "same"-style padding `kernel / 2 * dilation`.
    pub fn conv(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
        input_hw: [usize; 2],
    ) -> Self {
        LayerSpec {
            kernel,
            stride,
            padding: kernel / 2,
            groups,
            ..Self::base(OpKind::Conv2d, in_channels, out_channels, input_hw)
        }
    }

    /// Batch normalisation (`affine` sets [`LayerSpec::bias`]).
    pub fn batch_norm(channels: usize, affine: bool, input_hw: [usize; 2]) -> Self {
        LayerSpec { bias: affine, ..Self::base(OpKind::BatchNorm2d, channels, channels, input_hw) }
    }

    /// An element-wise activation.
    pub fn activation(kind: Activation, channels: usize, input_hw: [usize; 2]) -> Self {
        Self::base(OpKind::Activation(kind), channels, channels, input_hw)
    }

    /// Average or max pooling.
    pub fn pool(
        op: OpKind,
        channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        input_hw: [usize; 2],
    ) -> Self {
        LayerSpec { kernel, stride, padding, ..Self::base(op, channels, channels, input_hw) }
    }

    /// Global average pooling.
    pub fn global_avg_pool(channels: usize, input_hw: [usize; 2]) -> Self {
        Self::base(OpKind::GlobalAvgPool, channels, channels, input_hw)
    }

    /// Element-wise sum of `inputs` tensors.
    pub fn add(channels: usize, inputs: usize, input_hw: [usize; 2]) -> Self {
        LayerSpec { inputs, ..Self::base(OpKind::Add, channels, channels, input_hw) }
    }

    /// Concatenation of `inputs` tensors of `in_channels` each.
    pub fn concat(in_channels: usize, inputs: usize, input_hw: [usize; 2]) -> Self {
        LayerSpec { inputs, ..Self::base(OpKind::Concat, in_channels, in_channels * inputs, input_hw) }
    }

    /// A fully connected layer with bias.
    pub fn linear(in_features: usize, out_features: usize) -> Self {
        LayerSpec { bias: true, ..Self::base(OpKind::Linear, in_features, out_features, [1, 1]) }
    }

    /// Returns a copy with the given weight and activation bit-widths.
    pub fn with_bits(mut self, weight_bits: u8, act_bits: u8) -> Self {
        self.weight_bits = weight_bits;
        self.act_bits = act_bits;
        self
    }

    /// Returns a copy with an explicit padding.
    pub fn with_padding(mut self, padding: usize) -> Self {
        self.padding = padding;
        self
    }

    /// Returns a copy with a bias (conv/linear) or affine parameters (batch norm).
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// Output spatial size `[height, width]`.
    pub fn output_hw(&self) -> [usize; 2] {
        let window = |n: usize| {
            let eff = self.dilation * (self.kernel - 1) + 1;
            (n + 2 * self.padding).saturating_sub(eff) / self.stride.max(1) + 1
        };
        match self.op {
            OpKind::Conv2d | OpKind::AvgPool2d | OpKind::MaxPool2d => {
                [window(self.input_hw[0]), window(self.input_hw[1])]
            }
            OpKind::GlobalAvgPool | OpKind::Linear => [1, 1],
            OpKind::PixelShuffle => [self.input_hw[0] * self.stride, self.input_hw[1] * self.stride],
            _ => self.input_hw,
        }
    }

    /// Elements in one sample's input (all inputs together).
    pub fn input_elems(&self) -> u64 {
        let [h, w] = self.input_hw;
        (self.in_channels * h * w * self.inputs) as u64
    }

    /// Elements in one sample's output.
    pub fn output_elems(&self) -> u64 {
        let [h, w] = self.output_hw();
        (self.out_channels * h * w) as u64
    }

    /// Learnable parameters (weights, biases, batch-norm affine parameters).
    pub fn params(&self) -> u64 {
        match self.op {
            OpKind::Conv2d => {
                let w = self.out_channels * (self.in_channels / self.groups.max(1)) * self.kernel * self.kernel;
                (w + if self.bias { self.out_channels } else { 0 }) as u64
            }
            OpKind::Linear => {
                (self.in_channels * self.out_channels + if self.bias { self.out_channels } else { 0 }) as u64
            }
            OpKind::BatchNorm2d if self.bias => 2 * self.out_channels as u64,
            _ => 0,
        }
    }

    /// Multiply-accumulate operations for one sample (conv and linear only).
    pub fn macs(&self) -> u64 {
        match self.op {
            OpKind::Conv2d => {
                let per_out = (self.in_channels / self.groups.max(1)) * self.kernel * self.kernel;
                self.output_elems() * per_out as u64
            }
            OpKind::Linear => (self.in_channels * self.out_channels) as u64,
            _ => 0,
        }
    }

    /// Floating-point operations for one sample: 2 per MAC (+1 per output for a bias),
    /// `k*k` per pooled output, `inputs - 1` per summed output, 2 per normalised or
    /// activated element (scale and shift / compare and select).
    pub fn flops(&self) -> u64 {
        let out = self.output_elems();
        match self.op {
            OpKind::Conv2d | OpKind::Linear => 2 * self.macs() + if self.bias { out } else { 0 },
            OpKind::AvgPool2d | OpKind::MaxPool2d => out * (self.kernel * self.kernel) as u64,
            OpKind::GlobalAvgPool => self.input_elems(),
            OpKind::Add => out * (self.inputs.saturating_sub(1)) as u64,
            OpKind::BatchNorm2d => 2 * out,
            OpKind::Activation(_) => out,
            OpKind::Concat | OpKind::PixelShuffle => 0,
        }
    }

    /// Bit operations: MACs x weight bits x activation bits (the QuantNAS / BitOps measure).
    pub fn bit_ops(&self) -> u64 {
        self.macs() * u64::from(self.weight_bits) * u64::from(self.act_bits)
    }

    /// Bytes of this layer's weights at its weight bit-width.
    pub fn weight_bytes(&self) -> f64 {
        self.params() as f64 * f64::from(self.weight_bits) / 8.0
    }

    /// Bytes of input plus output activations for one sample at the activation bit-width.
    pub fn activation_bytes(&self) -> f64 {
        (self.input_elems() + self.output_elems()) as f64 * f64::from(self.act_bits) / 8.0
    }
}

/// A layer with its position in the network (for reports).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamedLayer {
    /// Dotted path of the layer, e.g. `stage1.cell2.edge3.conv`.
    pub name: String,
    /// The layer configuration.
    pub spec: LayerSpec,
}

/// A whole network as an ordered list of layers, in execution order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Input shape `[channels, height, width]` of one sample.
    pub input_chw: [usize; 3],
    /// Number of output classes (or output channels for dense tasks).
    pub num_outputs: usize,
    /// Layers in execution order.
    pub layers: Vec<NamedLayer>,
}

impl NetworkSpec {
    /// An empty network for inputs of the given shape.
    pub fn new(input_chw: [usize; 3], num_outputs: usize) -> Self {
        NetworkSpec { input_chw, num_outputs, layers: Vec::new() }
    }

    /// Appends a layer and returns its output spatial size (for chaining shapes).
    pub fn push(&mut self, name: impl Into<String>, spec: LayerSpec) -> [usize; 2] {
        let out = spec.output_hw();
        self.layers.push(NamedLayer { name: name.into(), spec });
        out
    }

    /// Total learnable parameters.
    pub fn params(&self) -> u64 {
        self.layers.iter().map(|l| l.spec.params()).sum()
    }

    /// Total multiply-accumulates for one sample.
    pub fn macs(&self) -> u64 {
        self.layers.iter().map(|l| l.spec.macs()).sum()
    }

    /// Total FLOPs for one sample (see [`LayerSpec::flops`]).
    pub fn flops(&self) -> u64 {
        self.layers.iter().map(|l| l.spec.flops()).sum()
    }

    /// Total bit operations for one sample.
    pub fn bit_ops(&self) -> u64 {
        self.layers.iter().map(|l| l.spec.bit_ops()).sum()
    }

    /// Inference memory estimate in bytes for one sample: all weights plus the
    /// largest input+output activation footprint of any single layer.
    pub fn memory_bytes(&self) -> f64 {
        let weights: f64 = self.layers.iter().map(|l| l.spec.weight_bytes()).sum();
        let peak = self.layers.iter().map(|l| l.spec.activation_bytes()).fold(0.0, f64::max);
        weights + peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_counts_match_hand_computation() {
        // 3x3 conv 16->32, stride 2 on 32x32: output 16x16.
        let c = LayerSpec::conv(16, 32, 3, 2, 1, [32, 32]);
        assert_eq!(c.output_hw(), [16, 16]);
        assert_eq!(c.params(), 32 * 16 * 9);
        assert_eq!(c.macs(), 16 * 16 * 32 * 16 * 9);
        assert_eq!(c.flops(), 2 * c.macs());
        // Depthwise 5x5 on 64 channels keeps 8x8.
        let dw = LayerSpec::conv(64, 64, 5, 1, 64, [8, 8]);
        assert_eq!(dw.output_hw(), [8, 8]);
        assert_eq!(dw.params(), 64 * 25);
        assert_eq!(dw.macs(), 64 * 64 * 25);
        assert_eq!(dw.with_bits(4, 8).bit_ops(), dw.macs() * 32);
    }

    #[test]
    fn pooling_and_linear_shapes() {
        let p = LayerSpec::pool(OpKind::AvgPool2d, 16, 3, 1, 1, [32, 32]);
        assert_eq!(p.output_hw(), [32, 32]);
        let p2 = LayerSpec::pool(OpKind::AvgPool2d, 16, 2, 2, 0, [32, 32]);
        assert_eq!(p2.output_hw(), [16, 16]);
        let l = LayerSpec::linear(64, 10);
        assert_eq!(l.params(), 650);
        assert_eq!(l.macs(), 640);
        assert_eq!(LayerSpec::batch_norm(16, true, [8, 8]).params(), 32);
        assert_eq!(LayerSpec::batch_norm(16, false, [8, 8]).params(), 0);
    }

    #[test]
    fn network_sums_layers() {
        let mut n = NetworkSpec::new([3, 32, 32], 10);
        let hw = n.push("stem", LayerSpec::conv(3, 16, 3, 1, 1, [32, 32]));
        n.push("gap", LayerSpec::global_avg_pool(16, hw));
        n.push("fc", LayerSpec::linear(16, 10));
        assert_eq!(n.params(), 3 * 16 * 9 + 170);
        assert_eq!(n.macs(), 32 * 32 * 16 * 27 + 160);
        // Peak activation: the stem's 3x32x32 input + 16x32x32 output, 4 bytes each.
        let expect = (n.params() as f64) * 4.0 + (3.0 + 16.0) * 1024.0 * 4.0;
        assert!((n.memory_bytes() - expect).abs() < 1e-9);
    }
}
