//! Search spaces and the capability traits strategies ask for.

use crate::arch::Architecture;
use crate::error::Result;
use crate::layer::NetworkSpec;
use rand::RngCore;

/// How many architectures a space holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SpaceSize {
    /// The exact count (fits in a `u128`).
    Exact(u128),
    /// Too large to count exactly; `log10` of the count.
    Log10(f64),
}

impl SpaceSize {
    /// The count as `f64` (may be infinite for [`SpaceSize::Log10`] above ~308).
    pub fn as_f64(&self) -> f64 {
        match *self {
            SpaceSize::Exact(n) => n as f64,
            SpaceSize::Log10(l) => 10f64.powf(l),
        }
    }
}

/// A set of architectures: it samples, validates, parses, counts and (when small)
/// enumerates them. A space is a *generator*; architectures are plain values.
pub trait SearchSpace: Send + Sync {
    /// The architecture value type of this space.
    type Arch: Architecture;

    /// Short machine name (`nb201`, `darts`, ...), used in configs and records.
    fn name(&self) -> &str;

    /// Draws one architecture uniformly (or from the space's natural prior).
    fn sample(&self, rng: &mut dyn RngCore) -> Self::Arch;

    /// Checks that an architecture belongs to this space.
    fn validate(&self, arch: &Self::Arch) -> Result<()>;

    /// Parses the native notation (the inverse of [`Architecture::notation`]).
    fn parse(&self, notation: &str) -> Result<Self::Arch>;

    /// Number of architectures in the space.
    fn size(&self) -> SpaceSize;

    /// All architectures, in a fixed order, when the space is small enough to list.
    fn enumerate(&self) -> Option<Box<dyn Iterator<Item = Self::Arch> + '_>> {
        None
    }
}

/// Spaces whose architectures can be mutated (a small random change).
pub trait Mutate: SearchSpace {
    /// Returns a mutated copy that differs from `arch` (when the space allows it).
    fn mutate(&self, arch: &Self::Arch, rng: &mut dyn RngCore) -> Self::Arch;
}

/// Spaces whose architectures can be recombined.
pub trait Crossover: SearchSpace {
    /// Returns a child that takes each gene from one of the two parents.
    fn crossover(&self, a: &Self::Arch, b: &Self::Arch, rng: &mut dyn RngCore) -> Self::Arch;
}

/// Spaces with a fixed-length numeric encoding (for predictors and analysis).
pub trait Encode: SearchSpace {
    /// Length of the vector returned by [`Encode::encode`].
    fn encoding_len(&self) -> usize;
    /// One-hot (or otherwise numeric) encoding of an architecture.
    fn encode(&self, arch: &Self::Arch) -> Vec<f32>;
}

/// Spaces where every architecture has a finite set of neighbours (one edit away).
pub trait Neighbors: SearchSpace {
    /// All architectures one elementary edit away, in a fixed order.
    fn neighbors(&self, arch: &Self::Arch) -> Vec<Self::Arch>;
}

/// Spaces that can describe an architecture as a list of layers for cost models.
pub trait ToNetworkSpec: SearchSpace {
    /// The layer-level description of the network built for `arch`.
    fn network_spec(&self, arch: &Self::Arch) -> NetworkSpec;
}
