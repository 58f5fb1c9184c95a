//! 2-D convolution of f32 NCHW buffers (grouped or not: depthwise convolutions
//! are `groups = channels`) and its three gradients, by im2col and one matrix
//! product per image and group.
//!
//! burn's CPU backend converts the input to channels-last and tiles it for every
//! convolution, computes the input gradient as a transposed convolution and the
//! weight gradient as a convolution whose kernel is the output gradient (an im2col
//! as large as the whole activation per output element). Here each image is one
//! product on its own thread:
//! - forward: `out_b[Co x P] = W[Co x K] · col_b[K x P]` (+ bias), `K = Ci·kh·kw`,
//!   `P = oh·ow`;
//! - weight gradient: `dW += dY_b[Co x P] · col_bᵀ`, accumulated per fixed part of
//!   the batch and the parts summed in order, so the result does not depend on the
//!   thread count;
//! - input gradient: `dcol = Wᵀ · dY_b`, scattered back by col2im.
//!
//! A 1x1 convolution with stride 1 and no padding skips im2col (the image is its own
//! column matrix).

use super::gemm::{MatRef, matmul};
use super::reduce::min_items;
use rayon::prelude::*;

/// Parts the batch is split into for the weight gradient: fixed, so that the sum is
/// taken in the same order whatever the number of threads.
const WEIGHT_GRAD_PARTS: usize = 8;

/// Shapes of one convolution: input `[batch, c_in, h, w]`, weight
/// `[c_out, c_in / groups, kh, kw]`, output `[batch, c_out, oh, ow]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Images.
    pub batch: usize,
    /// Input channels.
    pub c_in: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride (height, width).
    pub stride: [usize; 2],
    /// Padding (begin, end) of height and width.
    pub padding: [(usize, usize); 2],
    /// Dilation (height, width).
    pub dilation: [usize; 2],
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
    /// Groups: input and output channels split into this many independent
    /// convolutions.
    pub groups: usize,
}

impl ConvGeometry {
    /// The geometry of a convolution of `x_shape` by `w_shape` in `groups` groups, or
    /// `None` when the shapes disagree, a stride, dilation or group count is zero or
    /// the output is empty.
    pub fn new(
        x_shape: [usize; 4],
        w_shape: [usize; 4],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
        groups: usize,
    ) -> Option<Self> {
        let [batch, c_in, h, w] = x_shape;
        let [c_out, wc_in, kh, kw] = w_shape;
        if groups == 0 || wc_in * groups != c_in || !c_out.is_multiple_of(groups) {
            return None;
        }
        if stride.contains(&0) || dilation.contains(&0) || kh == 0 || kw == 0 {
            return None;
        }
        let out = |len: usize, (pb, pe): (usize, usize), k: usize, s: usize, d: usize| {
            let span = d * (k - 1) + 1;
            (len + pb + pe).checked_sub(span).map(|r| r / s + 1)
        };
        let oh = out(h, padding[0], kh, stride[0], dilation[0])?;
        let ow = out(w, padding[1], kw, stride[1], dilation[1])?;
        if batch == 0 || c_in == 0 || c_out == 0 || oh == 0 || ow == 0 {
            return None;
        }
        Some(ConvGeometry { batch, c_in, h, w, c_out, kh, kw, stride, padding, dilation, oh, ow, groups })
    }

    /// Rows of the column matrix: `c_in · kh · kw`.
    pub fn k(&self) -> usize {
        self.c_in * self.kh * self.kw
    }

    /// Rows of one group's part of the column matrix (and weight columns):
    /// `c_in / groups · kh · kw`.
    pub fn k_group(&self) -> usize {
        self.k() / self.groups
    }

    /// Output channels per group.
    pub fn m_group(&self) -> usize {
        self.c_out / self.groups
    }

    /// Output pixels per channel: `oh · ow`.
    pub fn p(&self) -> usize {
        self.oh * self.ow
    }

    fn image_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    fn out_image_len(&self) -> usize {
        self.c_out * self.p()
    }

    /// A 1x1 convolution with stride 1 and no padding: the image is its own column
    /// matrix.
    fn is_pointwise(&self) -> bool {
        self.groups == 1 && self.kh == 1 && self.kw == 1 && self.stride == [1, 1] && self.padding == [(0, 0), (0, 0)]
    }

    /// The output columns `ox` whose input column `ox·s + offset` lies in `[0, w)`.
    fn valid_cols(&self, offset: isize) -> (usize, usize) {
        valid_range(offset, self.stride[1], self.w, self.ow)
    }
}

/// Output indices `o` in `[0, n_out)` with `o·s + offset` in `[0, len)`.
pub(crate) fn valid_range(offset: isize, s: usize, len: usize, n_out: usize) -> (usize, usize) {
    let s = s as isize;
    let lo = if offset >= 0 { 0 } else { ((-offset) + s - 1) / s };
    let last = len as isize - 1 - offset;
    let hi = if last < 0 { 0 } else { last / s + 1 };
    let (lo, hi) = (lo.min(n_out as isize) as usize, hi.min(n_out as isize) as usize);
    (lo, hi.max(lo))
}

/// Fills `col` (`K x P`, row-major) with the patches of one image.
fn im2col(g: &ConvGeometry, image: &[f32], col: &mut [f32]) {
    let p = g.p();
    let (h, w) = (g.h as isize, g.w);
    for c in 0..g.c_in {
        let plane = &image[c * g.h * g.w..(c + 1) * g.h * g.w];
        for i in 0..g.kh {
            let dy = (i * g.dilation[0]) as isize - g.padding[0].0 as isize;
            for j in 0..g.kw {
                let dx = (j * g.dilation[1]) as isize - g.padding[1].0 as isize;
                let (lo, hi) = g.valid_cols(dx);
                let row = &mut col[((c * g.kh + i) * g.kw + j) * p..][..p];
                for oy in 0..g.oh {
                    let out = &mut row[oy * g.ow..(oy + 1) * g.ow];
                    let iy = (oy * g.stride[0]) as isize + dy;
                    if iy < 0 || iy >= h {
                        out.fill(0.0);
                        continue;
                    }
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    let src = &plane[iy as usize * w..(iy as usize + 1) * w];
                    if hi == lo {
                        continue;
                    }
                    if g.stride[1] == 1 {
                        let start = (lo as isize + dx) as usize;
                        out[lo..hi].copy_from_slice(&src[start..start + (hi - lo)]);
                    } else {
                        let first = ((lo * g.stride[1]) as isize + dx) as usize;
                        for (o, v) in out[lo..hi].iter_mut().zip(src[first..].iter().step_by(g.stride[1])) {
                            *o = *v;
                        }
                    }
                }
            }
        }
    }
}

/// Adds the column matrix `col` (`K x P`) back onto one image's gradient (the
/// transpose of [`im2col`]).
fn col2im(g: &ConvGeometry, col: &[f32], image: &mut [f32]) {
    let p = g.p();
    let (h, w) = (g.h as isize, g.w);
    for c in 0..g.c_in {
        let plane = &mut image[c * g.h * g.w..(c + 1) * g.h * g.w];
        for i in 0..g.kh {
            let dy = (i * g.dilation[0]) as isize - g.padding[0].0 as isize;
            for j in 0..g.kw {
                let dx = (j * g.dilation[1]) as isize - g.padding[1].0 as isize;
                let (lo, hi) = g.valid_cols(dx);
                let row = &col[((c * g.kh + i) * g.kw + j) * p..][..p];
                for oy in 0..g.oh {
                    let iy = (oy * g.stride[0]) as isize + dy;
                    if iy < 0 || iy >= h || hi == lo {
                        continue;
                    }
                    let src = &row[oy * g.ow..(oy + 1) * g.ow];
                    let dst = &mut plane[iy as usize * w..(iy as usize + 1) * w];
                    if g.stride[1] == 1 {
                        let start = (lo as isize + dx) as usize;
                        for (d, s) in dst[start..start + (hi - lo)].iter_mut().zip(&src[lo..hi]) {
                            *d += s;
                        }
                    } else {
                        for (ox, s) in src.iter().enumerate().take(hi).skip(lo) {
                            dst[((ox * g.stride[1]) as isize + dx) as usize] += s;
                        }
                    }
                }
            }
        }
    }
}

/// Products of at most this many weights per group (`m_group · k_group`: a
/// depthwise 3x3 has 9) run as plain loops: `gemm`'s packing costs more than the
/// product there.
const DIRECT_MAX_WEIGHTS: usize = 64;

/// `out[r] (+)= Σ_j w[r][j] · cols[j]` for the `m` rows of `out` (each `p` long).
fn direct_forward(out: &mut [f32], w: &[f32], cols: &[f32], m: usize, kg: usize, p: usize, accumulate: bool) {
    for (r, row) in out.chunks_exact_mut(p).take(m).enumerate() {
        if !accumulate {
            row.fill(0.0);
        }
        for (j, col) in cols.chunks_exact(p).take(kg).enumerate() {
            let wv = w[r * kg + j];
            for (o, c) in row.iter_mut().zip(col) {
                *o += wv * c;
            }
        }
    }
}

/// `dw[r][j] (+)= dy[r] · cols[j]`.
fn direct_weight_grad(dw: &mut [f32], dy: &[f32], cols: &[f32], m: usize, kg: usize, p: usize, accumulate: bool) {
    for (r, dy_row) in dy.chunks_exact(p).take(m).enumerate() {
        for (j, col) in cols.chunks_exact(p).take(kg).enumerate() {
            let v = super::reduce::dot(dy_row, col) as f32;
            dw[r * kg + j] = if accumulate { dw[r * kg + j] + v } else { v };
        }
    }
}

/// `dcol[j] = Σ_r w[r][j] · dy[r]`.
fn direct_input_grad(dcol: &mut [f32], w: &[f32], dy: &[f32], m: usize, kg: usize, p: usize) {
    for (j, drow) in dcol.chunks_exact_mut(p).take(kg).enumerate() {
        drow.fill(0.0);
        for (r, dy_row) in dy.chunks_exact(p).take(m).enumerate() {
            let wv = w[r * kg + j];
            for (d, g) in drow.iter_mut().zip(dy_row) {
                *d += wv * g;
            }
        }
    }
}

/// Group `i`'s weight, `m_group x k_group` row-major.
fn group_weight<'a>(g: &ConvGeometry, weight: &'a [f32], i: usize) -> MatRef<'a> {
    let (m, kg) = (g.m_group(), g.k_group());
    MatRef::row_major(&weight[i * m * kg..(i + 1) * m * kg], m, kg)
}

/// The forward convolution: `x` `[batch, c_in, h, w]`, `weight`
/// `[c_out, c_in / groups, kh, kw]`, `bias` `[c_out]`; returns
/// `[batch, c_out, oh, ow]`.
pub fn conv2d_forward(g: &ConvGeometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    assert_eq!(x.len(), g.batch * g.image_len(), "conv2d: input length");
    assert_eq!(weight.len(), g.c_out * g.k_group(), "conv2d: weight length");
    if super::depthwise::is_depthwise(g) {
        return super::depthwise::forward(g, x, weight, bias);
    }
    let (k, p, kg, m) = (g.k(), g.p(), g.k_group(), g.m_group());
    let mut out = vec![0.0f32; g.batch * g.out_image_len()];
    let pointwise = g.is_pointwise();
    let per_task = min_items(g.c_out * kg * p);
    out.par_chunks_mut(g.out_image_len()).zip(x.par_chunks(g.image_len())).with_min_len(per_task).for_each_init(
        || if pointwise { Vec::new() } else { vec![0.0f32; k * p] },
        |col, (out_b, x_b)| {
            let cols = if pointwise {
                x_b
            } else {
                im2col(g, x_b, col);
                &col[..]
            };
            if let Some(bias) = bias {
                for (row, &b) in out_b.chunks_exact_mut(p).zip(bias) {
                    row.fill(b);
                }
            }
            for i in 0..g.groups {
                let out_g = &mut out_b[i * m * p..(i + 1) * m * p];
                let cols_g = &cols[i * kg * p..(i + 1) * kg * p];
                if m * kg <= DIRECT_MAX_WEIGHTS {
                    direct_forward(out_g, group_weight(g, weight, i).data, cols_g, m, kg, p, bias.is_some());
                } else {
                    matmul(out_g, group_weight(g, weight, i), MatRef::row_major(cols_g, kg, p), bias.is_some());
                }
            }
        },
    );
    out
}

/// Gradients of [`conv2d_forward`] given the output gradient `dy`
/// (`[batch, c_out, oh, ow]`): `(dx, dweight, dbias)`, each computed only when asked.
pub struct ConvGrads {
    /// Input gradient, `[batch, c_in, h, w]`.
    pub x: Option<Vec<f32>>,
    /// Weight gradient, `[c_out, c_in, kh, kw]`.
    pub weight: Option<Vec<f32>>,
    /// Bias gradient, `[c_out]`.
    pub bias: Option<Vec<f32>>,
}

/// The three gradients of the convolution (see [`ConvGrads`]); `need` says which
/// (input, weight, bias).
pub fn conv2d_backward(g: &ConvGeometry, x: &[f32], weight: &[f32], dy: &[f32], need: [bool; 3]) -> ConvGrads {
    assert_eq!(x.len(), g.batch * g.image_len(), "conv2d backward: input length");
    assert_eq!(weight.len(), g.c_out * g.k_group(), "conv2d backward: weight length");
    assert_eq!(dy.len(), g.batch * g.out_image_len(), "conv2d backward: output-gradient length");
    let [need_x, need_w, need_b] = need;
    if super::depthwise::is_depthwise(g) {
        let (dx, dw) = super::depthwise::backward(g, x, weight, dy, need_x, need_w);
        let db = need_b.then(|| {
            (0..g.c_out)
                .map(|c| {
                    (0..g.batch).map(|b| super::reduce::sum(&dy[(b * g.c_out + c) * g.p()..][..g.p()])).sum::<f64>()
                        as f32
                })
                .collect()
        });
        return ConvGrads { x: dx, weight: dw, bias: db };
    }
    let (k, p, kg, m) = (g.k(), g.p(), g.k_group(), g.m_group());
    let w_len = g.c_out * kg;
    let pointwise = g.is_pointwise();
    let per_part = g.batch.div_ceil(WEIGHT_GRAD_PARTS);
    let mut dx = if need_x { vec![0.0f32; g.batch * g.image_len()] } else { Vec::new() };

    // One item per part of the batch: its images, output gradients and (when asked)
    // input-gradient slice.
    // Weight and input gradients: two products per image.
    let parts_per_task = min_items(2 * per_part * g.c_out * kg * p);
    let x_parts = x.par_chunks(per_part * g.image_len());
    let dy_parts = dy.par_chunks(per_part * g.out_image_len());
    let run_part = |(x_part, dy_part): (&[f32], &[f32]), mut dx_part: Option<&mut [f32]>| {
        let mut dw = if need_w { vec![0.0f32; w_len] } else { Vec::new() };
        let mut db = if need_b { vec![0.0f64; g.c_out] } else { Vec::new() };
        let mut col = if pointwise || !need_w { Vec::new() } else { vec![0.0f32; k * p] };
        let mut dcol = if pointwise || !need_x { Vec::new() } else { vec![0.0f32; k * p] };
        for (b, (x_b, dy_b)) in x_part.chunks(g.image_len()).zip(dy_part.chunks(g.out_image_len())).enumerate() {
            let dy_group = |i: usize| MatRef::row_major(&dy_b[i * m * p..(i + 1) * m * p], m, p);
            if need_w {
                let cols = if pointwise {
                    x_b
                } else {
                    im2col(g, x_b, &mut col);
                    &col[..]
                };
                for i in 0..g.groups {
                    let cols_g = &cols[i * kg * p..(i + 1) * kg * p];
                    let dw_g = &mut dw[i * m * kg..(i + 1) * m * kg];
                    if m * kg <= DIRECT_MAX_WEIGHTS {
                        direct_weight_grad(dw_g, dy_group(i).data, cols_g, m, kg, p, b > 0);
                    } else {
                        matmul(dw_g, dy_group(i), MatRef::row_major(cols_g, kg, p).t(), b > 0);
                    }
                }
            }
            if need_b {
                for (acc, row) in db.iter_mut().zip(dy_b.chunks_exact(p)) {
                    *acc += super::reduce::sum(row);
                }
            }
            if let Some(dx_part) = dx_part.as_deref_mut() {
                let dx_b = &mut dx_part[b * g.image_len()..(b + 1) * g.image_len()];
                if pointwise {
                    matmul(dx_b, group_weight(g, weight, 0).t(), dy_group(0), false);
                } else {
                    for i in 0..g.groups {
                        let dcol_g = &mut dcol[i * kg * p..(i + 1) * kg * p];
                        if m * kg <= DIRECT_MAX_WEIGHTS {
                            direct_input_grad(dcol_g, group_weight(g, weight, i).data, dy_group(i).data, m, kg, p);
                        } else {
                            matmul(dcol_g, group_weight(g, weight, i).t(), dy_group(i), false);
                        }
                    }
                    col2im(g, &dcol, dx_b);
                }
            }
        }
        (dw, db)
    };
    let parts: Vec<(Vec<f32>, Vec<f64>)> = if need_x {
        x_parts
            .zip(dy_parts)
            .zip(dx.par_chunks_mut(per_part * g.image_len()))
            .with_min_len(parts_per_task)
            .map(|(xs, dx_part)| run_part(xs, Some(dx_part)))
            .collect()
    } else {
        x_parts.zip(dy_parts).with_min_len(parts_per_task).map(|xs| run_part(xs, None)).collect()
    };

    let weight_grad = need_w.then(|| {
        let mut dw = vec![0.0f32; w_len];
        for (part, _) in &parts {
            for (a, b) in dw.iter_mut().zip(part) {
                *a += b;
            }
        }
        dw
    });
    let bias_grad = need_b.then(|| {
        let mut db = vec![0.0f64; g.c_out];
        for (_, part) in &parts {
            for (a, b) in db.iter_mut().zip(part) {
                *a += b;
            }
        }
        db.into_iter().map(|v| v as f32).collect()
    });
    ConvGrads { x: need_x.then_some(dx), weight: weight_grad, bias: bias_grad }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, summed in f64.
    fn naive_forward(g: &ConvGeometry, x: &[f32], wt: &[f32], bias: Option<&[f32]>) -> Vec<f64> {
        let mut out = vec![0.0f64; g.batch * g.c_out * g.p()];
        for b in 0..g.batch {
            for co in 0..g.c_out {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let mut s = bias.map_or(0.0, |bs| bs[co] as f64);
                        let cpg = g.c_in / g.groups;
                        let group = co / g.m_group();
                        for cg in 0..cpg {
                            let ci = group * cpg + cg;
                            for i in 0..g.kh {
                                for j in 0..g.kw {
                                    let iy = (oy * g.stride[0] + i * g.dilation[0]) as isize - g.padding[0].0 as isize;
                                    let ix = (ox * g.stride[1] + j * g.dilation[1]) as isize - g.padding[1].0 as isize;
                                    if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                        continue;
                                    }
                                    let xv = x[((b * g.c_in + ci) * g.h + iy as usize) * g.w + ix as usize];
                                    let wv = wt[((co * cpg + cg) * g.kh + i) * g.kw + j];
                                    s += xv as f64 * wv as f64;
                                }
                            }
                        }
                        out[((b * g.c_out + co) * g.oh + oy) * g.ow + ox] = s;
                    }
                }
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n).map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    fn geometries() -> Vec<ConvGeometry> {
        let mut v = Vec::new();
        for (x, w, s, p, d, groups) in [
            ([2, 3, 7, 6], [4, 3, 3, 3], [1, 1], [(1, 1), (1, 1)], [1, 1], 1),
            ([3, 2, 8, 9], [5, 2, 3, 3], [2, 2], [(1, 1), (1, 1)], [1, 1], 1),
            ([2, 4, 5, 5], [3, 4, 1, 1], [1, 1], [(0, 0), (0, 0)], [1, 1], 1),
            ([2, 4, 6, 6], [3, 4, 1, 1], [2, 2], [(0, 0), (0, 0)], [1, 1], 1),
            ([1, 2, 9, 7], [2, 2, 5, 3], [1, 2], [(2, 1), (0, 2)], [1, 1], 1),
            ([2, 2, 9, 9], [3, 2, 3, 3], [1, 1], [(2, 2), (2, 2)], [2, 2], 1),
            ([10, 1, 4, 4], [2, 1, 3, 3], [1, 1], [(0, 0), (0, 0)], [1, 1], 1),
            ([2, 4, 7, 7], [4, 1, 3, 3], [1, 1], [(1, 1), (1, 1)], [1, 1], 4),
            ([2, 4, 8, 8], [8, 1, 5, 5], [2, 2], [(2, 2), (2, 2)], [2, 2], 4),
            ([3, 6, 5, 6], [4, 3, 3, 1], [1, 1], [(1, 1), (0, 0)], [1, 1], 2),
            // DARTS dil_conv_5x5 on a 2x2 map: most taps fall in the padding.
            ([2, 2, 2, 2], [2, 1, 5, 5], [1, 1], [(4, 4), (4, 4)], [2, 2], 2),
            ([1, 1, 1, 3], [1, 1, 3, 3], [2, 2], [(2, 2), (2, 2)], [1, 1], 1),
        ] {
            v.push(ConvGeometry::new(x, w, s, p, d, groups).expect("valid geometry"));
        }
        v
    }

    #[test]
    fn forward_matches_the_definition() {
        for g in geometries() {
            let x = values(g.batch * g.image_len(), 1);
            let w = values(g.c_out * g.k_group(), 2);
            let bias = values(g.c_out, 3);
            for b in [None, Some(&bias[..])] {
                let got = conv2d_forward(&g, &x, &w, b);
                let want = naive_forward(&g, &x, &w, b);
                for (a, e) in got.iter().zip(&want) {
                    assert!((*a as f64 - e).abs() < 1e-4, "{g:?}: {a} vs {e}");
                }
            }
        }
    }

    /// Gradients against the adjoint identity: for a linear map `y = A x`,
    /// `<dy, A x> = <Aᵀ dy, x>`, and the weight gradient likewise.
    #[test]
    fn gradients_are_the_adjoints_of_the_forward() {
        for g in geometries() {
            let x = values(g.batch * g.image_len(), 4);
            let w = values(g.c_out * g.k_group(), 5);
            let dy = values(g.batch * g.c_out * g.p(), 6);
            let grads = conv2d_backward(&g, &x, &w, &dy, [true, true, true]);
            let dot = |a: &[f32], b: &[f64]| a.iter().zip(b).map(|(p, q)| *p as f64 * q).sum::<f64>();
            let y = naive_forward(&g, &x, &w, None);
            let lhs = dot(&dy, &y);
            let dx = grads.x.expect("dx");
            let dw = grads.weight.expect("dw");
            let xs: Vec<f64> = x.iter().map(|v| *v as f64).collect();
            let ws: Vec<f64> = w.iter().map(|v| *v as f64).collect();
            assert!((dot(&dx, &xs) - lhs).abs() < 1e-3 * (1.0 + lhs.abs()), "{g:?}: dx");
            assert!((dot(&dw, &ws) - lhs).abs() < 1e-3 * (1.0 + lhs.abs()), "{g:?}: dw");
            let db = grads.bias.expect("db");
            for (co, v) in db.iter().enumerate() {
                let want: f64 = (0..g.batch)
                    .flat_map(|b| dy[(b * g.c_out + co) * g.p()..][..g.p()].iter())
                    .map(|v| *v as f64)
                    .sum();
                assert!((*v as f64 - want).abs() < 1e-4, "{g:?}: db");
            }
            // Asking for less gives the same values for what is asked.
            let only_w = conv2d_backward(&g, &x, &w, &dy, [false, true, false]);
            assert!(only_w.x.is_none() && only_w.bias.is_none());
            assert_eq!(only_w.weight.expect("dw"), dw);
        }
    }

    #[test]
    fn weight_gradient_does_not_depend_on_the_thread_count() {
        let g = ConvGeometry::new([13, 3, 6, 6], [4, 3, 3, 3], [1, 1], [(1, 1), (1, 1)], [1, 1], 1).expect("geometry");
        let x = values(g.batch * g.image_len(), 7);
        let w = values(g.c_out * g.k(), 8);
        let dy = values(g.batch * g.c_out * g.p(), 9);
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            pool.install(|| conv2d_backward(&g, &x, &w, &dy, [true, true, true]))
        };
        let (a, b) = (run(1), run(3));
        assert_eq!(a.weight, b.weight);
        assert_eq!(a.x, b.x);
        assert_eq!(a.bias, b.bias);
    }

    #[test]
    fn impossible_geometries_are_refused() {
        assert!(ConvGeometry::new([1, 3, 2, 2], [4, 2, 3, 3], [1, 1], [(0, 0); 2], [1, 1], 1).is_none());
        assert!(ConvGeometry::new([1, 3, 2, 2], [4, 3, 3, 3], [1, 1], [(0, 0); 2], [1, 1], 1).is_none());
        assert!(ConvGeometry::new([1, 3, 5, 5], [4, 3, 3, 3], [0, 1], [(0, 0); 2], [1, 1], 1).is_none());
        assert!(ConvGeometry::new([1, 4, 5, 5], [6, 1, 3, 3], [1, 1], [(0, 0); 2], [1, 1], 4).is_none());
        assert!(ConvGeometry::new([1, 4, 5, 5], [4, 2, 3, 3], [1, 1], [(0, 0); 2], [1, 1], 4).is_none());
    }

    #[test]
    fn valid_ranges_cover_exactly_the_inside() {
        for offset in -4..4isize {
            for s in 1..4 {
                for len in 1..7 {
                    let n_out = 6;
                    let (lo, hi) = valid_range(offset, s, len, n_out);
                    for o in 0..n_out {
                        let i = (o * s) as isize + offset;
                        assert_eq!((lo..hi).contains(&o), i >= 0 && i < len as isize, "{offset} {s} {len} {o}");
                    }
                }
            }
        }
    }
}
