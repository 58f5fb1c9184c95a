//! `hwnas predictor transfer --measured FILE --write FILE`: few-shot latency
//! transfer to a device of your own.
//!
//! You measure a few NAS-Bench-201 cells on the new device and list them in a CSV
//! (`arch` in NAS-Bench-201 notation and one latency column, `latency_ms` or
//! `<device>_ms`). The transfer model ([`FewShotTransfer`]) is fitted on them,
//! with the benchmark table's devices as sources, and predicts every cell. The
//! result is written as a latency table (`arch,<name>_ms`; measured cells keep
//! their measurement) that a config uses like any device table:
//!
//! ```toml
//! [[evaluators]]
//! kind = "table"
//! path = "mydevice.csv"
//! device = "mydevice"
//! ```
//!
//! The quality estimate printed is cross-validated over the measured cells
//! (leave-one-out up to [`LOO_MAX`] of them, 10-fold beyond): Kendall tau, the
//! median relative error (robust to near-zero latencies such as dead cells on
//! TFLite devices), and the mean absolute error in ms. A `.gz` output is
//! compressed.

use crate::predictor_cmd::{TransferDenoise, TransferFeatures, nb201, source_latencies, transfer_arch_inputs};
use crate::rundir::write_atomic;
use anyhow::{Context, Result, bail};
use nas_core::{MetricTable, SearchSpace};
use predictors::kendall_tau;
use predictors::transfer::{FewShotTransfer, TransferScale};
use std::collections::HashMap;
use std::path::PathBuf;

/// Up to this many measured architectures, cross-validation is leave-one-out;
/// beyond, 10-fold (each fold refits the whole model).
pub const LOO_MAX: usize = 30;

/// Whether two paths name the same file (the second may not exist yet).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    let canon = |p: &std::path::Path| -> Option<PathBuf> {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        Some(dir.canonicalize().ok()?.join(p.file_name()?))
    };
    matches!((canon(a), canon(b)), (Some(x), Some(y)) if x == y)
}

/// Predictions below this (ms) are written as this value: a linear-scale model can
/// extrapolate below zero far from the measured cells, and a latency table must
/// hold positive latencies.
pub const MIN_LATENCY_MS: f64 = 1e-3;

/// Options of `hwnas predictor transfer --measured`.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Source devices of the benchmark table (empty = all of them).
    pub from: Vec<String>,
    /// CSV of the measured cells.
    pub measured: PathBuf,
    /// The latency table to write.
    pub write: PathBuf,
    /// Device name of the written column (default: from the measured column).
    pub name: Option<String>,
    /// Regression scale.
    pub scale: TransferScale,
    /// Architecture features.
    pub features: TransferFeatures,
    /// Candidate groupings for denoising the sources.
    pub denoise: Vec<TransferDenoise>,
}

/// The measured latencies: `(table row, ms)` per measured cell, and the device name.
fn read_measured(
    path: &std::path::Path,
    space: &impl SearchSpace,
    table: &MetricTable,
) -> Result<(Vec<(usize, f64)>, String)> {
    let shown = path.display();
    let measured = MetricTable::load(path, space).with_context(|| format!("reading the measured latencies {shown}"))?;
    let cols = measured.columns();
    let ms: Vec<usize> = (0..cols.len()).filter(|&i| cols[i].ends_with("_ms")).collect();
    let col = match ms.as_slice() {
        [only] => *only,
        _ => ms.iter().copied().find(|&i| cols[i] == "latency_ms").with_context(|| {
            format!(
                "{shown}: give `arch` and one latency column in milliseconds (`latency_ms` or `<device>_ms`); \
                 found columns: {}",
                cols.join(", ")
            )
        })?,
    };
    let name = match cols[col].strip_suffix("_ms") {
        Some(n) if n != "latency" && !n.is_empty() => n.to_string(),
        _ => "target".to_string(),
    };
    let index: HashMap<&str, usize> = table.rows().enumerate().map(|(i, (n, _))| (n, i)).collect();
    let mut shots = Vec::new();
    for (notation, row) in measured.rows() {
        let ms = row[col];
        if !(ms.is_finite() && ms > 0.0) {
            bail!("{shown}: `{notation}` has latency {ms}; latencies must be finite and > 0 (milliseconds)");
        }
        let i = *index.get(notation).with_context(|| format!("{shown}: `{notation}` is not in the benchmark table"))?;
        shots.push((i, ms));
    }
    if shots.len() < 3 {
        bail!(
            "{shown}: {} measured architecture(s); the transfer needs at least 3 (20 give mean tau 0.91)",
            shots.len()
        );
    }
    Ok((shots, name))
}

/// The cross-validated quality of a transfer over the measured cells.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CrossValidation {
    /// Folds (equal to the measured cells: leave-one-out).
    pub folds: usize,
    /// Kendall tau of the held-out predictions.
    pub kendall_tau: f64,
    /// Median relative error, percent.
    pub median_error_pct: f64,
    /// Mean absolute error, ms.
    pub mae_ms: f64,
}

/// What `hwnas predictor transfer --measured` did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ApplyReport {
    /// Name of the device (the column is `<name>_ms`).
    pub name: String,
    /// The measured file.
    pub measured_file: PathBuf,
    /// Measured architectures.
    pub measured: usize,
    /// Source devices.
    pub sources: Vec<String>,
    /// Denoising grouping chosen by the marginal likelihood.
    pub grouping: String,
    /// Feature-block weight chosen.
    pub feature_weight: f64,
    /// Ridge penalty chosen.
    pub alpha: f64,
    /// Cross-validation over the measured cells (at least 4 needed).
    pub cross_validation: Option<CrossValidation>,
    /// Predictions written as [`MIN_LATENCY_MS`].
    pub clamped: usize,
    /// The table written.
    pub written: PathBuf,
    /// Architectures in it.
    pub architectures: usize,
}

impl std::fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "few-shot transfer to `{}`: {} measured architectures ({}), sources {}",
            self.name,
            self.measured,
            self.measured_file.display(),
            self.sources.join(",")
        )?;
        writeln!(
            f,
            "chosen by the marginal likelihood: denoising `{}`, feature weight {}, penalty {:.4}",
            self.grouping, self.feature_weight, self.alpha
        )?;
        match &self.cross_validation {
            Some(cv) => writeln!(
                f,
                "{} over the measured architectures: Kendall tau {:.3}, median error {:.1}%, mean absolute error \
                 {:.3} ms",
                if cv.folds == self.measured {
                    "leave-one-out".to_string()
                } else {
                    format!("{}-fold cross-validation", cv.folds)
                },
                cv.kendall_tau,
                cv.median_error_pct,
                cv.mae_ms
            )?,
            None => writeln!(f, "(cross-validation needs at least 4 measured architectures)")?,
        }
        if self.clamped > 0 {
            writeln!(f, "{} predictions below {MIN_LATENCY_MS} ms were written as {MIN_LATENCY_MS} ms", self.clamped)?;
        }
        writeln!(
            f,
            "wrote {} ({} architectures: {} measured, the rest predicted)",
            self.written.display(),
            self.architectures,
            self.measured
        )?;
        writeln!(
            f,
            "use it: [[evaluators]] kind = \"table\", path = \"{}\", device = \"{}\"",
            self.written.display(),
            self.name
        )
    }
}

/// Runs the transfer to the measured device and writes the latency table.
pub fn transfer_measured(opts: &ApplyOptions) -> Result<ApplyReport> {
    let (space, table) = nb201("nb201")?;
    let (shots, default_name) = read_measured(&opts.measured, &space, &table)?;
    let name = opts.name.as_deref().map_or(default_name, |n| n.strip_suffix("_ms").unwrap_or(n).to_string());
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        bail!("--name `{name}`: use letters, digits, `_` and `-` only (the column is `<name>_ms`)");
    }
    let devices = table.devices();
    let sources: Vec<String> = if opts.from.is_empty() { devices.clone() } else { opts.from.clone() };
    if let Some(d) = sources.iter().find(|d| !devices.contains(d)) {
        bail!("--from {d}: unknown device; devices: {}", devices.join(", "));
    }
    if sources.contains(&name) {
        bail!(
            "the measured device is named `{name}`, which is also a source device; give another --name, or leave \
             `{name}` out of --from"
        );
    }
    if same_file(&opts.measured, &opts.write) {
        bail!("--write {} is the --measured file; write the table elsewhere", opts.write.display());
    }
    let (features, groupings) = transfer_arch_inputs(&space, &table, opts.features, &opts.denoise)?;
    let src_ms = source_latencies(&table, &sources)?;
    let cfg = FewShotTransfer { scale: opts.scale, ..Default::default() };
    let fit = |held_out: &[usize]| {
        let kept: Vec<(usize, f64)> =
            shots.iter().enumerate().filter(|(k, _)| !held_out.contains(k)).map(|(_, s)| *s).collect();
        let idx: Vec<usize> = kept.iter().map(|s| s.0).collect();
        let ys: Vec<f64> = kept.iter().map(|s| s.1).collect();
        cfg.fit(&src_ms, &features, &groupings, &idx, &ys)
    };
    let model = fit(&[]).context("fitting the transfer model on the measured architectures")?;
    let mut predicted = model.predict_ms(&src_ms, &features, &groupings)?;
    // Cross-validation over the measured cells: leave-one-out up to
    // `LOO_MAX` of them, 10 folds beyond (every fit keeps at least 3).
    let folds = if shots.len() <= LOO_MAX { shots.len() } else { 10 };
    let mut cv = None;
    if shots.len() >= 4 {
        let mut pred = vec![0.0; shots.len()];
        for f in 0..folds {
            let held: Vec<usize> = (0..shots.len()).filter(|k| k % folds == f).collect();
            let m = fit(&held).context("cross-validation fit")?;
            let all = m.predict_ms(&src_ms, &features, &groupings)?;
            for &k in &held {
                pred[k] = all[shots[k].0];
            }
        }
        let truth: Vec<f64> = shots.iter().map(|s| s.1).collect();
        let mut rel: Vec<f64> = truth.iter().zip(&pred).map(|(t, p)| ((p - t) / t).abs()).collect();
        rel.sort_by(f64::total_cmp);
        let mae = truth.iter().zip(&pred).map(|(t, p)| (p - t).abs()).sum::<f64>() / truth.len() as f64;
        cv = Some(CrossValidation {
            folds,
            kendall_tau: kendall_tau(&truth, &pred),
            median_error_pct: 100.0 * rel[rel.len() / 2],
            mae_ms: mae,
        });
    }
    for &(i, ms) in &shots {
        predicted[i] = ms;
    }
    // NaN cannot come out of a finite fit; `max` would also map it to the floor.
    let clamped = predicted.iter().filter(|&&v| v < MIN_LATENCY_MS || v.is_nan()).count();
    let mut csv = format!("arch,{name}_ms\n");
    for ((notation, _), v) in table.rows().zip(&predicted) {
        csv.push_str(&format!("{notation},{:.6}\n", v.max(MIN_LATENCY_MS)));
    }
    if let Some(dir) = opts.write.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let bytes = if opts.write.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, csv.as_bytes()).context("compressing the table")?;
        gz.finish().context("compressing the table")?
    } else {
        csv.into_bytes()
    };
    write_atomic(&opts.write, &bytes)?;
    Ok(ApplyReport {
        name,
        measured_file: opts.measured.clone(),
        measured: shots.len(),
        sources,
        grouping: model.grouping_name.clone(),
        feature_weight: model.feature_weight,
        alpha: model.alpha,
        cross_validation: cv,
        clamped,
        written: opts.write.clone(),
        architectures: table.len(),
    })
}
