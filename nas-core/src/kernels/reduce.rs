//! Sums over f32 slices in 16 independent lanes (which the compiler vectorises
//! without reordering anything) folded into f64: fast and accurate enough for batch
//! statistics over hundreds of thousands of values.

const LANES: usize = 16;

/// Work (multiply-adds or values touched) below which a task is not split
/// further: tiny tensors (8x8 digits, 4 channels) would otherwise spend more time
/// waking threads than computing.
const MIN_TASK_WORK: usize = 1 << 15;

/// How many items of `work_per_item` each make one parallel task at least.
pub(crate) fn min_items(work_per_item: usize) -> usize {
    (MIN_TASK_WORK / work_per_item.max(1)).max(1)
}

fn fold(lanes: [f32; LANES], tail: f64) -> f64 {
    lanes.iter().map(|v| *v as f64).sum::<f64>() + tail
}

/// `Σ xs`.
pub(crate) fn sum(xs: &[f32]) -> f64 {
    let mut acc = [0.0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().map(|v| *v as f64).sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    fold(acc, tail)
}

/// `Σ a·b`.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f64 {
    let mut acc = [0.0f32; LANES];
    let n = a.len().min(b.len());
    let whole = n / LANES * LANES;
    for (ca, cb) in a[..whole].chunks_exact(LANES).zip(b[..whole].chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += ca[l] * cb[l];
        }
    }
    let tail: f64 = (whole..n).map(|i| a[i] as f64 * b[i] as f64).sum();
    fold(acc, tail)
}

/// `Σ (xs - mean)²`.
pub(crate) fn sum_sq_dev(xs: &[f32], mean: f32) -> f64 {
    let mut acc = [0.0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().map(|v| ((v - mean) as f64).powi(2)).sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            let d = v - mean;
            *a += d * d;
        }
    }
    fold(acc, tail)
}

/// `Σ dy` and `Σ dy · (x - mean)`.
pub(crate) fn sum_and_dot_dev(dy: &[f32], x: &[f32], mean: f32) -> (f64, f64) {
    let (mut s, mut d) = ([0.0f32; LANES], [0.0f32; LANES]);
    let n = dy.len().min(x.len());
    let whole = n / LANES * LANES;
    for (cg, cx) in dy[..whole].chunks_exact(LANES).zip(x[..whole].chunks_exact(LANES)) {
        for l in 0..LANES {
            s[l] += cg[l];
            d[l] += cg[l] * (cx[l] - mean);
        }
    }
    let (mut ts, mut td) = (0.0f64, 0.0f64);
    for i in whole..n {
        ts += dy[i] as f64;
        td += dy[i] as f64 * (x[i] - mean) as f64;
    }
    (fold(s, ts), fold(d, td))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sums_equal_plain_sums() {
        for n in [0, 1, 15, 16, 17, 100, 1001] {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).sin()).collect();
            let g: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).cos()).collect();
            let want: f64 = x.iter().map(|v| *v as f64).sum();
            assert!((sum(&x) - want).abs() < 1e-4);
            let m = 0.25f32;
            let want_sq: f64 = x.iter().map(|v| ((v - m) as f64).powi(2)).sum();
            assert!((sum_sq_dev(&x, m) - want_sq).abs() < 1e-4);
            let want_dot: f64 = g.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
            assert!((dot(&g, &x) - want_dot).abs() < 1e-4);
            let (s, d) = sum_and_dot_dev(&g, &x, m);
            let want_s: f64 = g.iter().map(|v| *v as f64).sum();
            let want_d: f64 = g.iter().zip(&x).map(|(a, b)| *a as f64 * (b - m) as f64).sum();
            assert!((s - want_s).abs() < 1e-4 && (d - want_d).abs() < 1e-4, "{n}");
        }
    }
}
