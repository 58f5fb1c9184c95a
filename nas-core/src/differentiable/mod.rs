//! Differentiable architecture search: DARTS, PC-DARTS, GDAS and ProxylessNAS
//! on a space's supernet, with a hardware-aware loss, collapse guard rails,
//! per-epoch checkpoints and one search per seed.
//!
//! | module | job |
//! |---|---|
//! | [`supernet`] | what a space provides: [`SupernetLayout`], [`SupernetSpace`], [`DynSupernet`] |
//! | [`mix`] | how an edge combines its ops in one forward pass ([`EdgeMix`]) |
//! | [`arch_params`] | the architecture weights (their own burn module and optimiser) and the four methods' mixes |
//! | [`cost`] | per-op costs fitted to any cost source ([`LinearCost`]) for the hardware term |
//! | [`guard`] | collapse indicators and the policy acting on them |
//! | [`search`] | one seed's search: the alternating loop, checkpoints, resume |
//! | [`settings`] | the `[strategy]` settings and [`Method`] |
//! | [`strategy`] | the ask/tell strategy (`darts`, `pc_darts`, `gdas`, `proxyless`): one search per seed, each derived architecture a trial |
//! | [`memory`] | the process's peak resident memory |

pub mod arch_params;
pub mod cost;
pub mod guard;
pub mod memory;
pub mod mix;
pub mod search;
pub mod settings;
pub mod strategy;
pub mod supernet;

pub use arch_params::ArchParams;
pub use cost::LinearCost;
pub use guard::{GuardPolicy, GuardSettings};
pub use mix::{EdgeMix, MixKind};
pub use search::{EpochRecord, SeedJob, SeedOutcome, run_seed};
pub use settings::{DifferentiableSettings, HardwareLoss, Method};
pub use supernet::{DynSupernet, EdgeChoices, SupernetLayout, SupernetModel, SupernetSpace, argmax};

use crate::error::NasError;
use std::path::PathBuf;

/// Why a differentiable search stopped without an architecture.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiffError {
    /// The loss became NaN, infinite or larger than `divergence_loss`.
    #[error("the search diverged at epoch {epoch}, step {step} (loss {loss}); {kept}")]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Step within the epoch (1-based).
        step: usize,
        /// The offending loss.
        loss: f64,
        /// Which checkpoint was kept.
        kept: String,
    },
    /// The cost source has no value for an architecture with this op.
    #[error(
        "strategy.hardware.metric = \"{metric}\": the cost source does not cover op `{op}` on edge {edge}: {reason}"
    )]
    CostCoverage {
        /// The metric.
        metric: String,
        /// The op.
        op: String,
        /// The edge.
        edge: String,
        /// What the source said.
        reason: String,
    },
    /// The cost model could not be built.
    #[error("strategy.hardware: {0}")]
    Cost(String),
    /// A checkpoint could not be written or read.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A panic inside burn.
    #[error("differentiable search backend failed: {0}")]
    Backend(String),
    /// A bad value or file.
    #[error(transparent)]
    Nas(#[from] NasError),
}
