//! Feature vectors of architectures: an encoding plus optional free features.
//!
//! "Free" features cost no training: parameters and FLOPs from the layer-level
//! lowering ([`AnalyticalCost`]), [layer features](crate::layer_features) (per
//! layer kind: count, FLOPs, activation bytes), and the metrics of cheap evaluators such as a
//! latency table or LUT ([`FeatureConfig::cheap`], filled in by the guided
//! strategies, which hold those evaluators; see [`FeatureConfig::with_extra`]).

use crate::layer_features::layer_features;
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
    /// The [layer features](crate::layer_features::layer_features) of the
    /// network: per layer kind, the count, MFLOPs and activation megabytes
    /// ([`LAYER_FEATURES_LEN`](crate::layer_features::LAYER_FEATURES_LEN) values).
    Layers,
}

impl FreeFeature {
    /// Every free feature.
    pub const ALL: [FreeFeature; 3] = [FreeFeature::Params, FreeFeature::Flops, FreeFeature::Layers];

    /// The one-number free features (log10 params and FLOPs): the default, and
    /// the targets of FBNetV3-style pretraining.
    pub const SCALAR: [FreeFeature; 2] = [FreeFeature::Params, FreeFeature::Flops];

    /// The name (`params`, `flops`, `layers`).
    pub fn name(self) -> &'static str {
        match self {
            FreeFeature::Params => "params",
            FreeFeature::Flops => "flops",
            FreeFeature::Layers => "layers",
        }
    }

    /// Every name, comma-separated (for error messages).
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }

    /// Looks a feature up by name.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s.trim())
    }

    fn metric(self) -> Option<Metric> {
        match self {
            FreeFeature::Params => Some(Metric::Params),
            FreeFeature::Flops => Some(Metric::Flops),
            FreeFeature::Layers => None,
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
        FeatureConfig { encoding: EncodingKind::PathStats, free: FreeFeature::SCALAR.to_vec(), cheap: Vec::new() }
    }
}

impl FeatureConfig {
    /// The encoding and free features of `arch` (not the [`cheap`](Self::cheap)
    /// ones), or `None` when the space lacks the encoding.
    pub fn features<S: MultiEncode + ToNetworkSpec>(&self, space: &S, arch: &S::Arch) -> Option<Vec<f64>> {
        let mut v: Vec<f64> = space.encode_with(arch, self.encoding)?.into_iter().map(f64::from).collect();
        if !self.free.is_empty() {
            let spec = space.network_spec(arch);
            // The analytical cost only when a one-number feature needs it.
            let cost = if self.free.iter().any(|f| f.metric().is_some()) {
                Some(AnalyticalCost.cost(&spec).ok()?)
            } else {
                None
            };
            for f in &self.free {
                match f.metric() {
                    Some(m) => v.push(cost.as_ref().and_then(|c| c.get(&m)).map_or(0.0, |x| x.max(1.0).log10())),
                    None => v.extend(layer_features(&spec)),
                }
            }
        }
        Some(v)
    }

    /// Checks that the predictor gets something to read: encoding `none` needs free
    /// or cheap features (`features.encoding`).
    pub fn validate(&self) -> crate::Result<()> {
        crate::error::check(
            self.encoding != EncodingKind::None || !self.free.is_empty() || !self.cheap.is_empty(),
            "features.encoding",
            "none",
            "an encoding (one_hot, adjacency_ops, path, path_stats), or `none` with free or cheap features",
        )
    }

    /// The capabilities of the space these features (and `pretrain` > 0, which
    /// pretrains on the scalar free features) read: the encodings, and the layer
    /// description for free features.
    pub fn needs(&self, pretrain: usize) -> Vec<nas_core::Capability> {
        let mut out = Vec::new();
        if self.encoding != EncodingKind::None {
            out.push(nas_core::Capability::MultiEncode);
        }
        if !self.free.is_empty() || pretrain > 0 {
            out.push(nas_core::Capability::NetworkSpec);
        }
        out
    }

    /// Appends `log10(max(x, 1e-9))` of each extra value (e.g. cheap latencies).
    pub fn with_extra(mut v: Vec<f64>, extra: &[f64]) -> Vec<f64> {
        v.extend(extra.iter().map(|x| x.max(1e-9).log10()));
        v
    }
}
