//! `hwnas predictor fit` and `hwnas predictor predict`: fit a predictor and save
//! it; load a saved predictor and use it.
//!
//! A predictor is fitted on the built-in NAS-Bench-201 table (any column: an
//! accuracy, a device latency) or, with `--run DIR`, on the successful trials of
//! a run of any space (any metric the run recorded, e.g. latency measured on this
//! machine, or trained accuracy).
//!
//! The file is the versioned, documented JSON of [`predictors::store`] (no
//! pickle). Its metadata records what the features were made of, so `predict`
//! and the `kind = "predictor"` evaluator rebuild the same features without being
//! told:
//!
//! | key | value |
//! |---|---|
//! | `space` | the space name (`nb201`, `darts`) |
//! | `space_signature` | [`predictors::evaluator::space_signature`] of the space setting |
//! | `target` | the table column or run metric the model predicts |
//! | `encoding` | an [`EncodingKind`] name |
//! | `free` | comma-separated [`FreeFeature`] names (may be empty) |
//! | `source` | `table:nb201` or `run:<dir>` |
//! | `train_size`, `seed` | the training split |
//! | `kendall_tau_rest` | Kendall tau on the other rows at fit time (when any) |

use crate::config::ExperimentConfig;
use crate::predictor_cmd::{nb201, target_column};
use crate::setup::{Build, Setup};
use anyhow::{Context, Result, bail};
use nas_core::{DynSpace, EncodingKind, Metric, MultiEncode, Registry, ToNetworkSpec};
use predictors::eval::train_split;
use predictors::evaluator::{check_fits_space, space_signature};
use predictors::model::{Fit, ModelConfig, Predict};
use predictors::store::SavedPredictor;
use predictors::{FeatureConfig, FreeFeature, kendall_tau};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `hwnas predictor fit`.
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// Space of the built-in table (only `nb201` has one); unused with `run`.
    pub space: String,
    /// Table: `cifar10`, `cifar100`, `imagenet16_120`, a device or a column.
    /// Run: a metric name (`latency_ms`, `accuracy`, ...).
    pub target: String,
    /// Model kind name.
    pub model: String,
    /// Encoding.
    pub encoding: EncodingKind,
    /// Free features.
    pub free: Vec<FreeFeature>,
    /// Training rows drawn from the data (0 = all of them).
    pub train_size: usize,
    /// Seed of the split and the fit.
    pub seed: u64,
    /// Output file.
    pub out: PathBuf,
    /// Fit on the successful trials of this run directory instead of the table.
    pub run: Option<PathBuf>,
}

fn features_of<S: MultiEncode + ToNetworkSpec>(space: &S, fc: &FeatureConfig, notation: &str) -> Result<Vec<f64>> {
    let arch = space.parse(notation)?;
    fc.features(space, &arch).with_context(|| format!("the {} encoding is not available for {notation}", fc.encoding))
}

/// The space of a config (its dataset sets the networks' input shape).
fn config_space(cfg: &ExperimentConfig, registry: &Registry) -> Result<DynSpace> {
    let setup = Setup::new(cfg, registry, Build::ReportsOnly { with_data: true })
        .context("loading the dataset (it sets the network's input shape)")?;
    Ok(setup.space)
}

/// What `hwnas predictor fit` did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FitReport {
    /// Model kind.
    pub model: String,
    /// Space name.
    pub space: String,
    /// What it predicts (a table column or a run metric).
    pub target: String,
    /// Training architectures.
    pub train_size: usize,
    /// Feature vector length.
    pub features: usize,
    /// The features, e.g. `path_stats+params+flops`.
    pub feature_names: String,
    /// Kendall tau on the other rows, when there are at least two.
    pub kendall_tau_rest: Option<f64>,
    /// Rows outside the training split.
    pub rest: usize,
    /// The file written.
    pub out: PathBuf,
}

impl std::fmt::Display for FitReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fitted {} on {} {} {} architectures ({} features: {})",
            self.model, self.train_size, self.space, self.target, self.features, self.feature_names
        )?;
        if let Some(t) = self.kendall_tau_rest {
            write!(f, "\nKendall tau on the other {} architectures: {t:.4}", self.rest)?;
        }
        write!(f, "\nwrote {}", self.out.display())
    }
}

/// Runs `predictor fit`: fits on (a split of) the table or a run's trials and
/// saves the predictor.
pub fn fit(opts: &FitOptions, registry: &Registry) -> Result<FitReport> {
    match &opts.run {
        None => {
            let (space, table) = nb201(&opts.space)?;
            let col = target_column(&table, &opts.target)?;
            let rows: Vec<(String, f64)> = table.rows().map(|(n, r)| (n.to_string(), r[col])).collect();
            fit_on(&space, &rows, &table.columns()[col], "table:nb201", opts)
        }
        Some(dir) => {
            let cfg = crate::runner::run_config(dir, registry)?;
            // A multi-fidelity run records a candidate per rung: fit on its final record.
            let trials = nas_core::fidelity::final_trials(&crate::rundir::read_trials(dir)?);
            let recorded: std::collections::BTreeSet<Metric> =
                trials.iter().flat_map(|t| t.metrics.keys().copied()).collect();
            let names = || recorded.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ");
            let metric: Metric = opts.target.parse().ok().filter(|m| recorded.contains(m)).with_context(|| {
                format!("--target {}: with --run give a metric the run recorded: {}", opts.target, names())
            })?;
            let rows: Vec<(String, f64)> = trials
                .iter()
                .filter(|t| t.is_ok())
                .filter_map(|t| t.metrics.get(&metric).map(|v| (t.arch.clone(), *v)))
                .collect();
            if rows.len() < 3 {
                bail!("{}: {} successful trials with {metric}; a fit needs at least 3", dir.display(), rows.len());
            }
            let space = config_space(&cfg, registry)?;
            let source = format!("run:{}", dir.display());
            fit_on(&space, &rows, metric.name(), &source, opts)
        }
    }
}

fn fit_on<S: MultiEncode + ToNetworkSpec>(
    space: &S,
    rows: &[(String, f64)],
    target: &str,
    source: &str,
    opts: &FitOptions,
) -> Result<FitReport> {
    let model_cfg = ModelConfig::by_name(&opts.model)
        .with_context(|| format!("--model {}: allowed: {}", opts.model, ModelConfig::NAMES.join(", ")))?;
    let fc = FeatureConfig { encoding: opts.encoding, free: opts.free.clone(), cheap: vec![] };
    let x: Vec<Vec<f64>> = rows.iter().map(|(n, _)| features_of(space, &fc, n)).collect::<Result<_>>()?;
    if x.first().is_some_and(Vec::is_empty) {
        bail!("--encoding none with no --free features leaves the model nothing to read; add e.g. --free layers");
    }
    let y: Vec<f64> = rows.iter().map(|r| r.1).collect();
    if opts.train_size > x.len() {
        bail!("--train-size {}: the data has {} architectures", opts.train_size, x.len());
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
    metadata.insert("space".into(), space.name().to_string());
    metadata.insert("space_signature".into(), space_signature(space));
    metadata.insert("target".into(), target.to_string());
    metadata.insert("encoding".into(), opts.encoding.name().into());
    metadata.insert("free".into(), opts.free.iter().map(|f| f.name()).collect::<Vec<_>>().join(","));
    metadata.insert("source".into(), source.to_string());
    metadata.insert("train_size".into(), train.len().to_string());
    metadata.insert("seed".into(), opts.seed.to_string());
    if let Some(t) = tau {
        metadata.insert("kendall_tau_rest".into(), format!("{t:.4}"));
    }
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    SavedPredictor::new(model, metadata).save(&opts.out)?;
    Ok(FitReport {
        model: opts.model.clone(),
        space: space.name().to_string(),
        target: target.to_string(),
        train_size: train.len(),
        features: xs.first().map_or(0, Vec::len),
        feature_names: format!(
            "{}{}",
            opts.encoding,
            opts.free.iter().map(|f| format!("+{}", f.name())).collect::<String>()
        ),
        kendall_tau_rest: tau,
        rest: rest.len(),
        out: opts.out.clone(),
    })
}

/// One prediction of `hwnas predictor predict`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// The architecture.
    pub arch: String,
    /// The predicted value.
    pub mean: f64,
    /// Its standard deviation, for models with uncertainty.
    pub std: Option<f64>,
}

/// What `hwnas predictor predict` computed.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PredictReport {
    /// What the predictor predicts.
    pub target: String,
    /// One per architecture asked for.
    pub predictions: Vec<Prediction>,
    /// With `--table`: Kendall tau against the table over every architecture.
    pub table_kendall_tau: Option<f64>,
    /// Architectures of that comparison.
    pub table_rows: usize,
}

impl std::fmt::Display for PredictReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.predictions {
            let sd = p.std.map(|v| format!(" ± {v:.4}")).unwrap_or_default();
            writeln!(f, "{}\t{} {:.4}{sd}", p.arch, self.target, p.mean)?;
        }
        if let Some(t) = self.table_kendall_tau {
            writeln!(
                f,
                "Kendall tau against {} over all {} architectures (training ones included): {t:.4}",
                self.target, self.table_rows
            )?;
        }
        Ok(())
    }
}

/// Runs `predictor predict`: loads `model` and predicts `archs` (in the notation
/// of its space). NB201 predictors need nothing else; others take the space from
/// `config` (an experiment config or a run directory). With `table` (NB201 only),
/// also the Kendall tau against the table's column over every architecture.
pub fn predict(
    model: &Path,
    archs: &[String],
    table: bool,
    config: Option<&Path>,
    registry: &Registry,
) -> Result<PredictReport> {
    let saved = SavedPredictor::load(model)?;
    let fitted_on = saved.metadata_field("space", model)?.to_string();
    if let Some(c) = config {
        if table {
            bail!("--table scores against the built-in NB201 table; leave out --config");
        }
        let cfg = if c.is_dir() {
            crate::runner::run_config(c, registry)?
        } else {
            ExperimentConfig::load_with(c, registry)?
        };
        let space = config_space(&cfg, registry)?;
        return predict_on(&space, &saved, model, archs);
    }
    if fitted_on != "nb201" {
        bail!(
            "{} was fitted on the `{fitted_on}` space: give --config with the experiment config (or run directory) \
             of that space",
            model.display()
        );
    }
    let (space, tab) = nb201("nb201")?;
    let mut report = predict_on(&space, &saved, model, archs)?;
    if table {
        let fc = check_fits_space(&space, &saved, model)?;
        let target = saved.metadata_field("target", model)?;
        let col = target_column(&tab, target)?;
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (n, row) in tab.rows() {
            x.push(features_of(&space, &fc, n)?);
            y.push(row[col]);
        }
        let p = saved.model.predict(&x)?;
        report.table_kendall_tau = Some(kendall_tau(&y, &p.mean));
        report.table_rows = x.len();
    }
    if report.predictions.is_empty() && report.table_kendall_tau.is_none() {
        bail!("nothing to predict: give architectures (in the space's notation) or --table");
    }
    Ok(report)
}

fn predict_on<S: MultiEncode + ToNetworkSpec>(
    space: &S,
    saved: &SavedPredictor,
    model: &Path,
    archs: &[String],
) -> Result<PredictReport> {
    let fc = check_fits_space(space, saved, model)?;
    let target = saved.metadata.get("target").cloned().unwrap_or_default();
    if archs.is_empty() {
        return Ok(PredictReport { target, predictions: Vec::new(), table_kendall_tau: None, table_rows: 0 });
    }
    let rows: Vec<Vec<f64>> = archs.iter().map(|a| features_of(space, &fc, a)).collect::<Result<_>>()?;
    let p = saved.model.predict(&rows).with_context(|| format!("predicting with {}", model.display()))?;
    let predictions = archs
        .iter()
        .enumerate()
        .map(|(i, a)| Prediction { arch: a.clone(), mean: p.mean[i], std: p.std.as_ref().map(|v| v[i]) })
        .collect();
    Ok(PredictReport { target, predictions, table_kendall_tau: None, table_rows: 0 })
}
