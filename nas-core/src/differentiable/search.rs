//! One seed's differentiable search: the alternating loop, the collapse guard,
//! a checkpoint per epoch and resume from the last one.
//!
//! Each step first updates the architecture weights on a batch of the
//! architecture split (after `warmup_epochs`), then the network weights on a
//! batch of the weight split, as DARTS does. Randomness (batch order, Gumbel
//! noise, sampled paths) comes from generators seeded by (seed, epoch), so a
//! search resumed from the checkpoint of epoch `e` goes on exactly as an
//! uninterrupted one. The checkpoint holds the supernet, the architecture
//! weights, both optimisers' states and the history so far; it is written to
//! `epoch-NNN.partial/` and renamed, so a kill leaves only complete ones.

use super::DiffError;
use super::arch_params::{
    ArchParams, gdas_mix, gumbel_noise, matrix_tensor, matrix_values, method_mix, proxyless_alpha_grad,
    proxyless_arch_mix, proxyless_rescale,
};
use super::cost::LinearCost;
use super::guard::{GuardPolicy, mean_entropy};
use super::memory;
use super::mix::{EdgeMix, MixKind};
use super::settings::{DifferentiableSettings, Method};
use super::supernet::{SupernetLayout, SupernetModel, SupernetSpace};
use crate::fsutil::write_atomic;
use crate::seed::derive_seed;
use crate::train::data::Batch;
use crate::train::{ImageDataset, OptimizerConfig, init_seeded};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What one seed's search is given.
pub struct SeedJob<'a> {
    /// The method.
    pub method: Method,
    /// The settings.
    pub settings: &'a DifferentiableSettings,
    /// The seed (initialisation, batch order, samples).
    pub seed: u64,
    /// The split that trains the network weights.
    pub train: &'a ImageDataset,
    /// The split that trains the architecture weights.
    pub val: &'a ImageDataset,
    /// The hardware term's cost model, when the loss has one.
    pub cost: Option<&'a LinearCost>,
    /// Where checkpoints and the result go (`None`: nowhere, no resume).
    pub dir: Option<&'a Path>,
    /// One line per epoch and per guard action.
    pub log: &'a (dyn Fn(&str) + Sync),
}

/// What was measured at the end of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch (1-based).
    pub epoch: usize,
    /// The architecture derived now (op per edge).
    pub choices: Vec<usize>,
    /// `softmax(α)` per edge.
    pub op_weights: Vec<Vec<f64>>,
    /// Edge weights (PC-DARTS).
    pub edge_weights: Option<Vec<f64>>,
    /// Mean entropy of the op weights (nats).
    pub entropy: f64,
    /// Share of parameter-free ops in the derived architecture.
    pub param_free_share: f64,
    /// Dominant eigenvalue of the validation loss's Hessian w.r.t. α.
    pub hessian_eigenvalue: Option<f64>,
    /// Supernet accuracy (%) on the weight-step batches of the epoch.
    pub train_accuracy: f64,
    /// Supernet accuracy (%) on the architecture-step batches (`None` during
    /// warm-up).
    pub val_accuracy: Option<f64>,
    /// Mean cross-entropy of the weight steps.
    pub train_loss: f64,
    /// Mean cross-entropy of the architecture steps.
    pub val_loss: Option<f64>,
    /// Expected cost under the op weights (hardware loss only).
    pub expected_cost: Option<f64>,
    /// Modelled cost of the derived architecture (hardware loss only).
    pub derived_cost: Option<f64>,
    /// GDAS's temperature.
    pub tau: Option<f64>,
    /// The weight decay multiplier in force (the `regularise` policy raises it).
    pub weight_decay_factor: f64,
    /// What the collapse guard saw and did this epoch.
    pub guard: Option<String>,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
}

/// The result of one seed's search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedOutcome {
    /// The seed.
    pub seed: u64,
    /// The method (`darts`, ...).
    pub method: String,
    /// The space's edges and ops (names for the plots).
    pub layout: SupernetLayout,
    /// The derived architecture (op per edge).
    pub choices: Vec<usize>,
    /// The epoch whose weights it was derived from.
    pub derived_epoch: usize,
    /// Epochs trained.
    pub epochs_run: usize,
    /// Edges changed to meet the hard cost limit.
    pub projected_edges: usize,
    /// One record per epoch.
    pub history: Vec<EpochRecord>,
    /// Wall-clock seconds of the search (all sessions).
    pub seconds: f64,
    /// Peak resident memory of the process during the search (MiB; the last
    /// session's when resumed).
    pub peak_rss_mb: Option<f64>,
    /// Epoch the search was resumed from, when it was.
    pub resumed_from: Option<usize>,
}

/// The state a checkpoint carries besides the modules.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CheckpointState {
    epoch: usize,
    history: Vec<EpochRecord>,
    weight_decay_factor: f64,
    stopped: Option<(usize, usize)>,
    seconds: f64,
}

/// Runs (or resumes, or reads back) the search of `job` on `space`'s supernet.
pub fn run_seed<S: SupernetSpace>(space: &S, job: &SeedJob<'_>) -> Result<SeedOutcome, DiffError> {
    if let Some(dir) = job.dir {
        let path = dir.join("result.json");
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(done) = serde_json::from_str::<SeedOutcome>(&text)
        {
            return Ok(done);
        }
    }
    catch_unwind(AssertUnwindSafe(|| run_inner(space, job)))
        .unwrap_or_else(|p| Err(DiffError::Backend(crate::train::trainer::panic_message(p))))
}

fn ckpt_err(path: &Path, e: impl ToString) -> DiffError {
    DiffError::Checkpoint { path: path.to_path_buf(), reason: e.to_string() }
}

/// The complete checkpoint with the highest epoch in `dir/checkpoint`.
fn latest_checkpoint(dir: &Path) -> Option<(usize, PathBuf)> {
    let entries = std::fs::read_dir(dir.join("checkpoint")).ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let epoch: usize = name.strip_prefix("epoch-")?.parse().ok()?;
            e.path().join("state.json").exists().then(|| (epoch, e.path()))
        })
        .max_by_key(|(epoch, _)| *epoch)
}

fn weight_optimizer(cfg: &OptimizerConfig, factor: f64) -> ModuleOptimizer {
    let scaled = match cfg.clone() {
        OptimizerConfig::Sgd { lr, momentum, weight_decay, nesterov } => {
            OptimizerConfig::Sgd { lr, momentum, weight_decay: weight_decay * factor, nesterov }
        }
        OptimizerConfig::Adam { lr, weight_decay } => OptimizerConfig::Adam { lr, weight_decay: weight_decay * factor },
    };
    scaled.init()
}

fn arch_optimizer(weight_decay: f64) -> ModuleOptimizer {
    // DARTS: Adam with β = (0.5, 0.999) and weight decay on α.
    AdamConfig::new()
        .with_beta_1(0.5)
        .with_beta_2(0.999)
        .with_weight_decay((weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32)))
        .init()
}

struct Losses {
    ce: burn::nn::loss::CrossEntropyLoss,
}

impl Losses {
    fn ce(&self, logits: Tensor<2>, batch: &Batch) -> (Tensor<1>, usize) {
        let correct = logits.clone().argmax(1).reshape([batch.len]).equal(batch.labels.clone()).int().sum();
        let correct = correct.into_scalar::<i64>() as usize;
        (self.ce.forward(logits, batch.labels.clone()), correct)
    }
}

/// `w + scale · g` for every parameter with a gradient in `grads`, as fresh
/// leaves (the unrolled step of second-order DARTS).
struct Axpy<'a> {
    grads: &'a GradientsParams,
    scale: f64,
}

impl ModuleMapper for Axpy<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let value = match self.grads.get::<D>(id) {
            Some(g) => {
                let inner = tensor.inner();
                Tensor::from_inner(inner + g * self.scale).require_grad()
            }
            None => tensor,
        };
        Param::from_mapped_value(id, value, mapper)
    }
}

/// Sum of squares of the gradients in `grads` of `module`'s parameters.
struct GradNorm<'a> {
    grads: &'a GradientsParams,
    sum: f64,
}

impl ModuleVisitor for GradNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            self.sum += g.powi_scalar(2).sum().into_scalar::<f32>() as f64;
        }
    }
}

fn scalar(t: &Tensor<1>) -> f64 {
    t.clone().into_scalar::<f32>() as f64
}

/// The hardware term on `arch`'s op weights (tracked), with its value.
fn hardware_term(job: &SeedJob<'_>, arch: &ArchParams, device: &Device) -> Option<(Tensor<1>, f64)> {
    let cost = job.cost?;
    let hw = job.settings.hardware.as_ref()?;
    let expected = cost.expected(arch.op_weights(), device);
    let value = scalar(&expected);
    let scale = (hw.lambda / cost.mean_cost.abs()) as f32;
    let term = match hw.limit {
        None => expected * scale,
        Some(limit) => burn::tensor::activation::relu(expected - limit as f32) * scale,
    };
    Some((term, value))
}

fn alpha_grad_params(arch: &ArchParams, grad: Tensor<2>, beta: Option<Tensor<1>>) -> GradientsParams {
    let mut g = GradientsParams::new();
    g.register(arch.alpha.id, grad);
    if let (Some(b), Some(p)) = (beta, arch.beta.as_ref()) {
        g.register(p.id, b);
    }
    g
}

/// How the probe builds a mix from logits (a fresh leaf).
type MixOf<'a> = dyn Fn(Tensor<2>) -> EdgeMix + 'a;

/// `∇α` of the cross-entropy of `net` on `batch` with the mix `mix_of` builds
/// from `alpha` (a fresh leaf), for Hessian-vector products and the unrolled
/// gradient.
fn alpha_grad_at<N: SupernetModel>(
    net: &N,
    alpha: &[Vec<f64>],
    mix_of: &MixOf<'_>,
    batch: &Batch,
    losses: &Losses,
    device: &Device,
) -> Vec<Vec<f64>> {
    let a = matrix_tensor(alpha, device).require_grad();
    let mix = mix_of(a.clone());
    let (loss, _) = losses.ce(net.forward(batch.images.clone(), &mix), batch);
    let grads = loss.backward();
    // No gradient when the sampled ops are all `none` (GDAS): zero.
    a.grad(&grads).map(matrix_values).unwrap_or_else(|| vec![vec![0.0; alpha[0].len()]; alpha.len()])
}

/// Dominant eigenvalue of `∇²α L_val` by power iteration on finite-difference
/// Hessian-vector products `(∇L(α + r v) − ∇L(α − r v)) / 2r`: on the dense
/// relaxation for DARTS and PC-DARTS, on one fixed Gumbel sample for GDAS;
/// not defined for ProxylessNAS (its loss reaches α only through the
/// path-level estimator), which gets `None`.
#[allow(clippy::too_many_arguments)]
fn hessian_eigenvalue<N: SupernetModel>(
    method: &Method,
    net: &N,
    arch: &ArchParams,
    layout: &SupernetLayout,
    batch: &Batch,
    losses: &Losses,
    iterations: usize,
    tau: Option<f64>,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Option<f64> {
    if iterations == 0 {
        return None;
    }
    let alpha = arch.alpha_values();
    let scale = arch.edge_weights(layout).map(|s| s.detach());
    let partial = method.partial();
    let noise = gumbel_noise(layout, rng);
    let mix_of: Box<MixOf<'_>> = match method {
        Method::Proxyless { .. } => return None,
        Method::Gdas { .. } => Box::new(move |a: Tensor<2>| gdas_mix(a, &noise, tau.unwrap_or(1.0), true)),
        _ => Box::new(move |a: Tensor<2>| EdgeMix {
            kind: MixKind::Dense(softmax(a, 1)),
            partial,
            edge_scale: scale.clone(),
        }),
    };
    let n = alpha.len() * alpha[0].len();
    let mut v: Vec<f64> = (0..n).map(|_| rng.random::<f64>() - 0.5).collect();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let mut lambda = 0.0;
    let r = 1e-2;
    for _ in 0..iterations {
        let nv = norm(&v).max(1e-30);
        v.iter_mut().for_each(|x| *x /= nv);
        let shifted = |sign: f64| -> Vec<Vec<f64>> {
            alpha
                .iter()
                .enumerate()
                .map(|(e, row)| row.iter().enumerate().map(|(o, a)| a + sign * r * v[e * row.len() + o]).collect())
                .collect()
        };
        let gp = alpha_grad_at(net, &shifted(1.0), mix_of.as_ref(), batch, losses, device);
        let gm = alpha_grad_at(net, &shifted(-1.0), mix_of.as_ref(), batch, losses, device);
        let hv: Vec<f64> = gp.iter().flatten().zip(gm.iter().flatten()).map(|(p, m)| (p - m) / (2.0 * r)).collect();
        lambda = v.iter().zip(&hv).map(|(a, b)| a * b).sum();
        if !lambda.is_finite() {
            return None;
        }
        v = hv;
    }
    Some(lambda)
}

fn run_inner<S: SupernetSpace>(space: &S, job: &SeedJob<'_>) -> Result<SeedOutcome, DiffError> {
    let s = job.settings;
    let layout = space.supernet_layout();
    layout.validate()?;
    let partial = job.method.partial();
    space.check_partial(partial, "strategy.k")?;
    memory::reset_peak_rss();
    let device = Device::flex();
    let ad = device.clone().autodiff();
    let mut net = init_seeded(derive_seed(job.seed, 0x5E7), &device, || space.build_supernet(partial, &device)).train();
    let mut init_rng = ChaCha8Rng::seed_from_u64(derive_seed(job.seed, 0xA1F));
    let mut arch = ArchParams::new(&layout, job.method.edge_norm(), &mut init_rng, &device).train();
    let mut state =
        CheckpointState { epoch: 0, history: Vec::new(), weight_decay_factor: 1.0, stopped: None, seconds: 0.0 };
    let mut w_optim = weight_optimizer(&s.weights, 1.0);
    let mut a_optim = arch_optimizer(s.arch_weight_decay);
    let mut resumed_from = None;
    if let Some(dir) = job.dir
        && let Some((epoch, path)) = latest_checkpoint(dir)
    {
        let read = |name: &str| path.join(name);
        let text = std::fs::read_to_string(read("state.json")).map_err(|e| ckpt_err(&read("state.json"), e))?;
        state = serde_json::from_str(&text).map_err(|e| ckpt_err(&read("state.json"), e))?;
        net = net.try_load_file(read("net.bpk")).map_err(|e| ckpt_err(&read("net.bpk"), format!("{e:?}")))?;
        arch = arch.try_load_file(read("arch.bpk")).map_err(|e| ckpt_err(&read("arch.bpk"), format!("{e:?}")))?;
        w_optim = weight_optimizer(&s.weights, state.weight_decay_factor)
            .load(read("w_optim.bpk"))
            .map_err(|e| ckpt_err(&read("w_optim.bpk"), format!("{e:?}")))?;
        a_optim = a_optim.load(read("a_optim.bpk")).map_err(|e| ckpt_err(&read("a_optim.bpk"), format!("{e:?}")))?;
        resumed_from = Some(epoch);
        (job.log)(&format!("resumed from the checkpoint of epoch {epoch}"));
    }
    let losses = Losses { ce: CrossEntropyLossConfig::new().init(&ad) };
    let bs = s.batch_size;
    let steps = job.train.len().min(job.val.len()) / bs;
    if steps == 0 {
        return Err(crate::error::NasError::InvalidValue {
            field: "strategy.batch_size".into(),
            value: bs.to_string(),
            allowed: format!("at most the {} images of each split", job.train.len().min(job.val.len())),
        }
        .into());
    }
    let total = steps * s.epochs;
    let probe_batch = job.val.batch_range(0, bs.min(job.val.len()), &ad);
    // The weights' cosine-annealed schedule, as the trainer's.
    let schedule =
        crate::train::TrainConfig { optimizer: s.weights.clone(), cosine_schedule: true, ..Default::default() };

    for epoch in state.epoch + 1..=s.epochs {
        if state.stopped.is_some() {
            break;
        }
        let epoch_start = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(job.seed, 0xE90C_0000 + epoch as u64));
        let order_w = job.train.shuffled_order(derive_seed(job.seed, 2 * epoch as u64));
        let order_a = job.val.shuffled_order(derive_seed(job.seed, 2 * epoch as u64 + 1));
        let tau = job.method.tau(epoch, s.epochs);
        let arch_on = epoch > s.warmup_epochs;
        let (mut w_loss, mut w_correct, mut a_loss, mut a_correct, mut seen) = (0.0, 0usize, 0.0, 0usize, 0usize);
        for step in 0..steps {
            let lr = schedule.lr_at((epoch - 1) * steps + step, total);
            let bw = job.train.batch(&order_w[step * bs..(step + 1) * bs], &ad);
            let diverged = |loss: f64| -> Option<DiffError> {
                (!loss.is_finite() || loss > s.divergence_loss).then(|| DiffError::Diverged {
                    epoch,
                    step: step + 1,
                    loss,
                    kept: match job.dir.and_then(latest_checkpoint) {
                        Some((e, p)) => format!("the last good checkpoint (epoch {e}) is kept in {}", p.display()),
                        None => "no checkpoint was written before it".into(),
                    },
                })
            };
            if arch_on {
                let ba = job.val.batch(&order_a[step * bs..(step + 1) * bs], &ad);
                let (loss, correct) =
                    arch_step(job, &layout, &net, &mut arch, &mut a_optim, &bw, &ba, lr, tau, &mut rng, &losses, &ad);
                if let Some(e) = diverged(loss) {
                    return Err(e);
                }
                a_loss += loss;
                a_correct += correct;
            }
            // Weight step.
            let mix = method_mix(&job.method, &arch, &layout, false, tau, &mut rng);
            let (loss, correct) = losses.ce(net.forward(bw.images.clone(), &mix), &bw);
            let value = scalar(&loss);
            if let Some(e) = diverged(value) {
                return Err(e);
            }
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = w_optim.step(lr, net, grads);
            w_loss += value;
            w_correct += correct;
            seen += bs;
        }
        // Indicators.
        let op_weights = arch.op_weight_values();
        let edge_weights = arch.edge_weight_values(&layout);
        let mut choices = space.derive_choices(&op_weights, edge_weights.as_deref());
        if let (Some(cost), Some(limit)) = (job.cost, s.hardware.as_ref().and_then(|h| h.limit))
            && let Some((c, _)) = cost.project(&choices, &op_weights, limit, &|from, to| space.swap_allowed(from, to))
        {
            choices = c;
        }
        let param_free = choices.iter().filter(|&&o| layout.is_param_free(o)).count() as f64 / choices.len() as f64;
        let eigen = if arch_on {
            hessian_eigenvalue(
                &job.method,
                &net,
                &arch,
                &layout,
                &probe_batch,
                &losses,
                s.guard.hessian_iterations,
                tau,
                &mut rng,
                &ad,
            )
        } else {
            None
        };
        let train_accuracy = 100.0 * w_correct as f64 / seen.max(1) as f64;
        let val_accuracy = arch_on.then(|| 100.0 * a_correct as f64 / seen.max(1) as f64);
        let mut record = EpochRecord {
            epoch,
            entropy: mean_entropy(&op_weights),
            param_free_share: param_free,
            hessian_eigenvalue: eigen,
            train_accuracy,
            val_accuracy,
            train_loss: w_loss / steps as f64,
            val_loss: arch_on.then(|| a_loss / steps as f64),
            expected_cost: job.cost.map(|c| c.expected_of(&op_weights)),
            derived_cost: job.cost.map(|c| c.predict(&choices)),
            tau,
            weight_decay_factor: state.weight_decay_factor,
            guard: None,
            seconds: 0.0,
            choices,
            op_weights,
            edge_weights,
        };
        let shares: Vec<f64> =
            state.history.iter().map(|r| r.param_free_share).chain([record.param_free_share]).collect();
        let eigens: Vec<Option<f64>> =
            state.history.iter().map(|r| r.hessian_eigenvalue).chain([record.hessian_eigenvalue]).collect();
        if arch_on && let Some(reason) = s.guard.collapse(&shares, &eigens) {
            let action = match s.guard.policy {
                GuardPolicy::Warn => "policy warn: continuing".to_string(),
                GuardPolicy::EarlyStop => {
                    let back = epoch.saturating_sub(s.guard.window).max(1);
                    state.stopped = Some((epoch, back));
                    format!("policy early_stop: stopped at epoch {epoch}, deriving the architecture of epoch {back}")
                }
                GuardPolicy::Regularise => {
                    state.weight_decay_factor *= s.guard.regularise_factor;
                    let record_state = w_optim.to_record();
                    w_optim = weight_optimizer(&s.weights, state.weight_decay_factor).load_record(record_state);
                    format!("policy regularise: weight decay x{} from epoch {}", state.weight_decay_factor, epoch + 1)
                }
            };
            let note = format!("collapse: {reason}; {action}");
            (job.log)(&format!("epoch {epoch}: {note}"));
            record.guard = Some(note);
        }
        record.seconds = epoch_start.elapsed().as_secs_f64();
        (job.log)(&format!(
            "epoch {epoch}/{}: train {:.1}% val {} entropy {:.3} param-free {:.0}%{}{}",
            s.epochs,
            record.train_accuracy,
            record.val_accuracy.map_or("-".into(), |v| format!("{v:.1}%")),
            record.entropy,
            100.0 * record.param_free_share,
            record.hessian_eigenvalue.map_or(String::new(), |v| format!(" eig {v:.3}")),
            record.expected_cost.map_or(String::new(), |v| format!(" E[cost] {v:.4}")),
        ));
        state.history.push(record);
        state.epoch = epoch;
        state.seconds += epoch_start.elapsed().as_secs_f64();
        if let Some(dir) = job.dir {
            save_checkpoint(dir, &state, &net, &arch, &w_optim, &a_optim)?;
        }
    }
    let derived_epoch = state.stopped.map_or(state.epoch, |(_, back)| back);
    let derived = state.history.iter().find(|r| r.epoch == derived_epoch).or(state.history.last());
    let choices = derived.map(|r| r.choices.clone()).unwrap_or_default();
    let projected_edges = match (job.cost, s.hardware.as_ref().and_then(|h| h.limit), derived) {
        (Some(_), Some(_), Some(r)) => {
            let unprojected = space.derive_choices(&r.op_weights, r.edge_weights.as_deref());
            unprojected.iter().zip(&choices).filter(|(a, b)| a != b).count()
        }
        _ => 0,
    };
    let outcome = SeedOutcome {
        seed: job.seed,
        method: job.method.name().into(),
        layout,
        choices,
        derived_epoch,
        epochs_run: state.epoch,
        projected_edges,
        history: state.history,
        seconds: state.seconds,
        peak_rss_mb: memory::peak_rss_mb(),
        resumed_from,
    };
    if let Some(dir) = job.dir {
        let path = dir.join("result.json");
        let text = serde_json::to_string_pretty(&outcome).map_err(|e| ckpt_err(&path, e))?;
        write_atomic(&path, text.as_bytes())?;
    }
    Ok(outcome)
}

fn save_checkpoint<N: SupernetModel>(
    dir: &Path,
    state: &CheckpointState,
    net: &N,
    arch: &ArchParams,
    w_optim: &ModuleOptimizer,
    a_optim: &ModuleOptimizer,
) -> Result<(), DiffError> {
    let root = dir.join("checkpoint");
    let final_dir = root.join(format!("epoch-{:03}", state.epoch));
    let tmp = root.join(format!("epoch-{:03}.partial", state.epoch));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| ckpt_err(&tmp, e))?;
    net.clone().save_file(tmp.join("net.bpk")).map_err(|e| ckpt_err(&tmp.join("net.bpk"), format!("{e:?}")))?;
    arch.clone().save_file(tmp.join("arch.bpk")).map_err(|e| ckpt_err(&tmp.join("arch.bpk"), format!("{e:?}")))?;
    w_optim.save(tmp.join("w_optim.bpk")).map_err(|e| ckpt_err(&tmp.join("w_optim.bpk"), format!("{e:?}")))?;
    a_optim.save(tmp.join("a_optim.bpk")).map_err(|e| ckpt_err(&tmp.join("a_optim.bpk"), format!("{e:?}")))?;
    let text = serde_json::to_string(state).map_err(|e| ckpt_err(&tmp, e))?;
    write_atomic(&tmp.join("state.json"), text.as_bytes())?;
    let _ = std::fs::remove_dir_all(&final_dir);
    std::fs::rename(&tmp, &final_dir).map_err(|e| ckpt_err(&final_dir, e))?;
    Ok(())
}

/// One architecture step; returns the cross-entropy and the correct count on
/// the architecture batch.
#[allow(clippy::too_many_arguments)]
fn arch_step<N: SupernetModel>(
    job: &SeedJob<'_>,
    layout: &SupernetLayout,
    net: &N,
    arch: &mut ArchParams,
    a_optim: &mut ModuleOptimizer,
    bw: &Batch,
    ba: &Batch,
    lr: f64,
    tau: Option<f64>,
    rng: &mut ChaCha8Rng,
    losses: &Losses,
    device: &Device,
) -> (f64, usize) {
    let arch_lr = job.settings.arch_lr;
    match job.method {
        Method::Darts { second_order: true } => {
            let (grad, ce, correct) = unrolled_grad(job, layout, net, arch, bw, ba, lr, losses, device);
            let current = std::mem::replace(arch, placeholder(arch));
            *arch = a_optim.step(arch_lr, current, grad);
            (ce, correct)
        }
        Method::Proxyless { paths } => {
            let before = arch.alpha_values();
            let (mix, sets, gates) = proxyless_arch_mix(&before, paths, rng, device);
            let (loss, correct) = losses.ce(net.forward(ba.images.clone(), &mix), ba);
            let ce = scalar(&loss);
            let grads = loss.backward();
            // No gradient when every sampled path is `none` (the output does not
            // depend on the gates): the cross-entropy term is then zero.
            let zeros = || vec![vec![0.0; layout.num_ops()]; layout.num_edges()];
            let gate_grads = gates.grad(&grads).map(matrix_values).unwrap_or_else(zeros);
            let mut grad = proxyless_alpha_grad(&before, &sets, &gate_grads);
            if let Some((term, _)) = hardware_term(job, arch, device) {
                let g = term.backward();
                let hw = matrix_values(arch.alpha.grad(&g).expect("α is a leaf of the cost"));
                for (row, h) in grad.iter_mut().zip(hw) {
                    row.iter_mut().zip(h).for_each(|(a, b)| *a += b);
                }
            }
            let gp = alpha_grad_params(arch, matrix_tensor(&grad, &Device::flex()), None);
            let current = std::mem::replace(arch, placeholder(arch));
            let stepped = a_optim.step(arch_lr, current, gp);
            let mut after = stepped.alpha_values();
            proxyless_rescale(&before, &mut after, &sets);
            let id = stepped.alpha.id;
            *arch = ArchParams {
                alpha: Param::initialized(id, matrix_tensor(&after, device).require_grad()),
                beta: stepped.beta,
            };
            (ce, correct)
        }
        _ => {
            let mix = method_mix(&job.method, arch, layout, true, tau, rng);
            let (mut loss, correct) = losses.ce(net.forward(ba.images.clone(), &mix), ba);
            let ce = scalar(&loss);
            if let Some((term, _)) = hardware_term(job, arch, device) {
                loss = loss + term;
            }
            let grads = GradientsParams::from_grads(loss.backward(), &*arch);
            let current = std::mem::replace(arch, placeholder(arch));
            *arch = a_optim.step(arch_lr, current, grads);
            (ce, correct)
        }
    }
}

/// A stand-in while the real parameters are moved through the optimiser.
fn placeholder(arch: &ArchParams) -> ArchParams {
    ArchParams { alpha: Param::initialized(ParamId::new(), arch.alpha.val().detach()), beta: None }
}

/// Second-order DARTS (Liu et al. 2019, eq. 7-8): `∇α L_val(w', α) − ξ ·
/// (∇α L_train(w⁺, α) − ∇α L_train(w⁻, α)) / 2r` with `w' = w − ξ ∇w L_train(w, α)`,
/// `w± = w ± r ∇w' L_val(w', α)` and `r = 0.01 / |∇w' L_val|`; ξ is the weight
/// learning rate.
#[allow(clippy::too_many_arguments)]
fn unrolled_grad<N: SupernetModel>(
    job: &SeedJob<'_>,
    layout: &SupernetLayout,
    net: &N,
    arch: &ArchParams,
    bw: &Batch,
    ba: &Batch,
    xi: f64,
    losses: &Losses,
    device: &Device,
) -> (GradientsParams, f64, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    // 1. w' = w − ξ ∇w L_train(w, α).
    let mix_fixed = method_mix(&job.method, arch, layout, false, None, &mut rng);
    let (lt, _) = losses.ce(net.forward(bw.images.clone(), &mix_fixed), bw);
    let gw = GradientsParams::from_grads(lt.backward(), net);
    let net_p = net.clone().map(&mut Axpy { grads: &gw, scale: -xi });
    // 2. ∇α and ∇w' of L_val(w', α).
    let mix = method_mix(&job.method, arch, layout, true, None, &mut rng);
    let (mut lv, correct) = losses.ce(net_p.forward(ba.images.clone(), &mix), ba);
    let ce = scalar(&lv);
    if let Some((term, _)) = hardware_term(job, arch, device) {
        lv = lv + term;
    }
    let mut grads = lv.backward();
    let dw = GradientsParams::from_module(&mut grads, &net_p);
    let dalpha = matrix_values(arch.alpha.grad(&grads).expect("α is a leaf of the loss"));
    // 3. Finite-difference Hessian-vector product.
    let mut norm = GradNorm { grads: &dw, sum: 0.0 };
    net_p.visit(&mut norm);
    let r = 0.01 / norm.sum.sqrt().max(1e-12);
    let alpha = arch.alpha_values();
    let grad_at = |scale: f64| {
        let shifted = net.clone().map(&mut Axpy { grads: &dw, scale });
        let dense = |a: Tensor<2>| EdgeMix::dense(softmax(a, 1));
        alpha_grad_at(&shifted, &alpha, &dense, bw, losses, device)
    };
    let (gp, gm) = (grad_at(r), grad_at(-r));
    let grad: Vec<Vec<f64>> = dalpha
        .iter()
        .zip(gp.iter().zip(&gm))
        .map(|(d, (p, m))| d.iter().zip(p.iter().zip(m)).map(|(d, (p, m))| d - xi * (p - m) / (2.0 * r)).collect())
        .collect();
    (alpha_grad_params(arch, matrix_tensor(&grad, &Device::flex()), None), ce, correct)
}
