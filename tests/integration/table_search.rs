//! Shared helpers: experiments on the NAS-Bench-201 table (accuracy from the
//! table, latency of one device), searched in-process.

use experiments::config::ExperimentConfig;
use experiments::setup::{Build, Evaluators, Setup};
use nas_core::{Search, SearchConfig, Trial};

/// CIFAR-10 accuracy vs `device` latency on the table, `constraints` a TOML list body.
pub fn table_config(
    strategy: &str,
    budget: usize,
    batch_size: usize,
    device: &str,
    constraints: &str,
) -> ExperimentConfig {
    let text = format!(
        r#"
name = "t"
budget = {budget}
batch_size = {batch_size}
constraints = [{constraints}]
[space]
kind = "nb201"
[strategy]
kind = "{strategy}"
[[objectives]]
metric = "accuracy"
[[objectives]]
metric = "latency_ms"
[[evaluators]]
kind = "table"
accuracy = "cifar10_test_acc"
device = "{device}"
"#
    );
    ExperimentConfig::from_toml(&text, "test.toml").expect("valid config")
}

/// Runs `cfg` with `seed`; returns the trials and the evaluators it used.
pub fn search(cfg: &ExperimentConfig, seed: u64) -> (Vec<Trial>, Evaluators) {
    let registry = experiments::registry::builtin();
    let setup = Setup::new(cfg, &registry, Build::All).expect("setup");
    let mut strategy = setup.strategy(&registry, None, true, cfg.budget).expect("strategy");
    let sc = SearchConfig { budget: cfg.budget, batch_size: cfg.batch_size, seed, max_idle_asks: 50 };
    let out = Search::new(&setup.space, setup.evals.evaluator.as_ref(), &setup.problem, sc)
        .run(strategy.as_mut())
        .expect("search");
    (out.trials, setup.evals)
}
