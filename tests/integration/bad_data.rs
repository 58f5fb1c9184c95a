//! Bad data never enters a search: a user table with a NaN accuracy, a negative
//! latency or no rows is refused (or its bad rows skipped, counted), and a
//! damaged line in the middle of a run's trial log is quarantined by `resume`
//! and `plot` while the run goes on.

use experiments::config::ExperimentConfig;
use experiments::rundir::{LogMode, read_trials, recover_trials, rejected_path};
use experiments::runner::{RunOptions, replot, resume, run_new};
use experiments::setup::{Build, Setup};
use std::io::Read;
use std::path::Path;

/// The shipped NB201 table as CSV text.
fn nb201_csv() -> String {
    let gz = std::fs::read(experiments::registry::builtin_nb201_table()).expect("builtin table");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).expect("gunzip");
    text
}

/// The table with cell `column` of data row `row` (0-based) replaced by `value`.
fn with_cell(text: &str, row: usize, column: &str, value: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let c = header.iter().position(|h| *h == column).expect("column");
    // The arch notation holds no commas, so a plain split is exact here.
    let mut cells: Vec<String> = lines[row + 1].split(',').map(String::from).collect();
    cells[c] = value.into();
    lines[row + 1] = cells.join(",");
    lines.join("\n") + "\n"
}

fn config(dir: &Path, table: &str, extra: &str, budget: usize) -> ExperimentConfig {
    let csv = dir.join("my.csv");
    std::fs::write(&csv, table).expect("write table");
    let text = format!(
        r#"
name = "user-table"
seed = 3
budget = {budget}
batch_size = 10
[space]
kind = "nb201"
[strategy]
kind = "random"
[[objectives]]
metric = "accuracy"
[[objectives]]
metric = "latency_ms"
[[evaluators]]
kind = "table"
path = "my.csv"
accuracy = "cifar10_test_acc"
device = "fpga"
{extra}
[output]
png = false
"#
    );
    let registry = experiments::registry::builtin();
    let mut cfg = ExperimentConfig::from_toml_with(&text, "user.toml", &registry).expect("valid config");
    cfg.resolve_paths(dir, &registry).expect("paths");
    cfg
}

fn setup_error(cfg: &ExperimentConfig) -> String {
    match Setup::new(cfg, &experiments::registry::builtin(), Build::All) {
        Ok(_) => panic!("the table was accepted"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn a_nan_accuracy_is_refused_naming_file_line_column_and_value_or_skipped_with_a_count() {
    let tmp = tempfile::tempdir().expect("tmp");
    let table = with_cell(&nb201_csv(), 41, "cifar10_test_acc", "nan");
    let e = setup_error(&config(tmp.path(), &table, "", 50));
    assert!(
        e.contains("my.csv:43") && e.contains("`cifar10_test_acc`") && e.contains("nan") && e.contains("[0, 100]"),
        "{e}"
    );
    assert!(e.contains("on_invalid = \"skip\""), "the message says the way out: {e}");

    let cfg = config(tmp.path(), &table, "on_invalid = \"skip\"", 50);
    let setup = Setup::new(&cfg, &experiments::registry::builtin(), Build::All).expect("skips the row");
    let w = setup.evals.warnings.join("\n");
    assert!(w.contains("skipped 1 of 15625 rows") && w.contains("line 43"), "{w}");
}

#[test]
fn a_negative_latency_is_refused_and_when_skipped_never_reaches_the_front() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = nb201_csv();
    let arch41 = text.lines().nth(42).expect("row").split(',').nth(1).expect("arch").to_string();
    let table = with_cell(&text, 41, "fpga_ms", "-0.5");
    let e = setup_error(&config(tmp.path(), &table, "", 50));
    assert!(e.contains("my.csv:43") && e.contains("`fpga_ms`: -0.5") && e.contains("> 0"), "{e}");

    // Skipped: the row is gone, so that architecture's trial fails and every
    // point of the run has a positive latency.
    let cfg = config(tmp.path(), &table, "on_invalid = \"skip\"", 15625);
    let run = tmp.path().join("run");
    let s = run_new(&cfg, &run, &experiments::registry::builtin(), &RunOptions { quiet: true, ..Default::default() })
        .expect("runs");
    let t = s.trials.iter().find(|t| t.arch == arch41).expect("the whole space was evaluated");
    assert!(!t.is_ok(), "{t:?}");
    assert!(s.trials.iter().filter(|t| t.is_ok()).all(|t| t.metrics[&nas_core::Metric::LatencyMs] > 0.0));
    assert_eq!(s.trials.iter().filter(|t| t.is_ok()).count(), 15624);
}

#[test]
fn a_table_with_a_header_and_no_rows_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let header = nb201_csv().lines().next().expect("header").to_string() + "\n";
    let e = setup_error(&config(tmp.path(), &header, "", 50));
    assert!(e.contains("my.csv") && e.contains("no rows"), "{e}");
}

#[test]
fn a_torn_middle_line_of_the_trial_log_is_quarantined_and_its_trial_evaluated_again() {
    let tmp = tempfile::tempdir().expect("tmp");
    let registry = experiments::registry::builtin();
    let cfg = config(tmp.path(), &nb201_csv(), "", 30);
    let run = tmp.path().join("run");
    let quiet = RunOptions { quiet: true, ..Default::default() };
    let first = run_new(&cfg, &run, &registry, &quiet).expect("run");
    let log = run.join("trials.jsonl");
    let text = std::fs::read_to_string(&log).expect("log");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let torn_arch = first.trials[4].arch.clone();
    let half = lines[4].len() / 2;
    lines[4].truncate(half);
    std::fs::write(&log, lines.join("\n") + "\n").expect("tear");

    // Read-only readers and --strict refuse, naming the line.
    let e = format!("{:#}", read_trials(&run).expect_err("damaged"));
    assert!(e.contains("trials.jsonl:5") && e.contains("hwnas plot"), "{e}");
    let strict = RunOptions { quiet: true, log_mode: LogMode::Strict, ..Default::default() };
    let e = format!("{:#}", resume(&run, &registry, &strict).expect_err("strict"));
    assert!(e.contains("trials.jsonl:5") && e.contains("--strict"), "{e}");
    let e = format!("{:#}", replot(&run, &registry, LogMode::Strict).expect_err("strict"));
    assert!(e.contains("trials.jsonl:5"), "{e}");
    assert!(!rejected_path(&run).exists(), "strict mode changes nothing");

    // `plot` quarantines the line and draws the 29 trials it has.
    replot(&run, &registry, LogMode::Recover).expect("plot recovers");
    let rejected = std::fs::read_to_string(rejected_path(&run)).expect("rejected file");
    let entry: serde_json::Value = serde_json::from_str(rejected.lines().next().expect("entry")).expect("json");
    assert_eq!(entry["line"], 5);
    assert!(entry["reason"].as_str().expect("reason").contains("not a trial record"));
    assert_eq!(entry["text"].as_str().expect("text"), lines[4]);
    assert_eq!(read_trials(&run).expect("clean now").len(), 29);

    // `resume` evaluates the lost trial again: the same 30 trials as before.
    let resumed = resume(&run, &registry, &quiet).expect("resume");
    // Wall-clock time is the one metric that may differ between evaluations.
    let key = |t: &nas_core::Trial| {
        let m: Vec<_> = t.metrics.iter().filter(|(m, _)| **m != nas_core::Metric::EvalSeconds).collect();
        (t.arch.clone(), format!("{m:?}"))
    };
    let mut a: Vec<(String, String)> = first.trials.iter().map(key).collect();
    let mut b: Vec<(String, String)> = read_trials(&run).expect("log").iter().map(key).collect();
    assert_eq!(resumed.trials.len(), 30);
    assert!(b.iter().any(|k| k.0 == torn_arch));
    a.sort();
    b.sort();
    assert_eq!(a, b, "no trial lost, none repeated");
    // Nothing left to quarantine: the rejected file still holds the one line.
    assert_eq!(recover_trials(&run, LogMode::Recover).expect("read").quarantined.len(), 0);
    assert_eq!(std::fs::read_to_string(rejected_path(&run)).expect("rejected").lines().count(), 1);
}
