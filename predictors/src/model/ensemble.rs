//! An ensemble of MLPs (as in BANANAS, White et al. 2021): members differ in
//! their initialisation and batch order; the mean is the prediction and the
//! members' spread the uncertainty.

use super::mlp::{Mlp, MlpConfig};
use super::{Fit, Predict, Prediction, check_rows, check_training};
use crate::error::{Result, check};
use nas_core::seed::derive_seed;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Hyper-parameters of [`Ensemble`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnsembleConfig {
    /// Number of members (default 5).
    pub members: usize,
    /// Settings of every member.
    pub member: MlpConfig,
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        EnsembleConfig { members: 5, member: MlpConfig::default() }
    }
}

impl EnsembleConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check(self.members >= 2, "members", self.members, "an integer >= 2")?;
        self.member.validate()
    }
}

/// A fitted ensemble.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ensemble {
    /// Hyper-parameters it was fitted with.
    pub hyper_parameters: EnsembleConfig,
    /// The fitted members.
    pub weights: Vec<Mlp>,
}

impl Fit for EnsembleConfig {
    type Model = Ensemble;
    fn fit(&self, x: &[Vec<f64>], y: &[f64], seed: u64) -> Result<Ensemble> {
        self.validate()?;
        check_training(x, y)?;
        let weights = (0..self.members)
            .into_par_iter()
            .map(|k| self.member.fit(x, y, derive_seed(seed, k as u64)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Ensemble { hyper_parameters: self.clone(), weights })
    }
}

impl Predict for Ensemble {
    fn n_features(&self) -> usize {
        self.weights.first().map_or(0, Mlp::n_features)
    }
    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction> {
        check_rows(x, self.n_features())?;
        let preds = self.weights.iter().map(|m| m.predict(x).map(|p| p.mean)).collect::<Result<Vec<_>>>()?;
        let k = preds.len().max(1) as f64;
        let mut mean = vec![0.0; x.len()];
        let mut std = vec![0.0; x.len()];
        for i in 0..x.len() {
            let m = preds.iter().map(|p| p[i]).sum::<f64>() / k;
            mean[i] = m;
            std[i] = (preds.iter().map(|p| (p[i] - m).powi(2)).sum::<f64>() / k).sqrt();
        }
        Ok(Prediction { mean, std: Some(std) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::*;

    #[test]
    fn members_agree_near_data_and_disagree_far_from_it() {
        let (x, y) = toy_data(150, 3, 1);
        let cfg = EnsembleConfig { members: 3, member: MlpConfig { epochs: 100, ..Default::default() } };
        let m = cfg.fit(&x, &y, 9).expect("fit");
        let near = m.predict(&x[..20]).expect("predict");
        let far = m.predict(&[vec![8.0, -8.0, 8.0]]).expect("predict");
        let s_near = near.std.expect("std").iter().sum::<f64>() / 20.0;
        let s_far = far.std.expect("std")[0];
        assert!(s_far > s_near, "{s_far} vs {s_near}");
        let err = rmse(&near.mean, &y[..20]);
        assert!(err < 0.2, "train rmse {err}");
    }
}
