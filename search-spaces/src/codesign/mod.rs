//! Network × accelerator co-design (NASAIC, Yang et al., DAC 2020; DRACO, Jha
//! et al., ISVLSI 2020).
//!
//! The `codesign` space joins one network per task — each from any registered
//! space that lowers to layers (NB201, DARTS, ...) — with a heterogeneous
//! accelerator: one or more sub-accelerators, each a dataflow template
//! (NVDLA-like weight stationary, ShiDianNao-like output stationary,
//! Eyeriss-like row stationary) with its PE array, global buffer, register file,
//! bandwidth and clock, sharing a PE and bandwidth budget; and the mapping of
//! each task onto a sub-accelerator. One architecture value, one notation:
//!
//! ```text
//! cifar10=<network> ; cifar100=<network> ; hw=ws-32x32-gb128k-rf64b-bw16g-500mhz+rs-16x16-gb64k-rf64b-bw8g-500mhz ; map=0,1
//! ```
//!
//! - [`hardware`]: the template ladders and budgets ([`HardwareConfig`]),
//!   sampling, mutation, decisions and encoding of designs.
//! - [`space`]: the joint space ([`CoDesignSpace`]) with mutation, crossover,
//!   encodings and decisions built from the tasks' spaces (decisions grouped
//!   `network` and `hardware`, so `marl` gives a network agent and a hardware
//!   agent), and the `codesign` view the `codesign` evaluator prices.
//! - [`registry`]: the `[space] kind = "codesign"` section ([`CoDesignConfig`]).
//! - [`successive`]: NASAIC's successive baseline as the `successive` strategy.

pub mod hardware;
pub mod registry;
pub mod space;
pub mod successive;

#[cfg(test)]
mod tests;

pub use hardware::HardwareConfig;
pub use registry::{CoDesignConfig, TaskConfig};
pub use space::{CoDesignArch, CoDesignSpace};
pub use successive::{SuccessiveSettings, pick};
