//! Feature vectors of architectures: an encoding plus optional free features.
//!
//! "Free" features cost no training: parameters and FLOPs from the layer-level
//! lowering ([`AnalyticalCost`]), and the metrics of cheap evaluators such as a
//! latency table or LUT ([`FeatureConfig::cheap`], filled in by the guided
//! strategies, which hold those evaluators; see [`FeatureConfig::with_extra`]).

use nas_core::{AnalyticalCost, CostModel, EncodingKind, Metric, MultiEncode, ToNetworkSpec};
use serde::{Deserialize, Serialize};

/// A feature that costs no training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FreeFeature {
    /// log10 of the parameter count.
    Params,
    /// log10 of the FLOPs per sample.
    Flops,
}

impl FreeFeature {
    /// Every free feature.
    pub const ALL: [FreeFeature; 2] = [FreeFeature::Params, FreeFeature::Flops];

    /// The name (`params`, `flops`).
    pub fn name(self) -> &'static str {
        match self {
            FreeFeature::Params => "params",
            FreeFeature::Flops => "flops",
        }
    }

    /// Looks a feature up by name.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s.trim())
    }

    fn metric(self) -> Metric {
        match self {
            FreeFeature::Params => Metric::Params,
            FreeFeature::Flops => Metric::Flops,
        }
    }
}

/// Which features a predictor sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureConfig {
    /// The architecture encoding (default `path_stats`).
    pub encoding: EncodingKind,
    /// Free features appended after it (default params and FLOPs).
    pub free: Vec<FreeFeature>,
    /// Metrics of the cheap evaluators (a latency table or LUT, an energy
    /// model...) appended last, as `log10`, e.g. `["latency_ms"]`. Only the
    /// guided strategies, which hold the cheap evaluators, can fill these in;
    /// [`FeatureConfig::features`] leaves them out (default none).
    pub cheap: Vec<Metric>,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig { encoding: EncodingKind::PathStats, free: FreeFeature::ALL.to_vec(), cheap: Vec::new() }
    }
}

impl FeatureConfig {
    /// The encoding and free features of `arch` (not the [`cheap`](Self::cheap)
    /// ones), or `None` when the space lacks the encoding.
    pub fn features<S: MultiEncode + ToNetworkSpec>(&self, space: &S, arch: &S::Arch) -> Option<Vec<f64>> {
        let mut v: Vec<f64> = space.encode_with(arch, self.encoding)?.into_iter().map(f64::from).collect();
        if !self.free.is_empty() {
            let cost = AnalyticalCost.cost(&space.network_spec(arch)).ok()?;
            for f in &self.free {
                v.push(cost.get(&f.metric()).map_or(0.0, |x| x.max(1.0).log10()));
            }
        }
        Some(v)
    }

    /// Appends `log10(max(x, 1e-9))` of each extra value (e.g. cheap latencies).
    pub fn with_extra(mut v: Vec<f64>, extra: &[f64]) -> Vec<f64> {
        v.extend(extra.iter().map(|x| x.max(1e-9).log10()));
        v
    }
}
