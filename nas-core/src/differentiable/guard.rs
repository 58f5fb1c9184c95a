//! Guard rails against the collapse of differentiable search (derived cells
//! full of parameter-free ops): the indicators logged every epoch and the
//! policy that acts on them.
//!
//! The indicators follow the RobustDARTS analysis (Zela et al. 2020): the share
//! of parameter-free ops in the derived cell, the mean entropy of the
//! architecture weights, the dominant eigenvalue of the validation loss's
//! Hessian w.r.t. the architecture weights (its growth precedes collapse), and
//! the supernet's train / validation accuracy gap. Collapse is declared when
//! the parameter-free share exceeds `max_param_free`, or when the eigenvalue
//! grew by more than `eigen_growth` over the last `window` epochs (DARTS-ES
//! stops when `λ(t − window) / λ(t) < 0.75`, i.e. a growth above 1.33).

use crate::error::NasError;
use serde::{Deserialize, Serialize};

/// What happens when collapse sets in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardPolicy {
    /// Log it and go on.
    #[default]
    Warn,
    /// Stop and derive the architecture of the last epoch before the window in
    /// which collapse set in (DARTS-ES).
    EarlyStop,
    /// Multiply the network weights' weight decay by `regularise_factor` and go
    /// on (DARTS-ADA's stronger L2 regularisation).
    Regularise,
}

/// The `[strategy.guard]` settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardSettings {
    /// The policy (default `warn`).
    pub policy: GuardPolicy,
    /// Collapse when more than this share of the derived cell's ops is
    /// parameter-free (default 0.5).
    pub max_param_free: f64,
    /// Collapse when the dominant Hessian eigenvalue grew by more than this
    /// factor over `window` epochs (default 1.3).
    pub eigen_growth: f64,
    /// Epochs the eigenvalue growth is measured over (default 2).
    pub window: usize,
    /// Power iterations of the eigenvalue estimate per epoch (default 4; 0
    /// turns the eigenvalue off).
    pub hessian_iterations: usize,
    /// `regularise`: factor applied to the weight decay each time (default 3).
    pub regularise_factor: f64,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            policy: GuardPolicy::Warn,
            max_param_free: 0.5,
            eigen_growth: 1.3,
            window: 2,
            hessian_iterations: 4,
            regularise_factor: 3.0,
        }
    }
}

impl GuardSettings {
    /// Checks the values, naming the field.
    pub fn validate(&self) -> Result<(), NasError> {
        let bad = |f: &str, v: f64, allowed: &str| NasError::InvalidValue {
            field: format!("strategy.guard.{f}"),
            value: v.to_string(),
            allowed: allowed.into(),
        };
        if !(0.0..=1.0).contains(&self.max_param_free) {
            return Err(bad("max_param_free", self.max_param_free, "in [0, 1]"));
        }
        if !(self.eigen_growth.is_finite() && self.eigen_growth > 1.0) {
            return Err(bad("eigen_growth", self.eigen_growth, "a finite number > 1"));
        }
        if self.window == 0 {
            return Err(bad("window", 0.0, "at least 1"));
        }
        if !(self.regularise_factor.is_finite() && self.regularise_factor > 1.0) {
            return Err(bad("regularise_factor", self.regularise_factor, "a finite number > 1"));
        }
        Ok(())
    }

    /// Why collapse is declared at the last of `param_free` / `eigen` (one value
    /// per epoch so far), or `None`.
    pub fn collapse(&self, param_free: &[f64], eigen: &[Option<f64>]) -> Option<String> {
        if let Some(&share) = param_free.last()
            && share > self.max_param_free
        {
            return Some(format!(
                "{:.0}% of the derived cell's ops are parameter-free (> max_param_free {:.0}%)",
                100.0 * share,
                100.0 * self.max_param_free
            ));
        }
        let n = eigen.len();
        if n > self.window
            && let (Some(now), Some(then)) = (eigen[n - 1], eigen[n - 1 - self.window])
            && then > 0.0
            && now / then > self.eigen_growth
        {
            return Some(format!(
                "the dominant Hessian eigenvalue grew {:.2}x in {} epochs ({then:.3} -> {now:.3}; > eigen_growth {})",
                now / then,
                self.window,
                self.eigen_growth
            ));
        }
        None
    }
}

/// Mean entropy (nats) of the rows of `weights` (each a distribution).
pub fn mean_entropy(weights: &[Vec<f64>]) -> f64 {
    if weights.is_empty() {
        return 0.0;
    }
    let h = |row: &Vec<f64>| -row.iter().filter(|p| **p > 0.0).map(|p| p * p.ln()).sum::<f64>();
    weights.iter().map(h).sum::<f64>() / weights.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_uniform_and_one_hot_rows() {
        let u = vec![vec![0.25; 4]];
        assert!((mean_entropy(&u) - 4f64.ln()).abs() < 1e-12);
        assert_eq!(mean_entropy(&[vec![1.0, 0.0]]), 0.0);
    }

    #[test]
    fn collapse_by_share_and_by_eigenvalue_growth() {
        let g = GuardSettings::default();
        assert!(g.collapse(&[0.2, 0.67], &[None, None]).expect("share").contains("67%"));
        assert!(g.collapse(&[0.2, 0.5], &[None, None]).is_none(), "0.5 is not above 0.5");
        let eig = [Some(1.0), Some(1.1), Some(1.4)];
        assert!(g.collapse(&[0.0; 3], &eig).expect("growth").contains("1.40x"));
        assert!(g.collapse(&[0.0; 3], &[Some(1.0), Some(1.1), Some(1.2)]).is_none());
        assert!(g.collapse(&[0.0; 2], &[Some(1.0), Some(9.0)]).is_none(), "window of 2 epochs not reached");
    }
}
