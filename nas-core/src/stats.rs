//! Summary statistics and rank correlations, one implementation each for the
//! whole project (predictor quality, LUT validation, front verification,
//! comparisons).
//!
//! **The undefined-value rule.** Every correlation takes two equally long slices
//! and returns `NaN` when it is undefined: fewer than two points, or a constant
//! input (no ranking to compare). `NaN` is never replaced by 0, because "no
//! information" and "no association" are different answers; reports print it as
//! `n/a` and [`MeanStd::of`] skips it (counting how many it skipped).

use serde::{Deserialize, Serialize};

/// Kendall's tau-b (ties in either input are accounted for), in O(n log n) by
/// Knight's algorithm (merge sort counting exchanges).
pub fn kendall_tau(truth: &[f64], pred: &[f64]) -> f64 {
    let n = truth.len().min(pred.len());
    if n < 2 {
        return f64::NAN;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| truth[a].total_cmp(&truth[b]).then(pred[a].total_cmp(&pred[b])));
    let pairs = |t: u64| t * t.saturating_sub(1) / 2;
    // Ties in truth (n1) and joint ties (n3), on the sorted order.
    let (mut n1, mut n3) = (0u64, 0u64);
    let (mut run_x, mut run_xy) = (1u64, 1u64);
    for w in idx.windows(2) {
        let (a, b) = (w[0], w[1]);
        if truth[a] == truth[b] {
            run_x += 1;
            if pred[a] == pred[b] {
                run_xy += 1;
            } else {
                n3 += pairs(run_xy);
                run_xy = 1;
            }
        } else {
            n1 += pairs(run_x);
            n3 += pairs(run_xy);
            run_x = 1;
            run_xy = 1;
        }
    }
    n1 += pairs(run_x);
    n3 += pairs(run_xy);
    // Exchanges needed to sort pred in that order (strict inversions).
    let mut ys: Vec<f64> = idx.iter().map(|&i| pred[i]).collect();
    let mut buf = vec![0.0; n];
    let swaps = merge_count(&mut ys, &mut buf);
    let mut n2 = 0u64;
    let mut run = 1u64;
    for w in ys.windows(2) {
        if w[0] == w[1] {
            run += 1;
        } else {
            n2 += pairs(run);
            run = 1;
        }
    }
    n2 += pairs(run);
    let n0 = pairs(n as u64);
    let num = n0 as f64 - n1 as f64 - n2 as f64 + n3 as f64 - 2.0 * swaps as f64;
    let den = ((n0 - n1) as f64 * (n0 - n2) as f64).sqrt();
    if den == 0.0 { f64::NAN } else { num / den }
}

fn merge_count(v: &mut [f64], buf: &mut [f64]) -> u64 {
    let n = v.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut swaps = {
        let (l, r) = v.split_at_mut(mid);
        let (bl, br) = buf.split_at_mut(mid);
        merge_count(l, bl) + merge_count(r, br)
    };
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < mid && j < n {
        if v[j] < v[i] {
            buf[k] = v[j];
            swaps += (mid - i) as u64;
            j += 1;
        } else {
            buf[k] = v[i];
            i += 1;
        }
        k += 1;
    }
    while i < mid {
        buf[k] = v[i];
        i += 1;
        k += 1;
    }
    while j < n {
        buf[k] = v[j];
        j += 1;
        k += 1;
    }
    v.copy_from_slice(&buf[..n]);
    swaps
}

/// Ranks from 1, ties sharing their average rank.
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Pearson's linear correlation.
pub fn pearson(truth: &[f64], pred: &[f64]) -> f64 {
    let n = truth.len().min(pred.len());
    if n < 2 {
        return f64::NAN;
    }
    let mx = truth[..n].iter().sum::<f64>() / n as f64;
    let my = pred[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in truth.iter().zip(pred) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx == 0.0 || syy == 0.0 { f64::NAN } else { sxy / (sxx * syy).sqrt() }
}

/// Spearman's rank correlation (Pearson of average ranks).
pub fn spearman(truth: &[f64], pred: &[f64]) -> f64 {
    pearson(&average_ranks(truth), &average_ranks(pred))
}

/// Root mean squared error.
pub fn rmse(truth: &[f64], pred: &[f64]) -> f64 {
    let n = truth.len().min(pred.len());
    if n == 0 {
        return f64::NAN;
    }
    (truth.iter().zip(pred).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n as f64).sqrt()
}

/// Arithmetic mean (`NaN` for no values).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
}

/// Mean and sample standard deviation of a set of values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator; 0 for one value).
    pub std: f64,
}

impl MeanStd {
    /// Of a set of values; `NaN`s (undefined measures) are skipped. Both fields
    /// are `NaN` when nothing is left.
    pub fn of(v: &[f64]) -> Self {
        let v: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return MeanStd { mean: f64::NAN, std: f64::NAN };
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = if v.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
        MeanStd { mean, std: var.sqrt() }
    }
}

impl std::fmt::Display for MeanStd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.mean.is_nan() {
            return f.write_str("n/a");
        }
        let p = f.precision().unwrap_or(4);
        write!(f, "{:.p$} ± {:.p$}", self.mean, self.std)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_tau_b(x: &[f64], y: &[f64]) -> f64 {
        let (mut c, mut d, mut tx, mut ty) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for i in 0..x.len() {
            for j in i + 1..x.len() {
                let s = (x[i] - x[j]).signum() * (y[i] - y[j]).signum();
                if x[i] == x[j] && y[i] == y[j] {
                } else if x[i] == x[j] {
                    tx += 1.0;
                } else if y[i] == y[j] {
                    ty += 1.0;
                } else if s > 0.0 {
                    c += 1.0;
                } else {
                    d += 1.0;
                }
            }
        }
        (c - d) / ((c + d + tx) * (c + d + ty)).sqrt()
    }

    #[test]
    fn kendall_by_hand() {
        // One discordant pair out of 10 twice over: (2,3) and (4,5) -> (8 - 2) / 10.
        assert!((kendall_tau(&[1., 2., 3., 4., 5.], &[1., 3., 2., 5., 4.]) - 0.6).abs() < 1e-12);
        // Ties: x = 1,2,2,3; y = 1,2,3,3: 4 concordant, 0 discordant, one tie in each
        // -> 4 / sqrt(5 * 5) = 0.8.
        assert!((kendall_tau(&[1., 2., 2., 3.], &[1., 2., 3., 3.]) - 0.8).abs() < 1e-12);
        assert!((kendall_tau(&[1., 2., 3.], &[3., 2., 1.]) + 1.0).abs() < 1e-12);
        assert!(kendall_tau(&[1., 1., 1.], &[1., 2., 3.]).is_nan());
        // Against the O(n^2) definition on data with many ties.
        let x: Vec<f64> = (0..300).map(|i| ((i * 37) % 11) as f64).collect();
        let y: Vec<f64> = (0..300).map(|i| ((i * 53) % 7) as f64 + ((i * 37) % 11) as f64 * 0.3).collect();
        assert!((kendall_tau(&x, &y) - naive_tau_b(&x, &y)).abs() < 1e-12);
    }

    #[test]
    fn spearman_pearson_rmse_precision_by_hand() {
        // Average ranks 1, 2.5, 2.5, 4 and 1, 2, 3.5, 3.5 -> 3.75 / 4.5.
        assert_eq!(average_ranks(&[1., 2., 2., 3.]), vec![1.0, 2.5, 2.5, 4.0]);
        assert!((spearman(&[1., 2., 2., 3.], &[1., 2., 3., 3.]) - 3.75 / 4.5).abs() < 1e-12);
        assert!((pearson(&[1., 2., 3.], &[2., 4., 6.]) - 1.0).abs() < 1e-12);
        // x = 1,2,3,4; y = 1,3,2,4: sxy = 4.0, sxx = syy = 5 -> 0.8.
        assert!((pearson(&[1., 2., 3., 4.], &[1., 3., 2., 4.]) - 0.8).abs() < 1e-12);
        assert!((rmse(&[0., 0.], &[3., 4.]) - (12.5f64).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn undefined_values_are_nan_and_skipped_by_mean_std() {
        // The tie rule: a constant input or a single point has no ranking.
        assert!(kendall_tau(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
        assert!(kendall_tau(&[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0]).is_nan());
        assert!(kendall_tau(&[1.0], &[2.0]).is_nan());
        assert!(spearman(&[2.0, 2.0], &[1.0, 3.0]).is_nan());
        assert!(pearson(&[], &[]).is_nan());
        // Ties that leave a ranking are not undefined: x = 1,1,2 vs y = 1,2,3 has
        // 2 concordant pairs, one tie in x -> 2 / sqrt(2 * 3).
        assert!((kendall_tau(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]) - 2.0 / 6f64.sqrt()).abs() < 1e-12);
        let m = MeanStd::of(&[1.0, f64::NAN, 3.0]);
        assert_eq!(m.mean, 2.0);
        assert!((m.std - 2f64.sqrt()).abs() < 1e-12);
        assert!(MeanStd::of(&[f64::NAN]).mean.is_nan());
        assert_eq!(format!("{}", MeanStd::of(&[f64::NAN])), "n/a");
        assert_eq!(format!("{:.2}", MeanStd::of(&[1.0, 3.0])), "2.00 ± 1.41");
        assert!(mean(&[]).is_nan());
    }
}
