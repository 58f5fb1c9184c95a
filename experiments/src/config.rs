//! Experiment configuration: TOML files with strict validation.
//!
//! Every struct denies unknown fields; every value is checked by
//! [`ExperimentConfig::validate`]. Errors name the file, the field, the bad value
//! and what is allowed.

use latency_lut::{Dataflow, TechnologyChoice};
use nas_core::strategy::{LocalSearchConfig, Nsga2Config, RandomSearchConfig, RegularizedEvolutionConfig};
use nas_core::train::{Backend, TrainConfig};
use nas_core::{Constraint, Direction, Metric, Objective};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The built-in default experiment (`hwnas run` with no argument).
pub const DEFAULT_CONFIG: &str = include_str!("../configs/default.toml");

/// A configuration error: file, field, value and what is allowed.
#[derive(Debug, thiserror::Error)]
#[error("{file}: field `{field}`: {message}")]
pub struct ConfigError {
    /// The config file (or `<built-in default>`).
    pub file: String,
    /// Dotted field path.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// A whole experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Name; run directories are named after it.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Run seed: the same config and seed give the same results.
    #[serde(default)]
    pub seed: u64,
    /// Distinct architectures to evaluate.
    pub budget: usize,
    /// Architectures evaluated in parallel per step (results never depend on it
    /// being run on more or fewer threads).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Worker threads (0 = one per core).
    #[serde(default)]
    pub threads: usize,
    /// The search space.
    pub space: SpaceConfig,
    /// The search strategy.
    pub strategy: StrategyConfig,
    /// Objectives, e.g. `[{ metric = "accuracy" }, { metric = "latency_ms" }]`.
    pub objectives: Vec<ObjectiveConfig>,
    /// Hard constraints, e.g. `["latency_ms <= 5"]`.
    #[serde(default)]
    pub constraints: Vec<String>,
    /// Evaluators; their metric maps are merged.
    pub evaluators: Vec<EvaluatorConfig>,
    /// Output settings.
    #[serde(default)]
    pub output: OutputConfig,
}

fn default_batch() -> usize {
    8
}

/// One objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveConfig {
    /// Metric name (`accuracy`, `latency_ms`, ...).
    pub metric: String,
    /// `maximize` or `minimize` (default: the metric's natural direction).
    #[serde(default)]
    pub direction: Option<Direction>,
}

/// The search space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SpaceConfig {
    /// NAS-Bench-201 cells in the NB201 macro network.
    Nb201 {
        /// Channels of the first stage (C).
        #[serde(default = "default_c16")]
        channels: usize,
        /// Cells per stage (N).
        #[serde(default = "default_n5")]
        cells_per_stage: usize,
    },
    /// DARTS normal + reduction cells in the DARTS network.
    Darts {
        /// Initial channels (C).
        #[serde(default = "default_c16")]
        channels: usize,
        /// Number of cells.
        #[serde(default = "default_layers")]
        layers: usize,
    },
}

fn default_c16() -> usize {
    16
}
fn default_n5() -> usize {
    5
}
fn default_layers() -> usize {
    8
}

impl SpaceConfig {
    /// The space's name.
    pub fn name(&self) -> &'static str {
        match self {
            SpaceConfig::Nb201 { .. } => "nb201",
            SpaceConfig::Darts { .. } => "darts",
        }
    }
}

/// The search strategy and its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StrategyConfig {
    /// Uniform random search without repeats.
    Random(RandomSearchConfig),
    /// Regularized (aging) evolution.
    Evolution(RegularizedEvolutionConfig),
    /// NSGA-II.
    Nsga2(Nsga2Config),
    /// Pareto local search.
    Local(LocalSearchConfig),
    /// BANANAS-style predictor-guided search (predictors crate).
    Bananas(predictors::strategy::BananasConfig),
    /// LINAS-style predictor-guided search: NSGA-II on predictors (predictors crate).
    Linas(predictors::strategy::LinasConfig),
}

/// Names of the strategies (for `--strategy` and errors).
pub const STRATEGIES: [&str; 6] = ["random", "evolution", "nsga2", "local", "bananas", "linas"];

impl StrategyConfig {
    /// The strategy's name.
    pub fn name(&self) -> &'static str {
        match self {
            StrategyConfig::Random(_) => "random",
            StrategyConfig::Evolution(_) => "evolution",
            StrategyConfig::Nsga2(_) => "nsga2",
            StrategyConfig::Local(_) => "local",
            StrategyConfig::Bananas(_) => "bananas",
            StrategyConfig::Linas(_) => "linas",
        }
    }

    /// The default settings of a strategy by name.
    pub fn by_name(name: &str) -> Option<Self> {
        Some(match name {
            "random" => StrategyConfig::Random(Default::default()),
            "evolution" => StrategyConfig::Evolution(Default::default()),
            "nsga2" => StrategyConfig::Nsga2(Default::default()),
            "local" => StrategyConfig::Local(Default::default()),
            "bananas" => StrategyConfig::Bananas(Default::default()),
            "linas" => StrategyConfig::Linas(Default::default()),
            _ => return None,
        })
    }

    fn validate(&self) -> nas_core::Result<()> {
        match self {
            StrategyConfig::Random(c) => c.validate(),
            StrategyConfig::Evolution(c) => c.validate(),
            StrategyConfig::Nsga2(c) => c.validate(),
            StrategyConfig::Local(c) => c.validate(),
            StrategyConfig::Bananas(c) => c.validate().map_err(guided_error),
            StrategyConfig::Linas(c) => c.validate().map_err(guided_error),
        }
    }
}

/// A predictor-guided strategy's config error as a [`nas_core::NasError`].
fn guided_error(e: predictors::PredictorError) -> nas_core::NasError {
    nas_core::NasError::InvalidValue {
        field: "strategy".into(),
        value: e.to_string(),
        allowed: "the settings documented in predictors::strategy".into(),
    }
}

/// An evaluator: where metrics come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EvaluatorConfig {
    /// A benchmark table (CSV with an `arch` column).
    Table {
        /// `builtin:nb201` (the shipped NAS-Bench-201 table) or a CSV path
        /// (relative paths are relative to the config file).
        #[serde(default = "default_table")]
        path: String,
        /// Column giving `accuracy` (e.g. `cifar10_test_acc`).
        #[serde(default)]
        accuracy: Option<String>,
        /// Device whose `<device>_ms` column gives `latency_ms` (e.g. `fpga`).
        #[serde(default)]
        device: Option<String>,
    },
    /// Train each candidate with burn on a dataset.
    Train {
        /// Dataset: `mnist10k`, `digits` (built in), `mnist_idx`, `cifar10`, `image_folder`.
        dataset: String,
        /// Files of non-built-in datasets (relative to the config file).
        #[serde(default)]
        path: Option<PathBuf>,
        /// Fraction held out for validation.
        #[serde(default = "default_val")]
        val_fraction: f64,
        /// burn backend: `flex` (default) or `ndarray`.
        #[serde(default)]
        backend: Backend,
        /// Training settings.
        #[serde(default)]
        training: TrainConfig,
    },
    /// Params, FLOPs, MACs, BitOps and memory from the layer description.
    Analytical {},
    /// `latency_ms` from a measured latency lookup table (`hwnas lut build`).
    Lut {
        /// The table file (relative paths are relative to the config file).
        path: PathBuf,
        /// Batch size the table must have been measured at (default: any).
        #[serde(default)]
        batch: Option<usize>,
    },
    /// `latency_ms` measured end to end with burn on this machine (slow, exact).
    Measured {
        /// Inputs per forward pass.
        #[serde(default = "one")]
        batch: usize,
        /// Threads of the timing (1 is the most reproducible).
        #[serde(default = "one")]
        threads: usize,
    },
    /// `energy_mj` from the analytical model (MACs and memory traffic per level).
    Energy {
        /// `horowitz45` (default), `eyeriss65`, or a table of energies.
        #[serde(default)]
        technology: TechnologyChoice,
        /// On-chip buffer in KiB.
        #[serde(default = "default_buffer_kib")]
        buffer_kib: f64,
        /// Inputs per inference.
        #[serde(default = "one")]
        batch: usize,
    },
    /// `latency_ms` and/or `energy_mj` of a systolic-array accelerator.
    Systolic {
        /// PE rows.
        #[serde(default = "sixteen")]
        rows: usize,
        /// PE columns.
        #[serde(default = "sixteen")]
        cols: usize,
        /// `ws` (weight stationary), `os` (output stationary) or `rs` (row stationary).
        #[serde(default)]
        dataflow: Dataflow,
        /// Clock in MHz.
        #[serde(default = "default_clock")]
        clock_mhz: f64,
        /// Input, filter and output buffers in KiB.
        #[serde(default = "default_array_buffer")]
        ifmap_kib: f64,
        /// Filter buffer in KiB.
        #[serde(default = "default_array_buffer")]
        filter_kib: f64,
        /// Output buffer in KiB.
        #[serde(default = "default_array_buffer")]
        ofmap_kib: f64,
        /// DRAM bandwidth in bytes per cycle.
        #[serde(default = "sixteen_f")]
        dram_bytes_per_cycle: f64,
        /// Per-access energies, as for `energy`.
        #[serde(default)]
        technology: TechnologyChoice,
        /// Inputs per inference.
        #[serde(default = "one")]
        batch: usize,
        /// Metrics to report (default both `latency_ms` and `energy_mj`).
        #[serde(default)]
        metrics: Option<Vec<String>>,
    },
    /// `latency_ms` from one device column of the built-in NAS-Bench-201 table
    /// (`eyeriss`, `fpga`, `pixel3`, ...), as a hardware target like the others.
    Device {
        /// Device name (see `hwnas list`).
        name: String,
    },
    /// One metric from a predictor saved by `hwnas predictor fit` (e.g. a
    /// latency predictor on layer features); free, like the cost models.
    Predictor {
        /// The predictor file (relative paths are relative to the config file).
        path: PathBuf,
        /// The metric its predictions give, e.g. `latency_ms` or `accuracy`.
        metric: String,
    },
}

fn default_table() -> String {
    "builtin:nb201".into()
}
fn one() -> usize {
    1
}
fn sixteen() -> usize {
    16
}
fn sixteen_f() -> f64 {
    16.0
}
fn default_buffer_kib() -> f64 {
    512.0
}
fn default_clock() -> f64 {
    500.0
}
fn default_array_buffer() -> f64 {
    64.0
}

/// Kinds of evaluators (for messages).
pub const EVALUATOR_KINDS: &str = "table, train, analytical, lut, measured, energy, systolic, device, predictor";
fn default_val() -> f64 {
    0.2
}

impl EvaluatorConfig {
    /// The systolic-array model of a `systolic` evaluator (an error message for bad
    /// values; `None`-like error for other kinds).
    pub fn systolic(&self) -> Result<latency_lut::SystolicArray, String> {
        let EvaluatorConfig::Systolic {
            rows,
            cols,
            dataflow,
            clock_mhz,
            ifmap_kib,
            filter_kib,
            ofmap_kib,
            dram_bytes_per_cycle,
            technology,
            batch,
            metrics,
        } = self
        else {
            return Err("not a systolic evaluator".into());
        };
        let array = latency_lut::SystolicArray::new(latency_lut::SystolicConfig {
            rows: *rows,
            cols: *cols,
            dataflow: *dataflow,
            clock_mhz: *clock_mhz,
            ifmap_kib: *ifmap_kib,
            filter_kib: *filter_kib,
            ofmap_kib: *ofmap_kib,
            dram_bytes_per_cycle: *dram_bytes_per_cycle,
            technology: technology.clone(),
            batch: *batch,
        })
        .map_err(|e| e.to_string())?;
        match metrics {
            None => Ok(array),
            Some(names) => {
                let ms = names
                    .iter()
                    .map(|n| n.parse::<Metric>().map_err(|e| format!("metrics: {e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                array.with_metrics(ms).map_err(|e| e.to_string())
            }
        }
    }
}

/// The datasets the `train` evaluator knows.
pub const DATASETS: [&str; 5] = ["mnist10k", "digits", "mnist_idx", "cifar10", "image_folder"];

/// Output settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Parent folder of run directories (default `runs`).
    #[serde(default = "default_runs")]
    pub runs_dir: PathBuf,
    /// Also write PNG plots (SVG is always written).
    #[serde(default = "yes")]
    pub png: bool,
    /// After the search, re-measure the final Pareto front end to end (`hwnas
    /// verify`) when its latency came from a lookup table or a model.
    #[serde(default)]
    pub verify: bool,
}

fn default_runs() -> PathBuf {
    PathBuf::from("runs")
}
fn yes() -> bool {
    true
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig { runs_dir: default_runs(), png: true, verify: false }
    }
}

impl ExperimentConfig {
    /// Parses and validates TOML text; `file` names the source in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, ConfigError> {
        let cfg: ExperimentConfig = toml::from_str(text).map_err(|e| {
            let field = e.span().map(|s| field_at(text, s.start)).unwrap_or_else(|| "(document)".into());
            ConfigError { file: file.into(), field, message: e.message().trim().to_string() }
        })?;
        cfg.validate(file)?;
        Ok(cfg)
    }

    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            field: "(file)".into(),
            message: format!("cannot read: {e}"),
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The problem (objectives + constraints) this config describes.
    pub fn problem(&self) -> nas_core::Problem {
        let objectives = self
            .objectives
            .iter()
            .filter_map(|o| {
                let metric: Metric = o.metric.parse().ok()?;
                Some(Objective { metric, direction: o.direction.unwrap_or(metric.natural_direction()) })
            })
            .collect();
        let constraints = self.constraints.iter().filter_map(|c| c.parse::<Constraint>().ok()).collect();
        nas_core::Problem::new(objectives, constraints)
    }

    /// Serialises the (resolved) config back to TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not serialise config: {e}\n"))
    }

    /// Checks every value; see the module docs.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let err = |field: &str, message: String| ConfigError { file: file.into(), field: field.into(), message };
        if self.name.trim().is_empty() || self.name.contains(['/', '\\']) {
            return Err(err("name", format!("`{}` must be non-empty and contain no path separators", self.name)));
        }
        if self.budget == 0 {
            return Err(err(
                "budget",
                "0 is not allowed; give the number of distinct architectures to evaluate (>= 1)".into(),
            ));
        }
        if self.batch_size == 0 {
            return Err(err("batch_size", "0 is not allowed; use an integer >= 1".into()));
        }
        match self.space {
            SpaceConfig::Nb201 { channels, cells_per_stage } => {
                if channels == 0 {
                    return Err(err("space.channels", "0 is not allowed; use an integer >= 1".into()));
                }
                if cells_per_stage == 0 {
                    return Err(err("space.cells_per_stage", "0 is not allowed; use an integer >= 1".into()));
                }
            }
            SpaceConfig::Darts { channels, layers } => {
                if channels == 0 {
                    return Err(err("space.channels", "0 is not allowed; use an integer >= 1".into()));
                }
                if layers < 3 {
                    return Err(err(
                        "space.layers",
                        format!("{layers} is too small; use an integer >= 3 (two reduction cells)"),
                    ));
                }
            }
        }
        self.strategy.validate().map_err(|e| err("strategy", e.to_string()))?;
        if self.objectives.is_empty() {
            return Err(err("objectives", "empty; give at least one, e.g. [{ metric = \"accuracy\" }]".into()));
        }
        for (i, o) in self.objectives.iter().enumerate() {
            if let Err(e) = o.metric.parse::<Metric>() {
                return Err(err(&format!("objectives[{i}].metric"), e.to_string()));
            }
            if self.objectives[..i].iter().any(|p| p.metric == o.metric) {
                return Err(err(&format!("objectives[{i}].metric"), format!("`{}` is listed twice", o.metric)));
            }
        }
        for (i, c) in self.constraints.iter().enumerate() {
            if let Err(e) = c.parse::<Constraint>() {
                return Err(err(&format!("constraints[{i}]"), e.to_string()));
            }
        }
        if self.evaluators.is_empty() {
            return Err(err("evaluators", format!("empty; give at least one of kind {EVALUATOR_KINDS}")));
        }
        for (i, e) in self.evaluators.iter().enumerate() {
            let f = |name: &str| format!("evaluators[{i}].{name}");
            match e {
                EvaluatorConfig::Table { accuracy, device, path } => {
                    if accuracy.is_none() && device.is_none() {
                        return Err(err(
                            &f("accuracy"),
                            "a table evaluator needs `accuracy` (a column) and/or `device`".into(),
                        ));
                    }
                    if path.starts_with("builtin:") && path != "builtin:nb201" {
                        return Err(err(
                            &f("path"),
                            format!("`{path}` is not a built-in table; allowed: builtin:nb201 or a CSV file path"),
                        ));
                    }
                }
                EvaluatorConfig::Train { dataset, path, val_fraction, training, .. } => {
                    if !DATASETS.contains(&dataset.as_str()) {
                        return Err(err(
                            &f("dataset"),
                            format!("`{dataset}` is unknown; allowed: {}", DATASETS.join(", ")),
                        ));
                    }
                    if !matches!(dataset.as_str(), "mnist10k" | "digits") && path.is_none() {
                        return Err(err(&f("path"), format!("dataset `{dataset}` needs a `path` to its files")));
                    }
                    if !(*val_fraction > 0.0 && *val_fraction < 1.0) {
                        return Err(err(&f("val_fraction"), format!("{val_fraction} is outside (0, 1)")));
                    }
                    training.validate().map_err(|e| err(&f("training"), e.to_string()))?;
                }
                EvaluatorConfig::Analytical {} => {}
                EvaluatorConfig::Lut { path, batch } => {
                    if path.as_os_str().is_empty() {
                        return Err(err(&f("path"), "empty; give the table file written by `hwnas lut build`".into()));
                    }
                    if *batch == Some(0) {
                        return Err(err(&f("batch"), "0 is not allowed; use an integer >= 1".into()));
                    }
                }
                EvaluatorConfig::Measured { batch, threads } => {
                    let p = latency_lut::Protocol { batch: *batch, threads: *threads, ..Default::default() };
                    p.validate().map_err(|e| err(&f("batch"), e.to_string()))?;
                }
                EvaluatorConfig::Energy { technology, buffer_kib, batch } => {
                    let tech = technology.resolve().map_err(|e| err(&f("technology"), e.to_string()))?;
                    latency_lut::EnergyModel::new(tech, *buffer_kib, *batch)
                        .map_err(|e| err(&f("buffer_kib"), e.to_string()))?;
                }
                EvaluatorConfig::Systolic { .. } => {
                    e.systolic().map_err(|e| err(&format!("evaluators[{i}]"), e))?;
                }
                EvaluatorConfig::Device { name } => {
                    if !matches!(self.space, SpaceConfig::Nb201 { .. }) {
                        return Err(err(
                            &f("name"),
                            "device tables cover the NAS-Bench-201 space only; use kind = \"nb201\"".into(),
                        ));
                    }
                    if name.trim().is_empty() {
                        return Err(err(&f("name"), "empty; give a device, e.g. \"pixel3\" (see `hwnas list`)".into()));
                    }
                }
                EvaluatorConfig::Predictor { path, metric } => {
                    if path.as_os_str().is_empty() {
                        return Err(err(&f("path"), "empty; give a file written by `hwnas predictor fit`".into()));
                    }
                    if let Err(e) = metric.parse::<Metric>() {
                        return Err(err(&f("metric"), e.to_string()));
                    }
                }
            }
        }
        if self.output.verify
            && !matches!(
                self.latency_evaluator(),
                Some(EvaluatorConfig::Lut { .. } | EvaluatorConfig::Measured { .. } | EvaluatorConfig::Systolic { .. })
            )
        {
            return Err(err(
                "output.verify",
                "re-measures a front whose latency_ms came from a `lut`, `systolic` or `measured` evaluator; \
                 in this config latency_ms comes from none of them (the last evaluator giving latency_ms counts)"
                    .into(),
            ));
        }
        let provided = self.provided_metrics();
        let problem = self.problem();
        for m in problem.metrics() {
            if !provided.contains(&m) {
                let names: Vec<_> = provided.iter().map(|m| m.name()).collect();
                return Err(err(
                    "evaluators",
                    format!(
                        "no evaluator provides `{m}` used by the objectives/constraints; they provide: {}",
                        names.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The evaluator whose `latency_ms` a run records: the last one giving it
    /// (evaluators are merged in order, later ones overriding).
    pub fn latency_evaluator(&self) -> Option<&EvaluatorConfig> {
        self.evaluators.iter().rev().find(|e| match e {
            EvaluatorConfig::Lut { .. } | EvaluatorConfig::Measured { .. } | EvaluatorConfig::Device { .. } => true,
            EvaluatorConfig::Table { device, .. } => device.is_some(),
            EvaluatorConfig::Predictor { metric, .. } => metric.parse::<Metric>().ok() == Some(Metric::LatencyMs),
            EvaluatorConfig::Systolic { .. } => {
                e.systolic().is_ok_and(|a| nas_core::CostModel::provides(&a).contains(&Metric::LatencyMs))
            }
            _ => false,
        })
    }

    /// Metrics the configured evaluators provide.
    pub fn provided_metrics(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        for e in &self.evaluators {
            match e {
                EvaluatorConfig::Table { accuracy, device, .. } => {
                    if accuracy.is_some() {
                        out.push(Metric::Accuracy);
                    }
                    if device.is_some() {
                        out.push(Metric::LatencyMs);
                    }
                }
                EvaluatorConfig::Train { .. } => out.extend([Metric::Accuracy, Metric::Loss, Metric::EvalSeconds]),
                EvaluatorConfig::Analytical {} => {
                    out.extend([Metric::Params, Metric::Flops, Metric::Macs, Metric::BitOps, Metric::MemoryMb])
                }
                EvaluatorConfig::Lut { .. } | EvaluatorConfig::Measured { .. } | EvaluatorConfig::Device { .. } => {
                    out.push(Metric::LatencyMs)
                }
                EvaluatorConfig::Energy { .. } => out.push(Metric::EnergyMj),
                EvaluatorConfig::Predictor { metric, .. } => out.extend(metric.parse::<Metric>().ok()),
                EvaluatorConfig::Systolic { .. } => {
                    if let Ok(a) = e.systolic() {
                        out.extend(nas_core::CostModel::provides(&a))
                    }
                }
            }
        }
        out
    }
}

/// The dotted TOML key path in force at byte `pos` (best effort, for error messages).
fn field_at(text: &str, pos: usize) -> String {
    let pos = pos.min(text.len());
    let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    let upto = &text[..line_end];
    let mut table = String::new();
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    let mut key = String::new();
    for line in upto.lines() {
        let t = line.trim();
        key.clear();
        if let Some(name) = t.strip_prefix("[[").and_then(|s| s.strip_suffix("]]")) {
            let n = counts.entry(name.to_string()).or_insert(0);
            table = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            table = name.trim().to_string();
        } else if let Some((k, _)) = t.split_once('=') {
            key = k.trim().to_string();
        }
    }
    match (table.is_empty(), key.is_empty()) {
        (true, true) => "(document)".into(),
        (true, false) => key,
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}
