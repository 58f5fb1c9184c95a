//! Benchmarks of the search strategies' own overhead: full searches of 1,000
//! distinct evaluations through the real driver on a toy space (8 genes with 5
//! values, 390,625 architectures) with a trivial analytic evaluator, so that the
//! time measured is the strategies' ask/tell work plus the driver's bookkeeping.

use std::hint::black_box;

use criterion::{Criterion, criterion_main};
use nas_core::strategy::{LocalSearch, Nsga2, RandomSearch, RegularizedEvolution};
use nas_core::{
    Architecture, Crossover, EvalContext, EvalError, Evaluator, Metric, MetricMap, Mutate, NasError, Neighbors,
    Objective, Problem, Search, SearchConfig, SearchSpace, SearchStrategy, SpaceSize,
};
use rand::{Rng, RngCore};

const GENES: usize = 8;
const VALUES: u8 = 5;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Toy([u8; GENES]);

impl Architecture for Toy {
    fn notation(&self) -> String {
        self.0.iter().map(|g| char::from(b'0' + g)).collect()
    }
}

struct ToySpace;

impl SearchSpace for ToySpace {
    type Arch = Toy;

    fn name(&self) -> &str {
        "toy8"
    }

    fn sample(&self, rng: &mut dyn RngCore) -> Toy {
        Toy(std::array::from_fn(|_| rng.random_range(0..VALUES)))
    }

    fn validate(&self, _arch: &Toy) -> nas_core::Result<()> {
        Ok(())
    }

    fn parse(&self, notation: &str) -> nas_core::Result<Toy> {
        let genes: Vec<u8> = notation.bytes().map(|b| b.wrapping_sub(b'0')).collect();
        <[u8; GENES]>::try_from(genes).map(Toy).map_err(|_| NasError::Parse {
            space: "toy8".into(),
            input: notation.into(),
            reason: "8 digits".into(),
        })
    }

    fn size(&self) -> SpaceSize {
        SpaceSize::Exact(u128::from(VALUES).pow(GENES as u32))
    }
}

impl Mutate for ToySpace {
    fn mutate(&self, arch: &Toy, rng: &mut dyn RngCore) -> Toy {
        let mut g = arch.0;
        let pos = rng.random_range(0..GENES);
        g[pos] = (g[pos] + rng.random_range(1..VALUES)) % VALUES;
        Toy(g)
    }
}

impl Crossover for ToySpace {
    fn crossover(&self, a: &Toy, b: &Toy, rng: &mut dyn RngCore) -> Toy {
        Toy(std::array::from_fn(|i| if rng.random_bool(0.5) { a.0[i] } else { b.0[i] }))
    }
}

impl Neighbors for ToySpace {
    fn neighbors(&self, arch: &Toy) -> Vec<Toy> {
        let mut out = Vec::with_capacity(GENES * usize::from(VALUES - 1));
        for pos in 0..GENES {
            for v in 0..VALUES {
                if v != arch.0[pos] {
                    let mut g = arch.0;
                    g[pos] = v;
                    out.push(Toy(g));
                }
            }
        }
        out
    }
}

/// Accuracy grows concavely with the genes, latency linearly.
struct Trivial;

impl Evaluator<Toy> for Trivial {
    fn name(&self) -> String {
        "trivial".into()
    }

    fn provides(&self) -> Vec<Metric> {
        vec![Metric::Accuracy, Metric::LatencyMs]
    }

    fn evaluate(&self, arch: &Toy, _ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        let (mut acc, mut lat) = (50.0, 1.0);
        for (i, &g) in arch.0.iter().enumerate() {
            let g = f64::from(g);
            acc += (1.0 + i as f64 * 0.3) * g.sqrt();
            lat += (1.0 + (i % 3) as f64) * g;
        }
        Ok(MetricMap::from([(Metric::Accuracy, acc), (Metric::LatencyMs, lat)]))
    }

    fn is_cheap(&self) -> bool {
        true
    }
}

const EVALS: usize = 1_000;

fn run(strategy: &mut dyn SearchStrategy<ToySpace>, problem: &Problem) -> usize {
    let outcome =
        Search::new(&ToySpace, &Trivial, problem, SearchConfig::new(EVALS, 7)).run(strategy).expect("search runs");
    outcome.trials.len()
}

fn bench_strategies(c: &mut Criterion) {
    let problem =
        Problem::new(vec![Objective::natural(Metric::Accuracy), Objective::natural(Metric::LatencyMs)], vec![]);
    let mut g = c.benchmark_group("search_1000_evals");
    g.sample_size(10);
    g.bench_function("nsga2", |b| b.iter(|| run(&mut Nsga2::<Toy>::default(), black_box(&problem))));
    g.bench_function("evolution", |b| b.iter(|| run(&mut RegularizedEvolution::<Toy>::default(), black_box(&problem))));
    g.bench_function("local", |b| b.iter(|| run(&mut LocalSearch::<Toy>::default(), black_box(&problem))));
    g.bench_function("random", |b| b.iter(|| run(&mut RandomSearch::<Toy>::default(), black_box(&problem))));
    g.finish();
}

/// The generated group function lives in a private module so that it needs
/// no documentation.
mod group {
    use super::bench_strategies;
    use criterion::criterion_group;

    criterion_group!(benches, bench_strategies);
}

criterion_main!(group::benches);
