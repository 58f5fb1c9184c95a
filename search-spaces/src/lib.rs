//! # search-spaces — NAS-Bench-201, DARTS, plain CNNs and network × accelerator co-design for hwnas
//!
//! Each space is a [`nas_core::SearchSpace`] with every capability trait of
//! nas-core (mutation, crossover, encoding, neighbours), an exact lowering to a
//! [`nas_core::NetworkSpec`] for the cost models, and a trainable burn network
//! ([`nas_core::train::TrainableSpace`]) whose parameters match that lowering.
//!
//! Crate map:
//! - [`nb201`]: the NAS-Bench-201 cell space ([`Nb201Space`], [`Nb201Arch`]):
//!   15,625 cells, notation `|nor_conv_3x3~0|+|...|+|...|`.
//! - [`darts`]: the DARTS cell space ([`DartsSpace`], [`DartsGenotype`]): normal and
//!   reduction cells, notation `Genotype(normal=[...], ...)`.
//! - [`plain_cnn`]: plain CNNs ([`plain_cnn::PlainCnnSpace`]) grown by
//!   function-preserving Net2Wider / Net2Deeper transformations (EAS).
//! - [`codesign`]: one network per task (from any registered space) × a
//!   heterogeneous accelerator of dataflow templates × the mapping
//!   ([`codesign::CoDesignSpace`]), and NASAIC's successive baseline.
//! - [`blocks`]: layer-list helpers ([`blocks::lower`]) and burn modules
//!   ([`blocks::nn`]) shared by the spaces.
//!
//! Each space module is split the same way: ops, genotype (+ notation), config,
//! space (sampling and capability traits), lower (the `NetworkSpec`), model (burn).
#![warn(missing_docs)]

pub mod blocks;
pub mod codesign;
pub mod darts;
pub mod nb201;
pub mod plain_cnn;

#[cfg(test)]
mod tests;

pub use darts::{DartsConfig, DartsGenotype, DartsNetwork, DartsOp, DartsSpace};
pub use nb201::{Nb201Arch, Nb201Config, Nb201Network, Nb201Op, Nb201Space};
