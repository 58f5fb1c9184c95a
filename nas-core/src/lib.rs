//! # nas-core — the vocabulary and engine of hwnas
//!
//! Crate map:
//! - [`arch`]: architecture values and their stable [`ArchId`]s.
//! - [`space`]: [`SearchSpace`] and the capability traits [`Mutate`], [`Crossover`],
//!   [`Encode`], [`Neighbors`], [`ToNetworkSpec`].
//! - [`layer`]: [`LayerSpec`] / [`NetworkSpec`], the layer-level description that
//!   spaces produce and cost models consume.
//! - [`metric`]: [`Metric`] (with units), [`Objective`], [`Constraint`], [`Problem`].
//! - [`pareto`]: non-dominated sorting, crowding distance, exact hypervolume.
//! - [`capability`]: [`Capability`] and [`Capabilities`], the optional
//!   capabilities a space declares ([`capabilities!`]).
//! - [`decisions`]: [`Decisions`], architectures as sequences of categorical
//!   decisions (the `decisions` capability).
//! - [`hardware`]: dataflows, sub-accelerators, heterogeneous designs and the
//!   `codesign` capability of joint network × accelerator spaces.
//! - [`dynspace`]: [`DynSpace`] / [`AnyArch`], any space behind one type.
//! - [`registry`]: the component registries ([`Registry`], [`SpaceSettings`],
//!   [`StrategySettings`], [`EvaluatorSettings`], [`CostModelSettings`]).
//! - [`evaluator`]: [`Evaluator`], [`CostModel`], [`Joint`].
//! - [`table`], [`table_settings`]: benchmark tables and the `table` / `device`
//!   evaluators.
//! - [`progress`]: [`progress::ProgressSink`], progress of long tasks as events.
//! - [`stats`], [`linalg`], [`hash`], [`fsutil`]: the shared numerics (rank
//!   correlations, mean ± std, ridge, FNV-1a) and the atomic file write.
//! - [`strategy`]: [`SearchStrategy`] (ask/tell) and the built-in strategies.
//! - [`search`]: the [`Search`] driver, events and observers.
//! - [`trial`]: the [`Trial`] record.
#![warn(missing_docs)]

pub mod arch;
pub mod capability;
pub mod decisions;
pub mod differentiable;
pub mod dynspace;
pub mod encoding;
pub mod error;
pub mod evaluator;
pub mod fidelity;
pub mod fsutil;
pub mod hardware;
pub mod hash;
pub mod kernels;
pub mod layer;
pub mod linalg;
pub mod metric;
pub mod onnx;
pub mod pareto;
pub mod progress;
pub mod registry;
pub mod search;
pub mod seed;
pub mod space;
pub mod stats;
pub mod strategy;
pub mod table;
pub mod table_settings;
pub mod testing;
pub mod train;
pub mod trial;
pub mod trial_log;

pub use arch::{ArchId, Architecture};
pub use capability::{Capabilities, Capability};
pub use decisions::{Decision, Decisions};
pub use dynspace::{AnyArch, DynSpace};
pub use encoding::{EncodingKind, MultiEncode};
pub use error::{NasError, Result};
pub use evaluator::{
    AnalyticalCost, AnalyticalSettings, CostEvaluator, CostModel, EvalContext, EvalError, Evaluator, Joint,
};
pub use fidelity::{FidelitySearch, FidelitySupport, SchedulerConfig, SchedulerKind};
pub use layer::{Activation, LayerSpec, NamedLayer, NetworkSpec, OpKind};
pub use metric::{Comparison, Constraint, Direction, Domain, Metric, MetricMap, Objective, Problem};
pub use registry::{
    CompositeSpaceSettings, CostModelSettings, EvaluatorSettings, Registry, SpaceSettings, StrategySettings,
};
pub use search::{Search, SearchConfig, SearchEvent, SearchObserver, SearchOutcome, StopReason};
pub use space::{Crossover, Encode, Mutate, Neighbors, SearchSpace, SpaceSize, ToNetworkSpec};
pub use strategy::{Evaluated, SearchStrategy};
pub use table::{MetricTable, TableEvaluator};
pub use trial::{Trial, TrialStatus};
pub use trial_log::{DamagedLine, ParsedTrialLog, parse_trial_log};
