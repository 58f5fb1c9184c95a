//! Training one chosen architecture with a long schedule, checkpointed to disk
//! after every epoch so that a killed run continues where it stopped
//! (`hwnas train`).
//!
//! A [`RetrainJob`] names the data, the schedule, the seed and two paths: a
//! checkpoint folder (`<id>.ckpt/`, one `epoch-NNN/` sub-folder holding the
//! model, the optimiser state and the history so far) and the final record
//! (`<id>.bpk` with its [`WeightsInfo`] sidecar). [`retrain`] starts from the
//! newest complete checkpoint made for the same architecture, seed, dataset and
//! schedule (one made for another schedule is set aside and said so), trains
//! epoch by epoch, validates after each, and on success writes the record and
//! removes the checkpoints.
//!
//! Continuing from a checkpoint gives the same weights as one run straight
//! through (the optimiser state, step count and per-epoch data order are all
//! restored; the networks draw no random tensor while training), which the
//! tests check bit for bit.

use super::TrainableSpace;
use super::backend::Backend;
use super::data::ImageDataset;
use super::trainer::{
    Checkpoint, TrainConfig, TrainFailure, TrainProgress, continue_classifier, init_seeded, panic_message, train_until,
};
use super::weights::{WeightsInfo, save_weights};
use crate::arch::{ArchId, Architecture};
use crate::error::NasError;
use crate::fsutil::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to train and where to keep it.
#[derive(Clone)]
pub struct RetrainJob {
    /// Training images.
    pub train: Arc<ImageDataset>,
    /// Validation images (the accuracy reported after each epoch).
    pub val: Arc<ImageDataset>,
    /// The schedule (its `epochs` are the whole run's).
    pub config: TrainConfig,
    /// The burn backend.
    pub backend: Backend,
    /// Seed of the initialisation and the data order.
    pub seed: u64,
    /// Folder of the per-epoch checkpoints (removed when the run completes).
    pub checkpoint_dir: PathBuf,
    /// The trained network's record (`.bpk`; the sidecar `.json` goes beside it).
    pub record: PathBuf,
}

/// Validation after one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochResult {
    /// Epoch, 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Validation accuracy (%).
    pub val_accuracy: f64,
    /// Validation cross-entropy.
    pub val_loss: f64,
    /// Wall-clock seconds of the epoch, validation included.
    pub seconds: f64,
}

/// What [`retrain`] reports while it works.
#[derive(Clone, Debug, PartialEq)]
pub enum RetrainEvent {
    /// Continuing from the checkpoint of this epoch.
    Resumed {
        /// Epochs already done.
        epoch: usize,
    },
    /// A checkpoint of another run (other schedule, seed, dataset or
    /// architecture) was set aside; training starts afresh.
    Discarded {
        /// The checkpoint folder.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// One optimisation step done.
    Step(TrainProgress),
    /// One epoch done and validated (its checkpoint is on disk).
    Epoch(EpochResult),
}

/// The result of a completed [`retrain`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetrainOutcome {
    /// The sidecar written beside the record (final validation metrics).
    pub info: WeightsInfo,
    /// Every epoch's validation, the resumed ones included.
    pub history: Vec<EpochResult>,
    /// The epoch the run continued from, when it did.
    pub resumed_from: Option<usize>,
    /// Training seconds of this invocation (earlier invocations' are in the
    /// history).
    pub seconds: f64,
}

/// What a checkpoint was made for and how far it got (`state.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CheckpointState {
    arch: String,
    arch_id: ArchId,
    seed: u64,
    dataset: String,
    train_images: usize,
    training: TrainConfig,
    history: Vec<EpochResult>,
}

impl CheckpointState {
    /// Why a checkpoint in this state cannot continue `want`, if it cannot.
    fn mismatch(&self, want: &CheckpointState) -> Option<String> {
        if self.arch_id != want.arch_id {
            return Some(format!("made for architecture {}, not {}", self.arch, want.arch));
        }
        if self.seed != want.seed {
            return Some(format!("made with seed {}, not {}", self.seed, want.seed));
        }
        if self.dataset != want.dataset || self.train_images != want.train_images {
            return Some(format!(
                "made on {} ({} images), not {} ({} images)",
                self.dataset, self.train_images, want.dataset, want.train_images
            ));
        }
        if self.training != want.training {
            let (a, b) = (&self.training, &want.training);
            let what = if a.epochs != b.epochs {
                format!("a schedule of {} epochs, not {}", a.epochs, b.epochs)
            } else {
                "other training settings".to_string()
            };
            return Some(format!("made for {what}"));
        }
        None
    }
}

fn epoch_dir(root: &Path, epoch: usize) -> PathBuf {
    root.join(format!("epoch-{epoch:03}"))
}

/// The complete checkpoints under `root`, newest first.
fn checkpoints(root: &Path) -> Vec<(usize, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut found: Vec<(usize, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let epoch = name.strip_prefix("epoch-")?.parse::<usize>().ok()?;
            e.path().join("state.json").is_file().then(|| (epoch, e.path()))
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found
}

fn read_state(dir: &Path) -> Result<CheckpointState, NasError> {
    let path = dir.join("state.json");
    let text = std::fs::read_to_string(&path).map_err(|e| NasError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| NasError::Format { path, line: 0, reason: e.to_string() })
}

/// Writes the checkpoint of `state.history.len()` epochs aside, renames it into
/// place and removes the older ones.
fn save_checkpoint<M: burn::module::Module>(
    root: &Path,
    ckpt: &Checkpoint<M>,
    state: &CheckpointState,
) -> Result<(), NasError> {
    let epoch = state.history.len();
    let tmp = root.join(format!("epoch-{epoch:03}.partial"));
    let _ = std::fs::remove_dir_all(&tmp);
    ckpt.save(&tmp)?;
    let json = serde_json::to_string_pretty(state).map_err(|e| NasError::Backend(e.to_string()))?;
    write_atomic(&tmp.join("state.json"), json.as_bytes())?;
    let done = epoch_dir(root, epoch);
    let _ = std::fs::remove_dir_all(&done);
    std::fs::rename(&tmp, &done).map_err(|e| NasError::io(&done, e))?;
    for (e, dir) in checkpoints(root) {
        if e < epoch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    Ok(())
}

fn failure(e: TrainFailure) -> NasError {
    match e {
        TrainFailure::Invalid(e) => e,
        TrainFailure::Diverged { epoch, step, loss } => {
            NasError::Backend(format!("training diverged at epoch {epoch}, step {step}: loss {loss}"))
        }
        TrainFailure::Backend(m) => NasError::Backend(format!("training failed: {m}")),
    }
}

/// Trains `arch` of `space` as `job` says, continuing from its newest fitting
/// checkpoint; see the module docs.
pub fn retrain<S: TrainableSpace>(
    space: &S,
    arch: &S::Arch,
    job: &RetrainJob,
    events: &mut (dyn FnMut(RetrainEvent) + Send),
) -> Result<RetrainOutcome, NasError> {
    let cfg = &job.config;
    cfg.validate()?;
    let started = std::time::Instant::now();
    let want = CheckpointState {
        arch: arch.notation(),
        arch_id: arch.id(),
        seed: job.seed,
        dataset: job.train.name().to_string(),
        train_images: job.train.len(),
        training: cfg.clone(),
        history: Vec::new(),
    };
    let device = job.backend.device();
    let ad = device.clone().autodiff();
    let build = || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            init_seeded(job.seed, &ad, || space.build_model(arch, &ad))
        }))
        .map_err(|p| NasError::Backend(format!("building the network failed: {}", panic_message(p))))
    };

    // The newest checkpoint of this very run, if any.
    let mut resumed: Option<(Checkpoint<S::Model>, Vec<EpochResult>)> = None;
    for (epoch, dir) in checkpoints(&job.checkpoint_dir) {
        let state = read_state(&dir)?;
        if let Some(reason) = state.mismatch(&want) {
            let aside = dir.with_extension("discarded");
            let _ = std::fs::remove_dir_all(&aside);
            std::fs::rename(&dir, &aside).map_err(|e| NasError::io(&aside, e))?;
            events(RetrainEvent::Discarded { path: aside, reason });
            continue;
        }
        if state.history.len() != epoch || epoch > cfg.epochs {
            return Err(NasError::Format {
                path: dir.join("state.json"),
                line: 0,
                reason: format!("holds {} epochs of history in the folder of epoch {epoch}", state.history.len()),
            });
        }
        let ckpt = Checkpoint::load(build()?, &cfg.optimizer, &dir)?;
        events(RetrainEvent::Resumed { epoch });
        resumed = Some((ckpt, state.history));
        break;
    }
    let resumed_from = resumed.as_ref().map(|(c, _)| c.epochs);

    let mut state = want;
    let mut ckpt = None;
    if let Some((c, history)) = resumed {
        state.history = history;
        ckpt = Some(c);
    }
    for epoch in resumed_from.unwrap_or(0) + 1..=cfg.epochs {
        let t = std::time::Instant::now();
        let mut step = |p: TrainProgress| events(RetrainEvent::Step(p));
        let (c, r) = match ckpt.take() {
            Some(c) => continue_classifier(c, &job.train, &job.val, cfg, job.seed, &device, epoch, &mut step),
            None => train_until(build()?, &job.train, &job.val, cfg, job.seed, &device, epoch, &mut step),
        }
        .map_err(failure)?;
        let result = EpochResult {
            epoch,
            train_loss: r.train_loss,
            val_accuracy: r.val_accuracy,
            val_loss: r.val_loss,
            seconds: t.elapsed().as_secs_f64(),
        };
        state.history.push(result.clone());
        save_checkpoint(&job.checkpoint_dir, &c, &state)?;
        events(RetrainEvent::Epoch(result));
        ckpt = Some(c);
    }
    let ckpt = match ckpt {
        Some(c) => c,
        None => {
            return Err(NasError::Backend("retraining produced no epoch (is the schedule 0 epochs?)".into()));
        }
    };
    let last = state.history.last().cloned().expect("at least one epoch was trained or resumed");
    let info = WeightsInfo {
        arch: state.arch.clone(),
        arch_id: state.arch_id,
        seed: job.seed,
        epochs: cfg.epochs,
        dataset: state.dataset.clone(),
        backend: job.backend.to_string(),
        training: cfg.clone(),
        val_accuracy: last.val_accuracy,
        val_loss: last.val_loss,
        hwnas_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    save_weights(&ckpt.model, &job.record, &info)?;
    let _ = std::fs::remove_dir_all(&job.checkpoint_dir);
    Ok(RetrainOutcome { info, history: state.history, resumed_from, seconds: started.elapsed().as_secs_f64() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::evaluator::tests::{Width, WidthSpace};
    use crate::train::trainer::OptimizerConfig;
    use crate::train::trainer::tests::digits;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    /// Every float parameter of a module, in visiting order.
    struct ParamValues(Vec<f32>);

    impl burn::module::ModuleVisitor for ParamValues {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<D>>) {
            let data = param.val().into_data().convert::<f32>();
            self.0.extend(data.iter::<f32>());
        }
    }

    fn job(dir: &Path, epochs: usize) -> RetrainJob {
        let (train, val) = digits();
        RetrainJob {
            train: Arc::new(train.clone()),
            val: Arc::new(val.clone()),
            config: TrainConfig {
                epochs,
                batch_size: 32,
                max_train_samples: Some(300),
                optimizer: OptimizerConfig::Adam { lr: 0.02, weight_decay: 0.0 },
                ..TrainConfig::default()
            },
            backend: Backend::Flex,
            seed: 5,
            checkpoint_dir: dir.join("net.ckpt"),
            record: dir.join("net.bpk"),
        }
    }

    fn epochs_of(events: &[RetrainEvent]) -> Vec<usize> {
        events.iter().filter_map(|e| if let RetrainEvent::Epoch(r) = e { Some(r.epoch) } else { None }).collect()
    }

    fn without_seconds(h: &[EpochResult]) -> Vec<(usize, f64, f64, f64)> {
        h.iter().map(|r| (r.epoch, r.train_loss, r.val_accuracy, r.val_loss)).collect()
    }

    #[test]
    fn a_killed_retraining_continues_from_its_last_epoch_to_the_same_weights() {
        let space = WidthSpace { chw: [1, 8, 8] };
        let arch = Width(8);
        let tmp = tempfile::tempdir().expect("tmp");

        // Straight through.
        let straight_dir = tmp.path().join("straight");
        let straight_job = job(&straight_dir, 3);
        let mut seen = Vec::new();
        let straight = retrain(&space, &arch, &straight_job, &mut |e| seen.push(e)).expect("trains");
        assert_eq!(epochs_of(&seen), vec![1, 2, 3]);
        assert!(seen.iter().any(|e| matches!(e, RetrainEvent::Step(_))));
        assert_eq!(straight.history.len(), 3);
        assert_eq!(straight.resumed_from, None);
        assert!(straight.info.val_accuracy > 30.0, "{:?}", straight.info);
        assert!(straight_job.record.is_file() && !straight_job.checkpoint_dir.exists());
        assert_eq!(crate::train::read_info(&straight_job.record).expect("sidecar"), straight.info);

        // Killed after the checkpoint of epoch 2 (and part-way into writing epoch 3's).
        let killed_dir = tmp.path().join("killed");
        let killed_job = job(&killed_dir, 3);
        let died = catch_unwind(AssertUnwindSafe(|| {
            retrain(&space, &arch, &killed_job, &mut |e| {
                if matches!(e, RetrainEvent::Epoch(EpochResult { epoch: 2, .. })) {
                    panic!("killed");
                }
            })
        }));
        assert!(died.is_err());
        assert!(!killed_job.record.exists());
        assert!(epoch_dir(&killed_job.checkpoint_dir, 2).join("state.json").is_file());
        assert!(!epoch_dir(&killed_job.checkpoint_dir, 1).exists(), "older checkpoints are removed");
        std::fs::create_dir_all(killed_job.checkpoint_dir.join("epoch-003.partial")).expect("partial");

        let mut seen = Vec::new();
        let resumed = retrain(&space, &arch, &killed_job, &mut |e| seen.push(e)).expect("resumes");
        assert_eq!(seen.first(), Some(&RetrainEvent::Resumed { epoch: 2 }));
        assert_eq!(epochs_of(&seen), vec![3]);
        assert_eq!(resumed.resumed_from, Some(2));
        assert_eq!(without_seconds(&resumed.history), without_seconds(&straight.history));
        assert_eq!(resumed.info, straight.info);
        // The same weights, value for value.
        let values = |record: &Path| {
            let device = burn::tensor::Device::flex();
            let model = crate::train::load_weights(space.build_model(&arch, &device), record).expect("loads");
            let mut all = ParamValues(Vec::new());
            burn::module::Module::visit(&model, &mut all);
            all.0
        };
        let (a, b) = (values(&straight_job.record), values(&killed_job.record));
        assert!(!a.is_empty());
        assert!(a == b, "the resumed weights differ from the straight run's");
    }

    #[test]
    fn a_checkpoint_of_another_schedule_is_set_aside() {
        let space = WidthSpace { chw: [1, 8, 8] };
        let arch = Width(8);
        let tmp = tempfile::tempdir().expect("tmp");
        let two = job(tmp.path(), 2);
        let _ = catch_unwind(AssertUnwindSafe(|| {
            retrain(&space, &arch, &two, &mut |e| {
                if matches!(e, RetrainEvent::Epoch(_)) {
                    panic!("killed");
                }
            })
        }));
        assert!(epoch_dir(&two.checkpoint_dir, 1).is_dir());
        let mut seen = Vec::new();
        let three = job(tmp.path(), 3);
        let out = retrain(&space, &arch, &three, &mut |e| seen.push(e)).expect("trains");
        match &seen[0] {
            RetrainEvent::Discarded { reason, .. } => {
                assert!(reason.contains("schedule of 2 epochs, not 3"), "{reason}")
            }
            other => panic!("expected the old checkpoint set aside, got {other:?}"),
        }
        assert_eq!(out.resumed_from, None);
        assert_eq!(epochs_of(&seen), vec![1, 2, 3]);
        assert_eq!(out.info.epochs, 3);
    }
}
