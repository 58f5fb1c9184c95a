//! Hardware commands: `hwnas lut build`, `hwnas lut validate` and `hwnas verify`,
//! and the helpers the config's hardware evaluators use.
//!
//! - **`lut build`** measures every distinct layer of a space on this machine
//!   ([`latency_lut::build_table`]) and writes the table file.
//! - **`lut validate`** measures random architectures end to end and compares
//!   them with the table: `validation.json`, `validation.svg/png`.
//! - **`verify`** re-measures the final Pareto front of a run whose latency came
//!   from a table or a model, re-ranks it and flags members that became dominated:
//!   `verify.json`, `verify.svg/png` in the run directory.

use crate::config::{EvaluatorConfig, ExperimentConfig, SpaceConfig};
use crate::plot::{PredictionPlot, prediction_plot};
use crate::rundir::{read_trials, write_atomic};
use crate::setup::{DataSplit, RunnableSpace, load_data};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use latency_lut::lut::{CoverageOptions, build_table};
use latency_lut::validate::{kendall_tau_b, validate_table};
use latency_lut::{
    BuildOptions, DeviceFingerprint, LatencyTable, Protocol, SpaceId, ValidationReport, measure_networks,
};
use nas_core::pareto::dominates;
use nas_core::{Metric, Problem, SearchSpace, Trial};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The global allocator of the `hwnas` binary (see `main.rs`), recorded in the
/// tables it measures: burn allocates every layer output, so the allocator is part
/// of what a table times.
pub const HWNAS_ALLOCATOR: &str = "mimalloc";

/// The default timing protocol of the CLI at a batch size and thread count.
pub fn protocol(batch: usize, threads: usize) -> Protocol {
    Protocol { batch, threads, allocator: HWNAS_ALLOCATOR.into(), ..Protocol::default() }
}

/// A progress display: an indicatif bar on a terminal, a line every few seconds
/// otherwise, nothing when quiet.
struct Bar {
    bar: Option<ProgressBar>,
    quiet: bool,
    last: Instant,
    start: Instant,
}

impl Bar {
    fn new(total: usize, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:32.cyan/blue} {pos}/{len} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        Bar { bar, quiet, last: Instant::now(), start: Instant::now() }
    }

    fn update(&mut self, done: usize, total: usize, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
            b.set_message(msg.to_string());
        } else if !self.quiet && (self.last.elapsed().as_secs_f64() > 5.0 || done == total) {
            self.last = Instant::now();
            let el = self.start.elapsed().as_secs_f64();
            let eta = if done > 0 { el / done as f64 * (total - done) as f64 } else { 0.0 };
            eprintln!("[{el:6.1}s] {done}/{total} ETA {eta:.0}s {msg}");
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Just the space part of a config, for [`with_space!`](crate::with_space).
struct SpaceOnly {
    space: SpaceConfig,
}

/// The space of `--space` / `--config` and the data (for its input shape).
fn select_space(space: Option<&str>, config: Option<&Path>) -> Result<(SpaceOnly, Option<DataSplit>)> {
    let from_name = |name: &str| -> Result<SpaceConfig> {
        toml::from_str::<SpaceConfig>(&format!("kind = {name:?}"))
            .map_err(|_| anyhow::anyhow!("unknown space `{name}`; allowed: nb201, darts"))
    };
    match (space, config) {
        (None, None) => bail!("give --space nb201|darts (and optionally --config CONFIG for its settings)"),
        (Some(name), None) => Ok((SpaceOnly { space: from_name(name)? }, None)),
        (name, Some(path)) => {
            let cfg = ExperimentConfig::load(path)?;
            if let Some(n) = name
                && n != cfg.space.name()
            {
                bail!("--space {n} but {} searches the {} space", path.display(), cfg.space.name());
            }
            // The input shape comes from the config's dataset, as in a run.
            let data = load_data(&cfg).context("loading the config's dataset (for the input shape)")?;
            Ok((SpaceOnly { space: cfg.space.clone() }, data))
        }
    }
}

/// A file-name slug of a space id, e.g. `nb201-c16-n5-3x32x32`.
fn slug(id: &SpaceId) -> String {
    let c = &id.config;
    let num = |k: &str| c.get(k).and_then(|v| v.as_u64()).map(|v| v.to_string()).unwrap_or_else(|| "x".into());
    let shape = c
        .get("input_chw")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_u64()).map(|v| v.to_string()).collect::<Vec<_>>().join("x"))
        .unwrap_or_default();
    match id.name.as_str() {
        "nb201" => format!("nb201-c{}-n{}-{shape}", num("channels"), num("cells_per_stage")),
        "darts" => format!("darts-c{}-l{}-{shape}", num("channels"), num("layers")),
        other => other.to_string(),
    }
}

/// Arguments of `hwnas lut build`.
#[derive(Clone, Debug)]
pub struct LutBuildArgs {
    /// `nb201` or `darts` (or taken from `config`).
    pub space: Option<String>,
    /// An experiment config whose space settings (and dataset shape) to use.
    pub config: Option<PathBuf>,
    /// Measurement threads.
    pub threads: usize,
    /// Batch size.
    pub batch: usize,
    /// Output file (default `luts/<space>-b<batch>-t<threads>.json`).
    pub out: Option<PathBuf>,
    /// Networks measured end to end for the calibration.
    pub calibration: usize,
    /// A much shorter protocol (smoke tests; less accurate).
    pub quick: bool,
    /// No progress output.
    pub quiet: bool,
}

/// `hwnas lut build`: measures the table and writes it; returns its path.
pub fn lut_build(args: &LutBuildArgs) -> Result<PathBuf> {
    let (sel, data) = select_space(args.space.as_deref(), args.config.as_deref())?;
    let mut p = if args.quick { Protocol::quick() } else { Protocol::default() };
    p.batch = args.batch;
    p.threads = args.threads;
    p.allocator = HWNAS_ALLOCATOR.into();
    p.validate()?;
    let opts = BuildOptions { protocol: p, calibration_networks: args.calibration, ..BuildOptions::default() };
    crate::with_space!(sel, data.as_ref(), |space| {
        let id = SpaceId::new(space.name(), space.config());
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from("luts").join(format!("{}-b{}-t{}.json", slug(&id), args.batch, args.threads))
        });
        if !args.quiet {
            eprintln!(
                "measuring the layers of {} at batch {} on {} thread(s)",
                id.describe(),
                args.batch,
                args.threads
            );
        }
        let start = Instant::now();
        let mut bar = Bar::new(1, args.quiet);
        let table = build_table(space.as_ref(), id, &opts, &mut |pr| {
            bar.update(pr.done, pr.total, &format!("{}: {}", pr.stage, pr.current));
        })?;
        bar.finish();
        table.save(&out)?;
        if !args.quiet {
            print_table_summary(&table, start.elapsed().as_secs_f64());
        }
        println!("wrote {}", out.display());
        Ok(out)
    })
}

fn print_table_summary(t: &LatencyTable, secs: f64) {
    let cov = &t.coverage;
    println!(
        "{} layer configurations ({} from {} architectures) measured in {secs:.1} s",
        t.len(),
        if cov.exhaustive { "all" } else { "sampled" },
        cov.architectures
    );
    println!("device: {}", t.device.summary());
    if let Some(c) = &t.calibration {
        println!(
            "calibration on {} networks: predicted = {:.4} ms + {:.4} x sum of layers (largest fit error {:.1}%)",
            c.points.len(),
            c.intercept_ms,
            c.scale,
            100.0 * c.max_rel_residual
        );
    }
}

/// Loads a table for a search of `space` and checks it: same space name, batch
/// (when given), and every layer of the space present (so a table of another
/// configuration of the space, e.g. other channels or input size, is refused
/// before the search starts). Differences of the measuring machine are warned
/// about.
pub fn load_lut_for<S: RunnableSpace>(path: &Path, space: &S, batch: Option<usize>) -> Result<Arc<LatencyTable>> {
    let table = LatencyTable::load(path).map_err(|e| {
        if path.exists() {
            anyhow::Error::new(e)
        } else {
            anyhow::anyhow!(
                "{}: no such latency table; build it with `hwnas lut build --config <this config> --out {}` \
                 (this config's space is {})",
                path.display(),
                path.display(),
                space.name()
            )
        }
    })?;
    if table.space.name != space.name() {
        return Err(latency_lut::LutError::SpaceMismatch {
            path: path.into(),
            found: table.space.describe(),
            expected: space.name().into(),
        }
        .into());
    }
    if let Some(b) = batch
        && b != table.batch
    {
        return Err(latency_lut::LutError::BatchMismatch { path: path.into(), found: table.batch, expected: b }.into());
    }
    if let Err(e) = table.check_covers(space, &CoverageOptions::default()) {
        return Err(anyhow::anyhow!(
            "{}: latency table was built for space {}, which is not this config's {} space ({e})",
            path.display(),
            table.space.describe(),
            space.name()
        ));
    }
    let here = DeviceFingerprint::current(&table.protocol);
    let diffs = table.device.differences(&here);
    if !diffs.is_empty() {
        eprintln!(
            "warning: {} was measured on another machine or setup: {}; its latencies may not hold here",
            path.display(),
            diffs.join("; ")
        );
    }
    Ok(Arc::new(table))
}

/// Arguments of `hwnas lut validate`.
#[derive(Clone, Debug)]
pub struct LutValidateArgs {
    /// The table file.
    pub lut: PathBuf,
    /// `nb201` or `darts` (default: the table's own space and configuration).
    pub space: Option<String>,
    /// An experiment config whose space settings to use.
    pub config: Option<PathBuf>,
    /// Random architectures to measure.
    pub samples: usize,
    /// Seed of the sample.
    pub seed: u64,
    /// Output folder (default `<table>-validation/` beside the table).
    pub out: Option<PathBuf>,
    /// Also write PNG.
    pub png: bool,
    /// No progress output.
    pub quiet: bool,
}

/// `hwnas lut validate`: measures random architectures end to end and compares.
pub fn lut_validate(args: &LutValidateArgs) -> Result<ValidationReport> {
    if args.samples < 2 {
        bail!("--samples must be >= 2 (Kendall tau needs pairs)");
    }
    let table = LatencyTable::load(&args.lut)?;
    let (sel, data) = if args.space.is_none() && args.config.is_none() {
        // The table's own space and configuration.
        let space: SpaceConfig = match table.space.name.as_str() {
            "nb201" => toml::from_str("kind = \"nb201\"")?,
            "darts" => toml::from_str("kind = \"darts\"")?,
            other => bail!("{}: unknown space `{other}`", args.lut.display()),
        };
        (SpaceOnly { space: own_space_config(&table, space)? }, None)
    } else {
        select_space(args.space.as_deref(), args.config.as_deref())?
    };
    let input = own_input_shape(&table);
    let data_shape = data.as_ref().map(|d| (d.train.chw(), d.train.num_classes()));
    crate::with_space!(sel, data.as_ref(), |space| {
        // Without a config the table's own input shape applies.
        let space = if data_shape.is_none() { with_input(space, input)? } else { space };
        let id = SpaceId::new(space.name(), space.config());
        table.check(&id, table.batch)?;
        validate_in(space.as_ref(), &table, args)
    })
}

/// The space configuration recorded in a table, as a config's `[space]`.
fn own_space_config(table: &LatencyTable, default: SpaceConfig) -> Result<SpaceConfig> {
    let c = &table.space.config;
    let get = |k: &str| c.get(k).and_then(|v| v.as_u64()).map(|v| v as usize);
    Ok(match default {
        SpaceConfig::Nb201 { channels, cells_per_stage } => SpaceConfig::Nb201 {
            channels: get("channels").unwrap_or(channels),
            cells_per_stage: get("cells_per_stage").unwrap_or(cells_per_stage),
        },
        SpaceConfig::Darts { channels, layers } => SpaceConfig::Darts {
            channels: get("channels").unwrap_or(channels),
            layers: get("layers").unwrap_or(layers),
        },
    })
}

/// The input shape and classes recorded in a table.
fn own_input_shape(table: &LatencyTable) -> Option<([usize; 3], usize)> {
    let c = &table.space.config;
    let chw: Vec<usize> =
        c.get("input_chw")?.as_array()?.iter().filter_map(|v| v.as_u64().map(|v| v as usize)).collect();
    let classes = c.get("num_classes")?.as_u64()? as usize;
    (chw.len() == 3).then(|| ([chw[0], chw[1], chw[2]], classes))
}

/// Rebuilds a space with another input shape (the table's own), keeping the rest.
trait WithInput: Sized {
    fn with_input(&self, input: ([usize; 3], usize)) -> Result<Self>;
}

impl WithInput for search_spaces::nb201::Nb201Space {
    fn with_input(&self, (input_chw, num_classes): ([usize; 3], usize)) -> Result<Self> {
        Ok(Self::new(search_spaces::nb201::Nb201Config { input_chw, num_classes, ..self.config().clone() })?)
    }
}

impl WithInput for search_spaces::darts::DartsSpace {
    fn with_input(&self, (input_chw, num_classes): ([usize; 3], usize)) -> Result<Self> {
        Ok(Self::new(search_spaces::darts::DartsConfig { input_chw, num_classes, ..self.config().clone() })?)
    }
}

fn with_input<S: WithInput>(space: Arc<S>, input: Option<([usize; 3], usize)>) -> Result<Arc<S>> {
    match input {
        Some(i) => Ok(Arc::new(space.with_input(i)?)),
        None => Ok(space),
    }
}

fn validate_in<S: RunnableSpace>(space: &S, table: &LatencyTable, args: &LutValidateArgs) -> Result<ValidationReport> {
    let here = DeviceFingerprint::current(&table.protocol);
    let diffs = table.device.differences(&here);
    if !diffs.is_empty() {
        eprintln!("warning: the table was measured on another machine or setup: {}", diffs.join("; "));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let mut archs = Vec::with_capacity(args.samples);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..args.samples * 100 {
        if archs.len() == args.samples {
            break;
        }
        let a = space.sample(&mut rng);
        if seen.insert(nas_core::Architecture::id(&a)) {
            archs.push(a);
        }
    }
    if !args.quiet {
        eprintln!("measuring {} random {} architectures end to end", archs.len(), space.name());
    }
    let mut bar = Bar::new(archs.len() * table.protocol.rounds, args.quiet);
    let rounds = table.protocol.rounds;
    let report = validate_table(space, table, &archs, &table.protocol, &mut |done, total| {
        bar.update(done, total, &format!("round {}/{rounds}", (done * rounds).div_ceil(total.max(1))));
    })?;
    bar.finish();
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args.lut.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "lut".into());
        args.lut.with_file_name(format!("{stem}-validation"))
    });
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    #[derive(Serialize)]
    struct File<'a> {
        lut: String,
        space: &'a SpaceId,
        seed: u64,
        device: &'a DeviceFingerprint,
        measured_on: DeviceFingerprint,
        protocol: &'a Protocol,
        #[serde(flatten)]
        report: &'a ValidationReport,
    }
    let file = File {
        lut: args.lut.display().to_string(),
        space: &table.space,
        seed: args.seed,
        device: &table.device,
        measured_on: here,
        protocol: &table.protocol,
        report: &report,
    };
    write_atomic(&out.join("validation.json"), serde_json::to_string_pretty(&file)?.as_bytes())?;
    let plot = PredictionPlot {
        title: format!(
            "{}: {} networks, {:.0}% within ±10%, Kendall tau {:.3}",
            space.name(),
            report.samples,
            100.0 * report.within_10pct,
            report.kendall_tau
        ),
        x_label: "measured latency (ms)".into(),
        y_label: "predicted latency (ms)".into(),
        points: report.points.iter().map(|p| (p.measured_ms, p.predicted_ms)).collect(),
        band: 0.1,
        ..Default::default()
    };
    let png = out.join("validation.png");
    prediction_plot(&plot, &out.join("validation.svg"), args.png.then_some(png.as_path()))?;
    print_validation(&report);
    println!(
        "wrote {0}/validation.json and {0}/validation.svg{1}",
        out.display(),
        if args.png { ", .png" } else { "" }
    );
    Ok(report)
}

fn print_validation(r: &ValidationReport) {
    println!("{} architectures measured end to end:", r.samples);
    println!("  within ±5%:  {:5.1}%", 100.0 * r.within_5pct);
    println!("  within ±10%: {:5.1}%", 100.0 * r.within_10pct);
    println!("  MAPE {:.2}%, bias {:+.2}%, largest error {:.2}%", r.mape_pct, r.bias_pct, r.max_abs_error_pct);
    println!("  Kendall tau {:.4}", r.kendall_tau);
    if !r.residual_pairs.is_empty() {
        println!(
            "  residual (measured - predicted) by consecutive layer pair (in-sample R^2 {:.2}; pairs that always \
             occur together share their effect):",
            r.residual_r2
        );
        for p in r.residual_pairs.iter().take(5) {
            println!(
                "    {:<36} {:+.4} ms x {:5.2} per network = {:+.4} ms",
                p.pair, p.ms_per_occurrence, p.mean_count, p.mean_contribution_ms
            );
        }
    }
}

/// Where a run's `latency_ms` came from, and how to re-measure it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LatencySource {
    /// `lut(<path>)`, `systolic(...)` or `measured(...)`.
    pub source: String,
    /// The protocol of the re-measurement (the table's own for a table).
    pub protocol: Protocol,
    /// Whether the predictions are of this machine (tables, measurements) rather
    /// than of another device (systolic model): only then are errors meaningful.
    pub same_machine: bool,
}

/// The evaluator that gives a config's `latency_ms` (the last one, as in a run).
pub fn latency_source(cfg: &ExperimentConfig) -> Result<LatencySource> {
    match cfg.latency_evaluator() {
        Some(EvaluatorConfig::Lut { path, .. }) => {
            let t = LatencyTable::load(path)?;
            Ok(LatencySource { source: format!("lut({})", path.display()), protocol: t.protocol, same_machine: true })
        }
        Some(EvaluatorConfig::Measured { batch, threads }) => Ok(LatencySource {
            source: format!("measured(batch {batch}, {threads} thread(s))"),
            protocol: protocol(*batch, *threads),
            same_machine: true,
        }),
        Some(e @ EvaluatorConfig::Systolic { .. }) => Ok(LatencySource {
            source: e.systolic().map(|a| nas_core::CostModel::name(&a)).unwrap_or_else(|_| "systolic".into()),
            protocol: protocol(1, 1),
            same_machine: false,
        }),
        Some(EvaluatorConfig::Predictor { path, .. }) => bail!(
            "latency_ms of this run comes from the learned predictor {}: its errors are measured when it is fitted \
             (`hwnas predictor fit` prints its Kendall tau); `hwnas verify` checks runs that used a latency table \
             (kind = \"lut\"), a model (kind = \"systolic\") or measurements",
            path.display()
        ),
        Some(EvaluatorConfig::Device { name } | EvaluatorConfig::Table { device: Some(name), .. }) => bail!(
            "latency_ms of this run comes from the `{name}` column of a benchmark table: that device is not this \
             machine, so re-measuring here would compare different hardware. `hwnas verify` checks runs that used \
             a latency table (kind = \"lut\"), a model (kind = \"systolic\") or measurements"
        ),
        _ => bail!("no evaluator of this run provides latency_ms; nothing to verify"),
    }
}

/// One re-measured front member.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifiedPoint {
    /// Trial index in the run.
    pub trial: usize,
    /// Architecture notation.
    pub arch: String,
    /// `latency_ms` the search used.
    pub predicted_ms: f64,
    /// Re-measured end-to-end latency.
    pub measured_ms: f64,
    /// `(predicted - measured) / measured`, percent.
    pub error_pct: f64,
    /// Rank by predicted latency among the front (1 = fastest).
    pub predicted_rank: usize,
    /// Rank by measured latency among the front.
    pub measured_rank: usize,
    /// Trials of the front that dominate it once latency is the measured one.
    pub dominated_by: Vec<usize>,
    /// Whether it breaks a constraint with the measured latency.
    pub violates_constraints: bool,
}

/// `verify.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Where the run's latency came from.
    pub latency: LatencySource,
    /// The re-measured front.
    pub points: Vec<VerifiedPoint>,
    /// Mean absolute percentage error over the front.
    pub mape_pct: f64,
    /// Kendall tau between predicted and measured latency over the front.
    pub kendall_tau: f64,
    /// Members dominated by another member once re-measured.
    pub became_dominated: usize,
    /// Members that break a constraint once re-measured.
    pub became_infeasible: usize,
}

/// `hwnas verify RUN_DIR`.
pub fn verify(run_dir: &Path, quiet: bool) -> Result<VerifyReport> {
    let cfg_path = run_dir.join("config.toml");
    if !cfg_path.exists() {
        bail!("{} is not a run directory (no config.toml)", run_dir.display());
    }
    let cfg = ExperimentConfig::load(&cfg_path)?;
    let trials = read_trials(run_dir)?;
    if trials.is_empty() {
        bail!("{} has no trials yet", run_dir.display());
    }
    let data = load_data(&cfg).context("loading the dataset (for the input shape)")?;
    crate::with_space!(cfg, data.as_ref(), |space| verify_front(
        run_dir,
        &cfg,
        space.as_ref(),
        &cfg.problem(),
        &trials,
        quiet
    ))
}

/// Re-measures the final front of `trials` (see the module docs) and writes
/// `verify.json` and `verify.svg` (and `.png` when the config asks for PNGs).
pub fn verify_front<S: RunnableSpace>(
    dir: &Path,
    cfg: &ExperimentConfig,
    space: &S,
    problem: &Problem,
    trials: &[Trial],
    quiet: bool,
) -> Result<VerifyReport> {
    if !problem.metrics().contains(&Metric::LatencyMs) {
        bail!("the run has no latency_ms objective or constraint; nothing to verify");
    }
    let latency = latency_source(cfg)?;
    let front = crate::hv::front_of(problem, trials);
    if front.is_empty() {
        bail!("the run has no feasible trial, so no front to verify");
    }
    if !quiet {
        eprintln!("re-measuring the {} front members end to end ({})", front.len(), latency.source);
    }
    let archs = front
        .iter()
        .map(|&i| space.parse(&trials[i].arch).with_context(|| format!("trial {}", trials[i].index)))
        .collect::<Result<Vec<_>>>()?;
    let mut bar = Bar::new(front.len() * latency.protocol.rounds, quiet);
    let timings = measure_networks(space, &archs, &latency.protocol, &mut |done, total| bar.update(done, total, ""))?;
    bar.finish();
    let measured: Vec<f64> = timings.iter().map(|t| t.median_ms).collect();
    let predicted: Vec<f64> =
        front.iter().map(|&i| trials[i].metrics.get(&Metric::LatencyMs).copied().unwrap_or(f64::NAN)).collect();
    let rank = |v: &[f64]| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0; v.len()];
        for (pos, &i) in idx.iter().enumerate() {
            r[i] = pos + 1;
        }
        r
    };
    let (pr, mr) = (rank(&predicted), rank(&measured));
    let remeasured: Vec<nas_core::MetricMap> = front
        .iter()
        .zip(&measured)
        .map(|(&i, &m)| {
            let mut metrics = trials[i].metrics.clone();
            metrics.insert(Metric::LatencyMs, m);
            metrics
        })
        .collect();
    let vectors: Vec<Option<Vec<f64>>> = remeasured.iter().map(|m| problem.min_vector(m)).collect();
    let points: Vec<VerifiedPoint> = front
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let dominated_by = (0..front.len())
                .filter(|&j| j != k)
                .filter(|&j| matches!((&vectors[j], &vectors[k]), (Some(a), Some(b)) if dominates(a, b)))
                .map(|j| trials[front[j]].index)
                .collect();
            VerifiedPoint {
                trial: trials[i].index,
                arch: trials[i].arch.clone(),
                predicted_ms: predicted[k],
                measured_ms: measured[k],
                error_pct: 100.0 * (predicted[k] - measured[k]) / measured[k],
                predicted_rank: pr[k],
                measured_rank: mr[k],
                dominated_by,
                violates_constraints: problem.violation(&remeasured[k]) > 0.0,
            }
        })
        .collect();
    let report = VerifyReport {
        mape_pct: points.iter().map(|p| p.error_pct.abs()).sum::<f64>() / points.len() as f64,
        kendall_tau: kendall_tau_b(&predicted, &measured),
        became_dominated: points.iter().filter(|p| !p.dominated_by.is_empty()).count(),
        became_infeasible: points.iter().filter(|p| p.violates_constraints).count(),
        latency,
        points,
    };
    write_atomic(&dir.join("verify.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    let flagged = |p: &&VerifiedPoint| !p.dominated_by.is_empty() || p.violates_constraints;
    let plot = PredictionPlot {
        title: format!("front of {}: predicted vs re-measured latency", cfg.name),
        x_label: "measured latency (ms)".into(),
        y_label: format!("{} latency (ms)", if report.latency.same_machine { "predicted" } else { "modelled" }),
        points: report.points.iter().filter(|p| !flagged(p)).map(|p| (p.measured_ms, p.predicted_ms)).collect(),
        flagged: report.points.iter().filter(flagged).map(|p| (p.measured_ms, p.predicted_ms)).collect(),
        flagged_label: "dominated or infeasible once measured".into(),
        band: if report.latency.same_machine { 0.1 } else { 0.0 },
    };
    let png = dir.join("verify.png");
    prediction_plot(&plot, &dir.join("verify.svg"), cfg.output.png.then_some(png.as_path()))?;
    if !quiet {
        print_verify(&report);
    }
    Ok(report)
}

fn print_verify(r: &VerifyReport) {
    println!("front re-measured ({}):", r.latency.source);
    println!(
        "{:>6} {:>10} {:>10} {:>8} {:>5} {:>5}  status  arch",
        "trial", "pred ms", "meas ms", "err %", "rank", "was"
    );
    for p in &r.points {
        let status = match (p.dominated_by.is_empty(), p.violates_constraints) {
            (true, false) => "ok".to_string(),
            (false, false) => format!("dominated by {:?}", p.dominated_by),
            (true, true) => "infeasible".to_string(),
            (false, true) => format!("infeasible, dominated by {:?}", p.dominated_by),
        };
        println!(
            "{:>6} {:>10.4} {:>10.4} {:>+8.2} {:>5} {:>5}  {status}  {}",
            p.trial, p.predicted_ms, p.measured_ms, p.error_pct, p.measured_rank, p.predicted_rank, p.arch
        );
    }
    if !r.latency.same_machine {
        println!("note: the latencies of this run model another device; only the ranking compares with this machine");
    }
    println!(
        "MAPE {:.2}%, Kendall tau {:.3}; {} member(s) became dominated, {} infeasible",
        r.mape_pct, r.kendall_tau, r.became_dominated, r.became_infeasible
    );
}
