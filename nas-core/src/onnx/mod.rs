//! ONNX export of the spaces' burn networks.
//!
//! A network writes its inference graph into an [`OnnxGraph`] with
//! [`ImageClassifier::to_onnx`](crate::train::ImageClassifier::to_onnx), one
//! builder call per burn module of its forward pass (convolutions, batch norms in
//! inference form, pools, additions, concatenations, the classifier); the
//! weights become the graph's initializers. [`OnnxGraph::finish`] encodes the
//! `ModelProto` ([`proto`], written with prost) with the metadata the caller
//! gives (the architecture, its metrics, the run). The exported graph's
//! trainable parameter count ([`OnnxModel::parameters`]) equals the layer IR's
//! [`NetworkSpec::params`](crate::NetworkSpec::params) for every space (tested).
//!
//! The files are checked in a second runtime (tract-onnx) against burn's
//! outputs in the integration tests.

pub mod graph;
pub mod proto;

pub use graph::{IR_VERSION, OPSET, OnnxGraph, OnnxModel, OnnxModelInfo, OnnxValue};

/// Why a network could not be written as ONNX.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnnxError {
    /// A module or setting with no ONNX form here.
    #[error("no ONNX export for {what}")]
    Unsupported {
        /// What it was.
        what: String,
    },
}
