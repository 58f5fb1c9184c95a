//! The DARTS candidate operations.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The eight DARTS primitives in the DARTS repository's order (`PRIMITIVES` in
/// `genotypes.py`). `none` only exists in the supernet: derived genotypes never
/// contain it, so [`DartsOp`] has the other seven.
pub const PRIMITIVES: [&str; 8] = [
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
];

/// An operation of a derived DARTS genotype (every primitive but `none`).
/// [`DartsOp::index`] is the position among these seven, in DARTS order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DartsOp {
    /// 3x3 max pooling, padding 1.
    MaxPool3x3,
    /// 3x3 average pooling, padding 1, padding not counted.
    AvgPool3x3,
    /// Identity, or `FactorizedReduce` when the edge has stride 2.
    SkipConnect,
    /// Separable 3x3 convolution (applied twice).
    SepConv3x3,
    /// Separable 5x5 convolution (applied twice).
    SepConv5x5,
    /// Dilated (rate 2) depthwise-separable 3x3 convolution.
    DilConv3x3,
    /// Dilated (rate 2) depthwise-separable 5x5 convolution.
    DilConv5x5,
}

impl DartsOp {
    /// All ops in index order.
    pub const ALL: [DartsOp; 7] = [
        DartsOp::MaxPool3x3,
        DartsOp::AvgPool3x3,
        DartsOp::SkipConnect,
        DartsOp::SepConv3x3,
        DartsOp::SepConv5x5,
        DartsOp::DilConv3x3,
        DartsOp::DilConv5x5,
    ];

    /// The index among the seven ops (0..7).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The DARTS name (`sep_conv_3x3`, ...).
    pub fn name(self) -> &'static str {
        PRIMITIVES[self.index() + 1]
    }

    /// Looks an op up by its DARTS name (`none` is not an op of a genotype).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// The allowed names, comma-separated (for error messages).
    pub fn allowed_names() -> String {
        Self::ALL.map(DartsOp::name).join(", ")
    }

    /// The kernel size of a convolution op.
    pub fn conv_kernel(self) -> Option<usize> {
        match self {
            DartsOp::SepConv3x3 | DartsOp::DilConv3x3 => Some(3),
            DartsOp::SepConv5x5 | DartsOp::DilConv5x5 => Some(5),
            _ => None,
        }
    }
}

impl fmt::Display for DartsOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_darts_order() {
        for (i, op) in DartsOp::ALL.iter().enumerate() {
            assert_eq!(op.index(), i);
            assert_eq!(op.name(), PRIMITIVES[i + 1]);
            assert_eq!(DartsOp::from_name(op.name()), Some(*op));
        }
        assert_eq!(DartsOp::from_name("none"), None);
        assert!(!DartsOp::allowed_names().contains("none"));
    }
}
