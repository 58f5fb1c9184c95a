//! `hwnas predictor eval` and `hwnas predictor transfer`: predictor quality on the
//! NAS-Bench-201 table.
//!
//! - `eval`: learning curves of accuracy predictors (Kendall tau, Spearman, Pearson,
//!   RMSE, top-1% precision; mean ± std over seeds per model and training size),
//!   `eval.json` and a Kendall-tau-against-training-size plot.
//! - `transfer`: few-shot latency transfer: each target device predicted from the
//!   full tables of the source devices and `K` measured architectures; Kendall tau
//!   over all architectures of the target, with a plain ridge regression on the
//!   source latencies as the reference.

use crate::plot::{Curve, curves_plot};
use crate::progress::ProgressDisplay;
use crate::registry::builtin_nb201_table;
use crate::rundir::write_atomic;
use anyhow::{Context, Result, bail};
use nas_core::{Architecture, EncodingKind, MetricTable, SearchSpace};
use predictors::eval::{CurvePoint, MeanStd, learning_curve_with, learning_curves, train_split};
use predictors::model::{Fit, ModelConfig, Predict, RidgeConfig};
use predictors::transfer::{FewShotTransfer, Grouping, TransferScale};
use predictors::{FeatureConfig, FreeFeature, kendall_tau};
use search_spaces::nb201::analysis::{live_ops, op_histogram};
use search_spaces::nb201::{Nb201Arch, Nb201Space};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Options of `hwnas predictor eval`.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// Space (only `nb201` has a table).
    pub space: String,
    /// `cifar10`, `cifar100`, `imagenet16_120` or a table column.
    pub target: String,
    /// Training sizes.
    pub train_sizes: Vec<usize>,
    /// Seeds per size.
    pub seeds: u64,
    /// Models (kind names).
    pub models: Vec<String>,
    /// Encoding.
    pub encoding: EncodingKind,
    /// Free features.
    pub free: Vec<FreeFeature>,
    /// Output folder.
    pub out: std::path::PathBuf,
    /// Also write PNG.
    pub png: bool,
    /// FBNetV3-style pretraining: when > 0, also report `mlp_pretrained`, an MLP
    /// pretrained to predict log params and log FLOPs of this many unlabelled
    /// architectures from their features, then fine-tuned on each split.
    pub pretrain: usize,
    /// Table columns (device latencies such as `fpga_ms`) appended as `log10`
    /// features: the "cheap" features a guided search gets from its latency table.
    pub table_features: Vec<String>,
    /// A CSV joined by `arch` whose columns `table_features` may name; rows
    /// outside it are left out.
    pub join: Option<PathBuf>,
}

/// The built-in NAS-Bench-201 space and its table (`space` must be `nb201`).
pub(crate) fn nb201(space: &str) -> Result<(Nb201Space, MetricTable)> {
    if space != "nb201" {
        bail!("--space {space}: only nb201 has a benchmark table to evaluate predictors on");
    }
    let sp = Nb201Space::new(Default::default())?;
    let path = builtin_nb201_table();
    let table = MetricTable::load(&path, &sp).with_context(|| format!("reading {}", path.display()))?;
    Ok((sp, table))
}

/// The table column of a target: an accuracy (`cifar10` means `cifar10_test_acc`), a
/// device (`fpga` means `fpga_ms`) or any column name.
pub(crate) fn target_column(table: &MetricTable, target: &str) -> Result<usize> {
    [target.to_string(), format!("{target}_test_acc"), format!("{target}_ms")]
        .iter()
        .find_map(|name| table.column(name).ok())
        .with_context(|| {
            format!(
                "--target {target}: give an accuracy column ({}) or a device ({}), or any column of the table",
                table.accuracy_columns().join(", "),
                table.devices().join(", ")
            )
        })
}

/// What `hwnas predictor eval` measured (`eval.json`).
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// The space.
    pub space: String,
    /// The table column predicted.
    pub target: String,
    /// The encoding.
    pub encoding: EncodingKind,
    /// The free features.
    pub free: Vec<FreeFeature>,
    /// Table columns appended as features.
    pub table_features: Vec<String>,
    /// Which rows the measures are taken on.
    pub test_rows: String,
    /// Seeds per training size.
    pub seeds: u64,
    /// One point per model and training size.
    pub curves: Vec<CurvePoint>,
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fc = FeatureConfig { encoding: self.encoding, free: self.free.clone(), cheap: vec![] };
        let extra: String = self.table_features.iter().map(|c| format!("+{c}")).collect();
        f.write_str(&format_eval(&self.curves, &format!("{} ({}{extra} features)", self.target, describe(&fc))))
    }
}

/// Runs `predictor eval`: writes `eval.json` and the Kendall tau plot into
/// `opts.out` and returns the report.
pub fn eval(opts: &EvalOptions) -> Result<EvalReport> {
    let (space, table) = nb201(&opts.space)?;
    let col = target_column(&table, &opts.target)?;
    let fc = FeatureConfig { encoding: opts.encoding, free: opts.free.clone(), cheap: vec![] };
    if opts.encoding == EncodingKind::None && opts.free.is_empty() && opts.table_features.is_empty() {
        bail!(
            "--encoding none with no --free or --table-features leaves the models nothing to read; add e.g. --free layers"
        );
    }
    let joined = match &opts.join {
        Some(p) => Some(MetricTable::load(p, &space).with_context(|| format!("--join {}", p.display()))?),
        None => None,
    };
    // Each feature column: (from the joined table?, column index).
    let extra: Vec<(bool, usize)> = opts
        .table_features
        .iter()
        .map(|c| {
            if let Ok(i) = table.column(c) {
                return Ok((false, i));
            }
            if let Some(j) = &joined
                && let Ok(i) = j.column(c)
            {
                return Ok((true, i));
            }
            let mut columns = table.columns().to_vec();
            columns.extend(joined.iter().flat_map(|j| j.columns().to_vec()));
            bail!("--table-features {c}: columns are {}", columns.join(", "))
        })
        .collect::<Result<_>>()?;
    let mut x = Vec::with_capacity(table.len());
    let mut y = Vec::with_capacity(table.len());
    let mut names = Vec::with_capacity(table.len());
    for (notation, row) in table.rows() {
        if row[col].is_nan() {
            continue;
        }
        let a = space.parse(notation)?;
        let values: Vec<f64> = extra
            .iter()
            .map(|&(from_join, c)| match (&joined, from_join) {
                (Some(j), true) => j.get(a.id(), c).unwrap_or(f64::NAN),
                _ => row[c],
            })
            .collect();
        if joined.is_some() && joined.as_ref().and_then(|j| j.get(a.id(), 0)).is_none() {
            continue;
        }
        if values.iter().any(|v| !v.is_finite()) {
            continue;
        }
        names.push(notation.to_string());
        let f = fc.features(&space, &a).context("the space lacks this encoding")?;
        x.push(if extra.iter().any(|(j, _)| *j) {
            // Joined scores (zero-cost proxies) can be negative: appended as they are.
            let mut f = f;
            for (&(from_join, _), v) in extra.iter().zip(&values) {
                f.push(if from_join { *v } else { v.max(1e-9).log10() });
            }
            f
        } else {
            FeatureConfig::with_extra(f, &values)
        });
        y.push(row[col]);
    }
    if x.is_empty() {
        bail!("no architecture has every feature (check --join and --table-features)");
    }
    let models = opts
        .models
        .iter()
        .map(|m| {
            ModelConfig::by_name(m)
                .with_context(|| format!("unknown model `{m}`; allowed: {}", ModelConfig::NAMES.join(", ")))
        })
        .collect::<Result<Vec<_>>>()?;
    // One fit per model, size and seed: the CLI's progress display (a bar on a
    // terminal, quiet otherwise so that logs get the table alone).
    let fits = (models.len() + usize::from(opts.pretrain > 0)) * opts.train_sizes.len() * opts.seeds as usize;
    let display = ProgressDisplay::new(fits, !std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let done = std::cell::Cell::new(0usize);
    let progress = |m: &str, n: usize, s: u64| {
        done.set(done.get() + 1);
        display.show(done.get(), fits, &format!("{m} n={n} seed {s}"), 5.0);
    };
    let mut curves = learning_curves(&models, &x, &y, &opts.train_sizes, opts.seeds, progress)?;
    if opts.pretrain > 0 {
        curves.extend(pretrained_curve(&space, &names, &x, &y, opts, progress)?);
    }
    display.finish();
    std::fs::create_dir_all(&opts.out)?;
    let report = EvalReport {
        space: opts.space.clone(),
        target: table.columns()[col].clone(),
        encoding: opts.encoding,
        free: opts.free.clone(),
        table_features: opts.table_features.clone(),
        test_rows: "all architectures outside the training split".into(),
        seeds: opts.seeds,
        curves,
    };
    let curves = &report.curves;
    write_atomic(&opts.out.join("eval.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    let plot: Vec<Curve> = models
        .iter()
        .map(|m| {
            let pts: Vec<&CurvePoint> = curves.iter().filter(|c| c.model == m.name()).collect();
            Curve {
                name: m.name().into(),
                points: pts.iter().map(|c| (c.train_size as f64, c.kendall_tau.mean)).collect(),
                band: Some(pts.iter().map(|c| c.kendall_tau.std).collect()),
            }
        })
        .collect();
    curves_plot(
        &format!("{}: Kendall tau, mean ± std over {} seeds", table.columns()[col], opts.seeds),
        "training architectures",
        "Kendall tau",
        &plot,
        &opts.out.join("kendall_tau.svg"),
        opts.png.then(|| opts.out.join("kendall_tau.png")).as_deref(),
    )?;
    Ok(report)
}

fn describe(fc: &FeatureConfig) -> String {
    let mut s = fc.encoding.name().to_string();
    for f in &fc.free {
        s.push('+');
        s.push_str(f.name());
    }
    s
}

fn pm(m: &MeanStd) -> String {
    format!("{m:.3}")
}

/// `mlp_pretrained`: the default MLP pretrained on the free features (log params,
/// log FLOPs) of `opts.pretrain` unlabelled architectures drawn from the table
/// (their labels unused), fine-tuned on each split.
fn pretrained_curve(
    space: &Nb201Space,
    names: &[String],
    x: &[Vec<f64>],
    y: &[f64],
    opts: &EvalOptions,
    progress: impl FnMut(&str, usize, u64),
) -> Result<Vec<CurvePoint>> {
    let unlabelled = train_split(names.len(), opts.pretrain.min(names.len()), u64::MAX);
    let free_fc = FeatureConfig { encoding: opts.encoding, free: FreeFeature::SCALAR.to_vec(), cheap: vec![] };
    let mut xu = Vec::with_capacity(unlabelled.len());
    let mut free = Vec::with_capacity(unlabelled.len());
    for &i in &unlabelled {
        let f = free_fc.features(space, &space.parse(&names[i])?).context("the space lacks this encoding")?;
        free.push(f[f.len() - FreeFeature::SCALAR.len()..].to_vec());
        xu.push(x[i].clone());
    }
    let cfg = predictors::model::MlpConfig::default();
    let pre = predictors::pretrain::pretrain(&cfg, &xu, &free, 0)?;
    Ok(learning_curve_with("mlp_pretrained", x, y, &opts.train_sizes, opts.seeds, progress, |xt, yt, s| {
        Ok(Box::new(cfg.fit_from(&pre, xt, yt, s)?))
    })?)
}

/// The eval table: one line per model and size.
pub fn format_eval(curves: &[CurvePoint], title: &str) -> String {
    let mut s = format!("{title}: mean ± std over seeds, measured on all other architectures\n");
    s.push_str(&format!(
        "{:<18}{:>6}{:>16}{:>16}{:>16}{:>16}{:>16}\n",
        "model", "n", "kendall tau", "spearman", "pearson", "rmse", "top-1% prec"
    ));
    for c in curves {
        s.push_str(&format!(
            "{:<18}{:>6}{:>16}{:>16}{:>16}{:>16}{:>16}\n",
            c.model,
            c.train_size,
            pm(&c.kendall_tau),
            pm(&c.spearman),
            pm(&c.pearson),
            pm(&c.rmse),
            pm(&c.precision_top1pct)
        ));
    }
    s
}

/// Architecture features of the transfer model (`--arch-features`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferFeatures {
    /// Op histogram: how many edges carry each op (5 numbers).
    Hist,
    /// Which op on which edge (30 numbers).
    OneHot,
    /// None: the source latencies only.
    None,
}

impl TransferFeatures {
    /// Names as on the command line.
    pub const NAMES: [&'static str; 3] = ["hist", "onehot", "none"];

    /// Parses a name of [`TransferFeatures::NAMES`].
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "hist" => TransferFeatures::Hist,
            "onehot" => TransferFeatures::OneHot,
            "none" => TransferFeatures::None,
            _ => bail!("--arch-features {name}: allowed values are {}", Self::NAMES.join(", ")),
        })
    }

    fn of(self, arch: &Nb201Arch) -> Vec<f64> {
        match self {
            TransferFeatures::Hist => op_histogram(arch).iter().map(|&c| c as f64).collect(),
            TransferFeatures::OneHot => {
                arch.ops().iter().flat_map(|op| (0..5).map(move |k| if op.index() == k { 1.0 } else { 0.0 })).collect()
            }
            TransferFeatures::None => Vec::new(),
        }
    }
}

/// A partition of the architectures whose members should cost the same on every
/// device; the transfer replaces each source latency by its mean over the group
/// (`--denoise`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferDenoise {
    /// No grouping: the measured source latencies.
    Raw,
    /// Same op histogram (210 groups): for devices that run every op of the cell.
    Hist,
    /// Same op histogram and same histogram of the ops whose output reaches the
    /// cell output (800 groups): for runtimes that drop dead ops (TFLite on pixel3
    /// and raspi4 runs nothing when no non-`none` edge reaches the output).
    Live,
}

impl TransferDenoise {
    /// Names as on the command line.
    pub const NAMES: [&'static str; 3] = ["raw", "hist", "live"];

    /// Parses a name of [`TransferDenoise::NAMES`].
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "raw" => TransferDenoise::Raw,
            "hist" => TransferDenoise::Hist,
            "live" => TransferDenoise::Live,
            _ => bail!("--denoise {name}: allowed values are {}", Self::NAMES.join(", ")),
        })
    }

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TransferDenoise::Raw => "raw",
            TransferDenoise::Hist => "hist",
            TransferDenoise::Live => "live",
        }
    }

    /// The grouping key of an architecture (row `row` of the table).
    fn key(self, row: usize, arch: &Nb201Arch) -> Vec<usize> {
        match self {
            TransferDenoise::Raw => vec![row],
            TransferDenoise::Hist => op_histogram(arch).to_vec(),
            TransferDenoise::Live => [op_histogram(arch), op_histogram(&live_ops(arch))].concat(),
        }
    }
}

/// The groupings of `kinds` over the architectures (in table order).
fn transfer_groupings(kinds: &[TransferDenoise], archs: &[Nb201Arch]) -> Vec<Grouping> {
    kinds
        .iter()
        .map(|&kind| {
            let mut ids = std::collections::HashMap::new();
            let ids = archs
                .iter()
                .enumerate()
                .map(|(row, a)| {
                    let n = ids.len();
                    *ids.entry(kind.key(row, a)).or_insert(n)
                })
                .collect();
            Grouping { name: kind.name().to_string(), ids }
        })
        .collect()
}

/// The architecture side of the transfer inputs, for every row of the table:
/// the `features` of each architecture and the denoising groupings.
pub(crate) fn transfer_arch_inputs(
    space: &Nb201Space,
    table: &MetricTable,
    features: TransferFeatures,
    denoise: &[TransferDenoise],
) -> Result<(Vec<Vec<f64>>, Vec<Grouping>)> {
    let archs: Vec<Nb201Arch> = table.rows().map(|(n, _)| Ok(space.parse(n)?)).collect::<Result<_>>()?;
    let arch_features = archs.iter().map(|a| features.of(a)).collect();
    Ok((arch_features, transfer_groupings(denoise, &archs)))
}

/// Per table row, the latencies (ms) of the `sources` devices.
pub(crate) fn source_latencies(table: &MetricTable, sources: &[String]) -> Result<Vec<Vec<f64>>> {
    let cols: Vec<usize> = sources.iter().map(|d| table.column(&format!("{d}_ms"))).collect::<nas_core::Result<_>>()?;
    Ok(table.rows().map(|(_, r)| cols.iter().map(|&c| r[c]).collect()).collect())
}

/// Options of `hwnas predictor transfer`.
#[derive(Clone, Debug)]
pub struct TransferOptions {
    /// Source devices (empty = every device but the target).
    pub from: Vec<String>,
    /// Target devices (`all` = every device in turn).
    pub to: Vec<String>,
    /// Measured architectures on the target.
    pub shots: usize,
    /// Seeds (random shot sets `0..seeds`).
    pub seeds: u64,
    /// Regression scale.
    pub scale: TransferScale,
    /// Architecture features.
    pub features: TransferFeatures,
    /// Candidate groupings for denoising the sources (chosen per fit by the
    /// marginal likelihood of the shots; empty = the measured latencies).
    pub denoise: Vec<TransferDenoise>,
    /// Output folder (transfer.json).
    pub out: PathBuf,
}

/// One target device's transfer result.
#[derive(Clone, Debug, Serialize)]
pub struct TransferResult {
    /// Target device.
    pub target: String,
    /// Source devices.
    pub sources: Vec<String>,
    /// Kendall tau of the transfer model over all architectures.
    pub kendall_tau: MeanStd,
    /// Kendall tau of a plain ridge regression on the source latencies.
    pub baseline_ridge_tau: MeanStd,
    /// Feature-block weight chosen per seed.
    pub feature_weights: Vec<f64>,
    /// Ridge penalty chosen per seed.
    pub alphas: Vec<f64>,
    /// Grouping chosen per seed.
    pub groupings: Vec<String>,
}

/// What `hwnas predictor transfer` measured (`transfer.json` holds `results`).
#[derive(Clone, Debug, Serialize)]
pub struct TransferReport {
    /// Shots per target.
    pub shots: usize,
    /// Seeds.
    pub seeds: u64,
    /// Architectures the taus are measured on.
    pub architectures: usize,
    /// Regression scale.
    pub scale: TransferScale,
    /// Architecture features.
    pub features: TransferFeatures,
    /// Candidate groupings of the sources.
    pub denoise: Vec<TransferDenoise>,
    /// One result per target device.
    pub results: Vec<TransferResult>,
}

impl std::fmt::Display for TransferReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |v: serde_json::Result<serde_json::Value>| {
            v.ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "?".into())
        };
        writeln!(
            f,
            "few-shot latency transfer, {} shots, mean ± std over {} seeds, Kendall tau over all {} architectures \
             ({} scale, {} features, sources denoised by {})",
            self.shots,
            self.seeds,
            self.architectures,
            name(serde_json::to_value(self.scale)),
            name(serde_json::to_value(self.features)),
            if self.denoise.is_empty() {
                "nothing".to_string()
            } else {
                self.denoise.iter().map(|d| d.name()).collect::<Vec<_>>().join(" or ")
            },
        )?;
        writeln!(f, "{:<16}{:>18}{:>22}  sources", "target", "transfer tau", "ridge-on-sources tau")?;
        for r in &self.results {
            writeln!(
                f,
                "{:<16}{:>18}{:>22}  {}",
                r.target,
                pm(&r.kendall_tau),
                pm(&r.baseline_ridge_tau),
                r.sources.join(",")
            )?;
        }
        if self.results.len() > 1 {
            let m = |g: fn(&TransferResult) -> f64| self.results.iter().map(g).sum::<f64>() / self.results.len() as f64;
            writeln!(f, "{:<16}{:>18.3}{:>22.3}", "mean", m(|r| r.kendall_tau.mean), m(|r| r.baseline_ridge_tau.mean))?;
        }
        Ok(())
    }
}

/// The default `--denoise` groupings.
pub const DEFAULT_DENOISE: [TransferDenoise; 2] = [TransferDenoise::Hist, TransferDenoise::Live];

/// Runs `predictor transfer` with the default scale, features and groupings:
/// `from` = source devices (empty = all others), `to` = target devices (`all` =
/// every device in turn).
pub fn transfer(from: &[String], to: &[String], shots: usize, seeds: u64, out: &Path) -> Result<TransferReport> {
    transfer_with(&TransferOptions {
        from: from.to_vec(),
        to: to.to_vec(),
        shots,
        seeds,
        scale: TransferScale::default(),
        features: TransferFeatures::Hist,
        denoise: DEFAULT_DENOISE.to_vec(),
        out: out.to_path_buf(),
    })
}

/// Runs `predictor transfer`: each target device predicted by
/// [`FewShotTransfer`] from the source devices' full tables and `shots` measured
/// architectures (chosen by [`train_split`] per seed).
pub fn transfer_with(opts: &TransferOptions) -> Result<TransferReport> {
    let TransferOptions { from, to, shots, seeds, scale, features, denoise, out } = opts;
    let (shots, seeds) = (*shots, *seeds);
    let (space, table) = nb201("nb201")?;
    let devices = table.devices();
    let targets: Vec<String> = if to.iter().any(|t| t == "all") { devices.clone() } else { to.to_vec() };
    for d in from.iter().chain(&targets) {
        if !devices.contains(d) {
            bail!("unknown device `{d}`; devices: {}", devices.join(", "));
        }
    }
    let (arch_features, groupings) = transfer_arch_inputs(&space, &table, *features, denoise)?;
    let column = |d: &str| -> Result<Vec<f64>> {
        let c = table.column(&format!("{d}_ms"))?;
        Ok(table.rows().map(|(_, r)| r[c]).collect())
    };
    let cfg = FewShotTransfer { scale: *scale, ..Default::default() };
    let mut results = Vec::new();
    for t in &targets {
        let sources: Vec<String> =
            if from.is_empty() { devices.iter().filter(|d| *d != t).cloned().collect() } else { from.to_vec() };
        if sources.contains(t) {
            bail!("--from and --to both name `{t}`");
        }
        let y = column(t)?;
        let src_ms = source_latencies(&table, &sources)?;
        let (mut taus, mut base, mut weights, mut alphas) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut chosen = Vec::new();
        for seed in 0..seeds {
            let shots_idx = train_split(y.len(), shots, seed);
            let ys: Vec<f64> = shots_idx.iter().map(|&i| y[i]).collect();
            let model = cfg
                .fit(&src_ms, &arch_features, &groupings, &shots_idx, &ys)
                .with_context(|| format!("fitting the transfer to {t}, seed {seed}"))?;
            taus.push(kendall_tau(&y, &model.predict_ms(&src_ms, &arch_features, &groupings)?));
            weights.push(model.feature_weight);
            alphas.push(model.alpha);
            chosen.push(model.grouping_name.clone());
            let plain: Vec<Vec<f64>> = shots_idx.iter().map(|&i| src_ms[i].clone()).collect();
            let ridge = RidgeConfig::default().fit(&plain, &ys, seed)?;
            base.push(kendall_tau(&y, &ridge.predict(&src_ms)?.mean));
        }
        results.push(TransferResult {
            target: t.clone(),
            sources,
            kendall_tau: MeanStd::of(&taus),
            baseline_ridge_tau: MeanStd::of(&base),
            feature_weights: weights,
            alphas,
            groupings: chosen,
        });
    }
    std::fs::create_dir_all(out)?;
    write_atomic(&out.join("transfer.json"), serde_json::to_string_pretty(&results)?.as_bytes())?;
    Ok(TransferReport {
        shots,
        seeds,
        architectures: table.len(),
        scale: *scale,
        features: *features,
        denoise: denoise.clone(),
        results,
    })
}
