//! The `hwnas` command line (clap).

use crate::compare::{compare, default_budgets, format_table};
use crate::config::{DEFAULT_CONFIG, ExperimentConfig, Section};
use crate::hardware::{
    LutBuildArgs, LutValidateArgs, fmt_tau, lut_build, lut_show, lut_validate, print_validation, verify,
};
use crate::registry::builtin_nb201_table;
use crate::rundir::LogMode;
use crate::runner::{RunOptions, default_run_dir, replot, resume, run_new};
use crate::train_cmd::{TrainOptions, format_report};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use nas_core::Registry;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Hardware-aware neural architecture search.
#[derive(Parser, Debug)]
#[command(name = "hwnas", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run an experiment (the built-in default when no CONFIG is given).
    Run {
        /// Experiment config (TOML).
        config: Option<PathBuf>,
        /// Override the run seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the budget (distinct architectures evaluated).
        #[arg(long)]
        budget: Option<usize>,
        /// Override the strategy (default settings of that strategy; see `hwnas list`).
        #[arg(long)]
        strategy: Option<String>,
        /// Differentiable strategies: search once per seed (`--seeds 0,1,2,3,4`);
        /// raises the budget to the number of seeds when it is smaller.
        #[arg(long, value_delimiter = ',')]
        seeds: Option<Vec<u64>>,
        /// Run directory (default: `runs/<name>-s<seed>-<time>`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
        /// The trial store and study (see `StoreArgs`).
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Finish an interrupted run without losing or repeating finished trials
    /// (a run directory, or a study in a trial store with --storage/--study).
    Resume {
        /// The run directory (omit with --study).
        #[arg(required_unless_present = "study")]
        run_dir: Option<PathBuf>,
        /// With --study: the run directory to write (default: the study's own).
        #[arg(long, requires = "study")]
        out: Option<PathBuf>,
        /// The trial store and study (see `StoreArgs`).
        #[command(flatten)]
        store: StoreArgs,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
        /// Refuse a trial log with damaged lines instead of moving them to
        /// trials.rejected.jsonl.
        #[arg(long)]
        strict: bool,
    },
    /// Redraw the plots and pareto.json of a run.
    Plot {
        /// The run directory.
        run_dir: PathBuf,
        /// Refuse a trial log with damaged lines instead of moving them to
        /// trials.rejected.jsonl.
        #[arg(long)]
        strict: bool,
    },
    /// Rewrite export/ (the front's architectures as JSON) of a run; with
    /// `--onnx`, also write onnx/ (one ONNX model per front member, with its
    /// trained weights).
    Export {
        /// The run directory.
        run_dir: PathBuf,
        /// Refuse a trial log with damaged lines instead of moving them to
        /// trials.rejected.jsonl.
        #[arg(long)]
        strict: bool,
        /// Write `onnx/<rank>_<arch id>.onnx` per front member (the weights kept
        /// by the search or by `hwnas train`) and onnx/manifest.json.
        #[arg(long)]
        onnx: bool,
        /// With --onnx: one architecture (trial index or 16-digit arch id)
        /// instead of the front.
        #[arg(long, requires = "onnx")]
        arch: Option<String>,
        /// With --onnx: export initialised weights where none were kept (the
        /// file's metadata says so).
        #[arg(long, requires = "onnx", conflicts_with = "train")]
        untrained: bool,
        /// With --onnx: first train (`hwnas train`) the exported architectures
        /// that have no kept weights, then export them.
        #[arg(long, requires = "onnx")]
        train: bool,
        /// With --train: epochs of that training (default: 4x the search's).
        #[arg(long, requires = "train")]
        epochs: Option<usize>,
        /// With --train: no progress output.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Train chosen architectures from scratch with a longer schedule (progress
    /// bar, a checkpoint per epoch: run the same command again to continue a
    /// killed one). `hwnas train RUN_DIR --front|--arch ID` writes
    /// RUN_DIR/retrained/ (weights, report.json), which `hwnas export --onnx`
    /// then uses; `hwnas train ARCH [--config CONFIG]` trains one notation.
    Train {
        /// A run directory, or an architecture's notation (with --config, or
        /// the built-in default config).
        target: String,
        /// Every member of the run's Pareto front.
        #[arg(long, conflicts_with_all = ["arch", "config", "out"])]
        front: bool,
        /// Trial indices or 16-digit arch ids of the run (comma-separated).
        #[arg(long, value_delimiter = ',', conflicts_with_all = ["config", "out"])]
        arch: Vec<String>,
        /// Epochs of the schedule (default: 4x the search's).
        #[arg(long)]
        epochs: Option<usize>,
        /// Train on the whole training split instead of the search's fixed
        /// subset (`max_train_samples`); validation stays the search's.
        #[arg(long)]
        all_data: bool,
        /// For ARCH: the experiment config whose `train` evaluator gives the
        /// dataset and the schedule (default: the built-in default).
        #[arg(long)]
        config: Option<PathBuf>,
        /// For ARCH: the output folder (default: `runs/train-<arch id>`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
    },
    /// One report.html for several runs side by side (each run directory has its
    /// own report.html already).
    Report {
        /// Run directories.
        #[arg(required = true)]
        run_dirs: Vec<PathBuf>,
        /// The page to write.
        #[arg(long, default_value = "report.html")]
        out: PathBuf,
    },
    /// Compare strategies over several seeds (mean ± std of the HV ratio).
    Compare {
        /// Experiment config (TOML).
        config: PathBuf,
        /// Comma-separated strategies.
        #[arg(long, default_value = "random,evolution,nsga2", value_delimiter = ',')]
        strategies: Vec<String>,
        /// Comma-separated multi-fidelity schedulers to cross with the strategies:
        /// `config` (the config's own, default), `none`, `asha`, `hyperband`,
        /// `successive_halving` (the rungs come from the config's `[scheduler]` section).
        /// With a scheduler every arm gets the same budget of epochs.
        #[arg(long, default_value = "config", value_delimiter = ',')]
        schedulers: Vec<String>,
        /// Seeds per strategy.
        #[arg(long, default_value_t = 10)]
        seeds: usize,
        /// Override the budget.
        #[arg(long)]
        budget: Option<usize>,
        /// Budgets to report (default: quarter, half, full, and 100/200/400 inside it).
        #[arg(long, value_delimiter = ',')]
        at: Option<Vec<usize>>,
        /// Curves against wall-clock seconds instead of evaluations or epochs:
        /// the runs go one at a time, and `--at` is in seconds (default: a
        /// quarter, half and all of the first arm's mean run).
        #[arg(long)]
        by_time: bool,
        /// Output folder for compare.json and the plot.
        #[arg(long, default_value = "runs/compare")]
        out: PathBuf,
    },
    /// Joint network x accelerator search against NASAIC's successive baseline
    /// (networks first, then hardware), seed by seed, on a `codesign` config.
    Codesign {
        /// Experiment config (TOML) with a `codesign` space and evaluator.
        config: PathBuf,
        /// Seeds.
        #[arg(long, default_value_t = 10)]
        seeds: usize,
        /// Override the budget.
        #[arg(long)]
        budget: Option<usize>,
        /// The joint strategy (default: the config's).
        #[arg(long)]
        strategy: Option<String>,
        /// Output folder for codesign.json.
        #[arg(long, default_value = "runs/codesign")]
        out: PathBuf,
    },
    /// Evaluate the trials of a study in a trial store (from this or another
    /// machine) until its driver finishes it.
    Worker {
        /// The trial store and study (see `StoreArgs`).
        #[command(flatten)]
        store: StoreArgs,
        /// Trials evaluated at once.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Stop after this many trials.
        #[arg(long)]
        max_trials: Option<usize>,
        /// No per-trial lines.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Studies in a trial store: list, export to a run directory, import one.
    Study {
        /// What to do.
        #[command(subcommand)]
        command: StudyCommand,
    },
    /// List spaces, strategies, evaluators, datasets, metrics and devices.
    List,
    /// Measure training throughput of the burn CPU backends.
    Bench {
        /// Timed steps per backend.
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Threads for the kernels (default: all cores, rayon's global pool).
        #[arg(long)]
        threads: Option<usize>,
        /// Only this backend (flex, ndarray; default: every one).
        #[arg(long)]
        backend: Option<String>,
        /// Convolution and batch-norm kernels: hwnas (default) or burn (burn's own operations).
        #[arg(long, default_value = "hwnas")]
        kernels: String,
    },
    /// Learned predictors: accuracy-predictor quality and few-shot latency transfer.
    Predictor {
        /// What to do.
        #[command(subcommand)]
        command: PredictorCommand,
    },
    /// Latency lookup tables measured on this machine: build and validate.
    Lut {
        /// What to do.
        #[command(subcommand)]
        command: LutCommand,
    },
    /// Re-measure the final Pareto front of a run end to end, re-rank it and flag
    /// members that became dominated (runs whose latency came from a table or a model).
    Verify {
        /// The run directory.
        run_dir: PathBuf,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
    },
}

/// Where a study lives (`hwnas run`, `resume`, `worker`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StoreArgs {
    /// Trial store: `sqlite:PATH` or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`
    /// (default: $HWNAS_STORAGE; a password may also come from
    /// $HWNAS_STORAGE_PASSWORD or $PGPASSWORD). Without --study, the run
    /// directory alone holds the trials.
    #[arg(long, requires = "study")]
    pub storage: Option<String>,
    /// The study (created by `hwnas run`, joined by `hwnas worker`).
    #[arg(long)]
    pub study: Option<String>,
    /// Seconds a claimed trial stays reserved without a heartbeat before
    /// another worker takes it.
    #[arg(long, default_value_t = 60.0)]
    pub lease_seconds: f64,
    /// The driver only hands out trials; workers evaluate them all.
    #[arg(long)]
    pub no_local: bool,
}

impl StoreArgs {
    fn target(&self) -> Result<Option<crate::study_cmd::StudyTarget>> {
        let Some(study) = &self.study else { return Ok(None) };
        if !(self.lease_seconds.is_finite() && self.lease_seconds > 0.0) {
            bail!("--lease-seconds must be a positive number of seconds");
        }
        let store = crate::study::open_store(self.storage.as_deref())?;
        crate::study::require_shared(store.as_ref(), "--study")?;
        Ok(Some(crate::study_cmd::StudyTarget {
            store,
            study: study.clone(),
            lease: std::time::Duration::from_secs_f64(self.lease_seconds),
            local: !self.no_local,
        }))
    }
}

/// `hwnas study` subcommands.
#[derive(Subcommand, Debug)]
pub enum StudyCommand {
    /// The studies of a store with their trial counts.
    List {
        /// The store (default: $HWNAS_STORAGE): sqlite:PATH, postgres://…, or
        /// jsonl:RUN_DIR (a run directory, read as a one-study store).
        #[arg(long)]
        storage: Option<String>,
    },
    /// Write a study as a run directory (trials.jsonl, plots, pareto.json,
    /// export/, report.html).
    Export {
        /// The store (default: $HWNAS_STORAGE): sqlite:PATH, postgres://…, or
        /// jsonl:RUN_DIR (a run directory, read as a one-study store).
        #[arg(long)]
        storage: Option<String>,
        /// The study.
        #[arg(long)]
        study: String,
        /// The run directory to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Load a run directory into a store as a new study.
    Import {
        /// The run directory.
        run_dir: PathBuf,
        /// The store (default: $HWNAS_STORAGE): sqlite:PATH, postgres://…, or
        /// jsonl:RUN_DIR (a run directory, read as a one-study store).
        #[arg(long)]
        storage: Option<String>,
        /// The study name (default: the directory's name).
        #[arg(long)]
        study: Option<String>,
    },
}

/// `hwnas lut` subcommands.
#[derive(Subcommand, Debug)]
pub enum LutCommand {
    /// Measure every distinct layer of a space on this machine and write the table.
    Build {
        /// Search space (default settings unless --config is given; see `hwnas list`).
        #[arg(long)]
        space: Option<String>,
        /// Take the space settings (and the dataset's input shape) from this experiment config.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Measurement threads (1 is the most additive and reproducible).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Batch size of the timed inputs.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Output file (default luts/SPACE-SETTINGS-bBATCH-tTHREADS.json).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Networks measured end to end to calibrate the per-network overhead (0 = none).
        #[arg(long, default_value_t = 8)]
        calibration: usize,
        /// A much shorter (less accurate) protocol, for smoke tests.
        #[arg(long)]
        quick: bool,
        /// Largest change of the machine's speed accepted during the build, as a
        /// fraction (default 0.05; 0.15 with --quick).
        #[arg(long)]
        tolerance: Option<f64>,
        /// Re-measurements when the machine's speed changed (default 2).
        #[arg(long, default_value_t = 2)]
        retries: usize,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Print what a table holds and how steady the machine was when it was built:
    /// entries, their spread, calibration, drift and retries, device.
    Show {
        /// The table file.
        lut: PathBuf,
    },
    /// Measure random architectures end to end and compare them with a table.
    Validate {
        /// The table file.
        lut: PathBuf,
        /// Search space (default: the table's own space and settings).
        #[arg(long)]
        space: Option<String>,
        /// Take the space settings from this experiment config.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Random architectures to measure.
        #[arg(long, default_value_t = 100)]
        samples: usize,
        /// Seed of the random architectures.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output folder (default TABLE-validation/ beside the table).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Do not write validation.png (the SVG is always written).
        #[arg(long)]
        no_png: bool,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
    },
}

fn load_config(path: Option<&Path>, registry: &Registry) -> Result<(ExperimentConfig, PathBuf)> {
    match path {
        Some(p) => {
            let cfg = ExperimentConfig::load_with(p, registry)?;
            let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
            let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
            Ok((cfg, base))
        }
        None => {
            Ok((ExperimentConfig::from_toml_with(DEFAULT_CONFIG, "<built-in default>", registry)?, PathBuf::from(".")))
        }
    }
}

/// Runs one parsed command line with `registry` (the binary passes the built-in
/// one; tests can add components of their own).
pub fn run_with(registry: &Registry, cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run { config, seed, budget, strategy, seeds, out, quiet, store } => {
            let (mut cfg, base) = load_config(config.as_deref(), registry)?;
            if let Some(s) = seed {
                cfg.seed = s;
            }
            if let Some(b) = budget {
                if b == 0 {
                    bail!("--budget must be >= 1");
                }
                cfg.budget = b;
            }
            if let Some(s) = strategy
                && cfg.strategy.kind != s
            {
                cfg.strategy = Section::of_kind(&s);
                cfg.validate("--strategy", registry)?;
            }
            if let Some(list) = seeds {
                let defaults = registry.parse_strategy(&cfg.strategy.kind, serde_json::json!({}))?.settings();
                if defaults.get("seeds").is_none() {
                    bail!(
                        "--seeds: strategy `{}` has no seeds (it applies to the differentiable strategies: darts, pc_darts, gdas, proxyless)",
                        cfg.strategy.kind
                    );
                }
                cfg.budget = cfg.budget.max(list.len());
                cfg.strategy.settings.insert("seeds".into(), serde_json::json!(list));
                cfg.validate("--seeds", registry)?;
            }
            cfg.resolve_paths(&base.canonicalize().unwrap_or(base.clone()), registry)?;
            let dir = out.unwrap_or_else(|| default_run_dir(&cfg));
            let s = match store.target()? {
                Some(t) => crate::study_cmd::run_in_store(&cfg, &dir, registry, &t, quiet)?,
                None => run_new(&cfg, &dir, registry, &RunOptions { quiet, ..Default::default() })?,
            };
            summary(&s);
        }
        Command::Resume { run_dir, out, store, quiet, strict } => {
            let s = match (store.target()?, run_dir) {
                (Some(t), None) => crate::study_cmd::resume_in_store(out.as_deref(), registry, &t, quiet)?,
                (Some(_), Some(d)) => bail!(
                    "give either a run directory or --study, not both (write a study's run elsewhere with --out {})",
                    d.display()
                ),
                (None, Some(d)) => {
                    resume(&d, registry, &RunOptions { quiet, log_mode: log_mode(strict), ..Default::default() })?
                }
                (None, None) => bail!("give the run directory to resume, or --storage URL --study NAME"),
            };
            summary(&s);
        }
        Command::Worker { store, threads, max_trials, quiet } => {
            let Some(t) = store.target()? else { bail!("hwnas worker needs --study NAME (and --storage URL)") };
            let opts = crate::study::WorkerOptions { threads, lease: t.lease, max_trials, quiet };
            let r = crate::study::run_worker(t.store.clone(), &t.study, registry, &opts)?;
            println!("worker done: {} trials evaluated, {} leases lost", r.finished, r.lost);
        }
        Command::Study { command } => match command {
            StudyCommand::List { storage } => {
                print!("{}", crate::study_cmd::list_studies(crate::study::open_store(storage.as_deref())?.as_ref())?)
            }
            StudyCommand::Export { storage, study, out } => {
                let store = crate::study::open_store(storage.as_deref())?;
                let n = crate::study_cmd::export_study(store.as_ref(), &study, &out, registry)?;
                println!("wrote {} ({n} trials of study `{study}`)", out.display());
            }
            StudyCommand::Import { run_dir, storage, study } => {
                let store = crate::study::open_store(storage.as_deref())?;
                let (name, n) = crate::study_cmd::import_run(store.as_ref(), &run_dir, study.as_deref(), registry)?;
                println!("imported {n} trials of {} as study `{name}` in {}", run_dir.display(), store.location());
            }
        },
        Command::Plot { run_dir, strict } => {
            replot(&run_dir, registry, log_mode(strict))?;
            println!("wrote pareto.json, pareto.svg, pareto.png, hypervolume.svg and export/ in {}", run_dir.display());
        }
        Command::Export { run_dir, strict, onnx, arch, untrained, train, epochs, quiet } => {
            if train {
                let opts = TrainOptions { epochs, quiet, ..Default::default() };
                let report = crate::train_cmd::train_missing(&run_dir, registry, arch.as_deref(), &opts)?;
                if !report.entries.is_empty() {
                    print!("{}", format_report(&report));
                }
            }
            if onnx {
                let opts = crate::onnx_cmd::OnnxExportOptions { arch, untrained };
                for f in crate::onnx_cmd::export_onnx(&run_dir, registry, &opts)? {
                    println!(
                        "wrote {}: {} ({} parameters, {} nodes; weights {})",
                        run_dir.join(&f.file).display(),
                        f.arch,
                        f.parameters,
                        f.nodes,
                        f.weights
                    );
                }
            }
            // Last, so that report.html links the ONNX files.
            replot(&run_dir, registry, log_mode(strict))?;
            println!(
                "wrote pareto.json, pareto.svg, pareto.png, hypervolume.svg, report.html and export/ in {}",
                run_dir.display()
            );
        }
        Command::Train { target, front, arch, epochs, all_data, config, out, quiet } => {
            let opts = TrainOptions { epochs, all_data, quiet };
            let as_dir = Path::new(&target);
            let report = if config.is_none() && as_dir.join("config.toml").is_file() {
                if !front && arch.is_empty() {
                    bail!("say what to train in {target}: --front (every front member) or --arch ID[,ID...]");
                }
                let r = crate::train_cmd::train_run(as_dir, registry, &arch, &opts)?;
                println!("wrote {}/retrained/ (weights and report.json)", as_dir.display());
                r
            } else {
                if as_dir.is_dir() {
                    bail!("{target} is not a run directory (no config.toml)");
                }
                if front || !arch.is_empty() {
                    bail!("--front and --arch choose trials of a run directory, and {target} is not one");
                }
                crate::train_cmd::train_arch(&target, config.as_deref(), out.as_deref(), registry, &opts)?
            };
            print!("{}", format_report(&report));
        }
        Command::Compare { config, strategies, schedulers, seeds, budget, at, by_time, out } => {
            let (mut cfg, base) = load_config(Some(&config), registry)?;
            if let Some(b) = budget {
                cfg.budget = b;
            }
            cfg.resolve_paths(&base.canonicalize().unwrap_or(base.clone()), registry)?;
            let axis = if by_time { crate::compare::Axis::Time } else { crate::compare::Axis::Budget };
            let budgets = match (at, axis) {
                (Some(at), _) => at,
                (None, crate::compare::Axis::Budget) => default_budgets(cfg.budget),
                // Seconds: filled in from the runs' lengths below when not given.
                (None, crate::compare::Axis::Time) => Vec::new(),
            };
            let cmp = compare(&cfg, &strategies, &schedulers, seeds, &budgets, axis, &out, registry)?;
            print!("{}", format_table(&cmp));
            println!("wrote {0}/compare.json and {0}/compare.svg", out.display());
        }
        Command::Report { run_dirs, out } => {
            crate::runner::report_runs(&run_dirs, &out, registry)?;
            println!("wrote {}", out.display());
        }
        Command::Codesign { config, seeds, budget, strategy, out } => {
            let (mut cfg, base) = load_config(Some(&config), registry)?;
            if let Some(b) = budget {
                cfg.budget = b;
            }
            if let Some(s) = strategy.filter(|s| *s != cfg.strategy.kind) {
                cfg.strategy = crate::config::Section::of_kind(&s);
                cfg.validate("--strategy", registry)?;
            }
            cfg.resolve_paths(&base.canonicalize().unwrap_or(base.clone()), registry)?;
            let cmp = crate::codesign_cmd::compare_codesign(&cfg, seeds, &out, registry)?;
            print!("{}", crate::codesign_cmd::format_codesign(&cmp));
            println!("wrote {}/codesign.json", out.display());
        }
        Command::List => list(registry)?,
        Command::Bench { steps, threads, backend, kernels } => bench(steps, threads, backend.as_deref(), &kernels)?,
        Command::Lut {
            command:
                LutCommand::Build { space, config, threads, batch, out, calibration, quick, tolerance, retries, quiet },
        } => {
            let args =
                LutBuildArgs { space, config, threads, batch, out, calibration, quick, tolerance, retries, quiet };
            let r = lut_build(&args, registry)?;
            if quiet {
                if let Some(w) = r.table.stability.as_ref().and_then(|s| s.warning(&r.path.display().to_string())) {
                    eprintln!("WARNING: {w}");
                }
                println!("wrote {}", r.path.display());
            } else {
                println!("{r}");
            }
        }
        Command::Lut { command: LutCommand::Show { lut } } => print!("{}", lut_show(&lut)?),
        Command::Lut { command: LutCommand::Validate { lut, space, config, samples, seed, out, no_png, quiet } } => {
            let r = lut_validate(
                &LutValidateArgs { lut, space, config, samples, seed, out, png: !no_png, quiet },
                registry,
            )?;
            if quiet {
                print_validation(&r);
            }
        }
        Command::Predictor { command } => predictor(command, registry)?,
        Command::Verify { run_dir, quiet } => {
            let r = verify(&run_dir, registry, quiet)?;
            if quiet {
                println!(
                    "verified {} front members: MAPE {:.2}%, Kendall tau {}, {} became dominated",
                    r.points.len(),
                    r.mape_pct,
                    fmt_tau(r.kendall_tau),
                    r.became_dominated
                );
            }
            println!("wrote {0}/verify.json and {0}/verify.svg", run_dir.display());
        }
    }
    Ok(())
}

fn summary(s: &crate::runner::RunSummary) {
    let failed = s.trials.iter().filter(|t| !t.is_ok()).count();
    println!("{} trials ({} failed) in {}", s.trials.len(), failed, s.dir.display());
    if let Some(spent) = s.trials.last().and_then(nas_core::fidelity::spent_epochs) {
        let finals = nas_core::fidelity::final_trials(&s.trials);
        let top = finals.iter().filter_map(nas_core::fidelity::trial_epochs).max().unwrap_or(0);
        let at_top = finals.iter().filter(|t| nas_core::fidelity::trial_epochs(t) == Some(top)).count();
        println!(
            "{spent} epochs of training spent on {} candidates; {at_top} reached the top rung ({top} epochs)",
            finals.len()
        );
    }
    if let Some(hv) = s.hypervolume {
        println!("{}: {hv:.4}", if s.is_ratio { "HV ratio" } else { "normalised HV" });
    }
    println!("Pareto plot: {}", s.dir.join("pareto.png").display());
}

/// `hwnas list`: every registered component, from the registry.
fn list(registry: &Registry) -> Result<()> {
    let caps = |c: &[nas_core::Capability]| {
        if c.is_empty() { "-".to_string() } else { c.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ") }
    };
    println!("spaces (capabilities):");
    for c in registry.spaces() {
        println!("  {:<12} {} [{}]", c.name, c.description, caps(&c.capabilities));
    }
    println!("strategies (needs of the space, default settings):");
    for c in registry.strategies() {
        println!("  {:<12} {} [{}]", c.name, c.description, caps(&c.capabilities));
    }
    println!("evaluators:");
    for c in registry.evaluators() {
        println!("  {:<12} {}", c.name, c.description);
    }
    println!("datasets:");
    for d in registry.datasets() {
        println!("  {:<12} {}", d.name, d.description);
    }
    println!("energy technologies: {}", latency_lut::Technology::NAMES.join(", "));
    println!("systolic dataflows: ws, os, rs");
    println!("metrics: {}", nas_core::Metric::all_names());
    println!("backends: {}", nas_core::train::Backend::ALL.iter().map(|b| b.name()).collect::<Vec<_>>().join(", "));
    let space = search_spaces::nb201::Nb201Space::new(Default::default())?;
    let table = nas_core::MetricTable::load(builtin_nb201_table(), &space)
        .with_context(|| format!("reading {}", builtin_nb201_table().display()))?;
    println!("devices (builtin:nb201 table): {}", table.devices().join(", "));
    println!("accuracy columns (builtin:nb201 table): {}", table.accuracy_columns().join(", "));
    Ok(())
}

fn bench(steps: usize, threads: Option<usize>, backend: Option<&str>, kernels: &str) -> Result<()> {
    use nas_core::train::{Backend, ThroughputConfig, measure_throughput};
    let kernels = kernels.parse().map_err(|e| anyhow::anyhow!("--kernels: {e}"))?;
    let backends = match backend {
        Some(name) => vec![name.parse::<Backend>().map_err(|e| anyhow::anyhow!("--backend: {e}"))?],
        None => Backend::ALL.to_vec(),
    };
    for b in backends {
        let cfg = ThroughputConfig { steps, threads, kernels, ..Default::default() };
        let t = measure_throughput(b, &cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("{:<8} {t}", b.name());
    }
    Ok(())
}

/// `hwnas predictor ...` subcommands.
#[derive(Subcommand, Debug)]
pub enum PredictorCommand {
    /// Learning curves of accuracy (or latency) predictors on the benchmark table: mean ± std
    /// of Kendall tau, Spearman, Pearson, RMSE and top-1% precision per model and
    /// training size, measured on all other architectures; plots Kendall tau
    /// against the training size.
    Eval {
        /// Search space (its benchmark table is used).
        #[arg(long, default_value = "nb201")]
        space: String,
        /// Target: cifar10, cifar100, imagenet16_120 (accuracy), a device such as fpga (its latency in ms), or a table column.
        #[arg(long, default_value = "cifar10")]
        target: String,
        /// Comma-separated training sizes.
        #[arg(long, value_delimiter = ',', default_value = "20,50,100,200")]
        train_sizes: Vec<usize>,
        /// Seeds (random training splits) per size.
        #[arg(long, default_value_t = 10)]
        seeds: u64,
        /// Comma-separated models.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "ridge,random_forest,gradient_boosting,gaussian_process,mlp,mlp_ensemble"
        )]
        models: Vec<String>,
        /// Encoding: one_hot, adjacency_ops, path, path_stats or none (free features only).
        #[arg(long, default_value = "path_stats")]
        encoding: String,
        /// Comma-separated free features (params, flops, layers); empty for none.
        #[arg(long, value_delimiter = ',', default_value = "params,flops")]
        free: Vec<String>,
        /// FBNetV3-style pretraining: also report `mlp_pretrained`, pretrained on
        /// the free features of this many unlabelled architectures (0 = off).
        #[arg(long, default_value_t = 0)]
        pretrain: usize,
        /// Comma-separated table columns appended as features, e.g. `fpga_ms`
        /// (what `features.cheap` gives a guided search).
        #[arg(long, value_delimiter = ',')]
        table_features: Vec<String>,
        /// A CSV with an `arch` column whose other columns `--table-features`
        /// may name (e.g. the `zero_cost.csv` of `predictor zero-cost`); only the
        /// architectures it holds are used.
        #[arg(long)]
        join: Option<PathBuf>,
        /// Output folder (eval.json, kendall_tau.svg/png).
        #[arg(long, default_value = "runs/predictor-eval")]
        out: PathBuf,
    },
    /// Zero-cost proxies (synflow, naswot, grad_norm) of a sample of NB201 cells at
    /// initialisation, and their Kendall tau and Spearman rho with the
    /// benchmark's accuracy next to the published values; writes
    /// zero_cost.csv (usable with `predictor eval --join`) and zero_cost.json.
    ZeroCost {
        /// Cells scored (a seeded sample of the 15,625).
        #[arg(long, default_value_t = 1000)]
        cells: usize,
        /// Accuracy correlated with: cifar10, cifar100, imagenet16_120 or a table column.
        #[arg(long, default_value = "cifar10")]
        target: String,
        /// Comma-separated proxies: synflow, naswot, grad_norm.
        #[arg(long, value_delimiter = ',', default_value = "synflow,naswot,grad_norm")]
        proxies: Vec<String>,
        /// Images in the scored batch (standard normal pixels, 3x32x32).
        #[arg(long, default_value_t = 64)]
        batch_size: usize,
        /// Channels of the first stage (the benchmark's networks: 16).
        #[arg(long, default_value_t = 16)]
        channels: usize,
        /// Cells per stage (the benchmark's networks: 5).
        #[arg(long, default_value_t = 5)]
        cells_per_stage: usize,
        /// Seed of the sample, the images and the weights.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output folder (zero_cost.csv, zero_cost.json).
        #[arg(long, default_value = "runs/zero-cost")]
        out: PathBuf,
    },
    /// Few-shot latency transfer: predict a device's latency of every architecture
    /// from the full tables of other devices and K measured architectures; reports
    /// Kendall tau on the target device. With `--measured` (your own device's
    /// measurements), writes its predicted latency table instead.
    Transfer {
        /// Comma-separated source devices (default: every device but the target;
        /// with `--measured`, every device of the table).
        #[arg(long, value_delimiter = ',')]
        from: Vec<String>,
        /// Comma-separated target devices, or `all` (each device from the others).
        #[arg(long, value_delimiter = ',', default_value = "all")]
        to: Vec<String>,
        /// Measured architectures on the target.
        #[arg(long, default_value_t = 20)]
        shots: usize,
        /// Seeds (random shot sets).
        #[arg(long, default_value_t = 10)]
        seeds: u64,
        /// A device of your own: CSV of cells measured on it (`arch` in NB201
        /// notation and one latency column, `latency_ms` or `<device>_ms`). The
        /// transfer is fitted on them and predicts every cell into `--write`.
        #[arg(long, requires = "write", conflicts_with_all = ["to", "shots", "seeds", "out"])]
        measured: Option<PathBuf>,
        /// With `--measured`: the latency table to write (`arch,<name>_ms`; gzip
        /// when it ends in `.gz`), for a config's `kind = "table"` evaluator.
        #[arg(long, requires = "measured")]
        write: Option<PathBuf>,
        /// With `--measured`: the device name of the written column (letters,
        /// digits, `_`, `-`; default: the measured column's name without `_ms`,
        /// or `target` for `latency_ms`).
        #[arg(long, requires = "measured")]
        name: Option<String>,
        /// Regression scale: `linear` (ms) or `log`.
        #[arg(long, default_value = "linear")]
        scale: String,
        /// Architecture features next to the source latencies: `hist` (op
        /// histogram), `onehot` (op per edge) or `none`.
        #[arg(long, default_value = "hist")]
        arch_features: String,
        /// Comma-separated candidate groupings for denoising the source latencies
        /// (each replaced by its mean over architectures of the same group; the
        /// shots' marginal likelihood picks one per fit): `raw` (none), `hist` (op
        /// histogram), `live` (op histogram and histogram of the ops that reach the
        /// output).
        #[arg(long, value_delimiter = ',', default_value = "hist,live")]
        denoise: Vec<String>,
        /// Output folder (transfer.json).
        #[arg(long, default_value = "runs/predictor-transfer")]
        out: PathBuf,
    },
    /// Fits an accuracy or latency predictor on (a split of) the benchmark table,
    /// or on a run's trials (`--run`), and saves it as versioned JSON (format in the
    /// predictors crate's `store` docs), for `predict` or a config's `kind =
    /// "predictor"` evaluator; prints its Kendall tau on the other architectures.
    Fit {
        /// Search space (its benchmark table is used).
        #[arg(long, default_value = "nb201")]
        space: String,
        /// Target: cifar10, cifar100, imagenet16_120 (accuracy), a device such as fpga (its latency in ms), or a table column.
        #[arg(long, default_value = "cifar10")]
        target: String,
        /// Model: ridge, random_forest, gradient_boosting, gaussian_process, mlp
        /// or mlp_ensemble.
        #[arg(long, default_value = "gradient_boosting")]
        model: String,
        /// Encoding: one_hot, adjacency_ops, path, path_stats or none (free features only).
        #[arg(long, default_value = "path_stats")]
        encoding: String,
        /// Comma-separated free features (params, flops, layers); empty for none.
        #[arg(long, value_delimiter = ',', default_value = "params,flops")]
        free: Vec<String>,
        /// Training architectures drawn from the table or run (0 = all).
        #[arg(long, default_value_t = 100)]
        train_size: usize,
        /// Seed of the split and the fit.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file.
        #[arg(long, default_value = "runs/predictor.json")]
        out: PathBuf,
        /// Fit on the successful trials of this run directory (any space; the run's
        /// config gives the space), `--target` naming a metric it recorded, e.g.
        /// `latency_ms` measured on this machine.
        #[arg(long)]
        run: Option<PathBuf>,
    },
    /// Loads a saved predictor and predicts architectures (in its space's
    /// notation); `--table` also scores an NB201 predictor against the table.
    Predict {
        /// The file written by `hwnas predictor fit`.
        model: PathBuf,
        /// Architectures to predict.
        archs: Vec<String>,
        /// Also report Kendall tau against the table over every architecture.
        #[arg(long)]
        table: bool,
        /// The space of a predictor not fitted on NB201: an experiment config or a
        /// run directory using that space.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn parse_free(free: &[String]) -> Result<Vec<predictors::FreeFeature>> {
    free.iter()
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            predictors::FreeFeature::from_name(f).with_context(|| {
                format!("--free: unknown feature `{f}`; allowed: {}", predictors::FreeFeature::names())
            })
        })
        .collect()
}

fn predictor(command: PredictorCommand, registry: &Registry) -> Result<()> {
    use crate::predictor_cmd::{EvalOptions, TransferDenoise, TransferFeatures, TransferOptions, eval, transfer_with};
    match command {
        PredictorCommand::Eval {
            space,
            target,
            train_sizes,
            seeds,
            models,
            encoding,
            free,
            pretrain,
            table_features,
            join,
            out,
        } => {
            let free = parse_free(&free)?;
            let encoding = encoding.parse()?;
            let opts = EvalOptions {
                space,
                target,
                train_sizes,
                seeds,
                models,
                encoding,
                free,
                out: out.clone(),
                png: true,
                pretrain,
                table_features,
                join,
            };
            print!("{}", eval(&opts)?);
            println!("wrote {0}/eval.json and {0}/kendall_tau.svg", out.display());
        }
        PredictorCommand::ZeroCost { cells, target, proxies, batch_size, channels, cells_per_stage, seed, out } => {
            let proxies = proxies
                .iter()
                .map(|p| {
                    nas_core::train::zero_cost::Proxy::from_name(p.trim()).with_context(|| {
                        format!("--proxies: `{p}` is unknown; allowed: {}", nas_core::train::zero_cost::Proxy::names())
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let opts = crate::zero_cost_cmd::ZeroCostOptions {
                cells,
                target,
                proxies,
                batch_size,
                channels,
                cells_per_stage,
                seed,
                out: out.clone(),
            };
            print!("{}", crate::zero_cost_cmd::zero_cost(&opts)?);
            println!("wrote {0}/zero_cost.csv and {0}/zero_cost.json", out.display());
        }
        PredictorCommand::Transfer {
            from,
            to,
            shots,
            seeds,
            measured,
            write,
            name,
            scale,
            arch_features,
            denoise,
            out,
        } => {
            let scale =
                predictors::transfer::TransferScale::from_name(&scale).with_context(|| format!("--scale {scale}"))?;
            let features = TransferFeatures::from_name(&arch_features)?;
            let denoise = denoise
                .iter()
                .filter(|d| !d.is_empty())
                .map(|d| TransferDenoise::from_name(d))
                .collect::<Result<Vec<_>>>()?;
            if let (Some(measured), Some(write)) = (measured, write) {
                let opts =
                    crate::transfer_apply::ApplyOptions { from, measured, write, name, scale, features, denoise };
                print!("{}", crate::transfer_apply::transfer_measured(&opts)?);
                return Ok(());
            }
            let opts = TransferOptions { from, to, shots, seeds, scale, features, denoise, out: out.clone() };
            print!("{}", transfer_with(&opts)?);
            println!("wrote {}/transfer.json", out.display());
        }
        PredictorCommand::Fit { space, target, model, encoding, free, train_size, seed, out, run } => {
            let opts = crate::predictor_store_cmd::FitOptions {
                space,
                target,
                model,
                encoding: encoding.parse()?,
                free: parse_free(&free)?,
                train_size,
                seed,
                out,
                run,
            };
            println!("{}", crate::predictor_store_cmd::fit(&opts, registry)?);
        }
        PredictorCommand::Predict { model, archs, table, config } => {
            print!("{}", crate::predictor_store_cmd::predict(&model, &archs, table, config.as_deref(), registry)?);
        }
    }
    Ok(())
}

/// When the reader of stdout goes away (`hwnas list | head`), `println!` panics
/// with a broken pipe; exit quietly instead, as a command killed by SIGPIPE would
/// (without the `unsafe` that resetting the signal handler needs).
fn exit_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Entry point used by `main`: maps errors to exit codes.
pub fn main() -> ExitCode {
    exit_quietly_on_closed_stdout();
    latency_lut::measure::set_program_allocator(crate::hardware::HWNAS_ALLOCATOR);
    let cli = Cli::parse();
    match run_with(&crate::registry::builtin(), cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The trial-log mode of `--strict`.
fn log_mode(strict: bool) -> LogMode {
    if strict { LogMode::Strict } else { LogMode::Recover }
}
