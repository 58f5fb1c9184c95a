//! Differentiable search through the `hwnas` binary (each run its own process:
//! burn's generator is process-wide): the same seed derives the same cell, a
//! search killed with SIGKILL resumes from its last checkpoint and derives what
//! an uninterrupted one derives, bad settings are refused before training, a
//! hard latency limit is met, and the run directory holds the outputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn hwnas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hwnas-under-test"))
}

/// A tiny NB201 supernet on the digits, cells looked up in the NB201 table.
fn config(kind: &str, epochs: usize, extra: &str, hardware: &str) -> String {
    format!(
        r#"
name = "diff-{kind}"
seed = 0
budget = 2
batch_size = 1
threads = 1
[space]
kind = "nb201"
channels = 4
cells_per_stage = 1
[strategy]
kind = "{kind}"
dataset = "digits"
seeds = [3]
epochs = {epochs}
batch_size = 32
max_train_samples = 400
{extra}
{hardware}
[[objectives]]
metric = "accuracy"
[[objectives]]
metric = "latency_ms"
[[evaluators]]
kind = "table"
accuracy = "cifar10_test_acc"
device = "fpga"
[output]
png = false
"#
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write config");
    p
}

fn run(cfg: &Path, out: &Path) -> std::process::Output {
    hwnas().arg("run").arg(cfg).arg("--quiet").arg("--out").arg(out).output().expect("run hwnas")
}

fn result(out: &Path, seed: u64) -> serde_json::Value {
    let p = out.join(format!("differentiable/seed-{seed}/result.json"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).expect("json")
}

/// The derived choices and every epoch's op weights.
fn trajectory(v: &serde_json::Value) -> (serde_json::Value, Vec<serde_json::Value>) {
    let history = v["history"].as_array().expect("history");
    (v["choices"].clone(), history.iter().map(|h| h["op_weights"].clone()).collect())
}

#[test]
fn the_same_seed_derives_the_same_cell_with_the_same_weights() {
    let tmp = tempfile::tempdir().expect("tmp");
    for kind in ["darts", "gdas", "proxyless"] {
        let cfg = write(tmp.path(), &format!("{kind}.toml"), &config(kind, 2, "", ""));
        let (a, b) = (tmp.path().join(format!("{kind}-a")), tmp.path().join(format!("{kind}-b")));
        for out in [&a, &b] {
            let o = run(&cfg, out);
            assert!(o.status.success(), "{kind}: {}", String::from_utf8_lossy(&o.stderr));
        }
        assert_eq!(trajectory(&result(&a, 3)), trajectory(&result(&b, 3)), "{kind}");
        let sa = std::fs::read_to_string(a.join("trials.jsonl")).expect("trials");
        assert_eq!(sa.lines().count(), 1, "one seed, one trial");
    }
}

#[test]
fn a_killed_search_resumes_from_its_last_checkpoint_and_derives_the_same_cell() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = write(
        tmp.path(),
        "long.toml",
        &config("darts", 8, "", "[strategy.hardware]\nmetric = \"latency_ms\"\nlambda = 0.2\n"),
    );
    let full = tmp.path().join("full");
    let o = run(&cfg, &full);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let cut = tmp.path().join("cut");
    let mut child = hwnas()
        .arg("run")
        .arg(&cfg)
        .args(["--quiet", "--out"])
        .arg(&cut)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let ckpt = cut.join("differentiable/seed-3/checkpoint/epoch-002/state.json");
    let start = Instant::now();
    while !ckpt.exists() {
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint after 300 s");
        assert!(child.try_wait().expect("wait").is_none(), "the search ended before it could be killed");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(!cut.join("differentiable/seed-3/result.json").exists(), "killed before the end");

    let o = hwnas().arg("resume").arg("--quiet").arg(&cut).output().expect("resume");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let resumed = result(&cut, 3);
    let from = resumed["resumed_from"].as_u64().expect("resumed from a checkpoint");
    assert!((2..8).contains(&from), "resumed from epoch {from}");
    assert_eq!(trajectory(&resumed), trajectory(&result(&full, 3)));
    let trials = |d: &Path| -> Vec<String> {
        std::fs::read_to_string(d.join("trials.jsonl"))
            .expect("trials")
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["arch"].to_string())
            .collect()
    };
    assert_eq!(trials(&cut), trials(&full));
    for f in ["differentiable/summary.json", "differentiable/cost_model.json", "pareto.json", "pareto.svg"] {
        assert!(cut.join(f).exists(), "{f} missing");
    }
    for f in ["alpha.svg", "alpha_evolution.svg", "guard.svg"] {
        assert!(cut.join("differentiable/seed-3").join(f).exists(), "{f} missing");
    }
    assert!(std::fs::read_dir(cut.join("export")).expect("export").count() >= 1);
}

#[test]
fn bad_settings_are_refused_before_training_naming_the_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hw = |body: &str| format!("[strategy.hardware]\nmetric = \"latency_ms\"\n{body}\n");
    let cases: [(&str, String, &str); 6] = [
        ("darts", config("darts", 2, "", &hw("lambda = -1.0")), "strategy.hardware.lambda"),
        ("pc_darts", config("pc_darts", 2, "k = 3", ""), "strategy.k"),
        ("darts", config("darts", 2, "k = 2", ""), "applies to `pc_darts` only"),
        ("darts", config("darts", 2, "", &hw("lambda = 1.0\nlimit = 0.01")), "strategy.hardware.limit"),
        (
            "darts",
            config("darts", 2, "", "[strategy.hardware]\nmetric = \"energy_mj\"\nlambda = 1.0\n"),
            "not provided by a cheap evaluator",
        ),
        ("gdas", config("gdas", 2, "tau_max = 0.01\ntau_min = 0.1", ""), "strategy.tau_max"),
    ];
    for (i, (kind, text, want)) in cases.iter().enumerate() {
        let cfg = write(tmp.path(), &format!("bad{i}.toml"), text);
        let out = tmp.path().join(format!("never{i}"));
        let start = Instant::now();
        let o = run(&cfg, &out);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{kind} case {i} ran");
        assert!(e.contains(want), "{kind} case {i}: {e}");
        assert!(!e.contains("panicked"), "{e}");
        assert!(!out.join("differentiable").exists(), "case {i} trained before refusing");
        assert!(start.elapsed() < Duration::from_secs(60), "case {i} was not refused up front");
    }
}

#[test]
fn a_hard_latency_limit_is_met_by_the_derived_cell() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hw = "[strategy.hardware]\nmetric = \"latency_ms\"\nlambda = 1.0\nlimit = 2.0\n";
    let cfg = write(tmp.path(), "hard.toml", &config("pc_darts", 3, "k = 2", hw));
    let out = tmp.path().join("hard");
    let o = run(&cfg, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = std::fs::read_to_string(out.join("trials.jsonl")).expect("trials");
    let t: serde_json::Value = serde_json::from_str(line.lines().next().expect("a trial")).expect("json");
    let latency = t["metrics"]["latency_ms"].as_f64().expect("table latency");
    assert!(latency <= 2.0 + 1e-9, "table latency {latency} ms over the 2 ms limit");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("differentiable/summary.json")).expect("summary"))
            .expect("json");
    assert_eq!(summary["seeds"][0]["metrics"]["latency_ms"].as_f64(), Some(latency));
}

#[test]
fn the_darts_cell_space_is_searched_end_to_end() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = r#"
name = "pc-darts-space"
seed = 0
budget = 1
threads = 1
[space]
kind = "darts"
channels = 4
layers = 3
[strategy]
kind = "pc_darts"
dataset = "digits"
seeds = [1]
epochs = 2
batch_size = 32
max_train_samples = 256
k = 2
[strategy.hardware]
metric = "params"
lambda = 0.5
[[objectives]]
metric = "params"
[[evaluators]]
kind = "analytical"
[output]
png = false
"#;
    let cfg = write(tmp.path(), "darts.toml", text);
    let out = tmp.path().join("run");
    let o = run(&cfg, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = result(&out, 1);
    let choices = r["choices"].as_array().expect("choices");
    assert_eq!(choices.len(), 28, "14 edges per cell, normal and reduction");
    // Two inputs per node: 4 nodes x 2 cells x 2 = 16 chosen edges.
    assert_eq!(choices.iter().filter(|c| c.as_u64() != Some(0)).count(), 16);
    let line = std::fs::read_to_string(out.join("trials.jsonl")).expect("trials");
    let t: serde_json::Value = serde_json::from_str(line.lines().next().expect("trial")).expect("json");
    assert!(t["arch"].as_str().expect("arch").starts_with("Genotype(normal=["), "{t}");
    let fit: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("differentiable/cost_model.json")).expect("cost"))
            .expect("json");
    assert!(fit["fit"]["r2"].as_f64().expect("r2") > 0.999_999, "params are additive: {fit}");
}

#[test]
fn seeds_on_the_command_line_replace_the_configs_and_a_budget_below_them_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = write(tmp.path(), "seeds.toml", &config("gdas", 1, "", ""));
    let out = tmp.path().join("two");
    let o = hwnas().arg("run").arg(&cfg).args(["--quiet", "--seeds", "3,4", "--out"]).arg(&out).output().expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("differentiable/summary.json")).expect("summary"))
            .expect("json");
    let seeds: Vec<u64> =
        summary["seeds"].as_array().expect("seeds").iter().map(|s| s["seed"].as_u64().expect("seed")).collect();
    assert_eq!(seeds, vec![3, 4]);
    for s in summary["seeds"].as_array().expect("seeds") {
        assert!(s["metrics"]["latency_ms"].as_f64().is_some(), "every seed reports its metrics: {s}");
    }
    assert!(summary["mean_std"]["latency_ms"].is_array());
    // The best seed by the first objective (accuracy).
    let acc = |i: usize| summary["seeds"][i]["metrics"]["accuracy"].as_f64().expect("accuracy");
    let best = summary["best_seed"].as_u64().expect("best seed");
    if acc(0) != acc(1) {
        assert_eq!(best, if acc(1) > acc(0) { 4 } else { 3 });
    } else {
        assert!([3, 4].contains(&best));
    }
    for seed in [3, 4] {
        let f = out.join(format!("differentiable/export/seed-{seed}.json"));
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&f).expect("export")).expect("json");
        assert!(v["notation"].as_str().expect("notation").starts_with('|'), "{v}");
    }

    let nsga = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/configs/nb201-cifar10-fpga.toml");
    let o = hwnas().arg("run").arg(&nsga).args(["--quiet", "--seeds", "1,2"]).output().expect("run");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--seeds"), "{}", String::from_utf8_lossy(&o.stderr));

    let few = write(tmp.path(), "few.toml", &config("darts", 1, "", "").replace("seeds = [3]", "seeds = [1, 2, 3]"));
    let o = run(&few, &tmp.path().join("never"));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("budget") && e.contains("3 seeds"), "{e}");
}
