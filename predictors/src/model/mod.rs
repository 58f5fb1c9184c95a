//! Models behind one fit/predict interface.
//!
//! After linfa: a hyper-parameter struct implements [`Fit`], whose `fit` returns a
//! fitted model implementing [`Predict`]. Features are rows of `f64`
//! (`&[Vec<f64>]`); every fit takes a seed, so a fit is a pure function of its
//! data, hyper-parameters and seed.
//!
//! | model | hyper-parameters | fitted | uncertainty |
//! |---|---|---|---|
//! | ridge regression | [`RidgeConfig`] | [`Ridge`] | no |
//! | random forest | [`RandomForestConfig`] | [`RandomForest`] | spread of the trees |
//! | gradient-boosted trees | [`GradientBoostingConfig`] | [`GradientBoosting`] | no |
//! | Gaussian process | [`GaussianProcessConfig`] | [`GaussianProcess`] | posterior std |
//! | MLP (burn) | [`MlpConfig`] | [`Mlp`] | no |
//! | ensemble of MLPs | [`EnsembleConfig`] | [`Ensemble`] | spread of the members |
//!
//! [`ModelConfig`] / [`Model`] are the closed sums of all of them, for configs,
//! the CLI and [`store`](crate::store).
//!
//! # Crates used, and why the rest is written here
//!
//! The MLPs are [burn](https://burn.dev) networks (the mandated deep-learning
//! crate). The other models were checked against the Rust ML crates (as of
//! linfa 0.8.1 and smartcore 0.7.0) and are written here because none covers
//! what the predictors need:
//!
//! - **Trees.** `linfa-trees` and `linfa-ensemble` fit classifiers only (decision
//!   trees, AdaBoost). smartcore's `RandomForestRegressor` keeps its trees
//!   crate-private, so the per-tree spread that BANANAS-style acquisitions use as
//!   uncertainty cannot be read, and its `XGRegressor` has no per-split feature
//!   sampling (`max_features`, which matters on the sparse NB201 encodings).
//! - **Gaussian process.** Neither linfa nor smartcore has GP regression.
//! - **Ridge.** `linfa-linear` has OLS and GLMs but no ridge; smartcore's would do,
//!   but ridge is 30 lines over the Cholesky solver the GP and the few-shot
//!   transfer need anyway ([`nas_core::linalg`], shared with the rest of the project).
//! - **Saving.** Predictors are saved in a documented, versioned JSON whose
//!   `weights` we define ([`store`](crate::store)); serialising another crate's
//!   internal structures would tie the file format to that crate's private layout.
//!
//! Written here, every model takes `&[Vec<f64>]`, reports bad input as a
//! [`PredictorError`] instead of panicking, and is a pure function of its data and
//! seed.

use crate::error::{PredictorError, Result};
use serde::{Deserialize, Serialize};

pub mod ensemble;
pub mod forest;
pub mod gbdt;
pub mod gp;
pub mod mlp;
pub mod ridge;
#[cfg(test)]
pub(crate) mod testing;
pub mod tree;

pub use ensemble::{Ensemble, EnsembleConfig};
pub use forest::{RandomForest, RandomForestConfig};
pub use gbdt::{GradientBoosting, GradientBoostingConfig};
pub use gp::{GaussianProcess, GaussianProcessConfig};
pub use mlp::{Mlp, MlpConfig};
pub use ridge::{Ridge, RidgeConfig};

/// Predictions for a set of rows: a mean and, where the model has one, a standard
/// deviation.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Predicted mean per row.
    pub mean: Vec<f64>,
    /// Predictive standard deviation per row, when the model has one.
    pub std: Option<Vec<f64>>,
}

impl Prediction {
    /// A prediction without uncertainty.
    pub fn mean_only(mean: Vec<f64>) -> Self {
        Prediction { mean, std: None }
    }
}

/// Hyper-parameters that fit a model to data.
pub trait Fit {
    /// The fitted model.
    type Model: Predict;

    /// Fits on rows `x` and targets `y`; `seed` drives every random choice.
    fn fit(&self, x: &[Vec<f64>], y: &[f64], seed: u64) -> Result<Self::Model>;
}

/// A fitted model.
pub trait Predict {
    /// Number of features a row must have.
    fn n_features(&self) -> usize;

    /// Predicts every row (errors on a row of the wrong width).
    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction>;
}

/// Checks a training set: non-empty, one target per row, equal widths, finite.
/// Returns the number of features.
pub fn check_training(x: &[Vec<f64>], y: &[f64]) -> Result<usize> {
    if x.is_empty() {
        return Err(PredictorError::EmptyData);
    }
    if x.len() != y.len() {
        return Err(PredictorError::LengthMismatch { rows: x.len(), targets: y.len() });
    }
    let d = x[0].len();
    check_rows(x, d)?;
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(PredictorError::NonFinite { what: "target", row });
    }
    Ok(d)
}

/// Checks that every row has `d` finite features.
pub fn check_rows(x: &[Vec<f64>], d: usize) -> Result<()> {
    for (row, r) in x.iter().enumerate() {
        if r.len() != d {
            return Err(PredictorError::FeatureMismatch { row, expected: d, found: r.len() });
        }
        if r.iter().any(|v| !v.is_finite()) {
            return Err(PredictorError::NonFinite { what: "feature", row });
        }
    }
    Ok(())
}

/// Per-column standardisation (`(x - mean) / std`; constant columns keep scale 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (1 for constant columns).
    pub scale: Vec<f64>,
}

impl Scaler {
    /// Fits the column statistics of `x` (non-empty, equal widths).
    pub fn fit(x: &[Vec<f64>]) -> Self {
        let d = x.first().map_or(0, Vec::len);
        let n = x.len().max(1) as f64;
        let mut mean = vec![0.0; d];
        for r in x {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v / n;
            }
        }
        let mut var = vec![0.0; d];
        for r in x {
            for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
                *s += (v - m).powi(2) / n;
            }
        }
        let scale = var.into_iter().map(|v| if v > 1e-24 { v.sqrt() } else { 1.0 }).collect();
        Scaler { mean, scale }
    }

    /// Standardises one row.
    pub fn transform(&self, row: &[f64]) -> Vec<f64> {
        row.iter().zip(&self.mean).zip(&self.scale).map(|((v, m), s)| (v - m) / s).collect()
    }

    /// Standardises every row.
    pub fn transform_all(&self, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
        x.iter().map(|r| self.transform(r)).collect()
    }
}

/// Mean and (population) standard deviation of the targets, for standardising them.
pub(crate) fn target_stats(y: &[f64]) -> (f64, f64) {
    let n = y.len().max(1) as f64;
    let m = y.iter().sum::<f64>() / n;
    let v = y.iter().map(|t| (t - m).powi(2)).sum::<f64>() / n;
    (m, if v > 1e-24 { v.sqrt() } else { 1.0 })
}

/// The hyper-parameters of any model (tagged by `kind` in JSON and TOML).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    /// Ridge regression.
    Ridge(RidgeConfig),
    /// Random forest.
    RandomForest(RandomForestConfig),
    /// Gradient-boosted trees.
    GradientBoosting(GradientBoostingConfig),
    /// Gaussian process.
    GaussianProcess(GaussianProcessConfig),
    /// Multi-layer perceptron trained with burn.
    Mlp(MlpConfig),
    /// Ensemble of MLPs.
    MlpEnsemble(EnsembleConfig),
}

impl ModelConfig {
    /// Names of the model kinds, as in configs and on the command line.
    pub const NAMES: [&'static str; 6] =
        ["ridge", "random_forest", "gradient_boosting", "gaussian_process", "mlp", "mlp_ensemble"];

    /// The kind name.
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Ridge(_) => "ridge",
            ModelConfig::RandomForest(_) => "random_forest",
            ModelConfig::GradientBoosting(_) => "gradient_boosting",
            ModelConfig::GaussianProcess(_) => "gaussian_process",
            ModelConfig::Mlp(_) => "mlp",
            ModelConfig::MlpEnsemble(_) => "mlp_ensemble",
        }
    }

    /// Default hyper-parameters of a kind by name.
    pub fn by_name(name: &str) -> Option<Self> {
        Some(match name {
            "ridge" => ModelConfig::Ridge(Default::default()),
            "random_forest" => ModelConfig::RandomForest(Default::default()),
            "gradient_boosting" => ModelConfig::GradientBoosting(Default::default()),
            "gaussian_process" => ModelConfig::GaussianProcess(Default::default()),
            "mlp" => ModelConfig::Mlp(Default::default()),
            "mlp_ensemble" => ModelConfig::MlpEnsemble(Default::default()),
            _ => return None,
        })
    }

    /// Checks the hyper-parameters.
    pub fn validate(&self) -> Result<()> {
        match self {
            ModelConfig::Ridge(c) => c.validate(),
            ModelConfig::RandomForest(c) => c.validate(),
            ModelConfig::GradientBoosting(c) => c.validate(),
            ModelConfig::GaussianProcess(c) => c.validate(),
            ModelConfig::Mlp(c) => c.validate(),
            ModelConfig::MlpEnsemble(c) => c.validate(),
        }
    }
}

/// Any fitted model. Its JSON form (`{"kind": ..., "hyper_parameters": ...,
/// "weights": ...}`) is what [`store`](crate::store) writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Model {
    /// Ridge regression.
    Ridge(Ridge),
    /// Random forest.
    RandomForest(RandomForest),
    /// Gradient-boosted trees.
    GradientBoosting(GradientBoosting),
    /// Gaussian process.
    GaussianProcess(GaussianProcess),
    /// MLP.
    Mlp(Mlp),
    /// Ensemble of MLPs.
    MlpEnsemble(Ensemble),
}

impl Model {
    /// The kind name (as [`ModelConfig::name`]).
    pub fn name(&self) -> &'static str {
        match self {
            Model::Ridge(_) => "ridge",
            Model::RandomForest(_) => "random_forest",
            Model::GradientBoosting(_) => "gradient_boosting",
            Model::GaussianProcess(_) => "gaussian_process",
            Model::Mlp(_) => "mlp",
            Model::MlpEnsemble(_) => "mlp_ensemble",
        }
    }
}

impl Fit for ModelConfig {
    type Model = Model;
    fn fit(&self, x: &[Vec<f64>], y: &[f64], seed: u64) -> Result<Model> {
        self.validate()?;
        Ok(match self {
            ModelConfig::Ridge(c) => Model::Ridge(c.fit(x, y, seed)?),
            ModelConfig::RandomForest(c) => Model::RandomForest(c.fit(x, y, seed)?),
            ModelConfig::GradientBoosting(c) => Model::GradientBoosting(c.fit(x, y, seed)?),
            ModelConfig::GaussianProcess(c) => Model::GaussianProcess(c.fit(x, y, seed)?),
            ModelConfig::Mlp(c) => Model::Mlp(c.fit(x, y, seed)?),
            ModelConfig::MlpEnsemble(c) => Model::MlpEnsemble(c.fit(x, y, seed)?),
        })
    }
}

impl Predict for Model {
    fn n_features(&self) -> usize {
        match self {
            Model::Ridge(m) => m.n_features(),
            Model::RandomForest(m) => m.n_features(),
            Model::GradientBoosting(m) => m.n_features(),
            Model::GaussianProcess(m) => m.n_features(),
            Model::Mlp(m) => m.n_features(),
            Model::MlpEnsemble(m) => m.n_features(),
        }
    }
    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction> {
        match self {
            Model::Ridge(m) => m.predict(x),
            Model::RandomForest(m) => m.predict(x),
            Model::GradientBoosting(m) => m.predict(x),
            Model::GaussianProcess(m) => m.predict(x),
            Model::Mlp(m) => m.predict(x),
            Model::MlpEnsemble(m) => m.predict(x),
        }
    }
}
