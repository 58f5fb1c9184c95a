//! Efficient Architecture Search by network transformation (EAS, Cai, Chen,
//! Zhang, Yu & Wang, AAAI 2018): a meta-controller grows a plain CNN with
//! function-preserving Net2Wider / Net2Deeper steps; every child starts from
//! its parent's trained weights and trains briefly.
//!
//! - **Encoder** (EAS §3.1): each convolution is a token (embeddings of its
//!   kernel, its width on the ladder and whether a pool follows, summed), read
//!   by a bidirectional LSTM.
//! - **Net2Wider actor** (§3.2): per convolution a sigmoid from its encoder
//!   state: widen it (to the next width of the ladder) or not.
//! - **Net2Deeper actor** (§3.3): a softmax over "after convolution `l`" for
//!   every `l` and "no deepening", then a softmax over the kernel size from the
//!   chosen convolution's state. An identity layer is inserted there.
//! - Transformations that would break the space's limits (widths, kernels,
//!   convolutions, parameters) are masked out before sampling.
//! - **Steps**: the first ask proposes the start network (trained
//!   `start_epochs`); each later ask samples the batch's children of the best
//!   network so far. A child inherits its parent's weights through the
//!   transformations, trains `child_epochs` and is rewarded by its validation
//!   accuracy (EAS's `tan(acc · π/2)` with `reward = "tan"`), minus
//!   `cost_weight × params / max_params`. The controller takes one REINFORCE
//!   step per batch (moving-average baseline, advantages scaled by a moving
//!   estimate of their size, entropy bonus). A sampled child evaluated before
//!   is rewarded from the record and not trained again.
//! - **Run directory** (`eas/`): `weights/<arch id>.bpk` (each trained
//!   network, written before its trial is recorded), `children/<arch id>.json`
//!   (its training report), `lineage.json` (parent, transformations, child,
//!   accuracy, training time), `history.json` (the controller's updates) and,
//!   at the end of the budget, `summary.json`: the start network, the best
//!   network with its lineage epochs, and (with `scratch_check`) the best
//!   architecture trained from scratch for as many epochs as it trained itself
//!   (Net2Net's comparison) and for as many as its whole lineage had.
//! - Resume replays the trials; parents' weights come from `weights/`.

use super::genotype::PlainCnnArch;
use super::model::{PlainCnnNet, PlainWeights};
use super::morph;
use super::space::{PlainCnnSpace, Transform};
use burn::module::{Module, Param};
use burn::nn::{BiLstm, BiLstmConfig, Initializer, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{log_sigmoid, log_softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use nas_core::arch::{ArchId, Architecture};
use nas_core::evaluator::EvalError;
use nas_core::fsutil::write_atomic;
use nas_core::registry::{DatasetRequest, StrategyContext, StrategySettings};
use nas_core::strategy::rl::baseline::{MovingAverage, scale_advantages};
use nas_core::strategy::rl::policy::sample_index;
use nas_core::strategy::rl::reward::fill_failures;
use nas_core::train::trainer::shared_pool;
use nas_core::train::{DataSplit, TrainConfig, fit_classifier, init_seeded};
use nas_core::{AnyArch, Capability, DynSpace, Evaluated, Metric, MetricMap, NasError, Result, SearchStrategy};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// How validation accuracy becomes the controller's reward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EasReward {
    /// Accuracy as a fraction.
    #[default]
    Accuracy,
    /// EAS's `tan(accuracy · π/2)` (stresses the last points of accuracy).
    Tan,
}

/// `[strategy] kind = "eas"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EasSettings {
    /// Dataset the networks train on (default `mnist10k`).
    pub dataset: String,
    /// Its files, for datasets that need them.
    pub path: Option<PathBuf>,
    /// Fraction held out for validation (default 0.2).
    pub val_fraction: f64,
    /// The start network (default `c3x8-p-c3x16-p`).
    pub start: String,
    /// Epochs of the start network (default 3).
    pub start_epochs: usize,
    /// Epochs of each child after inheriting its parent's weights (default 1).
    pub child_epochs: usize,
    /// Training of every network (its `epochs` is replaced by the two above).
    pub training: TrainConfig,
    /// Encoder / actor hidden size (default 32).
    pub hidden: usize,
    /// Adam learning rate of the meta-controller (default 0.02).
    pub learning_rate: f64,
    /// Entropy bonus (default 0.01).
    pub entropy_weight: f64,
    /// Decay of the moving-average baseline (default 0.9).
    pub baseline_decay: f64,
    /// `accuracy` or `tan` (EAS).
    pub reward: EasReward,
    /// Reward penalty per parameter, as a fraction of the space's `max_params`
    /// (default 0).
    pub cost_weight: f64,
    /// At the end of the budget, train the best architecture from scratch for
    /// as many epochs as it trained itself and for as many as its lineage had,
    /// and report them next to it (default true).
    pub scratch_check: bool,
}

impl Default for EasSettings {
    fn default() -> Self {
        EasSettings {
            dataset: "mnist10k".into(),
            path: None,
            val_fraction: 0.2,
            start: "c3x8-p-c3x16-p".into(),
            start_epochs: 3,
            child_epochs: 1,
            training: TrainConfig {
                epochs: 1,
                batch_size: 64,
                optimizer: nas_core::train::OptimizerConfig::Adam { lr: 3e-3, weight_decay: 0.0 },
                max_train_samples: Some(4000),
                max_val_samples: Some(1000),
                ..TrainConfig::default()
            },
            hidden: 32,
            learning_rate: 0.02,
            entropy_weight: 0.01,
            baseline_decay: 0.9,
            reward: EasReward::Accuracy,
            cost_weight: 0.0,
            scratch_check: true,
        }
    }
}

fn invalid(field: &str, value: impl ToString, allowed: &str) -> NasError {
    NasError::InvalidValue { field: field.into(), value: value.to_string(), allowed: allowed.into() }
}

impl EasSettings {
    fn check(&self) -> Result<()> {
        NasError::check_size("start_epochs", self.start_epochs, 1, 10_000)?;
        NasError::check_size("child_epochs", self.child_epochs, 1, 10_000)?;
        NasError::check_size("hidden", self.hidden, 1, 4096)?;
        self.training.validate().map_err(|e| match e {
            NasError::InvalidValue { field, value, allowed } => {
                NasError::InvalidValue { field: format!("training.{field}"), value, allowed }
            }
            other => other,
        })?;
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(invalid("learning_rate", self.learning_rate, "a positive number"));
        }
        if !(self.entropy_weight.is_finite() && self.entropy_weight >= 0.0) {
            return Err(invalid("entropy_weight", self.entropy_weight, "a number >= 0"));
        }
        if !(0.0..1.0).contains(&self.baseline_decay) {
            return Err(invalid("baseline_decay", self.baseline_decay, "a number in [0, 1)"));
        }
        if !(self.cost_weight.is_finite() && self.cost_weight >= 0.0) {
            return Err(invalid("cost_weight", self.cost_weight, "a number >= 0"));
        }
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            return Err(invalid("val_fraction", self.val_fraction, "a fraction in (0, 1)"));
        }
        PlainCnnArch::parse(&self.start).map(|_| ())
    }
}

impl StrategySettings for EasSettings {
    const NAME: &'static str = "eas";
    const DESCRIPTION: &'static str =
        "EAS (Cai et al. 2018): grow a plain CNN by Net2Wider / Net2Deeper, children inherit weights; space plain_cnn";
    fn validate(&self) -> Result<()> {
        self.check()
    }
    fn needs(&self) -> Vec<Capability> {
        vec![Capability::Train]
    }
    fn measures(&self) -> Vec<Metric> {
        vec![Metric::Accuracy, Metric::Loss]
    }
    fn dataset(&self) -> Option<DatasetRequest> {
        Some(DatasetRequest { dataset: self.dataset.clone(), path: self.path.clone(), val_fraction: self.val_fraction })
    }
    fn min_budget(&self) -> usize {
        2
    }
    fn build(&self, ctx: &StrategyContext<'_>) -> Result<Box<dyn SearchStrategy<DynSpace>>> {
        self.check()?;
        let space = ctx.space.downcast_ref::<PlainCnnSpace>().ok_or_else(|| {
            invalid(
                "strategy.kind",
                "eas",
                &format!(
                    "a strategy for space `plain_cnn` (EAS transforms plain CNNs); this run's space is `{}`",
                    nas_core::SearchSpace::name(ctx.space)
                ),
            )
        })?;
        let data = ctx.data.ok_or_else(|| {
            invalid("strategy.dataset", &self.dataset, "a dataset the run loads (the setup passes it to the strategy)")
        })?;
        let start = nas_core::SearchSpace::parse(space, &self.start)
            .map_err(|e| invalid("strategy.start", &self.start, &format!("a network of the space: {e}")))?;
        Ok(Box::new(Eas::new(self.clone(), space.clone(), start, data.clone(), ctx.workdir, ctx.quiet, ctx.budget)))
    }
}

/// The meta-controller (see the module docs).
#[derive(Module, Debug)]
pub struct MetaController {
    kernel_embed: Param<Tensor<2>>,
    width_embed: Param<Tensor<2>>,
    pool_embed: Param<Tensor<2>>,
    encoder: BiLstm,
    widen: Linear,
    position: Linear,
    stop: Param<Tensor<1>>,
    kernel: Linear,
}

/// What the controller decided for one child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Widen convolution `l` (one flag per convolution of the parent).
    pub widen: Vec<bool>,
    /// Deepen after convolution `.0` with kernel index `.1`, or not at all.
    pub deepen: Option<(usize, usize)>,
}

/// Which decisions are allowed on a parent.
struct Masks {
    widen: Vec<bool>,
    /// `[layer][kernel index]`.
    deepen: Vec<Vec<bool>>,
}

impl Masks {
    fn of(space: &PlainCnnSpace, arch: &PlainCnnArch) -> Self {
        let kernels = &space.config().kernels;
        Masks {
            widen: (0..arch.convs.len()).map(|l| space.apply(arch, Transform::Widen { layer: l }).is_some()).collect(),
            deepen: (0..arch.convs.len())
                .map(|l| {
                    kernels
                        .iter()
                        .map(|&kernel| space.apply(arch, Transform::Deepen { layer: l, kernel }).is_some())
                        .collect()
                })
                .collect(),
        }
    }
}

const MASKED: f32 = -1e9;

impl MetaController {
    fn new(space: &PlainCnnSpace, hidden: usize, device: &Device) -> Self {
        let c = space.config();
        let emb = |n: usize| Initializer::Uniform { min: -0.1, max: 0.1 }.init([n, hidden], device);
        MetaController {
            kernel_embed: emb(c.kernels.len()),
            width_embed: emb(c.widths.len()),
            pool_embed: emb(2),
            encoder: BiLstmConfig::new(hidden, hidden, true).with_batch_first(true).init(device),
            widen: LinearConfig::new(2 * hidden, 1).with_initializer(Initializer::Zeros).init(device),
            position: LinearConfig::new(2 * hidden, 1).with_initializer(Initializer::Zeros).init(device),
            stop: Param::from_tensor(Tensor::zeros([1], device)),
            kernel: LinearConfig::new(2 * hidden, c.kernels.len()).with_initializer(Initializer::Zeros).init(device),
        }
    }

    /// Encoder states `[layers, 2 hidden]` of `arch`.
    fn encode(&self, space: &PlainCnnSpace, arch: &PlainCnnArch) -> Tensor<2> {
        let c = space.config();
        let device = self.stop.val().device();
        let idx = |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v.clone(), [v.len()]), &device);
        let k: Vec<i64> =
            arch.convs.iter().map(|l| c.kernels.iter().position(|&x| x == l.kernel).unwrap_or(0) as i64).collect();
        let w: Vec<i64> =
            arch.convs.iter().map(|l| c.widths.iter().position(|&x| x == l.filters).unwrap_or(0) as i64).collect();
        let p: Vec<i64> = arch.convs.iter().map(|l| i64::from(l.pool)).collect();
        let tokens = self.kernel_embed.val().select(0, idx(k))
            + self.width_embed.val().select(0, idx(w))
            + self.pool_embed.val().select(0, idx(p));
        let [n, d] = tokens.dims();
        let (states, _) = self.encoder.forward(tokens.reshape([1, n, d]), None);
        let [_, _, h] = states.dims();
        states.reshape([n, h])
    }

    /// Widen log-sigmoids `[layers]` (log p, log 1−p), deepen log-softmax over
    /// `layers + 1` positions (the last = none) and per-layer kernel
    /// log-softmax `[layers, kernels]`, masked.
    fn heads(&self, states: Tensor<2>, masks: &Masks) -> (Tensor<1>, Tensor<1>, Tensor<1>, Tensor<2>) {
        let [n, _] = states.dims();
        let device = states.device();
        let logit = self.widen.forward(states.clone()).reshape([n]);
        let (log_yes, log_no) = (log_sigmoid(logit.clone()), log_sigmoid(-logit));
        let pos_mask: Vec<f32> =
            masks.deepen.iter().map(|ks| if ks.iter().any(|&b| b) { 0.0 } else { MASKED }).collect();
        let pos = self.position.forward(states.clone()).reshape([n])
            + Tensor::<1>::from_data(TensorData::new(pos_mask, [n]), &device);
        let positions = log_softmax(Tensor::cat(vec![pos, self.stop.val()], 0), 0);
        let kk = masks.deepen.first().map_or(1, Vec::len);
        let k_mask: Vec<f32> = masks.deepen.iter().flatten().map(|&b| if b { 0.0 } else { MASKED }).collect();
        let kernels = log_softmax(
            self.kernel.forward(states) + Tensor::<2>::from_data(TensorData::new(k_mask, [n, kk]), &device),
            1,
        );
        (log_yes, log_no, positions, kernels)
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32").into_iter().map(f64::from).collect()
    }

    /// Samples one decision.
    fn sample(&self, space: &PlainCnnSpace, arch: &PlainCnnArch, masks: &Masks, rng: &mut dyn RngCore) -> Decision {
        let (log_yes, _, positions, kernels) = self.heads(self.encode(space, arch).detach(), masks);
        let yes = Self::values(log_yes);
        let widen = yes.iter().zip(&masks.widen).map(|(lp, &ok)| ok && rng.random::<f64>() < lp.exp()).collect();
        let pos: Vec<f64> = Self::values(positions).into_iter().map(f64::exp).collect();
        let at = sample_index(&pos, rng);
        let deepen = (at < arch.convs.len()).then(|| {
            let kk = masks.deepen[at].len();
            let row: Vec<f64> = Self::values(kernels).into_iter().skip(at * kk).take(kk).map(f64::exp).collect();
            (at, sample_index(&row, rng))
        });
        Decision { widen, deepen }
    }

    /// `log π(decision)` and the entropy of the distributions it was drawn
    /// from (widen flags and position; the kernel's when it deepens), tracked.
    fn log_prob(
        &self,
        space: &PlainCnnSpace,
        arch: &PlainCnnArch,
        masks: &Masks,
        d: &Decision,
    ) -> (Tensor<1>, Tensor<1>) {
        let (log_yes, log_no, positions, kernels) = self.heads(self.encode(space, arch), masks);
        let n = arch.convs.len();
        let device = log_yes.device();
        let pick = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [n]), &device);
        let yes: Vec<f32> = (0..n).map(|l| f32::from(u8::from(masks.widen[l] && d.widen[l]))).collect();
        let no: Vec<f32> = (0..n).map(|l| f32::from(u8::from(masks.widen[l] && !d.widen[l]))).collect();
        let live: Vec<f32> = masks.widen.iter().map(|&b| f32::from(u8::from(b))).collect();
        let mut lp = (log_yes.clone() * pick(yes)).sum() + (log_no.clone() * pick(no)).sum();
        let widen_entropy = -((log_yes.clone().exp() * log_yes + log_no.clone().exp() * log_no) * pick(live)).sum();
        let at = d.deepen.map_or(n, |(l, _)| l);
        lp = lp + positions.clone().narrow(0, at, 1);
        let position_entropy = -(positions.clone().exp() * positions.clamp_min(-1e4)).sum();
        let mut entropy = widen_entropy + position_entropy;
        if let Some((l, k)) = d.deepen {
            let row = kernels.narrow(0, l, 1).reshape([masks.deepen[l].len()]);
            lp = lp + row.clone().narrow(0, k, 1);
            entropy = entropy - (row.clone().exp() * row.clamp_min(-1e4)).sum();
        }
        (lp, entropy)
    }
}

/// How an architecture the strategy proposed is produced.
#[derive(Clone, Debug)]
enum Plan {
    Start { seed: u64 },
    Child { parent: ArchId, parent_arch: PlainCnnArch, transforms: Vec<Transform>, seed: u64 },
}

/// One sample of a step.
#[derive(Clone, Debug)]
struct Sample {
    decision: Decision,
    child: ArchId,
}

/// One network of the lineage, as written to `eas/lineage.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineageRecord {
    /// Its id (hex).
    pub id: String,
    /// Its notation.
    pub arch: String,
    /// The parent's id (none for the start network).
    pub parent: Option<String>,
    /// The parent's notation.
    pub parent_arch: Option<String>,
    /// The transformations from the parent.
    pub transforms: Vec<String>,
    /// Controller step that proposed it (0 = the start network).
    pub step: usize,
    /// Epochs it trained itself.
    pub epochs: usize,
    /// Epochs along its lineage (its own and all its ancestors').
    pub lineage_epochs: usize,
    /// Validation accuracy (%), when its trial succeeded.
    pub val_accuracy: Option<f64>,
    /// Trainable parameters.
    pub params: u64,
    /// Seconds of its own training, when measured in this run directory.
    pub train_seconds: Option<f64>,
    /// Why its trial failed, if it did.
    pub failure: Option<String>,
}

/// A trained network's report, `eas/children/<id>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ChildReport {
    val_accuracy: f64,
    val_loss: f64,
    seconds: f64,
    epochs: usize,
}

/// One controller update, in `eas/history.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EasUpdate {
    /// Step.
    pub step: usize,
    /// The parent's notation.
    pub parent: String,
    /// Samples (children, repeats included).
    pub samples: usize,
    /// Samples of networks evaluated before.
    pub repeats: usize,
    /// Mean reward.
    pub reward_mean: f64,
    /// Baseline before the update.
    pub baseline: f64,
    /// Mean entropy of the decisions.
    pub entropy: f64,
}

/// One network in `eas/summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryEntry {
    /// Notation.
    pub arch: String,
    /// Validation accuracy (%).
    pub val_accuracy: f64,
    /// Epochs of training behind it.
    pub epochs: usize,
    /// Parameters.
    pub params: u64,
}

/// `eas/summary.json`: the start network, the best one, and the best
/// architecture trained from scratch for as many epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EasSummary {
    /// The start network after `start_epochs`.
    pub start: SummaryEntry,
    /// The best network found (inherited weights), with its lineage epochs.
    pub best: SummaryEntry,
    /// Its lineage from the start network: notations.
    pub path: Vec<String>,
    /// The best architecture trained from scratch for as many epochs as the
    /// best network trained itself after inheriting its weights (Net2Net's
    /// comparison: same training, with or without inheritance).
    pub scratch_brief: Option<SummaryEntry>,
    /// The best architecture trained from scratch (one schedule) for as many
    /// epochs as its whole lineage had.
    pub scratch_lineage: Option<SummaryEntry>,
}

/// The EAS strategy (see the module docs).
pub struct Eas {
    settings: EasSettings,
    space: PlainCnnSpace,
    start: PlainCnnArch,
    data: DataSplit,
    workdir: Option<PathBuf>,
    quiet: bool,
    budget: usize,
    device: Device,
    controller: Option<MetaController>,
    optim: ModuleOptimizer,
    baseline: MovingAverage,
    adv_var: MovingAverage,
    plans: HashMap<ArchId, Plan>,
    proposed: BTreeSet<ArchId>,
    lineage: Vec<LineageRecord>,
    index: HashMap<ArchId, usize>,
    results: HashMap<ArchId, Option<f64>>,
    weights: HashMap<ArchId, PlainWeights>,
    reports: HashMap<ArchId, ChildReport>,
    parent: Option<(ArchId, PlainCnnArch)>,
    pending: Vec<Sample>,
    history: Vec<EasUpdate>,
    step: usize,
    told: usize,
    failure: Option<NasError>,
}

impl Eas {
    fn new(
        settings: EasSettings,
        space: PlainCnnSpace,
        start: PlainCnnArch,
        data: DataSplit,
        workdir: Option<&Path>,
        quiet: bool,
        budget: usize,
    ) -> Self {
        Eas {
            settings,
            space,
            start,
            data,
            workdir: workdir.map(Path::to_path_buf),
            quiet,
            budget,
            device: Device::flex(),
            controller: None,
            optim: AdamConfig::new().init(),
            baseline: MovingAverage::default(),
            adv_var: MovingAverage::default(),
            plans: HashMap::new(),
            proposed: BTreeSet::new(),
            lineage: Vec::new(),
            index: HashMap::new(),
            results: HashMap::new(),
            weights: HashMap::new(),
            reports: HashMap::new(),
            parent: None,
            pending: Vec::new(),
            history: Vec::new(),
            step: 0,
            told: 0,
            failure: None,
        }
    }

    fn dir(&self) -> Option<PathBuf> {
        self.workdir.as_ref().map(|d| d.join("eas"))
    }

    fn arch_of(arch: &AnyArch) -> &PlainCnnArch {
        arch.downcast_ref::<PlainCnnArch>().expect("eas runs on the plain_cnn space (checked at build)")
    }

    /// The reward of a validation accuracy (%) for `arch`.
    fn reward(&self, accuracy: f64, arch: &PlainCnnArch) -> f64 {
        let a = (accuracy / 100.0).clamp(0.0, 0.999);
        let r = match self.settings.reward {
            EasReward::Accuracy => a,
            EasReward::Tan => (a * std::f64::consts::FRAC_PI_2).tan(),
        };
        r - self.settings.cost_weight * self.space.params(arch) as f64 / self.space.config().max_params as f64
    }

    /// The best successful network so far (highest reward, earliest on ties).
    fn best(&self) -> Option<(ArchId, PlainCnnArch, f64)> {
        let mut best: Option<(ArchId, PlainCnnArch, f64)> = None;
        for rec in &self.lineage {
            let Some(acc) = rec.val_accuracy else { continue };
            let arch = PlainCnnArch::parse(&rec.arch).expect("recorded notation");
            let r = self.reward(acc, &arch);
            if best.as_ref().is_none_or(|b| r > b.2) {
                best = Some((arch.id(), arch, r));
            }
        }
        best
    }

    fn record(&mut self, id: ArchId, arch: &PlainCnnArch) {
        if self.index.contains_key(&id) {
            return;
        }
        let (parent, parent_arch, transforms, epochs, lineage_epochs) = match &self.plans[&id] {
            Plan::Start { .. } => (None, None, Vec::new(), self.settings.start_epochs, self.settings.start_epochs),
            Plan::Child { parent, parent_arch, transforms, .. } => {
                let up = self.index.get(parent).map_or(0, |&i| self.lineage[i].lineage_epochs);
                (
                    Some(format!("{parent}")),
                    Some(parent_arch.notation()),
                    transforms.iter().map(Transform::to_string).collect(),
                    self.settings.child_epochs,
                    up + self.settings.child_epochs,
                )
            }
        };
        self.index.insert(id, self.lineage.len());
        self.lineage.push(LineageRecord {
            id: format!("{id}"),
            arch: arch.notation(),
            parent,
            parent_arch,
            transforms,
            step: self.step,
            epochs,
            lineage_epochs,
            val_accuracy: None,
            params: self.space.params(arch),
            train_seconds: None,
            failure: None,
        });
    }

    fn build_controller(&mut self, rng: &mut dyn RngCore) {
        let seed = rng.next_u64();
        let device = self.device.clone();
        let (space, hidden) = (&self.space, self.settings.hidden);
        self.controller = Some(init_seeded(seed, &device, || MetaController::new(space, hidden, &device)).train());
    }

    /// The transformations of `d` applied to `parent`, in order (widen each
    /// flagged convolution, then deepen), skipping any that no longer fits.
    fn child_of(&self, parent: &PlainCnnArch, d: &Decision) -> (PlainCnnArch, Vec<Transform>) {
        let mut arch = parent.clone();
        let mut done = Vec::new();
        let steps = d
            .widen
            .iter()
            .enumerate()
            .filter(|(_, w)| **w)
            .map(|(layer, _)| Transform::Widen { layer })
            .chain(d.deepen.map(|(layer, k)| Transform::Deepen { layer, kernel: self.space.config().kernels[k] }));
        for t in steps {
            if let Some(next) = self.space.apply(&arch, t) {
                arch = next;
                done.push(t);
            }
        }
        (arch, done)
    }

    /// The decision that is exactly the transformation `t` (the uniform fallback).
    fn decision_of(&self, parent: &PlainCnnArch, t: Transform) -> Decision {
        let mut widen = vec![false; parent.convs.len()];
        let mut deepen = None;
        match t {
            Transform::Widen { layer } => widen[layer] = true,
            Transform::Deepen { layer, kernel } => {
                let k = self.space.config().kernels.iter().position(|&x| x == kernel).unwrap_or(0);
                deepen = Some((layer, k));
            }
        }
        Decision { widen, deepen }
    }

    fn load_weights(&mut self, id: ArchId, arch: &PlainCnnArch) -> std::result::Result<PlainWeights, EvalError> {
        if let Some(w) = self.weights.get(&id) {
            return Ok(w.clone());
        }
        let Some(dir) = self.dir() else {
            return Err(EvalError::Fatal(NasError::StrategyFailed {
                strategy: "eas".into(),
                message: format!("the weights of {} are gone (no run directory to reload them from)", arch.notation()),
            }));
        };
        let path = dir.join("weights").join(format!("{id}.bpk"));
        let c = self.space.config();
        let net =
            PlainCnnNet::new(arch, c.input_chw[0], c.num_classes, &self.device).try_load_file(&path).map_err(|e| {
                EvalError::Fatal(NasError::StrategyFailed {
                    strategy: "eas".into(),
                    message: format!("cannot load the weights of {} from {}: {e:?}", arch.notation(), path.display()),
                })
            })?;
        let w = net.weights();
        self.weights.insert(id, w.clone());
        Ok(w)
    }

    fn save(&self, id: ArchId, net: &PlainCnnNet, report: &ChildReport) -> std::result::Result<(), EvalError> {
        let Some(dir) = self.dir() else { return Ok(()) };
        let fatal = |what: String| EvalError::Fatal(NasError::StrategyFailed { strategy: "eas".into(), message: what });
        let weights = dir.join("weights");
        std::fs::create_dir_all(&weights).map_err(|e| fatal(format!("cannot create {}: {e}", weights.display())))?;
        // Written aside and renamed: a weights file is complete or absent.
        let tmp = weights.join(format!("{id}.partial.bpk"));
        net.clone().save_file(&tmp).map_err(|e| fatal(format!("cannot write {}: {e:?}", tmp.display())))?;
        let target = weights.join(format!("{id}.bpk"));
        std::fs::rename(&tmp, &target).map_err(|e| fatal(format!("cannot write {}: {e}", target.display())))?;
        let json = serde_json::to_string_pretty(report).unwrap_or_default();
        write_atomic(&dir.join("children").join(format!("{id}.json")), json.as_bytes()).map_err(EvalError::Fatal)
    }

    /// Trains `arch` from `net` for `epochs` (seeded), keeps its weights.
    fn train(
        &mut self,
        id: ArchId,
        net: PlainCnnNet,
        epochs: usize,
        seed: u64,
    ) -> std::result::Result<MetricMap, EvalError> {
        let cfg = TrainConfig { epochs, ..self.settings.training.clone() };
        let (trained, report) =
            fit_classifier(net, &self.data.train, &self.data.val, &cfg, seed, &self.device, &mut |_| {})
                .map_err(|e| EvalError::Failed { reason: e.to_string() })?;
        let trained = trained.valid();
        let r = ChildReport {
            val_accuracy: report.val_accuracy,
            val_loss: report.val_loss,
            seconds: report.seconds,
            epochs,
        };
        self.save(id, &trained, &r)?;
        self.weights.insert(id, trained.weights());
        self.reports.insert(id, r);
        Ok(MetricMap::from([(Metric::Accuracy, report.val_accuracy), (Metric::Loss, report.val_loss)]))
    }

    /// A report written by an earlier process for `id` whose weights are on disk.
    fn cached(&self, id: ArchId) -> Option<ChildReport> {
        let dir = self.dir()?;
        if !dir.join("weights").join(format!("{id}.bpk")).exists() {
            return None;
        }
        let text = std::fs::read_to_string(dir.join("children").join(format!("{id}.json"))).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn update_controller(&mut self) {
        let Some((_, parent)) = self.parent.clone() else { return };
        let mut rewards = Vec::new();
        let mut decisions = Vec::new();
        let mut repeats = 0;
        let mut first = BTreeSet::new();
        for s in &self.pending {
            let Some(outcome) = self.results.get(&s.child) else { continue };
            if !first.insert(s.child) {
                repeats += 1;
            }
            let arch = PlainCnnArch::parse(&self.lineage[self.index[&s.child]].arch).expect("recorded");
            rewards.push(outcome.map(|acc| self.reward(acc, &arch)));
            decisions.push(s.decision.clone());
        }
        if rewards.is_empty() {
            return;
        }
        let (rewards, _) = fill_failures(&rewards);
        let mean = rewards.iter().sum::<f64>() / rewards.len() as f64;
        let b = self.baseline.value_or(mean);
        let decay = self.settings.baseline_decay;
        let mut adv = vec![rewards.iter().map(|r| r - b).collect::<Vec<f64>>()];
        scale_advantages(&mut adv, &mut self.adv_var, decay);
        let adv = adv.pop().expect("one group");
        self.baseline.update(mean, decay);
        let masks = Masks::of(&self.space, &parent);
        let controller = self.controller.take().expect("built at the first ask");
        let mut loss: Option<Tensor<1>> = None;
        let mut entropy_sum = 0.0;
        for (d, a) in decisions.iter().zip(&adv) {
            let (lp, h) = controller.log_prob(&self.space, &parent, &masks, d);
            entropy_sum += f64::from(h.clone().into_scalar::<f32>());
            let term = lp * (-*a as f32) - h * self.settings.entropy_weight as f32;
            loss = Some(match loss {
                Some(l) => l + term,
                None => term,
            });
        }
        let loss = loss.expect("at least one sample") / decisions.len() as f32;
        let grads = GradientsParams::from_grads(loss.backward(), &controller);
        self.controller = Some(self.optim.step(self.settings.learning_rate, controller, grads));
        self.history.push(EasUpdate {
            step: self.step,
            parent: parent.notation(),
            samples: decisions.len(),
            repeats,
            reward_mean: mean,
            baseline: b,
            entropy: entropy_sum / decisions.len() as f64,
        });
    }

    fn write_files(&self) {
        let Some(dir) = self.dir() else { return };
        let write = |name: &str, json: serde_json::Result<String>| {
            if let Err(e) = write_atomic(&dir.join(name), json.unwrap_or_default().as_bytes())
                && !self.quiet
            {
                eprintln!("warning: eas: cannot write eas/{name}: {e}");
            }
        };
        write("lineage.json", serde_json::to_string_pretty(&self.lineage));
        write("history.json", serde_json::to_string_pretty(&self.history));
    }

    /// The lineage of `id` from the start network (notations).
    fn path_to(&self, id: ArchId) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = self.index.get(&id).copied();
        while let Some(i) = at {
            let rec = &self.lineage[i];
            out.push(rec.arch.clone());
            at = rec.parent.as_ref().and_then(|p| self.lineage.iter().position(|r| &r.id == p));
        }
        out.reverse();
        out
    }

    /// `arch` trained from scratch (seeded by its id) for `epochs`.
    fn train_from_scratch(&self, arch: &PlainCnnArch, epochs: usize) -> Option<SummaryEntry> {
        let c = self.space.config();
        let seed = nas_core::seed::derive_seed(arch.id().0, 0x5C7A + epochs as u64);
        let net =
            init_seeded(seed, &self.device, || PlainCnnNet::new(arch, c.input_chw[0], c.num_classes, &self.device));
        let cfg = TrainConfig { epochs, ..self.settings.training.clone() };
        match fit_classifier(net, &self.data.train, &self.data.val, &cfg, seed, &self.device, &mut |_| {}) {
            Ok((_, r)) => Some(SummaryEntry {
                arch: arch.notation(),
                val_accuracy: r.val_accuracy,
                epochs,
                params: self.space.params(arch),
            }),
            Err(e) => {
                if !self.quiet {
                    eprintln!("warning: eas: training {} from scratch failed: {e}", arch.notation());
                }
                None
            }
        }
    }

    /// `summary.json` at the end of the budget (see the module docs).
    fn summarise(&mut self) {
        let Some((best_id, best_arch, _)) = self.best() else { return };
        let start_id = self.start.id();
        let entry = |s: &Self, id: ArchId| -> Option<SummaryEntry> {
            let rec = &s.lineage[*s.index.get(&id)?];
            Some(SummaryEntry {
                arch: rec.arch.clone(),
                val_accuracy: rec.val_accuracy?,
                epochs: rec.lineage_epochs,
                params: rec.params,
            })
        };
        let (Some(start), Some(best)) = (entry(self, start_id), entry(self, best_id)) else { return };
        let previous: Option<EasSummary> = self
            .dir()
            .and_then(|d| std::fs::read_to_string(d.join("summary.json")).ok())
            .and_then(|t| serde_json::from_str(&t).ok());
        let reuse = previous.filter(|p| p.best == best);
        let (brief, lineage) = match reuse {
            Some(p) => (p.scratch_brief, p.scratch_lineage),
            None if self.settings.scratch_check => {
                let own = self.lineage[self.index[&best_id]].epochs;
                (self.train_from_scratch(&best_arch, own), self.train_from_scratch(&best_arch, best.epochs))
            }
            None => (None, None),
        };
        let summary =
            EasSummary { start, best, path: self.path_to(best_id), scratch_brief: brief, scratch_lineage: lineage };
        if let Some(dir) = self.dir() {
            let json = serde_json::to_string_pretty(&summary).unwrap_or_default();
            if let Err(e) = write_atomic(&dir.join("summary.json"), json.as_bytes())
                && !self.quiet
            {
                eprintln!("warning: eas: cannot write eas/summary.json: {e}");
            }
        }
    }
}

impl SearchStrategy<DynSpace> for Eas {
    fn name(&self) -> &'static str {
        "eas"
    }

    fn ask(&mut self, _space: &DynSpace, n: usize, rng: &mut dyn RngCore) -> Vec<AnyArch> {
        if self.controller.is_none() {
            self.build_controller(rng);
        }
        self.pending.clear();
        let start_id = self.start.id();
        if !self.proposed.contains(&start_id) {
            let seed = rng.next_u64();
            self.plans.insert(start_id, Plan::Start { seed });
            self.proposed.insert(start_id);
            self.record(start_id, &self.start.clone());
            return vec![AnyArch::new(self.start.clone())];
        }
        let Some((parent_id, parent, _)) = self.best() else {
            self.failure = Some(NasError::StrategyFailed {
                strategy: "eas".into(),
                message: format!("the start network {} did not train; nothing to grow", self.start.notation()),
            });
            return Vec::new();
        };
        self.parent = Some((parent_id, parent.clone()));
        self.step += 1;
        let masks = Masks::of(&self.space, &parent);
        let seed = rng.next_u64();
        let controller = self.controller.take().expect("built");
        let pool = shared_pool(1, "controller").expect("a one-thread pool starts");
        let draws: Vec<Decision> = pool.install(|| {
            let mut local = ChaCha8Rng::seed_from_u64(seed);
            (0..n.saturating_mul(20)).map(|_| controller.sample(&self.space, &parent, &masks, &mut local)).collect()
        });
        self.controller = Some(controller);
        let mut out = Vec::new();
        for d in draws {
            if out.len() >= n {
                break;
            }
            let (child, transforms) = self.child_of(&parent, &d);
            let id = child.id();
            if transforms.is_empty() {
                // No transformation: the parent itself, rewarded from the record.
                self.pending.push(Sample { decision: d, child: parent_id });
                continue;
            }
            self.pending.push(Sample { decision: d, child: id });
            if self.proposed.insert(id) {
                let seed = rng.next_u64();
                self.plans.insert(id, Plan::Child { parent: parent_id, parent_arch: parent.clone(), transforms, seed });
                self.record(id, &child);
                out.push(AnyArch::new(child));
            }
        }
        // A controller that keeps repeating itself: single random transformations.
        let mut options = self.space.transforms(&parent);
        while out.len() < n && !options.is_empty() {
            let t = options.swap_remove(rng.random_range(0..options.len()));
            let child = self.space.apply(&parent, t).expect("listed");
            let id = child.id();
            if self.proposed.insert(id) {
                let seed = rng.next_u64();
                self.pending.push(Sample { decision: self.decision_of(&parent, t), child: id });
                self.plans.insert(
                    id,
                    Plan::Child { parent: parent_id, parent_arch: parent.clone(), transforms: vec![t], seed },
                );
                self.record(id, &child);
                out.push(AnyArch::new(child));
            }
        }
        out
    }

    fn measure(&mut self, _space: &DynSpace, arch: &AnyArch) -> Option<std::result::Result<MetricMap, EvalError>> {
        let id = arch.id();
        let plan = self.plans.get(&id)?.clone();
        let typed = Self::arch_of(arch).clone();
        if let Some(r) = self.cached(id) {
            // Trained by an earlier process that stopped before recording the trial.
            if let Err(e) = self.load_weights(id, &typed) {
                return Some(Err(e));
            }
            self.reports.insert(id, r.clone());
            return Some(Ok(MetricMap::from([(Metric::Accuracy, r.val_accuracy), (Metric::Loss, r.val_loss)])));
        }
        let c = self.space.config().clone();
        Some(match plan {
            Plan::Start { seed } => {
                let net = init_seeded(seed, &self.device, || {
                    PlainCnnNet::new(&typed, c.input_chw[0], c.num_classes, &self.device)
                });
                self.train(id, net, self.settings.start_epochs, seed)
            }
            Plan::Child { parent, parent_arch, transforms, seed } => {
                let mut weights = match self.load_weights(parent, &parent_arch) {
                    Ok(w) => w,
                    Err(e) => return Some(Err(e)),
                };
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut at = parent_arch;
                for t in transforms {
                    match morph::transform(&self.space, &at, &weights, t, &mut rng) {
                        Some((a, w)) => (at, weights) = (a, w),
                        None => {
                            return Some(Err(EvalError::Failed {
                                reason: format!("{t} does not apply to {}", at.notation()),
                            }));
                        }
                    }
                }
                let net = PlainCnnNet::from_weights(&at, &weights, &self.device);
                self.train(id, net, self.settings.child_epochs, seed)
            }
        })
    }

    fn tell(&mut self, _space: &DynSpace, results: &[Evaluated<AnyArch>]) {
        for r in results {
            if !self.plans.contains_key(&r.id) {
                continue;
            }
            let arch = Self::arch_of(&r.arch).clone();
            self.record(r.id, &arch);
            let acc = r.metrics.get(&Metric::Accuracy).copied().filter(|_| r.objectives.is_some());
            if !self.results.contains_key(&r.id) {
                self.told += 1;
            }
            self.results.insert(r.id, acc);
            let seconds = self.reports.get(&r.id).map(|x| x.seconds).or_else(|| self.cached(r.id).map(|x| x.seconds));
            let rec = &mut self.lineage[self.index[&r.id]];
            rec.val_accuracy = acc;
            rec.train_seconds = seconds;
            rec.failure = acc.is_none().then(|| "failed (see trials.jsonl)".to_string());
        }
        let pool = shared_pool(1, "controller").expect("a one-thread pool starts");
        pool.install(|| self.update_controller());
        self.pending.clear();
        // Keep only the weights the next step grows from.
        if let Some((best, _, _)) = self.best() {
            self.weights.retain(|id, _| *id == best);
        }
        self.write_files();
        if self.told >= self.budget {
            self.summarise();
        }
    }

    fn failure(&mut self) -> Option<NasError> {
        self.failure.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plain_cnn::PlainCnnConfig;
    use nas_core::train::ImageDataset;
    use nas_core::{Objective, Problem, Search, SearchConfig, SearchSpace, Trial};

    /// 8x8 textures of 4 classes (horizontal stripes, vertical stripes,
    /// checkerboard, flat), random phase, plus noise: what local filters and
    /// global average pooling can tell apart.
    fn textures(n: usize, seed: u64) -> ImageDataset {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pixels = Vec::with_capacity(n * 64);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let class = i % 4;
            let phase = rng.random_range(0..2usize);
            for y in 0..8 {
                for x in 0..8 {
                    let on = match class {
                        0 => (y + phase) % 2 == 0,
                        1 => (x + phase) % 2 == 0,
                        2 => (x + y + phase) % 2 == 0,
                        _ => phase == 0,
                    };
                    pixels.push(if on { 1.0 } else { 0.0 } + rng.random_range(-0.3..0.3));
                }
            }
            labels.push(class as u32);
        }
        ImageDataset::new("textures", [1, 8, 8], 4, pixels, labels).expect("valid")
    }

    fn space() -> PlainCnnSpace {
        PlainCnnSpace::new(PlainCnnConfig {
            input_chw: [1, 8, 8],
            num_classes: 4,
            widths: vec![4, 6, 8, 12],
            max_convs: 4,
            max_pools: 2,
            max_params: 3000,
            ..PlainCnnConfig::default()
        })
        .expect("space")
    }

    fn settings() -> EasSettings {
        EasSettings {
            start: "c3x4-p-c3x4".into(),
            start_epochs: 2,
            child_epochs: 1,
            training: TrainConfig {
                batch_size: 16,
                optimizer: nas_core::train::OptimizerConfig::Adam { lr: 1e-2, weight_decay: 0.0 },
                max_train_samples: None,
                max_val_samples: None,
                ..Default::default()
            },
            ..EasSettings::default()
        }
    }

    /// Runs EAS for `budget` networks in `workdir`, resuming from `prior`.
    fn run(budget: usize, workdir: Option<&Path>, prior: Vec<Trial>) -> (Vec<Trial>, Vec<LineageRecord>) {
        let space = space();
        let dyn_space = DynSpace::new(space.clone(), serde_json::json!({}));
        let data = DataSplit::new(&textures(240, 1), 0.25, 7).expect("split");
        let start = space.parse(&settings().start).expect("start");
        let mut eas = Eas::new(settings(), space, start, data, workdir, true, budget);
        let problem = Problem::new(vec![Objective::natural(Metric::Accuracy)], vec![]);
        let eval = nas_core::Joint::new(Vec::new());
        let out =
            Search::new(&dyn_space, &eval, &problem, SearchConfig { batch_size: 3, ..SearchConfig::new(budget, 5) })
                .resume_from(prior)
                .run(&mut eas)
                .expect("runs");
        (out.trials, eas.lineage.clone())
    }

    #[test]
    fn decision_probabilities_sum_to_one_and_masks_hold() {
        let space = space();
        let device = Device::flex();
        let c = init_seeded(3, &device, || MetaController::new(&space, 8, &device));
        // Give the heads weights so the distribution is not uniform.
        let c = init_seeded(4, &device, || MetaController {
            widen: LinearConfig::new(16, 1).init(&device),
            position: LinearConfig::new(16, 1).init(&device),
            kernel: LinearConfig::new(16, 3).init(&device),
            ..c
        });
        // conv1 is at the top of the ladder: it cannot widen.
        let arch = space.parse("c3x4-p-c3x12").expect("valid");
        let masks = Masks::of(&space, &arch);
        assert_eq!(masks.widen, vec![true, false]);
        let mut total = 0.0;
        for flags in 0..4u8 {
            let widen = vec![flags & 1 == 1, flags & 2 == 2];
            let mut deepens: Vec<Option<(usize, usize)>> = vec![None];
            for (l, ks) in masks.deepen.iter().enumerate() {
                deepens.extend(ks.iter().enumerate().filter(|(_, ok)| **ok).map(|(k, _)| Some((l, k))));
            }
            for deepen in deepens {
                let d = Decision { widen: widen.clone(), deepen };
                let (lp, _) = c.log_prob(&space, &arch, &masks, &d);
                // A masked widen flag contributes nothing: count only its `false` form.
                if !widen[1] {
                    total += f64::from(lp.into_scalar::<f32>()).exp();
                }
            }
        }
        assert!((total - 1.0).abs() < 1e-4, "probabilities sum to {total}");
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..200 {
            let d = c.sample(&space, &arch, &masks, &mut rng);
            assert!(!d.widen[1], "a masked widening was sampled");
            if let Some((l, k)) = d.deepen {
                assert!(masks.deepen[l][k]);
            }
        }
    }

    #[test]
    fn children_grow_from_their_parents_and_a_resumed_run_matches() {
        let tmp = tempfile::tempdir().expect("tmp");
        let full_dir = tmp.path().join("full");
        let (trials, lineage) = run(7, Some(&full_dir), Vec::new());
        assert_eq!(trials.len(), 7);
        assert!(trials.iter().all(Trial::is_ok), "{trials:?}");
        assert_eq!(lineage[0].arch, "c3x4-p-c3x4");
        assert!(lineage[0].parent.is_none() && lineage[0].lineage_epochs == 2);
        for r in &lineage[1..] {
            let p = lineage.iter().find(|q| Some(&q.id) == r.parent.as_ref()).expect("the parent is in the lineage");
            assert!(!r.transforms.is_empty());
            assert_eq!(r.lineage_epochs, p.lineage_epochs + 1);
            assert!(r.params >= p.params);
        }
        // The start network learns the textures; its children start from it.
        let start_acc = lineage[0].val_accuracy.expect("trained");
        assert!(start_acc > 40.0, "start network: {start_acc}%");
        let summary: EasSummary =
            serde_json::from_str(&std::fs::read_to_string(full_dir.join("eas/summary.json")).expect("summary"))
                .expect("json");
        assert!(summary.best.val_accuracy >= summary.start.val_accuracy);
        assert!(summary.scratch_brief.is_some() && summary.scratch_lineage.is_some());
        assert_eq!(summary.path.first().map(String::as_str), Some("c3x4-p-c3x4"));
        // Crash after 4 trials: the weights of the later ones were never written.
        let cut = tmp.path().join("cut");
        std::fs::create_dir_all(cut.join("eas/weights")).expect("dirs");
        std::fs::create_dir_all(cut.join("eas/children")).expect("dirs");
        for t in &trials[..4] {
            for (sub, ext) in [("weights", "bpk"), ("children", "json")] {
                let f = format!("eas/{sub}/{}.{ext}", t.arch_id);
                std::fs::copy(full_dir.join(&f), cut.join(&f)).expect("copy");
            }
        }
        let (resumed, lineage2) = run(7, Some(&cut), trials[..4].to_vec());
        let key = |t: &Trial| (t.arch.clone(), t.metrics.clone());
        assert_eq!(resumed.iter().map(key).collect::<Vec<_>>(), trials.iter().map(key).collect::<Vec<_>>());
        let strip = |l: &[LineageRecord]| -> Vec<(String, Option<f64>, usize)> {
            l.iter().map(|r| (r.arch.clone(), r.val_accuracy, r.lineage_epochs)).collect()
        };
        assert_eq!(strip(&lineage2), strip(&lineage));
    }

    #[test]
    fn settings_are_checked_and_other_spaces_refused() {
        for (s, field) in [
            (EasSettings { start: "p-c3x4".into(), ..EasSettings::default() }, "plain_cnn"),
            (EasSettings { child_epochs: 0, ..EasSettings::default() }, "child_epochs"),
            (EasSettings { learning_rate: -1.0, ..EasSettings::default() }, "learning_rate"),
        ] {
            let e = s.validate().expect_err(field).to_string();
            assert!(e.contains(field), "{e}");
        }
        assert!(serde_json::from_str::<EasSettings>(r#"{"child_epoch": 1}"#).is_err());
    }
}
