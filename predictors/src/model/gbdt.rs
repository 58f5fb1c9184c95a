//! Gradient-boosted regression trees (Friedman 2001) with squared loss,
//! shrinkage, row subsampling (stochastic gradient boosting) and feature
//! subsampling per split.

use super::tree::{Tree, TreeParams};
use super::{Fit, Predict, Prediction, check_rows, check_training};
use crate::error::{Result, check};
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Hyper-parameters of [`GradientBoosting`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GradientBoostingConfig {
    /// Boosting rounds (default 300).
    pub n_trees: usize,
    /// Shrinkage per tree (default 0.05).
    pub learning_rate: f64,
    /// Depth of each tree (default 4).
    pub max_depth: usize,
    /// Minimum rows per leaf (default 2).
    pub min_samples_leaf: usize,
    /// Fraction of rows drawn (without replacement) per round (default 0.8).
    pub subsample: f64,
    /// Fraction of features tried per split (default 0.5).
    pub max_features: f64,
}

impl Default for GradientBoostingConfig {
    fn default() -> Self {
        GradientBoostingConfig {
            n_trees: 300,
            learning_rate: 0.05,
            max_depth: 4,
            min_samples_leaf: 2,
            subsample: 0.8,
            max_features: 0.5,
        }
    }
}

impl GradientBoostingConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check(self.n_trees >= 1, "n_trees", self.n_trees, "an integer >= 1")?;
        check(
            self.learning_rate > 0.0 && self.learning_rate <= 1.0,
            "learning_rate",
            self.learning_rate,
            "a number in (0, 1]",
        )?;
        check(self.min_samples_leaf >= 1, "min_samples_leaf", self.min_samples_leaf, "an integer >= 1")?;
        check(self.subsample > 0.0 && self.subsample <= 1.0, "subsample", self.subsample, "a fraction in (0, 1]")?;
        check(
            self.max_features > 0.0 && self.max_features <= 1.0,
            "max_features",
            self.max_features,
            "a fraction in (0, 1]",
        )
    }
}

/// Weights of a fitted [`GradientBoosting`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoostingWeights {
    /// Number of features.
    pub n_features: usize,
    /// Initial prediction (the mean target).
    pub base: f64,
    /// The trees; each adds `learning_rate * tree(x)`.
    pub trees: Vec<Tree>,
}

/// A fitted gradient-boosting model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradientBoosting {
    /// Hyper-parameters it was fitted with.
    pub hyper_parameters: GradientBoostingConfig,
    /// Learned trees.
    pub weights: BoostingWeights,
}

impl Fit for GradientBoostingConfig {
    type Model = GradientBoosting;
    fn fit(&self, x: &[Vec<f64>], y: &[f64], seed: u64) -> Result<GradientBoosting> {
        self.validate()?;
        let d = check_training(x, y)?;
        let n = x.len();
        let base = y.iter().sum::<f64>() / n as f64;
        let mut pred = vec![base; n];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let params = TreeParams {
            max_depth: self.max_depth,
            min_samples_leaf: self.min_samples_leaf,
            max_features: self.max_features,
        };
        let m = ((self.subsample * n as f64).round() as usize).clamp(1, n);
        let mut trees = Vec::with_capacity(self.n_trees);
        for _ in 0..self.n_trees {
            let residual: Vec<f64> = y.iter().zip(&pred).map(|(t, p)| t - p).collect();
            let mut idx: Vec<usize> = if m < n { sample(&mut rng, n, m).into_vec() } else { (0..n).collect() };
            idx.sort_unstable();
            let tree = Tree::grow(x, &residual, &idx, &params, &mut rng);
            for (p, r) in pred.iter_mut().zip(x) {
                *p += self.learning_rate * tree.predict_row(r);
            }
            trees.push(tree);
        }
        Ok(GradientBoosting { hyper_parameters: self.clone(), weights: BoostingWeights { n_features: d, base, trees } })
    }
}

impl Predict for GradientBoosting {
    fn n_features(&self) -> usize {
        self.weights.n_features
    }
    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction> {
        check_rows(x, self.n_features())?;
        let lr = self.hyper_parameters.learning_rate;
        Ok(Prediction::mean_only(
            x.iter()
                .map(|r| self.weights.base + lr * self.weights.trees.iter().map(|t| t.predict_row(r)).sum::<f64>())
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::*;

    #[test]
    fn fits_a_smooth_function() {
        let (x, y) = toy_data(400, 3, 1);
        let (xt, yt) = toy_data(200, 3, 2);
        let m = GradientBoostingConfig { max_features: 1.0, ..Default::default() }.fit(&x, &y, 3).expect("fit");
        let p = m.predict(&xt).expect("predict");
        let base = rmse(&vec![y.iter().sum::<f64>() / y.len() as f64; yt.len()], &yt);
        let err = rmse(&p.mean, &yt);
        assert!(err < 0.25 * base, "rmse {err} vs constant {base}");
        assert!(p.std.is_none());
    }
}
