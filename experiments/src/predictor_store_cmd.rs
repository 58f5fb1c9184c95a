//! `hwnas predictor fit` and `hwnas predictor predict`: fit an accuracy predictor
//! on the benchmark table and save it; load a saved predictor and use it.
//!
//! The file is the versioned, documented JSON of [`predictors::store`] (no
//! pickle). Its metadata records what the features were made of, so `predict`
//! rebuilds the same features without being told:
//!
//! | key | value |
//! |---|---|
//! | `space` | the space name (`nb201`) |
//! | `target` | the table column the model predicts |
//! | `encoding` | an [`EncodingKind`] name |
//! | `free` | comma-separated [`FreeFeature`] names (may be empty) |
//! | `train_size`, `seed` | the training split |
//! | `kendall_tau_rest` | Kendall tau on the table's other architectures at fit time |

use crate::predictor_cmd::{nb201, target_column};
use anyhow::{Context, Result, bail};
use nas_core::{EncodingKind, SearchSpace};
use predictors::eval::train_split;
use predictors::model::{Fit, ModelConfig, Predict};
use predictors::store::SavedPredictor;
use predictors::{FeatureConfig, FreeFeature, kendall_tau};
use search_spaces::nb201::Nb201Space;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `hwnas predictor fit`.
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// Space (only `nb201` has a table).
    pub space: String,
    /// `cifar10`, `cifar100`, `imagenet16_120` or a table column.
    pub target: String,
    /// Model kind name.
    pub model: String,
    /// Encoding.
    pub encoding: EncodingKind,
    /// Free features.
    pub free: Vec<FreeFeature>,
    /// Training architectures drawn from the table (0 = all of them).
    pub train_size: usize,
    /// Seed of the split and the fit.
    pub seed: u64,
    /// Output file.
    pub out: PathBuf,
}

fn metadata_get<'a>(saved: &'a SavedPredictor, key: &str, path: &Path) -> Result<&'a str> {
    Ok(saved.metadata_field(key, path)?)
}

/// The features a saved predictor expects, from its metadata.
pub fn feature_config_of(saved: &SavedPredictor, path: &Path) -> Result<FeatureConfig> {
    Ok(saved.feature_config(path)?)
}

fn features_of(space: &Nb201Space, fc: &FeatureConfig, notation: &str) -> Result<Vec<f64>> {
    let arch = space.parse(notation)?;
    fc.features(space, &arch).with_context(|| format!("the {} encoding is not available for {notation}", fc.encoding))
}

/// Runs `predictor fit`: fits on a split of the table, saves, and returns a
/// summary with the Kendall tau on the other architectures.
pub fn fit(opts: &FitOptions) -> Result<String> {
    let (space, table) = nb201(&opts.space)?;
    let col = target_column(&table, &opts.target)?;
    let column = table.columns()[col].clone();
    let model_cfg = ModelConfig::by_name(&opts.model)
        .with_context(|| format!("--model {}: allowed: {}", opts.model, ModelConfig::NAMES.join(", ")))?;
    let fc = FeatureConfig { encoding: opts.encoding, free: opts.free.clone(), cheap: vec![] };
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (n, row) in table.rows() {
        x.push(features_of(&space, &fc, n)?);
        y.push(row[col]);
    }
    if opts.train_size > x.len() {
        bail!("--train-size {}: the table has {} architectures", opts.train_size, x.len());
    }
    let train: Vec<usize> =
        if opts.train_size == 0 { (0..x.len()).collect() } else { train_split(x.len(), opts.train_size, opts.seed) };
    let in_train: std::collections::BTreeSet<usize> = train.iter().copied().collect();
    let xs: Vec<Vec<f64>> = train.iter().map(|&i| x[i].clone()).collect();
    let ys: Vec<f64> = train.iter().map(|&i| y[i]).collect();
    let model = model_cfg.fit(&xs, &ys, opts.seed)?;
    let rest: Vec<usize> = (0..x.len()).filter(|i| !in_train.contains(i)).collect();
    let tau = if rest.len() >= 2 {
        let rx: Vec<Vec<f64>> = rest.iter().map(|&i| x[i].clone()).collect();
        let ry: Vec<f64> = rest.iter().map(|&i| y[i]).collect();
        Some(kendall_tau(&ry, &model.predict(&rx)?.mean))
    } else {
        None
    };
    let mut metadata = BTreeMap::new();
    metadata.insert("space".into(), opts.space.clone());
    metadata.insert("target".into(), column.clone());
    metadata.insert("encoding".into(), opts.encoding.name().into());
    metadata.insert("free".into(), opts.free.iter().map(|f| f.name()).collect::<Vec<_>>().join(","));
    metadata.insert("train_size".into(), train.len().to_string());
    metadata.insert("seed".into(), opts.seed.to_string());
    if let Some(t) = tau {
        metadata.insert("kendall_tau_rest".into(), format!("{t:.4}"));
    }
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    SavedPredictor::new(model, metadata).save(&opts.out)?;
    let mut s = format!(
        "fitted {} on {} {} architectures ({} features: {}{})",
        opts.model,
        train.len(),
        column,
        xs.first().map_or(0, Vec::len),
        opts.encoding,
        opts.free.iter().map(|f| format!("+{}", f.name())).collect::<String>()
    );
    if let Some(t) = tau {
        s.push_str(&format!("\nKendall tau on the other {} architectures: {t:.4}", rest.len()));
    }
    s.push_str(&format!("\nwrote {}", opts.out.display()));
    Ok(s)
}

/// Runs `predictor predict`: loads `model` and predicts `archs` (NAS-Bench-201
/// notation); with `table`, also the Kendall tau against the table's column over
/// every architecture.
pub fn predict(model: &Path, archs: &[String], table: bool) -> Result<String> {
    let saved = SavedPredictor::load(model)?;
    let space_name = metadata_get(&saved, "space", model)?.to_string();
    let (space, tab) = nb201(&space_name)?;
    let fc = feature_config_of(&saved, model)?;
    let mut s = String::new();
    if !archs.is_empty() {
        let rows: Vec<Vec<f64>> = archs.iter().map(|a| features_of(&space, &fc, a)).collect::<Result<_>>()?;
        let p = saved.model.predict(&rows).with_context(|| format!("predicting with {}", model.display()))?;
        let target = saved.metadata.get("target").cloned().unwrap_or_default();
        for (i, a) in archs.iter().enumerate() {
            let sd = p.std.as_ref().map(|v| format!(" ± {:.4}", v[i])).unwrap_or_default();
            s.push_str(&format!("{a}\t{target} {:.4}{sd}\n", p.mean[i]));
        }
    }
    if table {
        let target = metadata_get(&saved, "target", model)?;
        let col = target_column(&tab, target)?;
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (n, row) in tab.rows() {
            x.push(features_of(&space, &fc, n)?);
            y.push(row[col]);
        }
        let p = saved.model.predict(&x)?;
        s.push_str(&format!(
            "Kendall tau against {target} over all {} architectures (training ones included): {:.4}\n",
            x.len(),
            kendall_tau(&y, &p.mean)
        ));
    }
    if s.is_empty() {
        bail!("nothing to predict: give architectures (NAS-Bench-201 notation) or --table");
    }
    Ok(s)
}
