//! Macro-network configuration of the NAS-Bench-201 space.

use nas_core::{NasError, Result};
use serde::{Deserialize, Serialize};

/// The NAS-Bench-201 macro network around the searched cell (the benchmark's
/// `TinyNetwork`): `C` channels in the first stage, `N` cells per stage, the input
/// shape and the class count. Defaults are the benchmark's CIFAR-10 setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Nb201Config {
    /// Channels of the first stage (`C`); stages use C, 2C, 4C. Default 16.
    pub channels: usize,
    /// Cells per stage (`N`). Default 5.
    pub cells_per_stage: usize,
    /// Input shape `[channels, height, width]`. Default `[3, 32, 32]`.
    pub input_chw: [usize; 3],
    /// Number of classes. Default 10.
    pub num_classes: usize,
}

impl Default for Nb201Config {
    fn default() -> Self {
        Nb201Config { channels: 16, cells_per_stage: 5, input_chw: [3, 32, 32], num_classes: 10 }
    }
}

impl Nb201Config {
    /// Checks that every size is within its bounds (positive, and small enough to
    /// build) and that height and width are multiples
    /// of 4 (the two stride-2 reduction blocks need even sizes at each stage).
    pub fn validate(&self) -> Result<()> {
        NasError::check_size("channels", self.channels, 1, 4096)?;
        NasError::check_size("cells_per_stage", self.cells_per_stage, 1, 256)?;
        NasError::check_size("num_classes", self.num_classes, 1, 100000)?;
        NasError::check_size("input_chw[0]", self.input_chw[0], 1, 4096)?;
        NasError::check_size("input_chw[1]", self.input_chw[1], 1, 16384)?;
        NasError::check_size("input_chw[2]", self.input_chw[2], 1, 16384)?;
        for (name, v) in [("input_chw[1]", self.input_chw[1]), ("input_chw[2]", self.input_chw[2])] {
            if v % 4 != 0 {
                return Err(NasError::InvalidValue {
                    field: name.into(),
                    value: v.to_string(),
                    allowed: "a positive multiple of 4 (two stride-2 reductions)".into(),
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
    fn default_is_valid_and_bad_values_are_named() {
        assert!(Nb201Config::default().validate().is_ok());
        let bad = Nb201Config { channels: 0, ..Default::default() };
        assert!(bad.validate().expect_err("zero").to_string().contains("channels"));
        let bad = Nb201Config { input_chw: [3, 30, 32], ..Default::default() };
        assert!(bad.validate().expect_err("odd").to_string().contains("input_chw[1]"));
        let json = serde_json::to_string(&Nb201Config::default()).expect("ser");
        let back: Nb201Config = serde_json::from_str(&json).expect("de");
        assert_eq!(back, Nb201Config::default());
        let partial: Nb201Config = serde_json::from_str(r#"{"channels": 8}"#).expect("de");
        assert_eq!(partial.cells_per_stage, 5);
    }
}
