//! The training evaluator of the built-in default (NB201 cells on the shipped
//! MNIST subset) beats chance.

use experiments::config::{DEFAULT_CONFIG, ExperimentConfig};
use experiments::setup::{Build, Setup};
use nas_core::{EvalContext, Metric, SearchSpace};

#[test]
fn nb201_network_trained_on_mnist_beats_chance() {
    let mut cfg = ExperimentConfig::from_toml(DEFAULT_CONFIG, "default").expect("default config");
    cfg.evaluators.retain(|e| e.kind == "train");
    cfg.objectives.truncate(1);
    cfg.constraints.clear();
    let registry = experiments::registry::builtin();
    let setup = Setup::new(&cfg, &registry, Build::All).expect("shipped MNIST subset, space and evaluator");
    assert_eq!(setup.space.settings()["input_chw"], serde_json::json!([1, 28, 28]));
    let arch = setup
        .space
        .parse("|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
        .expect("arch");
    let m = setup.evals.evaluator.evaluate(&arch, &EvalContext::with_seed(1)).expect("training");
    // Chance is 10% on 10 balanced classes.
    assert!(m[&Metric::Accuracy] > 60.0, "accuracy {}", m[&Metric::Accuracy]);
}
