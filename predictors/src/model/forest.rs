//! Random forest regression (Breiman 2001): bootstrap samples, random feature
//! subsets per split, mean of the trees; the trees' spread is the uncertainty.

use super::tree::{Tree, TreeParams};
use super::{Fit, Predict, Prediction, check_rows, check_training};
use crate::error::{Result, check};
use nas_core::seed::derive_seed;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Hyper-parameters of [`RandomForest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomForestConfig {
    /// Number of trees (default 200).
    pub n_trees: usize,
    /// Maximum depth (default 20).
    pub max_depth: usize,
    /// Minimum rows per leaf (default 1).
    pub min_samples_leaf: usize,
    /// Fraction of features tried per split, in (0, 1] (default 1.0).
    pub max_features: f64,
    /// Draw a bootstrap sample per tree (default true).
    pub bootstrap: bool,
}

impl Default for RandomForestConfig {
    fn default() -> Self {
        RandomForestConfig { n_trees: 200, max_depth: 20, min_samples_leaf: 1, max_features: 1.0, bootstrap: true }
    }
}

impl RandomForestConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check(self.n_trees >= 1, "n_trees", self.n_trees, "an integer >= 1")?;
        check(self.min_samples_leaf >= 1, "min_samples_leaf", self.min_samples_leaf, "an integer >= 1")?;
        check(
            self.max_features > 0.0 && self.max_features <= 1.0,
            "max_features",
            self.max_features,
            "a fraction in (0, 1]",
        )
    }

    fn params(&self) -> TreeParams {
        TreeParams {
            max_depth: self.max_depth,
            min_samples_leaf: self.min_samples_leaf,
            max_features: self.max_features,
        }
    }
}

/// Weights of a fitted [`RandomForest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForestWeights {
    /// Number of features.
    pub n_features: usize,
    /// The trees.
    pub trees: Vec<Tree>,
}

/// A fitted random forest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomForest {
    /// Hyper-parameters it was fitted with.
    pub hyper_parameters: RandomForestConfig,
    /// Learned trees.
    pub weights: ForestWeights,
}

impl Fit for RandomForestConfig {
    type Model = RandomForest;
    fn fit(&self, x: &[Vec<f64>], y: &[f64], seed: u64) -> Result<RandomForest> {
        self.validate()?;
        let d = check_training(x, y)?;
        let n = x.len();
        let params = self.params();
        let trees = (0..self.n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, t as u64));
                let idx: Vec<usize> =
                    if self.bootstrap { (0..n).map(|_| rng.random_range(0..n)).collect() } else { (0..n).collect() };
                Tree::grow(x, y, &idx, &params, &mut rng)
            })
            .collect();
        Ok(RandomForest { hyper_parameters: self.clone(), weights: ForestWeights { n_features: d, trees } })
    }
}

impl Predict for RandomForest {
    fn n_features(&self) -> usize {
        self.weights.n_features
    }
    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction> {
        check_rows(x, self.n_features())?;
        let k = self.weights.trees.len().max(1) as f64;
        let (mean, std): (Vec<f64>, Vec<f64>) = x
            .par_iter()
            .map(|r| {
                let (mut s, mut s2) = (0.0, 0.0);
                for t in &self.weights.trees {
                    let v = t.predict_row(r);
                    s += v;
                    s2 += v * v;
                }
                let m = s / k;
                (m, (s2 / k - m * m).max(0.0).sqrt())
            })
            .unzip();
        Ok(Prediction { mean, std: Some(std) })
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
        let m = RandomForestConfig::default().fit(&x, &y, 7).expect("fit");
        let p = m.predict(&xt).expect("predict");
        let base = rmse(&vec![y.iter().sum::<f64>() / y.len() as f64; yt.len()], &yt);
        let err = rmse(&p.mean, &yt);
        assert!(err < 0.35 * base, "rmse {err} vs constant {base}");
        assert!(p.std.expect("std").iter().all(|s| *s >= 0.0));
        let again = RandomForestConfig::default().fit(&x, &y, 7).expect("fit");
        assert_eq!(again, m, "same seed, same forest");
    }
}
