//! Hardware commands: `hwnas lut build`, `hwnas lut validate` and `hwnas verify`.
//!
//! - **`lut build`** measures every distinct layer of a space on this machine
//!   ([`latency_lut::build_table`]) and writes the table file.
//! - **`lut validate`** measures random architectures end to end and compares
//!   them with the table: `validation.json`, `validation.svg/png`.
//! - **`verify`** re-measures the final Pareto front of a run whose latency came
//!   from a table or a model ([`latency_lut::verify_front`] re-ranks it and flags
//!   members that became dominated): `verify.json`, `verify.svg/png` in the run
//!   directory.
//!
//! Each command returns a typed report; the CLI prints it.

use crate::config::ExperimentConfig;
use crate::plot::{PredictionPlot, prediction_plot};
use crate::progress::ProgressDisplay;
use crate::rundir::{read_trials, write_atomic};
use crate::setup::{Build, Setup};
use anyhow::{Context, Result, bail};
use latency_lut::lut::build_table;
use latency_lut::validate::validate_table;
use latency_lut::{
    BuildOptions, DeviceFingerprint, FrontMember, LatencyTable, Protocol, SpaceId, Stability, StabilityOptions,
    ValidationOptions, ValidationReport, VerifyReport, VerifySource, measure_networks,
};
use nas_core::{DynSpace, Registry, SearchSpace, Trial};
use rand::SeedableRng;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The global allocator of the `hwnas` binary (see `main.rs`), declared to the
/// timing protocol: burn allocates every layer output, so the allocator is part
/// of what a table times.
pub const HWNAS_ALLOCATOR: &str = "mimalloc";

/// The space of `--space` (default settings) or `--config` (its settings and
/// its dataset's input shape).
fn select_space(space: Option<&str>, config: Option<&Path>, registry: &Registry) -> Result<DynSpace> {
    match (space, config) {
        (None, None) => {
            bail!("give --space {} (and optionally --config CONFIG for its settings)", registry.space_names().join("|"))
        }
        (Some(name), None) => Ok(registry.parse_space(name, serde_json::json!({}))?.build(None)?),
        (name, Some(path)) => {
            let cfg = ExperimentConfig::load_with(path, registry)?;
            if let Some(n) = name
                && n != cfg.space.kind
            {
                bail!("--space {n} but {} searches the {} space", path.display(), cfg.space.kind);
            }
            // The input shape comes from the config's dataset, as in a run.
            let setup = Setup::new(&cfg, registry, Build::ReportsOnly { with_data: true })
                .context("loading the config's dataset (for the input shape)")?;
            Ok(setup.space)
        }
    }
}

/// A file-name slug of a space id: its name, input shape and a hash of its
/// settings, e.g. `nb201-3x32x32-1a2b3c4d`.
fn slug(id: &SpaceId) -> String {
    let shape = id
        .config
        .get("input_chw")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_u64()).map(|v| v.to_string()).collect::<Vec<_>>().join("x"))
        .unwrap_or_else(|| "any".into());
    let hash = nas_core::hash::fnv1a64(id.config.to_string().as_bytes());
    format!("{}-{shape}-{:08x}", id.name, hash >> 32)
}

/// Arguments of `hwnas lut build`.
#[derive(Clone, Debug)]
pub struct LutBuildArgs {
    /// A registered space name (or taken from `config`).
    pub space: Option<String>,
    /// An experiment config whose space settings (and dataset shape) to use.
    pub config: Option<PathBuf>,
    /// Measurement threads.
    pub threads: usize,
    /// Batch size.
    pub batch: usize,
    /// Output file (default `luts/<space slug>-b<batch>-t<threads>.json`).
    pub out: Option<PathBuf>,
    /// Networks measured end to end for the calibration.
    pub calibration: usize,
    /// A much shorter protocol (smoke tests; less accurate).
    pub quick: bool,
    /// Largest accepted change of speed (default 0.05, 0.15 with `quick`).
    pub tolerance: Option<f64>,
    /// Re-measurements when the speed changed.
    pub retries: usize,
    /// No progress output.
    pub quiet: bool,
}

/// What `hwnas lut build` made.
#[derive(Clone, Debug)]
pub struct LutBuildReport {
    /// The table file written.
    pub path: PathBuf,
    /// The table.
    pub table: LatencyTable,
    /// Wall time of the build in seconds.
    pub seconds: f64,
}

impl std::fmt::Display for LutBuildReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.table;
        let cov = &t.coverage;
        writeln!(
            f,
            "{} layer configurations ({} from {} architectures) measured in {:.1} s",
            t.len(),
            if cov.exhaustive { "all" } else { "sampled" },
            cov.architectures,
            self.seconds
        )?;
        writeln!(f, "device: {}", t.device.summary())?;
        if let Some(c) = &t.calibration {
            writeln!(
                f,
                "calibration on {} networks: predicted = {:.4} ms + {:.4} x sum of layers (largest fit error {:.1}%)",
                c.points.len(),
                c.intercept_ms,
                c.scale,
                100.0 * c.max_rel_residual
            )?;
        }
        if let Some(st) = &t.stability {
            write!(f, "{}", stability_lines(st))?;
            if let Some(w) = st.warning(&self.path.display().to_string()) {
                writeln!(f, "\nWARNING: {w}\n")?;
            }
        }
        write!(f, "wrote {}", self.path.display())
    }
}

/// The stability record of a table, for people (a line per attempt).
fn stability_lines(st: &Stability) -> String {
    let mut out = String::new();
    for (i, a) in st.attempts.iter().enumerate() {
        let speeds: Vec<String> = a.round_speeds.iter().map(|s| format!("{:.3}", s)).collect();
        out.push_str(&format!(
            "attempt {}{}: drift {:+.1}%, layer round speeds [{}]{}{}: {}\n",
            i + 1,
            if i == st.kept { " (kept)" } else { "" },
            100.0 * a.drift,
            speeds.join(", "),
            if a.rounds_remeasured > 0 { format!(" ({} re-measured)", a.rounds_remeasured) } else { String::new() },
            a.fit_error.map(|e| format!(", fit error {:.1}%", 100.0 * e)).unwrap_or_default(),
            if a.passed() { "steady".to_string() } else { a.problems.join("; ") }
        ));
    }
    out
}

/// `hwnas lut show`: what a table holds and how it was measured.
pub fn lut_show(path: &Path) -> Result<String> {
    let t = LatencyTable::load(path)?;
    let mut out = String::new();
    let w = |out: &mut String, line: String| {
        out.push_str(&line);
        out.push('\n');
    };
    w(&mut out, format!("table: {}", path.display()));
    w(&mut out, format!("space: {}", t.space.describe()));
    let cov = &t.coverage;
    w(
        &mut out,
        format!(
            "entries: {} layer configurations ({} from {} architectures)",
            t.len(),
            if cov.exhaustive { "all" } else { "sampled" },
            cov.architectures
        ),
    );
    let mut spreads: Vec<f64> = t.entries.iter().map(|e| e.timing.rel_iqr()).filter(|s| s.is_finite()).collect();
    spreads.sort_by(f64::total_cmp);
    let sum: f64 = t.entries.iter().map(|e| e.timing.median_ms).sum();
    if let (Some(lo), Some(hi)) = (spreads.first(), spreads.last()) {
        let mid = spreads[spreads.len() / 2];
        w(
            &mut out,
            format!(
                "spread of the entries (IQR / median): median {:.1}%, from {:.1}% to {:.1}%; entries sum to {:.3} ms",
                100.0 * mid,
                100.0 * lo,
                100.0 * hi,
                sum
            ),
        );
    }
    match &t.calibration {
        Some(c) => w(
            &mut out,
            format!(
                "calibration on {} networks: predicted = {:.4} ms + {:.4} x sum of layers (largest fit error {:.1}%)",
                c.points.len(),
                c.intercept_ms,
                c.scale,
                100.0 * c.max_rel_residual
            ),
        ),
        None => w(&mut out, "calibration: none (predictions are plain sums of layers)".into()),
    }
    match &t.stability {
        Some(st) => {
            w(
                &mut out,
                format!(
                    "stability: {} after {} attempt(s) (tolerance ±{:.1}%)",
                    if st.settled() { "steady" } else { "NOT steady" },
                    st.attempts.len(),
                    100.0 * st.options.tolerance
                ),
            );
            out.push_str(&stability_lines(st));
        }
        None => w(&mut out, "stability: not recorded (built before hwnas recorded it)".into()),
    }
    w(&mut out, format!("device: {}", t.device.summary()));
    let p = &t.protocol;
    w(
        &mut out,
        format!(
            "protocol: {} rounds, samples of {} ms, {}..{} samples per round, allocator {}",
            p.rounds, p.sample_ms, p.min_samples, p.max_samples, p.allocator
        ),
    );
    w(&mut out, format!("built: {} (unix time)", t.created_unix));
    let here = DeviceFingerprint::current(&t.protocol);
    let diffs = t.device.differences(&here);
    if !diffs.is_empty() {
        w(&mut out, format!("measured on another machine or setup: {}", diffs.join("; ")));
    }
    if let Some(warn) = t.stability.as_ref().and_then(|s| s.warning(&path.display().to_string())) {
        w(&mut out, format!("WARNING: {warn}"));
    }
    Ok(out)
}

/// `hwnas lut build`: measures the table and writes it.
pub fn lut_build(args: &LutBuildArgs, registry: &Registry) -> Result<LutBuildReport> {
    let space = select_space(args.space.as_deref(), args.config.as_deref(), registry)?;
    let mut p = if args.quick { Protocol::quick() } else { Protocol::default() };
    p.batch = args.batch;
    p.threads = args.threads;
    p.validate()?;
    // A quick table is a smoke test: its short samples are noisier, so its
    // checks only catch gross changes of speed.
    let defaults = if args.quick {
        StabilityOptions { tolerance: 0.15, max_fit_error: 0.25, max_retries: args.retries }
    } else {
        StabilityOptions { max_retries: args.retries, ..StabilityOptions::default() }
    };
    let stability = StabilityOptions { tolerance: args.tolerance.unwrap_or(defaults.tolerance), ..defaults };
    let opts =
        BuildOptions { protocol: p, calibration_networks: args.calibration, stability, ..BuildOptions::default() };
    opts.validate()?;
    let id = SpaceId::new(space.name(), space.settings());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("luts").join(format!("{}-b{}-t{}.json", slug(&id), args.batch, args.threads)));
    if !args.quiet {
        eprintln!("measuring the layers of {} at batch {} on {} thread(s)", id.describe(), args.batch, args.threads);
    }
    let start = Instant::now();
    let display = ProgressDisplay::new(1, args.quiet);
    let table = build_table(&space, space.trainable(), id, &opts, &display)?;
    display.finish();
    table.save(&out)?;
    Ok(LutBuildReport { path: out, table, seconds: start.elapsed().as_secs_f64() })
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
pub fn lut_validate(args: &LutValidateArgs, registry: &Registry) -> Result<ValidationReport> {
    if args.samples < 2 {
        bail!("--samples must be >= 2 (Kendall tau needs pairs)");
    }
    let table = LatencyTable::load(&args.lut)?;
    let space = if args.space.is_none() && args.config.is_none() {
        // The table's own space, settings and input shape.
        registry
            .parse_space(&table.space.name, table.space.config.clone())
            .and_then(|s| s.build(None))
            .with_context(|| format!("{}: the space it records", args.lut.display()))?
    } else {
        select_space(args.space.as_deref(), args.config.as_deref(), registry)?
    };
    let id = SpaceId::new(space.name(), space.settings());
    table.check(&id, table.batch)?;
    validate_in(&space, &table, args)
}

fn validate_in(space: &DynSpace, table: &LatencyTable, args: &LutValidateArgs) -> Result<ValidationReport> {
    let trainable = space.trainable().with_context(|| {
        format!("space `{}` builds no burn network, so it cannot be measured end to end", space.name())
    })?;
    let here = DeviceFingerprint::current(&table.protocol);
    let diffs = table.device.differences(&here);
    if !diffs.is_empty() {
        eprintln!("warning: the table was measured on another machine or setup: {}", diffs.join("; "));
    }
    if let Some(w) = table.stability.as_ref().and_then(|s| s.warning(&args.lut.display().to_string())) {
        eprintln!("WARNING: {w}");
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
    let display = ProgressDisplay::new(archs.len() * table.protocol.rounds, args.quiet);
    let report =
        validate_table(space, trainable, table, &archs, &table.protocol, &ValidationOptions::default(), &display)?;
    display.finish();
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
    if !args.quiet {
        print_validation(&report);
        println!(
            "wrote {0}/validation.json and {0}/validation.svg{1}",
            out.display(),
            if args.png { ", .png" } else { "" }
        );
    }
    Ok(report)
}

/// Prints a validation report (what `hwnas lut validate` shows).
pub fn print_validation(r: &ValidationReport) {
    println!("{} architectures measured end to end:", r.samples);
    println!("  within ±5%:  {:5.1}%", 100.0 * r.within_5pct);
    println!("  within ±10%: {:5.1}%", 100.0 * r.within_10pct);
    println!("  MAPE {:.2}%, bias {:+.2}%, largest error {:.2}%", r.mape_pct, r.bias_pct, r.max_abs_error_pct);
    println!("  Kendall tau {}", fmt_tau(r.kendall_tau));
    if let (Some(speed), Some(w10), Some(w5)) =
        (r.speed_vs_build, r.within_10pct_speed_adjusted, r.within_5pct_speed_adjusted)
    {
        println!(
            "  the machine runs {:.1}% {} now than when the table was built (its calibration networks, measured \
             again); with the predictions scaled by that: {:.1}% within ±10%, {:.1}% within ±5%",
            100.0 * speed.abs(),
            if speed <= 0.0 { "faster" } else { "slower" },
            100.0 * w10,
            100.0 * w5
        );
    }
    if r.repeats > 0 {
        println!(
            "  reliability: {} architectures measured again at the end moved by {:.1}% (median; drift {:+.1}%)",
            r.repeats,
            100.0 * r.repeat_spread,
            100.0 * r.repeat_drift
        );
    }
    if let Some(speed) = r.speed_vs_build.filter(|s| s.abs() > r.repeat_tolerance && r.repeat_tolerance > 0.0) {
        println!(
            "  NOTE: the machine's speed changed by {:+.1}% since the table was built (tolerance ±{:.1}%); the \
             figures as built include that change, the scaled ones do not",
            100.0 * speed,
            100.0 * r.repeat_tolerance
        );
    }
    if let Some(why) = r.inconclusive_reason() {
        println!("  {why}");
    }
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

/// A Kendall tau for people: `n/a` when undefined (see `nas_core::stats`).
pub fn fmt_tau(t: f64) -> String {
    if t.is_nan() { "n/a".into() } else { format!("{t:.4}") }
}

/// `hwnas verify RUN_DIR`.
pub fn verify(run_dir: &Path, registry: &Registry, quiet: bool) -> Result<VerifyReport> {
    let cfg = crate::runner::run_config(run_dir, registry)?;
    let trials = read_trials(run_dir)?;
    if trials.is_empty() {
        bail!("{} has no trials yet", run_dir.display());
    }
    let setup = Setup::new(&cfg, registry, Build::ReportsOnly { with_data: true })
        .context("loading the dataset (for the input shape)")?;
    verify_front_of(run_dir, &cfg, &setup, &trials, quiet)
}

/// Re-measures the final front of `trials` (see the module docs) and writes
/// `verify.json` and `verify.svg` (and `.png` when the config asks for PNGs).
pub fn verify_front_of(
    dir: &Path,
    cfg: &ExperimentConfig,
    setup: &Setup,
    trials: &[Trial],
    quiet: bool,
) -> Result<VerifyReport> {
    let problem = &setup.problem;
    if !problem.metrics().contains(&nas_core::Metric::LatencyMs) {
        bail!("the run has no latency_ms objective or constraint; nothing to verify");
    }
    let latency = VerifySource::of(&setup.plan.latency_source()).map_err(anyhow::Error::msg)?;
    let front = crate::hv::front_of(problem, trials);
    if front.is_empty() {
        bail!("the run has no feasible trial, so no front to verify");
    }
    if let Some(w) = &latency.warning {
        eprintln!("WARNING: {w}");
    }
    if !quiet {
        eprintln!("re-measuring the {} front members end to end ({})", front.len(), latency.source);
    }
    let space = &setup.space;
    let trainable = space
        .trainable()
        .with_context(|| format!("space `{}` builds no burn network, so its front cannot be measured", space.name()))?;
    let archs = front
        .iter()
        .map(|&i| space.parse(&trials[i].arch).with_context(|| format!("trial {}", trials[i].index)))
        .collect::<Result<Vec<_>>>()?;
    // The table's calibration networks are re-measured with the front: against
    // their times in the table they tell the machine's speed now against then.
    let calibration: Vec<(_, f64)> =
        latency.calibration.iter().filter_map(|(a, ms)| space.parse(a).ok().map(|a| (a, *ms))).collect();
    let mut all = archs.clone();
    all.extend(calibration.iter().map(|(a, _)| a.clone()));
    let display = ProgressDisplay::new(all.len() * latency.protocol.rounds, quiet);
    let mut timings = measure_networks(trainable, &all, &latency.protocol, &display)?;
    display.finish();
    let calibration_now: Vec<f64> = timings.split_off(archs.len()).iter().map(|t| t.median_ms).collect();
    let speed_vs_build = (!calibration.is_empty()).then(|| {
        let then: Vec<f64> = calibration.iter().map(|(_, ms)| *ms).collect();
        latency_lut::stability::drift(&then, &calibration_now)
    });
    let measured: Vec<f64> = timings.iter().map(|t| t.median_ms).collect();
    let members: Vec<FrontMember> = front
        .iter()
        .map(|&i| FrontMember {
            trial: trials[i].index,
            arch: trials[i].arch.clone(),
            metrics: trials[i].metrics.clone(),
        })
        .collect();
    let mut report = latency_lut::verify_front(problem, latency, &members, &measured)?;
    report.speed_vs_build = speed_vs_build;
    write_atomic(&dir.join("verify.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    let flagged = |p: &&latency_lut::VerifiedPoint| !p.dominated_by.is_empty() || p.violates_constraints;
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

/// Prints a verification report (what `hwnas verify` shows).
pub fn print_verify(r: &VerifyReport) {
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
    if let Some(speed) = r.speed_vs_build {
        println!(
            "the machine runs {:.1}% {} now than when the table was built (its calibration networks, measured again){}",
            100.0 * speed.abs(),
            if speed <= 0.0 { "faster" } else { "slower" },
            if speed.abs() > latency_lut::StabilityOptions::default().tolerance {
                ": the errors above include that change, not only the table's"
            } else {
                ""
            }
        );
    }
    println!(
        "MAPE {:.2}%, Kendall tau {}; {} member(s) became dominated, {} infeasible",
        r.mape_pct,
        fmt_tau(r.kendall_tau),
        r.became_dominated,
        r.became_infeasible
    );
}
