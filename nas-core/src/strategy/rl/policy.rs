//! Controller policies over a sequence of categorical decisions, in burn.
//!
//! - [`CategoricalPolicy`]: one independent softmax per decision, logits
//!   initialised to zero (a uniform start), as TuNAS and ProxylessNAS's RL mode
//!   use.
//! - [`LstmPolicy`]: an autoregressive LSTM as in NASNet / ENAS: step `t` reads
//!   the embedding of decision `t − 1`'s choice (a start embedding at `t = 0`),
//!   and a linear head gives decision `t`'s logits (a slice per decision of one
//!   head, i.e. one softmax layer per decision). The head starts at zero, so the
//!   first policy is uniform. Optional ENAS logit shaping: `logits / T`, then
//!   `c · tanh(·)`.
//!
//! Sampling draws from the strategy's random stream (never burn's), so a policy
//! is a deterministic function of its parameters and of that stream.

use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig, Lstm, LstmConfig};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::{Rng, RngCore};

/// Draws an index from the probabilities `p` (which sum to about one).
pub fn sample_index(p: &[f64], rng: &mut dyn RngCore) -> usize {
    let u: f64 = rng.random::<f64>() * p.iter().sum::<f64>();
    let mut acc = 0.0;
    for (i, &pi) in p.iter().enumerate() {
        acc += pi;
        if u < acc {
            return i;
        }
    }
    p.iter().rposition(|&x| x > 0.0).unwrap_or(0)
}

/// The values of a `[rows, cols]` tensor, row by row.
fn rows_of(t: Tensor<2>) -> Vec<Vec<f64>> {
    let [_, cols] = t.dims();
    let flat: Vec<f32> = t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 tensor data");
    flat.chunks(cols.max(1)).map(|r| r.iter().map(|&v| f64::from(v)).collect()).collect()
}

/// An `Int` tensor of `values` with `shape`.
fn int_tensor<const D: usize>(values: Vec<i64>, shape: [usize; D], device: &Device) -> Tensor<D, Int> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// `Σ_t log π(a_t)` and the entropy of each sample, both `[batch]` and tracked.
pub struct LogProbs {
    /// Log-probability of each sample.
    pub log_prob: Tensor<1>,
    /// Entropy of the distributions each sample was drawn from (summed over decisions).
    pub entropy: Tensor<1>,
}

/// Independent categorical distributions, one per decision.
#[derive(Module, Debug)]
pub struct CategoricalPolicy {
    /// Logits `[decisions, max options]`; entries past a decision's arity are unused.
    pub logits: Param<Tensor<2>>,
    #[module(skip)]
    arities: Vec<usize>,
}

impl CategoricalPolicy {
    /// A uniform policy over decisions with `arities` options.
    pub fn new(arities: &[usize], device: &Device) -> Self {
        let k = arities.iter().copied().max().unwrap_or(1).max(1);
        let zeros = Tensor::zeros([arities.len().max(1), k], device);
        CategoricalPolicy { logits: Param::from_tensor(zeros), arities: arities.to_vec() }
    }

    /// Logits with the unused entries at -1e9.
    fn masked(&self) -> Tensor<2> {
        let logits = self.logits.val();
        let [t, k] = logits.dims();
        let mask: Vec<f32> =
            (0..t).flat_map(|i| (0..k).map(move |j| if j < self.arities[i] { 0.0 } else { -1e9 })).collect();
        logits + Tensor::from_data(TensorData::new(mask, [t, k]), &self.logits.val().device())
    }

    /// Each decision's probabilities (its arity long).
    pub fn probabilities(&self) -> Vec<Vec<f64>> {
        let rows = rows_of(softmax(self.masked(), 1));
        rows.into_iter().zip(&self.arities).map(|(r, &a)| r[..a].to_vec()).collect()
    }

    /// `n` samples, each one index per decision, and the distributions they were
    /// drawn from.
    pub fn sample(&self, n: usize, rng: &mut dyn RngCore) -> (Vec<Vec<usize>>, Vec<Vec<Vec<f64>>>) {
        let p = self.probabilities();
        let samples = (0..n).map(|_| p.iter().map(|row| sample_index(row, rng)).collect()).collect();
        (samples, vec![p; n])
    }

    /// Log-probabilities and entropies of `samples` (tracked).
    pub fn log_probs(&self, samples: &[Vec<usize>]) -> LogProbs {
        let lsm = log_softmax(self.masked(), 1);
        let [t, k] = lsm.dims();
        let device = lsm.device();
        let b = samples.len();
        let entropy = -(lsm.clone().exp() * lsm.clone()).sum();
        let flat: Vec<i64> =
            samples.iter().flat_map(|s| s.iter().enumerate().map(move |(i, &a)| (i * k + a) as i64)).collect();
        let picked = lsm.reshape([t * k]).select(0, int_tensor(flat, [b * t], &device));
        let log_prob = picked.reshape([b, t]).sum_dim(1).reshape([b]);
        LogProbs { log_prob, entropy: entropy.expand([b]) }
    }
}

/// An autoregressive LSTM policy (NASNet / ENAS controller).
#[derive(Module, Debug)]
pub struct LstmPolicy {
    /// Embeddings `[1 + Σ arities, hidden]`: row 0 starts the sequence, then one
    /// row per option of each decision.
    pub embed: Param<Tensor<2>>,
    /// The recurrent cell.
    pub lstm: Lstm,
    /// Logits of every decision's options, `hidden → Σ arities`.
    pub head: Linear,
    #[module(skip)]
    arities: Vec<usize>,
    #[module(skip)]
    offsets: Vec<usize>,
    #[module(skip)]
    temperature: Option<f64>,
    #[module(skip)]
    tanh_constant: Option<f64>,
}

impl LstmPolicy {
    /// A policy over decisions with `arities` options, hidden size `hidden`.
    /// Initialise it inside [`init_seeded`](crate::train::init_seeded).
    pub fn new(
        arities: &[usize],
        hidden: usize,
        temperature: Option<f64>,
        tanh_constant: Option<f64>,
        device: &Device,
    ) -> Self {
        let total: usize = arities.iter().sum();
        let offsets = arities.iter().scan(0, |acc, &a| Some(std::mem::replace(acc, *acc + a))).collect();
        let embed = Initializer::Uniform { min: -0.1, max: 0.1 }.init([1 + total, hidden], device);
        LstmPolicy {
            embed,
            lstm: LstmConfig::new(hidden, hidden, true).init(device),
            head: LinearConfig::new(hidden, total.max(1)).with_initializer(Initializer::Zeros).init(device),
            arities: arities.to_vec(),
            offsets,
            temperature,
            tanh_constant,
        }
    }

    /// Decision `t`'s logits from hidden states `[batch, hidden]` (or head
    /// outputs when `projected`).
    fn shape_logits(&self, projected: Tensor<2>, t: usize) -> Tensor<2> {
        let mut l = projected.narrow(1, self.offsets[t], self.arities[t]);
        if let Some(temp) = self.temperature {
            l = l / temp;
        }
        if let Some(c) = self.tanh_constant {
            l = l.tanh() * c;
        }
        l
    }

    /// Embedding rows of option `a` of decision `t`.
    fn row(&self, t: usize, a: usize) -> i64 {
        (1 + self.offsets[t] + a) as i64
    }

    /// `n` samples and the distribution of each step along each sample.
    pub fn sample(&self, n: usize, rng: &mut dyn RngCore) -> (Vec<Vec<usize>>, Vec<Vec<Vec<f64>>>) {
        let device = self.embed.val().device();
        let hidden = self.embed.val().dims()[1];
        let mut samples = vec![Vec::with_capacity(self.arities.len()); n];
        let mut dists = vec![Vec::with_capacity(self.arities.len()); n];
        if n == 0 {
            return (samples, dists);
        }
        let mut input = self.embed.val().detach().select(0, int_tensor(vec![0; n], [n], &device));
        let mut state = None;
        for t in 0..self.arities.len() {
            let (out, st) = self.lstm.forward(input.reshape([n, 1, hidden]), state);
            state = Some(st);
            let h = out.reshape([n, hidden]);
            let probs = rows_of(softmax(self.shape_logits(self.head.forward(h), t), 1));
            let mut rows = Vec::with_capacity(n);
            for (i, p) in probs.into_iter().enumerate() {
                let a = sample_index(&p, rng);
                samples[i].push(a);
                dists[i].push(p);
                rows.push(self.row(t, a));
            }
            input = self.embed.val().detach().select(0, int_tensor(rows, [n], &device));
        }
        (samples, dists)
    }

    /// Log-probabilities and entropies (along each sample's path) of `samples`
    /// (tracked, teacher-forced in one pass).
    pub fn log_probs(&self, samples: &[Vec<usize>]) -> LogProbs {
        let device = self.embed.val().device();
        let hidden = self.embed.val().dims()[1];
        let (b, t_len) = (samples.len(), self.arities.len());
        let rows: Vec<i64> = samples
            .iter()
            .flat_map(|s| std::iter::once(0).chain((0..t_len.saturating_sub(1)).map(|t| self.row(t, s[t]))))
            .collect();
        let inputs = self.embed.val().select(0, int_tensor(rows, [b * t_len], &device)).reshape([b, t_len, hidden]);
        let (out, _) = self.lstm.forward(inputs, None);
        let projected = self.head.forward(out);
        let total = projected.dims()[2];
        let mut log_prob: Option<Tensor<1>> = None;
        let mut entropy: Option<Tensor<1>> = None;
        for t in 0..t_len {
            let step = projected.clone().narrow(1, t, 1).reshape([b, total]);
            let lsm = log_softmax(self.shape_logits(step, t), 1);
            let picks: Vec<i64> = samples.iter().map(|s| s[t] as i64).collect();
            let lp = lsm.clone().gather(1, int_tensor(picks, [b, 1], &device)).reshape([b]);
            let h = -(lsm.clone().exp() * lsm).sum_dim(1).reshape([b]);
            log_prob = Some(match log_prob {
                Some(acc) => acc + lp,
                None => lp,
            });
            entropy = Some(match entropy {
                Some(acc) => acc + h,
                None => h,
            });
        }
        let zeros = || Tensor::zeros([b], &device);
        LogProbs { log_prob: log_prob.unwrap_or_else(zeros), entropy: entropy.unwrap_or_else(zeros) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::init_seeded;
    use rand::SeedableRng;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn values(t: Tensor<1>) -> Vec<f64> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32").into_iter().map(f64::from).collect()
    }

    #[test]
    fn categorical_log_probs_match_the_probabilities_and_start_uniform() {
        let device = Device::flex();
        let p = CategoricalPolicy::new(&[2, 5, 3], &device);
        let probs = p.probabilities();
        assert_eq!(probs.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 5, 3]);
        assert!(probs[1].iter().all(|&x| close(x, 0.2, 1e-6)));
        let lp = p.log_probs(&[vec![1, 4, 2], vec![0, 0, 0]]);
        let expect = (0.5f64 * 0.2 * (1.0 / 3.0)).ln();
        for v in values(lp.log_prob) {
            assert!(close(v, expect, 1e-5), "{v} vs {expect}");
        }
        let h = (2f64).ln() + (5f64).ln() + (3f64).ln();
        assert!(values(lp.entropy).iter().all(|&v| close(v, h, 1e-5)));
    }

    #[test]
    fn lstm_log_probs_match_the_sampled_step_distributions() {
        let device = Device::flex();
        let arities = [3, 2, 4];
        let p = init_seeded(7, &device, || LstmPolicy::new(&arities, 8, Some(2.0), Some(2.5), &device));
        // Give the head non-zero weights so the steps depend on the history.
        let p = init_seeded(8, &device, || LstmPolicy { head: LinearConfig::new(8, 9).init(&device), ..p });
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (samples, dists) = p.sample(5, &mut rng);
        let lp = values(p.log_probs(&samples).log_prob);
        let ent = values(p.log_probs(&samples).entropy);
        for i in 0..5 {
            let expect: f64 = samples[i].iter().zip(&dists[i]).map(|(&a, d)| d[a].ln()).sum();
            assert!(close(lp[i], expect, 1e-4), "sample {i}: {} vs {expect}", lp[i]);
            let h: f64 = dists[i].iter().map(|d| -d.iter().map(|&q| q * q.ln()).sum::<f64>()).sum();
            assert!(close(ent[i], h, 1e-4));
            for d in &dists[i] {
                // tanh shaping bounds the logits: no probability below e^-5 / k.
                assert!(d.iter().all(|&q| q > (-5f64).exp() / 4.0));
            }
        }
        // Different histories give different step distributions.
        assert!(dists.iter().any(|d| d[2] != dists[0][2]));
    }

    #[test]
    fn sampling_follows_the_probabilities() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let p = [0.1, 0.0, 0.6, 0.3];
        let mut counts = [0usize; 4];
        for _ in 0..20_000 {
            counts[sample_index(&p, &mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        for (c, q) in counts.iter().zip(p) {
            assert!(close(*c as f64 / 20_000.0, q, 0.015), "{counts:?}");
        }
    }
}
