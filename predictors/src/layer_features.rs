//! Layer features: a fixed-length summary of a network's layer description
//! ([`NetworkSpec`]) for latency and energy predictors.
//!
//! A network's latency on a device is close to a sum over its layers, and layers
//! of one kind cost roughly in proportion to their work and their memory traffic
//! (nn-Meter, Zhang et al., MobiSys 2021, predicts per kernel from the same
//! quantities). So the layers are put into [`LAYER_GROUPS`] by kind, and each
//! group contributes three numbers: how many layers it has, their MFLOPs, and the
//! megabytes of activations they read and write. The vector has the same length
//! for every space that lowers to a [`NetworkSpec`], so one predictor design fits
//! NAS-Bench-201 cells, DARTS cells or MobileNet-style blocks alike; groups a space
//! never uses stay zero.

use nas_core::{LayerSpec, NetworkSpec, OpKind};

/// The layer groups, in feature order.
pub const LAYER_GROUPS: [&str; 11] = [
    "conv1x1",
    "conv3x3",
    "conv_large",
    "depthwise_conv",
    "linear",
    "batch_norm",
    "activation",
    "pool",
    "global_pool",
    "merge",
    "pixel_shuffle",
];

/// Values per group: layer count, MFLOPs, activation megabytes.
pub const PER_GROUP: usize = 3;

/// Length of [`layer_features`]: `LAYER_GROUPS.len() * PER_GROUP`.
pub const LAYER_FEATURES_LEN: usize = LAYER_GROUPS.len() * PER_GROUP;

/// The group (index into [`LAYER_GROUPS`]) of a layer.
pub fn group_of(layer: &LayerSpec) -> usize {
    match layer.op {
        OpKind::Conv2d if layer.groups > 1 && layer.groups == layer.in_channels => 3,
        OpKind::Conv2d if layer.kernel <= 1 => 0,
        OpKind::Conv2d if layer.kernel <= 3 => 1,
        OpKind::Conv2d => 2,
        OpKind::Linear => 4,
        OpKind::BatchNorm2d => 5,
        OpKind::Activation(_) => 6,
        OpKind::AvgPool2d | OpKind::MaxPool2d => 7,
        OpKind::GlobalAvgPool => 8,
        OpKind::Add | OpKind::Concat => 9,
        OpKind::PixelShuffle => 10,
    }
}

/// Per group of [`LAYER_GROUPS`]: the number of layers, their MFLOPs (10^6 FLOPs
/// per sample) and the megabytes (10^6 bytes) of activations they read and write.
pub fn layer_features(spec: &NetworkSpec) -> Vec<f64> {
    let mut v = vec![0.0; LAYER_FEATURES_LEN];
    for layer in &spec.layers {
        let g = group_of(&layer.spec) * PER_GROUP;
        v[g] += 1.0;
        v[g + 1] += layer.spec.flops() as f64 / 1e6;
        v[g + 2] += layer.spec.activation_bytes() / 1e6;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_network_by_hand() {
        let mut spec = NetworkSpec::new([3, 8, 8], 10);
        // 3x3 conv 3 -> 4 on 8x8: MACs 4*64*27 = 6912, FLOPs 13824.
        spec.push("stem", LayerSpec::conv(3, 4, 3, 1, 1, [8, 8]));
        spec.push("bn", LayerSpec::batch_norm(4, true, [8, 8]));
        spec.push("relu", LayerSpec::activation(nas_core::Activation::Relu, 4, [8, 8]));
        // Depthwise 3x3 on 4 channels.
        spec.push("dw", LayerSpec::conv(4, 4, 3, 1, 4, [8, 8]));
        spec.push("pw", LayerSpec::conv(4, 8, 1, 1, 1, [8, 8]));
        spec.push("gap", LayerSpec::global_avg_pool(8, [8, 8]));
        spec.push("fc", LayerSpec::linear(8, 10));
        let v = layer_features(&spec);
        assert_eq!(v.len(), LAYER_FEATURES_LEN);
        let count = |g: &str| v[LAYER_GROUPS.iter().position(|n| *n == g).expect("group") * PER_GROUP];
        let flops = |g: &str| v[LAYER_GROUPS.iter().position(|n| *n == g).expect("group") * PER_GROUP + 1];
        for (g, n) in [
            ("conv1x1", 1.0),
            ("conv3x3", 1.0),
            ("depthwise_conv", 1.0),
            ("batch_norm", 1.0),
            ("activation", 1.0),
            ("global_pool", 1.0),
            ("linear", 1.0),
            ("conv_large", 0.0),
            ("merge", 0.0),
        ] {
            assert_eq!(count(g), n, "{g}");
        }
        let bytes = |g: &str| v[LAYER_GROUPS.iter().position(|n| *n == g).expect("group") * PER_GROUP + 2];
        assert!((flops("conv3x3") - 13_824.0 / 1e6).abs() < 1e-12, "{}", flops("conv3x3"));
        // Depthwise 3x3 on 4 channels: MACs 4*64*9 = 2304, FLOPs 4608.
        assert!((flops("depthwise_conv") - 4_608.0 / 1e6).abs() < 1e-12);
        // Pointwise 4 -> 8: MACs 8*64*4 = 2048, FLOPs 4096; fc 8 -> 10 with bias: 2*80 + 10.
        assert!((flops("conv1x1") - 4_096.0 / 1e6).abs() < 1e-12);
        assert!((flops("linear") - 170.0 / 1e6).abs() < 1e-12);
        // Stem activations: (3 + 4) * 64 floats of 4 bytes = 1792 bytes.
        assert!((bytes("conv3x3") - 1_792.0 / 1e6).abs() < 1e-12, "{}", bytes("conv3x3"));
        // Global pool: 8 * 64 in, 8 out, 4 bytes each = 2080 bytes.
        assert!((bytes("global_pool") - 2_080.0 / 1e6).abs() < 1e-12, "{}", bytes("global_pool"));
        // Each group's FLOPs are those of its layers; the total is the network's.
        let total: f64 = (0..LAYER_GROUPS.len()).map(|g| v[g * PER_GROUP + 1]).sum();
        assert!((total - spec.flops() as f64 / 1e6).abs() < 1e-9);
        let bytes: f64 = (0..LAYER_GROUPS.len()).map(|g| v[g * PER_GROUP + 2]).sum();
        let want: f64 = spec.layers.iter().map(|l| l.spec.activation_bytes()).sum::<f64>() / 1e6;
        assert!((bytes - want).abs() < 1e-12);
    }
}
