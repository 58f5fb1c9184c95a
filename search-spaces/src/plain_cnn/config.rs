//! Settings of the plain-CNN space: input, kernels, the width ladder that
//! Net2Wider climbs, and the size limits transformations must respect.

use nas_core::{NasError, Result};
use serde::{Deserialize, Serialize};

/// The plain-CNN space's settings (`[space] kind = "plain_cnn"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlainCnnConfig {
    /// Input shape `[channels, height, width]` (from the dataset). Default `[1, 28, 28]`.
    pub input_chw: [usize; 3],
    /// Number of classes (from the dataset). Default 10.
    pub num_classes: usize,
    /// Kernel sizes a convolution may have (odd). Default `[1, 3, 5]`.
    pub kernels: Vec<usize>,
    /// Filter counts a convolution may have, increasing; Net2Wider moves a layer
    /// to the next one. Default `[8, 12, 16, 24, 32, 48, 64, 96, 128]`.
    pub widths: Vec<usize>,
    /// Most convolutions (default 12).
    pub max_convs: usize,
    /// Most pools (default 3; each halves the height and width).
    pub max_pools: usize,
    /// Most trainable parameters (default 300,000): transformations that would
    /// exceed it are masked out.
    pub max_params: usize,
}

impl Default for PlainCnnConfig {
    fn default() -> Self {
        PlainCnnConfig {
            input_chw: [1, 28, 28],
            num_classes: 10,
            kernels: vec![1, 3, 5],
            widths: vec![8, 12, 16, 24, 32, 48, 64, 96, 128],
            max_convs: 12,
            max_pools: 3,
            max_params: 300_000,
        }
    }
}

impl PlainCnnConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        NasError::check_size("num_classes", self.num_classes, 1, 100_000)?;
        for (i, v) in self.input_chw.iter().enumerate() {
            NasError::check_size(&format!("input_chw[{i}]"), *v, 1, 16_384)?;
        }
        NasError::check_size("max_convs", self.max_convs, 1, 256)?;
        NasError::check_size("max_params", self.max_params, 1, 1_000_000_000)?;
        let min_hw = self.input_chw[1].min(self.input_chw[2]);
        let pools_fit = usize::BITS as usize - 1 - min_hw.leading_zeros() as usize;
        NasError::check_size("max_pools", self.max_pools, 0, pools_fit)?;
        let bad = |field: &str, value: String, allowed: &str| NasError::InvalidValue {
            field: field.into(),
            value,
            allowed: allowed.into(),
        };
        if self.kernels.is_empty() || self.kernels.iter().any(|k| k % 2 == 0 || *k > 15) {
            return Err(bad("kernels", format!("{:?}", self.kernels), "a non-empty list of odd sizes up to 15"));
        }
        if self.widths.is_empty() || self.widths.windows(2).any(|w| w[0] >= w[1]) || self.widths[0] == 0 {
            return Err(bad(
                "widths",
                format!("{:?}", self.widths),
                "a non-empty, strictly increasing list of positive filter counts",
            ));
        }
        if self.widths[self.widths.len() - 1] > 4096 {
            return Err(bad("widths", format!("{:?}", self.widths), "filter counts up to 4096"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_values_are_named() {
        PlainCnnConfig::default().validate().expect("valid");
        for (cfg, field) in [
            (PlainCnnConfig { kernels: vec![3, 4], ..Default::default() }, "kernels"),
            (PlainCnnConfig { widths: vec![16, 8], ..Default::default() }, "widths"),
            (PlainCnnConfig { max_pools: 5, ..Default::default() }, "max_pools"),
            (PlainCnnConfig { max_convs: 0, ..Default::default() }, "max_convs"),
        ] {
            assert!(cfg.validate().expect_err(field).to_string().contains(field), "{field}");
        }
        assert!(serde_json::from_str::<PlainCnnConfig>(r#"{"widht": [8]}"#).is_err());
    }
}
