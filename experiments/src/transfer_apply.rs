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
//! The quality estimate printed is leave-one-out over the measured cells (each
//! predicted by a model fitted on the others).

use crate::predictor_cmd::{TransferDenoise, TransferFeatures, nb201, transfer_groupings};
use crate::rundir::write_atomic;
use anyhow::{Context, Result, bail};
use nas_core::{Encode, MetricTable, SearchSpace};
use predictors::kendall_tau;
use predictors::transfer::{FewShotTransfer, TransferScale};
use std::collections::HashMap;
use std::path::PathBuf;

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
    let col = match cols {
        [_] => 0,
        _ => cols.iter().position(|c| c == "latency_ms").with_context(|| {
            format!(
                "{shown}: give `arch` and one latency column (`latency_ms` or `<device>_ms`); found columns: {}",
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

/// Runs the transfer to the measured device and writes the latency table; returns
/// the summary.
pub fn transfer_measured(opts: &ApplyOptions) -> Result<String> {
    let (space, table) = nb201("nb201")?;
    let (shots, default_name) = read_measured(&opts.measured, &space, &table)?;
    let name = opts.name.clone().unwrap_or(default_name);
    if name.trim().is_empty() || name.contains([',', '\n', '"']) {
        bail!("--name `{name}`: give a device name without commas or quotes");
    }
    let devices = table.devices();
    let sources: Vec<String> = if opts.from.is_empty() { devices.clone() } else { opts.from.clone() };
    if let Some(d) = sources.iter().find(|d| !devices.contains(d)) {
        bail!("--from {d}: unknown device; devices: {}", devices.join(", "));
    }
    let one_hot: Vec<Vec<f32>> =
        table.rows().map(|(n, _)| Ok(space.encode(&space.parse(n)?))).collect::<Result<_>>()?;
    let features: Vec<Vec<f64>> = one_hot.iter().map(|oh| opts.features.of(oh)).collect();
    let groupings = transfer_groupings(&opts.denoise, &one_hot);
    let cols: Vec<usize> = sources.iter().map(|d| table.column(&format!("{d}_ms"))).collect::<nas_core::Result<_>>()?;
    let src_ms: Vec<Vec<f64>> = table.rows().map(|(_, r)| cols.iter().map(|&c| r[c]).collect()).collect();
    let cfg = FewShotTransfer { scale: opts.scale, ..Default::default() };
    let fit = |held_out: Option<usize>| {
        let kept: Vec<(usize, f64)> =
            shots.iter().enumerate().filter(|(k, _)| Some(*k) != held_out).map(|(_, s)| *s).collect();
        let idx: Vec<usize> = kept.iter().map(|s| s.0).collect();
        let ys: Vec<f64> = kept.iter().map(|s| s.1).collect();
        cfg.fit(&src_ms, &features, &groupings, &idx, &ys)
    };
    let model = fit(None).context("fitting the transfer model on the measured architectures")?;
    let mut predicted = model.predict_ms(&src_ms, &features, &groupings)?;
    // Leave-one-out over the shots (each needs 3 others).
    let mut loo = None;
    if shots.len() >= 4 {
        let mut pred = Vec::with_capacity(shots.len());
        for (k, &(row, _)) in shots.iter().enumerate() {
            let m = fit(Some(k)).context("leave-one-out fit")?;
            pred.push(m.predict_ms(&src_ms, &features, &groupings)?[row]);
        }
        let truth: Vec<f64> = shots.iter().map(|s| s.1).collect();
        let mape = truth.iter().zip(&pred).map(|(t, p)| ((p - t) / t).abs()).sum::<f64>() / truth.len() as f64;
        loo = Some((kendall_tau(&truth, &pred), 100.0 * mape));
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
    write_atomic(&opts.write, csv.as_bytes())?;
    let mut s = format!(
        "few-shot transfer to `{name}`: {} measured architectures ({}), sources {}\n\
         chosen by the marginal likelihood: denoising `{}`, feature weight {}, penalty {:.4}\n",
        shots.len(),
        opts.measured.display(),
        sources.join(","),
        model.grouping_name,
        model.feature_weight,
        model.alpha
    );
    match loo {
        Some((tau, mape)) => s.push_str(&format!(
            "leave-one-out over the measured architectures: Kendall tau {tau:.3}, mean absolute error {mape:.1}%\n"
        )),
        None => s.push_str("(leave-one-out needs at least 4 measured architectures)\n"),
    }
    if clamped > 0 {
        s.push_str(&format!("{clamped} predictions below {MIN_LATENCY_MS} ms were written as {MIN_LATENCY_MS} ms\n"));
    }
    s.push_str(&format!(
        "wrote {} ({} architectures: {} measured, the rest predicted)\n\
         use it: [[evaluators]] kind = \"table\", path = \"{}\", device = \"{name}\"\n",
        opts.write.display(),
        table.len(),
        shots.len(),
        opts.write.display()
    ));
    Ok(s)
}
