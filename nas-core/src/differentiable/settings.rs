//! The settings of a differentiable search (a config's `[strategy]` section for
//! `darts`, `pc_darts`, `gdas` and `proxyless`), checked field by field.

use super::guard::GuardSettings;
use crate::error::NasError;
use crate::metric::Metric;
use crate::train::OptimizerConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The four methods.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Method {
    /// DARTS (Liu et al. 2019): softmax-weighted sum of every op.
    Darts {
        /// The unrolled (second-order) architecture gradient.
        second_order: bool,
    },
    /// PC-DARTS (Xu et al. 2020): partial channels and edge normalisation.
    PcDarts {
        /// 1/K of the channels go through the mixed op.
        k: usize,
    },
    /// GDAS (Dong & Yang 2019): one Gumbel-softmax sample per edge,
    /// straight-through.
    Gdas {
        /// Temperature at the first epoch.
        tau_max: f64,
        /// Temperature at the last epoch (annealed linearly).
        tau_min: f64,
    },
    /// ProxylessNAS (Cai et al. 2019): binarised paths.
    Proxyless {
        /// Paths sampled per edge for an architecture step (1 or 2).
        paths: usize,
    },
}

impl Method {
    /// The strategy kind (`darts`, `pc_darts`, `gdas`, `proxyless`).
    pub fn name(&self) -> &'static str {
        match self {
            Method::Darts { .. } => "darts",
            Method::PcDarts { .. } => "pc_darts",
            Method::Gdas { .. } => "gdas",
            Method::Proxyless { .. } => "proxyless",
        }
    }

    /// PC-DARTS's K (1 for the other methods).
    pub fn partial(&self) -> usize {
        match self {
            Method::PcDarts { k } => *k,
            _ => 1,
        }
    }

    /// Whether the method normalises edges (PC-DARTS).
    pub fn edge_norm(&self) -> bool {
        matches!(self, Method::PcDarts { .. })
    }

    /// GDAS's temperature at `epoch` (1-based) of `epochs`.
    pub fn tau(&self, epoch: usize, epochs: usize) -> Option<f64> {
        match *self {
            Method::Gdas { tau_max, tau_min } => {
                let t = if epochs <= 1 { 0.0 } else { (epoch - 1) as f64 / (epochs - 1) as f64 };
                Some(tau_max - (tau_max - tau_min) * t)
            }
            _ => None,
        }
    }
}

/// The hardware term of the loss: `λ · E[cost] / C̄` (soft) or, with a `limit`,
/// `λ · max(0, E[cost] − limit) / C̄` (hard), where `E[cost]` is the
/// architecture-weight-weighted sum of per-op costs and `C̄` the mean cost of
/// the space (so λ is in nats of cross-entropy per mean architecture cost).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareLoss {
    /// The cost metric, read from the run's cheap evaluators (a table's device
    /// latency, a LUT, the analytical or energy model, ...).
    pub metric: Metric,
    /// Weight of the term (>= 0).
    #[serde(default)]
    pub lambda: f64,
    /// Hard mode: only the excess over this limit is penalised, and the derived
    /// architecture is projected under it (by the linear cost model).
    #[serde(default)]
    pub limit: Option<f64>,
    /// Random architectures the linear per-op cost model is fitted on
    /// (default 300).
    #[serde(default = "default_cost_samples")]
    pub samples: usize,
}

fn default_cost_samples() -> usize {
    300
}

/// Settings shared by the four methods; method-specific fields are `None`
/// unless set, and setting one for another method is refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DifferentiableSettings {
    /// One search per seed; each derived architecture becomes a trial
    /// (default `[0]`).
    pub seeds: Vec<u64>,
    /// Epochs of supernet training (default 10).
    pub epochs: usize,
    /// Epochs of weight steps only before architecture steps start (default 0).
    pub warmup_epochs: usize,
    /// Images per step (default 64).
    pub batch_size: usize,
    /// Training images used: half train the weights, half the architecture
    /// (default 2000; `None` = all).
    pub max_train_samples: Option<usize>,
    /// The network weights' optimiser (default SGD lr 0.025, momentum 0.9,
    /// weight decay 3e-4, cosine-annealed, as in DARTS).
    pub weights: OptimizerConfig,
    /// Adam learning rate of the architecture weights (default 3e-3; DARTS's
    /// 3e-4 is for 50 epochs of 25,000 images).
    pub arch_lr: f64,
    /// Weight decay of the architecture weights (default 1e-3).
    pub arch_weight_decay: f64,
    /// Dataset the supernet trains on (default `digits`).
    pub dataset: String,
    /// Its files, for datasets that need them.
    pub path: Option<PathBuf>,
    /// Fraction of the dataset held out (not used by the search; default 0.2).
    pub val_fraction: f64,
    /// The hardware-aware loss term (default: none).
    pub hardware: Option<HardwareLoss>,
    /// Collapse guard rails.
    pub guard: GuardSettings,
    /// A batch loss above this, NaN or infinite stops the search (default 100).
    pub divergence_loss: f64,
    /// DARTS: unrolled second-order gradient (default false).
    pub second_order: Option<bool>,
    /// PC-DARTS: K (default 4).
    pub k: Option<usize>,
    /// GDAS: first temperature (default 10).
    pub tau_max: Option<f64>,
    /// GDAS: last temperature (default 0.1).
    pub tau_min: Option<f64>,
    /// ProxylessNAS: paths per edge in an architecture step, 1 or 2 (default 2).
    pub paths: Option<usize>,
}

impl Default for DifferentiableSettings {
    fn default() -> Self {
        DifferentiableSettings {
            seeds: vec![0],
            epochs: 10,
            warmup_epochs: 0,
            batch_size: 64,
            max_train_samples: Some(2000),
            weights: OptimizerConfig::Sgd { lr: 0.025, momentum: 0.9, weight_decay: 3e-4, nesterov: false },
            arch_lr: 3e-3,
            arch_weight_decay: 1e-3,
            dataset: "digits".into(),
            path: None,
            val_fraction: 0.2,
            hardware: None,
            guard: GuardSettings::default(),
            divergence_loss: 100.0,
            second_order: None,
            k: None,
            tau_max: None,
            tau_min: None,
            paths: None,
        }
    }
}

fn invalid(field: &str, value: impl ToString, allowed: impl Into<String>) -> NasError {
    NasError::InvalidValue { field: format!("strategy.{field}"), value: value.to_string(), allowed: allowed.into() }
}

impl DifferentiableSettings {
    /// The method `kind` names with these settings' method fields, after
    /// refusing fields of other methods.
    pub fn method(&self, kind: &str) -> Result<Method, NasError> {
        let set: [(&str, bool, &str); 5] = [
            ("second_order", self.second_order.is_some(), "darts"),
            ("k", self.k.is_some(), "pc_darts"),
            ("tau_max", self.tau_max.is_some(), "gdas"),
            ("tau_min", self.tau_min.is_some(), "gdas"),
            ("paths", self.paths.is_some(), "proxyless"),
        ];
        if let Some((field, _, owner)) = set.iter().find(|(_, is_set, owner)| *is_set && *owner != kind) {
            return Err(invalid(field, "set", format!("applies to `{owner}` only, not `{kind}`")));
        }
        Ok(match kind {
            "darts" => Method::Darts { second_order: self.second_order.unwrap_or(false) },
            "pc_darts" => Method::PcDarts { k: self.k.unwrap_or(4) },
            "gdas" => Method::Gdas { tau_max: self.tau_max.unwrap_or(10.0), tau_min: self.tau_min.unwrap_or(0.1) },
            "proxyless" => Method::Proxyless { paths: self.paths.unwrap_or(2) },
            other => return Err(invalid("kind", other, "darts, pc_darts, gdas, proxyless")),
        })
    }

    /// Checks every field for `kind`, naming the first bad one.
    pub fn validate(&self, kind: &str) -> Result<Method, NasError> {
        let method = self.method(kind)?;
        if self.seeds.is_empty() {
            return Err(invalid("seeds", "[]", "at least one seed"));
        }
        let mut seen = self.seeds.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != self.seeds.len() {
            return Err(invalid("seeds", format!("{:?}", self.seeds), "distinct seeds"));
        }
        if self.epochs == 0 {
            return Err(invalid("epochs", 0, "at least 1"));
        }
        if self.warmup_epochs >= self.epochs {
            return Err(invalid("warmup_epochs", self.warmup_epochs, format!("fewer than epochs ({})", self.epochs)));
        }
        if self.batch_size < 2 {
            return Err(invalid("batch_size", self.batch_size, "at least 2 (batch norm)"));
        }
        if let Some(n) = self.max_train_samples
            && n < 2 * self.batch_size
        {
            return Err(invalid("max_train_samples", n, format!("at least 2 x batch_size = {}", 2 * self.batch_size)));
        }
        let cfg = crate::train::TrainConfig { optimizer: self.weights.clone(), ..Default::default() };
        cfg.validate().map_err(|e| match e {
            NasError::InvalidValue { field, value, allowed } => {
                invalid(&field.replace("train.optimizer", "weights"), value, allowed)
            }
            other => other,
        })?;
        if !(self.arch_lr.is_finite() && self.arch_lr > 0.0) {
            return Err(invalid("arch_lr", self.arch_lr, "a finite number > 0"));
        }
        if !(self.arch_weight_decay.is_finite() && self.arch_weight_decay >= 0.0) {
            return Err(invalid("arch_weight_decay", self.arch_weight_decay, "a finite number >= 0"));
        }
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            return Err(invalid("val_fraction", self.val_fraction, "in (0, 1)"));
        }
        if self.divergence_loss.is_nan() || self.divergence_loss <= 0.0 {
            return Err(invalid("divergence_loss", self.divergence_loss, "a number > 0"));
        }
        if let Some(hw) = &self.hardware {
            if !(hw.lambda.is_finite() && hw.lambda >= 0.0) {
                return Err(invalid("hardware.lambda", hw.lambda, "a finite number >= 0"));
            }
            if let Some(l) = hw.limit
                && !(l.is_finite() && l > 0.0)
            {
                return Err(invalid("hardware.limit", l, "a finite number > 0"));
            }
            if hw.samples < 10 {
                return Err(invalid("hardware.samples", hw.samples, "at least 10"));
            }
        }
        self.guard.validate()?;
        match method {
            Method::PcDarts { k } if k < 1 => return Err(invalid("k", k, "at least 1")),
            Method::Gdas { tau_max, tau_min } => {
                if !(tau_min.is_finite() && tau_min > 0.0) {
                    return Err(invalid("tau_min", tau_min, "a finite number > 0"));
                }
                if !(tau_max.is_finite() && tau_max >= tau_min) {
                    return Err(invalid("tau_max", tau_max, format!("a finite number >= tau_min ({tau_min})")));
                }
            }
            Method::Proxyless { paths } if !(1..=2).contains(&paths) => {
                return Err(invalid("paths", paths, "1 or 2"));
            }
            _ => {}
        }
        Ok(method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_of_another_method_is_refused_by_name() {
        let s = DifferentiableSettings { k: Some(2), ..Default::default() };
        let err = s.validate("darts").expect_err("refused").to_string();
        assert!(err.contains("strategy.k") && err.contains("pc_darts"), "{err}");
        assert_eq!(s.validate("pc_darts").expect("valid"), Method::PcDarts { k: 2 });
    }

    #[test]
    fn bad_values_name_their_field() {
        let neg = DifferentiableSettings {
            hardware: Some(HardwareLoss { metric: Metric::LatencyMs, lambda: -1.0, limit: None, samples: 300 }),
            ..Default::default()
        };
        assert!(neg.validate("darts").expect_err("λ < 0").to_string().contains("strategy.hardware.lambda"));
        let paths = DifferentiableSettings { paths: Some(3), ..Default::default() };
        assert!(paths.validate("proxyless").expect_err("3 paths").to_string().contains("strategy.paths"));
        let warm = DifferentiableSettings { warmup_epochs: 10, ..Default::default() };
        assert!(warm.validate("gdas").expect_err("warmup").to_string().contains("strategy.warmup_epochs"));
        let lr = DifferentiableSettings {
            weights: OptimizerConfig::Adam { lr: 0.0, weight_decay: 0.0 },
            ..Default::default()
        };
        assert!(
            lr.validate("darts").expect_err("lr").to_string().contains("strategy.weights.lr"),
            "{:?}",
            lr.validate("darts")
        );
    }

    #[test]
    fn gdas_temperature_anneals_linearly() {
        let m = Method::Gdas { tau_max: 10.0, tau_min: 0.1 };
        assert_eq!(m.tau(1, 5), Some(10.0));
        assert!((m.tau(5, 5).expect("tau") - 0.1).abs() < 1e-12);
        assert!((m.tau(3, 5).expect("tau") - 5.05).abs() < 1e-12);
    }
}
