//! The plain-CNN architecture: a stack of conv–BN–ReLU layers, some followed by
//! a 2x2 max pool, then global average pooling and a linear classifier (no skip
//! connections, as EAS's plain CNNs).
//!
//! Notation: the layers joined by `-`, `c<kernel>x<filters>` for a convolution
//! and `p` for a pool after the convolution before it: `c3x16-c3x16-p-c5x32-p`.

use nas_core::{Architecture, NasError, Result};
use serde::{Deserialize, Serialize};

/// One convolution of the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConvLayer {
    /// Square kernel size (odd; "same" padding `kernel / 2`, stride 1).
    pub kernel: usize,
    /// Output channels.
    pub filters: usize,
    /// A 2x2 / 2 max pool follows.
    pub pool: bool,
}

/// A plain CNN: its convolutions in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlainCnnArch {
    /// The convolutions (at least one).
    pub convs: Vec<ConvLayer>,
}

impl Architecture for PlainCnnArch {
    fn notation(&self) -> String {
        let mut parts = Vec::new();
        for c in &self.convs {
            parts.push(format!("c{}x{}", c.kernel, c.filters));
            if c.pool {
                parts.push("p".to_string());
            }
        }
        parts.join("-")
    }
}

impl PlainCnnArch {
    /// Parses the notation (shape only; the space checks its limits).
    pub fn parse(notation: &str) -> Result<Self> {
        let bad = |reason: String| NasError::Parse { space: "plain_cnn".into(), input: notation.into(), reason };
        let mut convs: Vec<ConvLayer> = Vec::new();
        for token in notation.trim().split('-') {
            let token = token.trim();
            if token == "p" {
                match convs.last_mut() {
                    Some(c) if !c.pool => c.pool = true,
                    Some(_) => return Err(bad("two pools in a row; a pool follows a convolution".into())),
                    None => return Err(bad("the network starts with a pool; it starts with a convolution".into())),
                }
                continue;
            }
            let Some(rest) = token.strip_prefix('c') else {
                return Err(bad(format!("`{token}` is neither `c<kernel>x<filters>` nor `p`")));
            };
            let (k, f) =
                rest.split_once('x').ok_or_else(|| bad(format!("`{token}`: expected `c<kernel>x<filters>`")))?;
            let kernel: usize = k.parse().map_err(|_| bad(format!("`{token}`: kernel `{k}` is not an integer")))?;
            let filters: usize = f.parse().map_err(|_| bad(format!("`{token}`: filters `{f}` is not an integer")))?;
            convs.push(ConvLayer { kernel, filters, pool: false });
        }
        if convs.is_empty() {
            return Err(bad("no convolution".into()));
        }
        Ok(PlainCnnArch { convs })
    }

    /// Number of pools.
    pub fn pools(&self) -> usize {
        self.convs.iter().filter(|c| c.pool).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notation_round_trips_and_bad_input_is_named() {
        let n = "c3x16-c3x16-p-c5x32-p";
        let a = PlainCnnArch::parse(n).expect("parses");
        assert_eq!(a.convs.len(), 3);
        assert_eq!(a.pools(), 2);
        assert_eq!(a.notation(), n);
        for bad in ["p-c3x8", "c3x8-p-p", "c3x8-q", "c3-x8", "cAx8", ""] {
            assert!(PlainCnnArch::parse(bad).is_err(), "{bad}");
        }
    }
}
