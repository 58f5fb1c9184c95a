//! # latency-lut — hardware cost models of hwnas
//!
//! Everything here prices a [`nas_core::NetworkSpec`] (a [`nas_core::CostModel`],
//! usable as an evaluator through [`nas_core::CostEvaluator`]) or times a real burn
//! network:
//!
//! - [`lut`]: **measured latency lookup tables**. [`lut::build_table`] enumerates
//!   every distinct layer configuration a space produces and times each with burn
//!   on this machine; [`lut::LatencyTable`] saves and loads the versioned,
//!   checksummed JSON file and prices networks ([`lut::LutLatency`]).
//! - [`measure`]: the **timing protocol** ([`measure::Protocol`]) and the burn
//!   layers built from [`nas_core::LayerSpec`]s ([`measure::LayerRunner`]).
//! - [`measured`]: **end-to-end latency** of a trainable space's
//!   network ([`measured::measure_network`], [`measured::MeasuredLatency`]).
//! - [`energy`]: an **analytical energy model** (MACs and traffic per memory level,
//!   energies from Horowitz ISSCC 2014 or Eyeriss ISCA 2016).
//! - [`systolic`]: **systolic arrays** (weight-, output-, row-stationary): latency,
//!   PE utilisation and energy per layer.
//! - [`area`]: an **area model** of accelerator designs (PEs, register files,
//!   NoC, SRAM, memory interface; cited constants and labelled assumptions).
//! - [`accel`]: **heterogeneous accelerators**: several tasks' networks on the
//!   sub-accelerators of a design (system latency, energy, area, utilisation,
//!   per layer; infeasible designs with the reason).
//! - [`codesign`]: the `codesign` evaluator for joint network × accelerator
//!   spaces.
//! - [`validate`]: **validation** of a table against end-to-end measurements
//!   (±5% / ±10% shares, MAPE, Kendall tau, residual attribution to layer pairs).
//! - [`verify`]: **front verification**: a run's front re-measured, re-ranked,
//!   members that became dominated or infeasible flagged.
//! - [`settings`]: the `lut`, `measured`, `energy` and `systolic` evaluators as
//!   registry components.
//! - [`fingerprint`]: the **device fingerprint** recorded in every table.
//! - [`error`]: the error type, [`LutError`].
//!
//! ## Measurement protocol, and why
//!
//! Decided from measurements on the 2-core AMD EPYC VM this was developed on, with
//! burn 0.22.1's flex backend at batch 1 (figures for NB201, C=16, N=5, 32x32):
//!
//! - **One thread** ([`measure::Protocol::threads`]). With 2 threads the sum of the
//!   layers ranged from 0.87x to 2.5x of the measured network; with one thread the
//!   raw sum was 0.90x–0.99x of it (median 0.95x), before calibration.
//! - **Preemption correction** ([`measure::run_delay_ns`]). The machine is shared
//!   with builds and tests; a network forward (3–12 ms) was preempted in up to 100%
//!   of its samples and wall-clock medians came out up to 2x too slow. Subtracting
//!   the kernel's per-thread run-queue delay from each sample brought repeated
//!   measurements of the same network in different processes within ~5% of each
//!   other under the same load.
//! - **Chained element-wise layers** ([`measure::LayerRunner`]): batch norms,
//!   activations and sums consume the previous call's output, as in a network,
//!   so burn's in-place kernels are timed, not an extra allocation.
//! - **Interleaved rounds** (3 rounds, round-robin over the table) so that slow
//!   drifts of the machine spread over all entries. End-to-end references are
//!   interleaved the same way ([`measured::measure_networks`]): timed one after
//!   another, 100 networks landed in the machine's "fast" and "slow" phases and
//!   the comparison with the table came out bimodal (Kendall tau 0.89, 73% within
//!   ±5% under a load of 3 on 2 cores); interleaved, the same comparison gave tau
//!   0.95 and 100% within ±5%.
//! - **Calibration** ([`lut::Calibration`]): `intercept + scale * sum`, fitted on
//!   8 networks measured end to end whose layer sums span the space's range. The
//!   raw sum is 3–7% below the network for NB201 (scale 1.03–1.07) and ~25% below
//!   for DARTS, whose cells slice and concatenate tensors outside any layer.
//! - **Allocator**: burn allocates every output, so the program's global
//!   allocator is part of what is timed and is recorded ([`measure::Protocol::allocator`];
//!   the `hwnas` binary uses mimalloc).
//!
//! Result (`hwnas lut build --space nb201`, then `hwnas lut validate LUT --samples
//! 100`, default NB201 C=16 N=5 32x32, batch 1, machine shared with other builds):
//! 100% of predictions within ±10% and within ±5% of the measured end-to-end
//! latency, MAPE 1.4%, Kendall tau 0.954; the build takes ~10 s.
//!
//! Each table records its protocol and device, so a table is refused (space,
//! batch) or reported (device, threads) when used elsewhere.
#![warn(missing_docs)]

pub mod accel;
pub mod area;
pub mod build;
pub mod codesign;
pub mod energy;
pub mod error;
pub mod fingerprint;
pub mod lut;
pub mod measure;
pub mod measured;
pub mod settings;
pub mod stability;
pub mod systolic;
pub mod validate;
pub mod verify;

pub use accel::{AcceleratorModel, Infeasible, SystemReport};
pub use area::{AreaChoice, AreaModel};
pub use codesign::CoDesignSettings;
pub use energy::{EnergyBreakdown, EnergyModel, Technology, TechnologyChoice};
pub use error::{LutError, Result};
pub use fingerprint::DeviceFingerprint;
pub use lut::{BuildOptions, Calibration, CoverageOptions, LatencyTable, LutEntry, LutLatency, SpaceId, build_table};
pub use measure::{Protocol, Timing};
pub use measured::{MeasuredLatency, measure_network, measure_network_rounds, measure_networks};
pub use settings::{EnergySettings, LutSettings, MeasuredSettings};
pub use stability::{Stability, StabilityOptions};
pub use systolic::{Dataflow, SystolicArray, SystolicConfig};
pub use validate::{ValidationOptions, ValidationReport, validate_table};
pub use verify::{FrontMember, VerifiedPoint, VerifyReport, VerifySource, verify_front};

#[cfg(test)]
mod tests;
