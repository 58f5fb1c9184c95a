//! A fitted predictor used as an evaluator: free, so searches may query it as
//! often as they like (a latency predictor as the hardware objective of a run, or
//! an accuracy predictor for a quick first search).
//!
//! Configs reach it as `{ kind = "predictor", path = "fpga.json", metric =
//! "latency_ms" }`, a file written by `hwnas predictor fit`.

use crate::error::{PredictorError, Result};
use crate::features::FeatureConfig;
use crate::model::{Model, Predict};
use crate::store::SavedPredictor;
use nas_core::{EvalContext, EvalError, Evaluator, Metric, MetricMap, MultiEncode, ToNetworkSpec};
use std::path::Path;
use std::sync::Arc;

/// Predicts one metric of an architecture with a fitted model.
pub struct PredictorEvaluator<S> {
    space: Arc<S>,
    features: FeatureConfig,
    model: Model,
    metric: Metric,
    name: String,
}

impl<S: MultiEncode + ToNetworkSpec> PredictorEvaluator<S> {
    /// `model`, which reads the `features` of an architecture of `space`, gives
    /// `metric`; `name` appears in logs.
    pub fn new(space: Arc<S>, model: Model, features: FeatureConfig, metric: Metric, name: impl Into<String>) -> Self {
        PredictorEvaluator { space, features, model, metric, name: name.into() }
    }

    /// A predictor saved by `hwnas predictor fit` (its metadata names the space and
    /// the features), giving `metric`; see [`check_fits_space`] for what is refused.
    /// Also refuses a `metric` that the predicted target is not: a `*_ms` column
    /// is `latency_ms`, `*_acc` is `accuracy`, `*_mj` is `energy_mj`, and a
    /// metric name (a predictor fitted on a run) is that metric.
    pub fn from_saved(space: Arc<S>, saved: SavedPredictor, metric: Metric, path: &Path) -> Result<Self> {
        let features = check_fits_space(space.as_ref(), &saved, path)?;
        let target = saved.metadata.get("target").cloned().unwrap_or_default();
        if let Some(implied) = metric_of_target(&target)
            && implied != metric
        {
            return Err(PredictorError::Mismatch {
                path: path.into(),
                reason: format!("it predicts `{target}` ({implied}), not {metric}"),
            });
        }
        let name = format!("predictor({target} -> {metric})");
        Ok(PredictorEvaluator::new(space, saved.model, features, metric, name))
    }
}

/// A fingerprint of a space's setting: a hash of the layer description of one
/// fixed architecture. Two settings that lower the same architecture to different
/// layers (other channels, depth or input shape) get different signatures, so a
/// predictor on layer features is not used where its features mean something else.
pub fn space_signature<S: ToNetworkSpec>(space: &S) -> String {
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    let probe = space.sample(&mut rng);
    let text = serde_json::to_string(&space.network_spec(&probe)).unwrap_or_default();
    // FNV-1a, 64 bits: stable across builds and platforms.
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}

/// The features a saved predictor reads, after checking that it fits `space`:
/// refuses a file fitted on another space (metadata `space`), on another setting
/// of it (metadata `space_signature`, when present), or whose model expects
/// another number of features than the space gives.
pub fn check_fits_space<S: MultiEncode + ToNetworkSpec>(
    space: &S,
    saved: &SavedPredictor,
    path: &Path,
) -> Result<FeatureConfig> {
    let mismatch = |reason: String| PredictorError::Mismatch { path: path.into(), reason };
    let fitted_on = saved.metadata_field("space", path)?;
    if fitted_on != space.name() {
        return Err(mismatch(format!("fitted on the `{fitted_on}` space, but this run searches `{}`", space.name())));
    }
    if let Some(sig) = saved.metadata.get("space_signature")
        && *sig != space_signature(space)
    {
        return Err(mismatch(format!(
            "fitted on another setting of the `{fitted_on}` space (channels, depth or input shape differ)"
        )));
    }
    let features = saved.feature_config(path)?;
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    let probe = space.sample(&mut rng);
    let width = features.features(space, &probe).map(|v| v.len());
    if width != Some(saved.model.n_features()) {
        return Err(mismatch(format!(
            "the model reads {} features, but {} gives {} here",
            saved.model.n_features(),
            features_label(&features),
            width.map_or_else(|| "none".to_string(), |w| w.to_string())
        )));
    }
    Ok(features)
}

/// The metric a predicted table column or run metric is, when it says.
fn metric_of_target(target: &str) -> Option<Metric> {
    if target.ends_with("_ms") {
        Some(Metric::LatencyMs)
    } else if target.ends_with("_acc") {
        Some(Metric::Accuracy)
    } else if target.ends_with("_mj") {
        Some(Metric::EnergyMj)
    } else {
        target.parse().ok()
    }
}

fn features_label(f: &FeatureConfig) -> String {
    let mut s = f.encoding.name().to_string();
    for x in &f.free {
        s.push('+');
        s.push_str(x.name());
    }
    s
}

impl<S: MultiEncode + ToNetworkSpec + Send + Sync> Evaluator<S::Arch> for PredictorEvaluator<S> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn provides(&self) -> Vec<Metric> {
        vec![self.metric]
    }

    fn evaluate(&self, arch: &S::Arch, _ctx: &EvalContext<'_>) -> std::result::Result<MetricMap, EvalError> {
        let row = self.features.features(self.space.as_ref(), arch).ok_or_else(|| {
            EvalError::failed(format!("{}: the {} encoding is not available", self.name, self.features.encoding))
        })?;
        let p = self.model.predict(&[row]).map_err(|e| EvalError::failed(format!("{}: {e}", self.name)))?;
        let mut m = MetricMap::new();
        m.insert(self.metric, p.mean[0]);
        Ok(m)
    }

    fn is_cheap(&self) -> bool {
        true
    }
}
