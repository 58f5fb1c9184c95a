//! Experiment configuration: TOML files with strict validation.
//!
//! The top level (name, seed, budget, objectives, constraints, output) is typed
//! here; the `[space]`, `[strategy]` and `[[evaluators]]` sections are
//! [`Section`]s whose `kind` names a component of the
//! [`Registry`] and whose other fields are that component's
//! own settings type (parsed by the registry, unknown fields refused, defaults
//! filled in). [`ExperimentConfig::validate`] checks everything. Errors name the
//! file, the field, the bad value and what is allowed.

use nas_core::registry::{DatasetRequest, EvaluatorSpec, LatencySource, SpaceSpec, StrategySpec};
use nas_core::{Constraint, Direction, Metric, NasError, Objective, Registry};
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
    /// The search space: `kind` and the space's settings.
    pub space: Section,
    /// The search strategy: `kind` and its settings.
    pub strategy: Section,
    /// A multi-fidelity scheduler (`successive_halving`, `hyperband`, `asha`):
    /// candidates start at a small training budget and the best are promoted.
    /// With it, `budget` counts epochs of training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<nas_core::SchedulerConfig>,
    /// Objectives, e.g. `[{ metric = "accuracy" }, { metric = "latency_ms" }]`.
    pub objectives: Vec<ObjectiveConfig>,
    /// Hard constraints, e.g. `["latency_ms <= 5"]`.
    #[serde(default)]
    pub constraints: Vec<String>,
    /// Evaluators (`kind` and settings each); their metric maps are merged, later
    /// ones winning on overlap.
    pub evaluators: Vec<Section>,
    /// Output settings.
    #[serde(default)]
    pub output: OutputConfig,
}

fn default_batch() -> usize {
    8
}

/// A component section: its `kind` and its own settings (parsed by the
/// registry entry of that kind).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Section {
    /// The component's registered name.
    pub kind: String,
    /// Every other field of the section.
    pub settings: serde_json::Map<String, serde_json::Value>,
}

impl Section {
    /// A section of `kind` with default settings.
    pub fn of_kind(kind: &str) -> Self {
        Section { kind: kind.into(), settings: Default::default() }
    }

    /// The settings as one JSON value.
    pub fn settings_value(&self) -> serde_json::Value {
        serde_json::Value::Object(self.settings.clone())
    }

    fn with_settings(&self, value: serde_json::Value) -> Self {
        let settings = match strip_nulls(value) {
            serde_json::Value::Object(m) => m,
            _ => Default::default(),
        };
        Section { kind: self.kind.clone(), settings }
    }
}

/// Removes `null`s (unset optional fields), which TOML cannot hold.
fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect(),
        ),
        serde_json::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

impl Serialize for Section {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.settings.len() + 1))?;
        m.serialize_entry("kind", &self.kind)?;
        for (k, v) in &self.settings {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Section {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut settings = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let kind = match settings.remove("kind") {
            Some(serde_json::Value::String(k)) => k,
            Some(other) => return Err(serde::de::Error::custom(format!("`kind` must be a string, not {other}"))),
            None => return Err(serde::de::Error::custom("missing field `kind`")),
        };
        Ok(Section { kind, settings })
    }
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

/// A config's sections, parsed by the registry.
pub struct Plan {
    /// The space.
    pub space: Box<dyn SpaceSpec>,
    /// The strategy.
    pub strategy: Box<dyn StrategySpec>,
    /// The evaluators, in order.
    pub evaluators: Vec<Box<dyn EvaluatorSpec>>,
}

impl Plan {
    /// The dataset of the first evaluator that trains, or else the one the
    /// strategy trains on (a differentiable search's supernet), if any.
    pub fn dataset(&self) -> Option<DatasetRequest> {
        self.evaluators.iter().find_map(|e| e.dataset()).or_else(|| self.strategy.dataset())
    }

    /// Refuses a strategy that trains on another dataset than the evaluators:
    /// the supernet and the candidates must see the same images.
    pub fn check_datasets(&self) -> anyhow::Result<()> {
        let (Some(s), Some((i, e))) = (
            self.strategy.dataset(),
            self.evaluators.iter().enumerate().find_map(|(i, e)| e.dataset().map(|d| (i, d))),
        ) else {
            return Ok(());
        };
        if s.dataset != e.dataset || s.path != e.path {
            anyhow::bail!(
                "strategy.dataset = \"{}\" but evaluators[{i}] trains on \"{}\"; the supernet and the candidates must use the same dataset",
                s.dataset,
                e.dataset
            );
        }
        Ok(())
    }

    /// Where the run's `latency_ms` comes from: the last evaluator giving it
    /// (evaluators are merged in order, later ones overriding).
    pub fn latency_source(&self) -> LatencySource {
        self.evaluators
            .iter()
            .rev()
            .find(|e| e.provides().contains(&Metric::LatencyMs))
            .map_or(LatencySource::None, |e| e.latency_source())
    }

    /// Metrics the evaluators provide, and those the strategy measures itself.
    pub fn provided_metrics(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        for m in self.evaluators.iter().flat_map(|e| e.provides()).chain(self.strategy.measures()) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }
}

/// A component error as a config error: the section's path prefixed to the field.
fn section_error(file: &str, section: &str, e: NasError) -> ConfigError {
    let (field, message) = match e {
        NasError::Setting { field, message } if field == "(section)" => (section.to_string(), message),
        NasError::Setting { field, message } => (format!("{section}.{field}"), message),
        NasError::InvalidValue { field, value, allowed } => {
            (format!("{section}.{field}"), format!("{value} is not allowed; {allowed}"))
        }
        NasError::UnknownName { what, value, allowed } => {
            (format!("{section}.kind"), format!("unknown {what} `{value}`; allowed: {allowed}"))
        }
        other => (section.to_string(), other.to_string()),
    };
    ConfigError { file: file.into(), field, message }
}

impl ExperimentConfig {
    /// Parses and validates TOML text with the built-in registry; `file` names the
    /// source in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, ConfigError> {
        Self::from_toml_with(text, file, &crate::registry::builtin())
    }

    /// Parses and validates TOML text with `registry`.
    pub fn from_toml_with(text: &str, file: &str, registry: &Registry) -> Result<Self, ConfigError> {
        let mut cfg: ExperimentConfig = toml::from_str(text).map_err(|e| {
            let field = e.span().map(|s| field_at(text, s.start)).unwrap_or_else(|| "(document)".into());
            ConfigError { file: file.into(), field, message: e.message().trim().to_string() }
        })?;
        cfg.validate(file, registry)?;
        Ok(cfg)
    }

    /// Reads, parses and validates a config file with the built-in registry.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with(path, &crate::registry::builtin())
    }

    /// Reads, parses and validates a config file with `registry`.
    pub fn load_with(path: &Path, registry: &Registry) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            field: "(file)".into(),
            message: format!("cannot read: {e}"),
        })?;
        Self::from_toml_with(&text, &path.display().to_string(), registry)
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

    /// Parses the component sections with `registry`; `file` names the source in
    /// errors.
    pub fn plan(&self, file: &str, registry: &Registry) -> Result<Plan, ConfigError> {
        let space = registry
            .parse_space(&self.space.kind, self.space.settings_value())
            .map_err(|e| section_error(file, "space", e))?;
        let strategy = registry
            .parse_strategy(&self.strategy.kind, self.strategy.settings_value())
            .map_err(|e| section_error(file, "strategy", e))?;
        let evaluators = self
            .evaluators
            .iter()
            .enumerate()
            .map(|(i, e)| {
                registry
                    .parse_evaluator(&e.kind, e.settings_value())
                    .map_err(|err| section_error(file, &format!("evaluators[{i}]"), err))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Plan { space, strategy, evaluators })
    }

    /// Makes every file path of the evaluators absolute, relative to `base` (the
    /// resolved config written to a run directory must work from anywhere).
    pub fn resolve_paths(&mut self, base: &Path, registry: &Registry) -> Result<(), ConfigError> {
        let plan = self.plan("(config)", registry)?;
        for (section, spec) in self.evaluators.iter_mut().zip(&plan.evaluators) {
            *section = section.with_settings(spec.settings_resolved(base));
        }
        Ok(())
    }

    /// Checks every value and fills in the components' defaults; see the module
    /// docs.
    pub fn validate(&mut self, file: &str, registry: &Registry) -> Result<(), ConfigError> {
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
            return Err(err(
                "evaluators",
                format!("empty; give at least one of kind {}", registry.evaluator_names().join(", ")),
            ));
        }
        if let Some(s) = &self.scheduler {
            s.validate(&self.problem()).map_err(|e| match e {
                NasError::InvalidValue { field, value, allowed } => {
                    err(&field, format!("`{value}` is not allowed; allowed: {allowed}"))
                }
                other => err("scheduler", other.to_string()),
            })?;
            let top = s.rungs().ok().and_then(|r| r.last().copied()).unwrap_or(0);
            if (self.budget as u64) < u64::from(top) {
                return Err(err(
                    "budget",
                    format!(
                        "{} epochs is less than one evaluation at the top rung ({top} epochs); with a [scheduler] \
                         the budget counts epochs of training",
                        self.budget
                    ),
                ));
            }
        }
        let plan = self.plan(file, registry)?;
        // A differentiable search proposes one architecture per seed: a smaller
        // budget would silently drop seeds.
        let need = plan.strategy.min_budget();
        if self.budget < need {
            return Err(err(
                "budget",
                format!(
                    "{} is less than the {need} seeds of strategy.seeds; each seed's derived architecture is one evaluation",
                    self.budget
                ),
            ));
        }
        if let Some(d) = plan.dataset() {
            let owner = match plan.evaluators.iter().position(|e| e.dataset().is_some()) {
                Some(i) => format!("evaluators[{i}]"),
                None => "strategy".to_string(),
            };
            match registry.datasets().iter().find(|e| e.name == d.dataset) {
                None => {
                    return Err(err(
                        &format!("{owner}.dataset"),
                        format!("`{}` is unknown; allowed: {}", d.dataset, registry.dataset_names().join(", ")),
                    ));
                }
                Some(entry) if entry.needs_path && d.path.is_none() => {
                    return Err(err(
                        &format!("{owner}.path"),
                        format!("dataset `{}` needs a `path` to its files", d.dataset),
                    ));
                }
                Some(_) => {}
            }
        }
        if self.output.verify
            && !matches!(plan.latency_source(), LatencySource::ThisMachine { .. } | LatencySource::Modelled { .. })
        {
            return Err(err(
                "output.verify",
                "re-measures a front whose latency_ms came from a `lut`, `systolic` or `measured` evaluator; \
                 in this config latency_ms comes from none of them (the last evaluator giving latency_ms counts)"
                    .into(),
            ));
        }
        let provided = plan.provided_metrics();
        if self.scheduler.is_some() && !plan.strategy.measures().is_empty() {
            return Err(err(
                "scheduler",
                format!(
                    "strategy `{}` measures its candidates itself; it cannot run under a multi-fidelity scheduler",
                    plan.strategy.kind()
                ),
            ));
        }
        for m in self.problem().metrics() {
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
        if let Some(m) = self.scheduler.as_ref().and_then(|s| s.zero_cost)
            && !provided.contains(&m)
        {
            return Err(err(
                "scheduler.zero_cost",
                format!("no evaluator provides `{m}`; add an evaluator of kind = \"zero_cost\" that computes it"),
            ));
        }
        // Record the settings with their defaults filled in.
        self.space = self.space.with_settings(plan.space.settings());
        self.strategy = self.strategy.with_settings(plan.strategy.settings());
        for (section, spec) in self.evaluators.iter_mut().zip(&plan.evaluators) {
            *section = section.with_settings(spec.settings());
        }
        Ok(())
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
