//! Saving and loading fitted predictors: versioned JSON, no pickle.
//!
//! # Format (schema version 1)
//!
//! One JSON object:
//!
//! ```json
//! {
//!   "format": "hwnas-predictor",
//!   "schema_version": 1,
//!   "kind": "ridge",
//!   "hyper_parameters": { "alpha": 1.0 },
//!   "weights": { "scaler": { "mean": [...], "scale": [...] }, "coef": [...], "intercept": 0.5 },
//!   "metadata": { "target": "cifar10_test_acc", "encoding": "path" }
//! }
//! ```
//!
//! - `kind` is one of [`ModelConfig::NAMES`](crate::model::ModelConfig::NAMES);
//!   `hyper_parameters` is that model's config struct as it was fitted and
//!   `weights` its learned parameters (see each model's `...Weights` type):
//!   ridge: scaler, `coef`, `intercept`; trees: `nodes` (a `Split` has `feature`,
//!   `threshold`, `left`, `right`, a `Leaf` a `value`; rows with
//!   `x[feature] <= threshold` go left); Gaussian process: scaler, target mean
//!   and std, `length_scale`, `noise`, standardised training rows `x` and
//!   `alpha = K^-1 y` (the Cholesky factor is rebuilt on load); MLP: scaler,
//!   target mean and std, `layers` of `{d_in, d_out, w (row-major d_in x d_out), b}`
//!   with ReLU between them; MLP ensemble: `weights` is a list of MLPs.
//! - `metadata` is free text (string to string) the writer wants to keep beside
//!   the model. `hwnas predictor fit` writes `space` (the space name),
//!   `space_signature` (see [`crate::evaluator::space_signature`]), `target` (the
//!   predicted column or metric), `encoding` (an [`EncodingKind`] name) and `free`
//!   (comma-separated [`FreeFeature`] names): what
//!   [`SavedPredictor::feature_config`] rebuilds the features from, and what
//!   [`crate::evaluator::check_fits_space`] checks a space against.
//! - A reader refuses a file whose `format` is not `hwnas-predictor` and one whose
//!   `schema_version` differs from [`SCHEMA_VERSION`], naming both versions.

use crate::error::{PredictorError, Result};
use crate::features::{FeatureConfig, FreeFeature};
use crate::model::Model;
use nas_core::EncodingKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `format` tag of every predictor file.
pub const FORMAT: &str = "hwnas-predictor";

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u64 = 1;

/// A fitted model with its metadata, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedPredictor {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`SCHEMA_VERSION`] when written by this build.
    pub schema_version: u64,
    /// The model: `kind`, `hyper_parameters`, `weights`.
    #[serde(flatten)]
    pub model: Model,
    /// Free-form metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl SavedPredictor {
    /// Wraps a model for saving.
    pub fn new(model: Model, metadata: BTreeMap<String, String>) -> Self {
        SavedPredictor { format: FORMAT.into(), schema_version: SCHEMA_VERSION, model, metadata }
    }

    /// The JSON text.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|e| PredictorError::Format { path: PathBuf::from("<memory>"), reason: e.to_string() })
    }

    /// Parses JSON text; `path` names the source in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let bad = |reason: String| PredictorError::Format { path: path.into(), reason };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let format = value.get("format").and_then(|v| v.as_str()).unwrap_or("");
        if format != FORMAT {
            return Err(bad(format!("field `format` is `{format}`, expected `{FORMAT}`")));
        }
        let found = value
            .get("schema_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| bad("missing or non-integer `schema_version`".into()))?;
        if found != SCHEMA_VERSION {
            return Err(PredictorError::SchemaVersion { path: path.into(), found, supported: SCHEMA_VERSION });
        }
        serde_json::from_value(value).map_err(|e| bad(e.to_string()))
    }

    /// Writes the file atomically (a temporary file beside it, then a rename), so a
    /// crash never leaves a half-written predictor.
    pub fn save(&self, path: &Path) -> Result<()> {
        Ok(nas_core::fsutil::write_atomic(path, self.to_json()?.as_bytes())?)
    }

    /// A metadata value; `path` names the file in the error when it is missing.
    pub fn metadata_field(&self, field: &str, path: &Path) -> Result<&str> {
        self.metadata.get(field).map(String::as_str).ok_or_else(|| PredictorError::Metadata {
            path: path.into(),
            field: field.into(),
            reason: "missing (files written by `hwnas predictor fit` have it)".into(),
        })
    }

    /// The features the model expects, from the `encoding` and `free` metadata.
    pub fn feature_config(&self, path: &Path) -> Result<FeatureConfig> {
        let bad =
            |field: &str, reason: String| PredictorError::Metadata { path: path.into(), field: field.into(), reason };
        let encoding: EncodingKind =
            self.metadata_field("encoding", path)?.parse().map_err(|e| bad("encoding", format!("{e}")))?;
        let free = self
            .metadata_field("free", path)?
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                FreeFeature::from_name(s)
                    .ok_or_else(|| bad("free", format!("unknown feature `{s}`; allowed: {}", FreeFeature::names())))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FeatureConfig { encoding, free, cheap: Vec::new() })
    }

    /// Reads a file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| PredictorError::Io { path: path.into(), source })?;
        Self::from_json(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::toy_data;
    use crate::model::{Fit, ModelConfig, Predict};

    #[test]
    fn every_model_round_trips_with_identical_predictions() {
        let (x, y) = toy_data(60, 3, 1);
        let (xt, _) = toy_data(20, 3, 2);
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ModelConfig::NAMES {
            let mut cfg = ModelConfig::by_name(name).expect("known");
            match &mut cfg {
                ModelConfig::Mlp(c) => c.epochs = 5,
                ModelConfig::MlpEnsemble(c) => c.member.epochs = 5,
                ModelConfig::RandomForest(c) => c.n_trees = 10,
                ModelConfig::GradientBoosting(c) => c.n_trees = 20,
                _ => {}
            }
            let model = cfg.fit(&x, &y, 3).expect("fit");
            let saved = SavedPredictor::new(model.clone(), [("target".to_string(), "toy".to_string())].into());
            let path = dir.path().join(format!("{name}.json"));
            saved.save(&path).expect("save");
            let back = SavedPredictor::load(&path).expect("load");
            assert_eq!(back.model.name(), name);
            assert_eq!(back.metadata["target"], "toy");
            let a = model.predict(&xt).expect("predict");
            let b = back.model.predict(&xt).expect("predict");
            assert_eq!(a.mean, b.mean, "{name}");
            assert_eq!(a.std.is_some(), b.std.is_some(), "{name}");
            if let (Some(s), Some(t)) = (a.std, b.std) {
                for (u, v) in s.iter().zip(&t) {
                    assert!((u - v).abs() < 1e-9, "{name}: {u} vs {v}");
                }
            }
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(text.contains("\"schema_version\":1") && text.contains(&format!("\"kind\":\"{name}\"")));
        }
    }

    #[test]
    fn refuses_other_versions_and_formats() {
        let (x, y) = toy_data(20, 2, 1);
        let m = ModelConfig::by_name("ridge").expect("ridge").fit(&x, &y, 0).expect("fit");
        let text = SavedPredictor::new(m, Default::default()).to_json().expect("json");
        let newer = text.replace("\"schema_version\":1", "\"schema_version\":2");
        let err = SavedPredictor::from_json(&newer, Path::new("p.json")).expect_err("refused");
        assert!(matches!(err, PredictorError::SchemaVersion { found: 2, supported: 1, .. }));
        assert!(err.to_string().contains("version 2") && err.to_string().contains("version 1"), "{err}");
        let other = text.replace("hwnas-predictor", "pickle");
        assert!(matches!(SavedPredictor::from_json(&other, Path::new("p")), Err(PredictorError::Format { .. })));
        let broken = text.replace("\"kind\":\"ridge\"", "\"kind\":\"svm\"");
        assert!(SavedPredictor::from_json(&broken, Path::new("p")).is_err());
    }

    #[test]
    fn the_feature_config_comes_from_the_metadata_with_clear_errors() {
        let (x, y) = toy_data(20, 2, 1);
        let model = ModelConfig::by_name("ridge").expect("known").fit(&x, &y, 0).expect("fit");
        let meta = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let path = Path::new("lat.json");
        let ok = SavedPredictor::new(model.clone(), meta(&[("encoding", "none"), ("free", "layers,params")]));
        let fc = ok.feature_config(path).expect("valid");
        assert_eq!(fc.encoding, EncodingKind::None);
        assert_eq!(fc.free, vec![FreeFeature::Layers, FreeFeature::Params]);
        let missing = SavedPredictor::new(model.clone(), meta(&[("free", "")]));
        let msg = missing.feature_config(path).expect_err("no encoding").to_string();
        assert!(msg.contains("lat.json") && msg.contains("`encoding`") && msg.contains("missing"), "{msg}");
        let unknown = SavedPredictor::new(model, meta(&[("encoding", "path"), ("free", "macs")]));
        let msg = unknown.feature_config(path).expect_err("unknown free").to_string();
        assert!(msg.contains("`free`") && msg.contains("macs") && msg.contains("params, flops, layers"), "{msg}");
    }
}
