//! The `hwnas` command line (clap).

use crate::compare::{compare, default_budgets, format_table};
use crate::config::{DEFAULT_CONFIG, ExperimentConfig, STRATEGIES, StrategyConfig};
use crate::runner::{RunOptions, default_run_dir, replot, resume, run_new};
use crate::setup::{builtin_nb201_table, resolve_paths};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
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
        /// Override the strategy (default settings of that strategy).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(STRATEGIES))]
        strategy: Option<String>,
        /// Run directory (default: runs/<name>-s<seed>-<time>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Finish an interrupted run without losing or repeating finished trials.
    Resume {
        /// The run directory.
        run_dir: PathBuf,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Redraw the plots and pareto.json of a run.
    Plot {
        /// The run directory.
        run_dir: PathBuf,
    },
    /// Rewrite export/ (the front's architectures as JSON) of a run.
    Export {
        /// The run directory.
        run_dir: PathBuf,
    },
    /// Compare strategies over several seeds (mean ± std of the HV ratio).
    Compare {
        /// Experiment config (TOML).
        config: PathBuf,
        /// Comma-separated strategies.
        #[arg(long, default_value = "random,evolution,nsga2", value_delimiter = ',')]
        strategies: Vec<String>,
        /// Seeds per strategy.
        #[arg(long, default_value_t = 10)]
        seeds: usize,
        /// Override the budget.
        #[arg(long)]
        budget: Option<usize>,
        /// Budgets to report (default: quarter, half, full, and 100/200/400 inside it).
        #[arg(long, value_delimiter = ',')]
        at: Option<Vec<usize>>,
        /// Output folder for compare.json and the plot.
        #[arg(long, default_value = "runs/compare")]
        out: PathBuf,
    },
    /// List spaces, strategies, evaluators, datasets, metrics and devices.
    List,
    /// Measure training throughput of the burn CPU backends.
    Bench {
        /// Timed steps per backend.
        #[arg(long, default_value_t = 20)]
        steps: usize,
    },
}

fn load_config(path: Option<&Path>) -> Result<(ExperimentConfig, PathBuf)> {
    match path {
        Some(p) => {
            let cfg = ExperimentConfig::load(p)?;
            let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
            let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
            Ok((cfg, base))
        }
        None => Ok((ExperimentConfig::from_toml(DEFAULT_CONFIG, "<built-in default>")?, PathBuf::from("."))),
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run { config, seed, budget, strategy, out, quiet } => {
            let (mut cfg, base) = load_config(config.as_deref())?;
            if let Some(s) = seed {
                cfg.seed = s;
            }
            if let Some(b) = budget {
                if b == 0 {
                    bail!("--budget must be >= 1");
                }
                cfg.budget = b;
            }
            if let Some(s) = strategy {
                if cfg.strategy.name() != s {
                    cfg.strategy = StrategyConfig::by_name(&s).context("unknown strategy")?;
                }
            }
            resolve_paths(&mut cfg, &base.canonicalize().unwrap_or(base.clone()));
            let dir = out.unwrap_or_else(|| default_run_dir(&cfg));
            println!("run directory: {}", dir.display());
            let s = run_new(&cfg, &dir, &RunOptions { quiet })?;
            summary(&s);
        }
        Command::Resume { run_dir, quiet } => {
            let s = resume(&run_dir, &RunOptions { quiet })?;
            summary(&s);
        }
        Command::Plot { run_dir } | Command::Export { run_dir } => {
            replot(&run_dir)?;
            println!("wrote pareto.json, pareto.svg, pareto.png, hypervolume.svg and export/ in {}", run_dir.display());
        }
        Command::Compare { config, strategies, seeds, budget, at, out } => {
            let (mut cfg, base) = load_config(Some(&config))?;
            if let Some(b) = budget {
                cfg.budget = b;
            }
            resolve_paths(&mut cfg, &base.canonicalize().unwrap_or(base.clone()));
            let budgets = at.unwrap_or_else(|| default_budgets(cfg.budget));
            let cmp = compare(&cfg, &strategies, seeds, &budgets, &out)?;
            print!("{}", format_table(&cmp));
            println!("wrote {0}/compare.json and {0}/compare.svg", out.display());
        }
        Command::List => list()?,
        Command::Bench { steps } => bench(steps)?,
    }
    Ok(())
}

fn summary(s: &crate::runner::RunSummary) {
    let failed = s.trials.iter().filter(|t| !t.is_ok()).count();
    println!("{} trials ({} failed) in {}", s.trials.len(), failed, s.dir.display());
    if let Some(hv) = s.hypervolume {
        println!("{}: {hv:.4}", if s.is_ratio { "HV ratio" } else { "normalised HV" });
    }
    println!("Pareto plot: {}", s.dir.join("pareto.png").display());
}

fn list() -> Result<()> {
    println!("spaces:      nb201 (NAS-Bench-201 cells, 15,625), darts (DARTS normal + reduction cells)");
    println!("strategies:  {}", STRATEGIES.join(", "));
    println!("evaluators:  table (benchmark CSV), train (burn training), analytical (params/FLOPs/MACs/BitOps/memory)");
    println!("datasets:    {}", crate::config::DATASETS.join(", "));
    println!("metrics:     {}", nas_core::Metric::all_names());
    println!("backends:    {}", nas_core::train::Backend::ALL.iter().map(|b| b.name()).collect::<Vec<_>>().join(", "));
    let space = search_spaces::nb201::Nb201Space::new(Default::default())?;
    let table = nas_core::MetricTable::load(builtin_nb201_table(), &space)
        .with_context(|| format!("reading {}", builtin_nb201_table().display()))?;
    println!("devices (builtin:nb201 table): {}", table.devices().join(", "));
    println!("accuracy columns (builtin:nb201 table): {}", table.accuracy_columns().join(", "));
    Ok(())
}

fn bench(steps: usize) -> Result<()> {
    use nas_core::train::{Backend, ThroughputConfig, measure_throughput};
    for b in Backend::ALL {
        let cfg = ThroughputConfig { steps, ..Default::default() };
        let t = measure_throughput(b, &cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("{:<8} {t}", b.name());
    }
    Ok(())
}

/// Entry point used by `main`: maps errors to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
