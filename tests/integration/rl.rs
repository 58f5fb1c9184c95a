//! The policy-gradient strategies through the `hwnas` binary: the shipped
//! REINFORCE and multi-agent configs run with their controller files and plots,
//! the same seed gives the same run, a run cut short resumes to the same
//! trials and controller history, and bad settings are refused naming the field.

use crate::run_files::trials_by_index;
use std::path::{Path, PathBuf};
use std::process::Command;

fn hwnas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hwnas-under-test"))
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/configs").join(name)
}

fn run(cfg: &Path, out: &Path, extra: &[&str]) {
    let o = hwnas().arg("run").arg(cfg).args(["--quiet", "--out"]).arg(out).args(extra).output().expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn history(dir: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("controller/history.json")).expect("history"))
        .expect("history json")
}

#[test]
fn shipped_controller_configs_run_with_their_plots_and_are_deterministic() {
    let tmp = tempfile::tempdir().expect("tmp");
    for (cfg, agents) in [("reinforce-nb201-fpga.toml", 1), ("marl-nb201-fpga.toml", 3)] {
        let a = tmp.path().join(format!("{cfg}-a"));
        let b = tmp.path().join(format!("{cfg}-b"));
        run(&shipped(cfg), &a, &["--budget", "80"]);
        run(&shipped(cfg), &b, &["--budget", "80"]);
        let t = trials_by_index(&a);
        assert_eq!(t.len(), 80, "{cfg}");
        let mut distinct: Vec<&String> = t.iter().map(|x| &x.1).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 80, "{cfg}: an architecture was evaluated twice");
        assert!(t == trials_by_index(&b), "{cfg}: same seed, different trials");
        let h = history(&a);
        assert_eq!(h.len(), 8, "{cfg}: one update per batch of 10");
        assert!(h.iter().all(|u| u["baselines"].as_array().expect("baselines").len() == agents), "{cfg}");
        let policy: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(a.join("controller/policy.json")).expect("policy"))
                .expect("json");
        assert_eq!(policy["decisions"].as_array().expect("decisions").len(), 6);
        for p in policy["probabilities"].as_array().expect("probabilities") {
            let sum: f64 = p.as_array().expect("row").iter().map(|v| v.as_f64().expect("f64")).sum();
            assert!((sum - 1.0).abs() < 1e-4, "{cfg}: a decision's probabilities sum to {sum}");
        }
        for f in ["controller/controller.svg", "controller/policy.svg", "pareto.svg", "hypervolume.svg"] {
            assert!(a.join(f).exists(), "{cfg}: {f} missing");
        }
        assert!(std::fs::read_dir(a.join("export")).expect("export").count() >= 1);
    }
}

#[test]
fn a_run_cut_short_resumes_to_the_same_trials_and_controller() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = shipped("reinforce-nb201-fpga-hard.toml");
    let full = tmp.path().join("full");
    run(&cfg, &full, &["--budget", "60"]);
    // A crash after 37 trials: the log keeps a prefix, the rest is gone.
    let cut = tmp.path().join("cut");
    run(&cfg, &cut, &["--budget", "60"]);
    let log = std::fs::read_to_string(cut.join("trials.jsonl")).expect("log");
    let prefix: String = log.lines().take(37).map(|l| format!("{l}\n")).collect();
    std::fs::write(cut.join("trials.jsonl"), prefix).expect("truncate");
    std::fs::remove_dir_all(cut.join("controller")).expect("controller");
    let o = hwnas().args(["resume", "--quiet"]).arg(&cut).output().expect("resume");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(trials_by_index(&cut) == trials_by_index(&full), "resumed trials differ");
    assert!(history(&cut) == history(&full), "resumed controller history differs");
}

#[test]
fn bad_controller_settings_are_refused_naming_the_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let base = std::fs::read_to_string(shipped("reinforce-nb201-fpga.toml")).expect("config");
    for (from, to, field) in [
        ("learning_rate = 0.1", "learning_rate = -1", "strategy.learning_rate"),
        ("policy = \"categorical\"", "policy = \"transformer\"", "strategy.policy"),
        ("kind = \"rank\"", "kind = \"mnas\"", "strategy.reward.target"),
        ("kind = \"rank\"", "kind = \"rank\"\nw_soft = 1", "w_soft"),
        ("kind = \"reinforce\"", "kind = \"marl\"\ngroups = [[\"node1\"], [\"node9\"]]", "strategy.groups"),
    ] {
        let text = base.replace(from, to);
        assert_ne!(text, base);
        let cfg = tmp.path().join("bad.toml");
        std::fs::write(&cfg, text).expect("write");
        let o =
            hwnas().arg("run").arg(&cfg).args(["--quiet", "--out"]).arg(tmp.path().join("x")).output().expect("run");
        assert!(!o.status.success());
        let msg = String::from_utf8_lossy(&o.stderr);
        assert!(msg.contains(field), "`{to}`: {msg}");
        assert!(!tmp.path().join("x").exists(), "a refused run leaves no directory");
    }
}
