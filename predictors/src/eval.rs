//! Learning curves of predictors: fit on `n` random labelled rows, measure on all
//! the others, over several seeds.

use crate::error::Result;
use crate::metrics::Quality;
use crate::model::{Fit, ModelConfig, Predict};
use nas_core::seed::derive_seed;
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use nas_core::stats::MeanStd;

/// One model at one training size, over all seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Model kind.
    pub model: String,
    /// Labelled rows.
    pub train_size: usize,
    /// Per-seed quality.
    pub runs: Vec<Quality>,
    /// Kendall tau over seeds.
    pub kendall_tau: MeanStd,
    /// Spearman over seeds.
    pub spearman: MeanStd,
    /// Pearson over seeds.
    pub pearson: MeanStd,
    /// RMSE over seeds.
    pub rmse: MeanStd,
    /// Top-1% precision over seeds.
    pub precision_top1pct: MeanStd,
}

/// The rows of a training split for `(seed, size)`: the same for every model.
pub fn train_split(n_rows: usize, size: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, size as u64));
    let mut idx = sample(&mut rng, n_rows, size.min(n_rows)).into_vec();
    idx.sort_unstable();
    idx
}

/// Fits `model` on `train` rows and measures it on all other rows.
pub fn fit_and_measure(model: &ModelConfig, x: &[Vec<f64>], y: &[f64], train: &[usize], seed: u64) -> Result<Quality> {
    fit_and_measure_with(x, y, train, |xt, yt| Ok(Box::new(model.fit(xt, yt, seed)?)))
}

/// Fits with `fit` on `train` rows and measures the result on all other rows.
pub fn fit_and_measure_with(
    x: &[Vec<f64>],
    y: &[f64],
    train: &[usize],
    fit: impl FnOnce(&[Vec<f64>], &[f64]) -> Result<Box<dyn Predict>>,
) -> Result<Quality> {
    let mut is_train = vec![false; x.len()];
    for &i in train {
        is_train[i] = true;
    }
    let xt: Vec<Vec<f64>> = train.iter().map(|&i| x[i].clone()).collect();
    let yt: Vec<f64> = train.iter().map(|&i| y[i]).collect();
    let fitted = fit(&xt, &yt)?;
    let test: Vec<usize> = (0..x.len()).filter(|&i| !is_train[i]).collect();
    let xs: Vec<Vec<f64>> = test.iter().map(|&i| x[i].clone()).collect();
    let truth: Vec<f64> = test.iter().map(|&i| y[i]).collect();
    let pred = fitted.predict(&xs)?;
    Ok(Quality::measure(&truth, &pred.mean))
}

/// The learning curve of each model: for each training size and seed `0..seeds`,
/// fit on a random split and measure on the rest.
pub fn learning_curves(
    models: &[ModelConfig],
    x: &[Vec<f64>],
    y: &[f64],
    sizes: &[usize],
    seeds: u64,
    mut progress: impl FnMut(&str, usize, u64),
) -> Result<Vec<CurvePoint>> {
    let mut out = Vec::new();
    for m in models {
        out.extend(learning_curve_with(m.name(), x, y, sizes, seeds, &mut progress, |xt, yt, s| {
            Ok(Box::new(m.fit(xt, yt, s)?))
        })?);
    }
    Ok(out)
}

/// The learning curve of one fitting procedure `fit(x, y, seed)` named `name`
/// (e.g. a pretrained MLP fine-tuned on the split), on the same splits as
/// [`learning_curves`].
pub fn learning_curve_with(
    name: &str,
    x: &[Vec<f64>],
    y: &[f64],
    sizes: &[usize],
    seeds: u64,
    mut progress: impl FnMut(&str, usize, u64),
    fit: impl Fn(&[Vec<f64>], &[f64], u64) -> Result<Box<dyn Predict>>,
) -> Result<Vec<CurvePoint>> {
    let mut out = Vec::new();
    for &size in sizes {
        let mut runs = Vec::new();
        for s in 0..seeds {
            progress(name, size, s);
            let split = train_split(x.len(), size, s);
            runs.push(fit_and_measure_with(x, y, &split, |xt, yt| fit(xt, yt, s))?);
        }
        let col = |f: fn(&Quality) -> f64| MeanStd::of(&runs.iter().map(f).collect::<Vec<_>>());
        out.push(CurvePoint {
            model: name.into(),
            train_size: size,
            kendall_tau: col(|q| q.kendall_tau),
            spearman: col(|q| q.spearman),
            pearson: col(|q| q.pearson),
            rmse: col(|q| q.rmse),
            precision_top1pct: col(|q| q.precision_top1pct),
            runs,
        });
    }
    Ok(out)
}
