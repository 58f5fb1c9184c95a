//! hwnas's CPU training kernels: convolution and batch norm with their gradients,
//! plugged into burn through its backend-extension mechanism.
//!
//! Every space's network calls [`conv2d`], [`batch_norm`] and [`avg_pool2d`] instead of the burn
//! modules' `forward`. With the [`KernelPath::Hwnas`] path (the default) they run
//! the kernels of this module on burn's `flex` backend — im2col + `gemm` per image
//! for convolutions and their two gradients (direct shifted row sums for depthwise
//! ones), two-pass fused batch norm, separable
//! average pooling — and
//! register their own backward steps with burn's autodiff; with
//! [`KernelPath::Burn`] they are exactly the modules' `forward` (burn's own
//! operations), kept for comparison (`hwnas bench --kernels burn`, the
//! `kernels = "burn"` training setting).
//!
//! Where the kernels do not apply (the ndarray backend, grouped convolutions,
//! dtypes other than f32) the extension runs burn's operations, so the fast path is
//! never less general than burn's. Each kernel is tested against burn's own
//! operation (values and gradients) in `tests`, and measured by
//! `cargo bench -p nas-core --bench kernels`.

mod batch_norm;
mod conv;
mod depthwise;
#[allow(deprecated)] // the extension names the ndarray backend, deprecated upstream (kept for comparison)
mod ext;
mod gemm;
mod pool;
mod reduce;

pub use batch_norm::{
    BatchNormForward, BatchNormGrads, NormShape, batch_norm_train_backward, batch_norm_train_forward,
};
pub use conv::{ConvGeometry, ConvGrads, conv2d_backward, conv2d_forward};
pub use ext::{ConvBias, HwnasBackward, HwnasOps, NormOutput};
pub use pool::{PoolGeometry, avg_pool2d_backward, avg_pool2d_forward};

use crate::error::NasError;
use burn::backend::Dispatch;
use burn::nn::conv::Conv2d;
use burn::nn::pool::AvgPool2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::tensor::Tensor;
use burn::tensor::ops::ConvOptions;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// Which implementation the networks' convolutions and batch norms run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelPath {
    /// hwnas's kernels (through burn's backend extension). The default.
    #[default]
    Hwnas,
    /// burn's own operations (the modules' `forward`).
    Burn,
}

impl KernelPath {
    /// Every path, in declaration order.
    pub const ALL: [KernelPath; 2] = [KernelPath::Hwnas, KernelPath::Burn];

    /// The config name (`hwnas`, `burn`).
    pub fn name(&self) -> &'static str {
        match self {
            KernelPath::Hwnas => "hwnas",
            KernelPath::Burn => "burn",
        }
    }
}

impl fmt::Display for KernelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KernelPath {
    type Err = NasError;
    fn from_str(s: &str) -> Result<Self, NasError> {
        KernelPath::ALL.iter().copied().find(|k| k.name() == s.trim()).ok_or_else(|| NasError::UnknownName {
            what: "kernels",
            value: s.to_string(),
            allowed: KernelPath::ALL.map(|k| k.name()).join(", "),
        })
    }
}

/// The process-wide default: `HWNAS_KERNELS` (`hwnas` or `burn`) when set, else
/// [`KernelPath::Hwnas`].
///
/// # Panics
/// When `HWNAS_KERNELS` names no path (the message lists the allowed values).
pub fn default_kernel_path() -> KernelPath {
    static DEFAULT: OnceLock<KernelPath> = OnceLock::new();
    *DEFAULT.get_or_init(|| match std::env::var("HWNAS_KERNELS") {
        Ok(v) => v.parse().unwrap_or_else(|e| panic!("HWNAS_KERNELS: {e}")),
        Err(_) => KernelPath::Hwnas,
    })
}

thread_local! {
    static PATH: Cell<Option<KernelPath>> = const { Cell::new(None) };
}

/// The kernels that networks run on this thread: the innermost
/// [`with_kernel_path`], else [`default_kernel_path`].
pub fn kernel_path() -> KernelPath {
    PATH.with(|p| p.get()).unwrap_or_else(default_kernel_path)
}

/// Runs `f` with the networks' convolutions and batch norms on `path` (on this
/// thread: the trainers call forward and backward on the thread that runs their
/// loop).
pub fn with_kernel_path<T>(path: KernelPath, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<KernelPath>);
    impl Drop for Restore {
        fn drop(&mut self) {
            PATH.with(|p| p.set(self.0));
        }
    }
    let _restore = Restore(PATH.with(|p| p.replace(Some(path))));
    f()
}

/// burn's "same" padding: the total `(out - 1)·stride + kernel - in`, the odd one
/// at the end.
fn same_padding(kernel: usize, stride: usize, len: usize) -> (usize, usize) {
    let out = len.div_ceil(stride);
    let total = if out > 0 { ((out - 1) * stride + kernel).saturating_sub(len) } else { 0 };
    (total / 2, total - total / 2)
}

/// `(begin, end)` padding of height and width, as burn's modules compute it for an
/// input of `hw`.
fn padding_pairs(padding: &PaddingConfig2d, k: [usize; 2], s: [usize; 2], hw: [usize; 2]) -> [(usize, usize); 2] {
    match padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Same => [same_padding(k[0], s[0], hw[0]), same_padding(k[1], s[1], hw[1])],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(*top, *bottom), (*left, *right)],
    }
}

/// The options burn's `Conv2d::forward` builds for an input of `height x width`.
fn conv_options(conv: &Conv2d, height: usize, width: usize) -> ConvOptions<2> {
    let padding = padding_pairs(&conv.padding, conv.kernel_size, conv.stride, [height, width]);
    ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, conv.groups)
}

/// `conv.forward(x)`, on the selected kernels ([`kernel_path`]).
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match kernel_path() {
        KernelPath::Hwnas => conv2d_hwnas(conv, x),
        KernelPath::Burn => conv.forward(x),
    }
}

/// `conv.forward(x)` on hwnas's kernels, whatever the selected path.
///
/// # Panics
/// As burn's does, when the input's channels are not the convolution's.
pub fn conv2d_hwnas(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [_, c, h, w] = x.dims();
    let [_, c_per_group, _, _] = conv.weight.dims();
    assert_eq!(
        c,
        c_per_group * conv.groups,
        "conv2d: the input has {c} channels, the convolution takes {}",
        c_per_group * conv.groups
    );
    let options = conv_options(conv, h, w);
    let bias = match &conv.bias {
        Some(b) => ConvBias::Present(b.val().into_dispatch()),
        None => ConvBias::Absent,
    };
    let out = <Dispatch as HwnasOps>::hwnas_conv2d(x.into_dispatch(), conv.weight.val().into_dispatch(), bias, options);
    Tensor::from_dispatch(out)
}

/// `bn.forward(x)`, on the selected kernels ([`kernel_path`]).
pub fn batch_norm<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    match kernel_path() {
        KernelPath::Hwnas => batch_norm_hwnas(bn, x),
        KernelPath::Burn => bn.forward(x),
    }
}

/// `bn.forward(x)` on hwnas's kernels, whatever the selected path: in training (an
/// autodiff device and a layer not frozen) the batch statistics normalise and
/// update the running ones exactly as burn's `BatchNorm` does; in inference burn's
/// own operation runs (one fused pass already).
///
/// # Panics
/// As burn's does, when the input's channels are not the layer's.
pub fn batch_norm_hwnas<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    let [channels] = bn.gamma.dims();
    assert!(D >= 2 && x.dims()[1] == channels, "batch norm: input {:?}, the layer has {channels} channels", x.dims());
    if !(x.device().is_autodiff() && bn.training.is_enabled()) {
        return bn.forward(x);
    }
    let device = x.device();
    let r = <Dispatch as HwnasOps>::hwnas_batch_norm_train(
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        bn.epsilon,
    );
    let mean = Tensor::<1>::from_dispatch(r.mean);
    let variance = Tensor::<1>::from_dispatch(r.variance);
    let running_mean = bn.running_mean.value_sync().to_device(&device);
    let running_var = bn.running_var.value_sync().to_device(&device);
    let running_mean = running_mean.mul_scalar(1.0 - bn.momentum).add(mean.detach().mul_scalar(bn.momentum));
    let running_var = running_var.mul_scalar(1.0 - bn.momentum).add(variance.detach().mul_scalar(bn.momentum));
    bn.running_mean.update(running_mean.detach());
    bn.running_var.update(running_var.detach());
    Tensor::from_dispatch(r.output)
}

/// `pool.forward(x)`, on the selected kernels ([`kernel_path`]).
pub fn avg_pool2d(pool: &AvgPool2d, x: Tensor<4>) -> Tensor<4> {
    match kernel_path() {
        KernelPath::Hwnas => avg_pool2d_hwnas(pool, x),
        KernelPath::Burn => pool.forward(x),
    }
}

/// `pool.forward(x)` on hwnas's kernels, whatever the selected path (burn's
/// operation for ceil mode and asymmetric padding).
pub fn avg_pool2d_hwnas(pool: &AvgPool2d, x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let (k, s) = (pool.kernel_size, pool.stride);
    let padding = padding_pairs(&pool.padding, k, s, [h, w]);
    if pool.ceil_mode || padding.iter().any(|(b, e)| b != e) {
        return pool.forward(x);
    }
    let out = <Dispatch as HwnasOps>::hwnas_avg_pool2d(
        x.into_dispatch(),
        k,
        s,
        [padding[0].0, padding[1].0],
        pool.count_include_pad,
    );
    Tensor::from_dispatch(out)
}

#[cfg(test)]
mod tests;
