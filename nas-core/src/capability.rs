//! Optional capabilities of a space, declared once and checked at run time.
//!
//! A space implements [`SearchSpace`] and whichever capability traits it can
//! ([`Mutate`], [`Crossover`], [`Neighbors`], [`Encode`], [`MultiEncode`],
//! [`ToNetworkSpec`], [`TrainableSpace`](crate::train::TrainableSpace)). It then
//! says which ones it has by implementing [`Capabilities`], usually with the
//! [`capabilities!`](crate::capabilities) macro:
//!
//! ```ignore
//! nas_core::capabilities!(MySpace: mutate, network_spec);
//! ```
//!
//! Registries erase spaces to a [`DynSpace`](crate::DynSpace) and check each
//! component's needs against these declarations before building it, so a space
//! without crossover still runs with random search, and a space without a burn
//! model still runs on tables and cost models; asking for what is missing gives
//! [`NasError::MissingCapability`](crate::NasError::MissingCapability).

use crate::encoding::MultiEncode;
use crate::space::{Crossover, Encode, Mutate, Neighbors, SearchSpace, ToNetworkSpec};
use crate::train::DynTrainable;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One optional capability of a space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// [`Mutate`]: a small random change.
    Mutate,
    /// [`Crossover`]: recombining two parents.
    Crossover,
    /// [`Neighbors`]: every architecture one edit away.
    Neighbors,
    /// [`Encode`]: one fixed-length numeric encoding.
    Encode,
    /// [`MultiEncode`]: the encodings of the predictor literature.
    MultiEncode,
    /// [`ToNetworkSpec`]: the layer-level description cost models price.
    NetworkSpec,
    /// [`TrainableSpace`](crate::train::TrainableSpace): a real burn network.
    Train,
    /// [`SupernetSpace`](crate::differentiable::SupernetSpace): a weight-sharing
    /// supernet for differentiable search.
    Supernet,
    /// [`Decisions`](crate::decisions::Decisions): architectures as sequences of
    /// categorical decisions (policy-gradient controllers).
    Decisions,
    /// [`DynCoDesign`](crate::hardware::DynCoDesign): networks of several tasks
    /// together with the accelerator they run on.
    CoDesign,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: [Capability; 10] = [
        Capability::Mutate,
        Capability::Crossover,
        Capability::Neighbors,
        Capability::Encode,
        Capability::MultiEncode,
        Capability::NetworkSpec,
        Capability::Train,
        Capability::Supernet,
        Capability::Decisions,
        Capability::CoDesign,
    ];

    /// The short name (`mutate`, `crossover`, ...), as `hwnas list` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Mutate => "mutate",
            Capability::Crossover => "crossover",
            Capability::Neighbors => "neighbors",
            Capability::Encode => "encode",
            Capability::MultiEncode => "multi_encode",
            Capability::NetworkSpec => "network_spec",
            Capability::Train => "train",
            Capability::Supernet => "supernet",
            Capability::Decisions => "decisions",
            Capability::CoDesign => "codesign",
        }
    }

    /// What it is, in words, for messages ("space `x` has no ...").
    pub fn describe(self) -> &'static str {
        match self {
            Capability::Mutate => "mutation",
            Capability::Crossover => "crossover",
            Capability::Neighbors => "neighbourhood (single-edit neighbours)",
            Capability::Encode => "numeric encoding",
            Capability::MultiEncode => "predictor encodings",
            Capability::NetworkSpec => "layer description (lowering to a NetworkSpec)",
            Capability::Train => "burn model (it cannot be trained or timed)",
            Capability::Supernet => "supernet (differentiable search)",
            Capability::Decisions => "sequential categorical decisions (policy-gradient controllers)",
            Capability::CoDesign => "network x accelerator co-design (tasks, hardware design and mapping)",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The capability declaration of a space: each method returns the space as that
/// capability's trait object when it has it. Every method defaults to `None`;
/// implement it with [`capabilities!`](crate::capabilities).
pub trait Capabilities: SearchSpace + Sized + 'static {
    /// As [`Mutate`].
    fn as_mutate(&self) -> Option<&dyn Mutate<Arch = Self::Arch>> {
        None
    }
    /// As [`Crossover`].
    fn as_crossover(&self) -> Option<&dyn Crossover<Arch = Self::Arch>> {
        None
    }
    /// As [`Neighbors`].
    fn as_neighbors(&self) -> Option<&dyn Neighbors<Arch = Self::Arch>> {
        None
    }
    /// As [`Encode`].
    fn as_encode(&self) -> Option<&dyn Encode<Arch = Self::Arch>> {
        None
    }
    /// As [`MultiEncode`].
    fn as_multi_encode(&self) -> Option<&dyn MultiEncode<Arch = Self::Arch>> {
        None
    }
    /// As [`ToNetworkSpec`].
    fn as_network_spec(&self) -> Option<&dyn ToNetworkSpec<Arch = Self::Arch>> {
        None
    }
    /// As a trainable space (type-erased, see [`DynTrainable`]).
    fn as_trainable(&self) -> Option<&dyn DynTrainable<Self::Arch>> {
        None
    }
    /// As a supernet (see [`DynSupernet`](crate::differentiable::DynSupernet)).
    fn as_supernet(&self) -> Option<&dyn crate::differentiable::DynSupernet> {
        None
    }

    /// As [`Decisions`](crate::decisions::Decisions).
    fn as_decisions(&self) -> Option<&dyn crate::decisions::Decisions<Arch = Self::Arch>> {
        None
    }

    /// As a co-design space (see [`DynCoDesign`](crate::hardware::DynCoDesign)).
    fn as_codesign(&self) -> Option<&dyn crate::hardware::DynCoDesign> {
        None
    }

    /// The capabilities this space has.
    fn capabilities(&self) -> Vec<Capability> {
        let has = [
            self.as_mutate().is_some(),
            self.as_crossover().is_some(),
            self.as_neighbors().is_some(),
            self.as_encode().is_some(),
            self.as_multi_encode().is_some(),
            self.as_network_spec().is_some(),
            self.as_trainable().is_some(),
            self.as_supernet().is_some(),
            self.as_decisions().is_some(),
            self.as_codesign().is_some(),
        ];
        Capability::ALL.into_iter().zip(has).filter(|(_, h)| *h).map(|(c, _)| c).collect()
    }
}

/// Implements [`Capabilities`] for a space from the list of capability traits it
/// implements: `mutate`, `crossover`, `neighbors`, `encode`, `multi_encode`,
/// `network_spec`, `train`, `supernet`, `decisions`, `codesign` (the space must implement the matching trait;
/// `train` needs `TrainableSpace + Clone`).
///
/// ```ignore
/// nas_core::capabilities!(Nb201Space: mutate, crossover, neighbors, encode, multi_encode, network_spec, train);
/// ```
#[macro_export]
macro_rules! capabilities {
    ($ty:ty $(: $($cap:ident),* $(,)?)?) => {
        impl $crate::Capabilities for $ty {
            $($($crate::capabilities!(@method $cap);)*)?
        }
    };
    (@method mutate) => {
        fn as_mutate(&self) -> Option<&dyn $crate::Mutate<Arch = Self::Arch>> { Some(self) }
    };
    (@method crossover) => {
        fn as_crossover(&self) -> Option<&dyn $crate::Crossover<Arch = Self::Arch>> { Some(self) }
    };
    (@method neighbors) => {
        fn as_neighbors(&self) -> Option<&dyn $crate::Neighbors<Arch = Self::Arch>> { Some(self) }
    };
    (@method encode) => {
        fn as_encode(&self) -> Option<&dyn $crate::Encode<Arch = Self::Arch>> { Some(self) }
    };
    (@method multi_encode) => {
        fn as_multi_encode(&self) -> Option<&dyn $crate::MultiEncode<Arch = Self::Arch>> { Some(self) }
    };
    (@method network_spec) => {
        fn as_network_spec(&self) -> Option<&dyn $crate::ToNetworkSpec<Arch = Self::Arch>> { Some(self) }
    };
    (@method supernet) => {
        fn as_supernet(&self) -> Option<&dyn $crate::differentiable::DynSupernet> { Some(self) }
    };
    (@method decisions) => {
        fn as_decisions(&self) -> Option<&dyn $crate::decisions::Decisions<Arch = Self::Arch>> { Some(self) }
    };
    (@method codesign) => {
        fn as_codesign(&self) -> Option<&dyn $crate::hardware::DynCoDesign> { Some(self) }
    };
    (@method train) => {
        fn as_trainable(&self) -> Option<&dyn $crate::train::DynTrainable<Self::Arch>> { Some(self) }
    };
}
