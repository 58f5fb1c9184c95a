//! `hwnas train`: trains chosen architectures from scratch with a longer
//! schedule than the search gave them, with a progress bar, a checkpoint per
//! epoch (a killed run continues where it stopped when the command is run
//! again) and a report of the search's accuracy next to the retrained one.
//!
//! - `hwnas train RUN_DIR --front | --arch ID[,ID...]`: the run's own dataset
//!   and training settings (its `train` evaluator), `--epochs` long; writes
//!   `retrained/<arch id>.bpk` (+ `.json`) and `retrained/report.json` in the
//!   run, which `hwnas export --onnx` then prefers to the search's weights.
//! - `hwnas train ARCH [--config CONFIG] [--out DIR]`: one architecture given
//!   by its notation, trained with the config's `train` evaluator settings
//!   (the built-in default without `--config`), into `DIR/retrained/`.

use crate::config::{DEFAULT_CONFIG, ExperimentConfig};
use crate::kept_weights::{RETRAINED_DIR, TRAINED_DIR, select_trials};
use crate::progress::ProgressDisplay;
use crate::rundir::{LogMode, recover_trials, write_atomic};
use crate::runner::run_config;
use crate::setup::{Build, Setup};
use anyhow::{Context, Result, anyhow, bail};
use nas_core::train::evaluator::TrainSettings;
use nas_core::train::{DataSplit, DynTrainable, EpochResult, RetrainEvent, RetrainJob, RetrainOutcome};
use nas_core::{AnyArch, ArchId, Metric, Registry, SearchSpace};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Without `--epochs`, the retraining runs this many times the search's epochs.
pub const DEFAULT_EPOCH_FACTOR: usize = 4;

/// What `hwnas train` does besides choosing the architectures.
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// Epochs of the schedule (default: [`DEFAULT_EPOCH_FACTOR`] × the search's).
    pub epochs: Option<usize>,
    /// Train on the whole training split, not the search's fixed subset
    /// (`max_train_samples`); validation stays the search's, so accuracies compare.
    pub all_data: bool,
    /// No progress output.
    pub quiet: bool,
}

/// The search's training of an architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchTraining {
    /// Epochs the search trained it.
    pub epochs: usize,
    /// Its validation accuracy (%).
    pub val_accuracy: f64,
}

/// One retrained architecture, as listed in `retrained/report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetrainEntry {
    /// Architecture id.
    pub arch_id: String,
    /// Notation.
    pub arch: String,
    /// The trial of the run (none for `hwnas train ARCH`).
    pub trial: Option<usize>,
    /// Seed of initialisation and data order (the search's for that architecture).
    pub seed: u64,
    /// How the search trained it, when it did.
    pub search: Option<SearchTraining>,
    /// Epochs of the retraining.
    pub epochs: usize,
    /// Training images per epoch.
    pub train_images: usize,
    /// Validation accuracy (%) after the retraining.
    pub val_accuracy: f64,
    /// Validation cross-entropy after the retraining.
    pub val_loss: f64,
    /// Retrained minus search accuracy, in percentage points.
    pub improvement: Option<f64>,
    /// Training seconds, all invocations together.
    pub seconds: f64,
    /// The record, relative to the output folder.
    pub weights_file: String,
    /// Validation after every epoch.
    pub history: Vec<EpochResult>,
}

/// `retrained/report.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RetrainReport {
    /// The hwnas version that wrote it.
    pub hwnas_version: String,
    /// Every architecture retrained in this folder (the latest run of each).
    pub entries: Vec<RetrainEntry>,
}

/// The `train` evaluator settings of `cfg`, with the schedule of `opts`.
fn training_settings(cfg: &ExperimentConfig, source: &str, opts: &TrainOptions) -> Result<TrainSettings> {
    let Some(section) = cfg.evaluators.iter().find(|e| e.kind == "train") else {
        let kinds: Vec<&str> = cfg.evaluators.iter().map(|e| e.kind.as_str()).collect();
        bail!(
            "{source} has no `train` evaluator (its evaluators: {}), so there is no dataset or training schedule \
             to retrain with; train an architecture by its notation with a config that has one: \
             `hwnas train ARCH --config CONFIG`",
            kinds.join(", ")
        );
    };
    let mut s: TrainSettings = serde_json::from_value(section.settings_value())
        .with_context(|| format!("{source}: the settings of the `train` evaluator"))?;
    let search_epochs = s.training.epochs;
    s.training.epochs = match opts.epochs {
        Some(0) => bail!("--epochs must be >= 1"),
        Some(e) => e,
        None => search_epochs * DEFAULT_EPOCH_FACTOR,
    };
    if opts.all_data {
        s.training.max_train_samples = None;
    }
    s.training.validate()?;
    Ok(s)
}

/// Trains one architecture with a progress display, printing what happened to
/// its checkpoints.
fn retrain_one(
    trainable: &dyn DynTrainable<AnyArch>,
    arch: &AnyArch,
    job: &RetrainJob,
    label: &str,
    quiet: bool,
) -> Result<RetrainOutcome> {
    let epochs = job.config.epochs;
    let display = ProgressDisplay::new(1000, quiet);
    let mut last_acc: Option<f64> = None;
    let outcome = trainable.retrain(arch, job, &mut |e| match e {
        RetrainEvent::Resumed { epoch } => {
            if !quiet {
                eprintln!("{label}: continuing from the checkpoint of epoch {epoch}/{epochs}");
            }
        }
        RetrainEvent::Discarded { path, reason } => {
            eprintln!("{label}: set aside the checkpoint {} ({reason}); training from scratch", path.display());
        }
        RetrainEvent::Step(p) => {
            let acc = last_acc.map_or(String::new(), |a| format!(", val acc {a:.2}%"));
            let msg = format!("{label} epoch {}/{} loss {:.4}{acc}", p.epoch, p.epochs, p.loss);
            display.show((p.fraction() * 1000.0) as usize, 1000, &msg, 5.0);
        }
        RetrainEvent::Epoch(r) => {
            last_acc = Some(r.val_accuracy);
            if !quiet && !display.has_bar() {
                eprintln!(
                    "{label}: epoch {}/{epochs} train loss {:.4}, val accuracy {:.2}%",
                    r.epoch, r.train_loss, r.val_accuracy
                );
            }
        }
    });
    display.finish();
    outcome.with_context(|| format!("training {label}"))
}

fn entry(
    out: &Path,
    arch: &str,
    arch_id: ArchId,
    trial: Option<usize>,
    search: Option<SearchTraining>,
    job: &RetrainJob,
    outcome: &RetrainOutcome,
) -> RetrainEntry {
    RetrainEntry {
        arch_id: arch_id.to_string(),
        arch: arch.to_string(),
        trial,
        seed: job.seed,
        improvement: search.as_ref().map(|s| outcome.info.val_accuracy - s.val_accuracy),
        search,
        epochs: outcome.info.epochs,
        train_images: job.config.max_train_samples.map_or(job.train.len(), |m| m.min(job.train.len())),
        val_accuracy: outcome.info.val_accuracy,
        val_loss: outcome.info.val_loss,
        seconds: outcome.history.iter().map(|h| h.seconds).sum(),
        weights_file: job.record.strip_prefix(out).unwrap_or(&job.record).display().to_string(),
        history: outcome.history.clone(),
    }
}

/// Adds `entries` to `<out>/retrained/report.json` (replacing earlier entries
/// of the same architectures) and returns the whole report.
fn merge_report(out: &Path, entries: &[RetrainEntry]) -> Result<RetrainReport> {
    let path = out.join(RETRAINED_DIR).join("report.json");
    let mut report: RetrainReport = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_default(),
        Err(_) => RetrainReport::default(),
    };
    report.hwnas_version = env!("CARGO_PKG_VERSION").to_string();
    report.entries.retain(|e| !entries.iter().any(|n| n.arch_id == e.arch_id));
    report.entries.extend(entries.iter().cloned());
    report.entries.sort_by_key(|e| (e.trial.unwrap_or(usize::MAX), e.arch_id.clone()));
    write_atomic(&path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    Ok(report)
}

fn job_for(out: &Path, data: &DataSplit, s: &TrainSettings, id: ArchId, seed: u64) -> RetrainJob {
    let dir = out.join(RETRAINED_DIR);
    RetrainJob {
        train: data.train.clone(),
        val: data.val.clone(),
        config: s.training.clone(),
        backend: s.backend,
        seed,
        checkpoint_dir: dir.join(format!("{id}.ckpt")),
        record: dir.join(format!("{id}.bpk")),
    }
}

/// An earlier retraining of the same job that is complete: its record and a
/// sidecar with the same schedule, seed and dataset.
fn already_done(job: &RetrainJob) -> Option<nas_core::train::WeightsInfo> {
    let info = nas_core::train::read_info(&job.record).ok()?;
    (job.record.is_file()
        && info.training == job.config
        && info.seed == job.seed
        && info.dataset == job.train.name()
        && info.epochs == job.config.epochs)
        .then_some(info)
}

/// The report entry of an earlier, complete retraining (from report.json).
fn earlier_entry(out: &Path, id: ArchId) -> Option<RetrainEntry> {
    let text = std::fs::read_to_string(out.join(RETRAINED_DIR).join("report.json")).ok()?;
    let report: RetrainReport = serde_json::from_str(&text).ok()?;
    report.entries.into_iter().find(|e| e.arch_id == id.to_string())
}

/// `hwnas train RUN_DIR --front | --arch ID...`.
pub fn train_run(dir: &Path, registry: &Registry, archs: &[String], opts: &TrainOptions) -> Result<RetrainReport> {
    let cfg = run_config(dir, registry)?;
    let settings = training_settings(&cfg, &format!("the run {}", dir.display()), opts)?;
    let trials = recover_trials(dir, LogMode::Strict)?.trials;
    if trials.is_empty() {
        bail!("{} has no trials yet", dir.display());
    }
    let problem = cfg.problem();
    let mut selected = Vec::new();
    if archs.is_empty() {
        selected.extend(select_trials(&trials, &problem, None)?.into_iter().map(|(_, t)| t));
    }
    for a in archs {
        for (_, t) in select_trials(&trials, &problem, Some(a))? {
            if !selected.iter().any(|s| s.arch_id == t.arch_id) {
                selected.push(t);
            }
        }
    }
    let setup = Setup::new(&cfg, registry, Build::ReportsOnly { with_data: true })?;
    let data = setup.data.as_ref().ok_or_else(|| anyhow!("the run's config loads no dataset"))?;
    let trainable = setup
        .space
        .trainable()
        .ok_or_else(|| anyhow!("space `{}` builds no network, so there is nothing to train", setup.space.name()))?;
    let mut entries = Vec::new();
    for (i, t) in selected.iter().enumerate() {
        let arch = setup.space.parse(&t.arch).with_context(|| format!("trial {}: {}", t.index, t.arch))?;
        let job = job_for(dir, data, &settings, t.arch_id, t.seed);
        let search = nas_core::train::read_info(&dir.join(TRAINED_DIR).join(format!("{}.bpk", t.arch_id)))
            .ok()
            .map(|w| SearchTraining { epochs: w.epochs, val_accuracy: w.val_accuracy })
            .or_else(|| {
                let search_epochs = cfg.evaluators.iter().find(|e| e.kind == "train").and_then(|e| {
                    e.settings.get("training").and_then(|t| t.get("epochs")).and_then(serde_json::Value::as_u64)
                });
                Some(SearchTraining {
                    epochs: search_epochs.map_or(nas_core::train::TrainConfig::default().epochs, |e| e as usize),
                    val_accuracy: *t.metrics.get(&Metric::Accuracy)?,
                })
            });
        let label = format!("[{}/{}] trial {} ({})", i + 1, selected.len(), t.index, t.arch_id);
        if already_done(&job).is_some()
            && let Some(e) = earlier_entry(dir, t.arch_id)
        {
            if !opts.quiet {
                eprintln!("{label}: already retrained for {} epochs ({})", e.epochs, e.weights_file);
            }
            entries.push(e);
            continue;
        }
        let outcome = retrain_one(trainable, &arch, &job, &label, opts.quiet)?;
        let e = entry(dir, &t.arch, t.arch_id, Some(t.index), search, &job, &outcome);
        // Written after each architecture, so a killed `--front` keeps the finished ones.
        merge_report(dir, std::slice::from_ref(&e))?;
        entries.push(e);
    }
    let mut report = merge_report(dir, &entries)?;
    report.entries.retain(|e| entries.iter().any(|n| n.arch_id == e.arch_id));
    Ok(report)
}

/// `hwnas train ARCH --config CONFIG --out DIR`: returns the report entry.
pub fn train_arch(
    notation: &str,
    config: Option<&Path>,
    out: Option<&Path>,
    registry: &Registry,
    opts: &TrainOptions,
) -> Result<RetrainReport> {
    let (mut cfg, base, source) = match config {
        Some(p) => {
            let base = p.parent().filter(|b| !b.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
            (ExperimentConfig::load_with(p, registry)?, base, p.display().to_string())
        }
        None => (
            ExperimentConfig::from_toml_with(DEFAULT_CONFIG, "<built-in default>", registry)?,
            PathBuf::from("."),
            "the built-in default config".to_string(),
        ),
    };
    cfg.resolve_paths(&base.canonicalize().unwrap_or(base.clone()), registry)?;
    let settings = training_settings(&cfg, &source, opts)?;
    let setup = Setup::new(&cfg, registry, Build::ReportsOnly { with_data: true })?;
    let data = setup.data.as_ref().ok_or_else(|| anyhow!("{source} loads no dataset"))?;
    let trainable = setup
        .space
        .trainable()
        .ok_or_else(|| anyhow!("space `{}` builds no network, so there is nothing to train", setup.space.name()))?;
    let arch = setup.space.parse(notation).with_context(|| format!("the architecture `{notation}`"))?;
    let canonical = nas_core::Architecture::notation(&arch);
    let id = ArchId::of(&canonical);
    // The seed the search gives this architecture, so the two trainings compare.
    let seed = nas_core::seed::derive_seed(cfg.seed, id.0);
    let default_out = cfg.output.runs_dir.join(format!("train-{id}"));
    let out = out.unwrap_or(&default_out);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_atomic(&out.join("config.toml"), cfg.to_toml().as_bytes())?;
    let job = job_for(out, data, &settings, id, seed);
    let label = format!("{canonical} ({id})");
    let e = match (already_done(&job), earlier_entry(out, id)) {
        (Some(_), Some(e)) => {
            if !opts.quiet {
                eprintln!("{label}: already trained for {} epochs ({})", e.epochs, e.weights_file);
            }
            e
        }
        _ => {
            let outcome = retrain_one(trainable, &arch, &job, &label, opts.quiet)?;
            entry(out, &canonical, id, None, None, &job, &outcome)
        }
    };
    let mut report = merge_report(out, std::slice::from_ref(&e))?;
    report.entries.retain(|r| r.arch_id == e.arch_id);
    if !opts.quiet {
        eprintln!("wrote {}/retrained/ (weights and report.json)", out.display());
    }
    Ok(report)
}

/// `hwnas export --onnx --train`: trains the architectures to export (the
/// front, or `arch`) that have no kept weights; an empty report when all have.
pub fn train_missing(
    dir: &Path,
    registry: &Registry,
    arch: Option<&str>,
    opts: &TrainOptions,
) -> Result<RetrainReport> {
    let cfg = run_config(dir, registry)?;
    let trials = recover_trials(dir, LogMode::Strict)?.trials;
    let missing: Vec<String> = select_trials(&trials, &cfg.problem(), arch)?
        .into_iter()
        .filter(|(_, t)| crate::kept_weights::find_weights(dir, t.arch_id).is_none())
        .map(|(_, t)| t.arch_id.to_string())
        .collect();
    if missing.is_empty() {
        return Ok(RetrainReport::default());
    }
    train_run(dir, registry, &missing, opts)
}

/// The report as a text table: search vs retrained accuracy per architecture.
pub fn format_report(report: &RetrainReport) -> String {
    let mut s = format!(
        "{:<7} {:<16} {:>14} {:>14} {:>8} {:>9}  {}\n",
        "trial", "arch id", "search acc %", "retrained %", "gain pp", "seconds", "architecture"
    );
    for e in &report.entries {
        let search = e.search.as_ref().map_or("-".into(), |s| format!("{:.2} ({}ep)", s.val_accuracy, s.epochs));
        s.push_str(&format!(
            "{:<7} {:<16} {:>14} {:>14} {:>8} {:>9.1}  {}\n",
            e.trial.map_or("-".into(), |t| t.to_string()),
            e.arch_id,
            search,
            format!("{:.2} ({}ep)", e.val_accuracy, e.epochs),
            e.improvement.map_or("-".into(), |g| format!("{g:+.2}")),
            e.seconds,
            e.arch
        ));
    }
    s
}
