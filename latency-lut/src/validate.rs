//! Validation of a lookup table against end-to-end measurements.
//!
//! [`validate_table`] measures architectures end to end (the reference) and
//! compares the table's predictions with them: the share within ±5% and ±10%, the
//! mean absolute percentage error, Kendall's tau-b between predicted and measured
//! latency (what a search cares about: the ranking), and where the sum of layers
//! misses, which *pairs of consecutive layers* carry the residual.
//!
//! # Residual attribution
//!
//! A sum of isolated layers misses effects that appear only when layers run one
//! after another: an element-wise op working in place on the fresh output of the
//! layer before it, data still in cache (or evicted) from the previous layer,
//! allocator reuse. Each network is described by how often each pair of
//! consecutive op kinds (`conv3x3 -> batch_norm`, `avg_pool -> add`, ...) occurs in
//! it; a ridge regression of the residual (measured - predicted) on these counts
//! gives, per pair, the milliseconds one occurrence adds (negative: the pair runs
//! faster together than apart). [`PairResidual`]s are sorted by their mean
//! contribution per network.

use crate::error::Result;
use crate::lut::LatencyTable;
use crate::measure::{Protocol, Timing};
use crate::measured::measure_network_rounds;
use crate::stability::{NoSlowdown, Slowdown, Stage, drift, repeat_spread};
use nas_core::train::DynTrainable;
use nas_core::{Architecture, LayerSpec, NetworkSpec, OpKind, ToNetworkSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One validated architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationPoint {
    /// Architecture notation.
    pub arch: String,
    /// Table prediction (calibrated), ms.
    pub predicted_ms: f64,
    /// Plain sum of the layers' entries, ms.
    pub layers_ms: f64,
    /// Measured end-to-end median, ms.
    pub measured_ms: f64,
    /// Interquartile range of the end-to-end samples, ms.
    pub measured_iqr_ms: f64,
}

impl ValidationPoint {
    /// Signed relative error `(predicted - measured) / measured`.
    pub fn rel_error(&self) -> f64 {
        (self.predicted_ms - self.measured_ms) / self.measured_ms
    }
}

/// The residual one pair of consecutive op kinds carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairResidual {
    /// `first -> second`, e.g. `conv3x3 -> batch_norm`.
    pub pair: String,
    /// Milliseconds one occurrence adds to measured minus predicted.
    pub ms_per_occurrence: f64,
    /// Mean occurrences per network.
    pub mean_count: f64,
    /// `ms_per_occurrence * mean_count`.
    pub mean_contribution_ms: f64,
}

/// The comparison of a table with end-to-end measurements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// Architectures compared.
    pub samples: usize,
    /// Share of predictions within ±5% of measured (0..1).
    pub within_5pct: f64,
    /// Share within ±10% (0..1).
    pub within_10pct: f64,
    /// Mean absolute percentage error (percent).
    pub mape_pct: f64,
    /// Mean signed error (percent; positive = the table over-predicts).
    pub bias_pct: f64,
    /// Largest absolute error (percent).
    pub max_abs_error_pct: f64,
    /// Kendall's tau-b between predicted and measured.
    pub kendall_tau: f64,
    /// Pairs of consecutive op kinds carrying the residual, largest first.
    pub residual_pairs: Vec<PairResidual>,
    /// Share of the residual's variance the pairs explain (R^2 of the regression).
    pub residual_r2: f64,
    /// The compared architectures.
    pub points: Vec<ValidationPoint>,
    /// Architectures measured a second time at the end of the validation.
    #[serde(default)]
    pub repeats: usize,
    /// Median relative difference between the two measurements of the repeated
    /// architectures: how far the reference itself moved.
    #[serde(default)]
    pub repeat_spread: f64,
    /// Median of second / first measurement, minus one (positive: the machine
    /// was slower at the end).
    #[serde(default)]
    pub repeat_drift: f64,
    /// Whether the reference held still (repeat spread and drift within the
    /// tolerance); when not, the figures above say nothing about the table.
    #[serde(default = "yes")]
    pub conclusive: bool,
    /// The tolerance of that check.
    #[serde(default)]
    pub repeat_tolerance: f64,
    /// The machine's speed now against during the build: the table's
    /// calibration networks, measured again among the validated ones, median
    /// of now / then minus one (negative: faster now). `None` without a
    /// calibration.
    #[serde(default)]
    pub speed_vs_build: Option<f64>,
    /// Share within ±10% once the predictions are scaled by the machine's
    /// speed now against during the build: the table's own quality, apart from
    /// the machine's change of speed since it was built.
    #[serde(default)]
    pub within_10pct_speed_adjusted: Option<f64>,
    /// The same for ±5%.
    #[serde(default)]
    pub within_5pct_speed_adjusted: Option<f64>,
}

fn yes() -> bool {
    true
}

/// How a validation checks its own reliability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidationOptions {
    /// Share of the architectures measured again at the end (default 0.1).
    pub repeat_fraction: f64,
    /// Fewest architectures measured again (default 5).
    pub min_repeats: usize,
    /// Largest accepted repeat spread or drift, as a fraction (default 0.05).
    pub tolerance: f64,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions { repeat_fraction: 0.1, min_repeats: 5, tolerance: 0.05 }
    }
}

impl ValidationOptions {
    /// Indices of the architectures to repeat out of `n`: evenly spaced.
    pub fn repeated(&self, n: usize) -> Vec<usize> {
        let want = ((n as f64 * self.repeat_fraction).ceil() as usize).max(self.min_repeats).min(n);
        if want == 0 {
            return Vec::new();
        }
        let mut idx: Vec<usize> = (0..want).map(|j| j * n / want).collect();
        idx.dedup();
        idx
    }
}

impl ValidationReport {
    /// The sentence to print when the validation is inconclusive.
    pub fn inconclusive_reason(&self) -> Option<String> {
        if self.conclusive {
            return None;
        }
        Some(format!(
            "INCONCLUSIVE: {} architectures measured again at the end moved by {:.1}% (median; drift {:+.1}%, \
             tolerance {:.1}%): the machine's speed changed during the validation, so these figures say nothing \
             about the table. Run `hwnas lut validate` again when the machine is quiet",
            self.repeats,
            100.0 * self.repeat_spread,
            100.0 * self.repeat_drift,
            100.0 * self.repeat_tolerance
        ))
    }
}

/// The coarse kind of a layer used to name pairs: `conv3x3`, `dwconv3x3`,
/// `conv1x1/2` (stride 2), `batch_norm`, `relu`, `avg_pool`, `add`, ...
pub fn op_label(s: &LayerSpec) -> String {
    let stride =
        if s.stride > 1 && !matches!(s.op, OpKind::PixelShuffle) { format!("/{}", s.stride) } else { String::new() };
    match s.op {
        OpKind::Conv2d => {
            let dw = if s.groups > 1 && s.groups == s.in_channels { "dw" } else { "" };
            format!("{dw}conv{0}x{0}{stride}", s.kernel)
        }
        OpKind::Linear => "linear".into(),
        OpKind::BatchNorm2d => "batch_norm".into(),
        OpKind::Activation(a) => format!("{a:?}").to_lowercase(),
        OpKind::AvgPool2d => format!("avg_pool{stride}"),
        OpKind::MaxPool2d => format!("max_pool{stride}"),
        OpKind::GlobalAvgPool => "global_avg_pool".into(),
        OpKind::Add => "add".into(),
        OpKind::Concat => "concat".into(),
        OpKind::PixelShuffle => "pixel_shuffle".into(),
    }
}

/// Counts of consecutive op-kind pairs in a network.
pub fn pair_counts(net: &NetworkSpec) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for w in net.layers.windows(2) {
        *out.entry(format!("{} -> {}", op_label(&w[0].spec), op_label(&w[1].spec))).or_insert(0.0) += 1.0;
    }
    out
}

/// Attributes `residuals[i]` (ms) to the consecutive pairs of `nets[i]` with a
/// ridge regression on centred counts; returns the pairs (largest mean
/// contribution first) and the R^2 of the fit.
pub fn attribute_residuals(nets: &[NetworkSpec], residuals: &[f64]) -> (Vec<PairResidual>, f64) {
    let counts: Vec<BTreeMap<String, f64>> = nets.iter().map(pair_counts).collect();
    let n = counts.len().min(residuals.len());
    // Fewer networks than this cannot separate the pairs from noise.
    if n < 10 {
        return (Vec::new(), 0.0);
    }
    let mut names: Vec<String> = counts.iter().flat_map(|c| c.keys().cloned()).collect();
    names.sort();
    names.dedup();
    let mean_count: Vec<f64> = names
        .iter()
        .map(|p| counts[..n].iter().map(|c| c.get(p).copied().unwrap_or(0.0)).sum::<f64>() / n as f64)
        .collect();
    // Only pairs whose count varies between networks can explain differences; the
    // others are part of the (already calibrated) per-network constant.
    let varying: Vec<usize> = (0..names.len())
        .filter(|&j| {
            counts[..n].iter().any(|c| (c.get(&names[j]).copied().unwrap_or(0.0) - mean_count[j]).abs() > 1e-9)
        })
        .collect();
    if varying.is_empty() {
        return (Vec::new(), 0.0);
    }
    let x: Vec<Vec<f64>> = counts[..n]
        .iter()
        .map(|c| varying.iter().map(|&j| c.get(&names[j]).copied().unwrap_or(0.0) - mean_count[j]).collect())
        .collect();
    let y_mean = residuals[..n].iter().sum::<f64>() / n as f64;
    let y: Vec<f64> = residuals[..n].iter().map(|r| r - y_mean).collect();
    let p = varying.len();
    let trace: f64 = x.iter().map(|row| row.iter().map(|v| v * v).sum::<f64>()).sum::<f64>() / p.max(1) as f64;
    let Ok((beta, _)) = nas_core::linalg::ridge(&x, &y, 1e-3 * trace.max(1e-12)) else { return (Vec::new(), 0.0) };
    let ss_tot: f64 = y.iter().map(|v| v * v).sum();
    let ss_res: f64 =
        x.iter().zip(&y).map(|(row, yi)| (yi - row.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>()).powi(2)).sum();
    let r2 = if ss_tot > 0.0 { (1.0 - ss_res / ss_tot).max(0.0) } else { 0.0 };
    let mut out: Vec<PairResidual> = varying
        .iter()
        .zip(&beta)
        .map(|(&j, &b)| PairResidual {
            pair: names[j].clone(),
            ms_per_occurrence: b,
            mean_count: mean_count[j],
            mean_contribution_ms: b * mean_count[j],
        })
        .collect();
    out.sort_by(|a, b| b.mean_contribution_ms.abs().total_cmp(&a.mean_contribution_ms.abs()));
    (out, r2)
}

/// Summarises compared points (and their networks, for the residual attribution).
pub fn summarize(points: Vec<ValidationPoint>, nets: &[NetworkSpec]) -> ValidationReport {
    let n = points.len();
    let errs: Vec<f64> = points.iter().map(ValidationPoint::rel_error).collect();
    let share = |tol: f64| if n == 0 { 0.0 } else { errs.iter().filter(|e| e.abs() <= tol).count() as f64 / n as f64 };
    let mean = |f: &dyn Fn(f64) -> f64| if n == 0 { 0.0 } else { errs.iter().map(|&e| f(e)).sum::<f64>() / n as f64 };
    let pred: Vec<f64> = points.iter().map(|p| p.predicted_ms).collect();
    let meas: Vec<f64> = points.iter().map(|p| p.measured_ms).collect();
    let residuals: Vec<f64> = points.iter().map(|p| p.measured_ms - p.predicted_ms).collect();
    let (residual_pairs, residual_r2) = attribute_residuals(nets, &residuals);
    ValidationReport {
        samples: n,
        within_5pct: share(0.05),
        within_10pct: share(0.10),
        mape_pct: 100.0 * mean(&|e| e.abs()),
        bias_pct: 100.0 * mean(&|e| e),
        max_abs_error_pct: 100.0 * errs.iter().fold(0.0f64, |m, e| m.max(e.abs())),
        kendall_tau: nas_core::stats::kendall_tau(&meas, &pred),
        residual_pairs,
        residual_r2,
        points,
        repeats: 0,
        repeat_spread: 0.0,
        repeat_drift: 0.0,
        conclusive: true,
        repeat_tolerance: 0.0,
        speed_vs_build: None,
        within_10pct_speed_adjusted: None,
        within_5pct_speed_adjusted: None,
    }
}

/// Measures each of `archs` end to end with `protocol` (interleaved, see
/// [`measure_networks`](crate::measured::measure_networks)) and compares the table's predictions with the
/// measurements; then measures a subset again (see [`ValidationOptions`]) to
/// say whether the reference held still. The table must cover every layer.
pub fn validate_table<S: ToNetworkSpec>(
    space: &S,
    trainable: &dyn DynTrainable<S::Arch>,
    table: &LatencyTable,
    archs: &[S::Arch],
    protocol: &Protocol,
    opts: &ValidationOptions,
    progress: &dyn nas_core::progress::ProgressSink,
) -> Result<ValidationReport> {
    validate_table_with(space, trainable, table, archs, protocol, opts, progress, &NoSlowdown)
}

/// [`validate_table`] with a change of speed injected into chosen stages (tests).
#[allow(clippy::too_many_arguments)]
pub fn validate_table_with<S: ToNetworkSpec>(
    space: &S,
    trainable: &dyn DynTrainable<S::Arch>,
    table: &LatencyTable,
    archs: &[S::Arch],
    protocol: &Protocol,
    opts: &ValidationOptions,
    progress: &dyn nas_core::progress::ProgressSink,
    slowdown: &dyn Slowdown,
) -> Result<ValidationReport> {
    let nets: Vec<NetworkSpec> = archs.iter().map(|a| space.network_spec(a)).collect();
    let sums = nets.iter().map(|n| table.layers_ms(n)).collect::<Result<Vec<f64>>>()?;
    // The table's calibration networks are measured too, interleaved with the
    // others: against their times in the table they give the machine's speed
    // now against during the build.
    let calibration: Vec<(S::Arch, f64)> = table
        .calibration
        .iter()
        .flat_map(|c| &c.points)
        .filter_map(|p| space.parse(&p.arch).ok().map(|a| (a, p.measured_ms)))
        .collect();
    let mut all: Vec<S::Arch> = archs.to_vec();
    all.extend(calibration.iter().map(|(a, _)| a.clone()));
    let main = slowdown.factor(Stage::Validation);
    let mut timings: Vec<Timing> = measure_network_rounds(trainable, &all, protocol, progress, &|_| main)?
        .iter()
        .map(|rs| Timing::pool(rs))
        .collect();
    let calibration_now: Vec<f64> = timings.split_off(archs.len()).iter().map(|t| t.median_ms).collect();
    let mut points = Vec::with_capacity(archs.len());
    for ((arch, t), layers_ms) in archs.iter().zip(&timings).zip(sums) {
        points.push(ValidationPoint {
            arch: arch.notation(),
            predicted_ms: table.predict(layers_ms),
            layers_ms,
            measured_ms: t.median_ms,
            measured_iqr_ms: t.iqr_ms,
        });
    }
    let mut report = summarize(points, &nets);
    if !calibration.is_empty() {
        let then: Vec<f64> = calibration.iter().map(|(_, ms)| *ms).collect();
        let speed = drift(&then, &calibration_now);
        let share = |tol: f64| {
            let n = report.points.len().max(1) as f64;
            report
                .points
                .iter()
                .filter(|p| ((p.predicted_ms * (1.0 + speed)) / p.measured_ms - 1.0).abs() <= tol)
                .count() as f64
                / n
        };
        report.speed_vs_build = Some(speed);
        report.within_10pct_speed_adjusted = Some(share(0.10));
        report.within_5pct_speed_adjusted = Some(share(0.05));
    }
    let picked = opts.repeated(archs.len());
    let again: Vec<S::Arch> = picked.iter().map(|&i| archs[i].clone()).collect();
    let factor = slowdown.factor(Stage::ValidationRepeat);
    let repeat_progress = |t: &nas_core::progress::TaskProgress<'_>| {
        progress.update(&nas_core::progress::TaskProgress { stage: "repeat", ..*t })
    };
    let second: Vec<f64> = measure_network_rounds(trainable, &again, protocol, &repeat_progress, &|_| factor)?
        .iter()
        .map(|rs| Timing::pool(rs).median_ms)
        .collect();
    let first: Vec<f64> = picked.iter().map(|&i| timings[i].median_ms).collect();
    report.repeats = picked.len();
    report.repeat_spread = repeat_spread(&first, &second);
    report.repeat_drift = drift(&first, &second);
    report.repeat_tolerance = opts.tolerance;
    report.conclusive = report.repeat_spread <= opts.tolerance && report.repeat_drift.abs() <= opts.tolerance;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nas_core::Activation;

    fn chain(n_pool_add: usize) -> NetworkSpec {
        let mut net = NetworkSpec::new([4, 8, 8], 10);
        net.push("conv", LayerSpec::conv(4, 4, 3, 1, 1, [8, 8]));
        net.push("bn", LayerSpec::batch_norm(4, true, [8, 8]));
        for i in 0..n_pool_add {
            net.push(format!("p{i}"), LayerSpec::pool(OpKind::AvgPool2d, 4, 3, 1, 1, [8, 8]));
            net.push(format!("a{i}"), LayerSpec::add(4, 2, [8, 8]));
        }
        net.push("relu", LayerSpec::activation(Activation::Relu, 4, [8, 8]));
        net
    }

    #[test]
    fn residual_is_attributed_to_the_pair_that_carries_it() {
        // Each `avg_pool -> add` pair hides 0.02 ms that no layer shows alone.
        let nets: Vec<NetworkSpec> = (0..12).map(|k| chain(k % 6)).collect();
        let points: Vec<ValidationPoint> = nets
            .iter()
            .enumerate()
            .map(|(k, _)| ValidationPoint {
                arch: format!("n{k}"),
                predicted_ms: 1.0,
                layers_ms: 1.0,
                measured_ms: 1.0 + 0.02 * (k % 6) as f64,
                measured_iqr_ms: 0.0,
            })
            .collect();
        let r = summarize(points, &nets);
        assert_eq!(r.samples, 12);
        let top = &r.residual_pairs[0];
        assert!(top.pair == "avg_pool -> add" || top.pair == "add -> avg_pool", "{:?}", r.residual_pairs);
        assert!(r.residual_r2 > 0.95, "{}", r.residual_r2);
        // Errors 0, -2.0, -3.8, -5.7, -7.4, -9.1%.
        assert_eq!(r.within_5pct, 0.5);
        assert_eq!(r.within_10pct, 1.0);
        assert!(r.bias_pct < 0.0);
        assert_eq!(op_label(&LayerSpec::conv(8, 8, 3, 2, 8, [4, 4])), "dwconv3x3/2");
    }
}
