//! Zero-cost proxies: scores of a network at initialisation, from one batch,
//! that rank architectures without training them.
//!
//! - **synflow** (Tanaka et al. 2020, as a NAS proxy in Abdelfattah et al.
//!   2021): every parameter replaced by its absolute value, batch norms in
//!   inference mode (at initialisation: the identity, as the reference's
//!   batch-norm-free copy), an all-ones input; `R` = the sum of the logits and
//!   the score `sum |theta * dR/dtheta|` over the weights of the convolutions
//!   and linear layers. The score grows exponentially with depth, so the metric
//!   is its natural logarithm; it is computed in `f64` (the gradients of the
//!   first layers of a deep NB201 network overflow `f32`). Every path of such a
//!   network is linear in the input, so the score scales exactly with the
//!   input: an input scaled by `a` keeps the computation in range and `ln a` is
//!   taken off again.
//! - **grad_norm** (Abdelfattah et al. 2021): the cross-entropy loss of one
//!   batch (batch norms with batch statistics), and the sum over the
//!   convolution and linear weights of the L2 norm of their gradient.
//! - **naswot** (Mellor et al. 2021): each image's binary code of which ReLU
//!   inputs are positive; `K[i][j]` = the number of units where the codes of
//!   images `i` and `j` agree, summed over every ReLU; the score is
//!   `ln |det K|`. The networks record their ReLUs through [`relu`], which
//!   the spaces' blocks call instead of burn's.
//!
//! Each proxy gets a fresh copy of the network (the same initial weights): the
//! scores do not depend on the order they are computed in.

use super::ImageClassifier;
use super::data::ImageDataset;
use crate::error::NasError;
use crate::metric::Metric;
use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::Gradients;
use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

/// One zero-cost proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proxy {
    /// `ln` of the SynFlow score.
    Synflow,
    /// NASWOT's `ln |det K|` of the ReLU-code kernel.
    Naswot,
    /// Sum of the weights' gradient norms.
    GradNorm,
}

impl Proxy {
    /// Every proxy.
    pub const ALL: [Proxy; 3] = [Proxy::Synflow, Proxy::Naswot, Proxy::GradNorm];

    /// The metric it gives.
    pub fn metric(self) -> Metric {
        match self {
            Proxy::Synflow => Metric::Synflow,
            Proxy::Naswot => Metric::Naswot,
            Proxy::GradNorm => Metric::GradNorm,
        }
    }

    /// The config name (`synflow`, `naswot`, `grad_norm`).
    pub fn name(self) -> &'static str {
        self.metric().name()
    }

    /// Looks a proxy up by name.
    pub fn from_name(name: &str) -> Option<Proxy> {
        Proxy::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Every name, comma-separated (for error messages).
    pub fn names() -> String {
        Proxy::ALL.map(Proxy::name).join(", ")
    }

    /// The proxy of `metric`, if it is one.
    pub fn of_metric(metric: Metric) -> Option<Proxy> {
        Proxy::ALL.into_iter().find(|p| p.metric() == metric)
    }
}

/// The scored batch: images `[n, C, H, W]` and labels (for grad_norm).
///
/// Random images are standard normal pixels with uniform labels, drawn from a
/// seed; a dataset's first `n` images (in a seeded order) can be used instead.
pub fn proxy_batch(data: Option<&ImageDataset>, chw: [usize; 3], classes: usize, n: usize, seed: u64) -> ImageDataset {
    if let Some(d) = data {
        return d.subset(n.min(d.len()), seed);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let len = n * chw.iter().product::<usize>();
    // Box-Muller: two uniforms give one standard normal.
    let pixels: Vec<f32> = (0..len)
        .map(|_| {
            let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
            let v: f64 = rng.random();
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect();
    let labels: Vec<u32> = (0..n).map(|_| rng.random_range(0..classes.max(1) as u32)).collect();
    ImageDataset::new("random", chw, classes.max(1), pixels, labels).expect("shapes are consistent by construction")
}

/// The scores of one network.
pub type ProxyScores = Vec<(Proxy, f64)>;

/// Computes `proxies` for the network `build` makes (freshly initialised, on a
/// plain device; called once per proxy, and it must give the same weights each
/// time, e.g. through [`init_seeded`](super::init_seeded)) on `batch` (at least
/// two images). Errors describe a proxy that could not be computed.
pub fn score<M: ImageClassifier>(
    build: impl Fn() -> M,
    batch: &ImageDataset,
    proxies: &[Proxy],
    device: &Device,
) -> Result<ProxyScores, NasError> {
    if batch.len() < 2 {
        return Err(NasError::InvalidValue {
            field: "batch_size".into(),
            value: batch.len().to_string(),
            allowed: "at least 2 images (NASWOT compares images, grad_norm needs batch statistics)".into(),
        });
    }
    // A fresh network per proxy: batch-norm statistics are shared between
    // clones of a module, and synflow rewrites them.
    proxies
        .iter()
        .map(|&p| {
            let v = match p {
                Proxy::Synflow => synflow(build(), batch.chw(), device)?,
                Proxy::GradNorm => grad_norm(build(), batch, device),
                Proxy::Naswot => naswot(&build(), batch, device),
            };
            Ok((p, v))
        })
        .collect()
}

/// `ln` of the SynFlow score (see the module docs); `-inf` when it is zero (a
/// network whose output does not depend on its input).
pub fn synflow<M: ImageClassifier>(model: M, chw: [usize; 3], device: &Device) -> Result<f64, NasError> {
    let ad = device.clone().without_autodiff().autodiff();
    // |theta|, then autodiff with gradients but the batch norms in inference mode.
    let model = model.map(&mut AbsParams).train().freeze().set_require_grad(true);
    // In f64 (deep networks overflow f32 in the backward pass). The score is
    // proportional to the input scale: when it overflows, smaller inputs; when
    // it underflows to zero, larger ones.
    let attempt = |ln_scale: f64| -> f64 {
        let [c, h, w] = chw;
        let scale = ln_scale.exp();
        let input =
            Tensor::<4>::from_data(TensorData::new(vec![scale; c * h * w], [1, c, h, w]), &ad).cast(FloatDType::F64);
        let r = model.forward(input).sum();
        let grads = r.backward();
        let mut sum = WeightSum::new(&grads, |w: Tensor<1>, g: Tensor<1>| (w * g).abs().sum());
        model.visit(&mut sum);
        sum.total
    };
    let first = attempt(0.0);
    let retries: &[f64] = if first == 0.0 { &[30.0, 60.0] } else { &[-30.0, -60.0] };
    let mut last = first;
    for &ln_scale in std::iter::once(&0.0).chain(retries) {
        let s = if ln_scale == 0.0 { first } else { attempt(ln_scale) };
        if s.is_finite() && s > 0.0 {
            return Ok(s.ln() - ln_scale);
        }
        last = s;
    }
    if last == 0.0 {
        // No weight receives a gradient: the output does not depend on the
        // input (e.g. a cell whose every path is `none`).
        return Ok(f64::NEG_INFINITY);
    }
    Err(NasError::Backend("synflow: the score is not a finite f64 number at any input scale from e^-60 to e^0".into()))
}

/// The grad_norm score (see the module docs).
pub fn grad_norm<M: ImageClassifier>(model: M, batch: &ImageDataset, device: &Device) -> f64 {
    let ad = device.clone().without_autodiff().autodiff();
    let model = model.train();
    let b = batch.batch_range(0, batch.len(), &ad);
    let loss = CrossEntropyLossConfig::new().init(&ad).forward(model.forward(b.images), b.labels);
    let grads = loss.backward();
    let mut sum = WeightSum::new(&grads, |_: Tensor<1>, g: Tensor<1>| g.powi_scalar(2).sum().sqrt());
    model.visit(&mut sum);
    sum.total
}

/// NASWOT's `ln |det K|` (see the module docs); `-inf` when two images get the
/// same codes everywhere.
pub fn naswot<M: ImageClassifier>(model: &M, batch: &ImageDataset, device: &Device) -> f64 {
    // Batch statistics need the training path: an autodiff device (no backward).
    let ad = device.clone().without_autodiff().autodiff();
    let n = batch.len();
    let b = batch.batch_range(0, n, &ad);
    let previous = RECORDER.with(|r| r.borrow_mut().replace(Kernel { n, k: None }));
    let model = model.clone().train();
    let _ = model.forward(b.images);
    let kernel = RECORDER.with(|r| std::mem::replace(&mut *r.borrow_mut(), previous));
    let k = kernel.map(Kernel::into_values).unwrap_or_else(|| vec![0.0; n * n]);
    crate::linalg::log_abs_det(&k, n)
}

/// `max(x, 0)`, recording the codes of its input for [`naswot`] while a score
/// is being computed on this thread. The spaces' networks call it for every
/// ReLU; outside a score it is burn's `relu`.
pub fn relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    RECORDER.with(|r| {
        if let Some(kernel) = r.borrow_mut().as_mut() {
            kernel.add_codes(&x);
        }
    });
    burn::tensor::activation::relu(x)
}

/// The NASWOT kernel being accumulated on this thread (on the device; read
/// once, after the forward pass).
struct Kernel {
    n: usize,
    k: Option<Tensor<2>>,
}

impl Kernel {
    /// Adds the agreements of the codes of `x`: with `c` the `[n, F]` codes and
    /// `s` their row sums, `c c^T + (1 - c)(1 - c)^T = 2 c c^T + F - s_i - s_j`
    /// (one matrix product instead of two).
    fn add_codes<const D: usize>(&mut self, x: &Tensor<D>) {
        let dims = x.dims();
        if dims[0] != self.n {
            return;
        }
        let per_image: usize = dims[1..].iter().product();
        let codes = x.clone().inner().reshape([self.n, per_image]).greater_elem(0.0).float();
        let sums = codes.clone().sum_dim(1); // [n, 1]
        let both = codes.clone().matmul(codes.transpose()).mul_scalar(2.0);
        let agree = both.add_scalar(per_image as f64) - sums.clone() - sums.transpose();
        self.k = Some(match self.k.take() {
            Some(k) => k + agree,
            None => agree,
        });
    }

    fn into_values(self) -> Vec<f64> {
        match self.k {
            Some(k) => k.into_data().convert::<f64>().try_to_vec::<f64>().unwrap_or_default(),
            None => vec![0.0; self.n * self.n],
        }
    }
}

thread_local! {
    static RECORDER: RefCell<Option<Kernel>> = const { RefCell::new(None) };
}

/// Sets every float parameter (and batch-norm statistic) to its absolute value,
/// in `f64`.
struct AbsParams;

impl ModuleMapper for AbsParams {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| t.abs().cast(FloatDType::F64))
    }
}

/// Sums `f(weight, gradient)` over the weights of the convolutions and linear
/// layers that received a gradient.
struct WeightSum<'g, F> {
    grads: &'g Gradients,
    f: F,
    path: Vec<(String, String)>,
    total: f64,
}

impl<'g, F> WeightSum<'g, F> {
    fn new(grads: &'g Gradients, f: F) -> Self {
        WeightSum { grads, f, path: Vec::new(), total: 0.0 }
    }
}

const SCORED_LAYERS: [&str; 2] = ["Struct:Conv2d", "Struct:Linear"];

impl<F: FnMut(Tensor<1>, Tensor<1>) -> Tensor<1>> ModuleVisitor for WeightSum<'_, F> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let scored = matches!(
            self.path.last(),
            Some((name, container)) if name == "weight" && SCORED_LAYERS.contains(&container.as_str())
        );
        if !scored {
            return;
        }
        let value = param.val();
        if let Some(g) = value.grad(self.grads) {
            let n = g.shape().num_elements();
            let w = value.inner().reshape([n]);
            let s = (self.f)(w, g.reshape([n]));
            self.total += s.into_scalar::<f64>();
        }
    }

    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push((name.to_string(), container_type.to_string()));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::conv::{Conv2d, Conv2dConfig};
    use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};

    /// conv1x1 (1 -> 2 channels, no bias) -> BN -> ReLU (recorded) -> global
    /// mean -> linear (2 -> 2, bias): small enough to score by hand.
    #[derive(Module, Debug)]
    struct Tiny {
        conv: Conv2d,
        bn: BatchNorm,
        head: Linear,
    }

    const CONV: [f32; 2] = [0.5, -2.0];
    const HEAD: [f32; 4] = [1.0, -3.0, 0.25, 2.0]; // [in][out], row-major
    const BIAS: [f32; 2] = [-0.5, 0.1];

    fn tiny(device: &Device) -> Tiny {
        let mut conv = Conv2dConfig::new([1, 2], [1, 1]).with_bias(false).init(device);
        conv.weight = Param::from_tensor(Tensor::from_data(TensorData::new(CONV.to_vec(), [2, 1, 1, 1]), device));
        let mut head = LinearConfig::new(2, 2).init(device);
        head.weight = Param::from_tensor(Tensor::from_data(TensorData::new(HEAD.to_vec(), [2, 2]), device));
        head.bias = Some(Param::from_tensor(Tensor::from_data(TensorData::new(BIAS.to_vec(), [2]), device)));
        Tiny { conv, bn: BatchNormConfig::new(2).init(device), head }
    }

    impl ImageClassifier for Tiny {
        fn forward(&self, images: Tensor<4>) -> Tensor<2> {
            let x = relu(crate::kernels::batch_norm(&self.bn, crate::kernels::conv2d(&self.conv, images)));
            let [n, c, _, _] = x.dims();
            self.head.forward(x.mean_dim(3).mean_dim(2).reshape([n, c]))
        }
    }

    fn images(pixels: Vec<f32>, hw: [usize; 2], labels: Vec<u32>) -> ImageDataset {
        ImageDataset::new("test", [1, hw[0], hw[1]], 2, pixels, labels).expect("valid")
    }

    #[test]
    fn synflow_is_the_hand_computed_score() {
        let device = Device::flex();
        // With |theta| and an all-ones input, R = sum_j sum_k |W_kj| |w_k| s + sum |b|
        // where s = 1 / sqrt(1 + eps) is the inference-mode batch norm at
        // initialisation. dR/dw_k = s sum_j |W_kj| and dR/dW_kj = s |w_k|, so the
        // score is 2 s sum_kj |W_kj| |w_k|.
        let s = 1.0 / (1.0f64 + 1e-5).sqrt();
        let mut expected = 0.0;
        for k in 0..2 {
            for j in 0..2 {
                expected += f64::from(HEAD[k * 2 + j].abs() * CONV[k].abs());
            }
        }
        expected *= 2.0 * s;
        let got = synflow(tiny(&device), [1, 3, 3], &device).expect("finite");
        assert!((got - expected.ln()).abs() < 1e-5, "{got} vs {}", expected.ln());
    }

    #[test]
    fn synflow_of_a_network_cut_from_its_input_is_minus_infinity() {
        let device = Device::flex();
        let mut net = tiny(&device);
        net.conv.weight = Param::from_tensor(Tensor::zeros([2, 1, 1, 1], &device));
        assert_eq!(synflow(net, [1, 3, 3], &device).expect("a score"), f64::NEG_INFINITY);
    }

    #[test]
    fn naswot_is_the_log_determinant_of_the_code_agreements() {
        let device = Device::flex();
        // Three 1x2 images. The batch norm (batch statistics) centres each channel
        // over the batch's 6 pixels (mean 2.3 / 6 = 0.383); channel 0 has weight
        // 0.5 and channel 1 weight -2, so a pixel above the mean is positive in
        // channel 0 and negative in channel 1. Image 0 = [2, -1], image 1 =
        // [1, 1], image 2 = [0.3, -1] -> above-mean masks [1, 0], [1, 1], [0, 0].
        // (Running statistics would centre at 0 and give image 2 the codes of
        // image 0: a singular kernel.)
        let data = images(vec![2.0, -1.0, 1.0, 1.0, 0.3, -1.0], [1, 2], vec![0, 1, 0]);
        // Codes over the 4 units (ch0 px0, ch0 px1, ch1 px0, ch1 px1):
        // a = [1, 0, 0, 1], b = [1, 1, 0, 0], c = [0, 0, 1, 1].
        // Agreements: a-b 2, a-c 2, b-c 0; 4 with itself.
        let k = [4.0, 2.0, 2.0, 2.0, 4.0, 0.0, 2.0, 0.0, 4.0];
        let expected = crate::linalg::log_abs_det(&k, 3);
        let got = naswot(&tiny(&device), &data, &device);
        assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
        // det = 4 (16 - 0) - 2 (8 - 0) + 2 (0 - 8) = 32.
        assert!((expected - 32f64.ln()).abs() < 1e-12);
        // Outside a score, `relu` records nothing.
        RECORDER.with(|r| assert!(r.borrow().is_none()));
    }

    #[test]
    fn grad_norm_matches_the_analytic_gradient_of_the_head() {
        let device = Device::flex();
        // The gradient of the mean cross-entropy by central finite differences in
        // every weight; grad_norm is the L2 norm of the conv's gradient plus that
        // of the head's.
        let data = images(vec![2.0, -1.0, 1.0, 1.0, -1.0, 0.5, 0.0, 3.0], [1, 2], vec![0, 1, 0, 1]);
        let net = tiny(&device);
        let got = grad_norm(net.clone(), &data, &device);
        let loss = |conv: [f32; 2], head: [f32; 4]| -> f64 {
            let ad = device.clone().autodiff();
            let mut m = tiny(&device);
            m.conv.weight =
                Param::from_tensor(Tensor::from_data(TensorData::new(conv.to_vec(), [2, 1, 1, 1]), &device));
            m.head.weight = Param::from_tensor(Tensor::from_data(TensorData::new(head.to_vec(), [2, 2]), &device));
            let m = m.train();
            let b = data.batch_range(0, data.len(), &ad);
            let l = CrossEntropyLossConfig::new().init(&ad).forward(m.forward(b.images), b.labels);
            l.into_scalar::<f32>() as f64
        };
        let h = 1e-2f32;
        let mut conv_sq = 0.0;
        for i in 0..2 {
            let (mut up, mut down) = (CONV, CONV);
            up[i] += h;
            down[i] -= h;
            let g = (loss(up, HEAD) - loss(down, HEAD)) / (2.0 * f64::from(h));
            conv_sq += g * g;
        }
        let mut head_sq = 0.0;
        for i in 0..4 {
            let (mut up, mut down) = (HEAD, HEAD);
            up[i] += h;
            down[i] -= h;
            let g = (loss(CONV, up) - loss(CONV, down)) / (2.0 * f64::from(h));
            head_sq += g * g;
        }
        let expected = conv_sq.sqrt() + head_sq.sqrt();
        assert!(expected > 0.01, "{expected}");
        assert!((got - expected).abs() < 2e-3 * expected.max(1.0), "{got} vs {expected}");
    }

    #[test]
    fn random_batches_are_seeded_and_standard_normal() {
        let a = proxy_batch(None, [3, 8, 8], 10, 64, 5);
        let b = proxy_batch(None, [3, 8, 8], 10, 64, 5);
        let c = proxy_batch(None, [3, 8, 8], 10, 64, 6);
        let px = |d: &ImageDataset| (0..d.len()).flat_map(|i| d.image(i).to_vec()).collect::<Vec<f32>>();
        assert_eq!(px(&a), px(&b));
        assert_ne!(px(&a), px(&c));
        let v = px(&a);
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.05 && (var - 1.0).abs() < 0.1, "mean {mean} var {var}");
    }
}
