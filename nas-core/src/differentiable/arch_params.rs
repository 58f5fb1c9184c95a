//! The architecture weights — a burn module of their own, so they have their
//! own optimiser and learning rate — and the mix each method builds from them.
//!
//! - DARTS: `softmax(α)` over the ops of every edge (dense).
//! - PC-DARTS: the same, with partial channels and edge weights
//!   `softmax(β)` over the edges entering each node.
//! - GDAS: per edge a Gumbel-softmax sample `y = softmax((log_softmax(α) + g) / τ)`,
//!   `g` Gumbel(0, 1) noise; only `argmax y` runs, with the straight-through gate
//!   `one_hot − y.detach() + y` (value one-hot, gradient that of `y`).
//! - ProxylessNAS: binary gates on one sampled path per edge (weight steps) or
//!   `paths` sampled paths (architecture steps), whose gate gradients give the
//!   architecture gradient (see [`proxyless_alpha_grad`]).

use super::mix::{EdgeMix, MixKind};
use super::settings::Method;
use super::supernet::SupernetLayout;
use burn::module::{Module, Param};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand::RngCore;

/// The architecture weights: `alpha` `[edges, ops]` and, for edge
/// normalisation, `beta` `[edges]`.
#[derive(Module, Debug)]
pub struct ArchParams {
    /// Op logits per edge.
    pub alpha: Param<Tensor<2>>,
    /// Edge logits (PC-DARTS).
    pub beta: Option<Param<Tensor<1>>>,
}

/// A standard normal draw (Box–Muller) from `rng`.
fn normal(rng: &mut dyn RngCore) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// `rows` as a `[rows, cols]` tensor on `device`.
pub fn matrix_tensor(rows: &[Vec<f64>], device: &Device) -> Tensor<2> {
    let cols = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.iter().flatten().map(|v| *v as f32).collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), cols]), device)
}

/// The rows of a `[rows, cols]` tensor.
pub fn matrix_values(t: Tensor<2>) -> Vec<Vec<f64>> {
    let [_, cols] = t.dims();
    let flat: Vec<f32> = t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 tensor data");
    flat.chunks(cols.max(1)).map(|r| r.iter().map(|v| *v as f64).collect()).collect()
}

impl ArchParams {
    /// `1e-3 · N(0, 1)` logits (as DARTS initialises them), drawn from `rng`.
    pub fn new(layout: &SupernetLayout, edge_norm: bool, rng: &mut dyn RngCore, device: &Device) -> Self {
        let (e, o) = (layout.num_edges(), layout.num_ops());
        let rows: Vec<Vec<f64>> = (0..e).map(|_| (0..o).map(|_| 1e-3 * normal(rng)).collect()).collect();
        let beta = edge_norm.then(|| {
            let v: Vec<f32> = (0..e).map(|_| (1e-3 * normal(rng)) as f32).collect();
            Param::from_tensor(Tensor::from_data(TensorData::new(v, [e]), device))
        });
        ArchParams { alpha: Param::from_tensor(matrix_tensor(&rows, device)), beta }
    }

    /// `softmax(α)` per edge (tracked).
    pub fn op_weights(&self) -> Tensor<2> {
        softmax(self.alpha.val(), 1)
    }

    /// `softmax(β)` over the edges of each node (tracked), with edge
    /// normalisation.
    pub fn edge_weights(&self, layout: &SupernetLayout) -> Option<Tensor<1>> {
        let beta = self.beta.as_ref()?.val();
        let parts: Vec<Tensor<1>> = layout
            .node_edges
            .iter()
            .filter(|g| !g.is_empty())
            .map(|g| softmax(beta.clone().narrow(0, g[0], g.len()), 0))
            .collect();
        Some(Tensor::cat(parts, 0))
    }

    /// The op weights' values.
    pub fn op_weight_values(&self) -> Vec<Vec<f64>> {
        matrix_values(self.op_weights())
    }

    /// The edge weights' values, with edge normalisation.
    pub fn edge_weight_values(&self, layout: &SupernetLayout) -> Option<Vec<f64>> {
        let t = self.edge_weights(layout)?;
        Some(t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32").into_iter().map(f64::from).collect())
    }

    /// The α logits' values.
    pub fn alpha_values(&self) -> Vec<Vec<f64>> {
        matrix_values(self.alpha.val())
    }
}

/// The mix of a step: `tracked` keeps the graph to α (architecture steps),
/// otherwise α is detached (weight steps). GDAS and ProxylessNAS draw their
/// samples from `rng`; `tau` is GDAS's temperature.
pub fn method_mix(
    method: &Method,
    arch: &ArchParams,
    layout: &SupernetLayout,
    tracked: bool,
    tau: Option<f64>,
    rng: &mut dyn RngCore,
) -> EdgeMix {
    let alpha = if tracked { arch.alpha.val() } else { arch.alpha.val().detach() };
    let device = alpha.device();
    match method {
        Method::Darts { .. } | Method::PcDarts { .. } => {
            let edge_scale = arch.edge_weights(layout).map(|s| if tracked { s } else { s.detach() });
            EdgeMix { kind: MixKind::Dense(softmax(alpha, 1)), partial: method.partial(), edge_scale }
        }
        Method::Gdas { .. } => {
            let noise = gumbel_noise(layout, rng);
            gdas_mix(alpha, &noise, tau.unwrap_or(1.0), tracked)
        }
        Method::Proxyless { .. } => {
            // Weight steps: one path per edge, sampled from softmax(α), gate 1.
            let probs = matrix_values(softmax(alpha.detach(), 1));
            let active: Vec<Vec<usize>> = probs.iter().map(|p| vec![sample_index(p, rng)]).collect();
            let ones = vec![vec![1.0; layout.num_ops()]; layout.num_edges()];
            EdgeMix {
                kind: MixKind::Sampled { active, gates: matrix_tensor(&ones, &device) },
                partial: 1,
                edge_scale: None,
            }
        }
    }
}

/// Gumbel(0, 1) noise `[edges][ops]` from `rng`.
pub fn gumbel_noise(layout: &SupernetLayout, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
    (0..layout.num_edges())
        .map(|_| (0..layout.num_ops()).map(|_| -(-(rng.random::<f64>().max(1e-20)).ln()).ln()).collect())
        .collect()
}

/// GDAS's mix for logits `alpha` and Gumbel `noise`: the op of the largest
/// `y = softmax((log_softmax(α) + g) / τ)` per edge, gated by
/// `one_hot − y.detach() + y` when `tracked` (by `one_hot` otherwise).
pub fn gdas_mix(alpha: Tensor<2>, noise: &[Vec<f64>], tau: f64, tracked: bool) -> EdgeMix {
    let device = alpha.device();
    let o = alpha.dims()[1];
    let y = softmax((log_softmax(alpha, 1) + matrix_tensor(noise, &device)) / tau as f32, 1);
    let values = matrix_values(y.clone().detach());
    let active: Vec<Vec<usize>> = values.iter().map(|r| vec![super::supernet::argmax(r)]).collect();
    let one_hot: Vec<Vec<f64>> =
        active.iter().map(|a| (0..o).map(|j| if j == a[0] { 1.0 } else { 0.0 }).collect()).collect();
    let hard = matrix_tensor(&one_hot, &device);
    let gates = if tracked { hard - y.clone().detach() + y } else { hard };
    EdgeMix { kind: MixKind::Sampled { active, gates }, partial: 1, edge_scale: None }
}

/// An index drawn with probabilities `p` (summing to ~1).
pub fn sample_index(p: &[f64], rng: &mut dyn RngCore) -> usize {
    let total: f64 = p.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, v) in p.iter().enumerate() {
        if u < *v {
            return i;
        }
        u -= v;
    }
    p.len() - 1
}

/// `count` distinct indices drawn in turn with probabilities `p` renormalised
/// over what is left.
pub fn sample_distinct(p: &[f64], count: usize, rng: &mut dyn RngCore) -> Vec<usize> {
    let mut left = p.to_vec();
    let mut out = Vec::new();
    for _ in 0..count.min(p.len()) {
        let i = sample_index(&left, rng);
        out.push(i);
        left[i] = 0.0;
    }
    out
}

/// ProxylessNAS's binarised architecture step: per edge, `paths` candidate ops
/// sampled from `softmax(α)`; the active one is drawn from the softmax of
/// their logits. Returns the mix (gates: a leaf tensor requiring grad, 1 on the
/// active op) and the sampled sets.
pub fn proxyless_arch_mix(
    alpha: &[Vec<f64>],
    paths: usize,
    rng: &mut dyn RngCore,
    device: &Device,
) -> (EdgeMix, Vec<Vec<usize>>, Tensor<2>) {
    let mut sets = Vec::with_capacity(alpha.len());
    let mut gates = vec![vec![0.0; alpha.first().map_or(0, Vec::len)]; alpha.len()];
    for (e, row) in alpha.iter().enumerate() {
        let p = softmax_row(row);
        let set = sample_distinct(&p, paths, rng);
        let q = softmax_row(&set.iter().map(|&i| row[i]).collect::<Vec<_>>());
        let active = set[sample_index(&q, rng)];
        gates[e][active] = 1.0;
        sets.push(set);
    }
    let gates = matrix_tensor(&gates, device).require_grad();
    let mix =
        EdgeMix { kind: MixKind::Sampled { active: sets.clone(), gates: gates.clone() }, partial: 1, edge_scale: None };
    (mix, sets, gates)
}

/// ProxylessNAS's path-level gradient (Cai et al. 2019, eq. 4): with two
/// sampled paths `S` of an edge and `q = softmax(α_S)`,
/// `∂L/∂α_i = Σ_{j∈S} ∂L/∂g_j · q_j (δ_ij − q_i)` for `i ∈ S`, 0 for the other
/// ops (the paper's two-path approximation). With one sampled path `s` only
/// its gate gradient is known, and eq. 4 keeps that term over the full
/// distribution `p = softmax(α)`: `∂L/∂α_i = ∂L/∂g_s · p_s (δ_is − p_i)`.
pub fn proxyless_alpha_grad(alpha: &[Vec<f64>], sets: &[Vec<usize>], gate_grads: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut out = vec![vec![0.0; alpha.first().map_or(0, Vec::len)]; alpha.len()];
    for (e, set) in sets.iter().enumerate() {
        if let [s] = set[..] {
            let p = softmax_row(&alpha[e]);
            for (i, slot) in out[e].iter_mut().enumerate() {
                *slot = gate_grads[e][s] * p[s] * (if i == s { 1.0 } else { 0.0 } - p[i]);
            }
            continue;
        }
        let q = softmax_row(&set.iter().map(|&i| alpha[e][i]).collect::<Vec<_>>());
        for (a, &i) in set.iter().enumerate() {
            out[e][i] = set
                .iter()
                .enumerate()
                .map(|(b, &j)| gate_grads[e][j] * q[b] * (if a == b { 1.0 } else { 0.0 } - q[a]))
                .sum();
        }
    }
    out
}

/// ProxylessNAS's rescaling after an architecture step: the sampled logits are
/// shifted so that their total probability against the unsampled ops stays
/// what it was before the step.
pub fn proxyless_rescale(before: &[Vec<f64>], after: &mut [Vec<f64>], sets: &[Vec<usize>]) {
    for (e, set) in sets.iter().enumerate().filter(|(_, s)| s.len() > 1) {
        let lse = |row: &[f64]| {
            let m = set.iter().map(|&i| row[i]).fold(f64::NEG_INFINITY, f64::max);
            m + set.iter().map(|&i| (row[i] - m).exp()).sum::<f64>().ln()
        };
        let offset = lse(&after[e]) - lse(&before[e]);
        for &i in set {
            after[e][i] -= offset;
        }
    }
}

/// Softmax of one row.
pub fn softmax_row(row: &[f64]) -> Vec<f64> {
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::differentiable::supernet::EdgeChoices;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn layout() -> SupernetLayout {
        SupernetLayout {
            edges: (0..3)
                .map(|e| EdgeChoices {
                    name: format!("e{e}"),
                    ops: vec!["a".into(), "b".into(), "c".into(), "d".into()],
                })
                .collect(),
            node_edges: vec![vec![0], vec![1, 2]],
            param_free: vec![],
        }
    }

    #[test]
    fn gumbel_hard_samples_are_one_hot_with_the_soft_gradient() {
        let device = Device::flex().autodiff();
        let lay = layout();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let arch = ArchParams::new(&lay, false, &mut rng, &Device::flex()).train();
        let method = Method::Gdas { tau_max: 1.0, tau_min: 1.0 };
        let mut r1 = ChaCha8Rng::seed_from_u64(9);
        let mix = method_mix(&method, &arch, &lay, true, Some(1.0), &mut r1);
        let MixKind::Sampled { active, gates } = &mix.kind else { panic!("sampled") };
        let values = matrix_values(gates.clone());
        for (row, a) in values.iter().zip(active) {
            for (j, v) in row.iter().enumerate() {
                let want = if j == a[0] { 1.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-6, "{row:?}");
            }
        }
        // d/dα of Σ gates · c equals d/dα of Σ y · c for the same noise.
        let c =
            matrix_tensor(&[vec![1.0, 2.0, 3.0, 4.0], vec![0.5, 0.0, -1.0, 2.0], vec![3.0, 1.0, 0.0, 1.0]], &device);
        let g_hard = (gates.clone() * c.clone()).sum().backward();
        let hard = matrix_values(arch.alpha.grad(&g_hard).expect("grad"));
        // The soft sample with the same noise stream.
        let mut r2 = ChaCha8Rng::seed_from_u64(9);
        let noise: Vec<Vec<f64>> =
            (0..3).map(|_| (0..4).map(|_| -(-(r2.random::<f64>().max(1e-20)).ln()).ln()).collect()).collect();
        let y = softmax(log_softmax(arch.alpha.val(), 1) + matrix_tensor(&noise, &device), 1);
        let g_soft = (y * c).sum().backward();
        let soft = matrix_values(arch.alpha.grad(&g_soft).expect("grad"));
        for (a, b) in hard.iter().flatten().zip(soft.iter().flatten()) {
            assert!((a - b).abs() < 1e-5, "{hard:?} vs {soft:?}");
        }
        assert!(hard.iter().flatten().any(|v| v.abs() > 1e-4), "a gradient reaches α");
    }

    #[test]
    fn edge_weights_are_a_softmax_per_node() {
        let lay = layout();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let arch = ArchParams::new(&lay, true, &mut rng, &Device::flex());
        let w = arch.edge_weight_values(&lay).expect("edge norm");
        assert!((w[0] - 1.0).abs() < 1e-6, "a node with one edge: {w:?}");
        assert!((w[1] + w[2] - 1.0).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn proxyless_gradient_matches_the_softmax_jacobian_on_the_sampled_pair() {
        let alpha = vec![vec![0.3, -0.2, 0.9, 0.0]];
        let sets = vec![vec![2, 0]];
        let gg = vec![vec![0.7, 9.0, -0.4, 9.0]];
        let g = proxyless_alpha_grad(&alpha, &sets, &gg);
        // q over {α2, α0} = softmax(0.9, 0.3); ∂/∂α2 = q2 q0 (g2 − g0).
        let q2 = 0.9f64.exp() / (0.9f64.exp() + 0.3f64.exp());
        let q0 = 1.0 - q2;
        assert!((g[0][2] - q2 * q0 * (-0.4 - 0.7)).abs() < 1e-12);
        assert!((g[0][0] - q0 * q2 * (0.7 + 0.4)).abs() < 1e-12);
        assert_eq!((g[0][1], g[0][3]), (0.0, 0.0), "unsampled ops get no gradient");
        let mut after = vec![vec![1.3, -0.2, 0.4, 0.0]];
        proxyless_rescale(&alpha, &mut after, &sets);
        let mass = |r: &[f64]| (r[0].exp() + r[2].exp()) / r.iter().map(|v| v.exp()).sum::<f64>();
        assert!((mass(&after[0]) - mass(&alpha[0])).abs() < 1e-12, "the pair keeps its probability");
        // One path: the sampled gate's term over the full softmax.
        let g1 = proxyless_alpha_grad(&alpha, &[vec![2]], &gg);
        let p = softmax_row(&alpha[0]);
        assert!((g1[0][2] - (-0.4) * p[2] * (1.0 - p[2])).abs() < 1e-12);
        assert!((g1[0][1] - (-0.4) * p[2] * (-p[1])).abs() < 1e-12);
        assert!((g1[0].iter().sum::<f64>()).abs() < 1e-12, "softmax gradients sum to zero");
    }

    #[test]
    fn distinct_samples_follow_the_probabilities() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let p = [0.7, 0.2, 0.1, 0.0];
        let mut first = [0usize; 4];
        for _ in 0..2000 {
            let s = sample_distinct(&p, 2, &mut rng);
            assert_ne!(s[0], s[1]);
            first[s[0]] += 1;
        }
        assert_eq!(first[3], 0);
        assert!((first[0] as f64 / 2000.0 - 0.7).abs() < 0.05, "{first:?}");
    }
}
