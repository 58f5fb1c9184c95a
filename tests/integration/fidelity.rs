//! Multi-fidelity search through the config and the run directory: the shipped
//! NAS-Bench-201 multi-fidelity config (12-epoch and 200-epoch tables) runs
//! with each scheduler, records learning curves, stays within its budget of
//! epochs, resumes without losing or repeating an evaluation, and bad scheduler
//! settings are refused naming the field.

use experiments::config::ExperimentConfig;
use experiments::rundir::read_trials;
use experiments::runner::{RunOptions, resume, run_new};
use nas_core::fidelity::{FidelityRecord, final_trials, spent_epochs, trial_epochs};
use std::path::Path;

fn shipped() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/configs/nb201-multifidelity.toml");
    std::fs::read_to_string(p).expect("shipped config")
}

fn config(text: &str, dir: &Path) -> Result<ExperimentConfig, String> {
    let registry = experiments::registry::builtin();
    let mut cfg = ExperimentConfig::from_toml_with(text, "mf.toml", &registry).map_err(|e| e.to_string())?;
    cfg.resolve_paths(dir, &registry).map_err(|e| e.to_string())?;
    cfg.output.png = false;
    Ok(cfg)
}

fn with(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from}");
    text.replacen(from, to, 1)
}

#[test]
fn each_scheduler_runs_the_nb201_tables_within_its_budget_of_epochs() {
    let registry = experiments::registry::builtin();
    let tmp = tempfile::tempdir().expect("tmp");
    for kind in ["asha", "hyperband", "successive_halving"] {
        let text = with(
            &with(&shipped(), "budget = 20000", "budget = 3000"),
            "kind = \"asha\"",
            &format!("kind = \"{kind}\""),
        );
        let cfg = config(&text, tmp.path()).expect("valid");
        let dir = tmp.path().join(kind);
        let opts = RunOptions { quiet: true, ..Default::default() };
        let s = run_new(&cfg, &dir, &registry, &opts).expect("runs");
        let spent = spent_epochs(s.trials.last().expect("trials")).expect("a scheduler record");
        let total: u64 = s.trials.iter().map(|t| u64::from(trial_epochs(t).expect("epochs"))).sum();
        assert_eq!(spent, total, "{kind}");
        assert!(total <= 3000 && total > 3000 - 200, "{kind}: {total}");
        // Both rungs are used; a candidate at 200 epochs went through 12 first
        // (the bracket starting at the top aside) and carries both points.
        let finals = final_trials(&s.trials);
        let at_top: Vec<_> = finals.iter().filter(|t| trial_epochs(t) == Some(200)).collect();
        assert!(!at_top.is_empty() && at_top.len() < finals.len(), "{kind}");
        let promoted = at_top
            .iter()
            .filter_map(|t| FidelityRecord::of(t))
            .find(|r| r.curve.len() == 2)
            .unwrap_or_else(|| panic!("{kind}: no promoted candidate"));
        assert_eq!(promoted.curve[0].epochs, 12);
        // The log on disk holds every evaluation, and reads back.
        assert_eq!(read_trials(&dir).expect("log").len(), s.trials.len());
        // The HV ratio is of the candidates' final records.
        assert!(s.hypervolume.is_some_and(|h| h > 0.3 && h <= 1.0), "{kind}: {:?}", s.hypervolume);
    }
}

#[test]
fn a_multi_fidelity_run_resumes_without_losing_or_repeating_an_evaluation() {
    let registry = experiments::registry::builtin();
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = config(&with(&shipped(), "budget = 20000", "budget = 2500"), tmp.path()).expect("valid");
    let opts = RunOptions { quiet: true, ..Default::default() };
    let full = run_new(&cfg, &tmp.path().join("full"), &registry, &opts).expect("runs");
    // The same run cut after a third of its records (as a kill would leave it), then resumed.
    let cut = tmp.path().join("cut");
    run_new(&cfg, &cut, &registry, &opts).expect("runs");
    let log = std::fs::read_to_string(cut.join("trials.jsonl")).expect("log");
    let keep: Vec<&str> = log.lines().take(full.trials.len() / 3).collect();
    std::fs::write(cut.join("trials.jsonl"), keep.join("\n") + "\n").expect("cut");
    let resumed = resume(&cut, &registry, &opts).expect("resumes");
    let key = |t: &[nas_core::Trial]| -> Vec<(String, Option<u32>)> {
        t.iter().map(|t| (t.arch.clone(), trial_epochs(t))).collect()
    };
    assert_eq!(key(&full.trials), key(&resumed.trials));
    assert_eq!(key(&read_trials(&cut).expect("log")), key(&full.trials));
}

#[test]
fn bad_scheduler_settings_are_refused_naming_the_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let err = |text: String| config(&text, tmp.path()).expect_err("refused");
    let e = err(with(&shipped(), "\neta = 16\n", "\neta = 1\n"));
    assert!(e.contains("scheduler.eta") && e.contains("> 1"), "{e}");
    let e = err(with(&shipped(), "rungs = [12, 200]", "min_epochs = 200\nmax_epochs = 12"));
    assert!(e.contains("scheduler.min_epochs") && e.contains("less than max_epochs"), "{e}");
    let e = err(with(&shipped(), "rungs = [12, 200]", "min_epochs = 12\nmax_epochs = 200"));
    assert!(e.contains("scheduler.max_epochs") && e.contains("12, 192, 3072"), "{e}");
    let e = err(with(&shipped(), "budget = 20000", "budget = 150"));
    assert!(e.contains("budget") && e.contains("top rung (200 epochs)"), "{e}");
    let e = err(with(&shipped(), "kind = \"asha\"", "kind = \"bohb\""));
    assert!(e.contains("scheduler") && e.contains("asha"), "{e}");
    // Rungs the tables do not hold: refused before the run starts, naming them.
    let registry = experiments::registry::builtin();
    let cfg = config(&with(&shipped(), "rungs = [12, 200]", "rungs = [12, 100, 200]"), tmp.path()).expect("parses");
    let e =
        format!("{:#}", run_new(&cfg, &tmp.path().join("r"), &registry, &RunOptions::default()).expect_err("refused"));
    assert!(e.contains("scheduler.rungs") && e.contains("100") && e.contains("12 epochs, 200 epochs"), "{e}");
    assert!(!tmp.path().join("r").exists(), "nothing left behind");
    // A table of one schedule cannot serve a scheduler.
    let one = with(
        &shipped(),
        "low_fidelity = [{ epochs = 12, path = \"builtin:nb201-12epoch\", accuracy = \"cifar10_test_acc_12ep\" }]",
        "",
    );
    let cfg = config(&one, tmp.path()).expect("parses");
    let e =
        format!("{:#}", run_new(&cfg, &tmp.path().join("r2"), &registry, &RunOptions::default()).expect_err("refused"));
    assert!(e.contains("scheduler.rungs") && e.contains("12"), "{e}");
    let e = err(with(&shipped(), "epochs = 200\n", ""));
    assert!(e.contains("epochs") && e.contains("low_fidelity"), "{e}");
}

fn quickstart_asha() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/configs/quickstart-asha.toml");
    std::fs::read_to_string(p).expect("shipped config")
}

/// The shipped zero-cost ASHA quickstart, shrunk to 8x8 digits and a few epochs.
fn small_quickstart_asha() -> String {
    let t = with(&quickstart_asha(), "dataset = \"mnist10k\"", "dataset = \"digits\"");
    let t = with(&t, "budget = 32", "budget = 8");
    let t = with(&t, "max_train_samples = 3000", "max_train_samples = 300");
    let t = with(&t, "max_val_samples = 1000", "max_val_samples = 200");
    with(&t, "constraints = [\"latency_ms <= 6\"]", "constraints = []")
}

#[test]
fn a_zero_cost_rung_scores_every_candidate_before_any_training() {
    let registry = experiments::registry::builtin();
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = config(&small_quickstart_asha(), tmp.path()).expect("valid");
    let opts = RunOptions { quiet: true, ..Default::default() };
    let s = run_new(&cfg, &tmp.path().join("zc"), &registry, &opts).expect("runs");
    let mut first_seen = std::collections::HashSet::new();
    let mut trained = 0;
    for t in &s.trials {
        let r = FidelityRecord::of(t).expect("a scheduler record");
        assert!(t.is_ok(), "{:?}", t.reason);
        if first_seen.insert(t.arch_id) {
            // Every candidate starts at the zero-epoch rung: proxy and latency, no training.
            assert_eq!((r.epochs, r.cost_epochs), (0, 0), "{}", t.arch);
            assert!(t.metrics.contains_key(&nas_core::Metric::Naswot), "{:?}", t.metrics);
            assert!(!t.metrics.contains_key(&nas_core::Metric::Accuracy), "{:?}", t.metrics);
        } else {
            assert!(r.epochs >= 1 && t.metrics.contains_key(&nas_core::Metric::Accuracy));
            // Continued from the checkpoint of its previous rung.
            let before = r.curve.iter().rev().nth(1).map_or(0, |p| p.epochs);
            assert_eq!(r.cost_epochs, r.epochs - before);
            trained += 1;
        }
    }
    let spent = spent_epochs(s.trials.last().expect("trials")).expect("epochs");
    assert!((6..=8).contains(&spent), "{spent}");
    // The proxy sorted out candidates that never trained.
    assert!(first_seen.len() > trained, "{} candidates, {trained} trainings", first_seen.len());
    assert!(s.hypervolume.is_some_and(|h| h > 0.0), "{:?}", s.hypervolume);
    // The same config and seed give the same records, proxy scores included.
    let again = run_new(&cfg, &tmp.path().join("zc2"), &registry, &opts).expect("runs");
    let key = |t: &[nas_core::Trial]| -> Vec<(String, Option<u32>, nas_core::MetricMap)> {
        t.iter()
            .map(|t| {
                let mut m = t.metrics.clone();
                m.remove(&nas_core::Metric::EvalSeconds);
                (t.arch.clone(), trial_epochs(t), m)
            })
            .collect()
    };
    assert_eq!(key(&s.trials), key(&again.trials));
}

#[test]
fn bad_zero_cost_settings_are_refused_naming_the_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let err = |text: String| config(&text, tmp.path()).expect_err("refused");
    let e = err(with(&quickstart_asha(), "zero_cost = \"naswot\"", "zero_cost = \"latency_ms\""));
    assert!(e.contains("scheduler.zero_cost") && e.contains("synflow, naswot, grad_norm"), "{e}");
    let e = err(with(&quickstart_asha(), "kind = \"asha\"", "kind = \"hyperband\""));
    assert!(e.contains("scheduler.zero_cost") && e.contains("asha or successive_halving"), "{e}");
    let e = err(with(&quickstart_asha(), "zero_cost = \"naswot\"", "zero_cost = \"synflow\""));
    assert!(e.contains("scheduler.zero_cost") && e.contains("no evaluator provides `synflow`"), "{e}");
    let e = err(with(&quickstart_asha(), "proxies = [\"naswot\"]", "proxies = [\"naswot\"]\nbatch_size = 1"));
    assert!(e.contains("batch_size") && e.contains('1'), "{e}");
    let e = err(with(&quickstart_asha(), "rungs = [1, 2]", "rungs = [0, 1, 2]"));
    assert!(e.contains("scheduler.rungs") && e.contains("zero_cost"), "{e}");
}
