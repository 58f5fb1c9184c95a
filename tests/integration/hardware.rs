//! End to end through the `hwnas` binary: build a latency table for a tiny NB201
//! space, validate it, run a latency-constrained search with it, verify the run's
//! front, and refuse the table for a space it does not cover. Quick protocol
//! throughout: this checks the plumbing, not the timing quality.

use latency_lut::LatencyTable;
use std::path::Path;
use std::process::{Command, Output};

fn hwnas(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hwnas-under-test")).args(args).output().expect("hwnas runs")
}

fn ok(out: &Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "hwnas failed:\n{text}");
    text
}

fn search_config(channels: usize, lut: &Path, bound: f64) -> String {
    format!(
        r#"
name = "tiny-lut"
budget = 30
batch_size = 5
constraints = ["latency_ms <= {bound}"]
[space]
kind = "nb201"
channels = {channels}
cells_per_stage = 1
[strategy]
kind = "nsga2"
population_size = 6
[[objectives]]
metric = "accuracy"
[[objectives]]
metric = "latency_ms"
[[evaluators]]
kind = "table"
accuracy = "cifar10_test_acc"
[[evaluators]]
kind = "lut"
path = "{}"
[output]
png = false
"#,
        lut.display()
    )
}

#[test]
fn lut_build_validate_constrained_search_and_verify() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lut = tmp.path().join("tiny.json");
    let lut_s = lut.to_str().expect("utf8");
    // The config names the space; the table does not exist yet, which is fine for `lut build`.
    let cfg = tmp.path().join("search.toml");
    std::fs::write(&cfg, search_config(4, &lut, 1.0)).expect("write");
    let cfg_s = cfg.to_str().expect("utf8");

    let text = ok(&hwnas(&["lut", "build", "--config", cfg_s, "--quick", "--calibration", "2", "--out", lut_s, "-q"]));
    assert!(text.contains("wrote"), "{text}");
    let table = LatencyTable::load(&lut).expect("a valid table");
    assert_eq!(table.space.name, "nb201");
    assert_eq!(table.space.config["channels"], 4);
    assert!(table.coverage.exhaustive && !table.is_empty());
    assert!(table.entries.iter().all(|e| e.timing.median_ms > 0.0));
    assert_eq!(table.device.allocator, "mimalloc");

    // Validation against end-to-end timings (the table's own space and settings).
    let out_dir = tmp.path().join("val");
    let text = ok(&hwnas(&[
        "lut",
        "validate",
        lut_s,
        "--samples",
        "4",
        "--out",
        out_dir.to_str().expect("utf8"),
        "--no-png",
        "-q",
    ]));
    assert!(text.contains("within ±10%") && text.contains("Kendall tau"), "{text}");
    assert!(out_dir.join("validation.json").exists() && out_dir.join("validation.svg").exists());
    // Asking for the default NB201 space is refused: the table is for C = 4.
    let out = hwnas(&["lut", "validate", lut_s, "--space", "nb201", "--samples", "2", "-q"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("built for space nb201"));

    // A constrained search: the bound is the median calibration network, so some
    // architectures are feasible and some are not.
    let cal = table.calibration.as_ref().expect("calibrated");
    let mut ms: Vec<f64> = cal.points.iter().map(|p| p.measured_ms).collect();
    ms.sort_by(f64::total_cmp);
    std::fs::write(&cfg, search_config(4, &lut, ms[ms.len() / 2] * 1.5)).expect("write");
    let run = tmp.path().join("run");
    let run_s = run.to_str().expect("utf8");
    ok(&hwnas(&["run", cfg_s, "--out", run_s, "--quiet"]));
    let trials = std::fs::read_to_string(run.join("trials.jsonl")).expect("trials");
    assert_eq!(trials.lines().count(), 30);
    assert!(trials.contains("\"latency_ms\""));

    let text = ok(&hwnas(&["verify", run_s]));
    assert!(text.contains("front re-measured") && text.contains("Kendall tau"), "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("verify.json")).expect("verify.json")).expect("json");
    let points = v["points"].as_array().expect("points");
    assert!(!points.is_empty());
    assert!(points.iter().all(|p| p["measured_ms"].as_f64().is_some_and(|m| m > 0.0)));
    assert!(run.join("verify.svg").exists());

    // A table whose build recorded that the machine did not hold still: `lut
    // show`, `lut validate`, a search and `verify` all say so.
    let mut t = LatencyTable::load(&lut).expect("load");
    let mut st = t.stability.clone().expect("stability recorded");
    for a in &mut st.attempts {
        a.drift = 0.31;
        a.problems = vec!["its speed changed by +31.0% between the calibration networks".into()];
    }
    t.stability = Some(st);
    t.save(&lut).expect("save");
    let text = ok(&hwnas(&["lut", "show", lut_s]));
    assert!(text.contains("NOT steady") && text.contains("+31.0%") && text.contains("WARNING"), "{text}");
    let text = ok(&hwnas(&["lut", "validate", lut_s, "--samples", "2", "--no-png", "-q"]));
    assert!(text.contains("WARNING") && text.contains("not steady"), "{text}");
    let text = ok(&hwnas(&["run", cfg_s, "--out", tmp.path().join("run2").to_str().expect("utf8"), "--quiet"]));
    assert!(text.contains("not steady") && text.contains("+31.0%"), "{text}");
    let text = ok(&hwnas(&["verify", run_s]));
    assert!(text.contains("WARNING") && text.contains("not steady"), "{text}");

    // The same table for a C = 8 space is refused before the search starts.
    std::fs::write(&cfg, search_config(8, &lut, 1.0)).expect("write");
    let out = hwnas(&["run", cfg_s, "--out", tmp.path().join("run8").to_str().expect("utf8"), "--quiet"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("latency table was built for space nb201") && err.contains("is not in the latency table"),
        "{err}"
    );
}

#[test]
fn verify_refuses_runs_whose_latency_is_another_device() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("fpga.toml");
    std::fs::write(
        &cfg,
        "name = \"fpga\"\nbudget = 12\nbatch_size = 4\n[space]\nkind = \"nb201\"\n[strategy]\nkind = \"random\"\n\
         [[objectives]]\nmetric = \"accuracy\"\n[[objectives]]\nmetric = \"latency_ms\"\n\
         [[evaluators]]\nkind = \"table\"\naccuracy = \"cifar10_test_acc\"\n[[evaluators]]\nkind = \"device\"\nname = \"fpga\"\n\
         [output]\npng = false\n",
    )
    .expect("write");
    let run = tmp.path().join("run");
    ok(&hwnas(&["run", cfg.to_str().expect("utf8"), "--out", run.to_str().expect("utf8"), "--quiet"]));
    let out = hwnas(&["verify", run.to_str().expect("utf8")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`fpga` column"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn energy_and_systolic_models_run_as_evaluators_and_verify_ranks_their_front() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("models.toml");
    std::fs::write(
        &cfg,
        r#"
name = "models"
budget = 12
batch_size = 4
[space]
kind = "nb201"
channels = 4
cells_per_stage = 1
[strategy]
kind = "random"
[[objectives]]
metric = "accuracy"
[[objectives]]
metric = "energy_mj"
[[objectives]]
metric = "latency_ms"
[[evaluators]]
kind = "table"
accuracy = "cifar10_test_acc"
[[evaluators]]
kind = "energy"
technology = "eyeriss65"
buffer_kib = 108
[[evaluators]]
kind = "systolic"
rows = 8
cols = 8
dataflow = "rs"
metrics = ["latency_ms"]
[output]
png = false
verify = true
"#,
    )
    .expect("write");
    let run = tmp.path().join("run");
    let text = ok(&hwnas(&["run", cfg.to_str().expect("utf8"), "--out", run.to_str().expect("utf8")]));
    assert!(text.contains("front re-measured (systolic(8x8 rs"), "{text}");
    assert!(text.contains("model another device"), "{text}");
    let line = std::fs::read_to_string(run.join("trials.jsonl")).expect("trials");
    let first: serde_json::Value = serde_json::from_str(line.lines().next().expect("a trial")).expect("json");
    assert!(first["metrics"]["energy_mj"].as_f64().is_some_and(|e| e > 0.0));
    assert!(first["metrics"]["latency_ms"].as_f64().is_some_and(|l| l > 0.0));
    assert!(run.join("verify.json").exists());
}

#[test]
fn hardware_evaluator_settings_are_checked_with_the_field_named() {
    use experiments::config::ExperimentConfig;
    let base = "name = \"x\"\nbudget = 5\n[space]\nkind = \"nb201\"\n[strategy]\nkind = \"random\"\n\
                [[objectives]]\nmetric = \"latency_ms\"\n";
    let check = |evaluator: &str, extra: &str, expect: &[&str]| {
        let text = format!("{base}[[evaluators]]\n{evaluator}\n{extra}");
        let e = ExperimentConfig::from_toml(&text, "t.toml").expect_err("refused").to_string();
        for part in expect {
            assert!(e.contains(part), "`{e}` lacks `{part}`");
        }
    };
    check("kind = \"systolic\"\ndataflow = \"xs\"", "", &["evaluators[0]", "xs"]);
    check("kind = \"systolic\"\nrows = 0", "", &["evaluators[0]", "rows"]);
    check("kind = \"systolic\"\nmetrics = [\"accuracy\"]", "", &["metrics", "latency_ms, energy_mj"]);
    check("kind = \"energy\"\ntechnology = \"tsmc5\"", "", &["technology", "horowitz45, eyeriss65"]);
    check("kind = \"lut\"\npath = \"t.json\"\nbatch = 0", "", &["evaluators[0].batch"]);
    check("kind = \"measured\"\nthreads = 0", "", &["evaluators[0].threads"]);
    check("kind = \"device\"\nname = \"fpga\"", "[output]\nverify = true\n", &["output.verify"]);
    // Energy alone does not provide latency_ms.
    check("kind = \"energy\"", "", &["no evaluator provides `latency_ms`"]);
    let darts = base.replace("kind = \"nb201\"", "kind = \"darts\"");
    let cfg =
        ExperimentConfig::from_toml(&format!("{darts}[[evaluators]]\nkind = \"device\"\nname = \"fpga\"\n"), "t.toml")
            .expect("parses");
    let registry = experiments::registry::builtin();
    let e = match experiments::setup::Setup::new(&cfg, &registry, experiments::setup::Build::All) {
        Ok(_) => panic!("device tables are NB201 only"),
        Err(e) => format!("{e:#}"),
    };
    assert!(e.contains("NAS-Bench-201") && e.contains("evaluators[0]"), "{e}");
    let ok_cfg = format!(
        "{base}[[evaluators]]\nkind = \"systolic\"\nrows = 32\ncols = 32\ndataflow = \"os\"\n\
         technology = {{ name = \"mine\", int_ref_bits = 8, int_mult_pj = 0.2, int_add_pj = 0.03, fp32_mult_pj = 3.7, \
         fp32_add_pj = 0.9, rf_pj_per_bit = 0.1, noc_pj_per_bit = 0.2, buffer_pj_per_bit = 0.3, dram_pj_per_bit = 30.0 }}\n"
    );
    let cfg = ExperimentConfig::from_toml(&ok_cfg, "t.toml").expect("a custom technology is accepted");
    let plan = cfg.plan("t.toml", &registry).expect("plan");
    assert!(plan.provided_metrics().contains(&nas_core::Metric::EnergyMj));
}
