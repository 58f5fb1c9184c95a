//! Benchmarks of whole searches on the NAS-Bench-201 table: NSGA-II, evolution and
//! random search, 200 and 400 distinct evaluations (table lookups, so this
//! measures the engine: strategy, driver, de-duplication, records); and the
//! predictor-guided LINAS and BANANAS at 100 accuracy queries (batch 5), where
//! the time is the predictor refits and candidate scoring.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{Criterion, criterion_group, criterion_main};
use experiments::config::ExperimentConfig;
use experiments::setup::{Build, Setup};
use nas_core::{Search, SearchConfig};
use std::hint::black_box;

fn config(strategy: &str) -> ExperimentConfig {
    let text = format!(
        "name = \"bench\"\nbudget = 200\nbatch_size = 10\n[space]\nkind = \"nb201\"\n[strategy]\nkind = \"{strategy}\"\n\
         [[objectives]]\nmetric = \"accuracy\"\n[[objectives]]\nmetric = \"latency_ms\"\n\
         [[evaluators]]\nkind = \"table\"\naccuracy = \"cifar10_test_acc\"\ndevice = \"fpga\"\n"
    );
    ExperimentConfig::from_toml(&text, "bench").expect("valid bench config")
}

/// One search of `budget` distinct architectures with batch `batch`.
fn search(setup: &Setup, registry: &nas_core::Registry, budget: usize, batch: usize) -> usize {
    let mut s = setup.strategy(registry, None, true, budget).expect("strategy");
    let sc = SearchConfig { budget, batch_size: batch, seed: 1, max_idle_asks: 50 };
    let out =
        Search::new(&setup.space, setup.evals.evaluator.as_ref(), &setup.problem, sc).run(s.as_mut()).expect("search");
    out.trials.len()
}

fn searches(c: &mut Criterion) {
    let registry = experiments::registry::builtin();
    let mut g = c.benchmark_group("nb201_table_search");
    g.sample_size(20);
    for strategy in ["nsga2", "evolution", "random", "reinforce", "marl"] {
        let setup = Setup::new(&config(strategy), &registry, Build::All).expect("setup");
        for budget in [200usize, 400] {
            g.bench_function(format!("{strategy}/{budget}"), |b| {
                b.iter(|| black_box(search(&setup, &registry, budget, 10)))
            });
        }
    }
    g.finish();
    g = c.benchmark_group("nb201_table_guided_search");
    g.sample_size(10);
    for strategy in ["linas", "bananas"] {
        let setup = Setup::new(&config(strategy), &registry, Build::All).expect("setup");
        g.bench_function(format!("{strategy}/100"), |b| b.iter(|| black_box(search(&setup, &registry, 100, 5))));
    }
    g.finish();
    let space = search_spaces::nb201::Nb201Space::new(Default::default()).expect("space");
    g = c.benchmark_group("nb201_table");
    g.sample_size(10);
    g.bench_function("load_15625_rows", |b| {
        b.iter(|| {
            black_box(
                nas_core::MetricTable::load(experiments::registry::builtin_nb201_table(), &space).expect("table").len(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, searches);
criterion_main!(benches);
