//! Running, resuming and re-reporting experiments.

use crate::config::ExperimentConfig;
use crate::hv::HvScale;
use crate::observers::{Progress, TrialLogWriter};
use crate::report::write_reports;
use crate::rundir::{RunDir, RunMeta, read_meta, read_trials, repair_log, unix_now};
use crate::setup::{RunnableSpace, build_evaluators, build_strategy, load_data};
use anyhow::{Context, Result, bail};
use nas_core::{Search, SearchConfig, SearchSpace, Trial};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Options of one invocation.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// No progress output.
    pub quiet: bool,
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// The run directory.
    pub dir: PathBuf,
    /// All trials.
    pub trials: Vec<Trial>,
    /// HV ratio (or normalised HV) of the final front.
    pub hypervolume: Option<f64>,
    /// Whether `hypervolume` is a ratio to the true front.
    pub is_ratio: bool,
}

/// The default run directory: `<runs_dir>/<name>-s<seed>-<unix time>`.
pub fn default_run_dir(cfg: &ExperimentConfig) -> PathBuf {
    cfg.output.runs_dir.join(format!("{}-s{}-{}", cfg.name, cfg.seed, unix_now()))
}

/// Starts a new run of `cfg` (paths already resolved) in `dir`. The directory is
/// created only once the dataset, the evaluators and the strategy are built, so a
/// config that fails there leaves nothing behind.
pub fn run_new(cfg: &ExperimentConfig, dir: &Path, opts: &RunOptions) -> Result<RunSummary> {
    RunDir::check_new(dir)?;
    let meta = RunMeta {
        hwnas_version: env!("CARGO_PKG_VERSION").into(),
        name: cfg.name.clone(),
        seed: cfg.seed,
        status: "running".into(),
        trials: 0,
        budget: cfg.budget,
        stop_reason: None,
        started_unix: unix_now(),
        finished_unix: None,
    };
    let open = || -> Result<RunDir> {
        let rd = RunDir::create(dir, &cfg.to_toml())?;
        rd.write_meta(&meta)?;
        if !opts.quiet {
            println!("run directory: {}", dir.display());
        }
        Ok(rd)
    };
    execute(cfg, &open, Vec::new(), meta.clone(), opts)
}

/// Resumes (or re-finishes) the run in `dir` from its recorded trials.
pub fn resume(dir: &Path, opts: &RunOptions) -> Result<RunSummary> {
    let cfg_path = dir.join("config.toml");
    if !cfg_path.exists() {
        bail!("{} is not a run directory (no config.toml)", dir.display());
    }
    let cfg = ExperimentConfig::load(&cfg_path)?;
    let trials = read_trials(dir)?;
    repair_log(dir, &trials)?;
    let meta = read_meta(dir).unwrap_or_else(|_| RunMeta {
        hwnas_version: env!("CARGO_PKG_VERSION").into(),
        name: cfg.name.clone(),
        seed: cfg.seed,
        status: "running".into(),
        trials: trials.len(),
        budget: cfg.budget,
        stop_reason: None,
        started_unix: unix_now(),
        finished_unix: None,
    });
    execute(&cfg, &|| RunDir::open(dir), trials, meta, opts)
}

/// Runs `cfg`; `open` gives the run directory once everything is set up.
fn execute(
    cfg: &ExperimentConfig,
    open: &(dyn Fn() -> Result<RunDir> + Sync),
    prior: Vec<Trial>,
    meta: RunMeta,
    opts: &RunOptions,
) -> Result<RunSummary> {
    let data = load_data(cfg).context("loading the dataset")?;
    let go = || -> Result<RunSummary> {
        crate::with_space!(cfg, data.as_ref(), |space| execute_in(
            cfg,
            space,
            data.as_ref(),
            open,
            &prior,
            meta.clone(),
            opts
        ))
    };
    if cfg.threads > 0 {
        let pool =
            rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).build().context("building the thread pool")?;
        pool.install(go)
    } else {
        go()
    }
}

fn execute_in<S: RunnableSpace>(
    cfg: &ExperimentConfig,
    space: Arc<S>,
    data: Option<&crate::setup::DataSplit>,
    open: &(dyn Fn() -> Result<RunDir> + Sync),
    prior: &[Trial],
    mut meta: RunMeta,
    opts: &RunOptions,
) -> Result<RunSummary> {
    let evals = build_evaluators(cfg, &space, data)?;
    let problem = cfg.problem();
    let scale = evals.true_front.as_deref().and_then(HvScale::from_true_front);
    let mut strategy = build_strategy::<S>(&cfg.strategy, &evals, &problem);
    let rd = &open()?;
    let search_cfg = SearchConfig { budget: cfg.budget, batch_size: cfg.batch_size, seed: cfg.seed, max_idle_asks: 50 };
    let writer = TrialLogWriter::new(rd);
    let progress = Progress::new(cfg.budget, problem.clone(), scale.clone(), opts.quiet);
    let outcome = Search::new(space.as_ref(), evals.evaluator.as_ref(), &problem, search_cfg)
        .observe(&writer)
        .observe(&progress)
        .resume_from(prior.iter().cloned())
        .run(strategy.as_mut())?;
    if let Some(e) = writer.take_error() {
        return Err(e.context("the trial log could not be written; the run is incomplete"));
    }
    write_reports(rd.root(), space.name(), &problem, &outcome.trials, scale.as_ref(), cfg.output.png)?;
    meta.status = "finished".into();
    meta.trials = outcome.trials.len();
    meta.stop_reason = Some(format!("{:?}", outcome.reason).to_lowercase());
    meta.finished_unix = Some(unix_now());
    rd.write_meta(&meta)?;
    if cfg.output.verify {
        // `[output] verify = true`: re-measure the front the table or model chose.
        crate::hardware::verify_front(rd.root(), cfg, space.as_ref(), &problem, &outcome.trials, opts.quiet)?;
    }
    let pts: Vec<Vec<f64>> =
        crate::hv::feasible_points(&problem, &outcome.trials).into_iter().map(|(_, v)| v).collect();
    let hv_scale = scale.clone().or_else(|| HvScale::from_points(&pts));
    Ok(RunSummary {
        dir: rd.root().to_path_buf(),
        hypervolume: hv_scale.as_ref().map(|s| s.value(&pts)),
        is_ratio: scale.is_some(),
        trials: outcome.trials,
    })
}

/// Re-draws the plots and `pareto.json` of a run from its records.
pub fn replot(dir: &Path) -> Result<()> {
    let cfg = ExperimentConfig::load(&dir.join("config.toml"))?;
    let trials = read_trials(dir)?;
    if trials.is_empty() {
        bail!("{} has no trials yet", dir.display());
    }
    // Re-plotting needs the tables only (for the true front), never training.
    let tables_only = cfg_without_training(&cfg);
    let data = load_data(&cfg)?;
    crate::with_space!(cfg, data.as_ref(), |space| {
        let evals = build_evaluators(&tables_only, &space, None)?;
        let scale = evals.true_front.as_deref().and_then(HvScale::from_true_front);
        write_reports(dir, space.name(), &cfg.problem(), &trials, scale.as_ref(), cfg.output.png)
    })
}

/// The config with training, measuring and predictor evaluators removed
/// (re-plotting needs only tables; a latency table or predictor file that moved
/// must not stop it).
fn cfg_without_training(cfg: &ExperimentConfig) -> ExperimentConfig {
    use crate::config::EvaluatorConfig;
    let mut c = cfg.clone();
    c.evaluators.retain(|e| {
        !matches!(
            e,
            EvaluatorConfig::Train { .. }
                | EvaluatorConfig::Lut { .. }
                | EvaluatorConfig::Measured { .. }
                | EvaluatorConfig::Predictor { .. }
        )
    });
    c
}
