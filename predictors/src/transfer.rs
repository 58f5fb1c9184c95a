//! Latency predictors across devices.
//!
//! - **From layer features** (one device): any [`ModelConfig`](crate::model::ModelConfig)
//!   fitted on the [layer features](crate::layer_features) of measured
//!   architectures (`hwnas predictor fit --target fpga --encoding none --free
//!   layers`), saved, and used by a run as a free evaluator
//!   ([`PredictorEvaluator`](crate::PredictorEvaluator)). Ridge on 20 cells, Kendall
//!   tau over the other 15,605, mean of 10 splits (`hwnas predictor eval --target
//!   DEV --encoding none --free layers --models ridge --train-sizes 20`): fpga
//!   0.989, eyeriss 0.967, gold_6226 0.902, pixel3 0.756 (TFLite drops dead ops,
//!   which the layer list still holds).
//! - **Few-shot transfer** to a new device ([`FewShotTransfer`]): given the full
//!   latency tables of one or more known devices and `K` measured architectures on
//!   the new one, predict the new device's latency of every architecture.
//!
//! # The transfer model
//!
//! A ridge regression of the target's latency on two blocks of inputs: the source
//! devices' latencies (the sources act as a "hardware embedding" of each
//! architecture, as in HELP, Lee et al., NeurIPS 2021) and architecture features
//! (for NAS-Bench-201 the op histogram: a network's latency is a sum of its layers'
//! latencies, and every NB201 edge has the same shape, so per-op costs explain most
//! of what the sources miss). Both the target and the sources are used on the
//! [`TransferScale::Linear`] scale by default (milliseconds, where latency is
//! additive), or on the log scale.
//!
//! **Denoised sources.** Each source latency is measured once per architecture,
//! with noise of its own; architectures that run the same ops should cost the same.
//! So each source column is replaced by its mean over a [`Grouping`] of the
//! architectures, computed from the full source tables (the target is not used).
//! Several groupings can be offered and one is chosen per fit: on NAS-Bench-201,
//! `hist` (same op histogram) for devices that run every op, and `live` (same
//! histogram and same histogram of the ops whose output reaches the cell output)
//! for runtimes that drop dead ops: on pixel3 and raspi4 (TFLite) a cell whose
//! output edges are all `none` costs nothing, and their within-histogram
//! deviations are the only ones shared between devices (correlation 0.83; every
//! other pair is within ±0.12).
//!
//! Every column is standardised with its statistics over *all* architectures, and
//! each block is scaled by `1/sqrt(columns)`, so both blocks start with the same
//! total prior variance. The feature block is then weighted by a factor `w`
//! relative to the source block (a per-block ridge penalty). The grouping, `w` and
//! the penalty `alpha` are chosen jointly by the restricted marginal likelihood
//! (type-II maximum likelihood, REML) of the `K` shots under the ridge's Gaussian
//! prior, with the noise scale profiled out. Nothing else about the target is
//! looked at, and the fit has no randomness: the same shots give the same model.
//!
//! # Measured (NAS-Bench-201, `hwnas predictor transfer --shots K --seeds 10`)
//!
//! Each of the 8 devices predicted from the other 7; Kendall tau-b over all 15,625
//! architectures, mean over 10 random shot sets:
//!
//! | target | 20 shots | 10 shots | before (raw sources, leave-one-out), 20 / 10 shots |
//! |---|---|---|---|
//! | eyeriss | 0.968 | 0.967 | 0.963 / 0.963 |
//! | fpga | 0.991 | 0.991 | 0.987 / 0.987 |
//! | pixel3 | 0.869 | 0.835 | 0.827 / 0.780 |
//! | raspi4 | 0.873 | 0.852 | 0.823 / 0.809 |
//! | gold_6226 | 0.908 | 0.900 | 0.895 / 0.871 |
//! | titan_rtx_256 | 0.989 | 0.984 | 0.985 / 0.982 |
//! | pixel2 | 0.750 | 0.728 | 0.734 / 0.691 |
//! | 1080ti_1 | 0.899 | 0.879 | 0.893 / 0.851 |
//! | **mean** | **0.906** | **0.892** | 0.888 / 0.867 |
//!
//! (A plain ridge on the sources' milliseconds reaches a mean of 0.824 with 20
//! shots.) With 20 shots, by `--denoise`: `raw` (measured sources, marginal
//! likelihood instead of leave-one-out) 0.890, `hist` alone 0.882 (best on the
//! devices that run every op, 0.764 on pixel3), `live` alone 0.904, `raw,hist,live`
//! 0.905. Choosing by leave-one-out error on log latency instead of the marginal
//! likelihood: 0.894 for `hist,live` (20 shots are too few for a stable
//! leave-one-out). What did not help before, on the same protocol: the log scale,
//! op per edge instead of the histogram (it needs more than 20 shots), the sources
//! alone, rank or square-root transformed sources, a Gaussian (RBF) kernel, and
//! averaging the linear- and log-scale models; with denoised sources: adding the
//! sources' within-group deviations as a third block or one source's measured
//! latencies as a candidate (the choice among 7 sources is too noisy with 20
//! shots), and the input-to-output live edges (forward reachability too: pixel3
//! and raspi4 still run ops fed by zeros).
//!
//! The figures are bounded by the devices' own measurement noise. Even the
//! target's own mean over each op-histogram group (the best any histogram model
//! can do) ranks at 0.979, 0.995, 0.791, 0.792, 0.930, 0.993, 0.769, 0.921 (pixel3
//! and raspi4 at 0.901 and 0.900 by the `live` groups); with noise-free shots the
//! 20-shot fit reaches those, so the rest is the noise of the 20 target
//! measurements. pixel2's latencies are whole milliseconds (42 distinct values),
//! and its within-group noise (20% of its variance) is shared with no other device.

use crate::error::{PredictorError, Result, check};
use crate::model::Scaler;
use nas_core::linalg::{cholesky, cholesky_solve, ridge};
use serde::{Deserialize, Serialize};

/// The scale on which latencies are regressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferScale {
    /// Milliseconds (latency adds up over layers).
    #[default]
    Linear,
    /// Natural log of milliseconds (multiplicative effects).
    Log,
}

impl TransferScale {
    /// Names as in configs and on the command line.
    pub const NAMES: [&'static str; 2] = ["linear", "log"];

    /// Parses `linear` or `log`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "linear" => Ok(TransferScale::Linear),
            "log" => Ok(TransferScale::Log),
            _ => Err(PredictorError::InvalidParameter {
                field: "scale",
                value: name.to_string(),
                allowed: "`linear` or `log`",
            }),
        }
    }

    fn forward(self, ms: f64) -> f64 {
        match self {
            TransferScale::Linear => ms,
            TransferScale::Log => ms.max(1e-9).ln(),
        }
    }

    fn back(self, v: f64) -> f64 {
        match self {
            TransferScale::Linear => v,
            TransferScale::Log => v.exp(),
        }
    }
}

/// A partition of the architectures used to denoise the source latencies: `ids[i]`
/// is the group of architecture `i`. Architectures of one group are expected to
/// cost the same on every device, so each source latency is replaced by its mean
/// over the group (identity groups, `0..n`, keep the measured latencies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grouping {
    /// Name, reported with the model (for example `hist`).
    pub name: String,
    /// Group id of each architecture (any numbers; equal ids form a group).
    pub ids: Vec<usize>,
}

/// Settings of [`FewShotTransfer`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FewShotTransfer {
    /// Ridge penalties tried (default 1e-4 to 1 in steps of 10^(1/3); relative to
    /// the standardised blocks, whose total prior variance is 1 each).
    pub alphas: Vec<f64>,
    /// Weights of the architecture-feature block relative to the source block,
    /// tried jointly with `alphas` (default 0.01 to 100 in steps of 10^(1/3); 0
    /// ignores the features).
    pub feature_weights: Vec<f64>,
    /// Scale of the regression (default linear).
    pub scale: TransferScale,
}

/// `10^(lo + i/3)` for `i` in `0..=3 * decades`.
fn log_grid(lo: i32, decades: i32) -> Vec<f64> {
    (0..=3 * decades).map(|i| 10f64.powf(f64::from(lo) + f64::from(i) / 3.0)).collect()
}

impl Default for FewShotTransfer {
    fn default() -> Self {
        FewShotTransfer { alphas: log_grid(-4, 4), feature_weights: log_grid(-2, 4), scale: TransferScale::Linear }
    }
}

/// A fitted transfer model: `intercept + coef . (scale(denoised x) - mean) * column_scale`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferModel {
    /// Scale of the regression.
    pub scale: TransferScale,
    /// Number of source devices (the first columns of a row).
    pub n_sources: usize,
    /// Index of the chosen [`Grouping`] among those given to the fit (`None`: the
    /// measured source latencies, when no grouping was given).
    pub grouping: Option<usize>,
    /// Name of the chosen grouping (`raw` when none).
    pub grouping_name: String,
    /// Column standardisation over all architectures, of `[sources, features]` on
    /// the regression scale for the (denoised) sources.
    pub scaler: Scaler,
    /// Per-column factor after standardisation: `sqrt(block weight / block columns)`.
    pub column_scale: Vec<f64>,
    /// One weight per column.
    pub coef: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
    /// The penalty chosen.
    pub alpha: f64,
    /// The feature-block weight chosen.
    pub feature_weight: f64,
    /// Negative log restricted marginal likelihood of the chosen settings on the
    /// shots, up to a constant shared by all settings (lower is better).
    pub neg_log_evidence: f64,
}

/// The best settings found so far: (score, grouping, feature weight, alpha).
type Choice = (f64, Option<usize>, f64, f64);

impl FewShotTransfer {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        let ok = |v: &[f64], min: f64| !v.is_empty() && v.iter().all(|a| a.is_finite() && *a >= min);
        check(
            ok(&self.alphas, f64::MIN_POSITIVE),
            "alphas",
            format!("{:?}", self.alphas),
            "a non-empty list of finite numbers > 0",
        )?;
        check(
            ok(&self.feature_weights, 0.0),
            "feature_weights",
            format!("{:?}", self.feature_weights),
            "a non-empty list of finite numbers >= 0",
        )
    }

    /// Fits on the shots.
    ///
    /// `sources_ms[i]` holds the source devices' latencies (ms, > 0) of
    /// architecture `i` and `features[i]` its features, for every architecture
    /// (they fix the denoising and the standardisation; the target of the unmeasured
    /// ones is not used). `groupings` are the candidate partitions for denoising the
    /// sources (empty: the measured latencies). `shots` are the indices of the
    /// measured architectures (at least 3) and `target_ms[k]` the latency of
    /// `shots[k]` on the new device.
    pub fn fit(
        &self,
        sources_ms: &[Vec<f64>],
        features: &[Vec<f64>],
        groupings: &[Grouping],
        shots: &[usize],
        target_ms: &[f64],
    ) -> Result<TransferModel> {
        self.validate()?;
        transfer_rows(self.scale, sources_ms, features, None, None)?;
        check_groupings(groupings, sources_ms.len())?;
        check(shots.len() >= 3, "shots", shots.len(), "at least 3 measured architectures")?;
        if shots.len() != target_ms.len() {
            return Err(PredictorError::LengthMismatch { rows: shots.len(), targets: target_ms.len() });
        }
        if let Some(&i) = shots.iter().find(|&&i| i >= sources_ms.len()) {
            return Err(PredictorError::InvalidParameter {
                field: "shots",
                value: i.to_string(),
                allowed: "indices of the rows of sources_ms and features",
            });
        }
        if let Some(row) = target_ms.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(PredictorError::NonFinite { what: "target latency (must be finite and > 0)", row });
        }
        let n_sources = sources_ms.first().map_or(0, Vec::len);
        let n_features = features.first().map_or(0, Vec::len);
        let y: Vec<f64> = target_ms.iter().map(|&v| self.scale.forward(v)).collect();
        let candidates: Vec<Option<usize>> =
            if groupings.is_empty() { vec![None] } else { (0..groupings.len()).map(Some).collect() };
        let mut best: Option<Choice> = None;
        for &g in &candidates {
            let rows = transfer_rows(self.scale, sources_ms, features, g.map(|g| &groupings[g]), None)?;
            let z = Scaler::fit(&rows).transform_all(&shots.iter().map(|&i| rows[i].clone()).collect::<Vec<_>>());
            let gram_s = centred_gram(&z, 0..n_sources, 1.0 / n_sources.max(1) as f64);
            let gram_f = centred_gram(&z, n_sources..n_sources + n_features, 1.0 / n_features.max(1) as f64);
            for &w in &self.feature_weights {
                for &alpha in &self.alphas {
                    let Some(score) = neg_log_evidence(&gram_s, &gram_f, w, alpha, &y) else { continue };
                    if best.is_none_or(|(b, ..)| score < b) {
                        best = Some((score, g, w, alpha));
                    }
                }
            }
        }
        let Some((neg_log_evidence, grouping, feature_weight, alpha)) = best else {
            return Err(PredictorError::InvalidParameter {
                field: "alphas",
                value: format!("{:?}", self.alphas),
                allowed: "at least one penalty > 0 when the inputs are collinear on the shots",
            });
        };
        let rows = transfer_rows(self.scale, sources_ms, features, grouping.map(|g| &groupings[g]), None)?;
        let scaler = Scaler::fit(&rows);
        let z = scaler.transform_all(&shots.iter().map(|&i| rows[i].clone()).collect::<Vec<_>>());
        let column_scale = column_scale(n_sources, n_features, feature_weight);
        let x: Vec<Vec<f64>> = z.iter().map(|r| r.iter().zip(&column_scale).map(|(a, b)| a * b).collect()).collect();
        let (coef, intercept) = ridge(&x, &y, alpha)?;
        Ok(TransferModel {
            scale: self.scale,
            n_sources,
            grouping,
            grouping_name: grouping.map_or_else(|| "raw".to_string(), |g| groupings[g].name.clone()),
            scaler,
            column_scale,
            coef,
            intercept,
            alpha,
            feature_weight,
            neg_log_evidence,
        })
    }
}

impl TransferModel {
    /// Predicted latency (ms) of each architecture, from its source latencies,
    /// features and the groupings (as given to [`FewShotTransfer::fit`]). On the
    /// linear scale a prediction far outside the shots can fall below zero; it is
    /// returned as is, which keeps the ranking.
    pub fn predict_ms(
        &self,
        sources_ms: &[Vec<f64>],
        features: &[Vec<f64>],
        groupings: &[Grouping],
    ) -> Result<Vec<f64>> {
        if sources_ms.first().is_some_and(|r| r.len() != self.n_sources) {
            return Err(PredictorError::FeatureMismatch {
                row: 0,
                expected: self.n_sources,
                found: sources_ms.first().map_or(0, Vec::len),
            });
        }
        check_groupings(groupings, sources_ms.len())?;
        let grouping = match self.grouping {
            None => None,
            Some(g) => Some(groupings.get(g).ok_or_else(|| PredictorError::InvalidParameter {
                field: "groupings",
                value: format!("{} groupings", groupings.len()),
                allowed: "the groupings given to the fit",
            })?),
        };
        let rows = transfer_rows(self.scale, sources_ms, features, grouping, Some(self.coef.len()))?;
        Ok(rows
            .iter()
            .map(|r| {
                let z = self.scaler.transform(r);
                let v = self.intercept
                    + z.iter().zip(&self.column_scale).zip(&self.coef).map(|((a, s), c)| a * s * c).sum::<f64>();
                self.scale.back(v)
            })
            .collect())
    }
}

fn check_groupings(groupings: &[Grouping], n: usize) -> Result<()> {
    if let Some(g) = groupings.iter().find(|g| g.ids.len() != n) {
        return Err(PredictorError::InvalidParameter {
            field: "groupings",
            value: format!("`{}` with {} ids", g.name, g.ids.len()),
            allowed: "one group id per row of sources_ms",
        });
    }
    Ok(())
}

/// Builds `[sources on the scale, features]` rows, checking lengths, widths and
/// values; the sources are replaced by their means over the groups of `grouping`
/// (in ms) when one is given; `width` is the expected row width when known.
fn transfer_rows(
    scale: TransferScale,
    sources_ms: &[Vec<f64>],
    features: &[Vec<f64>],
    grouping: Option<&Grouping>,
    width: Option<usize>,
) -> Result<Vec<Vec<f64>>> {
    if sources_ms.is_empty() {
        return Err(PredictorError::EmptyData);
    }
    if sources_ms.len() != features.len() {
        return Err(PredictorError::LengthMismatch { rows: features.len(), targets: sources_ms.len() });
    }
    let expected = width.unwrap_or(sources_ms[0].len() + features[0].len());
    for (row, (s, f)) in sources_ms.iter().zip(features).enumerate() {
        if s.len() + f.len() != expected || s.len() != sources_ms[0].len() {
            return Err(PredictorError::FeatureMismatch { row, expected, found: s.len() + f.len() });
        }
        if s.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(PredictorError::NonFinite { what: "source latency (must be finite and > 0)", row });
        }
        if f.iter().any(|v| !v.is_finite()) {
            return Err(PredictorError::NonFinite { what: "feature", row });
        }
    }
    let denoised = grouping.map(|g| group_means(sources_ms, &g.ids));
    let sources = denoised.as_deref().unwrap_or(sources_ms);
    Ok(sources
        .iter()
        .zip(features)
        .map(|(s, f)| s.iter().map(|&v| scale.forward(v)).chain(f.iter().copied()).collect())
        .collect())
}

/// Each row's columns replaced by their means over the rows of its group.
fn group_means(rows: &[Vec<f64>], ids: &[usize]) -> Vec<Vec<f64>> {
    let width = rows.first().map_or(0, Vec::len);
    let mut sums: std::collections::HashMap<usize, (Vec<f64>, f64)> = std::collections::HashMap::new();
    for (r, &g) in rows.iter().zip(ids) {
        let e = sums.entry(g).or_insert_with(|| (vec![0.0; width], 0.0));
        e.0.iter_mut().zip(r).for_each(|(s, v)| *s += v);
        e.1 += 1.0;
    }
    ids.iter()
        .map(|g| sums.get(g).map_or_else(|| vec![0.0; width], |(s, c)| s.iter().map(|v| v / c).collect()))
        .collect()
}

/// `sqrt(block weight / block columns)` per column: sources weight 1, features `w`.
fn column_scale(n_sources: usize, n_features: usize, w: f64) -> Vec<f64> {
    let s = 1.0 / (n_sources.max(1) as f64).sqrt();
    let f = (w / n_features.max(1) as f64).sqrt();
    std::iter::repeat_n(s, n_sources).chain(std::iter::repeat_n(f, n_features)).collect()
}

/// `factor * Xc Xc^T` of the columns `cols` of `z`, centred over the rows.
fn centred_gram(z: &[Vec<f64>], cols: std::ops::Range<usize>, factor: f64) -> Vec<f64> {
    let n = z.len();
    let xc: Vec<Vec<f64>> = cols
        .map(|c| {
            let m = z.iter().map(|r| r[c]).sum::<f64>() / n.max(1) as f64;
            z.iter().map(|r| r[c] - m).collect()
        })
        .collect();
    let mut g = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v = factor * xc.iter().map(|c| c[i] * c[j]).sum::<f64>();
            g[i * n + j] = v;
            g[j * n + i] = v;
        }
    }
    g
}

/// Negative log restricted (REML) marginal likelihood of the ridge
/// `y = b + x.beta + e`, `beta ~ N(0, s^2 diag(block weights))`,
/// `e ~ N(0, s^2 alpha)`, with the scale `s^2` profiled out and the intercept
/// integrated out; up to a constant. `None` when the kernel is singular.
fn neg_log_evidence(gram_s: &[f64], gram_f: &[f64], w: f64, alpha: f64, y: &[f64]) -> Option<f64> {
    let n = y.len();
    let mut k: Vec<f64> = gram_s.iter().zip(gram_f).map(|(a, b)| a + w * b).collect();
    for i in 0..n {
        k[i * n + i] += alpha;
    }
    let l = cholesky(&k, n).ok()?;
    let my = y.iter().sum::<f64>() / n as f64;
    let yc: Vec<f64> = y.iter().map(|v| v - my).collect();
    let quad: f64 = yc.iter().zip(cholesky_solve(&l, n, &yc)).map(|(a, b)| a * b).sum();
    let log_det: f64 = 2.0 * (0..n).map(|i| l[i * n + i].ln()).sum::<f64>();
    // The centred kernel has the constant vector as an eigenvector with eigenvalue
    // alpha; the restricted likelihood lives on its n - 1 dimensional complement.
    let score = (n as f64 - 1.0) * quad.max(f64::MIN_POSITIVE).ln() + log_det - alpha.ln();
    score.is_finite().then_some(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 60 architectures: two sources and two features, deterministic and varied.
    fn data() -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let sources = (0..60).map(|i| vec![1.0 + (i % 7) as f64, 2.0 + ((i * 5) % 11) as f64 * 0.5]).collect();
        let features = (0..60).map(|i| vec![(i % 3) as f64, ((i * 7) % 13) as f64]).collect();
        (sources, features)
    }

    fn fit_on(cfg: &FewShotTransfer, target: &[f64], shots: &[usize]) -> (TransferModel, Vec<f64>) {
        let (s, f) = data();
        let ys: Vec<f64> = shots.iter().map(|&i| target[i]).collect();
        let m = cfg.fit(&s, &f, &[], shots, &ys).expect("fit");
        let p = m.predict_ms(&s, &f, &[]).expect("predict");
        (m, p)
    }

    const SHOTS: [usize; 12] = [0, 3, 8, 13, 17, 22, 29, 31, 38, 44, 50, 57];

    fn max_rel_err(p: &[f64], t: &[f64]) -> f64 {
        p.iter().zip(t).map(|(a, b)| (a / b - 1.0).abs()).fold(0.0, f64::max)
    }

    #[test]
    fn linear_scale_recovers_an_additive_device() {
        let (s, f) = data();
        let target: Vec<f64> = (0..60).map(|i| 3.0 + 2.0 * s[i][0] + 0.5 * s[i][1] + 0.7 * f[i][1]).collect();
        let cfg = FewShotTransfer { alphas: vec![1e-10, 1.0], feature_weights: vec![1.0], ..Default::default() };
        let (m, p) = fit_on(&cfg, &target, &SHOTS);
        assert!(max_rel_err(&p, &target) < 1e-6);
        assert_eq!(m.alpha, 1e-10);
        assert_eq!(m.grouping, None);
        assert_eq!(m.grouping_name, "raw");
    }

    #[test]
    fn log_scale_recovers_a_multiplicative_device() {
        let (s, f) = data();
        let target: Vec<f64> = (0..60).map(|i| 2.0 * s[i][0].sqrt() * (0.1 * f[i][0]).exp()).collect();
        let cfg = FewShotTransfer { alphas: vec![1e-10, 1.0], feature_weights: vec![1.0], scale: TransferScale::Log };
        let (m, p) = fit_on(&cfg, &target, &SHOTS);
        assert!(max_rel_err(&p, &target) < 1e-6);
        assert_eq!(m.alpha, 1e-10);
        // The linear scale cannot represent it exactly.
        let (_, lin) = fit_on(&FewShotTransfer { scale: TransferScale::Linear, ..cfg }, &target, &SHOTS);
        assert!(max_rel_err(&lin, &target) > 1e-4);
    }

    #[test]
    fn evidence_picks_the_block_that_explains_the_target() {
        let (s, f) = data();
        let cfg = FewShotTransfer { alphas: vec![0.01], feature_weights: vec![0.0, 100.0], ..Default::default() };
        // Only the sources matter: the features should get no weight.
        let by_sources: Vec<f64> = (0..60).map(|i| 1.0 + s[i][0] + 2.0 * s[i][1]).collect();
        assert_eq!(fit_on(&cfg, &by_sources, &SHOTS).0.feature_weight, 0.0);
        // Only the features matter: their block should be weighted up.
        let by_features: Vec<f64> = (0..60).map(|i| 1.0 + f[i][0] + 0.5 * f[i][1]).collect();
        assert_eq!(fit_on(&cfg, &by_features, &SHOTS).0.feature_weight, 100.0);
        // The penalty: exact data wants almost none.
        let cfg = FewShotTransfer { alphas: vec![10.0, 1e-6], feature_weights: vec![1.0], ..Default::default() };
        assert_eq!(fit_on(&cfg, &by_sources, &SHOTS).0.alpha, 1e-6);
    }

    /// 120 architectures in 12 groups of 10 (group `i % 12`, member `i / 12`): a
    /// source whose latency is a cost per group plus noise, a second source of
    /// noise alone, and a group feature. Every noise pattern has mean zero in each
    /// group.
    fn grouped() -> Grouped {
        let noise = |i: usize, k: usize, l: usize| (((i / 12) * k + (i % 12) * l) % 10) as f64 / 4.5 - 1.0;
        let sources: Vec<Vec<f64>> =
            (0..120).map(|i| vec![cost(i % 12) + 2.0 * noise(i, 3, 1), 3.0 + noise(i, 7, 3)]).collect();
        let features: Vec<Vec<f64>> = (0..120).map(|i| vec![((i % 12) / 4) as f64]).collect();
        let groupings = vec![
            Grouping { name: "raw".into(), ids: (0..120).collect() },
            Grouping { name: "group".into(), ids: (0..120).map(|i| i % 12).collect() },
        ];
        // Same per-group costs, independent noise.
        let independent: Vec<f64> = (0..120).map(|i| 1.0 + 2.0 * cost(i % 12) + 0.8 * noise(i, 9, 7)).collect();
        // Follows the first source's deviations from its group cost, too.
        let shared: Vec<f64> = (0..120).map(|i| 1.0 + 2.0 * sources[i][0]).collect();
        (sources, features, groupings, independent, shared)
    }

    /// Sources, features, groupings, a target with noise of its own, a target that
    /// shares the first source's noise.
    type Grouped = (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<Grouping>, Vec<f64>, Vec<f64>);

    fn cost(group: usize) -> f64 {
        3.0 + (group % 4) as f64 + 0.5 * (group / 4) as f64
    }

    #[test]
    fn denoised_sources_win_when_the_noise_is_not_shared() {
        let (s, f, groupings, independent, shared) = grouped();
        let shots: Vec<usize> = (0..120).step_by(7).collect();
        let cfg = FewShotTransfer::default();
        let fit = |target: &[f64]| {
            let ys: Vec<f64> = shots.iter().map(|&i| target[i]).collect();
            let m = cfg.fit(&s, &f, &groupings, &shots, &ys).expect("fit");
            let p = m.predict_ms(&s, &f, &groupings).expect("predict");
            (m, p)
        };
        let (m, p) = fit(&independent);
        assert_eq!(m.grouping_name, "group");
        // Constant within each group: the prediction is the group's cost.
        for i in 12..120 {
            assert!((p[i] - p[i - 12]).abs() < 1e-9);
        }
        let truth: Vec<f64> = (0..120).map(|i| 1.0 + 2.0 * cost(i % 12)).collect();
        assert!(max_rel_err(&p, &truth) < 0.05, "{:?}", &p[..12]);
        // A target that shares the source's deviations keeps the measured latencies.
        let (m, p) = fit(&shared);
        assert_eq!(m.grouping_name, "raw");
        assert!(max_rel_err(&p, &shared) < 1e-3);
        // Without groupings the measured latencies are used.
        let ys: Vec<f64> = shots.iter().map(|&i| independent[i]).collect();
        assert_eq!(cfg.fit(&s, &f, &[], &shots, &ys).expect("fit").grouping, None);
    }

    #[test]
    fn group_means_average_each_group() {
        let rows = vec![vec![1.0, 10.0], vec![3.0, 20.0], vec![5.0, 5.0]];
        assert_eq!(group_means(&rows, &[7, 7, 2]), vec![vec![2.0, 15.0], vec![2.0, 15.0], vec![5.0, 5.0]]);
    }

    #[test]
    fn same_shots_same_model() {
        let (s, f) = data();
        let target: Vec<f64> = (0..60).map(|i| s[i][0] * (1.0 + 0.1 * f[i][0]) + 0.01 * (i % 5) as f64).collect();
        let cfg = FewShotTransfer::default();
        let a = fit_on(&cfg, &target, &SHOTS);
        let b = fit_on(&cfg, &target, &SHOTS);
        assert_eq!(a, b);
        let c = fit_on(&cfg, &target, &[1, 4, 9, 14, 18, 23, 27, 33, 39, 45, 51, 58]);
        assert_ne!(a.1, c.1);
    }

    #[test]
    fn bad_input_names_the_field() {
        let (s, f) = data();
        let err = |cfg: FewShotTransfer, shots: &[usize], y: &[f64]| {
            cfg.fit(&s, &f, &[], shots, y).expect_err("must fail").to_string()
        };
        let d = FewShotTransfer::default;
        assert!(err(d(), &[0, 1], &[1.0, 2.0]).contains("shots"));
        assert!(err(d(), &[0, 1, 99], &[1.0, 2.0, 3.0]).contains("shots"));
        assert!(err(FewShotTransfer { alphas: vec![-1.0], ..d() }, &[0, 1, 2], &[1.0; 3]).contains("alphas"));
        assert!(err(FewShotTransfer { alphas: vec![0.0], ..d() }, &[0, 1, 2], &[1.0; 3]).contains("> 0"));
        assert!(
            err(FewShotTransfer { feature_weights: vec![], ..d() }, &[0, 1, 2], &[1.0; 3]).contains("feature_weights")
        );
        assert!(err(d(), &[0, 1, 2], &[1.0, -2.0, 3.0]).contains("target latency"));
        assert!(TransferScale::from_name("cubic").expect_err("unknown").to_string().contains("`linear` or `log`"));
        let short = [Grouping { name: "hist".into(), ids: vec![0; 5] }];
        let e = d().fit(&s, &f, &short, &[0, 1, 2], &[1.0; 3]).expect_err("short grouping").to_string();
        assert!(e.contains("groupings") && e.contains("hist"), "{e}");
        let model =
            d().fit(&s, &f, &[], &SHOTS, &[1.0, 2.0, 1.5, 1.0, 2.0, 3.0, 1.0, 2.0, 1.5, 1.0, 2.0, 3.0]).expect("fit");
        assert!(model.predict_ms(&s[..3], &f[..2], &[]).is_err());
    }
}
