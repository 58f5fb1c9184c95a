//! The training evaluator of the built-in default (NB201 cells on the shipped
//! MNIST subset) beats chance.

use experiments::config::{DEFAULT_CONFIG, EvaluatorConfig, ExperimentConfig};
use experiments::setup::{build_evaluators, input_shape, load_data};
use nas_core::{EvalContext, Metric, SearchSpace};
use search_spaces::nb201::{Nb201Config, Nb201Space};
use std::sync::Arc;

#[test]
fn nb201_network_trained_on_mnist_beats_chance() {
    let mut cfg = ExperimentConfig::from_toml(DEFAULT_CONFIG, "default").expect("default config");
    cfg.evaluators.retain(|e| matches!(e, EvaluatorConfig::Train { .. }));
    cfg.objectives.truncate(1);
    cfg.constraints.clear();
    let data = load_data(&cfg).expect("shipped MNIST subset");
    let (input_chw, num_classes) = input_shape(data.as_ref());
    let space = Arc::new(
        Nb201Space::new(Nb201Config { channels: 8, cells_per_stage: 1, input_chw, num_classes }).expect("space"),
    );
    let evals = build_evaluators(&cfg, &space, data.as_ref()).expect("evaluators");
    let arch = space
        .parse("|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
        .expect("arch");
    let m = evals.evaluator.evaluate(&arch, &EvalContext::with_seed(1)).expect("training");
    // Chance is 10% on 10 balanced classes.
    assert!(m[&Metric::Accuracy] > 60.0, "accuracy {}", m[&Metric::Accuracy]);
}
