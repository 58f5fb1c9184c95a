//! The five NAS-Bench-201 edge operations.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One NAS-Bench-201 edge operation. The discriminant is the op index used by the
/// benchmark (`none` = 0 ... `avg_pool_3x3` = 4) and by [`Nb201Op::index`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nb201Op {
    /// `none`: the zero operation; the edge contributes nothing.
    None,
    /// `skip_connect`: identity.
    SkipConnect,
    /// `nor_conv_1x1`: ReLU -> 1x1 conv -> BN.
    NorConv1x1,
    /// `nor_conv_3x3`: ReLU -> 3x3 conv -> BN.
    NorConv3x3,
    /// `avg_pool_3x3`: 3x3 average pooling, stride 1, padding 1, padding not counted.
    AvgPool3x3,
}

impl Nb201Op {
    /// All ops in index order.
    pub const ALL: [Nb201Op; 5] =
        [Nb201Op::None, Nb201Op::SkipConnect, Nb201Op::NorConv1x1, Nb201Op::NorConv3x3, Nb201Op::AvgPool3x3];

    /// The op names in index order, as the benchmark spells them.
    pub const NAMES: [&'static str; 5] = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"];

    /// The op index (0..5).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The op with index `i`, if `i < 5`.
    pub fn from_index(i: usize) -> Option<Self> {
        Self::ALL.get(i).copied()
    }

    /// The benchmark name (`nor_conv_3x3`, ...).
    pub fn name(self) -> &'static str {
        Self::NAMES[self.index()]
    }

    /// Looks an op up by its benchmark name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES.iter().position(|n| *n == name).and_then(Self::from_index)
    }

    /// The convolution kernel of a `nor_conv_kxk` op.
    pub fn conv_kernel(self) -> Option<usize> {
        match self {
            Nb201Op::NorConv1x1 => Some(1),
            Nb201Op::NorConv3x3 => Some(3),
            _ => None,
        }
    }
}

impl fmt::Display for Nb201Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_indices_agree() {
        for (i, op) in Nb201Op::ALL.iter().enumerate() {
            assert_eq!(op.index(), i);
            assert_eq!(Nb201Op::from_name(op.name()), Some(*op));
            assert_eq!(Nb201Op::from_index(i), Some(*op));
        }
        assert_eq!(Nb201Op::from_name("conv_3x3"), None);
        assert_eq!(Nb201Op::from_index(5), None);
    }
}
