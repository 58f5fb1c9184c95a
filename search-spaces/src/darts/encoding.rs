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
//! - [`EncodingKind::PathStats`] (2 x (112 + 19) floats): per cell the adjacency +
//!   ops vector, then for each cell input (0, 1) over every path from it through
//!   one or more nodes: the number of paths, the most, fewest and mean parametric
//!   (separable or dilated conv) ops on one, the number of paths without one, the
//!   longest path; then the cell's op histogram (7, op index order).

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

/// Path-statistics floats per cell input: paths, most / fewest / mean parametric
/// ops on a path, paths without parametric ops, longest path.
const STATS_PER_INPUT: usize = 6;

/// Path-statistics part of [`EncodingKind::PathStats`] per cell: two inputs, then
/// the op histogram.
pub const PATH_STATS_CELL_LEN: usize = 2 * STATS_PER_INPUT + NUM_OPS;

fn is_parametric(op: DartsOp) -> bool {
    matches!(op, DartsOp::SepConv3x3 | DartsOp::SepConv5x5 | DartsOp::DilConv3x3 | DartsOp::DilConv5x5)
}

/// Statistics of every path from each cell input through one or more nodes (each
/// node feeds the cell output, so each such walk is an input-to-output path).
fn path_stats(cell: &DartsCell, out: &mut Vec<f32>) {
    // (parametric ops, length) of every path from `state`.
    fn walk(cell: &DartsCell, state: usize, params: usize, len: usize, acc: &mut Vec<(usize, usize)>) {
        for k in 0..NUM_NODES {
            for e in cell.node(k) {
                if e.input == state {
                    let p = params + usize::from(is_parametric(e.op));
                    acc.push((p, len + 1));
                    walk(cell, k + 2, p, len + 1, acc);
                }
            }
        }
    }
    for input in 0..2 {
        let mut acc = Vec::new();
        walk(cell, input, 0, 0, &mut acc);
        let n = acc.len() as f32;
        let most = acc.iter().map(|a| a.0).max().unwrap_or(0) as f32;
        let fewest = acc.iter().map(|a| a.0).min().unwrap_or(0) as f32;
        let mean = if acc.is_empty() { 0.0 } else { acc.iter().map(|a| a.0 as f32).sum::<f32>() / n };
        let pure = acc.iter().filter(|a| a.0 == 0).count() as f32;
        let longest = acc.iter().map(|a| a.1).max().unwrap_or(0) as f32;
        out.extend_from_slice(&[n, most, fewest, mean, pure, longest]);
    }
    let mut histogram = [0.0f32; NUM_OPS];
    for k in 0..NUM_NODES {
        for e in cell.node(k) {
            histogram[e.op.index()] += 1.0;
        }
    }
    out.extend_from_slice(&histogram);
}

impl MultiEncode for DartsSpace {
    fn encodings(&self) -> Vec<EncodingKind> {
        EncodingKind::ALL.to_vec()
    }

    fn encode_with(&self, arch: &Self::Arch, kind: EncodingKind) -> Option<Vec<f32>> {
        match kind {
            EncodingKind::OneHot => return Some(self.encode(arch)),
            EncodingKind::None => return Some(Vec::new()),
            _ => {}
        }
        let mut out = Vec::new();
        for c in CellKind::ALL {
            match kind {
                EncodingKind::AdjacencyOps => adjacency_ops(arch.cell(c), &mut out),
                EncodingKind::PathStats => {
                    adjacency_ops(arch.cell(c), &mut out);
                    path_stats(arch.cell(c), &mut out);
                }
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
    fn darts_v2_normal_cell_path_stats_by_hand() {
        let space = DartsSpace::default();
        let g = DartsGenotype::darts_v2();
        let v = space.encode_with(&g, EncodingKind::PathStats).expect("stats");
        assert_eq!(v.len(), 2 * (ADJACENCY_OPS_CELL_LEN + PATH_STATS_CELL_LEN));
        // Normal cell: n0 = sep3(0), sep3(1); n1 = sep3(0), sep3(1); n2 = sep3(1),
        // skip(0); n3 = skip(0), dil3(n0). From input 0: 0-n0, 0-n0-n3, 0-n1, 0-n2,
        // 0-n3 with 1, 2, 1, 0, 0 parametric ops; from input 1: 1-n0, 1-n0-n3, 1-n1,
        // 1-n2 with 1, 2, 1, 1.
        let s = &v[ADJACENCY_OPS_CELL_LEN..ADJACENCY_OPS_CELL_LEN + PATH_STATS_CELL_LEN];
        let expected: [f32; PATH_STATS_CELL_LEN] =
            [5., 2., 0., 0.8, 2., 2., 4., 2., 1., 1.25, 0., 2., 0., 0., 2., 5., 0., 1., 0.];
        assert_eq!(s, &expected[..]);
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
