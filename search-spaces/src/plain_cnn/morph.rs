//! Function-preserving transformations of a trained plain CNN (Net2Net, Chen,
//! Goodfellow & Shlens, ICLR 2016, §2.2 Net2WiderNet and §2.3 Net2DeeperNet),
//! as EAS (Cai et al., AAAI 2018) applies them.
//!
//! - **Net2Wider** of convolution `l` from `n` to `n' > n` filters: filter `j`
//!   of the new layer is filter `g(j)` of the old one (`g(j) = j` for `j < n`,
//!   a uniformly drawn old filter otherwise), with its batch-norm scale, shift
//!   and running statistics. The next layer's (convolution or classifier)
//!   incoming weights of channel `j` are those of `g(j)` times a share `s_j`;
//!   the shares of the copies of one channel sum to 1. Net2Net splits them
//!   equally; here they are random (uniform in [0.5, 1.5], normalised per
//!   channel), which keeps the function exactly and breaks the symmetry
//!   between copies without the noise Net2Net adds.
//! - **Net2Deeper** after convolution `l` (before its pool): a new
//!   convolution with the identity kernel (1 at the centre tap from channel
//!   `c` to channel `c`), then a batch norm whose running statistics `(m, v)`
//!   are an estimate of its input's per-channel mean and variance, with
//!   `γ = sqrt(v + ε)` and `β = m`, then ReLU. In evaluation mode the batch
//!   norm is exactly the identity, and so is the ReLU (its input is the
//!   previous layer's ReLU output, non-negative); in training mode the batch
//!   statistics are close to `(m, v)`, so it starts near the identity. The
//!   estimate treats the previous batch norm's output as `N(β_l, γ_l²)` and
//!   takes the mean and variance of its ReLU (the rectified Gaussian).

use super::genotype::PlainCnnArch;
use super::model::{ConvWeights, PlainWeights};
use super::space::{PlainCnnSpace, Transform};
use rand::{Rng, RngCore};

/// `erf(x)` (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7).
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x >= 0.0 { y } else { -y }
}

/// Mean and variance of `max(0, z)` for `z ~ N(mu, sigma²)`.
pub fn rectified_gaussian(mu: f64, sigma: f64) -> (f64, f64) {
    let sigma = sigma.abs().max(1e-8);
    let a = mu / sigma;
    let cdf = 0.5 * (1.0 + erf(a / std::f64::consts::SQRT_2));
    let pdf = (-0.5 * a * a).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let mean = mu * cdf + sigma * pdf;
    let second = (mu * mu + sigma * sigma) * cdf + mu * sigma * pdf;
    (mean, (second - mean * mean).max(0.0))
}

/// Net2Wider of convolution `layer` to `width` filters (see the module docs).
///
/// # Panics
///
/// If `layer` is out of range or `width` is not larger than its filters.
pub fn widen(w: &PlainWeights, layer: usize, width: usize, rng: &mut dyn RngCore) -> PlainWeights {
    let mut out = w.clone();
    let old = &w.convs[layer];
    let n = old.out_channels;
    assert!(width > n, "Net2Wider needs more filters ({width} <= {n})");
    let g: Vec<usize> = (0..width).map(|j| if j < n { j } else { rng.random_range(0..n) }).collect();
    let raw: Vec<f64> = (0..width).map(|_| rng.random_range(0.5..1.5)).collect();
    let mut group = vec![0.0; n];
    for (j, &c) in g.iter().enumerate() {
        group[c] += raw[j];
    }
    let share: Vec<f32> = (0..width).map(|j| (raw[j] / group[g[j]]) as f32).collect();

    let per = old.in_channels * old.kernel * old.kernel;
    let pick = |v: &Vec<f32>| -> Vec<f32> { g.iter().map(|&c| v[c]).collect() };
    let conv = &mut out.convs[layer];
    conv.out_channels = width;
    conv.kernel_weights = g.iter().flat_map(|&c| old.kernel_weights[c * per..(c + 1) * per].iter().copied()).collect();
    conv.gamma = pick(&old.gamma);
    conv.beta = pick(&old.beta);
    conv.running_mean = pick(&old.running_mean);
    conv.running_var = pick(&old.running_var);

    match w.convs.get(layer + 1) {
        Some(next) => {
            let kk = next.kernel * next.kernel;
            let mut wts = Vec::with_capacity(next.out_channels * width * kk);
            for o in 0..next.out_channels {
                for (j, &c) in g.iter().enumerate() {
                    let start = next.at(o, c, 0, 0);
                    wts.extend(next.kernel_weights[start..start + kk].iter().map(|v| v * share[j]));
                }
            }
            let nc = &mut out.convs[layer + 1];
            nc.in_channels = width;
            nc.kernel_weights = wts;
        }
        None => {
            let k = w.classes;
            out.fc_weights = g
                .iter()
                .enumerate()
                .flat_map(|(j, &c)| {
                    let s = share[j];
                    w.fc_weights[c * k..(c + 1) * k].iter().map(move |v| v * s)
                })
                .collect();
        }
    }
    out
}

/// Net2Deeper: an identity convolution with `kernel` (odd) after convolution
/// `layer` (see the module docs).
///
/// # Panics
///
/// If `layer` is out of range or `kernel` is even.
pub fn deepen(w: &PlainWeights, layer: usize, kernel: usize) -> PlainWeights {
    assert!(kernel % 2 == 1, "an identity convolution needs an odd kernel");
    let prev = &w.convs[layer];
    let c = prev.out_channels;
    let mut conv = ConvWeights {
        in_channels: c,
        out_channels: c,
        kernel,
        kernel_weights: vec![0.0; c * c * kernel * kernel],
        gamma: Vec::with_capacity(c),
        beta: Vec::with_capacity(c),
        running_mean: Vec::with_capacity(c),
        running_var: Vec::with_capacity(c),
        epsilon: prev.epsilon,
    };
    let mid = kernel / 2;
    for ch in 0..c {
        let at = conv.at(ch, ch, mid, mid);
        conv.kernel_weights[at] = 1.0;
        let (m, v) = rectified_gaussian(f64::from(prev.beta[ch]), f64::from(prev.gamma[ch]));
        let v = v.max(1e-4);
        conv.gamma.push((v + prev.epsilon).sqrt() as f32);
        conv.beta.push(m as f32);
        conv.running_mean.push(m as f32);
        conv.running_var.push(v as f32);
    }
    let mut out = w.clone();
    out.convs.insert(layer + 1, conv);
    out
}

/// `arch` and its `weights` transformed by `t`, when `t` gives an architecture
/// of `space` (else `None`).
pub fn transform(
    space: &PlainCnnSpace,
    arch: &PlainCnnArch,
    weights: &PlainWeights,
    t: Transform,
    rng: &mut dyn RngCore,
) -> Option<(PlainCnnArch, PlainWeights)> {
    let child = space.apply(arch, t)?;
    let w = match t {
        Transform::Widen { layer } => widen(weights, layer, child.convs[layer].filters, rng),
        Transform::Deepen { layer, kernel } => deepen(weights, layer, kernel),
    };
    Some((child, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plain_cnn::PlainCnnNet;
    use burn::module::Module;
    use burn::tensor::{Device, Tensor, TensorData};
    use nas_core::train::{ImageClassifier, init_seeded};
    use nas_core::{Architecture, SearchSpace};
    use rand::SeedableRng;

    /// Random weights with non-trivial batch-norm statistics.
    fn random_weights(arch: &PlainCnnArch, seed: u64) -> PlainWeights {
        let device = Device::flex();
        let net = init_seeded(seed, &device, || PlainCnnNet::new(arch, 1, 10, &device));
        let mut w = net.weights();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for c in &mut w.convs {
            for i in 0..c.out_channels {
                c.gamma[i] = rng.random_range(0.5..1.5);
                c.beta[i] = rng.random_range(-0.5..0.5);
                c.running_mean[i] = rng.random_range(-0.2..0.2);
                c.running_var[i] = rng.random_range(0.5..2.0);
            }
        }
        for b in &mut w.fc_bias {
            *b = rng.random_range(-0.1..0.1);
        }
        w
    }

    fn outputs(arch: &PlainCnnArch, w: &PlainWeights, images: &Tensor<4>) -> Vec<f32> {
        let device = Device::flex();
        let net = PlainCnnNet::from_weights(arch, w, &device).valid();
        net.forward(images.clone()).into_data().convert::<f32>().try_to_vec::<f32>().expect("f32")
    }

    fn batch(seed: u64) -> Tensor<4> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let v: Vec<f32> = (0..6 * 28 * 28).map(|_| rng.random_range(-1.0..1.0)).collect();
        Tensor::from_data(TensorData::new(v, [6, 1, 28, 28]), &Device::flex())
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn weights_round_trip_through_the_burn_network() {
        let space = PlainCnnSpace::default();
        let arch = space.parse("c3x8-p-c5x16-p-c1x12").expect("valid");
        let w = random_weights(&arch, 3);
        let back = PlainCnnNet::from_weights(&arch, &w, &Device::flex()).weights();
        assert_eq!(back, w);
    }

    #[test]
    fn net2wider_and_net2deeper_preserve_the_function() {
        let space = PlainCnnSpace::default();
        let arch = space.parse("c3x8-p-c5x16-p-c3x12").expect("valid");
        let w = random_weights(&arch, 1);
        let x = batch(2);
        let before = outputs(&arch, &w, &x);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for t in space.transforms(&arch) {
            let (child, cw) = transform(&space, &arch, &w, t, &mut rng).expect("listed");
            assert_ne!(child, arch);
            let after = outputs(&child, &cw, &x);
            let d = max_diff(&before, &after);
            assert!(d <= 1e-4, "{t}: outputs moved by {d}");
            assert_eq!(PlainCnnNet::from_weights(&child, &cw, &Device::flex()).weights(), cw);
        }
    }

    #[test]
    fn a_chain_of_ten_random_transformations_preserves_the_function() {
        let space = PlainCnnSpace::default();
        for seed in 0..3 {
            let mut arch = space.parse("c3x8-p-c3x16-p").expect("valid");
            let mut w = random_weights(&arch, 10 + seed);
            let x = batch(seed);
            let start = outputs(&arch, &w, &x);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            for _ in 0..10 {
                let options = space.transforms(&arch);
                let t = options[rng.random_range(0..options.len())];
                (arch, w) = transform(&space, &arch, &w, t, &mut rng).expect("listed");
            }
            assert!(arch.convs.len() > 2 || arch.convs.iter().any(|c| c.filters > 16), "{}", arch.notation());
            let d = max_diff(&start, &outputs(&arch, &w, &x));
            assert!(d <= 1e-4, "seed {seed}: {} moved the outputs by {d}", arch.notation());
        }
    }

    #[test]
    fn widened_copies_split_their_outgoing_weights() {
        let space = PlainCnnSpace::default();
        let arch = space.parse("c3x8-c3x8").expect("valid");
        let w = random_weights(&arch, 5);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        let wide = widen(&w, 0, 12, &mut rng);
        let next = &wide.convs[1];
        assert_eq!((wide.convs[0].out_channels, next.in_channels), (12, 12));
        // For every output and tap, the incoming weights of all copies of an old
        // channel add up to the old weight.
        let old = &w.convs[1];
        for o in 0..8 {
            for tap in 0..9 {
                let (y, x) = (tap / 3, tap % 3);
                let total: f32 = (0..12).map(|j| next.kernel_weights[next.at(o, j, y, x)]).sum();
                let want: f32 = (0..8).map(|c| old.kernel_weights[old.at(o, c, y, x)]).sum();
                assert!((total - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn rectified_gaussian_moments_match_by_hand() {
        // Standard normal: mean 1/sqrt(2π), variance 1/2 − 1/(2π).
        let (m, v) = rectified_gaussian(0.0, 1.0);
        assert!((m - 1.0 / (2.0 * std::f64::consts::PI).sqrt()).abs() < 1e-6);
        assert!((v - (0.5 - 1.0 / (2.0 * std::f64::consts::PI))).abs() < 1e-6);
        // Far positive mean: the ReLU does nothing.
        let (m, v) = rectified_gaussian(10.0, 1.0);
        assert!((m - 10.0).abs() < 1e-6 && (v - 1.0).abs() < 1e-5);
    }
}
