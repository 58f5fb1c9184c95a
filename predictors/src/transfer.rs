//! Latency predictors across devices.
//!
//! - **From layer features** (one device): any [`ModelConfig`]
//!   fitted on architecture features (an encoding, op counts, FLOPs) and measured
//!   latencies; see [`fit_latency_predictor`].
//! - **Few-shot transfer** to a new device ([`FewShotTransfer`]): given the full
//!   latency tables of one or more known devices and `K` measured architectures on
//!   the new one, predict the new device's latency of every architecture.
//!
//! The transfer model is a ridge regression of the target's log latency on the
//! source devices' log latencies and on architecture features (for NAS-Bench-201,
//! the op histogram: every edge has the same shape there, so an additive op cost
//! explains most of a device's latency), with the penalty chosen by leave-one-out
//! cross-validation on the `K` shots.

use crate::error::{PredictorError, Result, check};
use crate::model::{Fit, Model, ModelConfig, Predict, Ridge, RidgeConfig};
use serde::{Deserialize, Serialize};

/// Fits a latency predictor from architecture (layer) features on one device.
pub fn fit_latency_predictor(
    model: &ModelConfig,
    features: &[Vec<f64>],
    latency_ms: &[f64],
    seed: u64,
) -> Result<Model> {
    let y: Vec<f64> = latency_ms.iter().map(|v| v.max(1e-9).ln()).collect();
    model.fit(features, &y, seed)
}

/// Settings of [`FewShotTransfer`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FewShotTransfer {
    /// Ridge penalties tried by leave-one-out cross-validation (default 0.01 to 10).
    pub alphas: Vec<f64>,
}

impl Default for FewShotTransfer {
    fn default() -> Self {
        FewShotTransfer { alphas: vec![0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0] }
    }
}

/// A fitted transfer model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferModel {
    /// The ridge regression on `[log source latencies, architecture features]`.
    pub ridge: Ridge,
    /// The penalty chosen.
    pub alpha: f64,
}

/// The input row of one architecture: log source latencies, then its features.
pub fn transfer_row(source_ms: &[f64], arch_features: &[f64]) -> Vec<f64> {
    source_ms.iter().map(|v| v.max(1e-9).ln()).chain(arch_features.iter().copied()).collect()
}

impl FewShotTransfer {
    /// Fits on the shots: `rows[i]` from [`transfer_row`], `target_ms[i]` the
    /// measured latency on the new device.
    pub fn fit(&self, rows: &[Vec<f64>], target_ms: &[f64]) -> Result<TransferModel> {
        check(
            !self.alphas.is_empty() && self.alphas.iter().all(|a| *a >= 0.0),
            "alphas",
            format!("{:?}", self.alphas),
            "a non-empty list of numbers >= 0",
        )?;
        if rows.len() < 3 {
            return Err(PredictorError::InvalidParameter {
                field: "shots",
                value: rows.len().to_string(),
                allowed: "at least 3 measured architectures",
            });
        }
        let y: Vec<f64> = target_ms.iter().map(|v| v.max(1e-9).ln()).collect();
        let mut best: Option<(f64, f64)> = None;
        for &alpha in &self.alphas {
            let cfg = RidgeConfig { alpha };
            let mut sse = 0.0;
            for k in 0..rows.len() {
                let xs: Vec<Vec<f64>> =
                    rows.iter().enumerate().filter(|(i, _)| *i != k).map(|(_, r)| r.clone()).collect();
                let ys: Vec<f64> = y.iter().enumerate().filter(|(i, _)| *i != k).map(|(_, v)| *v).collect();
                let Ok(m) = cfg.fit(&xs, &ys, 0) else {
                    sse = f64::INFINITY;
                    break;
                };
                let p = m.predict(&rows[k..=k])?.mean[0];
                sse += (p - y[k]).powi(2);
            }
            if best.is_none_or(|(b, _)| sse < b) {
                best = Some((sse, alpha));
            }
        }
        let alpha = best.map_or(1.0, |(_, a)| a);
        Ok(TransferModel { ridge: RidgeConfig { alpha }.fit(rows, &y, 0)?, alpha })
    }
}

impl TransferModel {
    /// Predicted latency (ms) of each row.
    pub fn predict_ms(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
        Ok(self.ridge.predict(rows)?.mean.into_iter().map(f64::exp).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_scaled_device() {
        // Target = 2 x source^0.5 x exp(0.1 * feature): log-linear, so exact.
        let rows: Vec<(f64, f64)> = (1..40).map(|i| (i as f64, (i % 5) as f64)).collect();
        let all: Vec<Vec<f64>> = rows.iter().map(|(s, f)| transfer_row(&[*s], &[*f])).collect();
        let target: Vec<f64> = rows.iter().map(|(s, f)| 2.0 * s.sqrt() * (0.1 * f).exp()).collect();
        let t = FewShotTransfer { alphas: vec![0.0, 1.0] }.fit(&all[..10], &target[..10]).expect("fit");
        let p = t.predict_ms(&all).expect("predict");
        for (a, b) in p.iter().zip(&target) {
            assert!((a / b - 1.0).abs() < 1e-6, "{a} vs {b}");
        }
        assert_eq!(t.alpha, 0.0);
    }
}
