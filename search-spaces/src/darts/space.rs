//! The DARTS [`SearchSpace`] and its capability traits.

use super::config::DartsConfig;
use super::genotype::{CellKind, DartsCell, DartsEdge, DartsGenotype, EDGES_PER_CELL, INPUTS_PER_NODE, NUM_NODES};
use super::ops::DartsOp;
use nas_core::{Crossover, Encode, Mutate, Neighbors, Result, SearchSpace, SpaceSize};
use rand::{Rng, RngCore};

/// Number of ops of a derived genotype.
const NUM_OPS: usize = DartsOp::ALL.len();

/// Most input states a node can read (node 3 reads one of states 0..5).
const MAX_INPUTS: usize = NUM_NODES + 1;

/// Encoding width of one edge: one-hot op, then one-hot input state.
const EDGE_CODE: usize = NUM_OPS + MAX_INPUTS;

/// The DARTS cell space (Liu et al., ICLR 2019) as used to derive final genotypes,
/// placed in the `NetworkCIFAR` macro network described by a [`DartsConfig`].
///
/// A cell has four nodes; node `k` sums two edges from two distinct states among
/// its `k + 2` predecessors, each with one of the seven ops (`none` excluded). The
/// two edges are an unordered pair, so node `k` has `C(k+2, 2) * 7^2` choices and
/// a cell `(1 * 3 * 6 * 10) * 7^8 = 180 * 7^8 = 1,037,664,180`. The normal and
/// reduction cells are independent, so the space holds `(180 * 7^8)^2 =
/// 1,076,746,950,455,072,400` genotypes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DartsSpace {
    config: DartsConfig,
}

/// Distinct cells: `prod_k C(k+2, 2) * 7^2`.
pub fn cell_count() -> u128 {
    (0..NUM_NODES as u128).map(|k| (k + 2) * (k + 1) / 2 * (NUM_OPS as u128).pow(2)).product()
}

impl DartsSpace {
    /// A space over the given macro network (validated).
    pub fn new(config: DartsConfig) -> Result<Self> {
        config.validate()?;
        Ok(DartsSpace { config })
    }

    /// The macro-network configuration.
    pub fn config(&self) -> &DartsConfig {
        &self.config
    }
}

fn random_op(rng: &mut dyn RngCore) -> DartsOp {
    DartsOp::ALL[rng.random_range(0..NUM_OPS)]
}

fn sample_cell(rng: &mut dyn RngCore) -> DartsCell {
    let mut edges = [DartsEdge::new(DartsOp::SkipConnect, 0); EDGES_PER_CELL];
    for k in 0..NUM_NODES {
        let n = k + 2;
        let i = rng.random_range(0..n);
        let mut j = rng.random_range(0..n - 1);
        if j >= i {
            j += 1;
        }
        edges[2 * k] = DartsEdge::new(random_op(rng), i);
        edges[2 * k + 1] = DartsEdge::new(random_op(rng), j);
    }
    DartsCell::new(edges).expect("two distinct in-range inputs per node")
}

/// All cells one edit away from `cell`: for each node and edge, every other op,
/// then every other input state not used by the node's other edge.
fn cell_neighbors(cell: &DartsCell) -> Vec<DartsCell> {
    let mut out = Vec::new();
    for k in 0..NUM_NODES {
        let node = cell.node(k);
        for slot in 0..INPUTS_PER_NODE {
            let other = node[1 - slot];
            for op in DartsOp::ALL {
                if op != node[slot].op {
                    let mut n = node;
                    n[slot].op = op;
                    out.push(cell.with_node(k, n).expect("only the op changed"));
                }
            }
            for input in 0..k + 2 {
                if input != node[slot].input && input != other.input {
                    let mut n = node;
                    n[slot].input = input;
                    out.push(cell.with_node(k, n).expect("distinct in-range inputs"));
                }
            }
        }
    }
    out
}

impl SearchSpace for DartsSpace {
    type Arch = DartsGenotype;

    fn name(&self) -> &str {
        "darts"
    }

    /// Uniform over the space: per node a uniform pair of distinct inputs and a
    /// uniform op per edge, in both cells.
    fn sample(&self, rng: &mut dyn RngCore) -> DartsGenotype {
        let normal = sample_cell(rng);
        DartsGenotype::new(normal, sample_cell(rng))
    }

    /// [`DartsGenotype`] values are valid by construction (their cells are checked
    /// when built); nothing further depends on the macro network.
    fn validate(&self, _arch: &DartsGenotype) -> Result<()> {
        Ok(())
    }

    fn parse(&self, notation: &str) -> Result<DartsGenotype> {
        DartsGenotype::parse(notation)
    }

    fn size(&self) -> SpaceSize {
        SpaceSize::Exact(cell_count().pow(2))
    }
}

impl Mutate for DartsSpace {
    /// Picks a cell, a node and one of its two edges uniformly; then with
    /// probability 1/2 moves the edge to another input state (uniform among the
    /// states the node does not read yet; node 0 has none, so it changes the op),
    /// otherwise replaces its op by one of the six others.
    fn mutate(&self, arch: &DartsGenotype, rng: &mut dyn RngCore) -> DartsGenotype {
        let kind = CellKind::ALL[rng.random_range(0..2)];
        let cell = arch.cell(kind);
        let k = rng.random_range(0..NUM_NODES);
        let slot = rng.random_range(0..INPUTS_PER_NODE);
        let mut node = cell.node(k);
        let change_input = rng.random_bool(0.5) && k > 0;
        if change_input {
            let used = [node[0].input, node[1].input];
            let free: Vec<usize> = (0..k + 2).filter(|i| !used.contains(i)).collect();
            node[slot].input = free[rng.random_range(0..free.len())];
        } else {
            let current = node[slot].op.index();
            node[slot].op = DartsOp::ALL[(current + rng.random_range(1..NUM_OPS)) % NUM_OPS];
        }
        let cell = cell.with_node(k, node).expect("mutation keeps inputs distinct and in range");
        arch.with_cell(kind, cell)
    }
}

impl Crossover for DartsSpace {
    /// Per-node uniform crossover, cell by cell: each node (both of its edges)
    /// comes from either parent with probability 1/2.
    fn crossover(&self, a: &DartsGenotype, b: &DartsGenotype, rng: &mut dyn RngCore) -> DartsGenotype {
        let mut child = *a;
        for kind in CellKind::ALL {
            let mut cell = *a.cell(kind);
            for k in 0..NUM_NODES {
                if rng.random_bool(0.5) {
                    cell = cell.with_node(k, b.cell(kind).node(k)).expect("a parent's node is valid");
                }
            }
            child = child.with_cell(kind, cell);
        }
        child
    }
}

impl Encode for DartsSpace {
    fn encoding_len(&self) -> usize {
        CellKind::ALL.len() * EDGES_PER_CELL * EDGE_CODE
    }

    /// For the normal then the reduction cell, for each edge in canonical order:
    /// a one-hot op (7, DARTS order without `none`) followed by a one-hot input
    /// state (5). 2 x 8 x 12 = 192 floats.
    fn encode(&self, arch: &DartsGenotype) -> Vec<f32> {
        let mut v = vec![0.0; self.encoding_len()];
        for (c, kind) in CellKind::ALL.iter().enumerate() {
            for (e, edge) in arch.cell(*kind).edges().iter().enumerate() {
                let base = (c * EDGES_PER_CELL + e) * EDGE_CODE;
                v[base + edge.op.index()] = 1.0;
                v[base + NUM_OPS + edge.input] = 1.0;
            }
        }
        v
    }
}

impl Neighbors for DartsSpace {
    /// Every genotype one op or one input change away: per cell `sum_k 2 * (6 + k)
    /// = 60`, so 120 in all (normal-cell changes first).
    fn neighbors(&self, arch: &DartsGenotype) -> Vec<DartsGenotype> {
        CellKind::ALL
            .iter()
            .flat_map(|&kind| cell_neighbors(arch.cell(kind)).into_iter().map(move |c| arch.with_cell(kind, c)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nas_core::Architecture;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn size_formula() {
        assert_eq!(cell_count(), 1_037_664_180);
        assert_eq!(cell_count(), 180 * 7u128.pow(8));
        assert_eq!(DartsSpace::default().size(), SpaceSize::Exact(1_037_664_180u128 * 1_037_664_180));
    }

    /// Brute force over a node's choices: distinct unordered (op, input) pairs.
    #[test]
    fn node_choice_count_matches_brute_force() {
        for k in 0..NUM_NODES {
            let mut set = HashSet::new();
            for a in DartsOp::ALL {
                for b in DartsOp::ALL {
                    for i in 0..k + 2 {
                        for j in 0..k + 2 {
                            if i != j {
                                let mut pair = [(i, a), (j, b)];
                                pair.sort();
                                set.insert(pair);
                            }
                        }
                    }
                }
            }
            assert_eq!(set.len(), (k + 2) * (k + 1) / 2 * 49);
        }
    }

    #[test]
    fn neighbours_are_120_distinct_single_edits() {
        let space = DartsSpace::default();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..20 {
            let g = space.sample(&mut rng);
            let n = space.neighbors(&g);
            assert_eq!(n.len(), 120);
            let set: HashSet<_> = n.iter().collect();
            assert_eq!(set.len(), 120);
            assert!(!set.contains(&g));
        }
    }

    #[test]
    fn mutation_is_one_of_the_neighbours() {
        let space = DartsSpace::default();
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let mut kinds = HashMap::new();
        for _ in 0..300 {
            let g = space.sample(&mut rng);
            let m = space.mutate(&g, &mut rng);
            assert!(space.neighbors(&g).contains(&m), "{}", m.notation());
            let input_change = g.normal.edges().iter().zip(m.normal.edges()).any(|(a, b)| a.input != b.input)
                || g.reduce.edges().iter().zip(m.reduce.edges()).any(|(a, b)| a.input != b.input);
            *kinds.entry(input_change).or_insert(0) += 1;
        }
        assert!(kinds[&true] > 60 && kinds[&false] > 60, "{kinds:?}");
    }

    #[test]
    fn sampling_covers_inputs_and_ops() {
        let space = DartsSpace::default();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut inputs3 = HashSet::new();
        let mut ops = HashSet::new();
        for _ in 0..200 {
            let g = space.sample(&mut rng);
            inputs3.extend(g.normal.node(3).map(|e| e.input));
            ops.extend(g.reduce.edges().iter().map(|e| e.op));
        }
        assert_eq!(inputs3.len(), 5);
        assert_eq!(ops.len(), 7);
    }

    #[test]
    fn crossover_takes_whole_nodes() {
        let space = DartsSpace::default();
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for _ in 0..100 {
            let (a, b) = (space.sample(&mut rng), space.sample(&mut rng));
            let c = space.crossover(&a, &b, &mut rng);
            for kind in CellKind::ALL {
                for k in 0..NUM_NODES {
                    let n = c.cell(kind).node(k);
                    assert!(n == a.cell(kind).node(k) || n == b.cell(kind).node(k));
                }
            }
        }
    }

    #[test]
    fn encoding_marks_one_op_and_one_input_per_edge() {
        let space = DartsSpace::default();
        let g = DartsGenotype::darts_v2();
        let v = space.encode(&g);
        assert_eq!(v.len(), 192);
        assert_eq!(v.iter().sum::<f32>(), 32.0);
        // First edge: sep_conv_3x3 (op 3) from state 0.
        assert_eq!(&v[..12], &[0., 0., 0., 1., 0., 0., 0., 1., 0., 0., 0., 0.]);
    }
}
