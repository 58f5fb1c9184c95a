//! Helpers that append common layer sequences to a [`NetworkSpec`].
//!
//! Every helper takes a name prefix (`stage1.cell0.edge2`) and the input spatial
//! size, appends its layers in execution order and returns the output spatial size.

use nas_core::{Activation, LayerSpec, NetworkSpec};

/// Returns `layer` (a convolution) with an explicit `dilation` and `padding`.
pub fn dilated(layer: LayerSpec, dilation: usize, padding: usize) -> LayerSpec {
    LayerSpec { dilation, padding, ..layer }
}

/// Appends a ReLU.
pub fn relu(spec: &mut NetworkSpec, name: String, channels: usize, hw: [usize; 2]) -> [usize; 2] {
    spec.push(name, LayerSpec::activation(Activation::Relu, channels, hw))
}

/// Appends an affine batch norm.
pub fn bn(spec: &mut NetworkSpec, name: String, channels: usize, hw: [usize; 2]) -> [usize; 2] {
    spec.push(name, LayerSpec::batch_norm(channels, true, hw))
}

/// Appends `ReLU -> Conv(kernel, stride, padding kernel/2, no bias) -> BN(affine)`
/// as `{prefix}.relu`, `{prefix}.conv`, `{prefix}.bn`.
pub fn relu_conv_bn(
    spec: &mut NetworkSpec,
    prefix: &str,
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    stride: usize,
    hw: [usize; 2],
) -> [usize; 2] {
    relu(spec, format!("{prefix}.relu"), in_channels, hw);
    let out = spec.push(format!("{prefix}.conv"), LayerSpec::conv(in_channels, out_channels, kernel, stride, 1, hw));
    bn(spec, format!("{prefix}.bn"), out_channels, out)
}

/// Appends the DARTS `FactorizedReduce`: ReLU, two 1x1 stride-2 convolutions to
/// `out_channels / 2` each (the second on the input shifted by one pixel, i.e. a
/// `(H-1) x (W-1)` view), their concatenation and a BN. Layers: `{prefix}.relu`,
/// `.conv1`, `.conv2`, `.concat`, `.bn`.
pub fn factorized_reduce(
    spec: &mut NetworkSpec,
    prefix: &str,
    in_channels: usize,
    out_channels: usize,
    hw: [usize; 2],
) -> [usize; 2] {
    let half = out_channels / 2;
    relu(spec, format!("{prefix}.relu"), in_channels, hw);
    let out = spec.push(format!("{prefix}.conv1"), LayerSpec::conv(in_channels, half, 1, 2, 1, hw));
    let shifted = [hw[0].saturating_sub(1), hw[1].saturating_sub(1)];
    spec.push(format!("{prefix}.conv2"), LayerSpec::conv(in_channels, half, 1, 2, 1, shifted));
    spec.push(format!("{prefix}.concat"), LayerSpec::concat(half, 2, out));
    bn(spec, format!("{prefix}.bn"), out_channels, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factorized_reduce_halves_even_sizes_and_counts_params() {
        let mut spec = NetworkSpec::new([8, 32, 32], 10);
        let out = factorized_reduce(&mut spec, "fr", 8, 16, [32, 32]);
        assert_eq!(out, [16, 16]);
        // conv2 on the shifted 31x31 view also gives 16x16.
        assert_eq!(spec.layers[2].spec.output_hw(), [16, 16]);
        assert_eq!(spec.params(), 2 * 8 * 8 + 2 * 16);
        let names: Vec<_> = spec.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["fr.relu", "fr.conv1", "fr.conv2", "fr.concat", "fr.bn"]);
    }

    #[test]
    fn dilated_conv_keeps_size_with_its_padding() {
        let c = dilated(LayerSpec::conv(16, 16, 5, 1, 16, [8, 8]), 2, 4);
        assert_eq!(c.output_hw(), [8, 8]);
        let c = dilated(LayerSpec::conv(16, 16, 3, 2, 16, [8, 8]), 2, 2);
        assert_eq!(c.output_hw(), [4, 4]);
    }
}
