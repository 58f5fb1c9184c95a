//! The NAS-Bench-201 cell genotype and its standard string notation.

use super::ops::Nb201Op;
use nas_core::{Architecture, NasError, Result};
use serde::{Deserialize, Serialize};

/// Number of edges of the cell.
pub const NUM_EDGES: usize = 6;

/// Number of nodes of the cell (node 0 is the input, node 3 the output).
pub const NUM_NODES: usize = 4;

/// The edges as `(to, from)` node pairs, in notation order:
/// `1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2`.
pub const EDGES: [(usize, usize); NUM_EDGES] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

/// A NAS-Bench-201 cell: one [`Nb201Op`] per edge of [`EDGES`].
///
/// Its notation is the benchmark's string, for example
/// `|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|`
/// (node groups separated by `+`, each edge written `op~from`). Every one of the
/// 5^6 = 15,625 op assignments is a distinct member of the space (no two share a
/// notation), as in the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Nb201Arch {
    ops: [Nb201Op; NUM_EDGES],
}

impl Nb201Arch {
    /// A cell with the given op per edge (in [`EDGES`] order).
    pub fn new(ops: [Nb201Op; NUM_EDGES]) -> Self {
        Nb201Arch { ops }
    }

    /// A cell with the same op on every edge.
    pub fn uniform(op: Nb201Op) -> Self {
        Nb201Arch { ops: [op; NUM_EDGES] }
    }

    /// The op per edge, in [`EDGES`] order.
    pub fn ops(&self) -> [Nb201Op; NUM_EDGES] {
        self.ops
    }

    /// The op on edge `edge` (panics if `edge >= 6`).
    pub fn op(&self, edge: usize) -> Nb201Op {
        self.ops[edge]
    }

    /// A copy with edge `edge` set to `op` (panics if `edge >= 6`).
    pub fn with_op(mut self, edge: usize, op: Nb201Op) -> Self {
        self.ops[edge] = op;
        self
    }

    /// Parses the benchmark string (surrounding whitespace is ignored).
    ///
    /// Errors name the offending token and list the allowed op names.
    pub fn parse(notation: &str) -> Result<Self> {
        let err = |reason: String| NasError::Parse { space: "nb201".into(), input: notation.to_string(), reason };
        let groups: Vec<&str> = notation.trim().split('+').collect();
        if groups.len() != NUM_NODES - 1 {
            return Err(err(format!(
                "expected {} node groups separated by `+`, found {}",
                NUM_NODES - 1,
                groups.len()
            )));
        }
        let mut ops = [Nb201Op::None; NUM_EDGES];
        let mut edge = 0;
        for (g, group) in groups.iter().enumerate() {
            let node = g + 1;
            let inner = group
                .strip_prefix('|')
                .and_then(|s| s.strip_suffix('|'))
                .ok_or_else(|| err(format!("node group `{group}` must start and end with `|`")))?;
            let tokens: Vec<&str> = inner.split('|').collect();
            if tokens.len() != node {
                return Err(err(format!(
                    "node {node} group `{group}` must have {node} edge(s) `op~input`, found {}",
                    tokens.len()
                )));
            }
            for (from, token) in tokens.iter().enumerate() {
                let (name, input) = token
                    .split_once('~')
                    .ok_or_else(|| err(format!("edge `{token}` is not of the form `op~input`")))?;
                let op = Nb201Op::from_name(name).ok_or_else(|| {
                    err(format!("unknown op `{name}` in edge `{token}`; allowed: {}", Nb201Op::NAMES.join(", ")))
                })?;
                if input != from.to_string() {
                    return Err(err(format!(
                        "edge `{token}` of node {node} must read from node {from}, not `{input}`"
                    )));
                }
                ops[edge] = op;
                edge += 1;
            }
        }
        Ok(Nb201Arch { ops })
    }
}

impl Architecture for Nb201Arch {
    fn notation(&self) -> String {
        let mut s = String::with_capacity(100);
        for (e, &(to, from)) in EDGES.iter().enumerate() {
            if from == 0 && to > 1 {
                s.push('+');
            }
            s.push('|');
            s.push_str(self.ops[e].name());
            s.push('~');
            s.push_str(&from.to_string());
            if from + 1 == to {
                s.push('|');
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEST: &str =
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";

    #[test]
    fn parses_and_formats_the_standard_string() {
        let a = Nb201Arch::parse(BEST).expect("valid");
        use Nb201Op::*;
        assert_eq!(a.ops(), [NorConv3x3, NorConv3x3, AvgPool3x3, SkipConnect, NorConv3x3, SkipConnect]);
        assert_eq!(a.notation(), BEST);
        assert_eq!(Nb201Arch::parse(&format!("  {BEST}\n")).expect("trimmed"), a);
        assert_eq!(Nb201Arch::uniform(None).notation(), "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
    }

    #[test]
    fn parse_errors_name_the_token_and_allowed_ops() {
        let bad = BEST.replace("avg_pool_3x3", "max_pool_3x3");
        let msg = Nb201Arch::parse(&bad).expect_err("unknown op").to_string();
        assert!(msg.contains("`max_pool_3x3`"), "{msg}");
        assert!(msg.contains("none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"), "{msg}");

        let msg = Nb201Arch::parse(&BEST.replace("skip_connect~2", "skip_connect~1")).expect_err("input").to_string();
        assert!(msg.contains("skip_connect~1"), "{msg}");

        for bad in [
            "",
            "|nor_conv_3x3~0|",
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|+|none~0|none~1|none~2|",
            "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2",
            "|nor_conv_3x3|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|",
        ] {
            assert!(Nb201Arch::parse(bad).is_err(), "accepted `{bad}`");
        }
    }
}
