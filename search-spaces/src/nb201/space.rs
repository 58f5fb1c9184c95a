//! The NAS-Bench-201 [`SearchSpace`] and its capability traits.

use super::config::Nb201Config;
use super::genotype::{NUM_EDGES, Nb201Arch};
use super::ops::Nb201Op;
use nas_core::{Crossover, Encode, Mutate, Neighbors, Result, SearchSpace, SpaceSize};
use rand::{Rng, RngCore};

/// Number of ops per edge.
const NUM_OPS: usize = Nb201Op::ALL.len();

/// Number of cells: 5^6.
pub const NB201_SIZE: usize = 15_625;

/// The NAS-Bench-201 topology space: 15,625 cells, each placed in the benchmark's
/// macro network described by an [`Nb201Config`].
///
/// Capabilities: uniform sampling, exhaustive enumeration, single-edge mutation
/// (the REA mutation of the benchmark paper), uniform per-edge crossover, a 30-float
/// one-hot encoding, 24 single-edge neighbours, the layer-level lowering
/// ([`ToNetworkSpec`](nas_core::ToNetworkSpec)) and a trainable burn network
/// ([`TrainableSpace`](nas_core::train::TrainableSpace)).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Nb201Space {
    config: Nb201Config,
}

impl Nb201Space {
    /// A space over the given macro network (validated).
    pub fn new(config: Nb201Config) -> Result<Self> {
        config.validate()?;
        Ok(Nb201Space { config })
    }

    /// The macro-network configuration.
    pub fn config(&self) -> &Nb201Config {
        &self.config
    }

    /// The `rank`-th cell of [`SearchSpace::enumerate`]'s order (a mixed-radix
    /// number with edge 0 as the most significant base-5 digit and the op index as
    /// digit), or `None` if `rank >= 15,625`. This is *not* the benchmark's own
    /// index: NAS-Bench-201 lists its architectures in an order with no closed form.
    pub fn nth(rank: usize) -> Option<Nb201Arch> {
        if rank >= NB201_SIZE {
            return None;
        }
        let mut ops = [Nb201Op::None; NUM_EDGES];
        let mut r = rank;
        for e in (0..NUM_EDGES).rev() {
            ops[e] = Nb201Op::ALL[r % NUM_OPS];
            r /= NUM_OPS;
        }
        Some(Nb201Arch::new(ops))
    }
}

fn random_op(rng: &mut dyn RngCore) -> Nb201Op {
    Nb201Op::ALL[rng.random_range(0..NUM_OPS)]
}

impl SearchSpace for Nb201Space {
    type Arch = Nb201Arch;

    fn name(&self) -> &str {
        "nb201"
    }

    fn sample(&self, rng: &mut dyn RngCore) -> Nb201Arch {
        let mut ops = [Nb201Op::None; NUM_EDGES];
        for op in &mut ops {
            *op = random_op(rng);
        }
        Nb201Arch::new(ops)
    }

    /// Every op assignment is a member: there is nothing to reject.
    fn validate(&self, _arch: &Nb201Arch) -> Result<()> {
        Ok(())
    }

    fn parse(&self, notation: &str) -> Result<Nb201Arch> {
        Nb201Arch::parse(notation)
    }

    fn size(&self) -> SpaceSize {
        SpaceSize::Exact(NB201_SIZE as u128)
    }

    /// All 15,625 cells in mixed-radix order (see [`Nb201Space::nth`]).
    fn enumerate(&self) -> Option<Box<dyn Iterator<Item = Nb201Arch> + '_>> {
        Some(Box::new((0..NB201_SIZE).filter_map(Nb201Space::nth)))
    }
}

impl Mutate for Nb201Space {
    /// Picks one edge uniformly and replaces its op by a different op, chosen
    /// uniformly among the other four (the NAS-Bench-201 REA mutation).
    fn mutate(&self, arch: &Nb201Arch, rng: &mut dyn RngCore) -> Nb201Arch {
        let edge = rng.random_range(0..NUM_EDGES);
        let current = arch.op(edge).index();
        let shift = rng.random_range(1..NUM_OPS);
        let op = Nb201Op::ALL[(current + shift) % NUM_OPS];
        arch.with_op(edge, op)
    }
}

impl Crossover for Nb201Space {
    /// Uniform crossover: each edge's op comes from either parent with probability 1/2.
    fn crossover(&self, a: &Nb201Arch, b: &Nb201Arch, rng: &mut dyn RngCore) -> Nb201Arch {
        let mut ops = a.ops();
        for (e, op) in ops.iter_mut().enumerate() {
            if rng.random_bool(0.5) {
                *op = b.op(e);
            }
        }
        Nb201Arch::new(ops)
    }
}

impl Encode for Nb201Space {
    fn encoding_len(&self) -> usize {
        NUM_EDGES * NUM_OPS
    }

    /// One-hot op per edge, edge-major: position `edge * 5 + op index`.
    fn encode(&self, arch: &Nb201Arch) -> Vec<f32> {
        let mut v = vec![0.0; NUM_EDGES * NUM_OPS];
        for (e, op) in arch.ops().iter().enumerate() {
            v[e * NUM_OPS + op.index()] = 1.0;
        }
        v
    }
}

impl Neighbors for Nb201Space {
    /// The 24 cells that differ in exactly one edge, edge by edge, ops in index order.
    fn neighbors(&self, arch: &Nb201Arch) -> Vec<Nb201Arch> {
        let mut out = Vec::with_capacity(NUM_EDGES * (NUM_OPS - 1));
        for e in 0..NUM_EDGES {
            for op in Nb201Op::ALL {
                if op != arch.op(e) {
                    out.push(arch.with_op(e, op));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nas_core::Architecture;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::collections::HashSet;

    #[test]
    fn enumeration_is_complete_and_ordered() {
        let space = Nb201Space::default();
        let all: Vec<_> = space.enumerate().expect("small").collect();
        assert_eq!(all.len(), NB201_SIZE);
        assert_eq!(all[0], Nb201Arch::uniform(Nb201Op::None));
        assert_eq!(all[NB201_SIZE - 1], Nb201Arch::uniform(Nb201Op::AvgPool3x3));
        assert_eq!(all[1].op(5), Nb201Op::SkipConnect);
        let ids: HashSet<_> = all.iter().map(|a| a.id()).collect();
        assert_eq!(ids.len(), NB201_SIZE);
        assert_eq!(Nb201Space::nth(NB201_SIZE), None);
    }

    #[test]
    fn mutation_changes_exactly_one_edge() {
        let space = Nb201Space::default();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let a = space.sample(&mut rng);
            let m = space.mutate(&a, &mut rng);
            let diff = (0..NUM_EDGES).filter(|&e| a.op(e) != m.op(e)).count();
            assert_eq!(diff, 1);
        }
    }

    #[test]
    fn crossover_takes_each_edge_from_a_parent() {
        let space = Nb201Space::default();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for _ in 0..100 {
            let (a, b) = (space.sample(&mut rng), space.sample(&mut rng));
            let c = space.crossover(&a, &b, &mut rng);
            assert!((0..NUM_EDGES).all(|e| c.op(e) == a.op(e) || c.op(e) == b.op(e)));
        }
    }

    #[test]
    fn encoding_is_one_hot_per_edge() {
        let space = Nb201Space::default();
        let a = Nb201Arch::uniform(Nb201Op::NorConv3x3).with_op(2, Nb201Op::None);
        let v = space.encode(&a);
        assert_eq!(v.len(), 30);
        assert_eq!(v.iter().sum::<f32>(), 6.0);
        assert_eq!(v[3], 1.0);
        assert_eq!(v[2 * 5], 1.0);
    }

    #[test]
    fn neighbours_are_the_24_single_edge_changes() {
        let space = Nb201Space::default();
        let a = Nb201Arch::uniform(Nb201Op::SkipConnect);
        let n = space.neighbors(&a);
        assert_eq!(n.len(), 24);
        let distinct: HashSet<_> = n.iter().collect();
        assert_eq!(distinct.len(), 24);
        assert!(!n.contains(&a));
    }
}
