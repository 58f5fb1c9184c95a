//! A multi-layer perceptron regressor trained with burn (Adam, mean squared
//! error, ReLU hidden layers), on standardised features and targets.
//!
//! Training runs on burn's `flex` CPU backend inside a private one-thread pool, with
//! weights initialised from the fit's own ChaCha generator (not burn's global
//! generator): a fit is bit-identical for the same data, hyper-parameters and seed,
//! whatever the number of threads and whatever runs beside it. Prediction is a
//! plain Rust forward pass over the stored weights.
//!
//! [`MlpConfig::fit_from`] starts from pretrained hidden layers (see
//! [`pretrain`](crate::pretrain)).

use super::{Fit, Predict, Prediction, Scaler, check_rows, check_training, target_stats};
use crate::error::{PredictorError, Result, check};
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Hyper-parameters of [`Mlp`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlpConfig {
    /// Hidden layer widths (default `[64, 64]`).
    pub hidden: Vec<usize>,
    /// Passes over the training rows (default 200).
    pub epochs: usize,
    /// Rows per Adam step (default 16; 0 = all rows).
    pub batch_size: usize,
    /// Adam learning rate, cosine-annealed to 0 (default 3e-3).
    pub learning_rate: f64,
    /// L2 weight decay (default 1e-4).
    pub weight_decay: f64,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig { hidden: vec![64, 64], epochs: 200, batch_size: 16, learning_rate: 3e-3, weight_decay: 1e-4 }
    }
}

impl MlpConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check(self.hidden.iter().all(|&h| h >= 1), "hidden", format!("{:?}", self.hidden), "widths >= 1")?;
        check(self.epochs >= 1, "epochs", self.epochs, "an integer >= 1")?;
        check(
            self.learning_rate.is_finite() && self.learning_rate > 0.0,
            "learning_rate",
            self.learning_rate,
            "a finite number > 0",
        )?;
        check(
            self.weight_decay.is_finite() && self.weight_decay >= 0.0,
            "weight_decay",
            self.weight_decay,
            "a finite number >= 0",
        )
    }
}

/// One dense layer: `out = in . w + b`, `w` row-major `[d_in, d_out]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    /// Input width.
    pub d_in: usize,
    /// Output width.
    pub d_out: usize,
    /// Weights, row-major `[d_in, d_out]`.
    pub w: Vec<f32>,
    /// Biases.
    pub b: Vec<f32>,
}

impl Dense {
    /// Kaiming-uniform initialisation (as burn's `Linear`) from `rng`.
    pub fn init(d_in: usize, d_out: usize, rng: &mut impl Rng) -> Self {
        let k = (1.0 / d_in.max(1) as f64).sqrt() as f32;
        Dense {
            d_in,
            d_out,
            w: (0..d_in * d_out).map(|_| rng.random_range(-k..k)).collect(),
            b: (0..d_out).map(|_| rng.random_range(-k..k)).collect(),
        }
    }

    fn apply(&self, x: &[f32], relu: bool) -> Vec<f32> {
        let mut out = self.b.clone();
        for (i, xi) in x.iter().enumerate() {
            let row = &self.w[i * self.d_out..(i + 1) * self.d_out];
            for (o, w) in out.iter_mut().zip(row) {
                *o += xi * w;
            }
        }
        if relu {
            for o in &mut out {
                *o = o.max(0.0);
            }
        }
        out
    }
}

/// Forward pass of stacked dense layers (ReLU on all but the last).
pub fn forward(layers: &[Dense], x: &[f32]) -> Vec<f32> {
    let mut h = x.to_vec();
    for (i, l) in layers.iter().enumerate() {
        h = l.apply(&h, i + 1 < layers.len());
    }
    h
}

/// Weights of a fitted [`Mlp`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpWeights {
    /// Feature standardisation.
    pub scaler: Scaler,
    /// Target mean.
    pub y_mean: f64,
    /// Target standard deviation.
    pub y_std: f64,
    /// Layers, input first; the last has one output.
    pub layers: Vec<Dense>,
}

/// A fitted MLP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    /// Hyper-parameters it was fitted with.
    pub hyper_parameters: MlpConfig,
    /// Learned weights.
    pub weights: MlpWeights,
}

#[derive(Module, Debug)]
struct Net {
    layers: Vec<Linear>,
}

impl Net {
    fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len().saturating_sub(1);
        for (i, l) in self.layers.iter().enumerate() {
            x = l.forward(x);
            if i < last {
                x = burn::tensor::activation::relu(x);
            }
        }
        x
    }
}

fn to_linear(d: &Dense, device: &Device) -> Linear {
    let w = Tensor::<2>::from_data(TensorData::new(d.w.clone(), [d.d_in, d.d_out]), device);
    let b = Tensor::<1>::from_data(TensorData::new(d.b.clone(), [d.d_out]), device);
    Linear { weight: Param::from_tensor(w), bias: Some(Param::from_tensor(b)) }
}

fn from_linear(l: &Linear) -> Result<Dense> {
    let backend = |e: burn::tensor::DataError| PredictorError::Backend { reason: format!("{e:?}") };
    let wd = l.weight.val().into_data();
    let shape = wd.shape().to_vec();
    let w = wd.try_to_vec::<f32>().map_err(backend)?;
    let b = match &l.bias {
        Some(b) => b.val().into_data().try_to_vec::<f32>().map_err(backend)?,
        None => vec![0.0; shape[1]],
    };
    Ok(Dense { d_in: shape[0], d_out: shape[1], w, b })
}

/// Trains `layers` (any widths; the last layer's output width must match the
/// target rows) with Adam on squared error; returns the trained layers.
/// `x` and `y` are already standardised.
pub(crate) fn train_layers(
    layers: Vec<Dense>,
    x: &[Vec<f32>],
    y: &[Vec<f32>],
    cfg: &MlpConfig,
    seed: u64,
) -> Result<Vec<Dense>> {
    let run = || -> Result<Vec<Dense>> {
        let device = Device::flex();
        let ad = device.clone().autodiff();
        let mut net = Net { layers: layers.iter().map(|l| to_linear(l, &device)).collect() }.train();
        let decay = (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32));
        let mut optim = AdamConfig::new().with_weight_decay(decay).init();
        let n = x.len();
        let d_in = x.first().map_or(0, Vec::len);
        let d_out = y.first().map_or(0, Vec::len);
        let bs = if cfg.batch_size == 0 { n } else { cfg.batch_size.min(n) };
        let steps_per_epoch = n.div_ceil(bs);
        let total = (steps_per_epoch * cfg.epochs) as f64;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4D4C_5000);
        let mut order: Vec<usize> = (0..n).collect();
        let mut step = 0usize;
        for _ in 0..cfg.epochs {
            order.shuffle(&mut rng);
            for chunk in order.chunks(bs) {
                let xb: Vec<f32> = chunk.iter().flat_map(|&i| x[i].iter().copied()).collect();
                let yb: Vec<f32> = chunk.iter().flat_map(|&i| y[i].iter().copied()).collect();
                let xt = Tensor::<2>::from_data(TensorData::new(xb, [chunk.len(), d_in]), &ad);
                let yt = Tensor::<2>::from_data(TensorData::new(yb, [chunk.len(), d_out]), &ad);
                let diff = net.forward(xt) - yt;
                let loss = (diff.clone() * diff).mean();
                let lr = 0.5 * cfg.learning_rate * (1.0 + (std::f64::consts::PI * step as f64 / total).cos());
                let grads = GradientsParams::from_grads(loss.backward(), &net);
                net = optim.step(lr, net, grads);
                step += 1;
            }
        }
        let net = net.valid();
        net.layers.iter().map(from_linear).collect()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| PredictorError::Backend { reason: format!("cannot start the training thread: {e}") })?;
    pool.install(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|p| {
            let reason = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Err(PredictorError::Backend { reason })
        })
    })
}

/// Fresh layers `d_in -> hidden... -> d_out`.
pub(crate) fn init_layers(d_in: usize, hidden: &[usize], d_out: usize, rng: &mut impl Rng) -> Vec<Dense> {
    let mut widths = vec![d_in];
    widths.extend_from_slice(hidden);
    widths.push(d_out);
    widths.windows(2).map(|w| Dense::init(w[0], w[1], rng)).collect()
}

impl MlpConfig {
    /// Fits starting from `pretrained` (a scaler and layers whose last layer is
    /// replaced by a fresh one-output head); the hidden widths are those of
    /// `pretrained`. Used for FBNetV3-style fine-tuning.
    pub fn fit_from(&self, pretrained: &(Scaler, Vec<Dense>), x: &[Vec<f64>], y: &[f64], seed: u64) -> Result<Mlp> {
        self.validate()?;
        let d = check_training(x, y)?;
        let (scaler, layers) = pretrained;
        if scaler.mean.len() != d {
            return Err(PredictorError::FeatureMismatch { row: 0, expected: scaler.mean.len(), found: d });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut layers = layers.clone();
        let last = layers.pop().map_or(d, |l| l.d_in);
        layers.push(Dense::init(last, 1, &mut rng));
        self.fit_layers(scaler.clone(), layers, x, y, seed)
    }

    fn fit_layers(&self, scaler: Scaler, layers: Vec<Dense>, x: &[Vec<f64>], y: &[f64], seed: u64) -> Result<Mlp> {
        let (y_mean, y_std) = target_stats(y);
        let xs: Vec<Vec<f32>> = x.iter().map(|r| scaler.transform(r).into_iter().map(|v| v as f32).collect()).collect();
        let ys: Vec<Vec<f32>> = y.iter().map(|t| vec![((t - y_mean) / y_std) as f32]).collect();
        let layers = train_layers(layers, &xs, &ys, self, seed)?;
        let mut cfg = self.clone();
        cfg.hidden = layers[..layers.len() - 1].iter().map(|l| l.d_out).collect();
        Ok(Mlp { hyper_parameters: cfg, weights: MlpWeights { scaler, y_mean, y_std, layers } })
    }
}

impl Fit for MlpConfig {
    type Model = Mlp;
    fn fit(&self, x: &[Vec<f64>], y: &[f64], seed: u64) -> Result<Mlp> {
        self.validate()?;
        let d = check_training(x, y)?;
        let scaler = Scaler::fit(x);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layers = init_layers(d, &self.hidden, 1, &mut rng);
        self.fit_layers(scaler, layers, x, y, seed)
    }
}

impl Predict for Mlp {
    fn n_features(&self) -> usize {
        self.weights.scaler.mean.len()
    }
    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction> {
        check_rows(x, self.n_features())?;
        let w = &self.weights;
        Ok(Prediction::mean_only(
            x.iter()
                .map(|r| {
                    let z: Vec<f32> = w.scaler.transform(r).into_iter().map(|v| v as f32).collect();
                    w.y_mean + w.y_std * forward(&w.layers, &z)[0] as f64
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::*;

    #[test]
    fn fits_a_smooth_function_reproducibly() {
        let (x, y) = toy_data(200, 3, 1);
        let (xt, yt) = toy_data(100, 3, 2);
        let cfg = MlpConfig { epochs: 150, ..Default::default() };
        let m = cfg.fit(&x, &y, 5).expect("fit");
        let p = m.predict(&xt).expect("predict");
        let base = rmse(&vec![y.iter().sum::<f64>() / y.len() as f64; yt.len()], &yt);
        let err = rmse(&p.mean, &yt);
        assert!(err < 0.2 * base, "rmse {err} vs constant {base}");
        assert_eq!(cfg.fit(&x, &y, 5).expect("fit"), m, "same seed, same weights");
    }
}
