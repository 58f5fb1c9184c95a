//! The DARTS genotype as categorical decisions, in ENAS's order: for each cell
//! (group `normal`, then `reduce`) and each node `k`, its first input (one of
//! the `k + 2` preceding states), that edge's op, its second input (one of the
//! `k + 1` states left), that edge's op. The second input is an index among the
//! states other than the first, so every sequence is a valid genotype; the two
//! orders of a node's inputs give the same (canonical) genotype.

use super::genotype::{EDGES_PER_CELL, NUM_NODES};
use super::{CellKind, DartsCell, DartsEdge, DartsGenotype, DartsOp, DartsSpace};
use nas_core::decisions::{Decision, Decisions, check_choices};

/// Decisions per node: input a, op a, input b, op b.
const PER_NODE: usize = 4;

/// The label of state `s` as a node input.
fn state_label(s: usize) -> String {
    match s {
        0 => "c_{k-2}".to_string(),
        1 => "c_{k-1}".to_string(),
        n => format!("node {}", n - 2),
    }
}

fn cell_of(choices: &[usize]) -> nas_core::Result<DartsCell> {
    let mut edges = [DartsEdge::new(DartsOp::SkipConnect, 0); EDGES_PER_CELL];
    for k in 0..NUM_NODES {
        let c = &choices[PER_NODE * k..PER_NODE * (k + 1)];
        let a = c[0];
        let b = c[2] + usize::from(c[2] >= a);
        edges[2 * k] = DartsEdge::new(DartsOp::ALL[c[1]], a);
        edges[2 * k + 1] = DartsEdge::new(DartsOp::ALL[c[3]], b);
    }
    DartsCell::new(edges)
}

impl Decisions for DartsSpace {
    fn decisions(&self) -> Vec<Decision> {
        let ops: Vec<String> = DartsOp::ALL.iter().map(|o| o.name().to_string()).collect();
        let mut out = Vec::with_capacity(2 * NUM_NODES * PER_NODE);
        for kind in CellKind::ALL {
            let cell = kind.name();
            for k in 0..NUM_NODES {
                let states: Vec<String> = (0..k + 2).map(state_label).collect();
                let others: Vec<String> = (0..k + 1).map(|i| format!("other state {i}")).collect();
                out.push(Decision::new(format!("{cell} node {k} input a"), states, cell));
                out.push(Decision::new(format!("{cell} node {k} op a"), ops.clone(), cell));
                out.push(Decision::new(format!("{cell} node {k} input b"), others, cell));
                out.push(Decision::new(format!("{cell} node {k} op b"), ops.clone(), cell));
            }
        }
        out
    }

    fn arch_from_decisions(&self, choices: &[usize]) -> nas_core::Result<DartsGenotype> {
        check_choices("darts", &self.decisions(), choices)?;
        let half = NUM_NODES * PER_NODE;
        Ok(DartsGenotype::new(cell_of(&choices[..half])?, cell_of(&choices[half..])?))
    }

    fn decisions_of(&self, arch: &DartsGenotype) -> Vec<usize> {
        let mut out = Vec::with_capacity(2 * NUM_NODES * PER_NODE);
        for kind in CellKind::ALL {
            let cell = arch.cell(kind);
            for k in 0..NUM_NODES {
                let [e0, e1] = cell.node(k);
                let b = if e1.input > e0.input { e1.input - 1 } else { e1.input };
                out.extend([e0.input, e0.op.index(), b, e1.op.index()]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::darts::{DARTS_V2, DartsConfig};
    use nas_core::SearchSpace;
    use rand::SeedableRng;

    #[test]
    fn genotypes_round_trip_and_every_sequence_is_valid() {
        let space = DartsSpace::new(DartsConfig::default()).expect("space");
        let d = space.decisions();
        assert_eq!(d.len(), 32);
        assert_eq!(d[0].arity(), 2);
        assert_eq!(d[2].arity(), 1);
        assert_eq!(d[12].name, "normal node 3 input a");
        assert_eq!(d[12].arity(), 5);
        assert_eq!(d[14].arity(), 4);
        assert_eq!(d[16].group, "reduce");
        let v2 = DartsGenotype::parse(DARTS_V2).expect("parses");
        assert_eq!(space.arch_from_decisions(&space.decisions_of(&v2)).expect("valid"), v2);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..200 {
            let a = space.sample(&mut rng);
            assert_eq!(space.arch_from_decisions(&space.decisions_of(&a)).expect("valid"), a);
            // A random in-range sequence is a valid genotype.
            let seq: Vec<usize> = d.iter().map(|x| rand::Rng::random_range(&mut rng, 0..x.arity())).collect();
            let g = space.arch_from_decisions(&seq).expect("every sequence is valid");
            space.validate(&g).expect("in the space");
        }
        // Node 0's inputs in either order give one genotype.
        let mut s1 = space.decisions_of(&v2);
        let mut s2 = s1.clone();
        (s1[0], s1[1], s1[2], s1[3]) = (0, 3, 0, 4);
        (s2[0], s2[1], s2[2], s2[3]) = (1, 4, 0, 3);
        assert_eq!(space.arch_from_decisions(&s1).expect("ok"), space.arch_from_decisions(&s2).expect("ok"));
    }
}
