//! The DARTS encodings of [`MultiEncode`]: one-hot, adjacency + ops, path.
//!
//! Every encoding is the normal cell's vector followed by the reduction cell's.
//! States 0 and 1 are the cell inputs, state `k + 2` is node `k`.
//!
//! - [`EncodingKind::OneHot`] (192 floats): the [`Encode`] encoding.
//! - [`EncodingKind::AdjacencyOps`] (2 x 112 floats): per cell, for each of the 14
//!   possible arcs `state i -> node k` (`i < k + 2`, node-major, inputs in order),
//!   an adjacency bit followed by the one-hot op of that arc (7, all zero when the
//!   arc is absent): 14 x (1 + 7) = 112.
//! - [`EncodingKind::Path`] (2 x 798 floats): per cell and per cell input (0 or 1),
//!   how many paths from that input through 1 to 3 nodes carry each op sequence
//!   (7 + 49 + 343 = 399 sequences, mixed-radix order of the op indices). Every
//!   node feeds the cell output, so every such path reaches it; paths through all
//!   four nodes are truncated to their first three ops, as in BANANAS' truncated
//!   path encoding.

use super::genotype::{CellKind, DartsCell, NUM_NODES};
use super::ops::DartsOp;
use super::space::DartsSpace;
use nas_core::{Encode, EncodingKind, MultiEncode};

const NUM_OPS: usize = DartsOp::ALL.len();

/// Arcs per cell: 2 + 3 + 4 + 5.
const ARCS: usize = 14;

/// Adjacency + ops floats per cell.
pub const ADJACENCY_OPS_CELL_LEN: usize = ARCS * (1 + NUM_OPS);

/// Op sequences of length 1..=3.
const SEQS: usize = NUM_OPS + NUM_OPS * NUM_OPS + NUM_OPS * NUM_OPS * NUM_OPS;

/// Path floats per cell: two inputs x 399 sequences.
pub const PATH_CELL_LEN: usize = 2 * SEQS;

fn arc_index(input: usize, node: usize) -> usize {
    // Nodes before `node` have 2 + 3 + ... arcs.
    (0..node).map(|k| k + 2).sum::<usize>() + input
}

fn adjacency_ops(cell: &DartsCell, out: &mut Vec<f32>) {
    let mut v = vec![0.0f32; ADJACENCY_OPS_CELL_LEN];
    for k in 0..NUM_NODES {
        for e in cell.node(k) {
            let base = arc_index(e.input, k) * (1 + NUM_OPS);
            v[base] = 1.0;
            v[base + 1 + e.op.index()] = 1.0;
        }
    }
    out.extend(v);
}

fn seq_index(ops: &[usize]) -> usize {
    let offset = match ops.len() {
        1 => 0,
        2 => NUM_OPS,
        _ => NUM_OPS + NUM_OPS * NUM_OPS,
    };
    offset + ops.iter().fold(0, |acc, &o| acc * NUM_OPS + o)
}

fn paths(cell: &DartsCell, out: &mut Vec<f32>) {
    let mut v = vec![0.0f32; PATH_CELL_LEN];
    // Depth-first from each cell input along arcs into later nodes.
    fn walk(cell: &DartsCell, state: usize, seq: &mut Vec<usize>, input: usize, v: &mut [f32]) {
        for k in 0..NUM_NODES {
            for e in cell.node(k) {
                if e.input != state {
                    continue;
                }
                seq.push(e.op.index());
                if seq.len() <= 3 {
                    v[input * SEQS + seq_index(seq)] += 1.0;
                    walk(cell, k + 2, seq, input, v);
                }
                seq.pop();
            }
        }
    }
    for input in 0..2 {
        walk(cell, input, &mut Vec::new(), input, &mut v);
    }
    out.extend(v);
}

impl MultiEncode for DartsSpace {
    fn encodings(&self) -> Vec<EncodingKind> {
        EncodingKind::ALL.to_vec()
    }

    fn encode_with(&self, arch: &Self::Arch, kind: EncodingKind) -> Option<Vec<f32>> {
        if kind == EncodingKind::OneHot {
            return Some(self.encode(arch));
        }
        let mut out = Vec::new();
        for c in CellKind::ALL {
            match kind {
                EncodingKind::AdjacencyOps => adjacency_ops(arch.cell(c), &mut out),
                _ => paths(arch.cell(c), &mut out),
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::darts::DartsGenotype;
    use nas_core::SearchSpace;
    use rand::SeedableRng;

    #[test]
    fn lengths_and_counts() {
        let space = DartsSpace::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..50 {
            let g = space.sample(&mut rng);
            let adj = space.encode_with(&g, EncodingKind::AdjacencyOps).expect("adj");
            assert_eq!(adj.len(), 2 * ADJACENCY_OPS_CELL_LEN);
            // 8 arcs per cell, each an adjacency bit and an op bit.
            assert_eq!(adj.iter().sum::<f32>(), 32.0);
            let p = space.encode_with(&g, EncodingKind::Path).expect("path");
            assert_eq!(p.len(), 2 * PATH_CELL_LEN);
            // Length-1 paths: the arcs leaving states 0 and 1.
            let ones: f32 = (0..2)
                .flat_map(|c| (0..2).map(move |i| c * PATH_CELL_LEN + i * SEQS))
                .map(|b| p[b..b + NUM_OPS].iter().sum::<f32>())
                .sum();
            let from_inputs =
                CellKind::ALL.iter().flat_map(|&c| g.cell(c).edges().to_vec()).filter(|e| e.input < 2).count();
            assert_eq!(ones as usize, from_inputs);
        }
    }

    #[test]
    fn darts_v2_first_paths() {
        let space = DartsSpace::default();
        let g = DartsGenotype::darts_v2();
        let p = space.encode_with(&g, EncodingKind::Path).expect("path");
        // Normal cell node 0 = sep_conv_3x3 from 0 and from 1: one length-1 path
        // `sep_conv_3x3` from each input.
        let sep3 = DartsOp::SepConv3x3.index();
        assert!(p[sep3] >= 1.0);
        assert!(p[SEQS + sep3] >= 1.0);
    }
}
