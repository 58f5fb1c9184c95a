//! Test helpers for every crate: a tiny enumerable space with
//! an analytic two-objective evaluator, and the contract every strategy must
//! pass ([`check_contract`], [`check_robustness`], and [`check_strategy`] which
//! runs both through the registry on a space with exactly the capabilities the
//! strategy declares it needs).

use crate::arch::{ArchId, Architecture};
use crate::capability::Capability;
use crate::decisions::{Decision, Decisions};
use crate::dynspace::{AnyArch, DynSpace};
use crate::encoding::{EncodingKind, MultiEncode};
use crate::error::{NasError, Result};
use crate::evaluator::{EvalContext, EvalError, Evaluator};
use crate::layer::{LayerSpec, NetworkSpec};
use crate::metric::{Metric, MetricMap, Objective, Problem};
use crate::pareto::{NormalizedHv, pareto_front_indices};
use crate::registry::{StrategyContext, StrategySettings};
use crate::search::{Search, SearchConfig};
use crate::space::{Crossover, Encode, Mutate, Neighbors, SearchSpace, SpaceSize, ToNetworkSpec};
use crate::strategy::{Evaluated, SearchStrategy};
use crate::trial::Trial;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Genes of the toy architecture.
pub const TOY_LEN: usize = 4;
/// Values per gene.
pub const TOY_VALUES: u8 = 5;

/// A toy architecture: four genes with values `0..5` (625 architectures).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ToyArch(pub Vec<u8>);

impl Architecture for ToyArch {
    fn notation(&self) -> String {
        self.0.iter().map(|g| g.to_string()).collect::<Vec<_>>().join("-")
    }
}

/// The toy space.
#[derive(Clone, Debug, Default)]
pub struct ToySpace;

impl SearchSpace for ToySpace {
    type Arch = ToyArch;

    fn name(&self) -> &str {
        "toy"
    }

    fn sample(&self, rng: &mut dyn RngCore) -> ToyArch {
        ToyArch((0..TOY_LEN).map(|_| rng.random_range(0..TOY_VALUES)).collect())
    }

    fn validate(&self, arch: &ToyArch) -> Result<()> {
        if arch.0.len() == TOY_LEN && arch.0.iter().all(|&g| g < TOY_VALUES) {
            Ok(())
        } else {
            Err(NasError::InvalidArchitecture {
                space: "toy".into(),
                notation: arch.notation(),
                reason: "need 4 genes in 0..5".into(),
            })
        }
    }

    fn parse(&self, notation: &str) -> Result<ToyArch> {
        let genes: std::result::Result<Vec<u8>, _> = notation.split('-').map(str::parse).collect();
        let arch = ToyArch(genes.map_err(|e| NasError::Parse {
            space: "toy".into(),
            input: notation.into(),
            reason: format!("{e}"),
        })?);
        self.validate(&arch)?;
        Ok(arch)
    }

    fn size(&self) -> SpaceSize {
        SpaceSize::Exact(u128::from(TOY_VALUES).pow(TOY_LEN as u32))
    }

    fn enumerate(&self) -> Option<Box<dyn Iterator<Item = ToyArch> + '_>> {
        let n = u32::from(TOY_VALUES).pow(TOY_LEN as u32);
        Some(Box::new((0..n).map(|mut k| {
            let mut genes = vec![0u8; TOY_LEN];
            for g in genes.iter_mut().rev() {
                *g = (k % u32::from(TOY_VALUES)) as u8;
                k /= u32::from(TOY_VALUES);
            }
            ToyArch(genes)
        })))
    }
}

impl Mutate for ToySpace {
    fn mutate(&self, arch: &ToyArch, rng: &mut dyn RngCore) -> ToyArch {
        let mut genes = arch.0.clone();
        let pos = rng.random_range(0..TOY_LEN);
        let shift = rng.random_range(1..TOY_VALUES);
        genes[pos] = (genes[pos] + shift) % TOY_VALUES;
        ToyArch(genes)
    }
}

impl Crossover for ToySpace {
    fn crossover(&self, a: &ToyArch, b: &ToyArch, rng: &mut dyn RngCore) -> ToyArch {
        ToyArch(a.0.iter().zip(&b.0).map(|(&x, &y)| if rng.random::<bool>() { x } else { y }).collect())
    }
}

impl Neighbors for ToySpace {
    fn neighbors(&self, arch: &ToyArch) -> Vec<ToyArch> {
        let mut out = Vec::new();
        for pos in 0..TOY_LEN {
            for v in 0..TOY_VALUES {
                if v != arch.0[pos] {
                    let mut genes = arch.0.clone();
                    genes[pos] = v;
                    out.push(ToyArch(genes));
                }
            }
        }
        out
    }
}

impl Encode for ToySpace {
    fn encoding_len(&self) -> usize {
        TOY_LEN * usize::from(TOY_VALUES)
    }
    fn encode(&self, arch: &ToyArch) -> Vec<f32> {
        let mut v = vec![0.0; self.encoding_len()];
        for (i, &g) in arch.0.iter().enumerate() {
            v[i * usize::from(TOY_VALUES) + usize::from(g)] = 1.0;
        }
        v
    }
}

impl MultiEncode for ToySpace {
    fn encodings(&self) -> Vec<EncodingKind> {
        vec![EncodingKind::OneHot, EncodingKind::None]
    }
    fn encode_with(&self, arch: &ToyArch, kind: EncodingKind) -> Option<Vec<f32>> {
        match kind {
            EncodingKind::OneHot => Some(self.encode(arch)),
            EncodingKind::None => Some(Vec::new()),
            _ => None,
        }
    }
}

impl ToNetworkSpec for ToySpace {
    /// A chain of 3x3 convolutions, gene `i` giving layer `i` `8 * (gene + 1)`
    /// output channels, then a linear classifier.
    fn network_spec(&self, arch: &ToyArch) -> NetworkSpec {
        let mut net = NetworkSpec::new([3, 8, 8], 10);
        let mut c = 3;
        for (i, &g) in arch.0.iter().enumerate() {
            let out = 8 * (usize::from(g) + 1);
            net.push(format!("conv{i}"), LayerSpec::conv(c, out, 3, 1, 1, [8, 8]));
            c = out;
        }
        net.push("pool", LayerSpec::global_avg_pool(c, [8, 8]));
        net.push("fc", LayerSpec::linear(c, 10));
        net
    }
}

crate::capabilities!(ToySpace: mutate, crossover, neighbors, encode, multi_encode, network_spec);

/// The toy space with only some capabilities (the others are hidden): what a
/// strategy runs on in [`check_strategy`], so one that uses more than it
/// declares fails there.
#[derive(Clone, Debug)]
pub struct RestrictedToySpace(pub Vec<Capability>);

impl SearchSpace for RestrictedToySpace {
    type Arch = ToyArch;
    fn name(&self) -> &str {
        "toy"
    }
    fn sample(&self, rng: &mut dyn RngCore) -> ToyArch {
        ToySpace.sample(rng)
    }
    fn validate(&self, arch: &ToyArch) -> Result<()> {
        ToySpace.validate(arch)
    }
    fn parse(&self, notation: &str) -> Result<ToyArch> {
        ToySpace.parse(notation)
    }
    fn size(&self) -> SpaceSize {
        ToySpace.size()
    }
    fn enumerate(&self) -> Option<Box<dyn Iterator<Item = ToyArch> + '_>> {
        ToySpace.enumerate()
    }
}

impl Mutate for RestrictedToySpace {
    fn mutate(&self, arch: &ToyArch, rng: &mut dyn RngCore) -> ToyArch {
        ToySpace.mutate(arch, rng)
    }
}
impl Crossover for RestrictedToySpace {
    fn crossover(&self, a: &ToyArch, b: &ToyArch, rng: &mut dyn RngCore) -> ToyArch {
        ToySpace.crossover(a, b, rng)
    }
}
impl Neighbors for RestrictedToySpace {
    fn neighbors(&self, arch: &ToyArch) -> Vec<ToyArch> {
        ToySpace.neighbors(arch)
    }
}
impl Encode for RestrictedToySpace {
    fn encoding_len(&self) -> usize {
        ToySpace.encoding_len()
    }
    fn encode(&self, arch: &ToyArch) -> Vec<f32> {
        ToySpace.encode(arch)
    }
}
impl MultiEncode for RestrictedToySpace {
    fn encodings(&self) -> Vec<EncodingKind> {
        ToySpace.encodings()
    }
    fn encode_with(&self, arch: &ToyArch, kind: EncodingKind) -> Option<Vec<f32>> {
        ToySpace.encode_with(arch, kind)
    }
}
impl ToNetworkSpec for RestrictedToySpace {
    fn network_spec(&self, arch: &ToyArch) -> NetworkSpec {
        ToySpace.network_spec(arch)
    }
}

impl Decisions for ToySpace {
    /// One decision per gene; genes 0–1 form group `front`, genes 2–3 group `back`.
    fn decisions(&self) -> Vec<Decision> {
        let options: Vec<String> = (0..TOY_VALUES).map(|v| v.to_string()).collect();
        (0..TOY_LEN)
            .map(|g| Decision::new(format!("gene {g}"), options.clone(), if g < 2 { "front" } else { "back" }))
            .collect()
    }
    fn arch_from_decisions(&self, choices: &[usize]) -> Result<ToyArch> {
        crate::decisions::check_choices("toy", &self.decisions(), choices)?;
        Ok(ToyArch(choices.iter().map(|&c| c as u8).collect()))
    }
    fn decisions_of(&self, arch: &ToyArch) -> Vec<usize> {
        arch.0.iter().map(|&g| usize::from(g)).collect()
    }
}

impl Decisions for RestrictedToySpace {
    fn decisions(&self) -> Vec<Decision> {
        ToySpace.decisions()
    }
    fn arch_from_decisions(&self, choices: &[usize]) -> Result<ToyArch> {
        ToySpace.arch_from_decisions(choices)
    }
    fn decisions_of(&self, arch: &ToyArch) -> Vec<usize> {
        ToySpace.decisions_of(arch)
    }
}

impl crate::capability::Capabilities for RestrictedToySpace {
    fn as_decisions(&self) -> Option<&dyn Decisions<Arch = ToyArch>> {
        self.0.contains(&Capability::Decisions).then_some(self as _)
    }
    fn as_mutate(&self) -> Option<&dyn Mutate<Arch = ToyArch>> {
        self.0.contains(&Capability::Mutate).then_some(self as _)
    }
    fn as_crossover(&self) -> Option<&dyn Crossover<Arch = ToyArch>> {
        self.0.contains(&Capability::Crossover).then_some(self as _)
    }
    fn as_neighbors(&self) -> Option<&dyn Neighbors<Arch = ToyArch>> {
        self.0.contains(&Capability::Neighbors).then_some(self as _)
    }
    fn as_encode(&self) -> Option<&dyn Encode<Arch = ToyArch>> {
        self.0.contains(&Capability::Encode).then_some(self as _)
    }
    fn as_multi_encode(&self) -> Option<&dyn MultiEncode<Arch = ToyArch>> {
        self.0.contains(&Capability::MultiEncode).then_some(self as _)
    }
    fn as_network_spec(&self) -> Option<&dyn ToNetworkSpec<Arch = ToyArch>> {
        self.0.contains(&Capability::NetworkSpec).then_some(self as _)
    }
}

/// Accuracy gain of each value of each gene (gene 3's last value is a trap).
const GAIN: [[f64; 5]; TOY_LEN] =
    [[0.0, 3.0, 5.0, 6.0, 6.5], [0.0, 4.0, 4.5, 8.0, 9.0], [0.0, 1.0, 5.0, 5.5, 10.0], [0.0, 6.0, 7.0, 7.5, 5.0]];
/// Latency cost per unit of each gene.
const COST: [f64; TOY_LEN] = [1.0, 1.3, 1.7, 2.2];

/// Analytic objectives of a toy architecture: `(accuracy, latency_ms)`.
pub fn toy_objectives(arch: &ToyArch) -> (f64, f64) {
    let g = &arch.0;
    let mut acc = 40.0;
    let mut lat = 1.0;
    for i in 0..TOY_LEN {
        acc += GAIN[i][usize::from(g[i])];
        lat += COST[i] * f64::from(g[i]);
    }
    if g[1] == g[2] {
        acc += 2.0;
    }
    lat += 0.25 * f64::from(g[0]) * f64::from(g[3]);
    (acc, lat)
}

/// Analytic evaluator of the toy space that counts its calls; optionally fails on
/// about one architecture in seven.
#[derive(Debug, Default)]
pub struct ToyEval {
    calls: AtomicUsize,
    failures: bool,
}

impl ToyEval {
    /// An evaluator that never fails.
    pub fn new() -> Self {
        ToyEval::default()
    }

    /// An evaluator that fails when the gene sum is 3 modulo 7.
    pub fn with_failures() -> Self {
        ToyEval { calls: AtomicUsize::new(0), failures: true }
    }

    /// Number of evaluations so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Whether this evaluator fails on `arch`.
    pub fn fails(&self, arch: &ToyArch) -> bool {
        self.failures && arch.0.iter().map(|&g| u32::from(g)).sum::<u32>() % 7 == 3
    }
}

impl Evaluator<ToyArch> for ToyEval {
    fn name(&self) -> String {
        "toy".into()
    }

    fn provides(&self) -> Vec<Metric> {
        vec![Metric::Accuracy, Metric::LatencyMs]
    }

    fn evaluate(&self, arch: &ToyArch, _ctx: &EvalContext<'_>) -> std::result::Result<MetricMap, EvalError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fails(arch) {
            return Err(EvalError::failed("toy failure"));
        }
        let (acc, lat) = toy_objectives(arch);
        Ok(MetricMap::from([(Metric::Accuracy, acc), (Metric::LatencyMs, lat)]))
    }

    fn is_cheap(&self) -> bool {
        true
    }
}

impl Evaluator<AnyArch> for ToyEval {
    fn name(&self) -> String {
        "toy".into()
    }
    fn provides(&self) -> Vec<Metric> {
        vec![Metric::Accuracy, Metric::LatencyMs]
    }
    /// Toy architectures as [`toy_objectives`]; any other architecture gets
    /// objectives derived from its id (deterministic, spread over the same
    /// ranges; with failures, ids that are 3 modulo 7 fail), so the strategy
    /// contract can run on any space (e.g. joint co-design spaces).
    fn evaluate(&self, arch: &AnyArch, ctx: &EvalContext<'_>) -> std::result::Result<MetricMap, EvalError> {
        if let Some(a) = arch.downcast_ref::<ToyArch>() {
            return Evaluator::<ToyArch>::evaluate(self, a, ctx);
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        let id = arch.id().0;
        if self.failures && id % 7 == 3 {
            return Err(EvalError::failed("toy failure"));
        }
        let acc = 40.0 + (id % 5000) as f64 / 100.0;
        let lat = 1.0 + ((id >> 20) % 1000) as f64 / 100.0;
        Ok(MetricMap::from([(Metric::Accuracy, acc), (Metric::LatencyMs, lat)]))
    }
    fn is_cheap(&self) -> bool {
        true
    }
}

/// The toy latency alone (never fails): the cheap evaluator guided strategies
/// may query freely.
#[derive(Debug, Default, Clone, Copy)]
pub struct ToyLatency;

impl Evaluator<AnyArch> for ToyLatency {
    fn name(&self) -> String {
        "toy-latency".into()
    }
    fn provides(&self) -> Vec<Metric> {
        vec![Metric::LatencyMs]
    }
    fn evaluate(&self, arch: &AnyArch, _ctx: &EvalContext<'_>) -> std::result::Result<MetricMap, EvalError> {
        let a = arch.downcast_ref::<ToyArch>().ok_or_else(|| EvalError::failed("not a toy architecture"))?;
        Ok(MetricMap::from([(Metric::LatencyMs, toy_objectives(a).1)]))
    }
    fn is_cheap(&self) -> bool {
        true
    }
}

/// Accuracy (max) vs latency (min), no constraint.
pub fn toy_problem() -> Problem {
    Problem::new(vec![Objective::natural(Metric::Accuracy), Objective::natural(Metric::LatencyMs)], vec![])
}

/// The toy problem with `latency_ms <= 12`, which cuts off the accurate end of the front.
pub fn toy_constrained_problem() -> Problem {
    let mut p = toy_problem();
    p.constraints.push("latency_ms <= 12".parse().expect("valid constraint"));
    p
}

/// What the driver tells strategies about `arch` (used when driving a strategy by hand).
pub fn toy_evaluated<A: Architecture>(eval: &ToyEval, problem: &Problem, arch: &A) -> Evaluated<A>
where
    ToyEval: Evaluator<A>,
{
    let metrics = eval.evaluate(arch, &EvalContext::with_seed(0)).unwrap_or_default();
    let objectives = if metrics.is_empty() { None } else { problem.min_vector(&metrics) };
    let violation = if objectives.is_some() { problem.violation(&metrics) } else { f64::INFINITY };
    Evaluated { arch: arch.clone(), id: arch.id(), objectives, violation, metrics }
}

/// Runs `strategy` through the real driver (batch size 8).
pub fn run_toy<S: SearchSpace>(
    space: &S,
    eval: &ToyEval,
    problem: &Problem,
    strategy: &mut dyn SearchStrategy<S>,
    budget: usize,
    seed: u64,
) -> Vec<Trial>
where
    ToyEval: Evaluator<S::Arch>,
{
    Search::new(space, eval, problem, SearchConfig::new(budget, seed)).run(strategy).expect("search runs").trials
}

/// A point set as exact bit patterns, sorted and de-duplicated (for set equality).
fn as_bits(points: &[Vec<f64>]) -> Vec<Vec<u64>> {
    let mut out: Vec<Vec<u64>> = points.iter().map(|p| p.iter().map(|v| (v + 0.0).to_bits()).collect()).collect();
    out.sort();
    out.dedup();
    out
}

/// Non-dominated subset of `points`, as exact bit patterns.
fn front_bits(points: &[Vec<f64>]) -> Vec<Vec<u64>> {
    let idx = pareto_front_indices(points);
    as_bits(&idx.iter().map(|&i| points[i].clone()).collect::<Vec<_>>())
}

/// Objective vectors (minimisation form) of the feasible, successful trials.
pub fn feasible_points(trials: &[Trial], problem: &Problem) -> Vec<Vec<f64>> {
    trials
        .iter()
        .filter(|t| t.is_ok() && problem.violation(&t.metrics) == 0.0)
        .filter_map(|t| problem.min_vector(&t.metrics))
        .collect()
}

/// The feasible Pareto front of a set of trials (exact bit patterns).
pub fn trials_front(trials: &[Trial], problem: &Problem) -> Vec<Vec<u64>> {
    front_bits(&feasible_points(trials, problem))
}

/// Objective vectors of the true feasible Pareto front of the toy space.
pub fn true_front_points(problem: &Problem) -> Vec<Vec<f64>> {
    let eval = ToyEval::new();
    let all: Vec<Vec<f64>> = ToySpace
        .enumerate()
        .expect("toy space enumerates")
        .map(|a| toy_evaluated(&eval, problem, &a))
        .filter(|e| e.is_feasible())
        .filter_map(|e| e.objectives)
        .collect();
    let idx = pareto_front_indices(&all);
    idx.iter().map(|&i| all[i].clone()).collect()
}

/// The true feasible Pareto front of the toy space (exact bit patterns).
pub fn true_front(_space: &ToySpace, problem: &Problem) -> Vec<Vec<u64>> {
    as_bits(&true_front_points(problem))
}

/// HV ratio of trials against the true front of `problem` (feasible points only).
pub fn hv_ratio(trials: &[Trial], problem: &Problem) -> f64 {
    let front = true_front_points(problem);
    let norm = NormalizedHv::from_front(&front).expect("front spans both objectives");
    let true_hv = norm.hypervolume(&front).expect("valid front");
    norm.ratio(&feasible_points(trials, problem), true_hv).expect("valid points")
}

/// Mean HV ratio over seeds `0..seeds` at `budget`.
pub fn mean_hv_ratio<St: SearchStrategy<ToySpace>>(
    make: impl Fn() -> St,
    problem: &Problem,
    budget: usize,
    seeds: u64,
) -> f64 {
    let total: f64 = (0..seeds)
        .map(|seed| {
            let trials = run_toy(&ToySpace, &ToyEval::new(), problem, &mut make(), budget, seed);
            hv_ratio(&trials, problem)
        })
        .sum();
    total / seeds as f64
}

/// What two runs must agree on (everything but wall-clock time).
fn signature(trials: &[Trial]) -> Vec<(usize, ArchId, String, bool, MetricMap, u64)> {
    trials.iter().map(|t| (t.index, t.arch_id, t.arch.clone(), t.is_ok(), t.metrics.clone(), t.seed)).collect()
}

#[track_caller]
fn assert_distinct(trials: &[Trial]) {
    let ids: BTreeSet<ArchId> = trials.iter().map(|t| t.arch_id).collect();
    assert_eq!(ids.len(), trials.len(), "an architecture was evaluated twice");
}

/// The contract every strategy must meet through the driver: distinct trials, the
/// full budget, same seed = same run, thread-count independence and exact resume.
#[track_caller]
pub fn check_contract<St: SearchStrategy<ToySpace> + 'static>(make: impl Fn() -> St + Sync, budget: usize) {
    check_contract_on(&ToySpace, || Box::new(make()) as Box<dyn SearchStrategy<ToySpace>>, budget)
}

/// [`check_contract`] on any space of toy architectures (e.g. a [`DynSpace`] of
/// a [`RestrictedToySpace`]).
#[track_caller]
pub fn check_contract_on<S: SearchSpace>(space: &S, make: impl Fn() -> Box<dyn SearchStrategy<S>> + Sync, budget: usize)
where
    ToyEval: Evaluator<S::Arch>,
{
    let problem = toy_problem();
    let eval = ToyEval::new();
    let a = run_toy(space, &eval, &problem, make().as_mut(), budget, 11);
    assert_eq!(a.len(), budget);
    assert_distinct(&a);
    let b = run_toy(space, &ToyEval::new(), &problem, make().as_mut(), budget, 11);
    assert_eq!(signature(&a), signature(&b), "same seed, different run");
    let c = run_toy(space, &ToyEval::new(), &problem, make().as_mut(), budget, 12);
    assert_ne!(signature(&a), signature(&c), "the seed is ignored");

    // Thread counts.
    let in_pool = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        pool.install(|| run_toy(space, &ToyEval::new(), &problem, make().as_mut(), budget, 13))
    };
    assert_eq!(signature(&in_pool(1)), signature(&in_pool(4)), "thread count changes the run");

    // Resume from a prefix of 37 trials of a 60-trial run.
    let full = run_toy(space, &ToyEval::new(), &problem, make().as_mut(), 60, 14);
    assert_eq!(full.len(), 60);
    let eval2 = ToyEval::new();
    let resumed = Search::new(space, &eval2, &problem, SearchConfig::new(60, 14))
        .resume_from(full[..37].to_vec())
        .run(make().as_mut())
        .expect("resumed search runs")
        .trials;
    assert_eq!(signature(&resumed), signature(&full), "resume diverged");
    assert_eq!(eval2.calls(), 23, "resume re-evaluated recorded trials");

    // Failures and a constraint.
    let failing = ToyEval::with_failures();
    let constrained = toy_constrained_problem();
    let f = run_toy(space, &failing, &constrained, make().as_mut(), budget, 15);
    assert_eq!(f.len(), budget);
    assert_distinct(&f);
    assert!(f.iter().any(|t| !t.is_ok()), "the failing evaluator should fail sometimes");
}

/// Drives a strategy by hand through truncated batches, failures, repeats and
/// results it did not ask for; it must keep proposing new architectures and never
/// propose one twice.
#[track_caller]
pub fn check_robustness<St: SearchStrategy<ToySpace> + 'static>(make: impl Fn() -> St) {
    check_robustness_on(&ToySpace, || Box::new(make()) as Box<dyn SearchStrategy<ToySpace>>)
}

/// [`check_robustness`] on any space of toy architectures.
#[track_caller]
pub fn check_robustness_on<S: SearchSpace>(space: &S, make: impl Fn() -> Box<dyn SearchStrategy<S>>)
where
    ToyEval: Evaluator<S::Arch>,
{
    let problem = toy_constrained_problem();
    let eval = ToyEval::with_failures();
    let mut s = make();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut other = ChaCha8Rng::seed_from_u64(7);
    let mut proposed: BTreeSet<ArchId> = BTreeSet::new();
    let mut told: Vec<Evaluated<S::Arch>> = Vec::new();
    let mut empty = 0;
    for step in 0..150 {
        let batch = s.ask(space, 8, &mut rng);
        assert!(batch.len() <= 8);
        for a in &batch {
            assert!(proposed.insert(a.id()), "proposed {} twice", a.notation());
        }
        if batch.is_empty() {
            empty += 1;
            if empty > 3 {
                break;
            }
        }
        // The driver keeps only a prefix; add a foreign result and a repeat.
        let keep = batch.len().min(1 + step % 5);
        let mut results: Vec<Evaluated<S::Arch>> =
            batch[..keep].iter().map(|a| toy_evaluated(&eval, &problem, a)).collect();
        if step % 3 == 0 {
            let foreign = space.sample(&mut other);
            results.push(toy_evaluated(&eval, &problem, &foreign));
        }
        if let Some(old) = told.get(step % told.len().max(1)) {
            results.insert(0, old.clone());
        }
        s.tell(space, &results);
        told.extend(results);
    }
    assert!(proposed.len() > 100, "the strategy stalled after {} proposals", proposed.len());
}

/// The whole strategy contract for a registered strategy: it is built through
/// a [`Registry`](crate::Registry) on a [`DynSpace`] of the toy space that has
/// exactly the capabilities `settings.needs()` declares (a strategy that uses
/// more panics here), with [`ToyLatency`] as the cheap evaluator, and must pass
/// [`check_contract_on`] (budget `budget`) and [`check_robustness_on`]. A space
/// without one of the declared needs must be refused with a message naming it.
#[track_caller]
pub fn check_strategy<T: StrategySettings>(settings: T, budget: usize) {
    settings.validate().expect("valid settings");
    let needs = settings.needs();
    let space = DynSpace::new(RestrictedToySpace(needs.clone()), serde_json::json!({}));
    let mut registry = crate::Registry::new();
    registry.add_strategy::<T>();
    let spec = registry
        .parse_strategy(T::NAME, serde_json::to_value(&settings).expect("settings serialise"))
        .expect("settings parse back");
    assert_eq!(spec.needs(), needs, "needs change through serialisation");
    let problem = toy_problem();
    let cheap: Arc<dyn Evaluator<AnyArch>> = Arc::new(ToyLatency);
    let make = || {
        let ctx = StrategyContext {
            space: &space,
            problem: &problem,
            data: None,
            workdir: None,
            cheap: Some(cheap.clone()),
            quiet: true,
            budget,
        };
        registry.build_strategy(spec.as_ref(), &space, &ctx).expect("builds with its declared needs")
    };
    check_contract_on(&space, make, budget);
    check_robustness_on(&space, make);
    for missing in &needs {
        let fewer: Vec<Capability> = needs.iter().copied().filter(|c| c != missing).collect();
        let poorer = DynSpace::new(RestrictedToySpace(fewer), serde_json::json!({}));
        let ctx = StrategyContext {
            space: &poorer,
            problem: &problem,
            data: None,
            workdir: None,
            cheap: Some(cheap.clone()),
            quiet: true,
            budget,
        };
        let err = registry.build_strategy(spec.as_ref(), &poorer, &ctx).err().expect("refused");
        let msg = err.to_string();
        assert!(
            msg.contains(missing.describe()) && msg.contains(T::NAME),
            "refusal does not name `{missing}` and the strategy: {msg}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toy_space_is_consistent_and_its_front_is_non_trivial() {
        let space = ToySpace;
        let all: Vec<ToyArch> = space.enumerate().expect("enumerates").collect();
        assert_eq!(all.len(), 625);
        let ids: BTreeSet<ArchId> = all.iter().map(|a| a.id()).collect();
        assert_eq!(ids.len(), 625);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for a in all.iter().step_by(37) {
            assert_eq!(&space.parse(&a.notation()).expect("parses"), a);
            assert_ne!(&space.mutate(a, &mut rng), a);
            assert_eq!(space.neighbors(a).len(), 16);
        }
        let front = true_front_points(&toy_problem());
        let constrained = true_front_points(&toy_constrained_problem());
        assert!(front.len() >= 12, "front of {} points", front.len());
        assert!(constrained.len() >= 6 && constrained.len() < front.len());
        // Some, but not all, constrained-front points are on the unconstrained front.
        let f = as_bits(&front);
        let shared = as_bits(&constrained).iter().filter(|p| f.contains(p)).count();
        assert!(shared < front.len());
    }
}
