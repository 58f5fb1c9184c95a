//! End-to-end tests of the `hwnas` binary: a run killed mid-way and resumed
//! loses and repeats no trial and ends exactly like an uninterrupted run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn hwnas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hwnas-under-test"))
}

/// A run slow enough to be killed in the middle: NB201 cells trained on digits.
const SLOW: &str = r#"
name = "killme"
seed = 5
budget = 10
batch_size = 1
threads = 1
[space]
kind = "nb201"
channels = 4
cells_per_stage = 1
[strategy]
kind = "evolution"
population_size = 4
sample_size = 2
[[objectives]]
metric = "accuracy"
[[objectives]]
metric = "latency_ms"
[[evaluators]]
kind = "train"
dataset = "digits"
[evaluators.training]
epochs = 2
batch_size = 32
max_train_samples = 1000
max_val_samples = 200
[[evaluators]]
kind = "table"
device = "pixel3"
[output]
png = false
"#;

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p.join("trials.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect()
}

fn trial_keys(dir: &Path) -> Vec<(String, String)> {
    lines(dir)
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            let mut m = v["metrics"].clone();
            // Wall-clock time is the one metric that may differ between runs.
            m.as_object_mut().expect("metrics map").remove("eval_seconds");
            (v["arch"].as_str().expect("arch").to_string(), m.to_string())
        })
        .collect()
}

#[test]
fn killed_run_resumes_without_losing_or_repeating_trials() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("slow.toml");
    std::fs::write(&cfg, SLOW).expect("write config");
    let full: PathBuf = tmp.path().join("full");
    let cut: PathBuf = tmp.path().join("cut");

    let ok = hwnas().args(["run", cfg.to_str().expect("utf8"), "--quiet", "--out"]).arg(&full).status().expect("run");
    assert!(ok.success());
    assert_eq!(lines(&full).len(), 10);

    let mut child = hwnas()
        .args(["run", cfg.to_str().expect("utf8"), "--quiet", "--out"])
        .arg(&cut)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    while lines(&cut).len() < 4 {
        assert!(start.elapsed() < Duration::from_secs(300), "run made no progress");
        assert!(child.try_wait().expect("wait").is_none(), "run finished before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill");
    child.wait().expect("reap");
    let before = lines(&cut).len();
    assert!((4..10).contains(&before), "killed after {before} trials");

    let ok = hwnas().args(["resume", "--quiet"]).arg(&cut).status().expect("resume");
    assert!(ok.success());
    let after = trial_keys(&cut);
    assert_eq!(after.len(), 10, "no trial lost, none repeated");
    let mut archs: Vec<_> = after.iter().map(|k| k.0.clone()).collect();
    archs.sort();
    archs.dedup();
    assert_eq!(archs.len(), 10);
    // Same trials (architectures and metrics) as the uninterrupted run.
    let mut a = trial_keys(&full);
    let mut b = after;
    a.sort();
    b.sort();
    assert_eq!(a, b);
    for f in ["pareto.json", "pareto.svg", "hypervolume.svg", "run.json"] {
        assert!(cut.join(f).exists(), "{f} missing");
    }
    assert!(std::fs::read_dir(cut.join("export")).expect("export").count() >= 1);
}

#[test]
fn run_refuses_to_overwrite_and_bad_config_fails_cleanly() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/configs/nb201-cifar10-fpga.toml");
    let out = tmp.path().join("r");
    let run = |extra: &[&str]| {
        hwnas()
            .arg("run")
            .arg(&cfg_path)
            .args(["--quiet", "--budget", "30", "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .expect("run")
    };
    assert!(run(&[]).status.success());
    let again = run(&[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("hwnas resume"));

    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\nbudget = -3\n").expect("write");
    let o = hwnas().arg("run").arg(&bad).output().expect("run");
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("bad.toml") && e.contains("budget"), "{e}");
    assert!(!e.contains("panicked"), "{e}");

    // A config that parses but fails while its evaluators are built (a predictor
    // file that does not exist) leaves no run directory behind.
    let text = std::fs::read_to_string(&cfg_path).expect("config");
    let missing = tmp.path().join("no-such-predictor.json");
    let broken = format!(
        "{text}\n[[evaluators]]\nkind = \"predictor\"\npath = \"{}\"\nmetric = \"energy_mj\"\n",
        missing.display()
    );
    let bad = tmp.path().join("late.toml");
    std::fs::write(&bad, broken).expect("write");
    let never = tmp.path().join("never");
    let o = hwnas().arg("run").arg(&bad).args(["--quiet", "--out"]).arg(&never).output().expect("run");
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("no-such-predictor.json") && e.contains("evaluators["), "{e}");
    assert!(!never.exists(), "a failed setup must not leave {}", never.display());
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    // `hwnas list | head -0`: the reader is gone before hwnas writes.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hwnas-under-test"))
        .arg("list")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("panicked"), "{:?}: {stderr}", out.status);
}
