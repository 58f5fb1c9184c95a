//! Building blocks shared by the spaces: layer-list helpers for the lowering
//! ([`lower`]) and the matching burn modules ([`nn`]).
//!
//! Each helper in [`lower`] has a burn counterpart in [`nn`] with exactly the same
//! learnable parameters, so a network's `num_params()` equals its lowering's
//! [`NetworkSpec::params`](nas_core::NetworkSpec::params).

pub mod lower;
pub mod nn;
