//! Network × accelerator co-design through the `hwnas` binary: the shipped
//! NASAIC config runs, its front meets the specs and comes with the hardware
//! report (units, margins, per-layer utilisation); resume gives the same
//! trials; `hwnas codesign` compares joint search with the successive
//! baseline; the DRACO config runs with utilisation as an objective; bad
//! hardware input is refused or failed with the reason.

use crate::run_files::trials_by_index;
use std::path::{Path, PathBuf};
use std::process::Command;

fn hwnas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hwnas-under-test"))
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/configs").join(name)
}

fn run(cfg: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    hwnas().arg("run").arg(cfg).args(["--quiet", "--out"]).arg(out).args(extra).output().expect("run")
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("json")
}

#[test]
fn the_nasaic_config_meets_its_specs_and_reports_the_hardware() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("a");
    let o = run(&shipped("nasaic-nb201-two-tasks.toml"), &a, &["--budget", "300"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pareto = json(&a.join("pareto.json"));
    let front = pareto["front"].as_array().expect("front");
    assert!(!front.is_empty());
    for m in front {
        let v = |k: &str| m["metrics"][k].as_f64().expect(k);
        assert!(v("latency_ms") <= 1.5 && v("energy_mj") <= 14.0 && v("area_mm2") <= 5.0, "{m}");
        assert!((0.0..=100.0).contains(&v("pe_utilisation")));
    }
    let hw = json(&a.join("codesign/front.json"));
    let hw = hw.as_array().expect("members");
    assert_eq!(hw.len(), front.len());
    for m in hw {
        let sys = &m["system"];
        let subs = sys["subs"].as_array().expect("subs");
        assert!(!subs.is_empty() && subs.len() <= 2);
        for s in subs {
            assert!(s["area_mm2"].as_f64().expect("area") > 0.0);
            assert!(["ws", "os", "rs"].contains(&s["params"]["dataflow"].as_str().expect("dataflow")));
            assert!(s["params"]["buffer_kib"].as_u64().is_some() && s["params"]["bandwidth_gbs"].as_f64().is_some());
        }
        let tasks = sys["tasks"].as_array().expect("tasks");
        assert_eq!(tasks.len(), 2);
        assert_eq!(m["networks"][0][0], "cifar10");
        for t in tasks {
            assert!((t["sub"].as_u64().expect("sub") as usize) < subs.len());
            let layers = t["layers"].as_array().expect("layers");
            assert!(layers.iter().any(|l| l["pe_utilisation"].as_f64().is_some()));
            let sum: f64 = layers.iter().map(|l| l["latency_ms"].as_f64().expect("ms")).sum();
            assert!((sum - t["latency_ms"].as_f64().expect("ms")).abs() < 1e-9 * sum.max(1.0));
        }
        // System latency is the slowest sub-accelerator.
        let busiest = subs.iter().map(|s| s["busy_ms"].as_f64().expect("busy")).fold(0.0, f64::max);
        assert!((busiest - sys["latency_ms"].as_f64().expect("latency")).abs() < 1e-12);
        let specs = m["specs"].as_array().expect("specs");
        assert_eq!(specs.len(), 3);
        assert!(specs.iter().all(|s| s["met"] == true && s["margin"].as_f64().expect("margin") >= 0.0));
    }
    // Same seed, same trials; a run cut short resumes to the same trials.
    let b = tmp.path().join("b");
    assert!(run(&shipped("nasaic-nb201-two-tasks.toml"), &b, &["--budget", "300"]).status.success());
    assert!(trials_by_index(&a) == trials_by_index(&b), "same seed, different trials");
    // A crash after 137 trials: the log keeps a prefix, the rest is gone.
    let c = tmp.path().join("c");
    assert!(run(&shipped("nasaic-nb201-two-tasks.toml"), &c, &["--budget", "300"]).status.success());
    let log = std::fs::read_to_string(c.join("trials.jsonl")).expect("log");
    let prefix: String = log.lines().take(137).map(|l| format!("{l}\n")).collect();
    std::fs::write(c.join("trials.jsonl"), prefix).expect("truncate");
    std::fs::remove_dir_all(c.join("codesign")).expect("report");
    let o = hwnas().args(["resume", "--quiet"]).arg(&c).output().expect("resume");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(trials_by_index(&a) == trials_by_index(&c), "resume diverged");
    assert!(json(&a.join("codesign/front.json")) == json(&c.join("codesign/front.json")));
}

#[test]
fn joint_search_meets_the_specs_the_successive_baseline_violates() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("cmp");
    let o = hwnas()
        .arg("codesign")
        .arg(shipped("nasaic-nb201-two-tasks.toml"))
        .args(["--seeds", "3", "--budget", "400", "--out"])
        .arg(&out)
        .output()
        .expect("codesign");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("NASAIC, DAC 2020"), "{text}");
    let c = json(&out.join("codesign.json"));
    assert_eq!(c["seeds"].as_array().expect("seeds").len(), 3);
    assert_eq!(c["joint_meets"], 3, "{c}");
    assert!(c["successive_violates"].as_u64().expect("count") >= 2, "{c}");
    // The baseline's answer uses the most accurate networks it found on the
    // reference accelerator; the joint answer trades some accuracy for specs.
    for s in c["seeds"].as_array().expect("seeds") {
        let acc = |k: &str| s[k]["metrics"]["accuracy"].as_f64().expect("accuracy");
        assert!(acc("successive") >= acc("joint") - 1.0, "{s}");
    }
}

#[test]
fn utilisation_is_an_objective_of_the_draco_config() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("a");
    let o = run(&shipped("draco-nb201-ws64.toml"), &a, &["--budget", "60"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pareto = json(&a.join("pareto.json"));
    let objectives: Vec<&str> =
        pareto["objectives"].as_array().expect("objectives").iter().map(|o| o["metric"].as_str().expect("m")).collect();
    assert_eq!(objectives, ["accuracy", "latency_ms", "pe_utilisation"]);
    for m in pareto["front"].as_array().expect("front") {
        let u = m["metrics"]["pe_utilisation"].as_f64().expect("utilisation");
        assert!(u > 0.0 && u <= 100.0, "{u}");
    }
}

#[test]
fn bad_hardware_is_refused_or_failed_with_the_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = std::fs::read_to_string(shipped("nasaic-nb201-two-tasks.toml")).expect("config");
    let write = |name: &str, text: String| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    // An unknown dataflow is refused with the allowed names.
    let bad = write("df.toml", src.replace(r#"dataflows = ["ws", "os", "rs"]"#, r#"dataflows = ["ws", "tpu"]"#));
    let o = run(&bad, &tmp.path().join("df"), &[]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("dataflows") && e.contains("ws") && e.contains("rs"), "{e}");
    // A hard area budget below most designs: those trials fail with the reason.
    let tight = write("area.toml", src.replace("area = \"horowitz45\"", "area = \"horowitz45\"\nmax_area_mm2 = 3"));
    let out = tmp.path().join("area");
    let o = run(&tight, &out, &["--budget", "60"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(out.join("trials.jsonl")).expect("log");
    assert!(log.contains("over the area budget of 3 mm²"), "no area failure recorded");
    // Register files too small for the row-stationary working set fail with the layer.
    let rf = write(
        "rf.toml",
        src.replace("rf_bytes = [16, 32, 64]", "rf_bytes = [16]")
            .replace(r#"dataflows = ["ws", "os", "rs"]"#, r#"dataflows = ["rs"]"#),
    );
    let out = tmp.path().join("rf");
    let o = run(&rf, &out, &["--budget", "20"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(out.join("trials.jsonl")).expect("log");
    assert!(log.contains("bytes of register file per PE under rs, it has 16"), "{log}");
    // The codesign evaluator needs a codesign space.
    let nb = write(
        "nb.toml",
        "name = \"x\"\nbudget = 5\n[space]\nkind = \"nb201\"\n[strategy]\nkind = \"random\"\n[[objectives]]\nmetric = \"latency_ms\"\n[[evaluators]]\nkind = \"codesign\"\n".into(),
    );
    let o = run(&nb, &tmp.path().join("nb"), &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("co-design"), "{}", String::from_utf8_lossy(&o.stderr));
}
