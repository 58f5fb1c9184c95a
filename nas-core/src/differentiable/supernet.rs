//! What a space provides for differentiable search: its decisions as edges with
//! candidate ops ([`SupernetLayout`]), a supernet (a real burn module computing
//! every candidate under an [`EdgeMix`]), and the way an architecture is derived
//! from the architecture weights.
//!
//! Architectures are handled as *choices*: one op index per edge of the layout.
//! [`DynSupernet`] is the object-safe side every [`SupernetSpace`] gets, reached
//! from a [`DynSpace`](crate::DynSpace) through the `supernet` capability.

use super::mix::EdgeMix;
use crate::arch::Architecture;
use crate::dynspace::AnyArch;
use crate::error::{NasError, Result};
use crate::space::SearchSpace;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// One decision of the space: an edge and its candidate ops.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EdgeChoices {
    /// The edge's name (`1<-0`, `normal 2<-1`, ...).
    pub name: String,
    /// Names of the candidate ops, in choice order.
    pub ops: Vec<String>,
}

/// The decisions of a space as a supernet sees them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupernetLayout {
    /// Every edge, in the order of the architecture weights' rows.
    pub edges: Vec<EdgeChoices>,
    /// The edges entering each intermediate node (contiguous runs of edge
    /// indices), for PC-DARTS's edge normalisation.
    pub node_edges: Vec<Vec<usize>>,
    /// Ops without parameters (`none`, `skip_connect`, pooling), by name: the
    /// collapse guard counts them in derived cells.
    pub param_free: Vec<String>,
}

impl SupernetLayout {
    /// Number of edges.
    pub fn num_edges(&self) -> usize {
        self.edges.len()
    }

    /// Candidate ops per edge (the same on every edge).
    pub fn num_ops(&self) -> usize {
        self.edges.first().map_or(0, |e| e.ops.len())
    }

    /// Whether op `op` (of any edge) is parameter-free.
    pub fn is_param_free(&self, op: usize) -> bool {
        self.edges.first().and_then(|e| e.ops.get(op)).is_some_and(|name| self.param_free.contains(name))
    }

    /// Checks the layout: at least one edge, the same ops on every edge, node
    /// groups that partition the edges into contiguous runs.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| NasError::InvalidValue {
            field: "supernet layout".into(),
            value: format!("{} edges", self.edges.len()),
            allowed: reason,
        };
        let ops = self.num_ops();
        if ops < 2 {
            return Err(bad("at least one edge with at least 2 candidate ops".into()));
        }
        if let Some(e) = self.edges.iter().find(|e| e.ops != self.edges[0].ops) {
            return Err(bad(format!("the same candidate ops on every edge (edge {} differs)", e.name)));
        }
        let flat: Vec<usize> = self.node_edges.iter().flatten().copied().collect();
        if flat != (0..self.edges.len()).collect::<Vec<_>>() {
            return Err(bad("node groups listing every edge once, in order".into()));
        }
        Ok(())
    }
}

/// A supernet: every candidate op of every edge, combined by an [`EdgeMix`].
pub trait SupernetModel: Module + Send + 'static {
    /// Logits `[N, classes]` of a batch `[N, C, H, W]` under `mix`.
    fn forward(&self, images: Tensor<4>, mix: &EdgeMix) -> Tensor<2>;
}

/// A space that differentiable search can search (see the module docs).
pub trait SupernetSpace: SearchSpace + Send + Sync + 'static {
    /// Its supernet.
    type Net: SupernetModel;

    /// The edges and candidate ops.
    fn supernet_layout(&self) -> SupernetLayout;

    /// Refuses a PC-DARTS `partial` (K) that does not divide the channels of
    /// every searched layer, naming `field`.
    fn check_partial(&self, partial: usize, field: &str) -> Result<()>;

    /// Builds the supernet (its parameters initialised from burn's generator;
    /// call it inside [`init_seeded`](crate::train::init_seeded)); with
    /// `partial > 1` its edge ops work on `C / partial` channels (PC-DARTS).
    fn build_supernet(&self, partial: usize, device: &Device) -> Self::Net;

    /// The architecture of one op per edge.
    fn arch_from_choices(&self, choices: &[usize]) -> Result<Self::Arch>;

    /// The architecture's op per edge.
    fn choices_of(&self, arch: &Self::Arch) -> Vec<usize>;

    /// The derived choices from op weights (`[edges][ops]`, each row a
    /// distribution) and, with edge normalisation, edge weights. By default the
    /// strongest op of every edge.
    fn derive_choices(&self, op_weights: &[Vec<f64>], _edge_weights: Option<&[f64]>) -> Vec<usize> {
        op_weights.iter().map(|row| argmax(row)).collect()
    }

    /// Input shape `[C, H, W]` of the supernet.
    fn supernet_input(&self) -> [usize; 3];

    /// Random choices of a valid architecture, with op `fixed.1` on edge
    /// `fixed.0` when the space allows it (the cost model's samples). By
    /// default every edge takes any op.
    fn sample_choices(&self, rng: &mut dyn rand::RngCore, fixed: Option<(usize, usize)>) -> Vec<usize> {
        use rand::Rng;
        let layout = self.supernet_layout();
        let mut c: Vec<usize> = (0..layout.num_edges()).map(|_| rng.random_range(0..layout.num_ops())).collect();
        if let Some((e, o)) = fixed {
            c[e] = o;
        }
        c
    }

    /// Whether an edge with op `from` may be changed to op `to` when a derived
    /// architecture is projected under a cost limit (the DARTS space keeps
    /// dropped edges dropped and chosen edges chosen).
    fn swap_allowed(&self, _from: usize, _to: usize) -> bool {
        true
    }
}

/// Index of the largest value (the first on ties).
pub fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = i;
        }
    }
    best
}

/// The object-safe side of [`SupernetSpace`].
pub trait DynSupernet: Send + Sync {
    /// The edges and candidate ops.
    fn layout(&self) -> SupernetLayout;
    /// The architecture of `choices`.
    fn arch(&self, choices: &[usize]) -> Result<AnyArch>;
    /// The choices of an architecture of this space.
    fn choices(&self, arch: &AnyArch) -> Result<Vec<usize>>;
    /// The derived choices (see [`SupernetSpace::derive_choices`]).
    fn derive(&self, op_weights: &[Vec<f64>], edge_weights: Option<&[f64]>) -> Vec<usize>;
    /// Refuses a PC-DARTS K that does not divide the searched channels.
    fn check_partial(&self, partial: usize) -> Result<()>;
    /// Random valid choices (see [`SupernetSpace::sample_choices`]).
    fn sample(&self, rng: &mut dyn rand::RngCore, fixed: Option<(usize, usize)>) -> Vec<usize>;
    /// Runs one seed's search (see [`run_seed`](super::search::run_seed)).
    fn search(
        &self,
        job: &super::search::SeedJob<'_>,
    ) -> std::result::Result<super::search::SeedOutcome, super::DiffError>;
}

impl<S: SupernetSpace> DynSupernet for S {
    fn layout(&self) -> SupernetLayout {
        self.supernet_layout()
    }
    fn arch(&self, choices: &[usize]) -> Result<AnyArch> {
        self.arch_from_choices(choices).map(AnyArch::new)
    }
    fn choices(&self, arch: &AnyArch) -> Result<Vec<usize>> {
        match arch.downcast_ref::<S::Arch>() {
            Some(a) => Ok(self.choices_of(a)),
            None => Err(NasError::InvalidArchitecture {
                space: self.name().into(),
                notation: arch.notation(),
                reason: "it belongs to another space".into(),
            }),
        }
    }
    fn derive(&self, op_weights: &[Vec<f64>], edge_weights: Option<&[f64]>) -> Vec<usize> {
        self.derive_choices(op_weights, edge_weights)
    }
    fn check_partial(&self, partial: usize) -> Result<()> {
        SupernetSpace::check_partial(self, partial, "strategy.k")
    }
    fn sample(&self, rng: &mut dyn rand::RngCore, fixed: Option<(usize, usize)>) -> Vec<usize> {
        self.sample_choices(rng, fixed)
    }
    fn search(
        &self,
        job: &super::search::SeedJob<'_>,
    ) -> std::result::Result<super::search::SeedOutcome, super::DiffError> {
        super::search::run_seed(self, job)
    }
}
