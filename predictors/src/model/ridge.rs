//! Ridge regression, solved exactly (Cholesky of the regularised normal equations).

use super::{Fit, Predict, Prediction, Scaler, check_rows, check_training};
use crate::error::{Result, check};
use nas_core::linalg::{cholesky, cholesky_solve};
use serde::{Deserialize, Serialize};

/// Hyper-parameters of [`Ridge`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RidgeConfig {
    /// L2 penalty on the weights of the standardised features (default 1.0; 0 is
    /// ordinary least squares, which needs full column rank).
    pub alpha: f64,
}

impl Default for RidgeConfig {
    fn default() -> Self {
        RidgeConfig { alpha: 1.0 }
    }
}

impl RidgeConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check(self.alpha.is_finite() && self.alpha >= 0.0, "alpha", self.alpha, "a finite number >= 0")
    }
}

/// Weights of a fitted [`Ridge`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RidgeWeights {
    /// Feature standardisation.
    pub scaler: Scaler,
    /// One weight per standardised feature.
    pub coef: Vec<f64>,
    /// Intercept (the mean target).
    pub intercept: f64,
}

/// A fitted ridge regression: `y = intercept + coef . standardise(x)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ridge {
    /// Hyper-parameters it was fitted with.
    pub hyper_parameters: RidgeConfig,
    /// Learned weights.
    pub weights: RidgeWeights,
}

impl Fit for RidgeConfig {
    type Model = Ridge;
    fn fit(&self, x: &[Vec<f64>], y: &[f64], _seed: u64) -> Result<Ridge> {
        self.validate()?;
        let d = check_training(x, y)?;
        let scaler = Scaler::fit(x);
        let z = scaler.transform_all(x);
        let n = y.len() as f64;
        let ym = y.iter().sum::<f64>() / n;
        let mut a = vec![0.0; d * d];
        let mut b = vec![0.0; d];
        for (row, t) in z.iter().zip(y) {
            for i in 0..d {
                b[i] += row[i] * (t - ym);
                for j in 0..=i {
                    a[i * d + j] += row[i] * row[j];
                }
            }
        }
        for i in 0..d {
            for j in 0..i {
                a[j * d + i] = a[i * d + j];
            }
            a[i * d + i] += self.alpha;
        }
        let l = cholesky(&a, d)?;
        let coef = cholesky_solve(&l, d, &b);
        Ok(Ridge { hyper_parameters: self.clone(), weights: RidgeWeights { scaler, coef, intercept: ym } })
    }
}

impl Predict for Ridge {
    fn n_features(&self) -> usize {
        self.weights.coef.len()
    }
    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction> {
        check_rows(x, self.n_features())?;
        let w = &self.weights;
        Ok(Prediction::mean_only(
            x.iter()
                .map(|r| w.intercept + w.scaler.transform(r).iter().zip(&w.coef).map(|(a, b)| a * b).sum::<f64>())
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::*;

    #[test]
    fn recovers_a_linear_target_exactly() {
        let (x, _) = toy_data(60, 5, 1);
        let y: Vec<f64> = x.iter().map(|r| 3.0 - 2.0 * r[0] + 0.5 * r[1] + 7.0 * r[4]).collect();
        let m = RidgeConfig { alpha: 0.0 }.fit(&x, &y, 0).expect("fit");
        let p = m.predict(&x).expect("predict");
        for (a, b) in p.mean.iter().zip(&y) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        let (xt, _) = toy_data(10, 5, 2);
        let yt: Vec<f64> = xt.iter().map(|r| 3.0 - 2.0 * r[0] + 0.5 * r[1] + 7.0 * r[4]).collect();
        let pt = m.predict(&xt).expect("predict");
        assert!(pt.mean.iter().zip(&yt).all(|(a, b)| (a - b).abs() < 1e-9));
        assert!(p.std.is_none());
    }

    #[test]
    fn penalty_shrinks_and_errors_are_clear() {
        let (x, y) = toy_data(40, 3, 3);
        let loose = RidgeConfig { alpha: 0.0 }.fit(&x, &y, 0).expect("fit");
        let tight = RidgeConfig { alpha: 1e3 }.fit(&x, &y, 0).expect("fit");
        let norm = |m: &Ridge| m.weights.coef.iter().map(|c| c * c).sum::<f64>();
        assert!(norm(&tight) < norm(&loose));
        assert!(RidgeConfig { alpha: -1.0 }.fit(&x, &y, 0).is_err());
        assert!(loose.predict(&[vec![1.0]]).is_err());
    }
}
