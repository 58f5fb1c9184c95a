//! Quality of a predictor: rank correlations, error and top-k precision.
//!
//! All functions take the true values first and the predictions second, and
//! return `NaN` when the measure is undefined (fewer than two points, or a
//! constant input). The correlations are the project's one implementation in
//! [`nas_core::stats`] (see its undefined-value rule); this module adds top-k
//! precision and [`Quality`].

pub use nas_core::stats::{average_ranks, kendall_tau, pearson, rmse, spearman};

/// Indices of the `k` largest values (ties broken by lower index).
fn top_k(v: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Precision of the top-k: the fraction of the `k` truly largest values that are
/// among the `k` largest predictions (ties broken by lower index).
pub fn precision_at_k(truth: &[f64], pred: &[f64], k: usize) -> f64 {
    let k = k.min(truth.len()).min(pred.len());
    if k == 0 {
        return f64::NAN;
    }
    let t: std::collections::HashSet<usize> = top_k(truth, k).into_iter().collect();
    top_k(pred, k).iter().filter(|i| t.contains(i)).count() as f64 / k as f64
}

/// Every measure at once.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Quality {
    /// Kendall's tau-b.
    pub kendall_tau: f64,
    /// Spearman's rho.
    pub spearman: f64,
    /// Pearson's r.
    pub pearson: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Precision of the top 1% (at least 1).
    pub precision_top1pct: f64,
}

impl Quality {
    /// Measures `pred` against `truth`.
    pub fn measure(truth: &[f64], pred: &[f64]) -> Self {
        Quality {
            kendall_tau: kendall_tau(truth, pred),
            spearman: spearman(truth, pred),
            pearson: pearson(truth, pred),
            rmse: rmse(truth, pred),
            precision_top1pct: precision_at_k(truth, pred, (truth.len() / 100).max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_by_hand() {
        // True top-2 = {3, 2}; predicted top-2 = {3, 0} -> 1/2.
        assert_eq!(precision_at_k(&[1., 2., 3., 4.], &[3.5, 1., 2., 4.], 2), 0.5);
        assert_eq!(precision_at_k(&[1., 2., 3., 4.], &[1., 2., 3., 4.], 4), 1.0);
        assert!(precision_at_k(&[], &[], 3).is_nan());
    }
}
