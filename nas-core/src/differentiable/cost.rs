//! The hardware term's per-op costs: a linear model `cost ≈ b + Σ_e c[e, op_e]`
//! fitted to any cost source on random architectures of the space.
//!
//! For an additive source (a measured LUT, the analytical FLOPs / params /
//! BitOps models, the energy model) the fit is exact; for a non-additive one (a
//! device latency table such as NAS-Bench-201's `fpga` or `pixel3` column) it is
//! the least-squares linear latency predictor on the one-hot op-per-edge
//! features, and its quality is reported. The expected cost under architecture
//! weights `w` is then `b + Σ_e Σ_o w[e, o] c[e, o]`, differentiable in `w`.

use super::DiffError;
use super::supernet::SupernetLayout;
use crate::linalg::ridge;
use crate::metric::Metric;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Random valid choices of the space, optionally with a fixed `(edge, op)`.
pub type Sampler<'a> = dyn Fn(&mut dyn rand::RngCore, Option<(usize, usize)>) -> Vec<usize> + 'a;

/// Uniform choices: any op on every edge (spaces without constraints).
pub fn uniform_sampler(
    layout: &SupernetLayout,
) -> impl Fn(&mut dyn rand::RngCore, Option<(usize, usize)>) -> Vec<usize> {
    let (edges, ops) = (layout.num_edges(), layout.num_ops());
    move |rng: &mut dyn rand::RngCore, fixed: Option<(usize, usize)>| {
        let mut c: Vec<usize> = (0..edges).map(|_| rng.random_range(0..ops)).collect();
        if let Some((e, o)) = fixed {
            c[e] = o;
        }
        c
    }
}

/// How well the linear model reproduces the source on its samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitQuality {
    /// Architectures evaluated.
    pub samples: usize,
    /// Coefficient of determination.
    pub r2: f64,
    /// Root-mean-square error (metric units).
    pub rmse: f64,
    /// Largest absolute error (metric units).
    pub max_abs_error: f64,
}

/// The fitted per-op cost model (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearCost {
    /// The metric.
    pub metric: Metric,
    /// `b`: the cost of what every architecture shares.
    pub intercept: f64,
    /// `c[e][o]`: the cost op `o` adds on edge `e`.
    pub per_op: Vec<Vec<f64>>,
    /// Mean cost of the sampled architectures (the unit of λ).
    pub mean_cost: f64,
    /// Fit quality.
    pub fit: FitQuality,
}

impl LinearCost {
    /// Fits the model to `cost` (the source's value for an architecture given as
    /// choices, or why it has none) on `samples` random architectures drawn
    /// with `seed`, after checking that every op of every edge is covered.
    pub fn fit(
        layout: &SupernetLayout,
        metric: Metric,
        cost: &dyn Fn(&[usize]) -> Result<f64, String>,
        sample: &Sampler<'_>,
        samples: usize,
        seed: u64,
    ) -> Result<Self, DiffError> {
        let (edges, ops) = (layout.num_edges(), layout.num_ops());
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut xs: Vec<Vec<usize>> = Vec::new();
        // Coverage first: every (edge, op) in some architecture (where the space
        // allows it), so a source missing an op is named before anything trains.
        for e in 0..edges {
            for o in 0..ops {
                xs.push(sample(&mut rng, Some((e, o))));
            }
        }
        while xs.len() < samples.max(edges * ops + 1) {
            xs.push(sample(&mut rng, None));
        }
        let mut ys = Vec::with_capacity(xs.len());
        for (i, c) in xs.iter().enumerate() {
            match cost(c) {
                Ok(v) if v.is_finite() => ys.push(v),
                other => {
                    let why = match other {
                        Ok(v) => format!("value {v}"),
                        Err(e) => e,
                    };
                    let (e, o) = if i < edges * ops { (i / ops, i % ops) } else { (0, c[0]) };
                    return Err(DiffError::CostCoverage {
                        metric: metric.name().into(),
                        op: layout.edges[e].ops[o].clone(),
                        edge: layout.edges[e].name.clone(),
                        reason: why,
                    });
                }
            }
        }
        let one_hot = |c: &[usize]| -> Vec<f64> {
            let mut v = vec![0.0; edges * ops];
            for (e, &o) in c.iter().enumerate() {
                v[e * ops + o] = 1.0;
            }
            v
        };
        let x: Vec<Vec<f64>> = xs.iter().map(|c| one_hot(c)).collect();
        // A tiny ridge: the one-hot columns of an edge sum to one (collinear with
        // the intercept); the penalty picks the minimum-norm split.
        let (coef, intercept) = ridge(&x, &ys, 1e-8).map_err(|e| DiffError::Cost(e.to_string()))?;
        let per_op: Vec<Vec<f64>> = (0..edges).map(|e| coef[e * ops..(e + 1) * ops].to_vec()).collect();
        let model = LinearCost {
            metric,
            intercept,
            per_op,
            mean_cost: 0.0,
            fit: FitQuality { samples: 0, r2: 0.0, rmse: 0.0, max_abs_error: 0.0 },
        };
        let preds: Vec<f64> = xs.iter().map(|c| model.predict(c)).collect();
        let n = ys.len() as f64;
        let mean = ys.iter().sum::<f64>() / n;
        let ss_tot: f64 = ys.iter().map(|y| (y - mean).powi(2)).sum();
        let ss_res: f64 = ys.iter().zip(&preds).map(|(y, p)| (y - p).powi(2)).sum();
        let max_abs_error = ys.iter().zip(&preds).map(|(y, p)| (y - p).abs()).fold(0.0, f64::max);
        let r2 = if ss_tot > 0.0 { 1.0 - ss_res / ss_tot } else { 1.0 };
        if mean.abs() < 1e-300 {
            return Err(DiffError::Cost(format!(
                "the mean {} of the space is 0; it cannot be a hardware cost",
                metric.name()
            )));
        }
        Ok(LinearCost {
            mean_cost: mean,
            fit: FitQuality { samples: ys.len(), r2, rmse: (ss_res / n).sqrt(), max_abs_error },
            ..model
        })
    }

    /// The modelled cost of `choices`.
    pub fn predict(&self, choices: &[usize]) -> f64 {
        self.intercept + choices.iter().enumerate().map(|(e, &o)| self.per_op[e][o]).sum::<f64>()
    }

    /// The modelled cost of the cheapest architecture.
    pub fn min_cost(&self) -> f64 {
        self.intercept + self.per_op.iter().map(|r| r.iter().copied().fold(f64::INFINITY, f64::min)).sum::<f64>()
    }

    /// The expected cost under `weights` (`[edges, ops]`, on `weights`'s device,
    /// differentiable): a scalar tensor `[1]`.
    pub fn expected(&self, weights: Tensor<2>, device: &Device) -> Tensor<1> {
        let [e, o] = weights.dims();
        let flat: Vec<f32> = self.per_op.iter().flatten().map(|v| *v as f32).collect();
        let table = Tensor::<2>::from_data(TensorData::new(flat, [e, o]), device);
        (weights * table).sum() + self.intercept as f32
    }

    /// The expected cost under `weights` (`[edges][ops]` rows).
    pub fn expected_of(&self, weights: &[Vec<f64>]) -> f64 {
        self.intercept
            + weights
                .iter()
                .zip(&self.per_op)
                .map(|(w, c)| w.iter().zip(c).map(|(a, b)| a * b).sum::<f64>())
                .sum::<f64>()
    }

    /// `choices` changed, edge by edge, to cheaper ops until the modelled cost
    /// is at most `limit`: each change is the one that loses the least
    /// log-weight per unit of cost saved. Returns the new choices and how many
    /// edges changed (`None` when even the cheapest architecture exceeds it).
    pub fn project(
        &self,
        choices: &[usize],
        weights: &[Vec<f64>],
        limit: f64,
        allowed: &dyn Fn(usize, usize) -> bool,
    ) -> Option<(Vec<usize>, usize)> {
        let mut c = choices.to_vec();
        let mut changed = 0;
        while self.predict(&c) > limit {
            let mut best: Option<(f64, usize, usize)> = None;
            for (e, row) in self.per_op.iter().enumerate() {
                for (o, &cost) in row.iter().enumerate() {
                    let saved = row[c[e]] - cost;
                    if saved <= 0.0 || !allowed(c[e], o) {
                        continue;
                    }
                    let lost = weights[e][c[e]].max(1e-12).ln() - weights[e][o].max(1e-12).ln();
                    let score = lost / saved;
                    if best.is_none_or(|(s, _, _)| score < s) {
                        best = Some((score, e, o));
                    }
                }
            }
            let (_, e, o) = best?;
            if c[e] != o && choices[e] == c[e] {
                changed += 1;
            }
            c[e] = o;
        }
        Some((c, changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::differentiable::supernet::EdgeChoices;

    fn layout(edges: usize) -> SupernetLayout {
        SupernetLayout {
            edges: (0..edges)
                .map(|e| EdgeChoices { name: format!("e{e}"), ops: vec!["none".into(), "a".into(), "b".into()] })
                .collect(),
            node_edges: vec![(0..edges).collect()],
            param_free: vec!["none".into()],
        }
    }

    #[test]
    fn an_additive_source_is_fitted_exactly() {
        let table = [[0.0, 1.0, 3.0], [0.0, 2.0, 5.0], [0.0, 0.5, 0.25]];
        let cost = |c: &[usize]| -> Result<f64, String> {
            Ok(10.0 + c.iter().enumerate().map(|(e, &o)| table[e][o]).sum::<f64>())
        };
        let lay = layout(3);
        let m = LinearCost::fit(&lay, Metric::LatencyMs, &cost, &uniform_sampler(&lay), 60, 1).expect("fit");
        assert!(m.fit.r2 > 1.0 - 1e-9 && m.fit.max_abs_error < 1e-6, "{:?}", m.fit);
        for c in [[0, 0, 0], [2, 2, 2], [1, 2, 0]] {
            assert!((m.predict(&c) - cost(&c).expect("cost")).abs() < 1e-6);
        }
        assert!((m.min_cost() - 10.0).abs() < 1e-6);
        // Expected cost of uniform weights: 10 + mean of each row.
        let w = vec![vec![1.0 / 3.0; 3]; 3];
        let want = 10.0 + (4.0 + 7.0 + 0.75) / 3.0;
        assert!((m.expected_of(&w) - want).abs() < 1e-6);
        let t = m.expected(
            Tensor::<2>::from_data(TensorData::new(vec![1.0f32 / 3.0; 9], [3, 3]), &Device::flex()),
            &Device::flex(),
        );
        assert!((t.into_scalar::<f32>() as f64 - want).abs() < 1e-4);
    }

    #[test]
    fn an_op_the_source_does_not_cover_is_named() {
        let cost = |c: &[usize]| -> Result<f64, String> {
            if c.contains(&2) { Err("no entry for layer b".into()) } else { Ok(1.0) }
        };
        let lay = layout(2);
        let err = LinearCost::fit(&lay, Metric::LatencyMs, &cost, &uniform_sampler(&lay), 30, 1)
            .expect_err("uncovered")
            .to_string();
        assert!(err.contains("`b`") && err.contains("no entry"), "{err}");
    }

    #[test]
    fn projection_meets_the_limit_by_the_cheapest_loss_of_weight() {
        let table = [[0.0, 1.0, 3.0], [0.0, 2.0, 5.0]];
        let cost = |c: &[usize]| -> Result<f64, String> {
            Ok(1.0 + c.iter().enumerate().map(|(e, &o)| table[e][o]).sum::<f64>())
        };
        let lay = layout(2);
        let m = LinearCost::fit(&lay, Metric::LatencyMs, &cost, &uniform_sampler(&lay), 30, 1).expect("fit");
        let w = vec![vec![0.1, 0.2, 0.7], vec![0.05, 0.45, 0.5]];
        // [2, 2] costs 9; limit 7: edge 1 b -> a saves 3 for ln(0.5/0.45), the cheapest.
        let (c, changed) = m.project(&[2, 2], &w, 7.0, &|_, _| true).expect("feasible");
        assert_eq!((c, changed), (vec![2, 1], 1));
        assert!(m.project(&[2, 2], &w, 0.5, &|_, _| true).is_none(), "below the cheapest architecture");
    }
}
