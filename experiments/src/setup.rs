//! Turns a validated [`ExperimentConfig`] into live objects: datasets, the space,
//! the evaluators and the strategy. This is the registry of everything a config
//! can name.

use crate::config::{EvaluatorConfig, ExperimentConfig, SpaceConfig, StrategyConfig};
use anyhow::{Context, Result, bail};
use nas_core::train::{ImageDataset, ImageFolderOptions, TrainableSpace, TrainingEvaluator, loaders};
use nas_core::{
    AnalyticalCost, Architecture, CostEvaluator, Crossover, Evaluator, Joint, Metric, MetricTable, Mutate, Neighbors,
    Problem, SearchSpace, SearchStrategy, SpaceSize, TableEvaluator, ToNetworkSpec,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a space must offer to be searchable from the CLI.
pub trait RunnableSpace:
    SearchSpace + Mutate + Crossover + Neighbors + ToNetworkSpec + TrainableSpace + nas_core::MultiEncode + 'static
{
}
impl<T: SearchSpace + Mutate + Crossover + Neighbors + ToNetworkSpec + TrainableSpace + nas_core::MultiEncode + 'static>
    RunnableSpace for T
{
}

/// The folder holding the shipped data (`HWNAS_DATA_DIR` overrides it).
pub fn data_dir() -> PathBuf {
    std::env::var_os("HWNAS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("data"))
}

/// The shipped NAS-Bench-201 table.
pub fn builtin_nb201_table() -> PathBuf {
    data_dir().join("nb201").join("nb201_cifar_accuracy_and_latency.csv.gz")
}

/// Resolves a path from a config: absolute stays, relative is taken from the
/// config file's folder.
pub fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { base.join(p) }
}

/// Makes every file path in the config absolute (the resolved config written to a
/// run directory must work from anywhere).
pub fn resolve_paths(cfg: &mut ExperimentConfig, base: &Path) {
    for e in &mut cfg.evaluators {
        match e {
            EvaluatorConfig::Table { path, .. } if !path.starts_with("builtin:") => {
                *path = resolve(base, Path::new(path)).display().to_string();
            }
            EvaluatorConfig::Train { path: Some(p), .. } => *p = resolve(base, p),
            EvaluatorConfig::Lut { path, .. } | EvaluatorConfig::Predictor { path, .. } => *path = resolve(base, path),
            _ => {}
        }
    }
}

/// Training and validation splits, normalised with the training statistics.
#[derive(Clone)]
pub struct DataSplit {
    /// Training images.
    pub train: Arc<ImageDataset>,
    /// Held-out validation images.
    pub val: Arc<ImageDataset>,
}

/// Loads the dataset of the first `train` evaluator, if any.
pub fn load_data(cfg: &ExperimentConfig) -> Result<Option<DataSplit>> {
    let Some((dataset, path, val_fraction)) = cfg.evaluators.iter().find_map(|e| match e {
        EvaluatorConfig::Train { dataset, path, val_fraction, .. } => Some((dataset, path, *val_fraction)),
        _ => None,
    }) else {
        return Ok(None);
    };
    let need = |p: &Option<PathBuf>| p.clone().context("this dataset needs `path`");
    let data = match dataset.as_str() {
        "mnist10k" | "digits" => loaders::load_builtin(dataset, &data_dir())?,
        "mnist_idx" => loaders::load_mnist(&need(path)?, true)?,
        "cifar10" => loaders::load_cifar10(&need(path)?, true)?,
        "image_folder" => loaders::load_image_folder(&need(path)?, ImageFolderOptions::default())?,
        other => bail!("unknown dataset `{other}`"),
    };
    let (mut train, mut val) = data.split(val_fraction, cfg.seed)?;
    let stats = train.normalize();
    val.normalize_with(&stats);
    Ok(Some(DataSplit { train: Arc::new(train), val: Arc::new(val) }))
}

/// The evaluator of a run and, when a table covers the whole space, the true
/// Pareto front (minimisation form) for HV ratios.
pub struct Evaluators<A: Architecture> {
    /// All configured evaluators, merged.
    pub evaluator: Arc<dyn Evaluator<A>>,
    /// The true feasible front, when known.
    pub true_front: Option<Vec<Vec<f64>>>,
    /// What predictor-guided strategies may query freely: every cheap evaluator of
    /// the config, with table accuracy columns left out (only their device
    /// latency stays), merged; `None` when there is none.
    pub cheap: Option<Arc<dyn Evaluator<A>>>,
}

fn table_mapping(
    table: &MetricTable,
    accuracy: &Option<String>,
    device: &Option<String>,
) -> Result<Vec<(Metric, String)>> {
    let mut mapping = Vec::new();
    if let Some(col) = accuracy {
        table.column(col).with_context(|| {
            format!("field `accuracy`: accuracy columns in this table: {}", table.accuracy_columns().join(", "))
        })?;
        mapping.push((Metric::Accuracy, col.clone()));
    }
    if let Some(dev) = device {
        let col = format!("{dev}_ms");
        if table.column(&col).is_err() {
            bail!(
                "field `device`: `{dev}` has no `{col}` column in {}; devices: {}",
                table.path().display(),
                table.devices().join(", ")
            );
        }
        mapping.push((Metric::LatencyMs, col));
    }
    Ok(mapping)
}

/// Builds the merged evaluator of a config for `space`.
pub fn build_evaluators<S: RunnableSpace>(
    cfg: &ExperimentConfig,
    space: &Arc<S>,
    data: Option<&DataSplit>,
) -> Result<Evaluators<S::Arch>> {
    let problem = cfg.problem();
    let mut parts: Vec<Arc<dyn Evaluator<S::Arch>>> = Vec::new();
    let mut true_front = None;
    // Cheap parts for guided strategies: tables contribute their latency only.
    let mut cheap_parts: Vec<Arc<dyn Evaluator<S::Arch>>> = Vec::new();
    let mut table_parts = Vec::new();
    for (i, e) in cfg.evaluators.iter().enumerate() {
        let ctx = || format!("evaluators[{i}]");
        match e {
            EvaluatorConfig::Table { path, accuracy, device } => {
                let file = if path == "builtin:nb201" { builtin_nb201_table() } else { PathBuf::from(path) };
                let table = Arc::new(MetricTable::load(&file, space.as_ref()).with_context(ctx)?);
                let mapping = table_mapping(&table, accuracy, device).with_context(ctx)?;
                let pairs: Vec<(Metric, &str)> = mapping.iter().map(|(m, c)| (*m, c.as_str())).collect();
                let eval = TableEvaluator::new(table.clone(), &pairs).with_context(ctx)?;
                let covers_space = space.size() == SpaceSize::Exact(table.len() as u128);
                let covers_metrics = problem.metrics().iter().all(|m| pairs.iter().any(|(p, _)| p == m));
                if covers_space && covers_metrics {
                    true_front = Some(table_front(&problem, &eval));
                }
                if let Some((m, c)) = pairs.iter().find(|(m, _)| *m == Metric::LatencyMs) {
                    cheap_parts.push(Arc::new(TableEvaluator::new(table.clone(), &[(*m, c)]).with_context(ctx)?));
                }
                table_parts.push(parts.len());
                parts.push(Arc::new(eval));
            }
            EvaluatorConfig::Train { backend, training, .. } => {
                let split = data.context("train evaluator without data")?;
                let eval = TrainingEvaluator::new(
                    space.clone(),
                    split.train.clone(),
                    split.val.clone(),
                    training.clone(),
                    *backend,
                );
                eval.check().with_context(ctx)?;
                parts.push(Arc::new(eval));
            }
            EvaluatorConfig::Analytical {} => {
                parts.push(Arc::new(CostEvaluator::new(space.clone(), Arc::new(AnalyticalCost))));
            }
            EvaluatorConfig::Lut { path, batch } => {
                let table = crate::hardware::load_lut_for(path, space.as_ref(), *batch).with_context(ctx)?;
                let model = Arc::new(latency_lut::LutLatency::new(table));
                parts.push(Arc::new(CostEvaluator::new(space.clone(), model)));
            }
            EvaluatorConfig::Measured { batch, threads } => {
                let p = crate::hardware::protocol(*batch, *threads);
                parts.push(Arc::new(latency_lut::MeasuredLatency::new(space.clone(), p).with_context(ctx)?));
            }
            EvaluatorConfig::Energy { technology, buffer_kib, batch } => {
                let model =
                    latency_lut::EnergyModel::new(technology.resolve()?, *buffer_kib, *batch).with_context(ctx)?;
                parts.push(Arc::new(CostEvaluator::new(space.clone(), Arc::new(model))));
            }
            EvaluatorConfig::Systolic { .. } => {
                let model = e.systolic().map_err(anyhow::Error::msg).with_context(ctx)?;
                parts.push(Arc::new(CostEvaluator::new(space.clone(), Arc::new(model))));
            }
            EvaluatorConfig::Predictor { path, metric } => {
                let metric: Metric = metric.parse().with_context(ctx)?;
                let saved = predictors::SavedPredictor::load(path).with_context(ctx)?;
                let eval =
                    predictors::PredictorEvaluator::from_saved(space.clone(), saved, metric, path).with_context(ctx)?;
                parts.push(Arc::new(eval));
            }
            EvaluatorConfig::Device { name } => {
                let table = Arc::new(MetricTable::load(builtin_nb201_table(), space.as_ref()).with_context(ctx)?);
                let mapping = table_mapping(&table, &None, &Some(name.clone())).with_context(ctx)?;
                let pairs: Vec<(Metric, &str)> = mapping.iter().map(|(m, c)| (*m, c.as_str())).collect();
                parts.push(Arc::new(TableEvaluator::new(table.clone(), &pairs).with_context(ctx)?));
            }
        }
    }
    for (i, p) in parts.iter().enumerate() {
        if !table_parts.contains(&i) && p.is_cheap() {
            cheap_parts.push(p.clone());
        }
    }
    let cheap: Option<Arc<dyn Evaluator<S::Arch>>> = match cheap_parts.len() {
        0 => None,
        1 => cheap_parts.pop(),
        _ => Some(Arc::new(Joint::new(cheap_parts))),
    };
    let evaluator: Arc<dyn Evaluator<S::Arch>> =
        if parts.len() == 1 { parts.remove(0) } else { Arc::new(Joint::new(parts)) };
    check_cheap_features(&cfg.strategy, cheap.as_deref())?;
    Ok(Evaluators { evaluator, true_front, cheap })
}

/// A guided strategy's `features.cheap` may only name metrics a cheap evaluator
/// provides (else its candidates would have no features).
fn check_cheap_features<A: nas_core::Architecture>(
    strategy: &StrategyConfig,
    cheap: Option<&dyn Evaluator<A>>,
) -> Result<()> {
    let wanted = match strategy {
        StrategyConfig::Bananas(c) => &c.features.cheap,
        StrategyConfig::Linas(c) => &c.features.cheap,
        _ => return Ok(()),
    };
    let provided = cheap.map(|c| c.provides()).unwrap_or_default();
    for m in wanted {
        if !provided.contains(m) {
            let allowed = if provided.is_empty() {
                "none: add a table, lut, measured, energy, systolic or analytical evaluator".to_string()
            } else {
                provided.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
            };
            bail!(
                "strategy.features.cheap: `{}` is not provided by a cheap evaluator; cheap metrics: {allowed}",
                m.name()
            );
        }
    }
    Ok(())
}

/// The feasible Pareto front of a whole table.
pub fn table_front(problem: &Problem, eval: &TableEvaluator) -> Vec<Vec<f64>> {
    let pts: Vec<Vec<f64>> = eval
        .table()
        .rows()
        .map(|(_, row)| eval.row_metrics(row))
        .filter(|m| problem.violation(m) == 0.0)
        .filter_map(|m| problem.min_vector(&m))
        .collect();
    nas_core::pareto::pareto_front_indices(&pts).into_iter().map(|i| pts[i].clone()).collect()
}

/// The strategy a config names. Predictor-guided strategies (`bananas`, `linas`)
/// take the problem and the cheap evaluator of `evals` (see [`Evaluators::cheap`]).
pub fn build_strategy<S: RunnableSpace>(
    cfg: &StrategyConfig,
    evals: &Evaluators<S::Arch>,
    problem: &Problem,
) -> Box<dyn SearchStrategy<S>> {
    match cfg {
        StrategyConfig::Bananas(c) => Box::new(c.clone().init::<S>(problem.clone(), evals.cheap.clone())),
        StrategyConfig::Linas(c) => Box::new(c.clone().init::<S>(problem.clone(), evals.cheap.clone())),
        StrategyConfig::Random(c) => Box::new(c.clone().init::<S::Arch>()),
        StrategyConfig::Evolution(c) => Box::new(c.clone().init::<S::Arch>()),
        StrategyConfig::Nsga2(c) => Box::new(c.clone().init::<S::Arch>()),
        StrategyConfig::Local(c) => Box::new(c.clone().init::<S::Arch>()),
    }
}

/// Input shape and classes: from the dataset when training, else CIFAR-10's.
pub fn input_shape(data: Option<&DataSplit>) -> ([usize; 3], usize) {
    match data {
        Some(d) => (d.train.chw(), d.train.num_classes()),
        None => ([3, 32, 32], 10),
    }
}

/// Calls `$body` with `$space` bound to the configured space (an `Arc` of its
/// concrete type), so generic code runs for every space.
#[macro_export]
macro_rules! with_space {
    ($cfg:expr, $data:expr, |$space:ident| $body:expr) => {{
        let (input_chw, num_classes) = $crate::setup::input_shape($data);
        match &$cfg.space {
            $crate::config::SpaceConfig::Nb201 { channels, cells_per_stage } => {
                let $space =
                    std::sync::Arc::new(search_spaces::nb201::Nb201Space::new(search_spaces::nb201::Nb201Config {
                        channels: *channels,
                        cells_per_stage: *cells_per_stage,
                        input_chw,
                        num_classes,
                    })?);
                $body
            }
            $crate::config::SpaceConfig::Darts { channels, layers } => {
                let $space =
                    std::sync::Arc::new(search_spaces::darts::DartsSpace::new(search_spaces::darts::DartsConfig {
                        channels: *channels,
                        layers: *layers,
                        input_chw,
                        num_classes,
                        ..Default::default()
                    })?);
                $body
            }
        }
    }};
}

/// Name of the space a config selects (for records).
pub fn space_name(space: &SpaceConfig) -> &'static str {
    space.name()
}
