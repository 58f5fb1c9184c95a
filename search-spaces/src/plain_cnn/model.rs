//! The burn network of a plain CNN, and its weights as plain arrays
//! ([`PlainWeights`]) so that transformations can rewrite them.

use super::genotype::PlainCnnArch;
use super::space::PlainCnnSpace;
use crate::blocks::nn::{ConvShape, batch_norm};
use burn::module::{Param, RunningState};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use nas_core::kernels;
use nas_core::onnx::{OnnxError, OnnxGraph, OnnxValue};
use nas_core::train::zero_cost::relu;
use nas_core::train::{ImageClassifier, TrainableSpace};
use serde::{Deserialize, Serialize};

/// A plain CNN in burn: conv (no bias) → BN → ReLU (→ 2x2 max pool) per layer,
/// global average pooling, linear classifier.
#[derive(Module, Debug)]
pub struct PlainCnnNet {
    /// The convolutions.
    pub convs: Vec<Conv2d>,
    /// Their batch norms.
    pub bns: Vec<BatchNorm>,
    /// The classifier.
    pub fc: Linear,
    pool: MaxPool2d,
    #[module(skip)]
    pools: Vec<bool>,
}

impl PlainCnnNet {
    /// A freshly initialised network for `arch` with `in_channels` input
    /// channels and `classes` outputs.
    pub fn new(arch: &PlainCnnArch, in_channels: usize, classes: usize, device: &Device) -> Self {
        let mut c = in_channels;
        let mut convs = Vec::new();
        let mut bns = Vec::new();
        for l in &arch.convs {
            convs.push(ConvShape::dense(c, l.filters, l.kernel, 1).init(device));
            bns.push(batch_norm(l.filters, device));
            c = l.filters;
        }
        PlainCnnNet {
            convs,
            bns,
            fc: LinearConfig::new(c, classes).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            pools: arch.convs.iter().map(|l| l.pool).collect(),
        }
    }

    /// A network for `arch` holding `weights` (which must match it).
    pub fn from_weights(arch: &PlainCnnArch, weights: &PlainWeights, device: &Device) -> Self {
        let in_channels = weights.convs.first().map_or(1, |c| c.in_channels);
        let mut net = PlainCnnNet::new(arch, in_channels, weights.classes, device);
        for ((conv, bn), w) in net.convs.iter_mut().zip(net.bns.iter_mut()).zip(&weights.convs) {
            let shape = [w.out_channels, w.in_channels, w.kernel, w.kernel];
            conv.weight =
                Param::from_tensor(Tensor::from_data(TensorData::new(w.kernel_weights.clone(), shape), device));
            let vec = |v: &Vec<f32>| Tensor::<1>::from_data(TensorData::new(v.clone(), [v.len()]), device);
            bn.gamma = Param::from_tensor(vec(&w.gamma));
            bn.beta = Param::from_tensor(vec(&w.beta));
            bn.running_mean = RunningState::new(vec(&w.running_mean));
            bn.running_var = RunningState::new(vec(&w.running_var));
        }
        let rows = weights.fc_weights.len() / weights.classes.max(1);
        net.fc.weight = Param::from_tensor(Tensor::from_data(
            TensorData::new(weights.fc_weights.clone(), [rows, weights.classes]),
            device,
        ));
        net.fc.bias = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(weights.fc_bias.clone(), [weights.classes]),
            device,
        )));
        net
    }

    /// The network's weights and batch-norm statistics.
    pub fn weights(&self) -> PlainWeights {
        let values = |t: Tensor<1>| -> Vec<f32> { t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32") };
        let convs = self
            .convs
            .iter()
            .zip(&self.bns)
            .map(|(conv, bn)| {
                let w = conv.weight.val();
                let [o, i, k, _] = w.dims();
                ConvWeights {
                    in_channels: i,
                    out_channels: o,
                    kernel: k,
                    kernel_weights: w.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32"),
                    gamma: values(bn.gamma.val()),
                    beta: values(bn.beta.val()),
                    running_mean: values(bn.running_mean.value()),
                    running_var: values(bn.running_var.value()),
                    epsilon: bn.epsilon,
                }
            })
            .collect();
        let fc = self.fc.weight.val();
        let classes = fc.dims()[1];
        PlainWeights {
            convs,
            fc_weights: fc.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32"),
            fc_bias: self.fc.bias.as_ref().map_or(vec![0.0; classes], |b| values(b.val())),
            classes,
        }
    }
}

impl ImageClassifier for PlainCnnNet {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = images;
        for ((conv, bn), &pool) in self.convs.iter().zip(&self.bns).zip(&self.pools) {
            x = relu(kernels::batch_norm(bn, kernels::conv2d(conv, x)));
            if pool {
                x = self.pool.forward(x);
            }
        }
        let [n, c, _, _] = x.dims();
        self.fc.forward(x.mean_dim(3).mean_dim(2).reshape([n, c]))
    }

    fn to_onnx(&self, g: &mut OnnxGraph, images: &OnnxValue) -> Result<OnnxValue, OnnxError> {
        let mut x = images.clone();
        for (i, ((conv, bn), &pool)) in self.convs.iter().zip(&self.bns).zip(&self.pools).enumerate() {
            g.push_scope(format!("layer{i}"));
            let y = g.conv2d(&x, conv)?;
            let y = g.batch_norm(&y, bn);
            x = g.relu(&y);
            if pool {
                x = g.max_pool2d(&x, &self.pool)?;
            }
            g.pop_scope();
        }
        let pooled = g.global_avg_pool(&x);
        Ok(g.linear(&pooled, &self.fc))
    }
}

/// One convolution's weights with its batch norm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvWeights {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel size.
    pub kernel: usize,
    /// `[out, in, k, k]`, row-major.
    pub kernel_weights: Vec<f32>,
    /// BN scale.
    pub gamma: Vec<f32>,
    /// BN shift.
    pub beta: Vec<f32>,
    /// BN running mean.
    pub running_mean: Vec<f32>,
    /// BN running variance.
    pub running_var: Vec<f32>,
    /// BN epsilon.
    pub epsilon: f64,
}

impl ConvWeights {
    /// Index of `w[o][i][y][x]`.
    pub fn at(&self, o: usize, i: usize, y: usize, x: usize) -> usize {
        ((o * self.in_channels + i) * self.kernel + y) * self.kernel + x
    }
}

/// A plain CNN's weights as plain arrays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlainWeights {
    /// The convolutions in order.
    pub convs: Vec<ConvWeights>,
    /// Classifier weights `[features, classes]`, row-major (burn's layout).
    pub fc_weights: Vec<f32>,
    /// Classifier bias.
    pub fc_bias: Vec<f32>,
    /// Classes.
    pub classes: usize,
}

impl TrainableSpace for PlainCnnSpace {
    type Model = PlainCnnNet;

    fn build_model(&self, arch: &PlainCnnArch, device: &Device) -> PlainCnnNet {
        PlainCnnNet::new(arch, self.config().input_chw[0], self.config().num_classes, device)
    }

    fn input_chw(&self) -> [usize; 3] {
        self.config().input_chw
    }

    fn num_classes(&self) -> usize {
        self.config().num_classes
    }
}
