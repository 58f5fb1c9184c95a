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
use crate::rundir::write_atomic;
use crate::setup::builtin_nb201_table;
use anyhow::{Context, Result, bail};
use nas_core::{Encode, EncodingKind, MetricTable, SearchSpace};
use predictors::eval::{CurvePoint, MeanStd, learning_curve_with, learning_curves, train_split};
use predictors::model::{Fit, ModelConfig, Predict, RidgeConfig};
use predictors::transfer::{FewShotTransfer, Grouping, TransferScale};
use predictors::{FeatureConfig, FreeFeature, kendall_tau};
use search_spaces::nb201::{EDGES, Nb201Space};
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

/// Runs `predictor eval`; returns the printed table.
pub fn eval(opts: &EvalOptions) -> Result<String> {
    let (space, table) = nb201(&opts.space)?;
    let col = target_column(&table, &opts.target)?;
    let fc = FeatureConfig { encoding: opts.encoding, free: opts.free.clone(), cheap: vec![] };
    if opts.encoding == EncodingKind::None && opts.free.is_empty() && opts.table_features.is_empty() {
        bail!(
            "--encoding none with no --free or --table-features leaves the models nothing to read; add e.g. --free layers"
        );
    }
    let extra: Vec<usize> = opts
        .table_features
        .iter()
        .map(|c| {
            table.column(c).with_context(|| format!("--table-features {c}: columns are {}", table.columns().join(", ")))
        })
        .collect::<Result<_>>()?;
    let mut x = Vec::with_capacity(table.len());
    let mut y = Vec::with_capacity(table.len());
    let mut names = Vec::with_capacity(table.len());
    for (notation, row) in table.rows() {
        if row[col].is_nan() || extra.iter().any(|&c| !row[c].is_finite()) {
            continue;
        }
        names.push(notation.to_string());
        let a = space.parse(notation)?;
        let f = fc.features(&space, &a).context("the space lacks this encoding")?;
        x.push(FeatureConfig::with_extra(f, &extra.iter().map(|&c| row[c]).collect::<Vec<_>>()));
        y.push(row[col]);
    }
    let models = opts
        .models
        .iter()
        .map(|m| {
            ModelConfig::by_name(m)
                .with_context(|| format!("unknown model `{m}`; allowed: {}", ModelConfig::NAMES.join(", ")))
        })
        .collect::<Result<Vec<_>>>()?;
    // A live progress line only on a terminal; logs and pipes get the table alone.
    let live = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = |m: &str, n: usize, s: u64| {
        if live {
            eprint!("\r{m} n={n} seed {s}          ");
        }
    };
    let mut curves = learning_curves(&models, &x, &y, &opts.train_sizes, opts.seeds, progress)?;
    if opts.pretrain > 0 {
        curves.extend(pretrained_curve(&space, &names, &x, &y, opts, progress)?);
    }
    if live {
        eprintln!();
    }
    std::fs::create_dir_all(&opts.out)?;
    #[derive(Serialize)]
    struct Out<'a> {
        space: &'a str,
        target: String,
        encoding: EncodingKind,
        free: &'a [FreeFeature],
        test_rows: &'a str,
        seeds: u64,
        curves: &'a [CurvePoint],
    }
    let out = Out {
        space: &opts.space,
        target: table.columns()[col].clone(),
        encoding: opts.encoding,
        free: &opts.free,
        test_rows: "all architectures outside the training split",
        seeds: opts.seeds,
        curves: &curves,
    };
    write_atomic(&opts.out.join("eval.json"), serde_json::to_string_pretty(&out)?.as_bytes())?;
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
    let extra_names: String = opts.table_features.iter().map(|c| format!("+{c}")).collect();
    Ok(format_eval(&curves, &format!("{} ({}{extra_names} features)", table.columns()[col], describe(&fc))))
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
    format!("{:.3} ± {:.3}", m.mean, m.std)
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

    fn of(self, one_hot: &[f32]) -> Vec<f64> {
        match self {
            TransferFeatures::Hist => (0..5).map(|k| one_hot.chunks(5).map(|c| f64::from(c[k])).sum()).collect(),
            TransferFeatures::OneHot => one_hot.iter().map(|&v| f64::from(v)).collect(),
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

    /// The grouping key of an architecture from its one-hot op-per-edge encoding.
    fn key(self, row: usize, one_hot: &[f32]) -> Vec<usize> {
        let ops: Vec<usize> = one_hot.chunks(5).map(|c| c.iter().position(|&v| v > 0.5).unwrap_or(0)).collect();
        let hist = |ops: &[usize]| (0..5).map(|k| ops.iter().filter(|&&o| o == k).count()).collect::<Vec<_>>();
        match self {
            TransferDenoise::Raw => vec![row],
            TransferDenoise::Hist => hist(&ops),
            TransferDenoise::Live => {
                // Nodes whose value reaches the output through non-`none` edges
                // (op index 0 is `none`); edges are visited output side first.
                let mut reaches = [false, false, false, true];
                for (e, &(to, from)) in EDGES.iter().enumerate().rev() {
                    if reaches[to] && ops[e] != 0 {
                        reaches[from] = true;
                    }
                }
                let live: Vec<usize> = EDGES
                    .iter()
                    .zip(&ops)
                    .map(|(&(to, _), &op)| if reaches[0] && reaches[to] { op } else { 0 })
                    .collect();
                [hist(&ops), hist(&live)].concat()
            }
        }
    }
}

/// The groupings of `kinds` over the architectures given by their one-hot
/// op-per-edge encodings.
fn transfer_groupings(kinds: &[TransferDenoise], one_hot: &[Vec<f32>]) -> Vec<Grouping> {
    kinds
        .iter()
        .map(|&kind| {
            let mut ids = std::collections::HashMap::new();
            let ids = one_hot
                .iter()
                .enumerate()
                .map(|(row, oh)| {
                    let n = ids.len();
                    *ids.entry(kind.key(row, oh)).or_insert(n)
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
    let one_hot: Vec<Vec<f32>> =
        table.rows().map(|(n, _)| Ok(space.encode(&space.parse(n)?))).collect::<Result<_>>()?;
    let arch_features = one_hot.iter().map(|oh| features.of(oh)).collect();
    Ok((arch_features, transfer_groupings(denoise, &one_hot)))
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

/// The default `--denoise` groupings.
pub const DEFAULT_DENOISE: [TransferDenoise; 2] = [TransferDenoise::Hist, TransferDenoise::Live];

/// Runs `predictor transfer` with the default scale, features and groupings:
/// `from` = source devices (empty = all others), `to` = target devices (`all` =
/// every device in turn).
pub fn transfer(from: &[String], to: &[String], shots: usize, seeds: u64, out: &Path) -> Result<String> {
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
pub fn transfer_with(opts: &TransferOptions) -> Result<String> {
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
    let mut s = format!(
        "few-shot latency transfer, {shots} shots, mean ± std over {seeds} seeds, Kendall tau over all {} \
         architectures ({} scale, {} features, sources denoised by {})\n",
        table.len(),
        serde_json::to_value(scale)?.as_str().unwrap_or("?"),
        serde_json::to_value(features)?.as_str().unwrap_or("?"),
        if denoise.is_empty() {
            "nothing".to_string()
        } else {
            denoise.iter().map(|d| d.name()).collect::<Vec<_>>().join(" or ")
        },
    );
    s.push_str(&format!("{:<16}{:>18}{:>22}  sources\n", "target", "transfer tau", "ridge-on-sources tau"));
    for r in &results {
        s.push_str(&format!(
            "{:<16}{:>18}{:>22}  {}\n",
            r.target,
            pm(&r.kendall_tau),
            pm(&r.baseline_ridge_tau),
            r.sources.join(",")
        ));
    }
    if results.len() > 1 {
        let m = |f: fn(&TransferResult) -> f64| results.iter().map(f).sum::<f64>() / results.len() as f64;
        s.push_str(&format!(
            "{:<16}{:>18.3}{:>22.3}\n",
            "mean",
            m(|r| r.kendall_tau.mean),
            m(|r| r.baseline_ridge_tau.mean)
        ));
    }
    Ok(s)
}
