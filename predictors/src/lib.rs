//! # predictors — learned surrogates and predictor-guided search for hwnas
//!
//! Training every candidate is the bottleneck of NAS; a predictor fitted on a few
//! evaluated architectures lets a search ask a model instead.
//!
//! Crate map:
//! - [`model`]: the models behind the [`Fit`] / [`Predict`] traits (ridge, random
//!   forest, gradient-boosted trees, Gaussian process, burn MLP, MLP ensemble), and
//!   the closed sums [`ModelConfig`] / [`Model`].
//! - [`features`]: feature vectors = a [`nas_core::EncodingKind`] encoding plus
//!   free features (params, FLOPs, layer features, cheap metrics).
//! - [`layer_features`]: a fixed-length summary of a network's layers by kind
//!   (count, FLOPs, activation bytes), for latency predictors on any space.
//! - [`metrics`]: Kendall tau, Spearman, Pearson, RMSE, top-k precision.
//! - [`pretrain`]: FBNetV3-style pretraining of the MLP on free features of
//!   unlabelled architectures, then fine-tuning.
//! - [`transfer`]: few-shot latency transfer to a new device.
//! - [`store`]: versioned JSON save/load.
//! - [`evaluator`]: a fitted predictor as a free [`nas_core::Evaluator`] (e.g. a
//!   latency predictor as a run's hardware objective).
//! - [`strategy`]: predictor-guided [`nas_core::SearchStrategy`]s, BANANAS-style and
//!   LINAS-style.
//!
//! This crate depends on nas-core only; spaces meet it through
//! [`nas_core::MultiEncode`] and [`nas_core::ToNetworkSpec`].
#![warn(missing_docs)]

pub mod error;
pub mod eval;
pub mod evaluator;
pub mod features;
pub mod layer_features;
pub mod metrics;
pub mod model;
pub mod pretrain;
pub mod store;
pub mod strategy;
pub mod transfer;

pub use error::{PredictorError, Result};
pub use evaluator::PredictorEvaluator;
pub use features::{FeatureConfig, FreeFeature};
pub use metrics::{Quality, kendall_tau, pearson, precision_at_k, rmse, spearman};
pub use model::{Fit, Model, ModelConfig, Predict, Prediction};
pub use store::SavedPredictor;
