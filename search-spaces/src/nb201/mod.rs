//! The NAS-Bench-201 topology space (Dong & Yang, ICLR 2020; NATS-Bench `tss`).
//!
//! - [`analysis`]: op histograms and live ops of a cell.
//! - [`ops`]: the five edge operations, [`Nb201Op`].
//! - [`genotype`]: the cell [`Nb201Arch`] and its `|op~0|+|op~0|op~1|+...|` notation.
//! - [`config`]: the macro network, [`Nb201Config`].
//! - [`decisions`]: the cell as six categorical decisions (REINFORCE).
//! - [`space`]: [`Nb201Space`] with sampling, enumeration, mutation, crossover,
//!   encoding and neighbours.
//! - [`lower`]: the exact layer-level lowering ([`ToNetworkSpec`](nas_core::ToNetworkSpec)).
//! - [`model`]: the burn network [`Nb201Network`] ([`TrainableSpace`](nas_core::train::TrainableSpace)).
//!
//! The benchmark's own architecture index is not supported: its order is not a
//! mixed-radix order of the edges (index 0 is
//! `|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|`),
//! so it can only be looked up in the benchmark's own list.

pub mod analysis;
pub mod config;
pub mod decisions;
pub mod encoding;
pub mod genotype;
pub mod lower;
pub mod model;
pub mod ops;
pub mod registry;
pub mod space;
pub mod supernet;

pub use config::Nb201Config;
pub use genotype::{EDGES, Nb201Arch};
pub use model::Nb201Network;
pub use ops::Nb201Op;
pub use space::Nb201Space;
