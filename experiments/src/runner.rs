//! Running, resuming and re-reporting experiments.

use crate::config::ExperimentConfig;
use crate::hv::HvScale;
use crate::observers::Progress;
use crate::report::write_reports;
use crate::rundir::{LogMode, RunDir, RunMeta, read_meta, recover_trials, unix_now};
use crate::rundir_store::RunDirStore;
use crate::setup::{Build, Setup};
use anyhow::{Context, Result, bail};
use nas_core::{Evaluator, FidelitySearch, Registry, Search, SearchConfig, SearchSpace, Trial};
use std::path::{Path, PathBuf};

/// Options of one invocation.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// No progress output.
    pub quiet: bool,
    /// How `resume` treats damaged lines of the trial log.
    pub log_mode: LogMode,
    /// Run the study in a shared trial store (workers may join).
    pub storage: Option<StoreRun>,
}

/// A run whose trials go through a shared trial store.
#[derive(Clone)]
pub struct StoreRun {
    /// The study.
    pub handle: crate::study::StudyHandle,
    /// Whether this process evaluates trials too (else only workers do).
    pub local: bool,
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
pub fn run_new(cfg: &ExperimentConfig, dir: &Path, registry: &Registry, opts: &RunOptions) -> Result<RunSummary> {
    RunDir::check_new(dir)?;
    let meta = RunMeta::new(&cfg.name, cfg.seed, cfg.budget, 0);
    let open = || -> Result<RunDir> {
        let rd = RunDir::create(dir, &cfg.to_toml())?;
        rd.write_meta(&meta)?;
        if !opts.quiet {
            println!("run directory: {}", dir.display());
        }
        Ok(rd)
    };
    execute(cfg, registry, dir, &open, Vec::new(), meta.clone(), opts)
}

/// Resumes (or re-finishes) the run in `dir` from its recorded trials.
pub fn resume(dir: &Path, registry: &Registry, opts: &RunOptions) -> Result<RunSummary> {
    let cfg = run_config(dir, registry)?;
    let log = recover_trials(dir, opts.log_mode)?;
    if let Some(m) = log.message(dir) {
        eprintln!("warning: {m}");
    }
    let trials = log.trials;
    let meta = read_meta(dir).unwrap_or_else(|_| RunMeta::new(&cfg.name, cfg.seed, cfg.budget, trials.len()));
    execute(&cfg, registry, dir, &|| RunDir::open(dir), trials, meta, opts)
}

/// The resolved config of a run directory.
pub fn run_config(dir: &Path, registry: &Registry) -> Result<ExperimentConfig> {
    let cfg_path = dir.join("config.toml");
    if !cfg_path.exists() {
        bail!("{} is not a run directory (no config.toml)", dir.display());
    }
    Ok(ExperimentConfig::load_with(&cfg_path, registry)?)
}

/// Runs `cfg`; `open` gives the run directory once everything is set up.
fn execute(
    cfg: &ExperimentConfig,
    registry: &Registry,
    dir: &Path,
    open: &(dyn Fn() -> Result<RunDir> + Sync),
    prior: Vec<Trial>,
    meta: RunMeta,
    opts: &RunOptions,
) -> Result<RunSummary> {
    let go = || execute_in(cfg, registry, dir, open, &prior, meta.clone(), opts);
    if cfg.threads > 0 {
        let pool =
            rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).build().context("building the thread pool")?;
        pool.install(go)
    } else {
        go()
    }
}

#[allow(clippy::too_many_arguments)]
fn execute_in(
    cfg: &ExperimentConfig,
    registry: &Registry,
    dir: &Path,
    open: &(dyn Fn() -> Result<RunDir> + Sync),
    prior: &[Trial],
    mut meta: RunMeta,
    opts: &RunOptions,
) -> Result<RunSummary> {
    let setup = Setup::new(cfg, registry, Build::All)?;
    for w in &setup.evals.warnings {
        eprintln!("warning: {w}");
    }
    let problem = setup.problem.clone();
    let scale = setup.evals.true_front.as_deref().and_then(HvScale::from_true_front);
    let mut strategy = setup.strategy(registry, Some(dir), opts.quiet, cfg.budget)?;
    if let Some(s) = &cfg.scheduler {
        s.check_support(&setup.evals.evaluator.fidelity(), &setup.evals.evaluator.name())
            .context("the [scheduler] section")?;
    }
    // Told trials go to the run directory through its trial store (the JSONL
    // backend); with --storage, to the shared store as well.
    let local_log = std::sync::Arc::new(RunDirStore::over(open()?));
    let root = local_log.root().to_path_buf();
    let local_study =
        local_log.this_study()?.ok_or_else(|| anyhow::anyhow!("{} lost its config.toml", root.display()))?;
    let writer = crate::study::StoreRecorder::new(crate::study::StudyHandle {
        store: local_log.clone(),
        study: local_study,
        lease: std::time::Duration::from_secs(60),
    });
    let search_cfg = SearchConfig { budget: cfg.budget, batch_size: cfg.batch_size, seed: cfg.seed, max_idle_asks: 50 };
    let mut progress = Progress::new(cfg.budget, problem.clone(), scale.clone(), opts.quiet);
    if cfg.scheduler.is_some() {
        progress = progress.in_epochs();
    }
    let store_eval;
    let recorder = opts.storage.as_ref().map(|s| crate::study::StoreRecorder::new(s.handle.clone()));
    let evaluator: &dyn Evaluator<nas_core::AnyArch> = match &opts.storage {
        Some(s) => {
            if cfg.scheduler.is_some() {
                bail!("a multi-fidelity [scheduler] cannot run in a trial store yet; drop --storage or the scheduler");
            }
            store_eval = crate::study::StoreEvaluator::new(
                s.handle.clone(),
                setup.space.clone(),
                setup.evals.evaluator.clone(),
                s.local,
            );
            &store_eval
        }
        None => setup.evals.evaluator.as_ref(),
    };
    let outcome = match &cfg.scheduler {
        None => {
            let mut search = Search::new(&setup.space, evaluator, &problem, search_cfg)
                .keep_weights(root.join(crate::kept_weights::TRAINED_DIR))
                .observe(&writer)
                .observe(&progress);
            if let Some(r) = &recorder {
                search = search.observe(r);
            }
            search.resume_from(prior.iter().cloned()).run(strategy.as_mut())?
        }
        Some(s) => FidelitySearch::new(&setup.space, evaluator, &problem, search_cfg, s.clone())
            .observe(&writer)
            .observe(&progress)
            .resume_from(prior.iter().cloned())
            .run(strategy.as_mut())?,
    };
    if let Some(e) = writer.take_error() {
        return Err(e.context("the trial log could not be written; the run is incomplete"));
    }
    if let Some(e) = recorder.as_ref().and_then(crate::study::StoreRecorder::take_error) {
        return Err(e.context("the trial store could not be written; the study is incomplete"));
    }
    if let Some(s) = &opts.storage {
        s.handle.store.set_status(s.handle.study.id, trial_store::StudyStatus::Finished)?;
    }
    write_reports(&root, setup.space.name(), &problem, &outcome.trials, scale.as_ref(), cfg.output.png)?;
    // The trained weights of the front stay for export; the others go.
    crate::kept_weights::prune_trained(&root, &crate::kept_weights::front_ids(&problem, &outcome.trials))
        .context("pruning trained/ to the front")?;
    crate::codesign_report::write_codesign_report(&root, cfg, &setup.space, &outcome.trials)
        .context("writing the co-design report")?;
    crate::html_report::write_run_report(&root, cfg, &setup.space, &problem, &outcome.trials, scale.as_ref())
        .context("writing report.html")?;
    meta.status = "finished".into();
    meta.trials = outcome.trials.len();
    meta.stop_reason = Some(format!("{:?}", outcome.reason).to_lowercase());
    meta.finished_unix = Some(unix_now());
    crate::rundir::write_meta(&root, &meta)?;
    if cfg.output.verify {
        // `[output] verify = true`: re-measure the front the table or model chose.
        crate::hardware::verify_front_of(&root, cfg, &setup, &outcome.trials, opts.quiet)?;
    }
    let pts: Vec<Vec<f64>> =
        crate::hv::feasible_points(&problem, &outcome.trials).into_iter().map(|(_, v)| v).collect();
    let hv_scale = scale.clone().or_else(|| HvScale::from_points(&pts));
    Ok(RunSummary {
        dir: root.clone(),
        hypervolume: hv_scale.as_ref().map(|s| s.value(&pts)),
        is_ratio: scale.is_some(),
        trials: outcome.trials,
    })
}

/// Re-draws the plots and `pareto.json` of a run from its records; damaged
/// lines of the trial log are treated as `mode` says.
pub fn replot(dir: &Path, registry: &Registry, mode: LogMode) -> Result<()> {
    let cfg = run_config(dir, registry)?;
    let log = recover_trials(dir, mode)?;
    if let Some(m) = log.message(dir) {
        eprintln!("warning: {m}");
    }
    let trials = log.trials;
    if trials.is_empty() {
        bail!("{} has no trials yet", dir.display());
    }
    // Re-plotting needs the tables only (for the true front), never training; a
    // latency table or predictor file that moved must not stop it.
    let setup = Setup::new(&cfg, registry, Build::ReportsOnly { with_data: false })?;
    let scale = setup.evals.true_front.as_deref().and_then(HvScale::from_true_front);
    write_reports(dir, setup.space.name(), &cfg.problem(), &trials, scale.as_ref(), cfg.output.png)?;
    crate::codesign_report::write_codesign_report(dir, &cfg, &setup.space, &trials)
        .context("writing the co-design report")?;
    crate::html_report::write_run_report(dir, &cfg, &setup.space, &cfg.problem(), &trials, scale.as_ref())
        .context("writing report.html")
}

/// Writes one `report.html` for several run directories side by side (read
/// only: a damaged trial log is refused, naming the line).
pub fn report_runs(dirs: &[PathBuf], out: &Path, registry: &Registry) -> Result<()> {
    use nas_core::SearchSpace;
    if dirs.is_empty() {
        bail!("give one or more run directories");
    }
    let mut runs = Vec::new();
    let mut names = Vec::new();
    for dir in dirs {
        let cfg = run_config(dir, registry)?;
        let trials = recover_trials(dir, LogMode::Strict)?.trials;
        let setup = Setup::new(&cfg, registry, Build::ReportsOnly { with_data: false })?;
        let scale = setup.evals.true_front.as_deref().and_then(HvScale::from_true_front);
        let abs = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        let href = abs.display().to_string();
        runs.push(crate::html_report::run_data(
            &abs,
            &href,
            &cfg,
            setup.space.name(),
            setup.space.settings(),
            &cfg.problem(),
            &trials,
            scale.as_ref(),
        ));
        names.push(cfg.name.clone());
    }
    let page = crate::html_report::render(&format!("hwnas runs: {}", names.join(", ")), &runs);
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    crate::rundir::write_atomic(out, page.as_bytes())?;
    Ok(())
}
