//! `hwnas export RUN_DIR --onnx`: one ONNX file per front member with the
//! weights the search trained, read and run by a second runtime (tract) with
//! outputs matching burn's within 1e-4, parameter counts equal to the layer IR's,
//! metadata naming the architecture, metrics, version and run; runs without
//! kept weights and unknown architectures get messages naming the way out.

use burn::tensor::{Device, Tensor as BurnTensor, TensorData};
use experiments::onnx_cmd::{OnnxExported, TestVectors};
use experiments::setup::{Build, Setup};
use nas_core::{SearchSpace, ToNetworkSpec};
use prost::Message;
use std::path::{Path, PathBuf};
use std::process::Command;
use tract_onnx::prelude::*;

pub(crate) fn hwnas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hwnas-under-test"))
}

pub(crate) fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("hwnas runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

pub(crate) fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().expect("hwnas runs");
    assert!(!out.status.success(), "{cmd:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The built-in default, shortened: the same space, dataset, evaluators and
/// strategy, fewer and shorter trainings.
pub(crate) fn short_default() -> String {
    experiments::config::DEFAULT_CONFIG
        .replace("budget = 16", "budget = 4")
        .replace("epochs = 2", "epochs = 1")
        .replace("max_train_samples = 3000", "max_train_samples = 512")
        .replace("max_val_samples = 1000", "max_val_samples = 200")
}

pub(crate) fn run(name: &str, config: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = tmp.path().join(format!("{name}.toml"));
    std::fs::write(&cfg, config).expect("config");
    let dir = tmp.path().join("run");
    ok(hwnas().arg("run").arg(&cfg).arg("--out").arg(&dir).arg("--quiet"));
    (tmp, dir)
}

fn tract_logits(path: &Path, input: &[f32], shape: [usize; 4]) -> Vec<f32> {
    let model = tract_onnx::onnx()
        .model_for_path(path)
        .unwrap_or_else(|e| panic!("tract reads {}: {e:?}", path.display()))
        .with_input_fact(0, f32::fact(shape).into())
        .expect("input fact")
        .into_optimized()
        .expect("tract optimises the graph")
        .into_runnable()
        .expect("plan");
    let x: Tensor = tract_ndarray::Array4::from_shape_vec(shape, input.to_vec()).expect("shape").into();
    let out = model.run(tvec!(x.into())).expect("tract runs the graph");
    out[0].to_plain_array_view::<f32>().expect("f32 logits").iter().copied().collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Checks every file of `dir`'s manifest; returns the manifest.
pub(crate) fn check_exports(dir: &Path, expect_trained: bool) -> Vec<OnnxExported> {
    let manifest: Vec<OnnxExported> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("onnx/manifest.json")).expect("manifest"))
            .expect("manifest parses");
    let registry = experiments::registry::builtin();
    let cfg = experiments::runner::run_config(dir, &registry).expect("config");
    let setup = Setup::new(&cfg, &registry, Build::ReportsOnly { with_data: true }).expect("setup");
    let trainable = setup.space.trainable().expect("a space with networks");
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).expect("run.json")).expect("json");
    for e in &manifest {
        let path = dir.join(&e.file);
        let bytes = std::fs::read(&path).expect("onnx file");
        // Metadata: architecture, metrics, version, run.
        let proto = tract_onnx::pb::ModelProto::decode(bytes.as_slice()).expect("protobuf");
        let meta: std::collections::HashMap<String, String> =
            proto.metadata_props.iter().map(|p| (p.key.clone(), p.value.clone())).collect();
        assert_eq!(meta["architecture"], e.arch);
        assert_eq!(meta["arch_id"], e.arch_id);
        assert_eq!(meta["hwnas_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(meta["run_id"], dir.canonicalize().expect("dir").file_name().expect("name").to_string_lossy());
        assert_eq!(meta["run_name"], run_json["name"].as_str().expect("name"));
        let metrics: serde_json::Value = serde_json::from_str(&meta["metrics"]).expect("metrics json");
        assert!(metrics.get("accuracy").is_some(), "{metrics}");
        assert_eq!(meta["weights"].starts_with("untrained"), !expect_trained, "{}", meta["weights"]);
        assert_eq!(e.weights_file.is_some(), expect_trained);

        // The exported graph's parameters are the layer IR's.
        let arch = setup.space.parse(&e.arch).expect("arch");
        let spec = setup.space.network_spec(&arch);
        assert_eq!(e.parameters, spec.params(), "{}", e.arch);

        // tract on the stored test vectors (burn's logits at export time)...
        let v: TestVectors =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("test.json")).expect("test vectors"))
                .expect("vectors parse");
        let got = tract_logits(&path, &v.input, v.input_shape);
        let d = max_diff(&got, &v.output);
        assert!(d <= 1e-4, "{}: max |tract - burn| = {d}", e.file);

        // ...and on a fresh batch against burn here, with the kept weights.
        let shape = v.input_shape;
        let n: usize = shape.iter().product();
        let input: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
        let seed = std::fs::read_to_string(dir.join("trials.jsonl"))
            .expect("trials")
            .lines()
            .filter_map(|l| serde_json::from_str::<nas_core::Trial>(l).ok())
            .find(|t| t.arch_id.to_string() == e.arch_id)
            .expect("trial")
            .seed;
        let device = Device::flex();
        let net = trainable
            .load_forward(&arch, e.weights_file.as_ref().map(|f| dir.join(f)).as_deref(), &device, seed)
            .expect("burn network");
        let burn_out: Vec<f32> = net
            .forward(BurnTensor::<4>::from_data(TensorData::new(input.clone(), shape), &device))
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32");
        let d = max_diff(&tract_logits(&path, &input, shape), &burn_out);
        assert!(d <= 1e-4, "{}: max |tract - burn| = {d} on a fresh batch", e.file);
    }
    manifest
}

pub(crate) fn front_size(dir: &Path) -> usize {
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("pareto.json")).expect("pareto")).expect("json");
    p["front"].as_array().expect("front").len()
}

#[test]
fn the_default_run_exports_its_front_to_onnx_that_tract_runs_like_burn() {
    let (_tmp, dir) = run("default", &short_default());
    // The run kept the trained weights of its front, and only those.
    let kept = std::fs::read_dir(dir.join("trained")).expect("trained/").count();
    assert_eq!(kept, 2 * front_size(&dir), "a .bpk and a .json per front member");
    ok(hwnas().arg("export").arg(&dir).arg("--onnx"));
    let manifest = check_exports(&dir, true);
    assert_eq!(manifest.len(), front_size(&dir));
    assert!(manifest.iter().all(|e| e.weights.starts_with("trained during the search")), "{manifest:?}");
}

#[test]
fn a_darts_run_exports_to_onnx_that_tract_runs_like_burn() {
    let config =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../experiments/configs/darts-digits.toml"))
            .expect("darts config")
            .replace("budget = 8", "budget = 3")
            .replace("epochs = 2", "epochs = 1");
    let (_tmp, dir) = run("darts", &config);
    ok(hwnas().arg("export").arg(&dir).arg("--onnx"));
    let manifest = check_exports(&dir, true);
    assert_eq!(manifest.len(), front_size(&dir));
}

#[test]
fn a_run_from_before_kept_weights_exports_untrained_and_says_how_to_get_trained_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("old");
    std::fs::create_dir(&dir).expect("dir");
    let fixture = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/run-before-provenance"));
    for f in std::fs::read_dir(fixture).expect("fixture").flatten() {
        std::fs::copy(f.path(), dir.join(f.file_name())).expect("copy");
    }
    let err = fails(hwnas().arg("export").arg(&dir).arg("--onnx"));
    assert!(err.contains("no trained weights kept"), "{err}");
    assert!(err.contains("hwnas train") && err.contains("--untrained"), "the two ways out: {err}");
    assert!(!dir.join("onnx").exists() || std::fs::read_dir(dir.join("onnx")).expect("onnx").count() == 0);

    let err = fails(hwnas().arg("export").arg(&dir).arg("--onnx").arg("--arch").arg("9999"));
    assert!(err.contains("--arch 9999: not in this run (20 trials)"), "{err}");

    ok(hwnas().arg("export").arg(&dir).arg("--onnx").arg("--untrained"));
    let front = check_exports(&dir, false);
    assert_eq!(front.len(), front_size(&dir));
    // One more architecture by trial index joins the manifest.
    ok(hwnas().arg("export").arg(&dir).arg("--onnx").arg("--untrained").arg("--arch").arg("0"));
    let all = check_exports(&dir, false);
    assert_eq!(all.len(), front.len() + usize::from(!front.iter().any(|e| e.trial == 0)));
}
