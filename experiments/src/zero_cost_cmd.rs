//! `hwnas predictor zero-cost`: zero-cost proxies of NAS-Bench-201 cells at
//! initialisation and their rank correlation with the benchmark's trained
//! accuracy.
//!
//! A seeded sample of the table's cells is built as burn networks (the
//! benchmark's macro network by default: C = 16, N = 5, 32x32 inputs), each
//! scored from one batch ([`nas_core::train::zero_cost`]); the scores go to
//! `zero_cost.csv` (`arch`, one column per proxy, the target) and the Kendall
//! tau and Spearman rho of each proxy, of the parameter count and of the FLOPs
//! to `zero_cost.json`, next to the published values. `hwnas predictor eval
//! --join zero_cost.csv --table-features naswot,synflow` then uses the scores as
//! predictor features.

use crate::predictor_cmd::{nb201, target_column};
use crate::progress::ProgressDisplay;
use crate::rundir::write_atomic;
use anyhow::{Context, Result, bail};
use nas_core::stats::{kendall_tau, spearman};
use nas_core::train::zero_cost::{Proxy, proxy_batch};
use nas_core::train::{Backend, DynTrainable};
use nas_core::{AnalyticalCost, Architecture, CostModel, Metric, SearchSpace, ToNetworkSpec};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use search_spaces::nb201::{Nb201Config, Nb201Space};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Options of `hwnas predictor zero-cost`.
#[derive(Clone, Debug)]
pub struct ZeroCostOptions {
    /// Cells scored (a seeded sample of the table; all when larger).
    pub cells: usize,
    /// The accuracy correlated with: `cifar10`, `cifar100`, `imagenet16_120` or a column.
    pub target: String,
    /// Proxies computed.
    pub proxies: Vec<Proxy>,
    /// Images in the scored batch.
    pub batch_size: usize,
    /// Channels of the first stage of the networks.
    pub channels: usize,
    /// Cells per stage of the networks.
    pub cells_per_stage: usize,
    /// Seed of the sample, the images and the weights.
    pub seed: u64,
    /// Output folder.
    pub out: PathBuf,
}

/// One proxy's correlation with the target.
#[derive(Clone, Debug, Serialize)]
pub struct Correlation {
    /// Proxy (or `params`, `flops`).
    pub score: String,
    /// Kendall tau-b with the target.
    pub kendall_tau: f64,
    /// Spearman rho with the target.
    pub spearman: f64,
    /// A published Kendall tau on NB201 CIFAR-10, with its source.
    pub published: Option<(f64, String)>,
}

/// What `hwnas predictor zero-cost` measured (`zero_cost.json`).
#[derive(Clone, Debug, Serialize)]
pub struct ZeroCostReport {
    /// Cells scored.
    pub cells: usize,
    /// The table column correlated with.
    pub target: String,
    /// The networks scored.
    pub network: String,
    /// Images per batch (random normal pixels).
    pub batch_size: usize,
    /// Seconds spent scoring.
    pub seconds: f64,
    /// Per proxy, then params and FLOPs as references.
    pub correlations: Vec<Correlation>,
}

impl std::fmt::Display for ZeroCostReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "zero-cost proxies of {} NB201 cells ({}; {} random images) against {} ({:.0} s)",
            self.cells, self.network, self.batch_size, self.target, self.seconds
        )?;
        writeln!(f, "{:<12}{:>14}{:>14}   published Kendall tau (NB201 CIFAR-10)", "score", "Kendall tau", "Spearman")?;
        for c in &self.correlations {
            let published = c.published.as_ref().map_or(String::new(), |(v, s)| format!("{v:.3} ({s})"));
            writeln!(f, "{:<12}{:>14.3}{:>14.3}   {published}", c.score, c.kendall_tau, c.spearman)?;
        }
        Ok(())
    }
}

/// Published Kendall taus on NB201 CIFAR-10 (test accuracy, 200 epochs).
fn published(score: &str) -> Option<(f64, String)> {
    let (v, s) = match score {
        "synflow" => (0.54, "ZiCo, Li et al. ICLR 2023, Table 1"),
        "grad_norm" => (0.46, "ZiCo, Li et al. ICLR 2023, Table 1"),
        "naswot" => (0.574, "Mellor et al. ICML 2021, Fig. 3a; 0.58 in ZiCo Table 3"),
        "params" => (0.57, "ZiCo, Li et al. ICLR 2023, Table 1"),
        "flops" => (0.54, "ZiCo, Li et al. ICLR 2023, Table 1"),
        _ => return None,
    };
    Some((v, s.to_string()))
}

/// Runs the command: writes `zero_cost.csv` and `zero_cost.json` into `opts.out`.
pub fn zero_cost(opts: &ZeroCostOptions) -> Result<ZeroCostReport> {
    if opts.cells < 3 {
        bail!("--cells {}: at least 3 cells are needed for a rank correlation", opts.cells);
    }
    if opts.proxies.is_empty() {
        bail!("--proxies: give one or more of {}", Proxy::names());
    }
    nas_core::NasError::check_size("--batch-size", opts.batch_size, 2, 1024)?;
    let (table_space, table) = nb201("nb201")?;
    let col = target_column(&table, &opts.target)?;
    let space = Nb201Space::new(Nb201Config {
        channels: opts.channels,
        cells_per_stage: opts.cells_per_stage,
        ..Nb201Config::default()
    })
    .context("--channels / --cells-per-stage")?;
    let mut rows: Vec<(String, f64)> =
        table.rows().filter(|(_, r)| r[col].is_finite()).map(|(a, r)| (a.to_string(), r[col])).collect();
    rows.shuffle(&mut StdRng::seed_from_u64(opts.seed));
    rows.truncate(opts.cells);
    let archs = rows.iter().map(|(a, _)| table_space.parse(a)).collect::<nas_core::Result<Vec<_>>>()?;
    let batch = proxy_batch(
        None,
        DynTrainable::input_chw(&space),
        DynTrainable::num_classes(&space),
        opts.batch_size,
        opts.seed,
    );
    let device = Backend::Flex.device();
    let display = ProgressDisplay::new(archs.len(), !std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let done = AtomicUsize::new(0);
    let start = Instant::now();
    let scores: Vec<Vec<f64>> = archs
        .par_iter()
        .map(|a| -> Result<Vec<f64>> {
            let seed = nas_core::seed::derive_seed(opts.seed, a.id().0);
            let s = space
                .zero_cost(a, &batch, &opts.proxies, &device, seed)
                .with_context(|| format!("scoring {}", a.notation()))?;
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            display.show(n, archs.len(), "zero-cost proxies", 5.0);
            Ok(s.into_iter().map(|(_, v)| v).collect())
        })
        .collect::<Result<_>>()?;
    display.finish();
    let seconds = start.elapsed().as_secs_f64();

    let truth: Vec<f64> = rows.iter().map(|(_, y)| *y).collect();
    let mut correlations = Vec::new();
    let mut corr = |name: &str, v: &[f64]| {
        correlations.push(Correlation {
            score: name.to_string(),
            kendall_tau: kendall_tau(&truth, v),
            spearman: spearman(&truth, v),
            published: published(name),
        });
    };
    for (k, p) in opts.proxies.iter().enumerate() {
        // A degenerate score (-inf NASWOT) ranks last.
        let v: Vec<f64> = scores.iter().map(|s| if s[k].is_finite() { s[k] } else { f64::MIN }).collect();
        corr(p.name(), &v);
    }
    let costs: Vec<_> =
        archs.iter().map(|a| AnalyticalCost.cost(&table_space.network_spec(a))).collect::<nas_core::Result<_>>()?;
    for (name, m) in [("params", Metric::Params), ("flops", Metric::Flops)] {
        let v: Vec<f64> = costs.iter().map(|c| c.get(&m).copied().unwrap_or(0.0)).collect();
        corr(name, &v);
    }

    std::fs::create_dir_all(&opts.out)?;
    let target = table.columns()[col].clone();
    let mut csv = format!("arch,{},{target}\n", opts.proxies.iter().map(|p| p.name()).collect::<Vec<_>>().join(","));
    for ((arch, y), s) in rows.iter().zip(&scores) {
        let cells: Vec<String> = s.iter().map(|v| if v.is_finite() { format!("{v}") } else { String::new() }).collect();
        csv.push_str(&format!("{arch},{},{y}\n", cells.join(",")));
    }
    write_atomic(&opts.out.join("zero_cost.csv"), csv.as_bytes())?;
    let report = ZeroCostReport {
        cells: rows.len(),
        target,
        network: format!("NB201 C={} N={} at initialisation", opts.channels, opts.cells_per_stage),
        batch_size: opts.batch_size,
        seconds,
        correlations,
    };
    write_atomic(&opts.out.join("zero_cost.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    Ok(report)
}
