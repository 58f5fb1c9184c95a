//! Predictors and predictor-guided strategies on the NAS-Bench-201 table.
//!
//! The full Done-means measurements take minutes; these tests check the
//! guarantees and conservative quality bounds (the exact commands of the full
//! measurements are in the predictors crate docs and the issue report).

use super::table_search::{search, table_config};
use ::predictors::eval::{fit_and_measure, train_split};
use ::predictors::{FeatureConfig, ModelConfig};
use experiments::config::ExperimentConfig;
use experiments::setup::{Build, Setup};
use nas_core::{EncodingKind, MetricTable, SearchSpace, Trial};
use search_spaces::nb201::Nb201Space;

/// The setup of `cfg` with the built-in registry.
fn setup(cfg: &ExperimentConfig) -> anyhow::Result<Setup> {
    Setup::new(cfg, &experiments::registry::builtin(), Build::All)
}

/// The shipped NAS-Bench-201 table.
fn nb201_table(space: &Nb201Space) -> MetricTable {
    MetricTable::load(experiments::registry::builtin_nb201_table(), space).expect("table")
}

/// Sets a field of the config's strategy section.
fn set_strategy(cfg: &mut ExperimentConfig, key: &str, value: serde_json::Value) {
    cfg.strategy.settings.insert(key.into(), value);
}

fn config(strategy: &str, budget: usize, device: &str) -> ExperimentConfig {
    table_config(strategy, budget, 5, device, "")
}

fn run(cfg: &ExperimentConfig, seed: u64) -> Vec<Trial> {
    let (trials, evals) = search(cfg, seed);
    assert!(evals.cheap.is_some(), "the table's latency is a cheap evaluator");
    trials
}

/// `predictor fit` options on the NB201 table writing `out`: ridge on layer
/// features of 20 cells, to be overridden per test.
fn fit_options(out: std::path::PathBuf) -> experiments::predictor_store_cmd::FitOptions {
    experiments::predictor_store_cmd::FitOptions {
        space: "nb201".into(),
        target: "fpga".into(),
        model: "ridge".into(),
        encoding: EncodingKind::None,
        free: vec![::predictors::FreeFeature::Layers],
        train_size: 20,
        seed: 0,
        out,
        run: None,
    }
}

/// The Kendall tau that a `predictor fit` report gives on `rest` other rows.
fn fitted_tau(report: &experiments::predictor_store_cmd::FitReport, rest: usize) -> f64 {
    assert_eq!(report.rest, rest, "{report}");
    report.kendall_tau_rest.unwrap_or_else(|| panic!("no tau in {report}"))
}

#[test]
fn guided_strategies_never_repeat_and_are_reproducible() {
    for strategy in ["bananas", "linas"] {
        let cfg = config(strategy, 40, "fpga");
        let a = run(&cfg, 5);
        assert_eq!(a.len(), 40, "{strategy}");
        let mut ids: Vec<_> = a.iter().map(|t| t.arch_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 40, "{strategy}: every trial a distinct architecture");
        let b = run(&cfg, 5);
        let key = |t: &[Trial]| t.iter().map(|t| (t.arch.clone(), t.metrics.clone())).collect::<Vec<_>>();
        assert_eq!(key(&a), key(&b), "{strategy}: same seed, same trials");
        assert_ne!(key(&a), key(&run(&cfg, 6)), "{strategy}: another seed, another run");
    }
}

#[test]
fn random_forest_on_adjacency_ops_ranks_nb201_well() {
    let space = Nb201Space::default();
    let table = nb201_table(&space);
    let col = table.column("cifar10_test_acc").expect("column");
    let fc = FeatureConfig { encoding: EncodingKind::AdjacencyOps, free: vec![], cheap: vec![] };
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (n, row) in table.rows() {
        x.push(fc.features(&space, &space.parse(n).expect("parse")).expect("features"));
        y.push(row[col]);
    }
    let model = ModelConfig::by_name("random_forest").expect("rf");
    let taus: Vec<f64> = (0..3)
        .map(|s| fit_and_measure(&model, &x, &y, &train_split(x.len(), 100, s), s).expect("fit").kendall_tau)
        .collect();
    let mean = taus.iter().sum::<f64>() / 3.0;
    // 10 seeds give 0.69 (scikit-learn's forest on one-hot: 0.438).
    assert!(mean >= 0.62, "tau {mean} ({taus:?})");
}

#[test]
fn few_shot_transfer_beats_the_plain_ridge_on_eyeriss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = experiments::predictor_cmd::transfer(&[], &["eyeriss".into()], 20, 3, dir.path()).expect("transfer");
    let r = &out.results[0];
    assert_eq!(r.target, "eyeriss");
    assert!(r.kendall_tau.mean >= 0.85 && r.kendall_tau.mean > r.baseline_ridge_tau.mean + 0.1, "{out}");
}

#[test]
fn gradient_boosting_on_path_stats_ranks_nb201_better_than_adjacency_ops() {
    let space = Nb201Space::default();
    let table = nb201_table(&space);
    let col = table.column("cifar10_test_acc").expect("column");
    let model = ModelConfig::by_name("gradient_boosting").expect("gbdt");
    let mean_tau = |encoding: EncodingKind| {
        let fc = FeatureConfig { encoding, free: vec![], cheap: vec![] };
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (n, row) in table.rows() {
            x.push(fc.features(&space, &space.parse(n).expect("parse")).expect("features"));
            y.push(row[col]);
        }
        (0..3)
            .map(|s| fit_and_measure(&model, &x, &y, &train_split(x.len(), 100, s), s).expect("fit").kendall_tau)
            .sum::<f64>()
            / 3.0
    };
    let stats = mean_tau(EncodingKind::PathStats);
    let adjacency = mean_tau(EncodingKind::AdjacencyOps);
    // 5 seeds: 0.78 against 0.66.
    assert!(stats >= 0.72 && stats > adjacency + 0.05, "path_stats {stats}, adjacency_ops {adjacency}");
}

/// Mean HV ratio at the end of `seeds` runs of `cfg`.
fn mean_hv_ratio(cfg: &ExperimentConfig, seeds: u64) -> f64 {
    let front = setup(cfg).expect("setup").evals.true_front.expect("table front");
    let scale = experiments::hv::HvScale::from_true_front(&front).expect("scale");
    let problem = cfg.problem();
    let total: f64 = (0..seeds)
        .map(|s| {
            let trials = run(cfg, s);
            let points: Vec<Vec<f64>> =
                experiments::hv::feasible_points(&problem, &trials).into_iter().map(|(_, v)| v).collect();
            scale.value(&points)
        })
        .sum();
    total / seeds as f64
}

#[test]
fn slow_linas_beats_nsga2_at_100_accuracy_queries() {
    let linas = mean_hv_ratio(&config("linas", 100, "fpga"), 8);
    let nsga2 = mean_hv_ratio(&config("nsga2", 100, "fpga"), 8);
    // 20 seeds: 0.964 against 0.939 (`hwnas compare experiments/configs/nb201-predictor-guided.toml`).
    assert!(linas >= 0.95 && linas > nsga2 + 0.01, "linas {linas}, nsga2 {nsga2}");
}

#[test]
fn a_fitted_predictor_saves_and_loads_with_the_same_predictions() {
    use experiments::predictor_store_cmd::{FitOptions, fit, predict};
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("gbdt.json");
    let opts = FitOptions {
        target: "cifar10".into(),
        model: "gradient_boosting".into(),
        encoding: EncodingKind::PathStats,
        free: vec![::predictors::FreeFeature::Params],
        train_size: 100,
        seed: 3,
        ..fit_options(out.clone())
    };
    let reg = experiments::registry::builtin();
    let summary = fit(&opts, &reg).expect("fit");
    assert!(fitted_tau(&summary, 15525) > 0.6, "{summary}");
    let text = std::fs::read_to_string(&out).expect("file");
    assert!(text.starts_with("{\"format\":\"hwnas-predictor\",\"schema_version\":1,"), "{text:.200}");
    // Loading gives the fitted model back: the same seed refits to the same
    // predictions, and the loaded model ranks the best cell far above the empty one.
    let best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";
    let none = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";
    let a = predict(&out, &[best.into(), none.into()], false, None, &reg).expect("predict");
    fit(&opts, &reg).expect("refit");
    let b = predict(&out, &[best.into(), none.into()], true, None, &reg).expect("predict");
    assert_eq!(a.predictions, b.predictions, "the same seed refits the same model");
    assert!(a.predictions[0].mean > a.predictions[1].mean + 20.0, "{a}");
    assert_eq!(b.table_rows, 15625);
    assert!(b.table_kendall_tau.expect("table tau") > 0.5, "{b}");
    // A file of another schema version is refused, naming both versions.
    std::fs::write(&out, text.replace("\"schema_version\":1", "\"schema_version\":7")).expect("write");
    let err = format!("{:#}", predict(&out, &[best.into()], false, None, &reg).expect_err("refused"));
    assert!(err.contains('7') && err.contains('1'), "{err}");
}

#[test]
fn slow_few_shot_transfer_meets_the_issue_figure_over_all_eight_devices() {
    // Each device from the other seven, 20 shots, 10 seeds: mean tau >= 0.90
    // (measured 0.906; a plain ridge on the sources 0.824).
    let dir = tempfile::tempdir().expect("tempdir");
    let out = experiments::predictor_cmd::transfer(&[], &["all".into()], 20, 10, dir.path()).expect("transfer");
    let n = out.results.len() as f64;
    let tau = out.results.iter().map(|r| r.kendall_tau.mean).sum::<f64>() / n;
    let ridge = out.results.iter().map(|r| r.baseline_ridge_tau.mean).sum::<f64>() / n;
    assert_eq!(out.results.len(), 8);
    assert!(tau >= 0.90 && tau > ridge + 0.05, "{out}");
}

#[test]
fn linas_runs_on_darts_with_trained_accuracy_and_analytical_params() {
    // The predictor sees DARTS path_stats features; params come from the
    // analytical cost model (cheap), accuracy from training on the 8x8 digits.
    let text = r#"
name = "darts-linas"
budget = 10
batch_size = 2
[space]
kind = "darts"
channels = 4
layers = 3
[strategy]
kind = "linas"
n_init = 4
population_size = 8
generations = 3
[[objectives]]
metric = "accuracy"
[[objectives]]
metric = "params"
[[evaluators]]
kind = "train"
dataset = "digits"
val_fraction = 0.25
[evaluators.training]
epochs = 1
batch_size = 32
optimizer = { type = "adam", lr = 0.003 }
[[evaluators]]
kind = "analytical"
"#;
    let cfg = ExperimentConfig::from_toml(text, "darts-linas.toml").expect("config");
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = experiments::runner::RunOptions { quiet: true, ..Default::default() };
    let reg = experiments::registry::builtin();
    let a = experiments::runner::run_new(&cfg, &dir.path().join("a"), &reg, &opts).expect("run");
    assert_eq!(a.trials.len(), 10);
    let mut ids: Vec<_> = a.trials.iter().map(|t| t.arch_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10, "never the same genotype twice");
    assert!(a.trials.iter().all(|t| t.is_ok() && t.metrics.contains_key(&nas_core::Metric::Params)));
    let b = experiments::runner::run_new(&cfg, &dir.path().join("b"), &reg, &opts).expect("run");
    // Everything but the wall-clock time of each evaluation.
    let key = |s: &experiments::runner::RunSummary| {
        s.trials
            .iter()
            .map(|t| {
                let mut m = t.metrics.clone();
                m.remove(&nas_core::Metric::EvalSeconds);
                (t.arch.clone(), m)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&a), key(&b), "same seed, same trials");
}

#[test]
fn cheap_metrics_can_be_predictor_features_and_unknown_ones_are_refused() {
    let with_cheap = |metric: &str| {
        let mut cfg = config("linas", 30, "fpga");
        set_strategy(&mut cfg, "features", serde_json::json!({ "cheap": [metric] }));
        cfg
    };
    let trials = run(&with_cheap("latency_ms"), 2);
    let mut ids: Vec<_> = trials.iter().map(|t| t.arch_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30);
    let reg = experiments::registry::builtin();
    let s = setup(&with_cheap("energy_mj")).expect("setup");
    let err = s.strategy(&reg, None, true, 10).err().expect("refused");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("strategy.features.cheap") && msg.contains("energy_mj") && msg.contains("latency_ms"),
        "{msg}"
    );
}

#[test]
fn pretraining_on_free_features_helps_the_mlp_with_few_labels() {
    // FBNetV3-style: pretrain on log params / log FLOPs of 5,000 unlabelled cells,
    // fine-tune on 20 labelled ones (10 seeds: tau 0.50 against 0.34 from scratch).
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = experiments::predictor_cmd::EvalOptions {
        space: "nb201".into(),
        target: "cifar10".into(),
        train_sizes: vec![20],
        seeds: 4,
        models: vec!["mlp".into()],
        encoding: EncodingKind::OneHot,
        free: vec![],
        out: dir.path().to_path_buf(),
        png: false,
        pretrain: 5000,
        table_features: vec![],
        join: None,
    };
    let out = experiments::predictor_cmd::eval(&opts).expect("eval");
    let tau = |model: &str| -> f64 { out.curves.iter().find(|c| c.model == model).expect("curve").kendall_tau.mean };
    assert!(tau("mlp_pretrained") > tau("mlp") + 0.05, "{out}");
}

#[test]
fn linas_with_a_pretrained_mlp_never_repeats_and_is_reproducible() {
    let mut cfg = config("linas", 30, "eyeriss");
    set_strategy(&mut cfg, "model", serde_json::to_value(ModelConfig::by_name("mlp").expect("mlp")).expect("json"));
    set_strategy(&mut cfg, "pretrain", serde_json::json!(500));
    let a = run(&cfg, 4);
    let mut ids: Vec<_> = a.iter().map(|t| t.arch_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30);
    let key = |t: &[Trial]| t.iter().map(|t| t.arch.clone()).collect::<Vec<_>>();
    assert_eq!(key(&a), key(&run(&cfg, 4)), "same seed, same trials");
    // Pretraining is for the MLP only.
    set_strategy(&mut cfg, "model", serde_json::to_value(ModelConfig::by_name("ridge").expect("ridge")).expect("json"));
    let text = toml::to_string(&cfg).expect("serialise");
    let err = ExperimentConfig::from_toml(&text, "p.toml").expect_err("refused");
    assert!(err.to_string().contains("pretrain"), "{err}");
}

#[test]
fn a_latency_predictor_on_layer_features_drives_a_search_as_its_hardware_objective() {
    use experiments::predictor_store_cmd::{FitOptions, fit};
    // fpga latency on NB201 is a sum of per-op costs, so a ridge on the layer
    // features (per layer kind: count, FLOPs, activation bytes) of 20 measured
    // cells ranks all others almost exactly (measured: tau 0.990).
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("fpga.json");
    let opts = FitOptions { seed: 1, ..fit_options(file.clone()) };
    let reg = experiments::registry::builtin();
    let summary = fit(&opts, &reg).expect("fit");
    assert_eq!((summary.target.as_str(), summary.feature_names.as_str()), ("fpga_ms", "none+layers"), "{summary}");
    assert!(fitted_tau(&summary, 15605) > 0.98, "{summary}");

    // The saved predictor is a config evaluator: latency from it, accuracy from the table.
    let config_text = |path: &str, metric: &str, space: &str| {
        format!(
            r#"
name = "p"
budget = 30
[space]
kind = "{space}"
[strategy]
kind = "linas"
[[objectives]]
metric = "accuracy"
[[objectives]]
metric = "latency_ms"
[[evaluators]]
kind = "table"
accuracy = "cifar10_test_acc"
[[evaluators]]
kind = "predictor"
path = "{path}"
metric = "{metric}"
"#
        )
    };
    let path = file.display().to_string();
    let cfg = ExperimentConfig::from_toml(&config_text(&path, "latency_ms", "nb201"), "p.toml").expect("valid");
    let (trials, evals) = search(&cfg, 4);
    assert!(evals.cheap.is_some(), "a predictor is a cheap evaluator");
    assert_eq!(trials.len(), 30);
    let space = Nb201Space::default();
    let table = nb201_table(&space);
    let col = table.column("fpga_ms").expect("column");
    for t in &trials {
        let measured = table.rows().find(|(n, _)| *n == t.arch.as_str()).expect("in the table").1[col];
        let predicted = t.metrics[&nas_core::Metric::LatencyMs];
        assert!((predicted - measured).abs() < 0.05 * measured + 0.05, "{}: {predicted} vs {measured}", t.arch);
    }

    // Bad input: an unknown metric names the field; a missing file names the
    // evaluator and the path; a file fitted on another space is refused.
    let err = ExperimentConfig::from_toml(&config_text(&path, "speed", "nb201"), "p.toml").expect_err("bad metric");
    let msg = err.to_string();
    assert!(msg.contains("evaluators[1].metric") && msg.contains("speed") && msg.contains("latency_ms"), "{msg}");
    let as_accuracy = config_text(&path, "accuracy", "nb201")
        .replace("accuracy = \"cifar10_test_acc\"", "accuracy = \"cifar10_test_acc\"\ndevice = \"fpga\"");
    let cfg = ExperimentConfig::from_toml(&as_accuracy, "p.toml").expect("valid");
    let msg = format!("{:#}", setup(&cfg).err().expect("latency predictor as accuracy"));
    assert!(msg.contains("fpga_ms") && msg.contains("not accuracy"), "{msg}");
    let missing = dir.path().join("missing.json").display().to_string();
    let cfg = ExperimentConfig::from_toml(&config_text(&missing, "latency_ms", "nb201"), "p.toml").expect("valid");
    let msg = format!("{:#}", setup(&cfg).err().expect("missing file"));
    assert!(msg.contains("evaluators[1]") && msg.contains("missing.json"), "{msg}");
    let mut cfg = ExperimentConfig::from_toml(&config_text(&path, "latency_ms", "darts"), "p.toml").expect("valid");
    cfg.evaluators.remove(0);
    cfg.objectives.remove(0);
    let msg = format!("{:#}", setup(&cfg).err().expect("other space"));
    assert!(msg.contains("fitted on the `nb201` space") && msg.contains("darts"), "{msg}");
}

#[test]
fn few_shot_transfer_to_a_measured_device_writes_a_usable_latency_table() {
    use experiments::predictor_cmd::{DEFAULT_DENOISE, TransferFeatures};
    use experiments::transfer_apply::{ApplyOptions, transfer_measured};
    // "Measure" 20 cells of pixel3 (taken from the table), hide pixel3 from the
    // sources, and predict it for every cell.
    let space = Nb201Space::default();
    let table = nb201_table(&space);
    let col = table.column("pixel3_ms").expect("column");
    let rows: Vec<(String, f64)> = table.rows().map(|(n, r)| (n.to_string(), r[col])).collect();
    let shots = train_split(rows.len(), 20, 0);
    let dir = tempfile::tempdir().expect("tempdir");
    let measured = dir.path().join("measured.csv");
    let mut csv = "arch,phone_ms\n".to_string();
    for &i in &shots {
        csv.push_str(&format!("{},{}\n", rows[i].0, rows[i].1));
    }
    std::fs::write(&measured, &csv).expect("write");
    let others: Vec<String> = table.devices().into_iter().filter(|d| d != "pixel3").collect();
    let opts = ApplyOptions {
        from: others,
        measured: measured.clone(),
        write: dir.path().join("out/phone.csv"),
        name: None,
        scale: Default::default(),
        features: TransferFeatures::Hist,
        denoise: DEFAULT_DENOISE.to_vec(),
    };
    let summary = transfer_measured(&opts).expect("transfer");
    assert_eq!(summary.name, "phone");
    let cv = summary.cross_validation.as_ref().expect("cross-validated");
    assert_eq!(cv.folds, 20, "leave-one-out up to 30 cells");
    assert!(cv.median_error_pct.is_finite(), "{summary}");
    let written = MetricTable::load(&opts.write, &space).expect("a loadable table");
    assert_eq!(written.len(), rows.len());
    let pc = written.column("phone_ms").expect("phone_ms column");
    let predicted: Vec<f64> = written.rows().map(|(_, r)| r[pc]).collect();
    assert!(predicted.iter().all(|v| *v > 0.0), "latencies are positive");
    for &i in &shots {
        assert!((predicted[i] - rows[i].1).abs() < 1e-6, "measured cells keep their measurement");
    }
    let truth: Vec<f64> = rows.iter().map(|r| r.1).collect();
    // pixel3 from the other seven with 20 shots: mean tau 0.869 over 10 seeds.
    let tau = ::predictors::kendall_tau(&truth, &predicted);
    assert!(tau > 0.80, "tau {tau}\n{summary}");

    // Bad input names the file and what is wrong.
    let bad = |text: &str| {
        std::fs::write(&measured, text).expect("write");
        format!("{:#}", transfer_measured(&opts).expect_err("refused"))
    };
    let first3: String = shots[..3].iter().map(|&i| format!("{},{}\n", rows[i].0, rows[i].1)).collect();
    let msg = bad(&format!("arch,phone_ms\n{first3}|nor_conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|,3\n"));
    assert!(msg.contains("measured.csv") && msg.contains("nor_conv_9x9"), "{msg}");
    let two: String = shots[..2].iter().map(|&i| format!("{},{}\n", rows[i].0, rows[i].1)).collect();
    let msg = bad(&format!("arch,phone_ms\n{two}"));
    assert!(msg.contains("measured.csv") && msg.contains("at least 3"), "{msg}");
    let msg = bad(&format!("arch,phone_ms\n{first3}{},-2\n", rows[shots[3]].0));
    assert!(msg.contains("-2") && msg.contains("> 0"), "{msg}");
    let msg = bad(&format!("arch,a_ms,b_ms\n{},1,2\n", rows[0].0));
    assert!(msg.contains("a_ms, b_ms") && msg.contains("latency_ms"), "{msg}");
    // The table is never written over the measurements; a name that is also a
    // source device is refused; `latency_ms` names the device `target`.
    std::fs::write(
        &measured,
        format!(
            "index,arch,latency_ms\n{}",
            first3.lines().enumerate().map(|(k, l)| format!("{k},{l}\n")).collect::<String>()
        ),
    )
    .expect("write");
    let same = ApplyOptions { write: measured.clone(), ..opts.clone() };
    let msg = format!("{:#}", transfer_measured(&same).expect_err("same file"));
    assert!(msg.contains("is the --measured file"), "{msg}");
    let fpga = ApplyOptions { name: Some("fpga".into()), ..opts.clone() };
    let msg = format!("{:#}", transfer_measured(&fpga).expect_err("collision"));
    assert!(msg.contains("`fpga`") && msg.contains("source device"), "{msg}");
    let summary = transfer_measured(&opts).expect("latency_ms column, extra index column");
    assert_eq!(summary.name, "target", "{summary}");
}

#[test]
fn a_predictor_fitted_on_a_darts_run_is_used_in_that_space_only() {
    use experiments::predictor_store_cmd::{FitOptions, fit, predict};
    // A DARTS run recording analytical metrics; a layer-feature ridge fitted on
    // 40 of its trials predicts the memory of the other 20.
    let text = |channels: usize| {
        format!(
            r#"
name = "d"
seed = 1
budget = 60
batch_size = 10
[space]
kind = "darts"
channels = {channels}
layers = 5
[strategy]
kind = "random"
[[objectives]]
metric = "params"
[[objectives]]
metric = "memory_mb"
[[evaluators]]
kind = "analytical"
"#
        )
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = ExperimentConfig::from_toml(&text(8), "d.toml").expect("valid");
    let run = dir.path().join("run");
    let reg = experiments::registry::builtin();
    let summary = experiments::runner::run_new(
        &cfg,
        &run,
        &reg,
        &experiments::runner::RunOptions { quiet: true, ..Default::default() },
    )
    .expect("run");
    let file = dir.path().join("mem.json");
    let opts =
        FitOptions { target: "memory_mb".into(), train_size: 40, run: Some(run.clone()), ..fit_options(file.clone()) };
    let report = fit(&opts, &reg).expect("fit");
    assert!(fitted_tau(&report, 20) > 0.9, "{report}");
    // Predicting needs the space: from the run directory it works and is close to
    // the analytical value; without it, or with another setting, it is refused.
    let t = &summary.trials[0];
    let out = predict(&file, std::slice::from_ref(&t.arch), false, Some(&run), &reg).expect("predict");
    let value = out.predictions[0].mean;
    let truth = t.metrics[&nas_core::Metric::MemoryMb];
    assert!((value - truth).abs() < 0.05 * truth, "{value} vs {truth}");
    let msg = format!("{:#}", predict(&file, std::slice::from_ref(&t.arch), false, None, &reg).expect_err("no space"));
    assert!(msg.contains("darts") && msg.contains("--config"), "{msg}");
    let other = dir.path().join("c16.toml");
    std::fs::write(&other, text(16)).expect("write");
    let msg =
        format!("{:#}", predict(&file, std::slice::from_ref(&t.arch), false, Some(&other), &reg).expect_err("setting"));
    assert!(msg.contains("another setting"), "{msg}");
    // An unrecorded metric is refused, naming the recorded ones.
    let msg =
        format!("{:#}", fit(&FitOptions { target: "latency_ms".into(), ..opts }, &reg).expect_err("not recorded"));
    assert!(msg.contains("latency_ms") && msg.contains("memory_mb"), "{msg}");
}

#[test]
fn a_strategy_with_nothing_to_read_and_verify_without_a_measured_latency_are_refused() {
    let base = r#"
name = "z"
budget = 20
[space]
kind = "nb201"
[[objectives]]
metric = "accuracy"
[[objectives]]
metric = "latency_ms"
[[evaluators]]
kind = "table"
accuracy = "cifar10_test_acc"
device = "fpga"
"#;
    let empty = format!("{base}[strategy]\nkind = \"linas\"\nfeatures = {{ encoding = \"none\", free = [] }}\n");
    let msg = ExperimentConfig::from_toml(&empty, "z.toml").expect_err("no features").to_string();
    assert!(msg.contains("z.toml") && msg.contains("features.encoding") && msg.contains("path_stats"), "{msg}");
    let layers =
        format!("{base}[strategy]\nkind = \"linas\"\nfeatures = {{ encoding = \"none\", free = [\"layers\"] }}\n");
    ExperimentConfig::from_toml(&layers, "z.toml").expect("layer features alone are enough");
    // verify re-measures the latency the run recorded: the last evaluator giving
    // it is a predictor here, so verify is refused before the search.
    let verify = format!(
        "{base}[strategy]\nkind = \"nsga2\"\n[[evaluators]]\nkind = \"lut\"\npath = \"t.json\"\n[[evaluators]]\nkind = \"predictor\"\npath = \"p.json\"\nmetric = \"latency_ms\"\n[output]\nverify = true\n"
    );
    let msg = ExperimentConfig::from_toml(&verify, "z.toml").expect_err("verify").to_string();
    assert!(msg.contains("output.verify") && msg.contains("last evaluator"), "{msg}");
}

#[test]
fn predictor_eval_reads_joined_scores_such_as_zero_cost_proxies() {
    // A joined CSV of 300 cells: an `oracle` column (the CIFAR-10 accuracy
    // itself) and a `noise` column. Only those cells are used, and the
    // features come from the joined file.
    let dir = tempfile::tempdir().expect("tempdir");
    let space = search_spaces::nb201::Nb201Space::new(Default::default()).expect("space");
    let path = experiments::registry::builtin_nb201_table();
    let table = nas_core::MetricTable::load(&path, &space).expect("table");
    let col = table.column("cifar10_test_acc").expect("column");
    let mut csv = String::from("arch,oracle,noise\n");
    for (i, (arch, row)) in table.rows().step_by(50).take(300).enumerate() {
        csv.push_str(&format!("{arch},{},{}\n", row[col], (i * 7919) % 101));
    }
    let joined = dir.path().join("scores.csv");
    std::fs::write(&joined, csv).expect("csv");
    let eval = |feature: &str| {
        let opts = experiments::predictor_cmd::EvalOptions {
            space: "nb201".into(),
            target: "cifar10".into(),
            train_sizes: vec![20],
            seeds: 3,
            models: vec!["ridge".into()],
            encoding: EncodingKind::None,
            free: vec![],
            out: dir.path().join(feature),
            png: false,
            pretrain: 0,
            table_features: vec![feature.into()],
            join: Some(joined.clone()),
        };
        experiments::predictor_cmd::eval(&opts).expect("eval").curves[0].kendall_tau.mean
    };
    assert!(eval("oracle") > 0.95, "the oracle column ranks perfectly");
    assert!(eval("noise").abs() < 0.3, "the noise column does not");
    let opts = experiments::predictor_cmd::EvalOptions {
        space: "nb201".into(),
        target: "cifar10".into(),
        train_sizes: vec![20],
        seeds: 1,
        models: vec!["ridge".into()],
        encoding: EncodingKind::None,
        free: vec![],
        out: dir.path().join("x"),
        png: false,
        pretrain: 0,
        table_features: vec!["missing".into()],
        join: Some(joined.clone()),
    };
    let e = experiments::predictor_cmd::eval(&opts).expect_err("unknown column").to_string();
    assert!(e.contains("--table-features missing") && e.contains("oracle"), "{e}");
}
