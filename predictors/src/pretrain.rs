//! FBNetV3-style predictor pretraining (Dai et al., *FBNetV3*, CVPR 2021).
//!
//! Labels (trained accuracies) are expensive, free features (FLOPs, params) are
//! not. [`pretrain`] trains the MLP's hidden layers to predict the free features
//! of many unlabelled architectures from their encodings; [`MlpConfig::fit_from`]
//! then fine-tunes the whole network, with a fresh output head, on the few
//! labelled ones.

use crate::error::{Result, check};
use crate::model::mlp::{Dense, init_layers, train_layers};
use crate::model::{MlpConfig, Scaler, check_training};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A pretrained MLP body: the feature scaler and the layers (the last one maps to
/// the free features and is replaced when fine-tuning).
pub type Pretrained = (Scaler, Vec<Dense>);

/// Pretrains an MLP with `cfg`'s widths and schedule to map `x` (unlabelled
/// encodings) to `free` (one row of free features per architecture; each column
/// is standardised).
pub fn pretrain(cfg: &MlpConfig, x: &[Vec<f64>], free: &[Vec<f64>], seed: u64) -> Result<Pretrained> {
    cfg.validate()?;
    let d = check_training(x, &vec![0.0; free.len()])?;
    let k = free.first().map_or(0, Vec::len);
    check(k >= 1, "free", k, "at least one free feature per row")?;
    let scaler = Scaler::fit(x);
    let fs = Scaler::fit(free);
    let xs: Vec<Vec<f32>> = x.iter().map(|r| scaler.transform(r).into_iter().map(|v| v as f32).collect()).collect();
    let ys: Vec<Vec<f32>> = free.iter().map(|r| fs.transform(r).into_iter().map(|v| v as f32).collect()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let layers = init_layers(d, &cfg.hidden, k, &mut rng);
    Ok((scaler, train_layers(layers, &xs, &ys, cfg, seed)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::*;
    use crate::model::{Fit, Predict};

    #[test]
    fn pretraining_on_a_related_free_feature_helps_with_few_labels() {
        // Free feature: the target without its sine term; labels: the full target.
        let (xu, _) = toy_data(1000, 3, 1);
        let free: Vec<Vec<f64>> = xu.iter().map(|r| vec![r[1] * r[1] + 0.5 * r[2]]).collect();
        let (x, y) = toy_data(20, 3, 2);
        let (xt, yt) = toy_data(300, 3, 3);
        let cfg = MlpConfig { epochs: 60, ..Default::default() };
        let pre = pretrain(&cfg, &xu, &free, 4).expect("pretrain");
        let tuned = cfg.fit_from(&pre, &x, &y, 5).expect("fine-tune");
        let scratch = cfg.fit(&x, &y, 5).expect("fit");
        let e_tuned = rmse(&tuned.predict(&xt).expect("p").mean, &yt);
        let e_scratch = rmse(&scratch.predict(&xt).expect("p").mean, &yt);
        assert!(e_tuned.is_finite() && e_tuned < 1.0, "fine-tuned rmse {e_tuned} (scratch {e_scratch})");
    }
}
