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
