//! Graph analysis of NAS-Bench-201 cells: op histograms and the ops that are
//! alive (whose output reaches the cell output).
//!
//! Used by few-shot latency transfer to group cells that should cost the same on
//! a device: runtimes such as TFLite drop ops whose output is never used, so two
//! cells with the same live ops take the same time there.

use super::genotype::{EDGES, NUM_NODES, Nb201Arch};
use super::ops::Nb201Op;

/// How many edges carry each op, in [`Nb201Op::ALL`] order.
pub fn op_histogram(arch: &Nb201Arch) -> [usize; 5] {
    let mut h = [0; 5];
    for op in arch.ops() {
        h[op.index()] += 1;
    }
    h
}

/// The cell with every dead op replaced by `none`: an op is alive when its edge
/// ends at a node whose value reaches the output through non-`none` edges (and
/// the input reaches the output at all; a cell whose output is cut off from the
/// input has no live op).
pub fn live_ops(arch: &Nb201Arch) -> Nb201Arch {
    let ops = arch.ops();
    // Nodes whose value reaches the output (node 3) through non-`none` edges;
    // edges are listed in order of their target node, so visit them backwards.
    let mut reaches = [false; NUM_NODES];
    reaches[NUM_NODES - 1] = true;
    for (e, &(to, from)) in EDGES.iter().enumerate().rev() {
        if reaches[to] && ops[e] != Nb201Op::None {
            reaches[from] = true;
        }
    }
    let mut live = ops;
    for (e, &(to, _)) in EDGES.iter().enumerate() {
        if !(reaches[0] && reaches[to]) {
            live[e] = Nb201Op::None;
        }
    }
    Nb201Arch::new(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(s: &str) -> Nb201Arch {
        Nb201Arch::parse(s).expect("valid cell")
    }

    #[test]
    fn histograms_and_live_ops_by_hand() {
        let a = cell("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|");
        assert_eq!(op_histogram(&a), [3, 1, 1, 1, 0]);
        // 0 -> 1 -> 2 -> 3 is a path: everything on it is alive.
        assert_eq!(live_ops(&a), a);
        // Node 1 feeds nothing that reaches the output: its conv is dead.
        let b = cell("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|skip_connect~2|");
        assert_eq!(live_ops(&b), cell("|none~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|skip_connect~2|"));
        // The output is cut off from the input: nothing is alive.
        let c = cell("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|");
        assert_eq!(op_histogram(&live_ops(&c)), [6, 0, 0, 0, 0]);
    }
}
