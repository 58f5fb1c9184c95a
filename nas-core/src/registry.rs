//! Registries: every space, strategy, evaluator (cost models included) and
//! dataset is declared once, with its name, its settings type, what it provides
//! and needs, and how it is built.
//!
//! A component is a settings type (serde, `deny_unknown_fields`) implementing one
//! of [`SpaceSettings`], [`StrategySettings`], [`EvaluatorSettings`] or
//! [`CostModelSettings`] in its own crate and folder; a [`Registry`] collects them
//! (`experiments::registry::builtin()` adds the built-in ones, and a test can add
//! its own). A config section `{ kind = "name", ... }` is parsed by the entry of
//! that name: unknown names list the registered ones, bad fields are named by
//! their path (`serde_path_to_error`), and every component's needs are checked
//! against the space's [`Capabilities`] before it is built.
//!
//! See ARCHITECTURE.md for the recipes ("How to add a space / a strategy / ...").

use crate::capability::{Capabilities, Capability};
use crate::dynspace::{AnyArch, DynSpace};
use crate::error::{NasError, Result};
use crate::evaluator::{CostEvaluator, CostModel, Evaluator};
use crate::metric::{Metric, Problem};
use crate::strategy::SearchStrategy;
use crate::train::{DataSplit, ImageDataset};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The input shape and class count a dataset imposes on a space's networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputShape {
    /// `[channels, height, width]`.
    pub chw: [usize; 3],
    /// Number of classes.
    pub classes: usize,
}

/// Settings of a search space (a config's `[space]` section).
pub trait SpaceSettings: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static {
    /// The `kind` of the section.
    const NAME: &'static str;
    /// One line for `hwnas list`.
    const DESCRIPTION: &'static str;
    /// The space built from these settings.
    type Space: Capabilities;
    /// The same settings with the input shape and classes of a dataset.
    fn with_input(&self, shape: InputShape) -> Self;
    /// Checks the values (by default by building the space).
    fn validate(&self) -> Result<()> {
        self.build().map(|_| ())
    }
    /// Builds (and validates) the space.
    fn build(&self) -> Result<Self::Space>;
}

/// Settings of a space made of other spaces (a `[space]` section with nested
/// `[space]`-like sections, e.g. the tasks of a network × accelerator space).
/// The registry parses and builds the parts with the spaces it knows, so any
/// registered space can be a part.
pub trait CompositeSpaceSettings: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static {
    /// The `kind` of the section.
    const NAME: &'static str;
    /// One line for `hwnas list`.
    const DESCRIPTION: &'static str;
    /// The space built from these settings and its parts.
    type Space: Capabilities;
    /// The nested sections, each `{ kind = "...", ... }`, with the field path
    /// that names it in errors (`tasks[1].space`).
    fn parts(&self) -> Vec<(String, serde_json::Value)>;
    /// The same settings with each part replaced by its resolved settings
    /// (defaults filled), in the order of [`CompositeSpaceSettings::parts`].
    fn with_parts(&self, resolved: Vec<serde_json::Value>) -> Self;
    /// Checks the values other than the parts.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// Builds the space from its built parts.
    fn build(&self, parts: Vec<DynSpace>) -> Result<Self::Space>;
}

/// What a strategy is built with.
pub struct StrategyContext<'a> {
    /// The space of the run.
    pub space: &'a DynSpace,
    /// The problem of the run.
    pub problem: &'a Problem,
    /// The run's data, when the run loads a dataset (a strategy that trains
    /// asks for one with [`StrategySettings::dataset`]).
    pub data: Option<&'a DataSplit>,
    /// The run directory, for strategies that write files there (checkpoints).
    pub workdir: Option<&'a Path>,
    /// The cheap evaluators of the run (tables' latency, cost models), merged:
    /// what predictor-guided strategies may query freely.
    pub cheap: Option<Arc<dyn Evaluator<AnyArch>>>,
    /// No progress output.
    pub quiet: bool,
    /// The run's budget (distinct architectures), for strategies that plan
    /// around the end of the run (EAS's final check against training from
    /// scratch).
    pub budget: usize,
}

/// Settings of a search strategy (a config's `[strategy]` section).
pub trait StrategySettings: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static {
    /// The `kind` of the section.
    const NAME: &'static str;
    /// One line for `hwnas list`.
    const DESCRIPTION: &'static str;
    /// Checks the values.
    fn validate(&self) -> Result<()>;
    /// The capabilities of the space this strategy (with these settings) uses.
    fn needs(&self) -> Vec<Capability>;
    /// Metrics it reads from the run's cheap evaluators (checked against what
    /// they provide before the run starts).
    fn cheap_metrics(&self) -> Vec<Metric> {
        Vec::new()
    }
    /// The dataset the strategy itself trains on (a differentiable search's
    /// supernet), if any.
    fn dataset(&self) -> Option<DatasetRequest> {
        None
    }
    /// Metrics the strategy measures itself for the architectures it proposes
    /// ([`SearchStrategy::measure`]; EAS's accuracy after inheriting weights).
    fn measures(&self) -> Vec<Metric> {
        Vec::new()
    }
    /// The smallest budget that lets it finish (a differentiable search needs
    /// one evaluation per seed); a config with less is refused.
    fn min_budget(&self) -> usize {
        1
    }
    /// Builds the strategy (the registry has checked [`needs`](Self::needs)).
    fn build(&self, ctx: &StrategyContext<'_>) -> Result<Box<dyn SearchStrategy<DynSpace>>>;
}

/// A dataset an evaluator asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetRequest {
    /// Registered dataset name.
    pub dataset: String,
    /// Its files, for datasets that are not built in.
    pub path: Option<PathBuf>,
    /// Fraction held out for validation.
    pub val_fraction: f64,
}

/// Where a run's `latency_ms` came from, for `hwnas verify`.
#[derive(Clone, Debug, PartialEq)]
pub enum LatencySource {
    /// This evaluator gives no latency.
    None,
    /// Latency of this machine that can be re-measured end to end (a measured
    /// table at `lut`, or measurements with this batch and thread count).
    ThisMachine {
        /// Human-readable origin.
        source: String,
        /// Batch of the timing.
        batch: usize,
        /// Threads of the timing.
        threads: usize,
        /// The latency table, whose own protocol the re-measurement uses.
        lut: Option<PathBuf>,
    },
    /// Latency modelled for another device (only the ranking compares here).
    Modelled {
        /// Human-readable origin.
        source: String,
    },
    /// Latency of another device that cannot be re-measured here, with why.
    Elsewhere {
        /// Why the front cannot be verified on this machine.
        reason: String,
    },
}

/// What evaluators are built with.
pub struct EvaluatorContext<'a> {
    /// The space of the run.
    pub space: &'a DynSpace,
    /// The problem of the run.
    pub problem: &'a Problem,
    /// The run's data, when an evaluator asked for a dataset.
    pub data: Option<&'a DataSplit>,
    /// The folder of the shipped data (`builtin:` tables, built-in datasets).
    pub data_dir: &'a Path,
}

/// A built evaluator and what the run derives from it.
pub struct BuiltEvaluator {
    /// The evaluator.
    pub evaluator: Arc<dyn Evaluator<AnyArch>>,
    /// What guided strategies may query freely (`None`: nothing; by default the
    /// evaluator itself when it is cheap).
    pub cheap: Option<Arc<dyn Evaluator<AnyArch>>>,
    /// The true feasible front of the problem (minimisation form), when this
    /// evaluator covers the whole space and every metric of the problem.
    pub true_front: Option<Vec<Vec<f64>>>,
    /// What the user should know (e.g. a table measured on another machine).
    pub warnings: Vec<String>,
}

impl BuiltEvaluator {
    /// An evaluator whose cheap part is itself when it is cheap, with no true front.
    pub fn new(evaluator: Arc<dyn Evaluator<AnyArch>>) -> Self {
        let cheap = evaluator.is_cheap().then(|| evaluator.clone());
        BuiltEvaluator { evaluator, cheap, true_front: None, warnings: Vec::new() }
    }
}

/// Settings of an evaluator (one `[[evaluators]]` section).
pub trait EvaluatorSettings: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The `kind` of the section.
    const NAME: &'static str;
    /// One line for `hwnas list`.
    const DESCRIPTION: &'static str;
    /// Checks the values (no file access).
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// The metrics it gives.
    fn provides(&self) -> Vec<Metric>;
    /// The capabilities of the space it uses.
    fn needs(&self) -> Vec<Capability> {
        Vec::new()
    }
    /// Makes relative file paths absolute, relative to `base` (the config's folder).
    fn resolve_paths(&mut self, _base: &Path) {}
    /// The dataset it trains on, if any.
    fn dataset(&self) -> Option<DatasetRequest> {
        None
    }
    /// Whether re-drawing a run's reports needs it (tables give the true front);
    /// evaluators that train, measure or read files that may have moved do not.
    fn for_reports(&self) -> bool {
        false
    }
    /// Where its `latency_ms` comes from.
    fn latency_source(&self) -> LatencySource {
        LatencySource::None
    }
    /// Builds it.
    fn build(&self, ctx: &EvaluatorContext<'_>) -> Result<BuiltEvaluator>;
}

/// Settings of a cost model: an evaluator that prices a space's layer
/// description ([`Capability::NetworkSpec`]); the registry adapts it with
/// [`CostEvaluator`].
pub trait CostModelSettings: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The `kind` of the section.
    const NAME: &'static str;
    /// One line for `hwnas list`.
    const DESCRIPTION: &'static str;
    /// Builds the model (reading its files, if any).
    fn model(&self) -> Result<Arc<dyn CostModel>>;
    /// Checks the values (no file access): by default, that the model builds.
    fn validate(&self) -> Result<()> {
        self.model().map(|_| ())
    }
    /// The metrics it gives: by default what the model says it provides
    /// ([`CostModel::provides`]); models built from files override this so a
    /// config can be checked without them.
    fn provides(&self) -> Vec<Metric> {
        self.model().map(|m| m.provides()).unwrap_or_default()
    }
    /// Makes relative file paths absolute, relative to `base`.
    fn resolve_paths(&mut self, _base: &Path) {}
    /// Where its `latency_ms` comes from.
    fn latency_source(&self) -> LatencySource {
        LatencySource::None
    }
}

/// A dataset the `train` evaluators can name.
#[derive(Clone, Copy)]
pub struct DatasetEntry {
    /// Its name in configs.
    pub name: &'static str,
    /// One line for `hwnas list`.
    pub description: &'static str,
    /// Whether the config must give `path` (not built in).
    pub needs_path: bool,
    /// Loads it: `(path, data_dir)`.
    pub load: fn(Option<&Path>, &Path) -> Result<ImageDataset>,
}

// ---------------------------------------------------------------------------
// Erased entries and parsed sections.

/// A parsed `[space]` section.
pub trait SpaceSpec: Send + Sync {
    /// The `kind`.
    fn kind(&self) -> &'static str;
    /// The settings with defaults filled in (what the resolved config records).
    fn settings(&self) -> serde_json::Value;
    /// Builds the space; `shape` comes from the run's dataset, if any.
    fn build(&self, shape: Option<InputShape>) -> Result<DynSpace>;
}

/// A parsed `[strategy]` section.
pub trait StrategySpec: Send + Sync {
    /// The `kind`.
    fn kind(&self) -> &'static str;
    /// The settings with defaults filled in.
    fn settings(&self) -> serde_json::Value;
    /// The capabilities it uses.
    fn needs(&self) -> Vec<Capability>;
    /// Metrics it reads from the cheap evaluators.
    fn cheap_metrics(&self) -> Vec<Metric>;
    /// The dataset it trains on itself, if any.
    fn dataset(&self) -> Option<DatasetRequest>;
    /// Metrics it measures itself.
    fn measures(&self) -> Vec<Metric>;
    /// The smallest budget that lets it finish.
    fn min_budget(&self) -> usize;
    /// Builds it (call [`Registry::build_strategy`], which checks the needs).
    fn build_unchecked(&self, ctx: &StrategyContext<'_>) -> Result<Box<dyn SearchStrategy<DynSpace>>>;
}

/// A parsed `[[evaluators]]` section.
pub trait EvaluatorSpec: Send + Sync {
    /// The `kind`.
    fn kind(&self) -> &'static str;
    /// The settings with defaults filled in.
    fn settings(&self) -> serde_json::Value;
    /// The settings with relative paths made absolute (relative to `base`).
    fn settings_resolved(&self, base: &Path) -> serde_json::Value;
    /// The metrics it gives.
    fn provides(&self) -> Vec<Metric>;
    /// The capabilities it uses.
    fn needs(&self) -> Vec<Capability>;
    /// Its dataset, if any.
    fn dataset(&self) -> Option<DatasetRequest>;
    /// Whether reports need it.
    fn for_reports(&self) -> bool;
    /// Where its latency comes from.
    fn latency_source(&self) -> LatencySource;
    /// Builds it (call [`Registry::build_evaluator`], which checks the needs).
    fn build_unchecked(&self, ctx: &EvaluatorContext<'_>) -> Result<BuiltEvaluator>;
}

trait SpaceEntry: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn capabilities(&self, registry: &Registry) -> Vec<Capability>;
    fn parse(&self, settings: serde_json::Value, registry: &Registry) -> Result<Box<dyn SpaceSpec>>;
}

trait StrategyEntry: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn parse(&self, settings: serde_json::Value) -> Result<Box<dyn StrategySpec>>;
    fn default_needs(&self) -> Vec<Capability>;
}

trait EvaluatorEntry: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn parse(&self, settings: serde_json::Value) -> Result<Box<dyn EvaluatorSpec>>;
}

/// Deserialises a section into `T`, naming the failing field by its path.
pub fn parse_settings<T: DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        NasError::Setting { field: if path == "." { "(section)".into() } else { path }, message: e.inner().to_string() }
    })
}

fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

struct TypedSpace<T>(std::marker::PhantomData<T>);
struct ParsedSpace<T>(T);

impl<T: SpaceSettings> SpaceEntry for TypedSpace<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }
    fn description(&self) -> &'static str {
        T::DESCRIPTION
    }
    fn capabilities(&self, _registry: &Registry) -> Vec<Capability> {
        T::default().build().map(|s| s.capabilities()).unwrap_or_default()
    }
    fn parse(&self, settings: serde_json::Value, _registry: &Registry) -> Result<Box<dyn SpaceSpec>> {
        let t = parse_settings::<T>(settings)?;
        t.validate()?;
        Ok(Box::new(ParsedSpace(t)))
    }
}

impl<T: SpaceSettings> SpaceSpec for ParsedSpace<T> {
    fn kind(&self) -> &'static str {
        T::NAME
    }
    fn settings(&self) -> serde_json::Value {
        to_json(&self.0)
    }
    fn build(&self, shape: Option<InputShape>) -> Result<DynSpace> {
        let s = match shape {
            Some(shape) => self.0.with_input(shape),
            None => self.0.clone(),
        };
        Ok(DynSpace::new(s.build()?, to_json(&s)))
    }
}

struct TypedComposite<T>(std::marker::PhantomData<T>);
struct ParsedComposite<T> {
    settings: T,
    parts: Vec<Box<dyn SpaceSpec>>,
}

/// Parses the nested sections of a composite space with `registry`, naming the
/// part in errors.
fn parse_parts<T: CompositeSpaceSettings>(t: &T, registry: &Registry) -> Result<Vec<Box<dyn SpaceSpec>>> {
    t.parts()
        .into_iter()
        .map(|(path, section)| {
            let in_part = |e: NasError| match e {
                NasError::Setting { field, message } => NasError::Setting { field: format!("{path}.{field}"), message },
                other => NasError::Setting { field: path.clone(), message: other.to_string() },
            };
            let mut map = match section {
                serde_json::Value::Object(m) => m,
                other => {
                    return Err(NasError::Setting {
                        field: path.clone(),
                        message: format!("expected a table, got {other}"),
                    });
                }
            };
            let kind = match map.remove("kind") {
                Some(serde_json::Value::String(k)) => k,
                _ => {
                    return Err(NasError::Setting {
                        field: format!("{path}.kind"),
                        message: format!("missing; one of: {}", registry.space_names().join(", ")),
                    });
                }
            };
            if kind == T::NAME {
                return Err(NasError::Setting {
                    field: format!("{path}.kind"),
                    message: format!("a `{kind}` space cannot be a part of itself"),
                });
            }
            registry.parse_space(&kind, serde_json::Value::Object(map)).map_err(in_part)
        })
        .collect()
}

impl<T: CompositeSpaceSettings> SpaceEntry for TypedComposite<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }
    fn description(&self) -> &'static str {
        T::DESCRIPTION
    }
    fn capabilities(&self, registry: &Registry) -> Vec<Capability> {
        self.parse(to_json(&T::default()), registry)
            .and_then(|p| p.build(None))
            .map(|s| s.capabilities())
            .unwrap_or_default()
    }
    fn parse(&self, settings: serde_json::Value, registry: &Registry) -> Result<Box<dyn SpaceSpec>> {
        let t = parse_settings::<T>(settings)?;
        t.validate()?;
        let parts = parse_parts(&t, registry)?;
        let resolved = parts
            .iter()
            .map(|p| {
                let mut v = p.settings();
                if let serde_json::Value::Object(m) = &mut v {
                    m.insert("kind".into(), serde_json::Value::String(p.kind().into()));
                }
                v
            })
            .collect();
        Ok(Box::new(ParsedComposite { settings: t.with_parts(resolved), parts }))
    }
}

impl<T: CompositeSpaceSettings> SpaceSpec for ParsedComposite<T> {
    fn kind(&self) -> &'static str {
        T::NAME
    }
    fn settings(&self) -> serde_json::Value {
        to_json(&self.settings)
    }
    fn build(&self, shape: Option<InputShape>) -> Result<DynSpace> {
        let parts = self.parts.iter().map(|p| p.build(shape)).collect::<Result<Vec<_>>>()?;
        Ok(DynSpace::new(self.settings.build(parts)?, to_json(&self.settings)))
    }
}

struct TypedStrategy<T>(std::marker::PhantomData<T>);
struct ParsedStrategy<T>(T);

impl<T: StrategySettings> StrategyEntry for TypedStrategy<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }
    fn description(&self) -> &'static str {
        T::DESCRIPTION
    }
    fn parse(&self, settings: serde_json::Value) -> Result<Box<dyn StrategySpec>> {
        let t = parse_settings::<T>(settings)?;
        t.validate()?;
        Ok(Box::new(ParsedStrategy(t)))
    }
    fn default_needs(&self) -> Vec<Capability> {
        T::default().needs()
    }
}

impl<T: StrategySettings> StrategySpec for ParsedStrategy<T> {
    fn kind(&self) -> &'static str {
        T::NAME
    }
    fn settings(&self) -> serde_json::Value {
        to_json(&self.0)
    }
    fn needs(&self) -> Vec<Capability> {
        self.0.needs()
    }
    fn cheap_metrics(&self) -> Vec<Metric> {
        self.0.cheap_metrics()
    }
    fn dataset(&self) -> Option<DatasetRequest> {
        self.0.dataset()
    }
    fn measures(&self) -> Vec<Metric> {
        self.0.measures()
    }
    fn min_budget(&self) -> usize {
        self.0.min_budget()
    }
    fn build_unchecked(&self, ctx: &StrategyContext<'_>) -> Result<Box<dyn SearchStrategy<DynSpace>>> {
        self.0.build(ctx)
    }
}

struct TypedEvaluator<T>(std::marker::PhantomData<T>);
struct ParsedEvaluator<T>(T);

impl<T: EvaluatorSettings> EvaluatorEntry for TypedEvaluator<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }
    fn description(&self) -> &'static str {
        T::DESCRIPTION
    }
    fn parse(&self, settings: serde_json::Value) -> Result<Box<dyn EvaluatorSpec>> {
        let t = parse_settings::<T>(settings)?;
        t.validate()?;
        Ok(Box::new(ParsedEvaluator(t)))
    }
}

impl<T: EvaluatorSettings> EvaluatorSpec for ParsedEvaluator<T> {
    fn kind(&self) -> &'static str {
        T::NAME
    }
    fn settings(&self) -> serde_json::Value {
        to_json(&self.0)
    }
    fn settings_resolved(&self, base: &Path) -> serde_json::Value {
        let mut t = self.0.clone();
        t.resolve_paths(base);
        to_json(&t)
    }
    fn provides(&self) -> Vec<Metric> {
        self.0.provides()
    }
    fn needs(&self) -> Vec<Capability> {
        self.0.needs()
    }
    fn dataset(&self) -> Option<DatasetRequest> {
        self.0.dataset()
    }
    fn for_reports(&self) -> bool {
        self.0.for_reports()
    }
    fn latency_source(&self) -> LatencySource {
        self.0.latency_source()
    }
    fn build_unchecked(&self, ctx: &EvaluatorContext<'_>) -> Result<BuiltEvaluator> {
        self.0.build(ctx)
    }
}

/// A cost model's settings as an evaluator.
#[derive(Clone)]
struct CostModelEvaluator<T>(T);

impl<T: CostModelSettings> Serialize for CostModelEvaluator<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: CostModelSettings> serde::Deserialize<'de> for CostModelEvaluator<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        T::deserialize(d).map(CostModelEvaluator)
    }
}

impl<T: CostModelSettings> EvaluatorSettings for CostModelEvaluator<T> {
    const NAME: &'static str = T::NAME;
    const DESCRIPTION: &'static str = T::DESCRIPTION;
    fn validate(&self) -> Result<()> {
        self.0.validate()
    }
    fn provides(&self) -> Vec<Metric> {
        self.0.provides()
    }
    fn needs(&self) -> Vec<Capability> {
        vec![Capability::NetworkSpec]
    }
    fn resolve_paths(&mut self, base: &Path) {
        self.0.resolve_paths(base)
    }
    fn latency_source(&self) -> LatencySource {
        self.0.latency_source()
    }
    fn build(&self, ctx: &EvaluatorContext<'_>) -> Result<BuiltEvaluator> {
        let model = self.0.model()?;
        Ok(BuiltEvaluator::new(Arc::new(CostEvaluator::new(Arc::new(ctx.space.clone()), model))))
    }
}

/// One registered component, as `hwnas list` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentInfo {
    /// Its `kind`.
    pub name: &'static str,
    /// One line.
    pub description: &'static str,
    /// Capabilities: what a space has, what a strategy (default settings) needs.
    pub capabilities: Vec<Capability>,
}

/// The registered components (see the module docs).
#[derive(Default)]
pub struct Registry {
    spaces: Vec<Box<dyn SpaceEntry>>,
    strategies: Vec<Box<dyn StrategyEntry>>,
    evaluators: Vec<Box<dyn EvaluatorEntry>>,
    datasets: Vec<DatasetEntry>,
}

fn unknown(what: &'static str, value: &str, names: Vec<&'static str>) -> NasError {
    NasError::UnknownName { what, value: value.to_string(), allowed: names.join(", ") }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers a space (replacing one of the same name).
    pub fn add_space<T: SpaceSettings>(&mut self) -> &mut Self {
        self.spaces.retain(|e| e.name() != T::NAME);
        self.spaces.push(Box::new(TypedSpace::<T>(Default::default())));
        self
    }

    /// Registers a space made of other spaces (replacing one of the same name).
    pub fn add_composite_space<T: CompositeSpaceSettings>(&mut self) -> &mut Self {
        self.spaces.retain(|e| e.name() != T::NAME);
        self.spaces.push(Box::new(TypedComposite::<T>(Default::default())));
        self
    }

    /// Registers a strategy (replacing one of the same name).
    pub fn add_strategy<T: StrategySettings>(&mut self) -> &mut Self {
        self.strategies.retain(|e| e.name() != T::NAME);
        self.strategies.push(Box::new(TypedStrategy::<T>(Default::default())));
        self
    }

    /// Registers an evaluator (replacing one of the same name).
    pub fn add_evaluator<T: EvaluatorSettings>(&mut self) -> &mut Self {
        self.evaluators.retain(|e| e.name() != T::NAME);
        self.evaluators.push(Box::new(TypedEvaluator::<T>(Default::default())));
        self
    }

    /// Registers a cost model as an evaluator (replacing one of the same name).
    pub fn add_cost_model<T: CostModelSettings>(&mut self) -> &mut Self {
        self.add_evaluator::<CostModelEvaluator<T>>()
    }

    /// Registers a dataset (replacing one of the same name).
    pub fn add_dataset(&mut self, entry: DatasetEntry) -> &mut Self {
        self.datasets.retain(|e| e.name != entry.name);
        self.datasets.push(entry);
        self
    }

    /// Names of the registered spaces.
    pub fn space_names(&self) -> Vec<&'static str> {
        self.spaces.iter().map(|e| e.name()).collect()
    }

    /// Names of the registered strategies.
    pub fn strategy_names(&self) -> Vec<&'static str> {
        self.strategies.iter().map(|e| e.name()).collect()
    }

    /// Names of the registered evaluators.
    pub fn evaluator_names(&self) -> Vec<&'static str> {
        self.evaluators.iter().map(|e| e.name()).collect()
    }

    /// Names of the registered datasets.
    pub fn dataset_names(&self) -> Vec<&'static str> {
        self.datasets.iter().map(|e| e.name).collect()
    }

    /// The spaces with their capabilities.
    pub fn spaces(&self) -> Vec<ComponentInfo> {
        self.spaces
            .iter()
            .map(|e| ComponentInfo { name: e.name(), description: e.description(), capabilities: e.capabilities(self) })
            .collect()
    }

    /// The strategies with what they need (default settings).
    pub fn strategies(&self) -> Vec<ComponentInfo> {
        self.strategies
            .iter()
            .map(|e| ComponentInfo { name: e.name(), description: e.description(), capabilities: e.default_needs() })
            .collect()
    }

    /// The evaluators.
    pub fn evaluators(&self) -> Vec<ComponentInfo> {
        self.evaluators
            .iter()
            .map(|e| ComponentInfo { name: e.name(), description: e.description(), capabilities: Vec::new() })
            .collect()
    }

    /// The datasets.
    pub fn datasets(&self) -> &[DatasetEntry] {
        &self.datasets
    }

    /// Parses a `[space]` section of kind `kind`.
    pub fn parse_space(&self, kind: &str, settings: serde_json::Value) -> Result<Box<dyn SpaceSpec>> {
        let e =
            self.spaces.iter().find(|e| e.name() == kind).ok_or_else(|| unknown("space", kind, self.space_names()))?;
        e.parse(settings, self)
    }

    /// Parses a `[strategy]` section of kind `kind` (and validates it).
    pub fn parse_strategy(&self, kind: &str, settings: serde_json::Value) -> Result<Box<dyn StrategySpec>> {
        let e = self
            .strategies
            .iter()
            .find(|e| e.name() == kind)
            .ok_or_else(|| unknown("strategy", kind, self.strategy_names()))?;
        e.parse(settings)
    }

    /// Parses an `[[evaluators]]` section of kind `kind` (and validates it).
    pub fn parse_evaluator(&self, kind: &str, settings: serde_json::Value) -> Result<Box<dyn EvaluatorSpec>> {
        let e = self
            .evaluators
            .iter()
            .find(|e| e.name() == kind)
            .ok_or_else(|| unknown("evaluator", kind, self.evaluator_names()))?;
        e.parse(settings)
    }

    /// The strategies (default settings) that `space` can serve.
    pub fn strategies_for(&self, space: &DynSpace) -> Vec<String> {
        let have = space.capabilities();
        self.strategies
            .iter()
            .filter(|e| e.default_needs().iter().all(|c| have.contains(c)))
            .map(|e| e.name().to_string())
            .collect()
    }

    /// Builds a strategy after checking that `space` has what it needs.
    pub fn build_strategy(
        &self,
        spec: &dyn StrategySpec,
        space: &DynSpace,
        ctx: &StrategyContext<'_>,
    ) -> Result<Box<dyn SearchStrategy<DynSpace>>> {
        let alternatives: Vec<String> = self.strategies_for(space).into_iter().filter(|s| s != spec.kind()).collect();
        space.require(&spec.needs(), &format!("strategy `{}`", spec.kind()), &alternatives)?;
        spec.build_unchecked(ctx)
    }

    /// Builds an evaluator after checking that the space has what it needs.
    pub fn build_evaluator(&self, spec: &dyn EvaluatorSpec, ctx: &EvaluatorContext<'_>) -> Result<BuiltEvaluator> {
        let have = ctx.space.capabilities();
        let alternatives: Vec<String> = self
            .evaluators
            .iter()
            .filter(|e| e.name() != spec.kind())
            .filter(|e| e.parse(serde_json::json!({})).is_ok_and(|s| s.needs().iter().all(|c| have.contains(c))))
            .map(|e| e.name().to_string())
            .collect();
        ctx.space.require(&spec.needs(), &format!("evaluator `{}`", spec.kind()), &alternatives)?;
        spec.build_unchecked(ctx)
    }

    /// Loads a requested dataset and splits it (validation share, seed),
    /// normalised with the training statistics.
    pub fn load_data(&self, request: &DatasetRequest, data_dir: &Path, seed: u64) -> Result<DataSplit> {
        let entry = self
            .datasets
            .iter()
            .find(|e| e.name == request.dataset)
            .ok_or_else(|| unknown("dataset", &request.dataset, self.dataset_names()))?;
        if entry.needs_path && request.path.is_none() {
            return Err(NasError::Setting {
                field: "path".into(),
                message: format!("dataset `{}` needs a `path` to its files", entry.name),
            });
        }
        let data = (entry.load)(request.path.as_deref(), data_dir)?;
        DataSplit::new(&data, request.val_fraction, seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{LocalSearchConfig, Nsga2Config, RandomSearchConfig, RegularizedEvolutionConfig};
    use crate::testing::{RestrictedToySpace, check_strategy, toy_problem};

    #[test]
    fn every_built_in_strategy_passes_the_contract_with_exactly_its_declared_needs() {
        check_strategy(RandomSearchConfig::default(), 40);
        check_strategy(RegularizedEvolutionConfig::default(), 40);
        check_strategy(Nsga2Config::default(), 40);
        check_strategy(LocalSearchConfig::default(), 40);
    }

    fn registry() -> Registry {
        let mut r = Registry::new();
        r.add_strategy::<RandomSearchConfig>()
            .add_strategy::<RegularizedEvolutionConfig>()
            .add_strategy::<Nsga2Config>()
            .add_strategy::<LocalSearchConfig>()
            .add_cost_model::<crate::AnalyticalSettings>();
        r
    }

    #[test]
    fn a_missing_capability_is_refused_naming_it_and_the_alternatives() {
        let r = registry();
        let space = DynSpace::new(RestrictedToySpace(vec![Capability::Mutate]), serde_json::json!({}));
        let spec = r.parse_strategy("nsga2", serde_json::json!({})).expect("parses");
        let problem = toy_problem();
        let ctx = StrategyContext {
            space: &space,
            problem: &problem,
            data: None,
            workdir: None,
            cheap: None,
            quiet: true,
            budget: 10,
        };
        let err = r.build_strategy(spec.as_ref(), &space, &ctx).err().expect("refused");
        assert_eq!(
            err.to_string(),
            "space `toy` has no crossover; strategy `nsga2` needs it — use `random` or `evolution`"
        );
        // The cost model needs the layer description, which this space lacks.
        let spec = r.parse_evaluator("analytical", serde_json::json!({})).expect("parses");
        let ctx = EvaluatorContext { space: &space, problem: &problem, data: None, data_dir: Path::new(".") };
        let err = r.build_evaluator(spec.as_ref(), &ctx).err().expect("refused");
        assert!(err.to_string().starts_with("space `toy` has no layer description"), "{err}");
        assert_eq!(r.strategies_for(&space), vec!["random", "evolution"]);
    }

    #[test]
    fn unknown_kinds_and_bad_fields_are_named() {
        let r = registry();
        let err = r.parse_strategy("nsga3", serde_json::json!({})).err().expect("unknown");
        assert_eq!(err.to_string(), "unknown strategy `nsga3`; allowed: random, evolution, nsga2, local");
        let err = r.parse_strategy("nsga2", serde_json::json!({"population_size": "big"})).err().expect("type");
        assert!(err.to_string().starts_with("field `population_size`: invalid type: string \"big\""), "{err}");
        let err = r.parse_strategy("nsga2", serde_json::json!({"popsize": 3})).err().expect("unknown field");
        assert!(err.to_string().contains("unknown field `popsize`, expected one of"), "{err}");
        let err = r.parse_strategy("nsga2", serde_json::json!({"population_size": 1})).err().expect("invalid");
        assert!(err.to_string().contains("population_size"), "{err}");
        // Defaults are filled in the normalised settings.
        let spec = r.parse_strategy("evolution", serde_json::json!({"sample_size": 5})).expect("parses");
        assert_eq!(spec.settings()["sample_size"], 5);
        assert!(spec.settings()["population_size"].is_u64());
    }

    #[test]
    fn cost_models_provide_what_the_model_says() {
        let r = registry();
        let spec = r.parse_evaluator("analytical", serde_json::json!({})).expect("parses");
        assert_eq!(spec.provides(), crate::AnalyticalCost.provides());
        assert_eq!(spec.needs(), vec![Capability::NetworkSpec]);
    }
}
