//! The DARTS genotype: a normal and a reduction cell of four intermediate nodes.

use super::ops::DartsOp;
use nas_core::{Architecture, NasError, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Intermediate nodes per cell.
pub const NUM_NODES: usize = 4;

/// Inputs per intermediate node.
pub const INPUTS_PER_NODE: usize = 2;

/// `(op, input)` pairs per cell.
pub const EDGES_PER_CELL: usize = NUM_NODES * INPUTS_PER_NODE;

/// The states concatenated into a cell's output (`[2, 3, 4, 5]`: all intermediate nodes).
pub const CONCAT: [usize; NUM_NODES] = [2, 3, 4, 5];

/// One input of an intermediate node: `op` applied to state `input`
/// (0 and 1 are the two previous cells' outputs, `2 + k` is node `k`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DartsEdge {
    /// The operation.
    pub op: DartsOp,
    /// The input state.
    pub input: usize,
}

impl DartsEdge {
    /// An edge applying `op` to state `input`.
    pub fn new(op: DartsOp, input: usize) -> Self {
        DartsEdge { op, input }
    }
}

/// One cell: node `k` (0..4) sums two edges from two *distinct* states among
/// `0..k+2`.
///
/// The two inputs of a node are an unordered pair, so a cell is kept in canonical
/// form: each node's two edges sorted by input state. Equal networks therefore
/// have equal values and notations (DARTS prints a node's edges in the order of
/// its derivation, so a published genotype may list them the other way round).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Vec<DartsEdge>", into = "Vec<DartsEdge>")]
pub struct DartsCell {
    edges: [DartsEdge; EDGES_PER_CELL],
}

impl DartsCell {
    /// Validates the edges (node `k` = edges `2k`, `2k + 1`) and puts them in
    /// canonical order. Errors with [`NasError::InvalidArchitecture`].
    pub fn new(edges: [DartsEdge; EDGES_PER_CELL]) -> Result<Self> {
        Self::check(edges).map_err(|reason| NasError::InvalidArchitecture {
            space: "darts".into(),
            notation: format_edges(&edges),
            reason,
        })
    }

    /// Validation and canonicalisation with a plain reason on failure.
    pub(crate) fn check(mut edges: [DartsEdge; EDGES_PER_CELL]) -> std::result::Result<Self, String> {
        for k in 0..NUM_NODES {
            let pair = &mut edges[INPUTS_PER_NODE * k..INPUTS_PER_NODE * (k + 1)];
            for e in pair.iter() {
                if e.input >= k + 2 {
                    return Err(format!(
                        "node {} (state {}) reads state {}, but only states 0..={} precede it",
                        k,
                        k + 2,
                        e.input,
                        k + 1
                    ));
                }
            }
            if pair[0].input == pair[1].input {
                return Err(format!(
                    "the two inputs of node {} (state {}) must be distinct states, both are {}",
                    k,
                    k + 2,
                    pair[0].input
                ));
            }
            pair.sort_by_key(|e| e.input);
        }
        Ok(DartsCell { edges })
    }

    /// The eight edges in canonical order (node `k` = edges `2k`, `2k + 1`).
    pub fn edges(&self) -> &[DartsEdge; EDGES_PER_CELL] {
        &self.edges
    }

    /// The two edges of node `k` (panics if `k >= 4`), lower input first.
    pub fn node(&self, k: usize) -> [DartsEdge; INPUTS_PER_NODE] {
        [self.edges[2 * k], self.edges[2 * k + 1]]
    }

    /// A copy with node `k`'s edges replaced (validated and canonicalised).
    pub fn with_node(&self, k: usize, node: [DartsEdge; INPUTS_PER_NODE]) -> Result<Self> {
        let mut edges = self.edges;
        edges[2 * k] = node[0];
        edges[2 * k + 1] = node[1];
        Self::new(edges)
    }
}

impl TryFrom<Vec<DartsEdge>> for DartsCell {
    type Error = NasError;

    fn try_from(v: Vec<DartsEdge>) -> Result<Self> {
        let n = v.len();
        let edges: [DartsEdge; EDGES_PER_CELL] = v.try_into().map_err(|_| NasError::InvalidArchitecture {
            space: "darts".into(),
            notation: String::new(),
            reason: format!("a cell has {EDGES_PER_CELL} edges, got {n}"),
        })?;
        Self::new(edges)
    }
}

impl From<DartsCell> for Vec<DartsEdge> {
    fn from(c: DartsCell) -> Self {
        c.edges.to_vec()
    }
}

/// The two kinds of cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// Keeps resolution and channels.
    Normal,
    /// Halves resolution (edges from the cell inputs have stride 2) and doubles channels.
    Reduce,
}

impl CellKind {
    /// Both kinds, normal first.
    pub const ALL: [CellKind; 2] = [CellKind::Normal, CellKind::Reduce];

    /// The DARTS field name (`normal` / `reduce`).
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Normal => "normal",
            CellKind::Reduce => "reduce",
        }
    }
}

/// A DARTS genotype. Its notation is the DARTS `Genotype` repr with each node's
/// edges in canonical order and the concatenations written as lists:
///
/// ```text
/// Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DartsGenotype {
    /// The normal cell.
    pub normal: DartsCell,
    /// The reduction cell.
    pub reduce: DartsCell,
}

impl DartsGenotype {
    /// A genotype from its two cells.
    pub fn new(normal: DartsCell, reduce: DartsCell) -> Self {
        DartsGenotype { normal, reduce }
    }

    /// The cell of the given kind.
    pub fn cell(&self, kind: CellKind) -> &DartsCell {
        match kind {
            CellKind::Normal => &self.normal,
            CellKind::Reduce => &self.reduce,
        }
    }

    /// A copy with the cell of the given kind replaced.
    pub fn with_cell(mut self, kind: CellKind, cell: DartsCell) -> Self {
        match kind {
            CellKind::Normal => self.normal = cell,
            CellKind::Reduce => self.reduce = cell,
        }
        self
    }

    /// Parses a DARTS `Genotype(...)` repr (see [`crate::darts::notation`]).
    pub fn parse(notation: &str) -> Result<Self> {
        super::notation::parse_genotype(notation)
    }
}

/// `[('op', i), ...]` with Python's repr spacing.
pub(crate) fn format_edges(edges: &[DartsEdge]) -> String {
    let mut s = String::from("[");
    for (i, e) in edges.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        write!(s, "('{}', {})", e.op.name(), e.input).expect("writing to a String cannot fail");
    }
    s.push(']');
    s
}

impl Architecture for DartsGenotype {
    fn notation(&self) -> String {
        let concat = "[2, 3, 4, 5]";
        format!(
            "Genotype(normal={}, normal_concat={concat}, reduce={}, reduce_concat={concat})",
            format_edges(self.normal.edges()),
            format_edges(self.reduce.edges())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(pairs: [(DartsOp, usize); 8]) -> Result<DartsCell> {
        DartsCell::new(pairs.map(|(op, i)| DartsEdge::new(op, i)))
    }

    #[test]
    fn canonical_order_sorts_each_node_by_input() {
        use DartsOp::*;
        let a = cell([
            (SepConv3x3, 1),
            (MaxPool3x3, 0),
            (SkipConnect, 2),
            (SepConv5x5, 0),
            (DilConv3x3, 3),
            (AvgPool3x3, 1),
            (SkipConnect, 0),
            (DilConv5x5, 4),
        ])
        .expect("valid");
        let inputs: Vec<usize> = a.edges().iter().map(|e| e.input).collect();
        assert_eq!(inputs, [0, 1, 0, 2, 1, 3, 0, 4]);
        assert_eq!(a.node(0), [DartsEdge::new(MaxPool3x3, 0), DartsEdge::new(SepConv3x3, 1)]);
    }

    #[test]
    fn rejects_bad_inputs() {
        use DartsOp::*;
        let mut pairs = [(SkipConnect, 0), (SkipConnect, 1)].repeat(4);
        pairs[3] = (SkipConnect, 0); // node 1: inputs 0 and 0
        let arr: [(DartsOp, usize); 8] = pairs.clone().try_into().expect("8");
        let msg = cell(arr).expect_err("duplicate").to_string();
        assert!(msg.contains("distinct"), "{msg}");
        pairs[3] = (SkipConnect, 2); // node 1 may read state 2 (node 0)...
        let arr: [(DartsOp, usize); 8] = pairs.clone().try_into().expect("8");
        assert!(cell(arr).is_ok());
        pairs[1] = (SkipConnect, 2); // ...but node 0 may not.
        let arr: [(DartsOp, usize); 8] = pairs.try_into().expect("8");
        let msg = cell(arr).expect_err("range").to_string();
        assert!(msg.contains("node 0"), "{msg}");
    }

    #[test]
    fn serde_round_trip_validates() {
        use DartsOp::*;
        let c = cell([
            (SepConv3x3, 0),
            (SepConv3x3, 1),
            (SepConv3x3, 0),
            (SepConv3x3, 1),
            (SepConv3x3, 1),
            (SkipConnect, 0),
            (SkipConnect, 0),
            (DilConv3x3, 2),
        ])
        .expect("valid");
        let g = DartsGenotype::new(c, c);
        let json = serde_json::to_string(&g).expect("ser");
        let back: DartsGenotype = serde_json::from_str(&json).expect("de");
        assert_eq!(back, g);
        let bad = json.replacen("\"input\":0", "\"input\":1", 1);
        assert!(serde_json::from_str::<DartsGenotype>(&bad).is_err());
    }
}
