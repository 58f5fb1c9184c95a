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
//! - [`evaluator`]: [`Evaluator`], [`CostModel`], [`Cached`], [`Joint`].
//! - [`strategy`]: [`SearchStrategy`] (ask/tell) and the built-in strategies.
//! - [`search`]: the [`Search`] driver, events and observers.
//! - [`trial`]: the [`Trial`] record.
#![warn(missing_docs)]

pub mod arch;
pub mod encoding;
pub mod error;
pub mod evaluator;
pub mod layer;
pub mod metric;
pub mod pareto;
pub mod search;
pub mod seed;
pub mod space;
pub mod strategy;
pub mod table;
pub mod train;
pub mod trial;

pub use arch::{ArchId, Architecture};
pub use encoding::{EncodingKind, MultiEncode};
pub use error::{NasError, Result};
pub use evaluator::{AnalyticalCost, Cached, CostEvaluator, CostModel, EvalContext, EvalError, Evaluator, Joint};
pub use layer::{Activation, LayerSpec, NamedLayer, NetworkSpec, OpKind};
pub use metric::{Comparison, Constraint, Direction, Metric, MetricMap, Objective, Problem};
pub use search::{Search, SearchConfig, SearchEvent, SearchObserver, SearchOutcome, StopReason};
pub use space::{Crossover, Encode, Mutate, Neighbors, SearchSpace, SpaceSize, ToNetworkSpec};
pub use strategy::{Evaluated, SearchStrategy};
pub use table::{MetricTable, TableEvaluator};
pub use trial::{Trial, TrialStatus};
