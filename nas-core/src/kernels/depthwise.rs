//! Depthwise convolution (`groups = c_in = c_out`: each channel its own `kh x kw`
//! filter) and its gradients, directly: per kernel tap, a shifted multiply-add of
//! whole rows. An im2col would copy each input `kh·kw` times to multiply it by one
//! weight; here nothing is copied.

use super::conv::ConvGeometry;
use super::reduce::{dot, min_items};
use rayon::prelude::*;

/// Whether `g` is depthwise (one input and one output channel per group).
pub(crate) fn is_depthwise(g: &ConvGeometry) -> bool {
    g.groups > 1 && g.groups == g.c_in && g.groups == g.c_out
}

/// Calls `f(tap, out_row, in_row, lo, hi, dx)` for every kernel tap and output row
/// whose input row lies inside the image: output columns `lo..hi` read input
/// columns `ox·s + dx`.
fn for_each_tap_row(g: &ConvGeometry, mut f: impl FnMut(usize, usize, usize, usize, usize, isize)) {
    for i in 0..g.kh {
        let dy = (i * g.dilation[0]) as isize - g.padding[0].0 as isize;
        for j in 0..g.kw {
            let dx = (j * g.dilation[1]) as isize - g.padding[1].0 as isize;
            let (lo, hi) = super::conv::valid_range(dx, g.stride[1], g.w, g.ow);
            if hi == lo {
                continue;
            }
            for oy in 0..g.oh {
                let iy = (oy * g.stride[0]) as isize + dy;
                if iy >= 0 && iy < g.h as isize {
                    f(i * g.kw + j, oy, iy as usize, lo, hi, dx);
                }
            }
        }
    }
}

/// The input columns `ox·s + dx` for `ox` in `lo..hi`, contiguous when the stride
/// is 1.
fn input_cols(g: &ConvGeometry, lo: usize, hi: usize, dx: isize) -> impl Iterator<Item = usize> + '_ {
    (lo..hi).map(move |ox| ((ox * g.stride[1]) as isize + dx) as usize)
}

/// The forward depthwise convolution of all images (see [`super::conv2d_forward`]).
pub(crate) fn forward(g: &ConvGeometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let taps = g.kh * g.kw;
    let (plane_in, plane_out) = (g.h * g.w, g.oh * g.ow);
    let mut out = vec![0.0f32; g.batch * g.c_out * plane_out];
    out.par_chunks_mut(plane_out)
        .zip(x.par_chunks(plane_in))
        .enumerate()
        .with_min_len(min_items(plane_out * taps))
        .for_each(|(plane, (out_p, x_p))| {
            let c = plane % g.c_out;
            out_p.fill(bias.map_or(0.0, |b| b[c]));
            let w = &weight[c * taps..(c + 1) * taps];
            for_each_tap_row(g, |tap, oy, iy, lo, hi, dx| {
                let wv = w[tap];
                let src = &x_p[iy * g.w..(iy + 1) * g.w];
                let dst = &mut out_p[oy * g.ow + lo..oy * g.ow + hi];
                if g.stride[1] == 1 {
                    let first = (lo as isize + dx) as usize;
                    for (d, v) in dst.iter_mut().zip(&src[first..first + (hi - lo)]) {
                        *d += wv * v;
                    }
                } else {
                    for (d, ix) in dst.iter_mut().zip(input_cols(g, lo, hi, dx)) {
                        *d += wv * src[ix];
                    }
                }
            });
        });
    out
}

/// Input and weight gradients of the depthwise convolution (the bias gradient is
/// the caller's): `(dx, dweight)`, each when asked. The weight gradient sums the
/// images of each channel in order, so it does not depend on the thread count.
pub(crate) fn backward(
    g: &ConvGeometry,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    need_x: bool,
    need_w: bool,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let taps = g.kh * g.kw;
    let (plane_in, plane_out) = (g.h * g.w, g.oh * g.ow);
    let per_task = min_items(plane_out * taps);
    let dx = need_x.then(|| {
        let mut dx = vec![0.0f32; g.batch * g.c_in * plane_in];
        dx.par_chunks_mut(plane_in).zip(dy.par_chunks(plane_out)).enumerate().with_min_len(per_task).for_each(
            |(plane, (dx_p, dy_p))| {
                let w = &weight[(plane % g.c_in) * taps..][..taps];
                for_each_tap_row(g, |tap, oy, iy, lo, hi, dxo| {
                    let wv = w[tap];
                    let src = &dy_p[oy * g.ow + lo..oy * g.ow + hi];
                    let dst = &mut dx_p[iy * g.w..(iy + 1) * g.w];
                    if g.stride[1] == 1 {
                        let first = (lo as isize + dxo) as usize;
                        for (d, v) in dst[first..first + (hi - lo)].iter_mut().zip(src) {
                            *d += wv * v;
                        }
                    } else {
                        for (v, ix) in src.iter().zip(input_cols(g, lo, hi, dxo)) {
                            dst[ix] += wv * v;
                        }
                    }
                });
            },
        );
        dx
    });
    let dw = need_w.then(|| {
        // One task per channel: its filter's gradient summed over the images in order.
        let per_channel = min_items(g.batch * plane_out * taps);
        let grads: Vec<Vec<f64>> = (0..g.c_out)
            .into_par_iter()
            .with_min_len(per_channel)
            .map(|c| {
                let mut acc = vec![0.0f64; taps];
                for b in 0..g.batch {
                    let plane = b * g.c_out + c;
                    let x_p = &x[plane * plane_in..(plane + 1) * plane_in];
                    let dy_p = &dy[plane * plane_out..(plane + 1) * plane_out];
                    for_each_tap_row(g, |tap, oy, iy, lo, hi, dxo| {
                        let grad = &dy_p[oy * g.ow + lo..oy * g.ow + hi];
                        let src = &x_p[iy * g.w..(iy + 1) * g.w];
                        acc[tap] += if g.stride[1] == 1 {
                            let first = (lo as isize + dxo) as usize;
                            dot(grad, &src[first..first + (hi - lo)])
                        } else {
                            grad.iter().zip(input_cols(g, lo, hi, dxo)).map(|(d, ix)| *d as f64 * src[ix] as f64).sum()
                        };
                    });
                }
                acc
            })
            .collect();
        grads.into_iter().flatten().map(|v| v as f32).collect()
    });
    (dx, dw)
}
