//! The commands of studies in a trial store: `hwnas run --storage`, `hwnas
//! resume --storage`, `hwnas study export | import | list`. The run directory
//! stays the user-facing output: the driver writes it as a plain run does, and
//! `study export` rebuilds it from the store alone.

use crate::config::ExperimentConfig;
use crate::rundir::{RunDir, RunMeta, read_meta, unix_now, write_atomic};
use crate::rundir_store::RunDirStore;
use crate::runner::{RunOptions, RunSummary, StoreRun, default_run_dir, replot};
use crate::study::{StudyHandle, study_trials, worker_name};
use anyhow::{Context, Result, anyhow, bail};
use nas_core::Registry;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use trial_store::{NewStudy, Study, StudyStatus, TrialStore};

/// Where a study runs and how this process takes part.
#[derive(Clone)]
pub struct StudyTarget {
    /// The store.
    pub store: Arc<dyn TrialStore>,
    /// The study name.
    pub study: String,
    /// Lease of a claim.
    pub lease: Duration,
    /// Whether the driver evaluates trials too.
    pub local: bool,
}

fn provenance(dir: &Path) -> serde_json::Value {
    let meta = RunMeta::new("", 0, 0, 0);
    serde_json::json!({
        "hwnas_version": env!("CARGO_PKG_VERSION"),
        "git_commit": meta.git_commit,
        "device": meta.device,
        "driver": worker_name(),
        "run_dir": dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
    })
}

/// `hwnas run CONFIG --storage URL --study NAME`: creates the study and drives
/// it, writing the run directory `dir` as a plain run does.
pub fn run_in_store(
    cfg: &ExperimentConfig,
    dir: &Path,
    registry: &Registry,
    target: &StudyTarget,
    quiet: bool,
) -> Result<RunSummary> {
    trial_store::validate_study_name(&target.study)?;
    if cfg.scheduler.is_some() {
        bail!(
            "a multi-fidelity [scheduler] cannot run as a study in a trial store yet (workers evaluate whole \
             trials); drop --storage/--study to run it in one process, or remove the [scheduler] section"
        );
    }
    if target.store.study(&target.study)?.is_some() {
        bail!(
            "study `{}` exists already in {}; continue it with `hwnas resume --storage URL --study {}` or choose another name",
            target.study,
            target.store.location(),
            target.study
        );
    }
    RunDir::check_new(dir)?;
    let study = target.store.create_study(&NewStudy {
        name: target.study.clone(),
        config: cfg.to_toml(),
        seed: cfg.seed,
        provenance: provenance(dir),
    })?;
    if !quiet {
        println!(
            "study `{}` in {} (workers: hwnas worker --storage URL --study {})",
            study.name,
            target.store.location(),
            study.name
        );
    }
    let handle = StudyHandle { store: target.store.clone(), study, lease: target.lease };
    let opts = RunOptions { quiet, storage: Some(StoreRun { handle, local: target.local }), ..Default::default() };
    crate::runner::run_new(cfg, dir, registry, &opts)
}

/// `hwnas resume --storage URL --study NAME [--out DIR]`: continues a study
/// whose driver died, replaying the trials the store recorded; the run
/// directory (`out`, else the one the study was started with, else a new one)
/// is brought in line with the store first.
pub fn resume_in_store(
    out: Option<&Path>,
    registry: &Registry,
    target: &StudyTarget,
    quiet: bool,
) -> Result<RunSummary> {
    let study = target
        .store
        .study(&target.study)?
        .ok_or_else(|| anyhow!("no study `{}` in {}", target.study, target.store.location()))?;
    let cfg = ExperimentConfig::from_toml_with(&study.config, &format!("study `{}`", study.name), registry)?;
    let handle = StudyHandle { store: target.store.clone(), study: study.clone(), lease: target.lease };
    let trials = study_trials(&handle)?;
    let dir: PathBuf = match out {
        Some(d) => d.to_path_buf(),
        None => study
            .provenance
            .get("run_dir")
            .and_then(|v| v.as_str())
            .map(PathBuf::from)
            .unwrap_or_else(|| default_run_dir(&cfg)),
    };
    write_run_dir(&dir, &cfg, &trials, "running")?;
    if !quiet {
        println!("resuming study `{}` ({} trials recorded) into {}", study.name, trials.len(), dir.display());
    }
    target.store.set_status(study.id, StudyStatus::Running)?;
    let opts = RunOptions { quiet, storage: Some(StoreRun { handle, local: target.local }), ..Default::default() };
    crate::runner::resume(&dir, registry, &opts)
}

/// Writes (or rewrites) a run directory holding exactly `trials`.
fn write_run_dir(dir: &Path, cfg: &ExperimentConfig, trials: &[nas_core::Trial], status: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_atomic(&dir.join("config.toml"), cfg.to_toml().as_bytes())?;
    let mut text = String::new();
    for t in trials {
        text.push_str(&serde_json::to_string(t)?);
        text.push('\n');
    }
    write_atomic(&RunDir::trials_path(dir), text.as_bytes())?;
    let mut meta = read_meta(dir).unwrap_or_else(|_| RunMeta::new(&cfg.name, cfg.seed, cfg.budget, trials.len()));
    meta.status = status.into();
    meta.trials = trials.len();
    if status == "finished" {
        meta.finished_unix.get_or_insert(unix_now());
    }
    write_atomic(&dir.join("run.json"), serde_json::to_string_pretty(&meta)?.as_bytes())?;
    Ok(())
}

/// Copies `study` of `from` (config, seed, provenance, told trials, status)
/// into `to` as a new study called `name`; returns how many trials it copied.
pub fn copy_study(from: &dyn TrialStore, study: &Study, to: &dyn TrialStore, name: &str) -> Result<usize> {
    let trials = from.trials(study.id)?;
    let copy = to.create_study(&NewStudy {
        name: name.to_string(),
        config: study.config.clone(),
        seed: study.seed,
        provenance: study.provenance.clone(),
    })?;
    for t in &trials {
        to.record(copy.id, t)?;
    }
    if study.status == StudyStatus::Finished {
        to.set_status(copy.id, StudyStatus::Finished)?;
    }
    Ok(trials.len())
}

/// `hwnas study export`: the run directory of a study from the store alone
/// (config, trials in index order, plots, pareto.json, export/, report.html),
/// written through the run directory's own store.
pub fn export_study(store: &dyn TrialStore, name: &str, out: &Path, registry: &Registry) -> Result<usize> {
    let study = store.study(name)?.ok_or_else(|| anyhow!("no study `{name}` in {}", store.location()))?;
    if RunDir::trials_path(out).exists() {
        bail!("{} already holds a run (trials.jsonl exists); choose another --out", out.display());
    }
    ExperimentConfig::from_toml_with(&study.config, &format!("study `{name}`"), registry)?;
    if store.counts(study.id)?.told == 0 {
        bail!("study `{name}` has no recorded trials yet");
    }
    let n = copy_study(store, &study, &RunDirStore::open(out), name)?;
    replot(out, registry, crate::rundir::LogMode::Strict)?;
    Ok(n)
}

/// `hwnas study import RUN_DIR`: a run directory's config and trials as a new
/// study (named `name`, else after the directory), read through the run
/// directory's own store.
pub fn import_run(
    store: &dyn TrialStore,
    dir: &Path,
    name: Option<&str>,
    registry: &Registry,
) -> Result<(String, usize)> {
    crate::runner::run_config(dir, registry)?;
    let source = RunDirStore::open(dir);
    let study = source.this_study()?.ok_or_else(|| anyhow!("{} is not a run directory", dir.display()))?;
    let name = name.map(str::to_string).unwrap_or_else(|| study.name.clone());
    let n = copy_study(&source, &study, store, &name)?;
    Ok((name, n))
}

/// `hwnas study list`: one line per study.
pub fn list_studies(store: &dyn TrialStore) -> Result<String> {
    let mut s = format!(
        "{:<32} {:<9} {:>6} {:>8} {:>8} {:>7} {:>7}\n",
        "study", "status", "told", "pending", "running", "failed", "retries"
    );
    for st in store.studies()? {
        let c = store.counts(st.id)?;
        s.push_str(&format!(
            "{:<32} {:<9} {:>6} {:>8} {:>8} {:>7} {:>7}\n",
            st.name,
            st.status.as_str(),
            c.told,
            c.pending,
            c.running,
            c.failed,
            c.retries
        ));
    }
    Ok(s)
}
