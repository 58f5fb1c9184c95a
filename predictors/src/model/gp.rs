//! Gaussian-process regression with an RBF kernel on standardised features
//! (Rasmussen & Williams 2006, algorithm 2.1). The length-scale and the noise
//! level are chosen by maximising the log marginal likelihood over a grid.

use super::{Fit, Predict, Prediction, Scaler, check_rows, check_training, target_stats};
use crate::error::{PredictorError, Result, check};
use nas_core::linalg::{cholesky, cholesky_solve, solve_lower};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Hyper-parameters of [`GaussianProcess`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GaussianProcessConfig {
    /// Candidate length-scales, in units of `sqrt(number of features)`
    /// (default 0.25, 0.5, 1, 2, 4).
    pub length_scales: Vec<f64>,
    /// Candidate noise variances, relative to the target variance
    /// (default 1e-3, 1e-2, 0.05, 0.2, 0.5).
    pub noise_levels: Vec<f64>,
    /// At most this many rows are used to choose the kernel (default 300).
    pub max_selection_rows: usize,
}

impl Default for GaussianProcessConfig {
    fn default() -> Self {
        GaussianProcessConfig {
            length_scales: vec![0.25, 0.5, 1.0, 2.0, 4.0],
            noise_levels: vec![1e-3, 1e-2, 0.05, 0.2, 0.5],
            max_selection_rows: 300,
        }
    }
}

impl GaussianProcessConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        let pos = |v: &[f64]| !v.is_empty() && v.iter().all(|x| x.is_finite() && *x > 0.0);
        check(
            pos(&self.length_scales),
            "length_scales",
            format!("{:?}", self.length_scales),
            "a non-empty list of numbers > 0",
        )?;
        check(
            pos(&self.noise_levels),
            "noise_levels",
            format!("{:?}", self.noise_levels),
            "a non-empty list of numbers > 0",
        )?;
        check(self.max_selection_rows >= 2, "max_selection_rows", self.max_selection_rows, "an integer >= 2")
    }
}

/// Weights of a fitted [`GaussianProcess`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpWeights {
    /// Feature standardisation.
    pub scaler: Scaler,
    /// Target mean.
    pub y_mean: f64,
    /// Target standard deviation.
    pub y_std: f64,
    /// Chosen length-scale (absolute, on standardised features).
    pub length_scale: f64,
    /// Chosen noise variance (relative to the target variance).
    pub noise: f64,
    /// Standardised training rows.
    pub x: Vec<Vec<f64>>,
    /// `K^-1 y` for the standardised targets.
    pub alpha: Vec<f64>,
    /// Cholesky factor of `K + noise I`, rebuilt from `x` after loading.
    #[serde(skip)]
    pub chol: OnceLock<Vec<f64>>,
}

/// A fitted Gaussian process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaussianProcess {
    /// Hyper-parameters it was fitted with.
    pub hyper_parameters: GaussianProcessConfig,
    /// Learned weights.
    pub weights: GpWeights,
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn kernel_matrix(x: &[Vec<f64>], ls: f64, noise: f64) -> Vec<f64> {
    let n = x.len();
    let mut k = vec![0.0; n * n];
    let g = 1.0 / (2.0 * ls * ls);
    for i in 0..n {
        for j in 0..=i {
            let v = (-g * sq_dist(&x[i], &x[j])).exp();
            k[i * n + j] = v;
            k[j * n + i] = v;
        }
        k[i * n + i] += noise;
    }
    k
}

/// Log marginal likelihood of standardised targets `y` (up to a constant).
fn log_ml(x: &[Vec<f64>], y: &[f64], ls: f64, noise: f64) -> Option<f64> {
    let n = x.len();
    let l = cholesky(&kernel_matrix(x, ls, noise), n).ok()?;
    let alpha = cholesky_solve(&l, n, y);
    let fit: f64 = y.iter().zip(&alpha).map(|(a, b)| a * b).sum();
    let logdet: f64 = (0..n).map(|i| l[i * n + i].ln()).sum();
    Some(-0.5 * fit - logdet)
}

impl Fit for GaussianProcessConfig {
    type Model = GaussianProcess;
    fn fit(&self, x: &[Vec<f64>], y: &[f64], _seed: u64) -> Result<GaussianProcess> {
        self.validate()?;
        let d = check_training(x, y)?;
        let scaler = Scaler::fit(x);
        let z = scaler.transform_all(x);
        let (y_mean, y_std) = target_stats(y);
        let ys: Vec<f64> = y.iter().map(|t| (t - y_mean) / y_std).collect();
        // Evenly spaced rows for the kernel choice (deterministic).
        let n = z.len();
        let step = n.div_ceil(self.max_selection_rows).max(1);
        let sel: Vec<usize> = (0..n).step_by(step).collect();
        let zs: Vec<Vec<f64>> = sel.iter().map(|&i| z[i].clone()).collect();
        let yss: Vec<f64> = sel.iter().map(|&i| ys[i]).collect();
        let unit = (d.max(1) as f64).sqrt();
        let mut best: Option<(f64, f64, f64)> = None;
        for &l in &self.length_scales {
            for &s in &self.noise_levels {
                if let Some(ml) = log_ml(&zs, &yss, l * unit, s)
                    && best.is_none_or(|(b, _, _)| ml > b)
                {
                    best = Some((ml, l * unit, s));
                }
            }
        }
        let (_, length_scale, noise) =
            best.ok_or(PredictorError::Core(nas_core::NasError::NotPositiveDefinite { size: n, jitter: 0.0 }))?;
        let l = cholesky(&kernel_matrix(&z, length_scale, noise), n)?;
        let alpha = cholesky_solve(&l, n, &ys);
        let chol = OnceLock::new();
        let _ = chol.set(l);
        Ok(GaussianProcess {
            hyper_parameters: self.clone(),
            weights: GpWeights { scaler, y_mean, y_std, length_scale, noise, x: z, alpha, chol },
        })
    }
}

impl Predict for GaussianProcess {
    fn n_features(&self) -> usize {
        self.weights.scaler.mean.len()
    }
    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction> {
        check_rows(x, self.n_features())?;
        let w = &self.weights;
        let n = w.x.len();
        let l = match w.chol.get() {
            Some(l) => l,
            None => {
                let l = cholesky(&kernel_matrix(&w.x, w.length_scale, w.noise), n)?;
                w.chol.get_or_init(|| l)
            }
        };
        let g = 1.0 / (2.0 * w.length_scale * w.length_scale);
        let mut mean = Vec::with_capacity(x.len());
        let mut std = Vec::with_capacity(x.len());
        for r in x {
            let z = w.scaler.transform(r);
            let ks: Vec<f64> = w.x.iter().map(|t| (-g * sq_dist(&z, t)).exp()).collect();
            let m: f64 = ks.iter().zip(&w.alpha).map(|(a, b)| a * b).sum();
            let v = solve_lower(l, n, &ks);
            let var = (1.0 - v.iter().map(|t| t * t).sum::<f64>()).max(0.0);
            mean.push(w.y_mean + w.y_std * m);
            std.push(w.y_std * var.sqrt());
        }
        Ok(Prediction { mean, std: Some(std) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::*;

    #[test]
    fn interpolates_a_smooth_function_with_calibrated_uncertainty() {
        let (x, y) = toy_data(150, 3, 1);
        let (xt, yt) = toy_data(100, 3, 2);
        let m = GaussianProcessConfig::default().fit(&x, &y, 0).expect("fit");
        let p = m.predict(&xt).expect("predict");
        let base = rmse(&vec![y.iter().sum::<f64>() / y.len() as f64; yt.len()], &yt);
        let err = rmse(&p.mean, &yt);
        assert!(err < 0.1 * base, "rmse {err} vs constant {base}");
        // Far from the data the posterior falls back to the prior.
        let far = m.predict(&[vec![50.0, 50.0, 50.0]]).expect("predict");
        let s_far = far.std.expect("std")[0];
        let s_near = p.std.expect("std").iter().sum::<f64>() / 100.0;
        assert!(s_far > 5.0 * s_near, "{s_far} vs {s_near}");
    }
}
