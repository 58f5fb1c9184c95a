//! EAS through the `hwnas` binary on the shipped 8x8 digits: the lineage, its
//! tree plot and the summary are written, a run cut short resumes to the same
//! trials, and EAS on another space or with a bad start network is refused.

use crate::run_files::trials_by_index;
use std::path::{Path, PathBuf};
use std::process::Command;

fn hwnas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hwnas-under-test"))
}

const CONFIG: &str = r#"
name = "eas-digits"
seed = 3
budget = 7
batch_size = 3

[space]
kind = "plain_cnn"
widths = [8, 12, 16, 24]
max_convs = 5
max_pools = 2
max_params = 20000

[strategy]
kind = "eas"
dataset = "digits"
start = "c3x8-p-c3x8"
start_epochs = 2
child_epochs = 1

[strategy.training]
batch_size = 32
max_train_samples = 600
max_val_samples = 300
optimizer = { type = "adam", lr = 0.01 }

[[objectives]]
metric = "accuracy"

[[objectives]]
metric = "params"

[[evaluators]]
kind = "analytical"
"#;

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("eas.toml");
    std::fs::write(&p, text).expect("write config");
    p
}

fn run(cfg: &Path, out: &Path) -> std::process::Output {
    hwnas().arg("run").arg(cfg).args(["--quiet", "--out"]).arg(out).output().expect("run")
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("json")
}

#[test]
fn eas_grows_a_lineage_with_plots_and_a_summary_and_resumes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = write(tmp.path(), CONFIG);
    let full = tmp.path().join("full");
    let o = run(&cfg, &full);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = trials_by_index(&full);
    assert_eq!(t.len(), 7);
    assert_eq!(t[0].1, "c3x8-p-c3x8");
    let lineage = json(&full.join("eas/lineage.json"));
    let lineage = lineage.as_array().expect("array");
    assert_eq!(lineage.len(), 7);
    for r in &lineage[1..] {
        assert!(r["parent"].is_string() && !r["transforms"].as_array().expect("transforms").is_empty(), "{r}");
        assert!(r["train_seconds"].as_f64().expect("timed") > 0.0);
    }
    let summary = json(&full.join("eas/summary.json"));
    for k in ["start", "best", "scratch_brief", "scratch_lineage"] {
        assert!(summary[k]["val_accuracy"].as_f64().is_some(), "summary.{k}: {summary}");
    }
    for f in ["eas/lineage.svg", "eas/controller.svg", "pareto.svg"] {
        assert!(full.join(f).exists(), "{f} missing");
    }
    // A crash after the first step: the log keeps 4 trials, the weights of the
    // networks trained after them are gone.
    let cut = tmp.path().join("cut");
    let o = run(&cfg, &cut);
    assert!(o.status.success());
    let log = std::fs::read_to_string(cut.join("trials.jsonl")).expect("log");
    let keep: Vec<&str> = log.lines().filter(|l| trials_index(l) < 4).collect();
    std::fs::write(cut.join("trials.jsonl"), keep.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("cut");
    for l in log.lines().filter(|l| trials_index(l) >= 4) {
        let v: serde_json::Value = serde_json::from_str(l).expect("json");
        let id = v["arch_id"].as_str().expect("id");
        std::fs::remove_file(cut.join(format!("eas/weights/{id}.bpk"))).expect("weights");
        std::fs::remove_file(cut.join(format!("eas/children/{id}.json"))).expect("report");
    }
    std::fs::remove_file(cut.join("eas/summary.json")).expect("summary");
    let o = hwnas().args(["resume", "--quiet"]).arg(&cut).output().expect("resume");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(trials_by_index(&cut) == trials_by_index(&full), "the resumed run differs");
    assert_eq!(json(&cut.join("eas/summary.json"))["best"], summary["best"]);
}

fn trials_index(line: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(line).expect("json")["index"].as_u64().expect("index")
}

#[test]
fn eas_is_refused_on_other_spaces_and_with_a_bad_start() {
    let tmp = tempfile::tempdir().expect("tmp");
    let nb201 = CONFIG.replace(
        "kind = \"plain_cnn\"\nwidths = [8, 12, 16, 24]\nmax_convs = 5\nmax_pools = 2\nmax_params = 20000",
        "kind = \"nb201\"",
    );
    let o = run(&write(tmp.path(), &nb201), &tmp.path().join("a"));
    assert!(!o.status.success());
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(msg.contains("plain_cnn") && msg.contains("nb201"), "{msg}");
    let bad = CONFIG.replace("start = \"c3x8-p-c3x8\"", "start = \"c3x8-p-c3x999\"");
    let o = run(&write(tmp.path(), &bad), &tmp.path().join("b"));
    assert!(!o.status.success());
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(msg.contains("strategy.start") && msg.contains("999"), "{msg}");
    assert!(!tmp.path().join("b").exists(), "a refused run leaves no directory");
}
