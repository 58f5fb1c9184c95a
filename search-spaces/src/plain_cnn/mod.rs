//! Plain CNNs grown by function-preserving transformations (EAS, Cai et al.
//! 2018): conv–BN–ReLU stacks with max pools, global average pooling and a
//! linear classifier, no skip connections.
//!
//! - [`genotype`]: [`PlainCnnArch`] and its `c3x16-c3x16-p-c5x32-p` notation.
//! - [`config`]: [`PlainCnnConfig`] (kernels, the width ladder, size limits).
//! - [`space`]: [`PlainCnnSpace`] (sampling, validation, mutation by one
//!   transformation, lowering) and [`Transform`] (the architecture side of
//!   Net2Wider / Net2Deeper, masked by the limits).
//! - [`model`]: the burn network [`PlainCnnNet`] and its [`PlainWeights`].
//! - [`morph`]: Net2Wider and Net2Deeper on the weights (function-preserving).
//! - [`eas`]: the EAS strategy (`kind = "eas"`): meta-controller, lineage.

pub mod config;
pub mod eas;
pub mod genotype;
pub mod model;
pub mod morph;
pub mod registry;
pub mod space;

pub use config::PlainCnnConfig;
pub use genotype::{ConvLayer, PlainCnnArch};
pub use model::{PlainCnnNet, PlainWeights};
pub use space::{PlainCnnSpace, Transform};
