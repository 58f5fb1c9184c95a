//! The kernels as a burn backend extension (`#[backend_extension]`): forward
//! operations dispatched to the tensor's backend, and their own backward steps
//! registered with burn's autodiff.
//!
//! On `Flex` (f32) the operations run the kernels of
//! [`conv`](super::conv) and [`batch_norm`](super::batch_norm); in every other
//! case (ndarray, other dtypes, ceil-mode pooling) they run burn's own operations,
//! so the extension is never less general than burn.

use super::batch_norm::{NormShape, batch_norm_train_backward, batch_norm_train_forward};
use super::conv::{ConvGeometry, conv2d_backward, conv2d_forward};
use super::pool::{PoolGeometry, avg_pool2d_backward, avg_pool2d_forward};
#[allow(deprecated)] // ndarray is deprecated upstream; kept as a comparison backend
use burn::backend::NdArray;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{ConvOptions, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, ExtensionType, Flex, TensorMetadata, backend_extension};
use burn::tensor::{DType, Shape, TensorData};

/// A convolution's optional bias, as an extension argument.
#[derive(ExtensionType)]
pub enum ConvBias<B: Backend> {
    /// A bias of shape `[c_out]`.
    Present(FloatTensor<B>),
    /// No bias.
    Absent,
}

impl<B: Backend> ConvBias<B> {
    fn into_option(self) -> Option<FloatTensor<B>> {
        match self {
            ConvBias::Present(b) => Some(b),
            ConvBias::Absent => None,
        }
    }
}

/// Batch norm's output and batch statistics, as an extension result.
#[derive(ExtensionType)]
pub struct NormOutput<B: Backend> {
    /// The normalised tensor.
    pub output: FloatTensor<B>,
    /// Per-channel batch mean.
    pub mean: FloatTensor<B>,
    /// Per-channel biased batch variance.
    pub variance: FloatTensor<B>,
}

/// The forward operations of hwnas's kernels.
#[allow(deprecated)]
#[backend_extension(Flex, NdArray, Autodiff)]
pub trait HwnasOps: Backend {
    /// 2-D convolution (burn's `conv2d` semantics).
    fn hwnas_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        #[extension_type] bias: ConvBias<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, bias.into_option(), options)
    }

    /// Training-mode batch norm (burn's `batch_norm_train` semantics).
    fn hwnas_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> NormOutput<Self> {
        let r = Self::batch_norm_train(x, gamma, beta, epsilon);
        NormOutput { output: r.output, mean: r.mean, variance: r.variance }
    }

    /// 2-D average pooling with symmetric padding, floor mode (burn's
    /// `avg_pool2d` semantics).
    fn hwnas_avg_pool2d(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
    ) -> FloatTensor<Self> {
        Self::avg_pool2d(x, kernel, stride, padding, count_include_pad, false)
    }
}

/// burn's own gradients of a convolution (input, weight, bias), each when `need`
/// says so.
fn burn_conv2d_backward<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
    grad: FloatTensor<B>,
    options: ConvOptions<2>,
    need: [bool; 3],
) -> [Option<FloatTensor<B>>; 3] {
    let dx = need[0].then(|| B::conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone()));
    let dw = need[1].then(|| B::conv2d_weight_backward(x.clone(), weight, grad.clone(), options));
    let db = match (need[2], bias) {
        (true, Some(b)) => Some(B::conv2d_bias_backward(x, b, grad)),
        _ => None,
    };
    [dx, dw, db]
}

/// The backward steps of [`HwnasOps`] on a concrete (non-autodiff) backend.
pub trait HwnasBackward: Backend {
    /// Gradients of [`HwnasOps::hwnas_conv2d`] for input, weight and bias, each
    /// computed only when `need` says so.
    fn hwnas_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        grad: FloatTensor<Self>,
        options: ConvOptions<2>,
        need: [bool; 3],
    ) -> [Option<FloatTensor<Self>>; 3] {
        burn_conv2d_backward::<Self>(x, weight, bias, grad, options, need)
    }

    /// Gradients of [`HwnasOps::hwnas_batch_norm_train`]: input, gamma, beta.
    fn hwnas_batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3] {
        let r = Self::batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
        [r.x_grad, r.gamma_grad, r.beta_grad]
    }

    /// Input gradient of [`HwnasOps::hwnas_avg_pool2d`].
    fn hwnas_avg_pool2d_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
    ) -> FloatTensor<Self> {
        Self::avg_pool2d_backward(x, grad, kernel, stride, padding, count_include_pad, false)
    }
}

#[allow(deprecated)]
impl HwnasOps for NdArray {}
#[allow(deprecated)]
impl HwnasBackward for NdArray {}

/// A contiguous f32 copy-free view of a flex tensor, or `None` for other dtypes.
fn f32_contiguous(t: &FlexTensor) -> Option<FlexTensor> {
    (t.dtype() == DType::F32).then(|| t.to_contiguous())
}

fn flex_f32(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, Shape::from(shape)))
}

/// `[batch, channels, rest...]` as batch norm sees it.
fn norm_shape(shape: &Shape) -> NormShape {
    NormShape { batch: shape[0], channels: shape[1], spatial: shape.num_elements() / (shape[0] * shape[1]).max(1) }
}

fn dims4(t: &FlexTensor) -> Option<[usize; 4]> {
    let s = t.shape();
    (s.num_dims() == 4).then(|| [s[0], s[1], s[2], s[3]])
}

/// The geometry of a convolution the flex kernels take (f32 data).
fn flex_conv_geometry(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> Option<ConvGeometry> {
    if x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
        return None;
    }
    ConvGeometry::new(dims4(x)?, dims4(weight)?, options.stride, options.padding, options.dilation, options.groups)
}

impl HwnasOps for Flex {
    fn hwnas_conv2d(x: FlexTensor, weight: FlexTensor, bias: ConvBias<Self>, options: ConvOptions<2>) -> FlexTensor {
        let bias = bias.into_option();
        let Some(g) =
            flex_conv_geometry(&x, &weight, &options).filter(|_| bias.as_ref().is_none_or(|b| b.dtype() == DType::F32))
        else {
            return Flex::conv2d(x, weight, bias, options);
        };
        let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
        let bias = bias.as_ref().and_then(f32_contiguous);
        let out =
            conv2d_forward(&g, x.storage::<f32>(), weight.storage::<f32>(), bias.as_ref().map(|b| b.storage::<f32>()));
        flex_f32(out, vec![g.batch, g.c_out, g.oh, g.ow])
    }

    fn hwnas_batch_norm_train(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, epsilon: f64) -> NormOutput<Self> {
        let shape = x.shape();
        if x.dtype() != DType::F32 || gamma.dtype() != DType::F32 || beta.dtype() != DType::F32 || shape.num_dims() < 2
        {
            let r = Flex::batch_norm_train(x, gamma, beta, epsilon);
            return NormOutput { output: r.output, mean: r.mean, variance: r.variance };
        }
        let s = norm_shape(&shape);
        let (x, gamma, beta) = (x.to_contiguous(), gamma.to_contiguous(), beta.to_contiguous());
        let r =
            batch_norm_train_forward(&s, x.storage::<f32>(), gamma.storage::<f32>(), beta.storage::<f32>(), epsilon);
        NormOutput {
            output: flex_f32(r.output, shape.to_vec()),
            mean: flex_f32(r.mean, vec![s.channels]),
            variance: flex_f32(r.variance, vec![s.channels]),
        }
    }

    fn hwnas_avg_pool2d(
        x: FlexTensor,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
    ) -> FlexTensor {
        let Some(g) = flex_pool_geometry(&x, kernel, stride, padding, count_include_pad) else {
            return Flex::avg_pool2d(x, kernel, stride, padding, count_include_pad, false);
        };
        let [n, c, _, _] = dims4(&x).expect("checked by the geometry");
        let x = x.to_contiguous();
        flex_f32(avg_pool2d_forward(&g, x.storage::<f32>()), vec![n, c, g.oh, g.ow])
    }
}

/// The geometry of a pooling the flex kernels take (f32 data).
fn flex_pool_geometry(
    x: &FlexTensor,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    count_include_pad: bool,
) -> Option<PoolGeometry> {
    let [n, c, h, w] = dims4(x)?;
    if x.dtype() != DType::F32 {
        return None;
    }
    PoolGeometry::new(n * c, [h, w], kernel, stride, padding, count_include_pad)
}

impl HwnasBackward for Flex {
    fn hwnas_conv2d_backward(
        x: FlexTensor,
        weight: FlexTensor,
        bias: Option<FlexTensor>,
        grad: FlexTensor,
        options: ConvOptions<2>,
        need: [bool; 3],
    ) -> [Option<FlexTensor>; 3] {
        let Some(g) = flex_conv_geometry(&x, &weight, &options).filter(|_| grad.dtype() == DType::F32) else {
            // Not a shape the kernels take: burn's gradients (as the forward was burn's).
            return burn_conv2d_backward::<Flex>(x, weight, bias, grad, options, need);
        };
        let (x, weight, grad) = (x.to_contiguous(), weight.to_contiguous(), grad.to_contiguous());
        let need = [need[0], need[1], need[2] && bias.is_some()];
        let r = conv2d_backward(&g, x.storage::<f32>(), weight.storage::<f32>(), grad.storage::<f32>(), need);
        [
            r.x.map(|v| flex_f32(v, vec![g.batch, g.c_in, g.h, g.w])),
            r.weight.map(|v| flex_f32(v, vec![g.c_out, g.c_in / g.groups, g.kh, g.kw])),
            r.bias.map(|v| flex_f32(v, vec![g.c_out])),
        ]
    }

    fn hwnas_batch_norm_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        grad: FlexTensor,
    ) -> [FlexTensor; 3] {
        let shape = x.shape();
        let all_f32 = [&x, &gamma, &mean, &variance, &grad].iter().all(|t| t.dtype() == DType::F32);
        if !all_f32 || shape.num_dims() < 2 {
            let r = Flex::batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
            return [r.x_grad, r.gamma_grad, r.beta_grad];
        }
        let s = norm_shape(&shape);
        let [x, gamma, mean, variance, grad] = [x, gamma, mean, variance, grad].map(|t| t.to_contiguous());
        let r = batch_norm_train_backward(
            &s,
            x.storage::<f32>(),
            gamma.storage::<f32>(),
            mean.storage::<f32>(),
            variance.storage::<f32>(),
            epsilon,
            grad.storage::<f32>(),
        );
        [flex_f32(r.x, shape.to_vec()), flex_f32(r.gamma, vec![s.channels]), flex_f32(r.beta, vec![s.channels])]
    }

    fn hwnas_avg_pool2d_backward(
        x: FlexTensor,
        grad: FlexTensor,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
    ) -> FlexTensor {
        let shape = x.shape();
        match flex_pool_geometry(&x, kernel, stride, padding, count_include_pad).filter(|_| grad.dtype() == DType::F32)
        {
            Some(g) => flex_f32(avg_pool2d_backward(&g, grad.to_contiguous().storage::<f32>()), shape.to_vec()),
            None => Flex::avg_pool2d_backward(x, grad, kernel, stride, padding, count_include_pad, false),
        }
    }
}

#[derive(Debug)]
struct ConvStep;

impl<B: Backend + HwnasBackward> Backward<B, 3> for ConvStep {
    /// Checkpointed input, weight and (optional) bias, and the options.
    type State = (NodeId, NodeId, Option<NodeId>, ConvOptions<2>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, w_state, b_state, options) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
        let weight = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(w_state);
        let bias = b_state.map(|id| checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(id));
        let need = [node_x.is_some(), node_w.is_some(), node_b.is_some()];
        let [dx, dw, db] = B::hwnas_conv2d_backward(x, weight, bias, grad, options, need);
        for (node, g) in [(node_x, dx), (node_w, dw), (node_b, db)] {
            if let (Some(node), Some(g)) = (node, g) {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

#[derive(Debug)]
struct BatchNormStep;

impl<B: Backend + HwnasBackward> Backward<B, 3> for BatchNormStep {
    /// Checkpointed input and gamma, the batch statistics and epsilon.
    type State = (NodeId, NodeId, B::FloatTensorPrimitive, B::FloatTensorPrimitive, f64);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, gamma_state, mean, variance, epsilon) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
        let gamma = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(gamma_state);
        let [dx, dgamma, dbeta] = B::hwnas_batch_norm_backward(x, gamma, mean, variance, epsilon, grad);
        for (node, g) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

#[derive(Debug)]
struct AvgPoolStep;

impl<B: Backend + HwnasBackward> Backward<B, 1> for AvgPoolStep {
    /// Checkpointed input, window, stride, padding, count_include_pad.
    type State = (NodeId, [usize; 2], [usize; 2], [usize; 2], bool);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let (x_state, kernel, stride, padding, cip) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::hwnas_avg_pool2d_backward(x, grad, kernel, stride, padding, cip)
        });
    }
}

impl<B: Backend + HwnasOps + HwnasBackward, C: CheckpointStrategy> HwnasOps for Autodiff<B, C> {
    fn hwnas_avg_pool2d(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
    ) -> FloatTensor<Self> {
        match AvgPoolStep.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let out = B::hwnas_avg_pool2d(x.into_primitive(), kernel, stride, padding, count_include_pad);
                prep.finish((x_state, kernel, stride, padding, count_include_pad), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::hwnas_avg_pool2d(x.into_primitive(), kernel, stride, padding, count_include_pad))
            }
        }
    }

    fn hwnas_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: ConvBias<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let bias = bias.into_option();
        // The bias takes the third parent slot; without one, the weight stands in
        // (its node is then ignored: `need[2]` is false when there is no bias).
        let third = bias.as_ref().map_or_else(|| weight.node(), |b| b.node());
        match ConvStep.prepare::<C>([x.node(), weight.node(), third]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let w_state = prep.checkpoint(&weight);
                let b_state = bias.as_ref().map(|b| prep.checkpoint(b));
                let out = B::hwnas_conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.map_or(ConvBias::Absent, |b| ConvBias::Present(b.into_primitive())),
                    options.clone(),
                );
                prep.finish((x_state, w_state, b_state, options), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::hwnas_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.map_or(ConvBias::Absent, |b| ConvBias::Present(b.into_primitive())),
                options,
            )),
        }
    }

    fn hwnas_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> NormOutput<Self> {
        // The statistics are outputs without a gradient (burn's batch norm does the same).
        let untracked = <FloatTensor<Self>>::new;
        match BatchNormStep.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let gamma_state = prep.checkpoint(&gamma);
                let r = B::hwnas_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                let output = prep.finish((x_state, gamma_state, r.mean.clone(), r.variance.clone(), epsilon), r.output);
                NormOutput { output, mean: untracked(r.mean), variance: untracked(r.variance) }
            }
            OpsKind::UnTracked(prep) => {
                let r = B::hwnas_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                NormOutput { output: prep.finish(r.output), mean: untracked(r.mean), variance: untracked(r.variance) }
            }
        }
    }
}
