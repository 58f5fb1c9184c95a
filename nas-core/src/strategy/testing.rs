//! Test helpers of the strategies: a tiny enumerable space with an analytic
//! two-objective evaluator, and checks every strategy must pass.

use super::{Evaluated, SearchStrategy};
use crate::arch::{ArchId, Architecture};
use crate::error::{NasError, Result};
use crate::evaluator::{EvalContext, EvalError, Evaluator};
use crate::metric::{Metric, MetricMap, Objective, Problem};
use crate::pareto::{NormalizedHv, pareto_front_indices};
use crate::search::{Search, SearchConfig};
use crate::space::{Crossover, Mutate, Neighbors, SearchSpace, SpaceSize};
use crate::trial::Trial;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Genes of the toy architecture.
pub(crate) const TOY_LEN: usize = 4;
/// Values per gene.
pub(crate) const TOY_VALUES: u8 = 5;

/// A toy architecture: four genes with values `0..5` (625 architectures).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ToyArch(pub Vec<u8>);

impl Architecture for ToyArch {
    fn notation(&self) -> String {
        self.0.iter().map(|g| g.to_string()).collect::<Vec<_>>().join("-")
    }
}

/// The toy space.
#[derive(Clone, Debug, Default)]
pub(crate) struct ToySpace;

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

/// Accuracy gain of each value of each gene (gene 3's last value is a trap).
const GAIN: [[f64; 5]; TOY_LEN] =
    [[0.0, 3.0, 5.0, 6.0, 6.5], [0.0, 4.0, 4.5, 8.0, 9.0], [0.0, 1.0, 5.0, 5.5, 10.0], [0.0, 6.0, 7.0, 7.5, 5.0]];
/// Latency cost per unit of each gene.
const COST: [f64; TOY_LEN] = [1.0, 1.3, 1.7, 2.2];

/// Analytic objectives of a toy architecture: `(accuracy, latency_ms)`.
pub(crate) fn toy_objectives(arch: &ToyArch) -> (f64, f64) {
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
pub(crate) struct ToyEval {
    calls: AtomicUsize,
    failures: bool,
}

impl ToyEval {
    /// An evaluator that never fails.
    pub(crate) fn new() -> Self {
        ToyEval::default()
    }

    /// An evaluator that fails when the gene sum is 3 modulo 7.
    pub(crate) fn with_failures() -> Self {
        ToyEval { calls: AtomicUsize::new(0), failures: true }
    }

    /// Number of evaluations so far.
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Whether this evaluator fails on `arch`.
    pub(crate) fn fails(&self, arch: &ToyArch) -> bool {
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

/// Accuracy (max) vs latency (min), no constraint.
pub(crate) fn toy_problem() -> Problem {
    Problem::new(vec![Objective::natural(Metric::Accuracy), Objective::natural(Metric::LatencyMs)], vec![])
}

/// The toy problem with `latency_ms <= 12`, which cuts off the accurate end of the front.
pub(crate) fn toy_constrained_problem() -> Problem {
    let mut p = toy_problem();
    p.constraints.push("latency_ms <= 12".parse().expect("valid constraint"));
    p
}

/// What the driver tells strategies about `arch` (used when driving a strategy by hand).
pub(crate) fn toy_evaluated(eval: &ToyEval, problem: &Problem, arch: &ToyArch) -> Evaluated<ToyArch> {
    let metrics = eval.evaluate(arch, &EvalContext::with_seed(0)).unwrap_or_default();
    let objectives = if metrics.is_empty() { None } else { problem.min_vector(&metrics) };
    let violation = if objectives.is_some() { problem.violation(&metrics) } else { f64::INFINITY };
    Evaluated { arch: arch.clone(), id: arch.id(), objectives, violation, metrics }
}

/// Runs `strategy` through the real driver (batch size 8).
pub(crate) fn run_toy(
    space: &ToySpace,
    eval: &ToyEval,
    problem: &Problem,
    strategy: &mut dyn SearchStrategy<ToySpace>,
    budget: usize,
    seed: u64,
) -> Vec<Trial> {
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
pub(crate) fn feasible_points(trials: &[Trial], problem: &Problem) -> Vec<Vec<f64>> {
    trials
        .iter()
        .filter(|t| t.is_ok() && problem.violation(&t.metrics) == 0.0)
        .filter_map(|t| problem.min_vector(&t.metrics))
        .collect()
}

/// The feasible Pareto front of a set of trials (exact bit patterns).
pub(crate) fn trials_front(trials: &[Trial], problem: &Problem) -> Vec<Vec<u64>> {
    front_bits(&feasible_points(trials, problem))
}

/// Objective vectors of the true feasible Pareto front of the toy space.
pub(crate) fn true_front_points(problem: &Problem) -> Vec<Vec<f64>> {
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
pub(crate) fn true_front(_space: &ToySpace, problem: &Problem) -> Vec<Vec<u64>> {
    as_bits(&true_front_points(problem))
}

/// HV ratio of trials against the true front of `problem` (feasible points only).
pub(crate) fn hv_ratio(trials: &[Trial], problem: &Problem) -> f64 {
    let front = true_front_points(problem);
    let norm = NormalizedHv::from_front(&front).expect("front spans both objectives");
    let true_hv = norm.hypervolume(&front).expect("valid front");
    norm.ratio(&feasible_points(trials, problem), true_hv).expect("valid points")
}

/// Mean HV ratio over seeds `0..seeds` at `budget`.
pub(crate) fn mean_hv_ratio<St: SearchStrategy<ToySpace>>(
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
pub(crate) fn check_contract<St: SearchStrategy<ToySpace>>(make: impl Fn() -> St + Sync, budget: usize) {
    let space = ToySpace;
    let problem = toy_problem();
    let eval = ToyEval::new();
    let a = run_toy(&space, &eval, &problem, &mut make(), budget, 11);
    assert_eq!(a.len(), budget);
    assert_distinct(&a);
    let b = run_toy(&space, &ToyEval::new(), &problem, &mut make(), budget, 11);
    assert_eq!(signature(&a), signature(&b), "same seed, different run");
    let c = run_toy(&space, &ToyEval::new(), &problem, &mut make(), budget, 12);
    assert_ne!(signature(&a), signature(&c), "the seed is ignored");

    // Thread counts.
    let in_pool = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        pool.install(|| run_toy(&space, &ToyEval::new(), &problem, &mut make(), budget, 13))
    };
    assert_eq!(signature(&in_pool(1)), signature(&in_pool(4)), "thread count changes the run");

    // Resume from a prefix of 37 trials of a 60-trial run.
    let full = run_toy(&space, &ToyEval::new(), &problem, &mut make(), 60, 14);
    assert_eq!(full.len(), 60);
    let eval2 = ToyEval::new();
    let resumed = Search::new(&space, &eval2, &problem, SearchConfig::new(60, 14))
        .resume_from(full[..37].to_vec())
        .run(&mut make())
        .expect("resumed search runs")
        .trials;
    assert_eq!(signature(&resumed), signature(&full), "resume diverged");
    assert_eq!(eval2.calls(), 23, "resume re-evaluated recorded trials");

    // Failures and a constraint.
    let failing = ToyEval::with_failures();
    let constrained = toy_constrained_problem();
    let f = run_toy(&space, &failing, &constrained, &mut make(), budget, 15);
    assert_eq!(f.len(), budget);
    assert_distinct(&f);
    assert!(f.iter().any(|t| !t.is_ok()), "the failing evaluator should fail sometimes");
}

/// Drives a strategy by hand through truncated batches, failures, repeats and
/// results it did not ask for; it must keep proposing new architectures and never
/// propose one twice.
#[track_caller]
pub(crate) fn check_robustness<St: SearchStrategy<ToySpace>>(make: impl Fn() -> St) {
    let space = ToySpace;
    let problem = toy_constrained_problem();
    let eval = ToyEval::with_failures();
    let mut s = make();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut other = ChaCha8Rng::seed_from_u64(7);
    let mut proposed: BTreeSet<ArchId> = BTreeSet::new();
    let mut told: Vec<Evaluated<ToyArch>> = Vec::new();
    let mut empty = 0;
    for step in 0..150 {
        let batch = s.ask(&space, 8, &mut rng);
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
        let mut results: Vec<Evaluated<ToyArch>> =
            batch[..keep].iter().map(|a| toy_evaluated(&eval, &problem, a)).collect();
        if step % 3 == 0 {
            let foreign = space.sample(&mut other);
            results.push(toy_evaluated(&eval, &problem, &foreign));
        }
        if let Some(old) = told.get(step % told.len().max(1)) {
            results.insert(0, old.clone());
        }
        s.tell(&space, &results);
        told.extend(results);
    }
    assert!(proposed.len() > 100, "the strategy stalled after {} proposals", proposed.len());
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

/// Tuning experiment on the NAS-Bench-201 table (CIFAR-10 accuracy vs `fpga_ms`),
/// with a minimal re-implementation of the space (nas-core cannot depend on
/// search-spaces). Run it with
/// `cargo test --release -p nas-core nb201_hv_ratios -- --ignored --nocapture`
/// (`NB201_CSV` overrides the table path, `SEEDS` the number of seeds (run seeds
/// `0..SEEDS`), `BATCH` the driver's batch size, default 10 as in the CLI's
/// `nb201-cifar10-fpga` config).
#[cfg(test)]
mod nb201_experiment {
    use super::*;
    use crate::strategy::{
        LocalSearch, LocalSearchConfig, Nsga2, Nsga2Config, RandomSearch, RegularizedEvolution,
        RegularizedEvolutionConfig,
    };
    use std::collections::BTreeMap;
    use std::io::Read;

    const OPS: [&str; 5] = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"];
    const EDGES: usize = 6;

    /// A cell: the op index of each of the six edges, in notation order.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct Cell([u8; EDGES]);

    impl Architecture for Cell {
        fn notation(&self) -> String {
            let o = |k: usize| OPS[usize::from(self.0[k])];
            format!("|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|", o(0), o(1), o(2), o(3), o(4), o(5))
        }
    }

    /// The 15,625 cells with the benchmark's REA mutation, uniform crossover and
    /// single-edge neighbours (as in search-spaces' `Nb201Space`).
    struct Nb201;

    impl SearchSpace for Nb201 {
        type Arch = Cell;
        fn name(&self) -> &str {
            "nb201"
        }
        fn sample(&self, rng: &mut dyn RngCore) -> Cell {
            Cell(std::array::from_fn(|_| rng.random_range(0..5u8)))
        }
        fn validate(&self, _arch: &Cell) -> Result<()> {
            Ok(())
        }
        fn parse(&self, notation: &str) -> Result<Cell> {
            let ops: Option<Vec<u8>> = notation
                .split('|')
                .filter_map(|t| t.split_once('~'))
                .map(|(op, _)| OPS.iter().position(|o| *o == op).map(|p| p as u8))
                .collect();
            let ops = ops.and_then(|v| <[u8; EDGES]>::try_from(v).ok());
            ops.map(Cell).ok_or_else(|| NasError::Parse {
                space: "nb201".into(),
                input: notation.into(),
                reason: "six known ops".into(),
            })
        }
        fn size(&self) -> SpaceSize {
            SpaceSize::Exact(15_625)
        }
    }

    impl Mutate for Nb201 {
        fn mutate(&self, arch: &Cell, rng: &mut dyn RngCore) -> Cell {
            let mut ops = arch.0;
            let e = rng.random_range(0..EDGES);
            ops[e] = (ops[e] + rng.random_range(1..5u8)) % 5;
            Cell(ops)
        }
    }

    impl Crossover for Nb201 {
        fn crossover(&self, a: &Cell, b: &Cell, rng: &mut dyn RngCore) -> Cell {
            Cell(std::array::from_fn(|e| if rng.random_bool(0.5) { b.0[e] } else { a.0[e] }))
        }
    }

    impl Neighbors for Nb201 {
        fn neighbors(&self, arch: &Cell) -> Vec<Cell> {
            let mut out = Vec::with_capacity(24);
            for e in 0..EDGES {
                for op in 0..5u8 {
                    if op != arch.0[e] {
                        let mut ops = arch.0;
                        ops[e] = op;
                        out.push(Cell(ops));
                    }
                }
            }
            out
        }
    }

    /// Table lookup: notation -> (accuracy, fpga latency).
    struct Table(BTreeMap<String, (f64, f64)>);

    impl Evaluator<Cell> for Table {
        fn name(&self) -> String {
            "nb201-table".into()
        }
        fn provides(&self) -> Vec<Metric> {
            vec![Metric::Accuracy, Metric::LatencyMs]
        }
        fn evaluate(&self, arch: &Cell, _ctx: &EvalContext<'_>) -> std::result::Result<MetricMap, EvalError> {
            let (acc, lat) = self.0.get(&arch.notation()).copied().ok_or_else(|| EvalError::failed("not in table"))?;
            Ok(MetricMap::from([(Metric::Accuracy, acc), (Metric::LatencyMs, lat)]))
        }
        fn is_cheap(&self) -> bool {
            true
        }
    }

    fn load() -> Table {
        let path = std::env::var("NB201_CSV")
            .unwrap_or_else(|_| "/work/shared/data/nb201/nb201_cifar_accuracy_and_latency.csv.gz".into());
        let file = std::fs::File::open(&path).expect("NB201 table readable");
        let mut text = String::new();
        flate2::read::GzDecoder::new(file).read_to_string(&mut text).expect("gzip csv");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let col = |n: &str| header.iter().position(|h| *h == n).expect("column");
        let (arch, acc, lat) = (col("arch"), col("cifar10_test_acc"), col("fpga_ms"));
        let rows = lines.map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[arch].to_string(), (f[acc].parse().expect("accuracy"), f[lat].parse().expect("latency")))
        });
        Table(rows.collect())
    }

    /// Mean HV ratio of the first `b` trials for each `b` in `budgets`.
    fn mean_ratios(
        table: &Table,
        norm: &NormalizedHv,
        true_hv: f64,
        make: &dyn Fn() -> Box<dyn SearchStrategy<Nb201>>,
        budgets: &[usize],
        seeds: u64,
        batch_size: usize,
    ) -> Vec<f64> {
        let problem = toy_problem();
        let max = budgets.iter().copied().max().unwrap_or(0);
        let mut sums = vec![0.0; budgets.len()];
        for seed in 0..seeds {
            let mut strategy = make();
            let config = SearchConfig { batch_size, ..SearchConfig::new(max, seed) };
            let trials = Search::new(&Nb201, table, &problem, config).run(&mut *strategy).expect("search runs").trials;
            for (sum, &b) in sums.iter_mut().zip(budgets) {
                let points = feasible_points(&trials[..b.min(trials.len())], &problem);
                *sum += norm.ratio(&points, true_hv).expect("ratio");
            }
        }
        sums.iter().map(|s| s / seeds as f64).collect()
    }

    #[test]
    #[ignore = "needs the NAS-Bench-201 table; a tuning experiment, not a check"]
    fn nb201_hv_ratios() {
        let table = load();
        let problem = toy_problem();
        let all: Vec<Vec<f64>> = table
            .0
            .values()
            .filter_map(|&(a, l)| problem.min_vector(&MetricMap::from([(Metric::Accuracy, a), (Metric::LatencyMs, l)])))
            .collect();
        let front: Vec<Vec<f64>> = pareto_front_indices(&all).into_iter().map(|i| all[i].clone()).collect();
        let norm = NormalizedHv::from_front(&front).expect("normaliser");
        let true_hv = norm.hypervolume(&front).expect("true front HV");
        let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default);
        let seeds = env("SEEDS", 20);
        let batch_size = env("BATCH", 10) as usize;
        let budgets = [100, 200, 400];
        println!(
            "NB201 ({} archs, true front {} points), {seeds} seeds, batch {batch_size}, HV ratio at {budgets:?} evals",
            all.len(),
            front.len()
        );
        type Make = Box<dyn Fn() -> Box<dyn SearchStrategy<Nb201>>>;
        let runs: Vec<(&str, Make)> = vec![
            ("random", Box::new(|| Box::new(RandomSearch::<Cell>::default()))),
            ("evolution", Box::new(|| Box::new(RegularizedEvolution::<Cell>::default()))),
            (
                "evolution P=20 S=10",
                Box::new(|| {
                    Box::new(
                        RegularizedEvolutionConfig { population_size: 20, sample_size: 10, ..Default::default() }
                            .init::<Cell>(),
                    )
                }),
            ),
            ("nsga2", Box::new(|| Box::new(Nsga2::<Cell>::default()))),
            (
                "nsga2 N=20 cx=0.9",
                Box::new(|| {
                    Box::new(
                        Nsga2Config { population_size: 20, crossover_prob: 0.9, ..Default::default() }.init::<Cell>(),
                    )
                }),
            ),
            ("local", Box::new(|| Box::new(LocalSearch::<Cell>::default()))),
            (
                "local classic PLS, 10 samples",
                Box::new(|| {
                    Box::new(
                        LocalSearchConfig { initial_samples: 10, first_improvement: false, ..Default::default() }
                            .init::<Cell>(),
                    )
                }),
            ),
        ];
        for (name, make) in &runs {
            let r = mean_ratios(&table, &norm, true_hv, make.as_ref(), &budgets, seeds, batch_size);
            println!("{name:32} {}", r.iter().map(|x| format!("{x:.4}")).collect::<Vec<_>>().join("  "));
        }
    }
}
