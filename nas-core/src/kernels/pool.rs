//! 2-D average pooling of f32 NCHW buffers and its gradient, separably: a sum
//! along rows, then along columns, each a few shifted vector additions per
//! kernel tap (burn's CPU backend visits every window element by element, with
//! bounds checks and a division per output, in both directions).
//!
//! Symmetric padding and floor-mode output sizes (what the spaces' pools use);
//! `count_include_pad` either way.

use super::reduce::min_items;
use rayon::prelude::*;

/// Shapes of one pooling: input planes of `h x w`, a `kh x kw` window, stride,
/// symmetric padding, output `oh x ow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Planes (batch · channels).
    pub planes: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Window (height, width).
    pub kernel: [usize; 2],
    /// Stride (height, width).
    pub stride: [usize; 2],
    /// Padding on each side (height, width).
    pub padding: [usize; 2],
    /// Whether padded positions count in the divisor.
    pub count_include_pad: bool,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

impl PoolGeometry {
    /// The geometry, or `None` when the window does not fit, a stride is zero, the
    /// padding exceeds half the window (burn's limit) or the output is empty.
    pub fn new(
        planes: usize,
        [h, w]: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
    ) -> Option<Self> {
        if stride.contains(&0) || kernel.contains(&0) || padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2 {
            return None;
        }
        let oh = (h + 2 * padding[0]).checked_sub(kernel[0])? / stride[0] + 1;
        let ow = (w + 2 * padding[1]).checked_sub(kernel[1])? / stride[1] + 1;
        (planes > 0 && h > 0 && w > 0).then_some(PoolGeometry {
            planes,
            h,
            w,
            kernel,
            stride,
            padding,
            count_include_pad,
            oh,
            ow,
        })
    }

    /// `1 / divisor` per output row and column: the divisor of output `(oy, ox)`
    /// is the product of the row and column counts.
    fn inverse_counts(&self) -> (Vec<f32>, Vec<f32>) {
        let counts = |n_out: usize, len: usize, k: usize, s: usize, p: usize| -> Vec<f32> {
            (0..n_out)
                .map(|o| {
                    let c = if self.count_include_pad {
                        k
                    } else {
                        (0..k).filter(|i| (o * s + i).checked_sub(p).is_some_and(|v| v < len)).count()
                    };
                    1.0 / c.max(1) as f32
                })
                .collect()
        };
        (
            counts(self.oh, self.h, self.kernel[0], self.stride[0], self.padding[0]),
            counts(self.ow, self.w, self.kernel[1], self.stride[1], self.padding[1]),
        )
    }
}

/// For tap `t` of a window: the outputs `o` whose input `o·s + t - p` is inside
/// `[0, len)`, and that input for the first of them.
fn tap_range(t: usize, s: usize, p: usize, len: usize, n_out: usize) -> (usize, usize) {
    let offset = t as isize - p as isize;
    let lo = if offset >= 0 { 0 } else { ((-offset) as usize).div_ceil(s) };
    let last = len as isize - 1 - offset;
    let hi = if last < 0 { 0 } else { (last as usize / s + 1).min(n_out) };
    (lo.min(hi), hi)
}

/// Average pooling; returns `[planes, oh, ow]`.
pub fn avg_pool2d_forward(g: &PoolGeometry, x: &[f32]) -> Vec<f32> {
    assert_eq!(x.len(), g.planes * g.h * g.w, "avg pool: input length");
    let (inv_rows, inv_cols) = g.inverse_counts();
    let (s, p, k) = (g.stride, g.padding, g.kernel);
    let mut out = vec![0.0f32; g.planes * g.oh * g.ow];
    let per_plane = min_items(g.h * g.w * (g.kernel[0] + g.kernel[1]));
    out.par_chunks_mut(g.oh * g.ow).zip(x.par_chunks(g.h * g.w)).with_min_len(per_plane).for_each_init(
        || vec![0.0f32; g.h * g.ow],
        |rows, (out_p, x_p)| {
            // rows[iy][ox] = Σ_j x[iy][ox·s + j - p] over the window's columns.
            rows.fill(0.0);
            for j in 0..k[1] {
                let (lo, hi) = tap_range(j, s[1], p[1], g.w, g.ow);
                if hi == lo {
                    continue;
                }
                for iy in 0..g.h {
                    let src = &x_p[iy * g.w..(iy + 1) * g.w];
                    let dst = &mut rows[iy * g.ow..(iy + 1) * g.ow];
                    if s[1] == 1 {
                        let first = lo + j - p[1];
                        for (d, v) in dst[lo..hi].iter_mut().zip(&src[first..first + (hi - lo)]) {
                            *d += v;
                        }
                    } else {
                        for (ox, d) in dst.iter_mut().enumerate().take(hi).skip(lo) {
                            *d += src[ox * s[1] + j - p[1]];
                        }
                    }
                }
            }
            // out[oy] = Σ_i rows[oy·s + i - p], then the divisor.
            for i in 0..k[0] {
                let (lo, hi) = tap_range(i, s[0], p[0], g.h, g.oh);
                for oy in lo..hi {
                    let iy = oy * s[0] + i - p[0];
                    let src = &rows[iy * g.ow..(iy + 1) * g.ow];
                    for (d, v) in out_p[oy * g.ow..(oy + 1) * g.ow].iter_mut().zip(src) {
                        *d += v;
                    }
                }
            }
            for (oy, row) in out_p.chunks_exact_mut(g.ow).enumerate() {
                let r = inv_rows[oy];
                for (d, c) in row.iter_mut().zip(&inv_cols) {
                    *d *= r * c;
                }
            }
        },
    );
    out
}

/// The input gradient of [`avg_pool2d_forward`] given the output gradient
/// `dy` (`[planes, oh, ow]`).
pub fn avg_pool2d_backward(g: &PoolGeometry, dy: &[f32]) -> Vec<f32> {
    assert_eq!(dy.len(), g.planes * g.oh * g.ow, "avg pool backward: gradient length");
    let (inv_rows, inv_cols) = g.inverse_counts();
    let (s, p, k) = (g.stride, g.padding, g.kernel);
    let mut dx = vec![0.0f32; g.planes * g.h * g.w];
    let per_plane = min_items(g.h * g.w * (g.kernel[0] + g.kernel[1]));
    dx.par_chunks_mut(g.h * g.w).zip(dy.par_chunks(g.oh * g.ow)).with_min_len(per_plane).for_each_init(
        || (vec![0.0f32; g.oh * g.ow], vec![0.0f32; g.h * g.ow]),
        |(scaled, rows), (dx_p, dy_p)| {
            for (oy, (dst, src)) in scaled.chunks_exact_mut(g.ow).zip(dy_p.chunks_exact(g.ow)).enumerate() {
                let r = inv_rows[oy];
                for ((d, v), c) in dst.iter_mut().zip(src).zip(&inv_cols) {
                    *d = v * r * c;
                }
            }
            // The adjoint of the column sum: rows[oy·s + i - p] += scaled[oy].
            rows.fill(0.0);
            for i in 0..k[0] {
                let (lo, hi) = tap_range(i, s[0], p[0], g.h, g.oh);
                for oy in lo..hi {
                    let iy = oy * s[0] + i - p[0];
                    let src = &scaled[oy * g.ow..(oy + 1) * g.ow];
                    for (d, v) in rows[iy * g.ow..(iy + 1) * g.ow].iter_mut().zip(src) {
                        *d += v;
                    }
                }
            }
            // The adjoint of the row sum: dx[iy][ox·s + j - p] += rows[iy][ox].
            for j in 0..k[1] {
                let (lo, hi) = tap_range(j, s[1], p[1], g.w, g.ow);
                if hi == lo {
                    continue;
                }
                for iy in 0..g.h {
                    let src = &rows[iy * g.ow..(iy + 1) * g.ow];
                    let dst = &mut dx_p[iy * g.w..(iy + 1) * g.w];
                    if s[1] == 1 {
                        let first = lo + j - p[1];
                        for (d, v) in dst[first..first + (hi - lo)].iter_mut().zip(&src[lo..hi]) {
                            *d += v;
                        }
                    } else {
                        for (ox, v) in src.iter().enumerate().take(hi).skip(lo) {
                            dst[ox * s[1] + j - p[1]] += v;
                        }
                    }
                }
            }
        },
    );
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(g: &PoolGeometry, x: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; g.planes * g.oh * g.ow];
        for pl in 0..g.planes {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let (mut sum, mut n) = (0.0f64, 0usize);
                    for i in 0..g.kernel[0] {
                        for j in 0..g.kernel[1] {
                            let iy = (oy * g.stride[0] + i) as isize - g.padding[0] as isize;
                            let ix = (ox * g.stride[1] + j) as isize - g.padding[1] as isize;
                            if iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w {
                                sum += x[(pl * g.h + iy as usize) * g.w + ix as usize] as f64;
                                n += 1;
                            }
                        }
                    }
                    let d = if g.count_include_pad { g.kernel[0] * g.kernel[1] } else { n.max(1) };
                    out[(pl * g.oh + oy) * g.ow + ox] = (sum / d as f64) as f32;
                }
            }
        }
        out
    }

    #[test]
    fn forward_matches_the_definition_and_backward_is_its_adjoint() {
        for (hw, k, s, p, cip) in [
            ([7, 6], [3, 3], [1, 1], [1, 1], false),
            ([7, 6], [3, 3], [1, 1], [1, 1], true),
            ([8, 8], [2, 2], [2, 2], [0, 0], true),
            ([9, 7], [3, 3], [2, 2], [1, 1], false),
            ([5, 9], [3, 5], [2, 3], [1, 2], false),
            ([4, 4], [4, 4], [1, 1], [0, 0], true),
        ] {
            let g = PoolGeometry::new(3, hw, k, s, p, cip).expect("geometry");
            let x: Vec<f32> = (0..g.planes * g.h * g.w).map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0).collect();
            let got = avg_pool2d_forward(&g, &x);
            let want = naive(&g, &x);
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-5, "{g:?}: {a} vs {b}");
            }
            let dy: Vec<f32> = (0..got.len()).map(|i| ((i * 53 % 97) as f32) / 40.0 - 1.2).collect();
            let dx = avg_pool2d_backward(&g, &dy);
            let lhs: f64 = dy.iter().zip(&want).map(|(a, b)| *a as f64 * *b as f64).sum();
            let rhs: f64 = dx.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
            assert!((lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()), "{g:?}: <dy, Px> {lhs} vs <P'dy, x> {rhs}");
        }
    }

    #[test]
    fn windows_that_do_not_fit_are_refused() {
        assert!(PoolGeometry::new(1, [2, 2], [3, 3], [1, 1], [0, 0], true).is_none());
        assert!(PoolGeometry::new(1, [4, 4], [3, 3], [1, 1], [2, 2], true).is_none());
        assert!(PoolGeometry::new(1, [4, 4], [3, 3], [0, 1], [1, 1], true).is_none());
    }
}
