//! Macro-network configuration of the DARTS space and the per-cell plan derived
//! from it.

use super::genotype::{CellKind, NUM_NODES};
use nas_core::{NasError, Result};
use serde::{Deserialize, Serialize};

/// The DARTS `NetworkCIFAR` evaluation network (without auxiliary head and
/// drop-path). Defaults are a small search-phase-like setting on CIFAR-10; the
/// published DARTS evaluation network is `channels: 36, layers: 20`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DartsConfig {
    /// Initial cell channels `C`. Default 16.
    pub channels: usize,
    /// Number of cells; reductions at `layers / 3` and `2 * layers / 3`. Default 8.
    pub layers: usize,
    /// Input shape `[channels, height, width]`. Default `[3, 32, 32]`.
    pub input_chw: [usize; 3],
    /// Number of classes. Default 10.
    pub num_classes: usize,
    /// Stem output channels are `stem_multiplier * C`. Default 3.
    pub stem_multiplier: usize,
}

impl Default for DartsConfig {
    fn default() -> Self {
        DartsConfig { channels: 16, layers: 8, input_chw: [3, 32, 32], num_classes: 10, stem_multiplier: 3 }
    }
}

/// The shapes of one cell of the macro network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellPlan {
    /// Normal or reduction cell.
    pub kind: CellKind,
    /// Channels of the cell two back (input state 0).
    pub c_prev_prev: usize,
    /// Channels of the previous cell (input state 1).
    pub c_prev: usize,
    /// Channels of each node of this cell (the output has `4 * c`).
    pub c: usize,
    /// Whether the previous cell reduced (then state 0 is reduced by `FactorizedReduce`).
    pub reduction_prev: bool,
}

impl DartsConfig {
    /// Whether cell `i` is a reduction cell.
    pub fn is_reduction(&self, i: usize) -> bool {
        i == self.layers / 3 || i == 2 * self.layers / 3
    }

    /// Number of reduction cells.
    pub fn num_reductions(&self) -> usize {
        (0..self.layers).filter(|&i| self.is_reduction(i)).count()
    }

    /// Channels of the stem output.
    pub fn stem_channels(&self) -> usize {
        self.stem_multiplier * self.channels
    }

    /// The shapes of every cell, in order (as `NetworkCIFAR.__init__` computes them).
    pub fn plan(&self) -> Vec<CellPlan> {
        let (mut c_pp, mut c_p, mut c) = (self.stem_channels(), self.stem_channels(), self.channels);
        let mut reduction_prev = false;
        let mut out = Vec::with_capacity(self.layers);
        for i in 0..self.layers {
            let reduction = self.is_reduction(i);
            if reduction {
                c *= 2;
            }
            let kind = if reduction { CellKind::Reduce } else { CellKind::Normal };
            out.push(CellPlan { kind, c_prev_prev: c_pp, c_prev: c_p, c, reduction_prev });
            reduction_prev = reduction;
            (c_pp, c_p) = (c_p, NUM_NODES * c);
        }
        out
    }

    /// Channels entering the classifier.
    pub fn final_channels(&self) -> usize {
        self.plan().last().map_or(self.stem_channels(), |p| NUM_NODES * p.c)
    }

    /// Checks that every size is within its bounds (positive, and small enough to
    /// build) and that height and width are divisible
    /// by `2^reductions` (each reduction and `FactorizedReduce` halves an even size).
    pub fn validate(&self) -> Result<()> {
        NasError::check_size("channels", self.channels, 1, 4096)?;
        NasError::check_size("layers", self.layers, 1, 256)?;
        NasError::check_size("num_classes", self.num_classes, 1, 100000)?;
        NasError::check_size("stem_multiplier", self.stem_multiplier, 1, 64)?;
        NasError::check_size("input_chw[0]", self.input_chw[0], 1, 4096)?;
        NasError::check_size("input_chw[1]", self.input_chw[1], 1, 16384)?;
        NasError::check_size("input_chw[2]", self.input_chw[2], 1, 16384)?;
        let factor = 1 << self.num_reductions();
        for (name, v) in [("input_chw[1]", self.input_chw[1]), ("input_chw[2]", self.input_chw[2])] {
            if v % factor != 0 {
                return Err(NasError::InvalidValue {
                    field: name.into(),
                    value: v.to_string(),
                    allowed: format!("a positive multiple of {factor} ({} stride-2 reductions)", self.num_reductions()),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_matches_network_cifar() {
        let cfg = DartsConfig { channels: 36, layers: 20, ..Default::default() };
        let plan = cfg.plan();
        assert_eq!(plan.len(), 20);
        let reductions: Vec<usize> = (0..20).filter(|&i| plan[i].kind == CellKind::Reduce).collect();
        assert_eq!(reductions, [6, 13]);
        assert_eq!((plan[0].c_prev_prev, plan[0].c_prev, plan[0].c), (108, 108, 36));
        assert_eq!((plan[6].c_prev_prev, plan[6].c_prev, plan[6].c), (144, 144, 72));
        assert_eq!((plan[7].c_prev_prev, plan[7].c_prev, plan[7].c, plan[7].reduction_prev), (144, 288, 72, true));
        assert_eq!(cfg.final_channels(), 576);
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn validation_names_the_field() {
        let bad = DartsConfig { layers: 0, ..Default::default() };
        assert!(bad.validate().expect_err("zero").to_string().contains("layers"));
        let bad = DartsConfig { input_chw: [3, 30, 32], ..Default::default() };
        assert!(bad.validate().expect_err("odd").to_string().contains("multiple of 4"));
        let one = DartsConfig { layers: 1, input_chw: [3, 6, 6], ..Default::default() };
        assert_eq!(one.num_reductions(), 1);
        assert!(one.validate().is_ok());
    }
}
