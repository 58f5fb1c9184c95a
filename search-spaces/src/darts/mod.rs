//! The DARTS cell space (Liu, Simonyan & Yang, ICLR 2019), as used for derived
//! genotypes and their CIFAR evaluation network.
//!
//! - [`ops`]: the DARTS [`PRIMITIVES`] and the seven genotype ops [`DartsOp`].
//! - [`genotype`]: [`DartsEdge`], [`DartsCell`] (canonical form), [`DartsGenotype`].
//! - [`notation`]: the parser of the DARTS `Genotype(...)` repr.
//! - [`published`]: published genotypes ([`DARTS_V2`]).
//! - [`config`]: the macro network, [`DartsConfig`], and its per-cell [`CellPlan`].
//! - [`decisions`]: the genotype as ENAS-style categorical decisions (REINFORCE).
//! - [`space`]: [`DartsSpace`] with sampling, mutation, crossover, encoding and
//!   neighbours.
//! - [`lower`]: the exact layer-level lowering ([`ToNetworkSpec`](nas_core::ToNetworkSpec)).
//! - [`model`]: the burn network [`DartsNetwork`] ([`TrainableSpace`](nas_core::train::TrainableSpace)).

pub mod config;
pub mod decisions;
pub mod encoding;
pub mod genotype;
pub mod lower;
pub mod model;
pub mod notation;
pub mod ops;
pub mod published;
pub mod registry;
pub mod space;
pub mod supernet;

pub use config::{CellPlan, DartsConfig};
pub use genotype::{CellKind, DartsCell, DartsEdge, DartsGenotype};
pub use model::DartsNetwork;
pub use ops::{DartsOp, PRIMITIVES};
pub use published::DARTS_V2;
pub use space::DartsSpace;
