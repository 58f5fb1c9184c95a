//! The training evaluator: builds each candidate's network, trains it and reports
//! validation accuracy, loss and training time.

use super::TrainableSpace;
use super::backend::Backend;
use super::data::ImageDataset;
use super::trainer::{
    Checkpoint, TrainConfig, TrainFailure, TrainProgress, continue_classifier, init_seeded, panic_message, train_until,
};
use super::weights::{WeightsInfo, save_weights};
use crate::arch::{ArchId, Architecture};
use crate::error::NasError;
use crate::evaluator::{EvalContext, EvalError, Evaluator};
use crate::metric::{Metric, MetricMap};
use crate::space::SearchSpace;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};

/// Trains every candidate from scratch on a dataset and reports
/// [`Metric::Accuracy`] (validation, %), [`Metric::Loss`] (validation
/// cross-entropy) and [`Metric::EvalSeconds`] (wall-clock of the training run).
///
/// The model is built with [`TrainableSpace::build_model`] on the autodiff device
/// of the chosen [`Backend`], its parameters seeded from the evaluation seed
/// ([`init_seeded`]), so the same `(arch, seed)` gives the same metrics.
pub struct TrainingEvaluator<S: TrainableSpace> {
    space: Arc<S>,
    train: Arc<ImageDataset>,
    val: Arc<ImageDataset>,
    config: TrainConfig,
    backend: Backend,
    /// Candidates trained part of their schedule by a multi-fidelity scheduler,
    /// kept to continue them when promoted (oldest dropped beyond
    /// [`MAX_CHECKPOINTS`]; a dropped one is trained again from the start,
    /// which gives the same weights).
    checkpoints: Mutex<VecDeque<(ArchId, Checkpoint<S::Model>)>>,
}

/// Checkpoints kept in memory for promotions.
pub const MAX_CHECKPOINTS: usize = 64;

impl<S: TrainableSpace> TrainingEvaluator<S> {
    /// An evaluator training architectures of `space` on `train`, validated on `val`.
    pub fn new(
        space: Arc<S>,
        train: Arc<ImageDataset>,
        val: Arc<ImageDataset>,
        config: TrainConfig,
        backend: Backend,
    ) -> Self {
        TrainingEvaluator { space, train, val, config, backend, checkpoints: Mutex::new(VecDeque::new()) }
    }

    /// The training settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The backend networks train on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks the training settings and that both datasets have the space's input
    /// shape and no more classes than its networks predict.
    pub fn check(&self) -> Result<(), NasError> {
        self.config.validate()?;
        let want = self.space.input_chw();
        let classes = self.space.num_classes();
        for (which, ds) in [("training", &self.train), ("validation", &self.val)] {
            if ds.chw() != want {
                return Err(NasError::InvalidValue {
                    field: format!("{which} dataset `{}` image shape", ds.name()),
                    value: format!("{:?}", ds.chw()),
                    allowed: format!("the input shape of space `{}`: {want:?}", self.space.name()),
                });
            }
            if ds.num_classes() > classes {
                return Err(NasError::InvalidValue {
                    field: format!("{which} dataset `{}` classes", ds.name()),
                    value: ds.num_classes().to_string(),
                    allowed: format!(
                        "at most the {classes} classes the networks of space `{}` predict",
                        self.space.name()
                    ),
                });
            }
            if ds.is_empty() {
                return Err(NasError::InvalidValue {
                    field: format!("{which} dataset `{}`", ds.name()),
                    value: "0 images".into(),
                    allowed: "at least one image".into(),
                });
            }
        }
        Ok(())
    }
}

impl<S: TrainableSpace> Evaluator<S::Arch> for TrainingEvaluator<S> {
    fn name(&self) -> String {
        format!("train({}, {}, {} epochs)", self.train.name(), self.backend, self.config.epochs)
    }

    fn provides(&self) -> Vec<Metric> {
        vec![Metric::Accuracy, Metric::Loss, Metric::EvalSeconds]
    }

    fn fidelity(&self) -> crate::fidelity::FidelitySupport {
        crate::fidelity::FidelitySupport::Trainable {
            max_epochs: u32::try_from(self.config.epochs).unwrap_or(u32::MAX),
            continues: true,
        }
    }

    fn evaluate(&self, arch: &S::Arch, ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        self.check()?;
        // A scheduler's budget: the first `e` epochs of the configured
        // schedule, continued from the candidate's checkpoint when there is one.
        let until = ctx.fidelity.map_or(self.config.epochs, |e| e as usize);
        let id = arch.id();
        let resume = {
            let mut store = self.checkpoints.lock().unwrap_or_else(PoisonError::into_inner);
            match store.iter().position(|(a, c)| *a == id && c.epochs < until) {
                Some(i) => store.remove(i).map(|(_, c)| c),
                None => None,
            }
        };
        let device = self.backend.device();
        let ad = device.clone().autodiff();
        // Report about every 1% of the steps (and each epoch's end) rather than every step.
        let mut last = -1.0f64;
        let mut report = |p: TrainProgress| {
            let f = p.fraction();
            if f - last >= 0.01 || p.step == p.steps_per_epoch {
                last = f;
                ctx.report(
                    &format!("epoch {}/{} step {}/{} loss {:.4}", p.epoch, p.epochs, p.step, p.steps_per_epoch, p.loss),
                    f,
                );
            }
        };
        let c = &self.config;
        let result = match resume {
            Some(ckpt) => continue_classifier(ckpt, &self.train, &self.val, c, ctx.seed, &device, until, &mut report),
            None => {
                let model =
                    catch_unwind(AssertUnwindSafe(|| init_seeded(ctx.seed, &ad, || self.space.build_model(arch, &ad))))
                        .map_err(|p| EvalError::failed(format!("building the network failed: {}", panic_message(p))))?;
                train_until(model, &self.train, &self.val, c, ctx.seed, &device, until, &mut report)
            }
        };
        let result = result.and_then(|(ckpt, r)| {
            if let Some(path) = ctx.weights {
                let info = WeightsInfo {
                    arch: arch.notation(),
                    arch_id: id,
                    seed: ctx.seed,
                    epochs: until,
                    dataset: self.train.name().to_string(),
                    backend: self.backend.to_string(),
                    training: c.clone(),
                    val_accuracy: r.val_accuracy,
                    val_loss: r.val_loss,
                    hwnas_version: env!("CARGO_PKG_VERSION").to_string(),
                };
                save_weights(&ckpt.model, path, &info).map_err(TrainFailure::Invalid)?;
            }
            if until < c.epochs {
                let mut store = self.checkpoints.lock().unwrap_or_else(PoisonError::into_inner);
                store.push_back((id, ckpt));
                while store.len() > MAX_CHECKPOINTS {
                    store.pop_front();
                }
            }
            Ok(r)
        });
        match result {
            Ok(r) => Ok(MetricMap::from([
                (Metric::Accuracy, r.val_accuracy),
                (Metric::Loss, r.val_loss),
                (Metric::EvalSeconds, r.seconds),
            ])),
            Err(TrainFailure::Diverged { epoch, step, loss }) => {
                Err(EvalError::failed(format!("training diverged at epoch {epoch}, step {step}: loss {loss}")))
            }
            Err(TrainFailure::Backend(msg)) => Err(EvalError::failed(format!("training failed: {msg}"))),
            Err(TrainFailure::Invalid(e)) => Err(EvalError::Fatal(e)),
        }
    }
}

fn default_val() -> f64 {
    0.2
}

/// Settings of the `train` evaluator: train each candidate with burn on a dataset.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// A registered dataset: `mnist10k`, `digits` (built in), `mnist_idx`,
    /// `cifar10`, `image_folder` (see `hwnas list`).
    pub dataset: String,
    /// Files of datasets that are not built in (relative to the config file).
    #[serde(default)]
    pub path: Option<std::path::PathBuf>,
    /// Fraction held out for validation.
    #[serde(default = "default_val")]
    pub val_fraction: f64,
    /// burn backend: `flex` (default) or `ndarray`.
    #[serde(default)]
    pub backend: Backend,
    /// Training settings.
    #[serde(default)]
    pub training: TrainConfig,
}

impl crate::registry::EvaluatorSettings for TrainSettings {
    const NAME: &'static str = "train";
    const DESCRIPTION: &'static str = "train each candidate with burn on a dataset (validation accuracy, loss, time)";

    fn validate(&self) -> Result<(), NasError> {
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            return Err(NasError::InvalidValue {
                field: "val_fraction".into(),
                value: self.val_fraction.to_string(),
                allowed: "a fraction in (0, 1), strictly between 0 and 1".into(),
            });
        }
        self.training.validate().map_err(|e| match e {
            NasError::InvalidValue { field, value, allowed } => {
                NasError::InvalidValue { field: format!("training.{field}"), value, allowed }
            }
            other => other,
        })
    }

    fn provides(&self) -> Vec<Metric> {
        vec![Metric::Accuracy, Metric::Loss, Metric::EvalSeconds]
    }

    fn needs(&self) -> Vec<crate::Capability> {
        vec![crate::Capability::Train]
    }

    fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(p) = &mut self.path
            && p.is_relative()
        {
            *p = base.join(&*p);
        }
    }

    fn dataset(&self) -> Option<crate::registry::DatasetRequest> {
        Some(crate::registry::DatasetRequest {
            dataset: self.dataset.clone(),
            path: self.path.clone(),
            val_fraction: self.val_fraction,
        })
    }

    fn build(&self, ctx: &crate::registry::EvaluatorContext<'_>) -> Result<crate::registry::BuiltEvaluator, NasError> {
        let data =
            ctx.data.ok_or_else(|| NasError::Backend("the train evaluator was built without its dataset".into()))?;
        let trainable = ctx.space.trainable().ok_or_else(|| NasError::MissingCapability {
            space: ctx.space.name().into(),
            capability: crate::Capability::Train.describe().into(),
            user: "evaluator `train`".into(),
            alternatives: Vec::new(),
        })?;
        let eval =
            trainable.training_evaluator(data.train.clone(), data.val.clone(), self.training.clone(), self.backend)?;
        Ok(crate::registry::BuiltEvaluator::new(eval))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::arch::Architecture;
    use crate::error::Result;
    use crate::space::{SearchSpace, SpaceSize};
    use crate::train::trainer::OptimizerConfig;
    use crate::train::trainer::tests::{TinyCnn, digits};
    use burn::tensor::Device;
    use rand::RngCore;

    /// Architectures are the width of the tiny CNN.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub(crate) struct Width(pub(crate) usize);

    impl Architecture for Width {
        fn notation(&self) -> String {
            self.0.to_string()
        }
    }

    pub(crate) struct WidthSpace {
        pub(crate) chw: [usize; 3],
    }

    impl SearchSpace for WidthSpace {
        type Arch = Width;
        fn name(&self) -> &str {
            "width"
        }
        fn sample(&self, rng: &mut dyn RngCore) -> Width {
            Width(8 + (rng.next_u32() % 3) as usize * 8)
        }
        fn validate(&self, _arch: &Width) -> Result<()> {
            Ok(())
        }
        fn parse(&self, notation: &str) -> Result<Width> {
            notation.parse().map(Width).map_err(|_| crate::NasError::Parse {
                space: "width".into(),
                input: notation.into(),
                reason: "not a number".into(),
            })
        }
        fn size(&self) -> SpaceSize {
            SpaceSize::Exact(3)
        }
    }

    impl TrainableSpace for WidthSpace {
        type Model = TinyCnn;
        fn build_model(&self, arch: &Width, device: &Device) -> TinyCnn {
            TinyCnn::new(self.chw[0], arch.0, 10, device)
        }
        fn input_chw(&self) -> [usize; 3] {
            self.chw
        }
        fn num_classes(&self) -> usize {
            10
        }
    }

    fn evaluator(chw: [usize; 3], config: TrainConfig) -> TrainingEvaluator<WidthSpace> {
        let (train, val) = digits();
        TrainingEvaluator::new(
            Arc::new(WidthSpace { chw }),
            Arc::new(train.clone()),
            Arc::new(val.clone()),
            config,
            Backend::Flex,
        )
    }

    #[test]
    fn evaluator_trains_and_reports_metrics() {
        let cfg = TrainConfig {
            epochs: 2,
            batch_size: 32,
            max_train_samples: Some(400),
            max_val_samples: Some(200),
            optimizer: OptimizerConfig::Adam { lr: 0.02, weight_decay: 0.0 },
            ..TrainConfig::default()
        };
        let ev = evaluator([1, 8, 8], cfg);
        assert_eq!(ev.provides(), vec![Metric::Accuracy, Metric::Loss, Metric::EvalSeconds]);
        let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = calls.clone();
        let cb = move |msg: &str, f: f64| sink.lock().expect("lock").push((msg.to_string(), f));
        let ctx = EvalContext { seed: 9, progress: Some(&cb), fidelity: None, weights: None };
        let m = ev.evaluate(&Width(16), &ctx).expect("trains");
        assert!(m[&Metric::Accuracy] > 60.0, "{m:?}");
        assert!(m[&Metric::Loss].is_finite() && m[&Metric::EvalSeconds] > 0.0);
        let calls = calls.lock().expect("lock").clone();
        assert!(!calls.is_empty() && calls.len() <= 110, "{}", calls.len());
        assert!((calls.last().expect("one").1 - 1.0).abs() < 1e-9);
        assert!(calls[0].0.starts_with("epoch 1/2"), "{}", calls[0].0);
        let again = ev.evaluate(&Width(16), &EvalContext::with_seed(9)).expect("trains");
        assert_eq!(m[&Metric::Accuracy], again[&Metric::Accuracy]);
        assert_eq!(m[&Metric::Loss], again[&Metric::Loss]);
    }

    #[test]
    fn evaluator_reports_divergence_and_shape_errors() {
        let cfg = TrainConfig {
            epochs: 1,
            max_train_samples: Some(256),
            optimizer: OptimizerConfig::Sgd { lr: 1e6, momentum: 0.9, weight_decay: 0.0, nesterov: false },
            ..TrainConfig::default()
        };
        let ev = evaluator([1, 8, 8], cfg.clone());
        match ev.evaluate(&Width(8), &EvalContext::with_seed(1)) {
            Err(EvalError::Failed { reason }) => assert!(reason.contains("diverged at epoch 1"), "{reason}"),
            other => panic!("expected a failed trial, got {other:?}"),
        }
        let ev = evaluator([3, 8, 8], cfg);
        match ev.evaluate(&Width(8), &EvalContext::with_seed(1)) {
            Err(EvalError::Fatal(NasError::InvalidValue { field, .. })) => {
                assert!(field.contains("image shape"), "{field}")
            }
            other => panic!("expected a fatal shape error, got {other:?}"),
        }
    }
}
