//! Searches on the whole NAS-Bench-201 table, where the true front is known.

use super::table_search::{search, table_config};
use experiments::config::ExperimentConfig;
use experiments::hv::{HvScale, feasible_points, front_of};
use nas_core::Trial;

fn config(strategy: &str, budget: usize, constraints: &str) -> ExperimentConfig {
    table_config(strategy, budget, 10, "fpga", constraints)
}

fn run(cfg: &ExperimentConfig, seed: u64) -> (Vec<Trial>, Option<Vec<Vec<f64>>>) {
    let (trials, evals) = search(cfg, seed);
    (trials, evals.true_front)
}

fn sorted(mut v: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    v
}

#[test]
fn random_search_over_the_whole_table_recovers_the_true_front() {
    for constraints in ["", "\"latency_ms <= 3\""] {
        let cfg = config("random", 15_625, constraints);
        let (trials, true_front) = run(&cfg, 3);
        assert_eq!(trials.len(), 15_625);
        let mut ids: Vec<_> = trials.iter().map(|t| t.arch_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 15_625, "every cell evaluated exactly once");
        let problem = cfg.problem();
        let found: Vec<Vec<f64>> = front_of(&problem, &trials)
            .into_iter()
            .map(|i| problem.min_vector(&trials[i].metrics).expect("metrics"))
            .collect();
        let true_front = true_front.expect("the table covers the space");
        assert_eq!(sorted(found.clone()), sorted(true_front.clone()));
        let scale = HvScale::from_true_front(&true_front).expect("scale");
        let pts: Vec<Vec<f64>> = feasible_points(&problem, &trials).into_iter().map(|(_, v)| v).collect();
        assert!((scale.value(&pts) - 1.0).abs() < 1e-12);
    }
}

#[test]
fn same_seed_same_trials_whatever_the_thread_count() {
    for strategy in ["random", "evolution", "nsga2", "local"] {
        let cfg = config(strategy, 120, "");
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool").install(|| run(&cfg, 11).0);
        let four = rayon::ThreadPoolBuilder::new().num_threads(4).build().expect("pool").install(|| run(&cfg, 11).0);
        let key = |t: &Vec<Trial>| t.iter().map(|t| (t.arch.clone(), t.metrics.clone())).collect::<Vec<_>>();
        assert_eq!(key(&one), key(&four), "{strategy}");
        let other = run(&cfg, 12).0;
        assert_ne!(key(&one), key(&other), "{strategy}: another seed gives another run");
    }
}

fn mean_hv_ratio(strategy: &str, budget: usize, seeds: u64) -> f64 {
    let cfg = config(strategy, budget, "");
    let mut total = 0.0;
    for seed in 0..seeds {
        let (trials, front) = run(&cfg, seed);
        let scale = HvScale::from_true_front(&front.expect("front")).expect("scale");
        let pts: Vec<Vec<f64>> = feasible_points(&cfg.problem(), &trials).into_iter().map(|(_, v)| v).collect();
        total += scale.value(&pts);
    }
    total / seeds as f64
}

#[test]
fn slow_guided_strategies_beat_random_on_nb201_fpga() {
    let random = mean_hv_ratio("random", 200, 20);
    // Reference: a widely used Python random search gives 0.906 at 200 evaluations.
    assert!((0.88..0.93).contains(&random), "random {random}");
    for s in ["evolution", "nsga2", "local"] {
        let r = mean_hv_ratio(s, 200, 20);
        assert!(r > random + 0.02, "{s}: {r} vs random {random}");
    }
    // The foundation issue's target: NSGA-II reaches a mean HV ratio >= 0.97 at 200
    // distinct evaluations over 20 seeds (a Python NSGA-II reaches 0.965 there).
    let nsga2 = mean_hv_ratio("nsga2", 200, 20);
    assert!(nsga2 >= 0.97, "nsga2 {nsga2}");
}

#[test]
fn every_registered_strategy_runs_with_its_defaults_on_nb201() {
    let registry = experiments::registry::builtin();
    // The differentiable strategies propose one architecture per seed of their
    // supernet search (tests/integration/differentiable.rs runs them); EAS
    // grows plain CNNs (tests/integration/eas.rs runs it); the successive
    // baseline searches co-design spaces (tests/integration/codesign.rs).
    let ask_tell: Vec<_> = registry
        .strategies()
        .into_iter()
        .filter(|s| {
            !s.capabilities.contains(&nas_core::Capability::Supernet)
                && !s.capabilities.contains(&nas_core::Capability::CoDesign)
                && s.name != "eas"
        })
        .map(|s| s.name)
        .collect();
    assert_eq!(ask_tell.len() + 6, registry.strategy_names().len());
    for s in ask_tell {
        let cfg = table_config(s, 20, 10, "fpga", "");
        let (trials, _) = search(&cfg, 0);
        assert_eq!(trials.len(), 20, "{s}");
    }
}
