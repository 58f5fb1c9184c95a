//! Every bad-config case gives a clear error naming the file, the field, the value
//! and what is allowed.

use experiments::config::{DEFAULT_CONFIG, ExperimentConfig};

const GOOD: &str = r#"
name = "t"
budget = 10
[space]
kind = "nb201"
[strategy]
kind = "nsga2"
[[objectives]]
metric = "accuracy"
[[objectives]]
metric = "latency_ms"
[[evaluators]]
kind = "table"
accuracy = "cifar10_test_acc"
device = "fpga"
"#;

fn err(text: &str) -> String {
    match ExperimentConfig::from_toml(text, "exp.toml") {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "error `{msg}` does not mention `{p}`");
    }
}

#[test]
fn good_and_default_configs_parse() {
    ExperimentConfig::from_toml(GOOD, "exp.toml").expect("good config");
    ExperimentConfig::from_toml(DEFAULT_CONFIG, "default").expect("default config");
    for f in [
        "default.toml",
        "nb201-cifar10-fpga.toml",
        "nb201-latency-constrained.toml",
        "nb201-lut-constrained.toml",
        "nb201-predictor-guided.toml",
        "nb201-multifidelity.toml",
        "quickstart-asha.toml",
        "darts-digits.toml",
        "darts-nb201-mnist.toml",
        "pc-darts-nb201-mnist.toml",
        "gdas-nb201-mnist.toml",
        "proxyless-nb201-mnist.toml",
        "darts-darts-digits.toml",
        "pc-darts-darts-digits.toml",
        "gdas-darts-digits.toml",
        "proxyless-darts-digits.toml",
        "reinforce-nb201-fpga.toml",
        "reinforce-nb201-fpga-hard.toml",
        "marl-nb201-fpga.toml",
        "eas-mnist.toml",
        "nasaic-nb201-two-tasks.toml",
        "draco-nb201-ws64.toml",
    ] {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/configs").join(f);
        ExperimentConfig::load(&p).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    // Every shipped config is in the list above.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/configs");
    assert_eq!(std::fs::read_dir(dir).expect("configs").count(), 22);
}

#[test]
fn unknown_top_level_field() {
    let m = err(&GOOD.replace("budget = 10", "budget = 10\nbudgett = 3"));
    assert_mentions(&m, &["exp.toml", "budgett", "unknown field", "budget"]);
}

#[test]
fn unknown_field_in_strategy_names_allowed_fields() {
    let m = err(&GOOD.replace("kind = \"nsga2\"", "kind = \"nsga2\"\npopulation = 5"));
    assert_mentions(&m, &["exp.toml", "strategy", "population", "population_size"]);
}

#[test]
fn wrong_type() {
    let m = err(&GOOD.replace("budget = 10", "budget = \"ten\""));
    assert_mentions(&m, &["exp.toml", "budget", "ten"]);
}

#[test]
fn zero_budget() {
    let m = err(&GOOD.replace("budget = 10", "budget = 0"));
    assert_mentions(&m, &["exp.toml", "`budget`", "0", ">= 1"]);
}

#[test]
fn unknown_space_kind_lists_spaces() {
    let m = err(&GOOD.replace("kind = \"nb201\"", "kind = \"nb301\""));
    assert_mentions(&m, &["exp.toml", "space", "nb301", "nb201", "darts"]);
}

#[test]
fn unknown_strategy_kind_lists_strategies() {
    let m = err(&GOOD.replace("kind = \"nsga2\"", "kind = \"bayes\""));
    assert_mentions(&m, &["exp.toml", "strategy", "bayes", "random", "evolution", "nsga2", "local"]);
}

#[test]
fn bad_strategy_value() {
    let m = err(&GOOD.replace("kind = \"nsga2\"", "kind = \"nsga2\"\ncrossover_prob = 1.5"));
    assert_mentions(&m, &["exp.toml", "strategy", "crossover_prob", "1.5"]);
}

#[test]
fn unknown_metric_lists_metrics() {
    let m = err(&GOOD.replace("metric = \"latency_ms\"", "metric = \"latency\""));
    assert_mentions(&m, &["exp.toml", "objectives[1].metric", "latency", "latency_ms", "energy_mj"]);
}

#[test]
fn bad_direction() {
    let m = err(&GOOD.replace("metric = \"latency_ms\"", "metric = \"latency_ms\"\ndirection = \"lower\""));
    assert_mentions(&m, &["exp.toml", "direction", "lower", "maximize", "minimize"]);
}

#[test]
fn bad_constraint() {
    let m = err(&GOOD.replace("budget = 10", "budget = 10\nconstraints = [\"latency_ms < 5\"]"));
    assert_mentions(&m, &["exp.toml", "constraints[0]", "latency_ms < 5", "<="]);
}

#[test]
fn objective_nobody_provides() {
    let m = err(&GOOD.replace("metric = \"latency_ms\"", "metric = \"energy_mj\""));
    assert_mentions(&m, &["exp.toml", "evaluators", "energy_mj", "accuracy", "latency_ms"]);
}

#[test]
fn unknown_dataset_lists_datasets() {
    let text = GOOD.replace(
        "kind = \"table\"\naccuracy = \"cifar10_test_acc\"\ndevice = \"fpga\"",
        "kind = \"train\"\ndataset = \"imagenet\"\n[[evaluators]]\nkind = \"table\"\ndevice = \"fpga\"",
    );
    let m = err(&text);
    assert_mentions(&m, &["exp.toml", "evaluators[0].dataset", "imagenet", "mnist10k", "cifar10"]);
}

#[test]
fn dataset_without_path() {
    let text = GOOD.replace(
        "kind = \"table\"\naccuracy = \"cifar10_test_acc\"\ndevice = \"fpga\"",
        "kind = \"train\"\ndataset = \"cifar10\"\n[[evaluators]]\nkind = \"table\"\ndevice = \"fpga\"",
    );
    assert_mentions(&err(&text), &["exp.toml", "evaluators[0].path", "cifar10"]);
}

#[test]
fn bad_training_value() {
    let text = GOOD.replace(
        "kind = \"table\"\naccuracy = \"cifar10_test_acc\"\ndevice = \"fpga\"",
        "kind = \"train\"\ndataset = \"digits\"\n[evaluators.training]\nepochs = 0\n[[evaluators]]\nkind = \"table\"\ndevice = \"fpga\"",
    );
    assert_mentions(&err(&text), &["exp.toml", "evaluators[0].training", "epochs", "0"]);
}

#[test]
fn bad_val_fraction() {
    let text = GOOD.replace(
        "kind = \"table\"\naccuracy = \"cifar10_test_acc\"\ndevice = \"fpga\"",
        "kind = \"train\"\ndataset = \"digits\"\nval_fraction = 1.5\n[[evaluators]]\nkind = \"table\"\ndevice = \"fpga\"",
    );
    assert_mentions(&err(&text), &["exp.toml", "val_fraction", "1.5", "(0, 1)"]);
}

#[test]
fn unknown_builtin_table() {
    let m = err(&GOOD.replace("kind = \"table\"", "kind = \"table\"\npath = \"builtin:nb301\""));
    assert_mentions(&m, &["exp.toml", "evaluators[0].path", "builtin:nb301", "builtin:nb201"]);
}

#[test]
fn unknown_device_is_reported_at_setup_with_devices() {
    let cfg = ExperimentConfig::from_toml(&GOOD.replace("\"fpga\"", "\"tpu\""), "exp.toml").expect("parses");
    let registry = experiments::registry::builtin();
    let e = match experiments::setup::Setup::new(&cfg, &registry, experiments::setup::Build::All) {
        Ok(_) => panic!("unknown device accepted"),
        Err(e) => format!("{e:#}"),
    };
    assert_mentions(&e, &["evaluators[0]", "device", "tpu", "fpga", "eyeriss", "raspi4"]);
}

#[test]
fn missing_file_names_it() {
    let m = ExperimentConfig::load(std::path::Path::new("/nonexistent/exp.toml")).expect_err("missing file");
    assert_mentions(&m.to_string(), &["/nonexistent/exp.toml", "cannot read"]);
}
