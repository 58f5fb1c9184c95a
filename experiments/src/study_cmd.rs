//! The commands of studies in a trial store: `hwnas run --storage`, `hwnas
//! resume --storage`, `hwnas study export | import | list`. The run directory
//! stays the user-facing output: the driver writes it as a plain run does, and
//! `study export` rebuilds it from the store alone.

use crate::config::ExperimentConfig;
use crate::rundir::{RunDir, RunMeta, read_meta, recover_trials, unix_now, write_atomic};
use crate::runner::{RunOptions, RunSummary, StoreRun, default_run_dir, replot};
use crate::study::{StudyHandle, study_trials, worker_name};
use anyhow::{Context, Result, anyhow, bail};
use nas_core::Registry;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use trial_store::{NewStudy, StudyStatus, TrialStore};

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

/// `hwnas study export`: the run directory of a study from the store alone
/// (config, trials in index order, plots, pareto.json, export/, report.html).
pub fn export_study(store: &dyn TrialStore, name: &str, out: &Path, registry: &Registry) -> Result<usize> {
    let study = store.study(name)?.ok_or_else(|| anyhow!("no study `{name}` in {}", store.location()))?;
    if RunDir::trials_path(out).exists() {
        bail!("{} already holds a run (trials.jsonl exists); choose another --out", out.display());
    }
    let cfg = ExperimentConfig::from_toml_with(&study.config, &format!("study `{name}`"), registry)?;
    let trials = store.trials(study.id)?;
    if trials.is_empty() {
        bail!("study `{name}` has no recorded trials yet");
    }
    let status = if study.status == StudyStatus::Finished { "finished" } else { "running" };
    write_run_dir(out, &cfg, &trials, status)?;
    replot(out, registry, crate::rundir::LogMode::Strict)?;
    Ok(trials.len())
}

/// `hwnas study import RUN_DIR`: a run directory's config and trials as a new
/// study (named `name`, else after the directory).
pub fn import_run(
    store: &dyn TrialStore,
    dir: &Path,
    name: Option<&str>,
    registry: &Registry,
) -> Result<(String, usize)> {
    let cfg = crate::runner::run_config(dir, registry)?;
    let trials = recover_trials(dir, crate::rundir::LogMode::Strict)?.trials;
    let default_name: String = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| cfg.name.clone())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' })
        .take(64)
        .collect();
    let name = name.map(str::to_string).unwrap_or(default_name);
    let study = store.create_study(&NewStudy {
        name: name.clone(),
        config: cfg.to_toml(),
        seed: cfg.seed,
        provenance: provenance(dir),
    })?;
    for t in &trials {
        store.record(study.id, t)?;
    }
    let finished = read_meta(dir).map(|m| m.status == "finished").unwrap_or(false);
    if finished {
        store.set_status(study.id, StudyStatus::Finished)?;
    }
    Ok((name, trials.len()))
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
