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
    format!("{:016x}", nas_core::hash::fnv1a64(text.as_bytes()))
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

/// Settings of the `predictor` evaluator: one metric from a predictor saved by
/// `hwnas predictor fit` (e.g. a latency predictor on layer features); free, like
/// the cost models.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictorSettings {
    /// The predictor file (relative paths are relative to the config file).
    pub path: std::path::PathBuf,
    /// The metric its predictions give, e.g. `latency_ms` or `accuracy`.
    pub metric: Metric,
}

impl nas_core::EvaluatorSettings for PredictorSettings {
    const NAME: &'static str = "predictor";
    const DESCRIPTION: &'static str = "one metric from a file of `hwnas predictor fit` (free, like a cost model)";

    fn validate(&self) -> nas_core::Result<()> {
        if self.path.as_os_str().is_empty() {
            return Err(nas_core::NasError::InvalidValue {
                field: "path".into(),
                value: "(empty)".into(),
                allowed: "a file written by `hwnas predictor fit`".into(),
            });
        }
        Ok(())
    }

    fn provides(&self) -> Vec<Metric> {
        vec![self.metric]
    }

    /// A saved predictor's encoding is only known once the file is read; the
    /// layer description is always needed (for the space signature).
    fn needs(&self) -> Vec<nas_core::Capability> {
        vec![nas_core::Capability::NetworkSpec]
    }

    fn resolve_paths(&mut self, base: &Path) {
        if self.path.is_relative() {
            self.path = base.join(&self.path);
        }
    }

    fn latency_source(&self) -> nas_core::registry::LatencySource {
        if self.metric != Metric::LatencyMs {
            return nas_core::registry::LatencySource::None;
        }
        nas_core::registry::LatencySource::Elsewhere {
            reason: format!(
                "latency_ms of this run comes from the learned predictor {}: its errors are measured when it is \
                 fitted (`hwnas predictor fit` prints its Kendall tau)",
                self.path.display()
            ),
        }
    }

    fn build(
        &self,
        ctx: &nas_core::registry::EvaluatorContext<'_>,
    ) -> nas_core::Result<nas_core::registry::BuiltEvaluator> {
        let saved = SavedPredictor::load(&self.path)?;
        let space = Arc::new(ctx.space.clone());
        let needs = saved.feature_config(&self.path)?.needs(0);
        ctx.space.require(&needs, &format!("predictor {}", self.path.display()), &[])?;
        let eval = PredictorEvaluator::from_saved(space, saved, self.metric, &self.path)?;
        Ok(nas_core::registry::BuiltEvaluator::new(Arc::new(eval)))
    }
}
