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

#[cfg(test)]
mod scratch {
    use super::*;
    use crate::strategy::*;

    fn first_full<St: SearchStrategy<ToySpace>>(
        make: impl Fn() -> St,
        problem: &crate::Problem,
        budget: usize,
    ) -> Vec<Option<usize>> {
        let truth = true_front(&ToySpace, problem);
        (0..10)
            .map(|seed| {
                let trials = run_toy(&ToySpace, &ToyEval::new(), problem, &mut make(), budget, seed);
                (1..=trials.len()).find(|&k| trials_front(&trials[..k], problem) == truth)
            })
            .collect()
    }

    #[test]
    #[ignore]
    fn explore() {
        for problem in [toy_problem(), toy_constrained_problem()] {
            println!("front size {}", true_front(&ToySpace, &problem).len());
            println!("random  {:?}", first_full(RandomSearch::<ToyArch>::default, &problem, 625));
            println!("evo     {:?}", first_full(RegularizedEvolution::<ToyArch>::default, &problem, 625));
            println!("nsga2   {:?}", first_full(Nsga2::<ToyArch>::default, &problem, 625));
            println!("local   {:?}", first_full(LocalSearch::<ToyArch>::default, &problem, 625));
            for b in [40, 60, 100, 150] {
                let r = mean_hv_ratio(RandomSearch::<ToyArch>::default, &problem, b, 10);
                let e = mean_hv_ratio(RegularizedEvolution::<ToyArch>::default, &problem, b, 10);
                let n = mean_hv_ratio(Nsga2::<ToyArch>::default, &problem, b, 10);
                let l = mean_hv_ratio(LocalSearch::<ToyArch>::default, &problem, b, 10);
                println!("budget {b}: random {r:.4} evo {e:.4} nsga2 {n:.4} local {l:.4}");
            }
        }
    }

    // ---- NAS-Bench-201 experiment ----
    const OPS: [&str; 5] = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"];

    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct Nb(Vec<u8>);
    impl Architecture for Nb {
        fn notation(&self) -> String {
            let o = |k: usize| OPS[usize::from(self.0[k])];
            format!("|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|", o(0), o(1), o(2), o(3), o(4), o(5))
        }
    }
    struct NbSpace;
    impl SearchSpace for NbSpace {
        type Arch = Nb;
        fn name(&self) -> &str {
            "nb201"
        }
        fn sample(&self, rng: &mut dyn RngCore) -> Nb {
            Nb((0..6).map(|_| rng.random_range(0..5u8)).collect())
        }
        fn validate(&self, _arch: &Nb) -> Result<()> {
            Ok(())
        }
        fn parse(&self, notation: &str) -> Result<Nb> {
            let ops: Vec<u8> = notation
                .split('|')
                .filter(|s| s.contains('~'))
                .map(|s| {
                    let name = s.split('~').next().unwrap_or("");
                    OPS.iter().position(|o| *o == name).map(|p| p as u8)
                })
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| NasError::Backend(notation.into()))?;
            Ok(Nb(ops))
        }
        fn size(&self) -> SpaceSize {
            SpaceSize::Exact(15625)
        }
        fn enumerate(&self) -> Option<Box<dyn Iterator<Item = Nb> + '_>> {
            Some(Box::new((0..15625u32).map(|mut k| {
                let mut g = vec![0u8; 6];
                for x in g.iter_mut().rev() {
                    *x = (k % 5) as u8;
                    k /= 5;
                }
                Nb(g)
            })))
        }
    }
    impl Mutate for NbSpace {
        fn mutate(&self, arch: &Nb, rng: &mut dyn RngCore) -> Nb {
            let mut g = arch.0.clone();
            let pos = rng.random_range(0..6);
            g[pos] = (g[pos] + rng.random_range(1..5u8)) % 5;
            Nb(g)
        }
    }
    impl Crossover for NbSpace {
        fn crossover(&self, a: &Nb, b: &Nb, rng: &mut dyn RngCore) -> Nb {
            Nb(a.0.iter().zip(&b.0).map(|(&x, &y)| if rng.random::<bool>() { x } else { y }).collect())
        }
    }
    impl Neighbors for NbSpace {
        fn neighbors(&self, arch: &Nb) -> Vec<Nb> {
            let mut out = Vec::new();
            for p in 0..6 {
                for v in 0..5u8 {
                    if v != arch.0[p] {
                        let mut g = arch.0.clone();
                        g[p] = v;
                        out.push(Nb(g));
                    }
                }
            }
            out
        }
    }
    struct NbEval(std::collections::HashMap<String, (f64, f64)>);
    impl Evaluator<Nb> for NbEval {
        fn name(&self) -> String {
            "nb201".into()
        }
        fn provides(&self) -> Vec<Metric> {
            vec![Metric::Accuracy, Metric::LatencyMs]
        }
        fn evaluate(&self, arch: &Nb, _ctx: &EvalContext<'_>) -> std::result::Result<MetricMap, EvalError> {
            let (a, l) = self.0.get(&arch.notation()).copied().ok_or_else(|| EvalError::failed("missing"))?;
            Ok(MetricMap::from([(Metric::Accuracy, a), (Metric::LatencyMs, l)]))
        }
    }

    fn load() -> NbEval {
        let path = std::env::var("NB201_CSV")
            .unwrap_or_else(|_| "/work/shared/data/nb201/nb201_cifar_accuracy_and_latency.csv.gz".into());
        let out = std::process::Command::new("gzip").args(["-dc", &path]).output().expect("gzip");
        let text = String::from_utf8(out.stdout).expect("utf8");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let col = |n: &str| header.iter().position(|h| *h == n).expect("column");
        let (ia, iacc, ilat) = (col("arch"), col("cifar10_test_acc"), col("fpga_ms"));
        let mut map = std::collections::HashMap::new();
        for l in lines {
            let f: Vec<&str> = l.split(',').collect();
            map.insert(f[ia].to_string(), (f[iacc].parse().expect("acc"), f[ilat].parse().expect("lat")));
        }
        NbEval(map)
    }

    fn ratios<St: SearchStrategy<NbSpace>>(
        eval: &NbEval,
        norm: &NormalizedHv,
        true_hv: f64,
        make: &dyn Fn() -> St,
        budgets: &[usize],
        seeds: u64,
    ) -> Vec<f64> {
        let problem = toy_problem();
        let max = *budgets.iter().max().expect("budgets");
        let mut sums = vec![0.0; budgets.len()];
        for seed in 0..seeds {
            let trials = Search::new(&NbSpace, eval, &problem, SearchConfig::new(max, 1000 + seed))
                .run(&mut make())
                .expect("runs")
                .trials;
            for (k, &b) in budgets.iter().enumerate() {
                let pts = feasible_points(&trials[..b.min(trials.len())], &problem);
                sums[k] += norm.ratio(&pts, true_hv).expect("ratio");
            }
        }
        sums.iter().map(|s| s / seeds as f64).collect()
    }

    #[test]
    #[ignore]
    fn nb201_experiment() {
        let eval = load();
        let problem = toy_problem();
        let all: Vec<Vec<f64>> = eval
            .0
            .values()
            .map(|&(a, l)| problem.min_vector(&MetricMap::from([(Metric::Accuracy, a), (Metric::LatencyMs, l)])))
            .map(|v| v.expect("finite"))
            .collect();
        let idx = pareto_front_indices(&all);
        let front: Vec<Vec<f64>> = idx.iter().map(|&i| all[i].clone()).collect();
        println!("NB201: {} archs, true front {} points", all.len(), front.len());
        let norm = NormalizedHv::from_front(&front).expect("norm");
        let true_hv = norm.hypervolume(&front).expect("hv");
        let budgets = [100, 200, 400];
        let seeds = 20;
        let budgets_env = std::env::var("BUDGETS").unwrap_or_default();
        let budgets: Vec<usize> = if budgets_env.is_empty() { budgets.to_vec() } else { budgets_env.split(',').map(|b| b.parse().expect("budget")).collect() };
        let budgets = &budgets[..];
        let show = |name: &str, r: Vec<f64>| println!("{name:40} {}", r.iter().map(|x| format!("{x:.4}")).collect::<Vec<_>>().join(" "));
        let grid = std::env::var("GRID").unwrap_or_default();
        show("random", ratios(&eval, &norm, true_hv, &|| RandomSearch::<Nb>::default(), budgets, seeds));
        let seeds: u64 = std::env::var("SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(seeds);
        if grid.contains('H') {
            let fronts: Vec<(String, Box<dyn Fn() -> Box<dyn SearchStrategy<NbSpace>>>)> = vec![
                ("random".into(), Box::new(|| Box::new(RandomSearch::<Nb>::default()))),
                ("nsga2 N=10 cx=0".into(), Box::new(|| Box::new(Nsga2Config { population_size: 10, crossover_prob: 0.0, ..Default::default() }.init::<Nb>()))),
                ("nsga2 N=20 cx=.9".into(), Box::new(|| Box::new(Nsga2Config { population_size: 20, ..Default::default() }.init::<Nb>()))),
                ("local".into(), Box::new(|| Box::new(LocalSearch::<Nb>::default()))),
            ];
            for (name, make) in &fronts {
                let mut hits = vec![0usize; front.len()];
                let mut loss = vec![0.0; front.len()];
                for seed in 0..seeds {
                    let mut st = make();
                    let trials = Search::new(&NbSpace, &eval, &problem, SearchConfig::new(200, 1000 + seed)).run(&mut *st).expect("runs").trials;
                    let pts = feasible_points(&trials, &problem);
                    let hv = norm.hypervolume(&pts).expect("hv");
                    for (k, f) in front.iter().enumerate() {
                        if pts.iter().any(|p| p == f) { hits[k] += 1; } else {
                            let mut with = pts.clone(); with.push(f.clone());
                            loss[k] += (norm.hypervolume(&with).expect("hv") - hv) / true_hv;
                        }
                    }
                }
                println!("{name}: hits {hits:?}");
                println!("{name}: mean HV loss per missed point {:?}", loss.iter().map(|l| format!("{:.4}", l / seeds as f64)).collect::<Vec<_>>());
            }
            let mut fs: Vec<_> = front.clone(); fs.sort_by(|a, b| a[1].total_cmp(&b[1]));
            println!("{:?}", front);
        }
        if grid.contains('X') {
            for p in [8, 10, 12, 16, 20] {
                for lam in [0, 2, 4, 8] {
                    for u in [false, true] {
                        for cx in [0.0, 0.3] {
                            let c = Nsga2Config { population_size: p, crossover_prob: cx, offspring_size: lam, unique_objectives: u, ..Default::default() };
                            show(&format!("nsga2 N={p} l={lam} u={u} cx={cx}"), ratios(&eval, &norm, true_hv, &|| c.clone().init::<Nb>(), budgets, seeds));
                        }
                    }
                }
            }
        }
        if grid.contains('D') {
            let c = Nsga2Config { population_size: 10, crossover_prob: 0.0, ..Default::default() };
            let mut rs = Vec::new();
            for seed in 0..seeds {
                let trials = Search::new(&NbSpace, &eval, &problem, SearchConfig::new(200, 1000 + seed)).run(&mut c.clone().init::<Nb>()).expect("runs").trials;
                let pts = feasible_points(&trials, &problem);
                let r = norm.ratio(&pts, true_hv).expect("r");
                let best_acc = pts.iter().map(|p| -p[0]).fold(0.0, f64::max);
                let min_lat = pts.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
                // loss split: high-acc half (lat > 3) vs low-lat half
                let hi: Vec<Vec<f64>> = front.iter().filter(|f| f[1] > 3.0).cloned().collect();
                let lo: Vec<Vec<f64>> = front.iter().filter(|f| f[1] <= 3.0).cloned().collect();
                let mut a = pts.clone(); a.extend(hi.clone());
                let mut b = pts.clone(); b.extend(lo.clone());
                let base = norm.hypervolume(&pts).expect("hv");
                let lhi = (norm.hypervolume(&a).expect("hv") - base) / true_hv;
                let llo = (norm.hypervolume(&b).expect("hv") - base) / true_hv;
                rs.push((r, best_acc, min_lat, lhi, llo));
            }
            rs.sort_by(|a, b| a.0.total_cmp(&b.0));
            for r in &rs { println!("ratio {:.4} best_acc {:.3} min_lat {:.3} loss_hi {:.4} loss_lo {:.4}", r.0, r.1, r.2, r.3, r.4); }
        }
        if grid.contains('B') {
            for p in [8, 10, 12, 16, 20, 24] {
                for bc in [0.0, 0.5, 1.0, 1.5] {
                    for cx in [0.0, 0.3, 0.9] {
                        let c = Nsga2Config { population_size: p, crossover_prob: cx, boundary_cap: bc, ..Default::default() };
                        show(&format!("nsga2 N={p} bc={bc} cx={cx}"), ratios(&eval, &norm, true_hv, &|| c.clone().init::<Nb>(), budgets, seeds));
                    }
                }
            }
        }
        if grid.contains('Y') {
            for p in [8, 10, 12, 16, 20] {
                for em in [0.0, 0.2, 0.4] {
                    for ts in [2, 3, 4] {
                        for cx in [0.0, 0.3] {
                            let c = Nsga2Config { population_size: p, crossover_prob: cx, extra_mutation: em, tournament_size: ts, ..Default::default() };
                            show(&format!("nsga2 N={p} em={em} ts={ts} cx={cx}"), ratios(&eval, &norm, true_hv, &|| c.clone().init::<Nb>(), budgets, seeds));
                        }
                    }
                }
            }
        }
        if grid.contains('N') {
            for p in [8, 10, 12, 14, 16, 20] {
                for cx in [0.9, 0.5, 0.2, 0.0] {
                    for mp in [1.0, 0.7] {
                        let c = Nsga2Config { population_size: p, crossover_prob: cx, mutation_prob: mp, ..Default::default() };
                        show(&format!("nsga2 N={p} cx={cx} mut={mp}"), ratios(&eval, &norm, true_hv, &|| c.clone().init::<Nb>(), budgets, seeds));
                    }
                }
            }
        }
        if grid.contains('n') {
            for p in [8, 12, 16, 20, 24, 30, 40] {
                for cx in [0.9, 0.5, 0.0] {
                    for mp in [1.0, 0.5] {
                        let c = Nsga2Config { population_size: p, crossover_prob: cx, mutation_prob: mp, ..Default::default() };
                        show(&format!("nsga2 N={p} cx={cx} mut={mp}"), ratios(&eval, &norm, true_hv, &|| c.clone().init::<Nb>(), budgets, seeds));
                    }
                }
            }
        } else {
            show("nsga2", ratios(&eval, &norm, true_hv, &|| Nsga2::<Nb>::default(), budgets, seeds));
        }
        if grid.contains('e') {
            for p in [10, 20, 30, 50] {
                for s in [2, 3, 5, 10] {
                    if s > p { continue; }
                    let c = RegularizedEvolutionConfig { population_size: p, sample_size: s, ..Default::default() };
                    show(&format!("evolution P={p} S={s}"), ratios(&eval, &norm, true_hv, &|| c.clone().init::<Nb>(), budgets, seeds));
                }
            }
        } else {
            show("evolution", ratios(&eval, &norm, true_hv, &|| RegularizedEvolution::<Nb>::default(), budgets, seeds));
        }
        if grid.contains('l') {
            for init in [1, 5, 10, 20, 40] {
                for fi in [false, true] {
                    for sh in [true, false] {
                        let c = LocalSearchConfig { initial_samples: init, first_improvement: fi, shuffle_neighbors: sh, ..Default::default() };
                        show(&format!("local init={init} fi={fi} shuffle={sh}"), ratios(&eval, &norm, true_hv, &|| c.clone().init::<Nb>(), budgets, seeds));
                    }
                }
            }
        } else {
            show("local", ratios(&eval, &norm, true_hv, &|| LocalSearch::<Nb>::default(), budgets, seeds));
        }
    }
}
