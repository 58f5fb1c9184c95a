//! Training-mode batch normalisation of f32 `[batch, channels, spatial]` buffers and
//! its gradient, in two passes each.
//!
//! burn composes batch norm (and its backward) out of a dozen tensor operations —
//! swap-dims copies, reductions, broadcasts — each a full pass over the activation.
//! Here the statistics are one pass per channel (the sums in parallel over
//! channels), the normalisation one fused pass per image, and the gradient the same.
//! The variance is the biased one, as burn's `batch_norm_train` returns it.

use super::reduce::{min_items, sum, sum_and_dot_dev, sum_sq_dev};
use rayon::prelude::*;

/// Shape of a batch-norm input: `[batch, channels, spatial]` (spatial = product of
/// the remaining dimensions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormShape {
    /// Images.
    pub batch: usize,
    /// Channels.
    pub channels: usize,
    /// Values per channel per image.
    pub spatial: usize,
}

impl NormShape {
    fn image_len(&self) -> usize {
        self.channels * self.spatial
    }

    fn count(&self) -> f64 {
        (self.batch * self.spatial) as f64
    }

    /// The `spatial`-long slices of channel `c`, one per image.
    fn planes<'a>(&self, data: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> + 'a {
        let (len, s) = (self.image_len(), self.spatial);
        (0..self.batch).map(move |b| &data[b * len + c * s..b * len + (c + 1) * s])
    }
}

/// The normalised output and the batch statistics.
pub struct BatchNormForward {
    /// `gamma · (x - mean) / sqrt(var + eps) + beta`.
    pub output: Vec<f32>,
    /// Per-channel mean.
    pub mean: Vec<f32>,
    /// Per-channel biased variance.
    pub variance: Vec<f32>,
}

/// Batch normalisation with the statistics of this batch.
pub fn batch_norm_train_forward(
    s: &NormShape,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
) -> BatchNormForward {
    assert_eq!(x.len(), s.batch * s.image_len(), "batch norm: input length");
    assert!(gamma.len() == s.channels && beta.len() == s.channels, "batch norm: gamma/beta length");
    let per_channel = min_items(2 * s.batch * s.spatial);
    let stats: Vec<(f32, f32)> = (0..s.channels)
        .into_par_iter()
        .with_min_len(per_channel)
        .map(|c| {
            let mean = (s.planes(x, c).map(sum).sum::<f64>() / s.count()) as f32;
            let var = (s.planes(x, c).map(|p| sum_sq_dev(p, mean)).sum::<f64>() / s.count()) as f32;
            (mean, var)
        })
        .collect();
    let (mean, variance): (Vec<f32>, Vec<f32>) = stats.into_iter().unzip();
    let (scale, shift): (Vec<f32>, Vec<f32>) = (0..s.channels)
        .map(|c| {
            let inv_std = (1.0 / (variance[c] as f64 + epsilon).sqrt()) as f32;
            let scale = gamma[c] * inv_std;
            (scale, beta[c] - mean[c] * scale)
        })
        .unzip();
    let mut output = vec![0.0f32; x.len()];
    let per_image = min_items(s.image_len());
    output.par_chunks_mut(s.image_len()).zip(x.par_chunks(s.image_len())).with_min_len(per_image).for_each(
        |(out_b, x_b)| {
            for c in 0..s.channels {
                let (a, b) = (scale[c], shift[c]);
                let range = c * s.spatial..(c + 1) * s.spatial;
                for (o, v) in out_b[range.clone()].iter_mut().zip(&x_b[range]) {
                    *o = v * a + b;
                }
            }
        },
    );
    BatchNormForward { output, mean, variance }
}

/// Gradients of [`batch_norm_train_forward`]: input, gamma, beta.
pub struct BatchNormGrads {
    /// Input gradient.
    pub x: Vec<f32>,
    /// Gamma gradient.
    pub gamma: Vec<f32>,
    /// Beta gradient.
    pub beta: Vec<f32>,
}

/// The gradients of training-mode batch norm given its input, gamma, the batch
/// statistics it returned and the output gradient `dy`.
pub fn batch_norm_train_backward(
    s: &NormShape,
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f64,
    dy: &[f32],
) -> BatchNormGrads {
    assert!(x.len() == s.batch * s.image_len() && dy.len() == x.len(), "batch norm backward: lengths");
    // Σ dy and Σ dy · (x - mean) per channel.
    let sums: Vec<(f64, f64)> = (0..s.channels)
        .into_par_iter()
        .with_min_len(min_items(2 * s.batch * s.spatial))
        .map(|c| {
            s.planes(dy, c).zip(s.planes(x, c)).fold((0.0, 0.0), |(a, b), (g, v)| {
                let (ds, dd) = sum_and_dot_dev(g, v, mean[c]);
                (a + ds, b + dd)
            })
        })
        .collect();
    let n = s.count();
    let mut gamma_grad = vec![0.0f32; s.channels];
    let mut beta_grad = vec![0.0f32; s.channels];
    // dx = a·dy - p·x + q with a = γ·σ⁻¹, p = a·σ⁻²·Σdy(x-μ)/n, q = p·μ - a·Σdy/n.
    let mut coef = vec![(0.0f32, 0.0f32, 0.0f32); s.channels];
    for c in 0..s.channels {
        let (sum_dy, sum_dy_dev) = sums[c];
        let inv_std = 1.0 / (variance[c] as f64 + epsilon).sqrt();
        beta_grad[c] = sum_dy as f32;
        gamma_grad[c] = (sum_dy_dev * inv_std) as f32;
        let a = gamma[c] as f64 * inv_std;
        let p = a * inv_std * inv_std * sum_dy_dev / n;
        let q = p * mean[c] as f64 - a * sum_dy / n;
        coef[c] = (a as f32, p as f32, q as f32);
    }
    let mut dx = vec![0.0f32; x.len()];
    dx.par_chunks_mut(s.image_len())
        .zip(x.par_chunks(s.image_len()))
        .zip(dy.par_chunks(s.image_len()))
        .with_min_len(min_items(2 * s.image_len()))
        .for_each(|((dx_b, x_b), dy_b)| {
            for (c, &(a, p, q)) in coef.iter().enumerate() {
                let range = c * s.spatial..(c + 1) * s.spatial;
                for ((d, v), g) in dx_b[range.clone()].iter_mut().zip(&x_b[range.clone()]).zip(&dy_b[range]) {
                    *d = a * g - p * v + q;
                }
            }
        });
    BatchNormGrads { x: dx, gamma: gamma_grad, beta: beta_grad }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n).map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 250.0 - 1.5).collect()
    }

    /// Loss `L = Σ w · y`; its gradient by central differences in f64.
    fn numeric_grad(s: &NormShape, x: &[f32], gamma: &[f32], beta: &[f32], w: &[f32]) -> Vec<f64> {
        let loss = |x: &[f64]| -> f64 {
            let mut total = 0.0;
            for c in 0..s.channels {
                let vals: Vec<(usize, f64)> = (0..s.batch)
                    .flat_map(|b| (0..s.spatial).map(move |i| b * s.channels * s.spatial + c * s.spatial + i))
                    .map(|i| (i, x[i]))
                    .collect();
                let m = vals.iter().map(|v| v.1).sum::<f64>() / vals.len() as f64;
                let var = vals.iter().map(|v| (v.1 - m).powi(2)).sum::<f64>() / vals.len() as f64;
                for (i, v) in vals {
                    total += w[i] as f64 * (gamma[c] as f64 * (v - m) / (var + 1e-5).sqrt() + beta[c] as f64);
                }
            }
            total
        };
        let base: Vec<f64> = x.iter().map(|v| *v as f64).collect();
        (0..x.len())
            .map(|i| {
                let (mut a, mut b) = (base.clone(), base.clone());
                a[i] += 1e-4;
                b[i] -= 1e-4;
                (loss(&a) - loss(&b)) / 2e-4
            })
            .collect()
    }

    #[test]
    fn forward_normalises_each_channel() {
        let s = NormShape { batch: 3, channels: 4, spatial: 5 };
        let x = values(60, 1);
        let gamma = [1.0, 2.0, 0.5, 1.0];
        let beta = [0.0, 1.0, -1.0, 0.25];
        let f = batch_norm_train_forward(&s, &x, &gamma, &beta, 1e-5);
        for c in 0..4 {
            let ys: Vec<f32> = s.planes(&f.output, c).flatten().copied().collect();
            let m = ys.iter().sum::<f32>() / ys.len() as f32;
            let v = ys.iter().map(|y| (y - m).powi(2)).sum::<f32>() / ys.len() as f32;
            assert!((m - beta[c]).abs() < 1e-5, "mean of channel {c}: {m}");
            assert!((v.sqrt() - gamma[c]).abs() < 1e-3, "std of channel {c}: {}", v.sqrt());
            let xs: Vec<f32> = s.planes(&x, c).flatten().copied().collect();
            let xm = xs.iter().sum::<f32>() / xs.len() as f32;
            assert!((f.mean[c] - xm).abs() < 1e-6);
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let s = NormShape { batch: 2, channels: 3, spatial: 4 };
        let x = values(24, 3);
        let gamma = [0.7, 1.3, -0.4];
        let beta = [0.1, -0.2, 0.3];
        let w = values(24, 4);
        let f = batch_norm_train_forward(&s, &x, &gamma, &beta, 1e-5);
        let g = batch_norm_train_backward(&s, &x, &gamma, &f.mean, &f.variance, 1e-5, &w);
        let want = numeric_grad(&s, &x, &gamma, &beta, &w);
        for (a, e) in g.x.iter().zip(&want) {
            assert!((*a as f64 - e).abs() < 2e-3, "dx {a} vs {e}");
        }
        for c in 0..3 {
            let xs: Vec<f32> = s.planes(&x, c).flatten().copied().collect();
            let ws: Vec<f32> = s.planes(&w, c).flatten().copied().collect();
            let m = f.mean[c];
            let inv = 1.0 / (f.variance[c] + 1e-5).sqrt();
            let dgamma: f32 = xs.iter().zip(&ws).map(|(v, g)| g * (v - m) * inv).sum();
            let dbeta: f32 = ws.iter().sum();
            assert!((g.gamma[c] - dgamma).abs() < 1e-4 && (g.beta[c] - dbeta).abs() < 1e-4);
        }
    }
}
