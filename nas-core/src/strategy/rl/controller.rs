//! The policy-gradient strategy: one or several agents, each a policy over its
//! share of the space's decisions, trained with REINFORCE on a shared reward.
//!
//! - **ask(n)**: every agent samples its decisions for the batch (from the
//!   driver's random stream); the joint sample is turned into an architecture.
//!   Samples of architectures evaluated before (or already asked) are kept for
//!   the update and rewarded from the record; only new architectures are
//!   proposed, so the budget counts distinct evaluations. After
//!   `draws_per_proposal × n` draws without enough new ones (a policy that has
//!   converged), the rest are uniform random new architectures, scored under
//!   the policy like its own samples. Decision sequences the space refuses are
//!   samples with the worst reward.
//! - **tell**: rewards of every sample of the last ask (Pareto rewards over
//!   everything evaluated so far, see [`reward`](super::reward)); failed trials
//!   get the worst reward of the batch (logged). Each agent takes one Adam step
//!   on `−mean(A · log π(a)) − β · mean(H)`, `A = (R − b) / σ`.
//! - The policies run on a one-thread pool, so a run is identical for any
//!   thread count; they are initialised from seeds drawn from the driver's
//!   stream at the first ask, so a resumed run replays the same controller.
//!
//! With a run directory, `controller/history.json` (one record per update) and
//! `controller/policy.json` (each decision's current probabilities) are
//! rewritten atomically after every update.

use super::baseline::{MovingAverage, scale_advantages};
use super::policy::{CategoricalPolicy, LogProbs, LstmPolicy};
use super::reward::{Outcome, Reward, fill_failures};
use super::settings::{BaselineKind, ControllerConfig, Grouping, PolicyKind};
use crate::arch::{ArchId, Architecture};
use crate::decisions::{Decision, Decisions, groups_of};
use crate::error::{NasError, Result};
use crate::fsutil::write_atomic;
use crate::strategy::{Evaluated, SearchStrategy, sample_novel};
use crate::train::init_seeded;
use crate::train::trainer::shared_pool;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// One agent's policy.
enum Net {
    Categorical(CategoricalPolicy),
    Lstm(Box<LstmPolicy>),
}

/// One agent: its decisions, policy, optimiser and baseline.
struct Agent {
    name: String,
    decisions: Vec<usize>,
    net: Option<Net>,
    optim: ModuleOptimizer,
    baseline: MovingAverage,
}

impl Agent {
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> (Vec<Vec<usize>>, Vec<Vec<Vec<f64>>>) {
        match self.net.as_ref().expect("built at the first ask") {
            Net::Categorical(p) => p.sample(n, rng),
            Net::Lstm(p) => p.sample(n, rng),
        }
    }

    /// One REINFORCE step; returns the batch's mean entropy.
    fn step(&mut self, parts: &[Vec<usize>], advantages: &[f64], lr: f64, beta: f64, device: &Device) -> f64 {
        let adv = Tensor::<1>::from_data(
            TensorData::new(advantages.iter().map(|&a| a as f32).collect::<Vec<_>>(), [advantages.len()]),
            device,
        );
        let objective = |lp: LogProbs| -> (Tensor<1>, f64) {
            let h = lp.entropy.clone().mean();
            let entropy = f64::from(h.clone().into_scalar::<f32>());
            ((-(lp.log_prob * adv.clone()).mean() - h * beta), entropy)
        };
        match self.net.take().expect("built at the first ask") {
            Net::Categorical(p) => {
                let (loss, entropy) = objective(p.log_probs(parts));
                let grads = GradientsParams::from_grads(loss.backward(), &p);
                self.net = Some(Net::Categorical(self.optim.step(lr, p, grads)));
                entropy
            }
            Net::Lstm(p) => {
                let (loss, entropy) = objective(p.log_probs(parts));
                let grads = GradientsParams::from_grads(loss.backward(), &*p);
                self.net = Some(Net::Lstm(Box::new(self.optim.step(lr, *p, grads))));
                entropy
            }
        }
    }
}

/// One sample of an ask: its joint decisions, the step distributions it was
/// drawn from, and its architecture (`None` when the space refused it).
#[derive(Clone, Debug)]
struct Sample {
    choices: Vec<usize>,
    dists: Vec<Vec<f64>>,
    arch: Option<ArchId>,
    /// The architecture was proposed or evaluated before this sample.
    repeat: bool,
}

/// One controller update, as written to `controller/history.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateRecord {
    /// Update number (0-based).
    pub update: usize,
    /// Architectures evaluated when the update ran.
    pub evaluated: usize,
    /// Samples in the update.
    pub samples: usize,
    /// Samples of architectures evaluated before (rewarded from the record).
    pub repeats: usize,
    /// Samples the space refused.
    pub invalid: usize,
    /// Samples whose trial failed (worst reward).
    pub failed: usize,
    /// Uniform random new architectures added because the policy kept repeating.
    pub explored: usize,
    /// Mean reward of the samples.
    pub reward_mean: f64,
    /// Best reward of the samples.
    pub reward_max: f64,
    /// Each agent's baseline before the update (mean baseline with the critic).
    pub baselines: Vec<f64>,
    /// Each agent's mean policy entropy (nats).
    pub entropies: Vec<f64>,
}

/// The controller's current policy, as written to `controller/policy.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicySnapshot {
    /// `reinforce` or `marl`.
    pub strategy: String,
    /// The agents: name and the decisions (indices) each takes.
    pub agents: Vec<(String, Vec<usize>)>,
    /// The decisions.
    pub decisions: Vec<Decision>,
    /// Each decision's probabilities, averaged over the last batch's samples
    /// (exact for the categorical policy; along the sampled histories for the LSTM).
    pub probabilities: Vec<Vec<f64>>,
}

/// A linear critic over one-hot decisions (see [`BaselineKind::Critic`]).
struct Critic {
    offsets: Vec<usize>,
    coef: Vec<f64>,
    intercept: f64,
}

impl Critic {
    fn one_hot(offsets: &[usize], width: usize, choices: &[usize]) -> Vec<f64> {
        let mut x = vec![0.0; width];
        for (o, &c) in offsets.iter().zip(choices) {
            x[o + c] = 1.0;
        }
        x
    }

    fn fit(arities: &[usize], rows: &[(Vec<usize>, f64)], ridge: f64) -> Option<Critic> {
        let offsets: Vec<usize> = arities.iter().scan(0, |acc, &a| Some(std::mem::replace(acc, *acc + a))).collect();
        let width = arities.iter().sum();
        let x: Vec<Vec<f64>> = rows.iter().map(|(c, _)| Self::one_hot(&offsets, width, c)).collect();
        let y: Vec<f64> = rows.iter().map(|(_, r)| *r).collect();
        let (coef, intercept) = crate::linalg::ridge(&x, &y, ridge.max(1e-6)).ok()?;
        Some(Critic { offsets, coef, intercept })
    }

    /// The critic's value with decisions `own` averaged over `dists`.
    fn counterfactual(&self, choices: &[usize], dists: &[Vec<f64>], own: &[usize]) -> f64 {
        let w = |t: usize, o: usize| self.coef[self.offsets[t] + o];
        let mut v = self.intercept + choices.iter().enumerate().map(|(t, &c)| w(t, c)).sum::<f64>();
        for &t in own {
            v -= w(t, choices[t]);
            v += dists[t].iter().enumerate().map(|(o, p)| p * w(t, o)).sum::<f64>();
        }
        v
    }
}

/// The REINFORCE / multi-agent controller (see the module docs).
pub struct PolicyGradient<A: Architecture> {
    kind: &'static str,
    config: ControllerConfig,
    reward: Reward,
    decisions: Vec<Decision>,
    agents: Vec<Agent>,
    device: Device,
    archive: Vec<Evaluated<A>>,
    archive_choices: Vec<Vec<usize>>,
    by_id: HashMap<ArchId, usize>,
    seen: BTreeSet<ArchId>,
    pending: Vec<Sample>,
    explored: usize,
    adv_var: MovingAverage,
    history: Vec<UpdateRecord>,
    workdir: Option<PathBuf>,
    quiet: bool,
}

impl<A: Architecture> std::fmt::Debug for PolicyGradient<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PolicyGradient({}, {} agents, {} updates)", self.kind, self.agents.len(), self.history.len())
    }
}

/// The agents' decision groups for `config` over `decisions`.
fn agent_groups(
    config: &ControllerConfig,
    kind: &str,
    decisions: &[Decision],
    space: &str,
) -> Result<Vec<(String, Vec<usize>)>> {
    let space_groups = groups_of(decisions);
    if !config.groups.is_empty() {
        let names: Vec<&str> = space_groups.iter().map(|(g, _)| g.as_str()).collect();
        let mut used = BTreeSet::new();
        let mut out = Vec::new();
        for agent in &config.groups {
            let mut idx = Vec::new();
            for g in agent {
                let Some((_, d)) = space_groups.iter().find(|(n, _)| n == g) else {
                    return Err(super::super::invalid(
                        "strategy.groups",
                        g,
                        &format!("group names of space `{space}`: {}", names.join(", ")),
                    ));
                };
                if !used.insert(g.clone()) {
                    return Err(super::super::invalid("strategy.groups", g, "each group in exactly one agent"));
                }
                idx.extend(d);
            }
            idx.sort_unstable();
            out.push((agent.join("+"), idx));
        }
        if let Some((missing, _)) = space_groups.iter().find(|(g, _)| !used.contains(g)) {
            return Err(super::super::invalid(
                "strategy.groups",
                format!("{:?}", config.groups),
                &format!("every group of space `{space}` in one agent (`{missing}` is in none)"),
            ));
        }
        return Ok(out);
    }
    Ok(match config.grouping(kind) {
        Grouping::Single => vec![("all".to_string(), (0..decisions.len()).collect())],
        Grouping::Space => space_groups,
        Grouping::Decision => decisions.iter().enumerate().map(|(i, d)| (d.name.clone(), vec![i])).collect(),
    })
}

impl<A: Architecture> PolicyGradient<A> {
    /// A controller over `space`'s decisions; `workdir` (the run directory)
    /// receives `controller/`.
    pub fn new<S: Decisions<Arch = A> + ?Sized>(
        kind: &'static str,
        config: ControllerConfig,
        reward: Reward,
        space: &S,
        workdir: Option<&Path>,
        quiet: bool,
    ) -> Result<Self> {
        let decisions = space.decisions();
        if decisions.is_empty() || decisions.iter().any(|d| d.arity() == 0) {
            return Err(NasError::InvalidValue {
                field: "space".into(),
                value: space.name().to_string(),
                allowed: "a space with at least one decision, each with at least one option".into(),
            });
        }
        let groups = agent_groups(&config, kind, &decisions, space.name())?;
        let agents = groups
            .into_iter()
            .map(|(name, idx)| Agent {
                name,
                decisions: idx,
                net: None,
                optim: AdamConfig::new().init(),
                baseline: MovingAverage::default(),
            })
            .collect();
        Ok(PolicyGradient {
            kind,
            config,
            reward,
            decisions,
            agents,
            device: Device::flex(),
            archive: Vec::new(),
            archive_choices: Vec::new(),
            by_id: HashMap::new(),
            seen: BTreeSet::new(),
            pending: Vec::new(),
            explored: 0,
            adv_var: MovingAverage::default(),
            history: Vec::new(),
            workdir: workdir.map(Path::to_path_buf),
            quiet,
        })
    }

    /// The update records so far.
    pub fn history(&self) -> &[UpdateRecord] {
        &self.history
    }

    /// The agents: name and decision indices.
    pub fn agents(&self) -> Vec<(String, Vec<usize>)> {
        self.agents.iter().map(|a| (a.name.clone(), a.decisions.clone())).collect()
    }

    fn build_agents(&mut self, rng: &mut dyn RngCore) {
        let device = self.device.clone();
        for agent in &mut self.agents {
            let arities: Vec<usize> = agent.decisions.iter().map(|&d| self.decisions[d].arity()).collect();
            let seed = rng.next_u64();
            agent.net = Some(match self.config.policy {
                PolicyKind::Categorical => Net::Categorical(CategoricalPolicy::new(&arities, &device).train()),
                PolicyKind::Lstm => {
                    let c = &self.config;
                    let p = init_seeded(seed, &device, || {
                        LstmPolicy::new(&arities, c.hidden, c.temperature, c.tanh_constant, &device)
                    });
                    Net::Lstm(Box::new(p.train()))
                }
            });
        }
    }

    /// `n` joint samples: decisions and step distributions.
    fn sample_joint(&self, n: usize, rng: &mut dyn RngCore) -> Vec<(Vec<usize>, Vec<Vec<f64>>)> {
        let t = self.decisions.len();
        let mut out = vec![(vec![0; t], vec![Vec::new(); t]); n];
        for agent in &self.agents {
            let (samples, dists) = agent.sample(n, rng);
            for (k, (s, d)) in samples.into_iter().zip(dists).enumerate() {
                for ((&dec, c), p) in agent.decisions.iter().zip(s).zip(d) {
                    out[k].0[dec] = c;
                    out[k].1[dec] = p;
                }
            }
        }
        out
    }

    fn remember(&mut self, space: &(impl Decisions<Arch = A> + ?Sized), r: &Evaluated<A>) {
        self.seen.insert(r.id);
        if !self.by_id.contains_key(&r.id) {
            self.by_id.insert(r.id, self.archive.len());
            self.archive_choices.push(space.decisions_of(&r.arch));
            self.archive.push(r.clone());
        }
    }

    fn write_files(&self) {
        let Some(dir) = &self.workdir else { return };
        let dir = dir.join("controller");
        let t = self.decisions.len();
        let mut probs = vec![Vec::new(); t];
        let mut count = 0usize;
        for s in &self.pending {
            count += 1;
            for (d, p) in s.dists.iter().enumerate() {
                if probs[d].is_empty() {
                    probs[d] = vec![0.0; p.len()];
                }
                for (acc, v) in probs[d].iter_mut().zip(p) {
                    *acc += v;
                }
            }
        }
        for row in &mut probs {
            for v in row.iter_mut() {
                *v /= count.max(1) as f64;
            }
        }
        let snapshot = PolicySnapshot {
            strategy: self.kind.to_string(),
            agents: self.agents(),
            decisions: self.decisions.clone(),
            probabilities: probs,
        };
        let write = |name: &str, json: serde_json::Result<String>| {
            let result = write_atomic(&dir.join(name), json.unwrap_or_default().as_bytes());
            if let Err(e) = result
                && !self.quiet
            {
                eprintln!("warning: {}: cannot write controller/{name}: {e}", self.kind);
            }
        };
        write("history.json", serde_json::to_string_pretty(&self.history));
        write("policy.json", serde_json::to_string_pretty(&snapshot));
    }

    fn update(&mut self) {
        // Rewards of everything evaluated so far (Pareto rewards move with the archive).
        let outcomes: Vec<Outcome<'_>> = self
            .archive
            .iter()
            .map(|e| Outcome { objectives: e.objectives.as_deref(), violation: e.violation, metrics: &e.metrics })
            .collect();
        let all = self.reward.rewards(&outcomes);
        let mut batch: Vec<(&Sample, Option<f64>)> = Vec::new();
        let (mut repeats, mut invalid, mut failed) = (0, 0, 0);
        for s in &self.pending {
            match s.arch {
                None => {
                    invalid += 1;
                    batch.push((s, None));
                }
                Some(id) => {
                    // Not told (a truncated batch): no reward, not in the update.
                    let Some(&i) = self.by_id.get(&id) else { continue };
                    repeats += usize::from(s.repeat);
                    if all[i].is_none() {
                        failed += 1;
                    }
                    batch.push((s, all[i]));
                }
            }
        }
        if batch.is_empty() {
            return;
        }
        let raw: Vec<Option<f64>> = batch.iter().map(|(_, r)| *r).collect();
        let (rewards, replaced) = fill_failures(&raw);
        if replaced > 0 && !self.quiet {
            eprintln!(
                "{}: {replaced} of {} samples failed or were refused by the space; rewarded as the worst of the batch",
                self.kind,
                rewards.len()
            );
        }
        let mean = rewards.iter().sum::<f64>() / rewards.len() as f64;
        let critic = match self.config.baseline {
            BaselineKind::Critic => {
                let rows: Vec<(Vec<usize>, f64)> =
                    all.iter().zip(&self.archive_choices).filter_map(|(r, c)| r.map(|r| (c.clone(), r))).collect();
                let arities: Vec<usize> = self.decisions.iter().map(Decision::arity).collect();
                Critic::fit(&arities, &rows, self.config.critic_ridge)
            }
            BaselineKind::MovingAverage => None,
        };
        // Advantages per agent, then one shared scale.
        let decay = self.config.baseline_decay;
        let mut advantages: Vec<Vec<f64>> = Vec::new();
        let mut baselines = Vec::new();
        for agent in &mut self.agents {
            let adv: Vec<f64> = match &critic {
                Some(c) => batch
                    .iter()
                    .zip(&rewards)
                    .map(|((s, _), r)| r - c.counterfactual(&s.choices, &s.dists, &agent.decisions))
                    .collect(),
                None => {
                    let b = agent.baseline.value_or(mean);
                    rewards.iter().map(|r| r - b).collect()
                }
            };
            let b_used = mean - adv.iter().sum::<f64>() / adv.len() as f64;
            baselines.push(b_used);
            agent.baseline.update(mean, decay);
            advantages.push(adv);
        }
        if self.config.normalize_advantage {
            scale_advantages(&mut advantages, &mut self.adv_var, decay);
        }
        let (lr, beta) = (self.config.learning_rate(), self.config.entropy_weight);
        let device = self.device.clone();
        let mut entropies = Vec::new();
        for (agent, adv) in self.agents.iter_mut().zip(&advantages) {
            let parts: Vec<Vec<usize>> =
                batch.iter().map(|(s, _)| agent.decisions.iter().map(|&d| s.choices[d]).collect()).collect();
            entropies.push(agent.step(&parts, adv, lr, beta, &device));
        }
        self.history.push(UpdateRecord {
            update: self.history.len(),
            evaluated: self.archive.len(),
            samples: rewards.len(),
            repeats,
            invalid,
            failed,
            explored: self.explored,
            reward_mean: mean,
            reward_max: rewards.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            baselines,
            entropies,
        });
    }
}

impl<A: Architecture, S: Decisions<Arch = A>> SearchStrategy<S> for PolicyGradient<A> {
    fn name(&self) -> &'static str {
        self.kind
    }

    fn ask(&mut self, space: &S, n: usize, rng: &mut dyn RngCore) -> Vec<A> {
        if self.agents.iter().any(|a| a.net.is_none()) {
            self.build_agents(rng);
        }
        self.pending.clear();
        self.explored = 0;
        let seed = rng.next_u64();
        let cap = n.saturating_mul(self.config.draws_per_proposal.max(1));
        let pool = shared_pool(1, "controller").expect("a one-thread pool starts");
        let mut out: Vec<A> = pool.install(|| {
            let mut out: Vec<A> = Vec::with_capacity(n);
            let mut local = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
            let mut draws = 0;
            while out.len() < n && draws < cap {
                for (choices, dists) in self.sample_joint(n - out.len(), &mut local) {
                    draws += 1;
                    match space.arch_from_decisions(&choices) {
                        Err(_) => self.pending.push(Sample { choices, dists, arch: None, repeat: false }),
                        Ok(a) => {
                            let id = a.id();
                            let repeat = !self.seen.insert(id);
                            self.pending.push(Sample { choices, dists, arch: Some(id), repeat });
                            if !repeat {
                                out.push(a);
                            }
                        }
                    }
                }
            }
            out
        });
        // A converged policy keeps repeating itself: fill with new random architectures.
        while out.len() < n {
            let Some(a) = sample_novel(space, rng, &self.seen, 200) else { break };
            let choices = space.decisions_of(&a);
            let dists = choices.iter().map(|_| Vec::new()).collect();
            self.seen.insert(a.id());
            self.pending.push(Sample { choices, dists, arch: Some(a.id()), repeat: false });
            self.explored += 1;
            out.push(a);
        }
        out
    }

    fn tell(&mut self, space: &S, results: &[Evaluated<A>]) {
        for r in results {
            self.remember(space, r);
        }
        let pool = shared_pool(1, "controller").expect("a one-thread pool starts");
        pool.install(|| self.update());
        self.write_files();
        self.pending.clear();
    }
}
