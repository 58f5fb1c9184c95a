//! `hwnas train`: a front member of the built-in default (shortened) trained
//! longer than the search did, killed with SIGKILL part-way and continued by
//! running the command again, its accuracy above the search's, its weights
//! then exported to ONNX (checked in tract); `hwnas export --onnx --train`
//! trains what has no kept weights; `hwnas train ARCH --config`; bad input.

use crate::onnx_export::{check_exports, fails, hwnas, ok, run, short_default};
use experiments::train_cmd::RetrainReport;
use std::path::Path;
use std::time::{Duration, Instant};

fn report(dir: &Path) -> RetrainReport {
    let text = std::fs::read_to_string(dir.join("retrained/report.json")).expect("retrained/report.json");
    serde_json::from_str(&text).expect("report parses")
}

/// The trial index and arch id of the front member with the lowest accuracy
/// (the one the search's short training left the most room to improve).
fn weakest_front_member(dir: &Path) -> (usize, String) {
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("pareto.json")).expect("pareto")).expect("json");
    let front = p["front"].as_array().expect("front");
    let m = front
        .iter()
        .min_by(|a, b| a["metrics"]["accuracy"].as_f64().partial_cmp(&b["metrics"]["accuracy"].as_f64()).expect("acc"))
        .expect("a front member");
    (m["trial"].as_u64().expect("trial") as usize, m["arch_id"].as_str().expect("id").to_string())
}

#[test]
fn a_front_member_retrains_longer_survives_a_kill_and_exports_its_retrained_weights() {
    let (_tmp, dir) = run("default", &short_default());
    let (trial, id) = weakest_front_member(&dir);
    let epochs = "6";

    // Start, and SIGKILL once the checkpoint of epoch 2 is on disk.
    let ckpt = dir.join(format!("retrained/{id}.ckpt/epoch-002/state.json"));
    let mut child = hwnas()
        .args(["train", dir.to_str().expect("utf-8"), "--arch", &trial.to_string(), "--epochs", epochs, "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("hwnas train starts");
    let start = Instant::now();
    while !ckpt.is_file() {
        assert!(child.try_wait().expect("poll").is_none(), "hwnas train ended before its second epoch");
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint after 5 minutes");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert!(!dir.join(format!("retrained/{id}.bpk")).exists(), "killed before the end: no final record");

    // The same command again continues from the newest checkpoint.
    let out =
        ok(hwnas().args(["train", dir.to_str().expect("utf-8"), "--arch", &trial.to_string(), "--epochs", epochs]));
    assert!(out.contains("continuing from the checkpoint of epoch"), "{out}");
    assert!(!dir.join(format!("retrained/{id}.ckpt")).exists(), "checkpoints are removed once done");
    let r = report(&dir);
    assert_eq!(r.entries.len(), 1);
    let e = &r.entries[0];
    assert_eq!((e.arch_id.as_str(), e.trial, e.epochs), (id.as_str(), Some(trial), 6));
    assert_eq!(e.history.iter().map(|h| h.epoch).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
    let search = e.search.as_ref().expect("the search's training is known");
    assert_eq!(search.epochs, 1);
    assert!(
        e.val_accuracy > search.val_accuracy,
        "6 epochs ({:.2}%) should beat the search's 1 ({:.2}%)",
        e.val_accuracy,
        search.val_accuracy
    );
    assert_eq!(e.improvement, Some(e.val_accuracy - search.val_accuracy));
    let info = nas_core::train::read_info(&dir.join(&e.weights_file)).expect("sidecar");
    assert_eq!((info.epochs, info.val_accuracy), (6, e.val_accuracy));
    // The table printed names the gain.
    assert!(out.contains(&format!("{:+.2}", e.val_accuracy - search.val_accuracy)), "{out}");

    // Asked again: nothing to do.
    let again = ok(hwnas().args(["train", dir.to_str().expect("utf-8"), "--arch", &id, "--epochs", epochs]));
    assert!(again.contains("already retrained for 6 epochs"), "{again}");

    // Export prefers the retrained weights (and tract runs them like burn).
    ok(hwnas().args(["export", dir.to_str().expect("utf-8"), "--onnx", "--arch", &trial.to_string()]));
    let manifest = check_exports(&dir, true);
    let exported = manifest.iter().find(|m| m.arch_id == id).expect("exported");
    assert!(exported.weights.starts_with("retrained (6 epochs"), "{}", exported.weights);

    // Without the search's weights, `export --onnx --train` trains the rest of the front.
    std::fs::remove_dir_all(dir.join("trained")).expect("rm trained/");
    let out = ok(hwnas().args(["export", dir.to_str().expect("utf-8"), "--onnx", "--train", "--epochs", "2", "-q"]));
    let manifest = check_exports(&dir, true);
    let front: Vec<_> = manifest.iter().filter(|m| m.file.starts_with("onnx/0")).collect();
    assert_eq!(front.len(), crate::onnx_export::front_size(&dir), "{out}");
    assert!(front.iter().all(|m| m.weights.starts_with("retrained")), "{front:?}");
    let r = report(&dir);
    assert_eq!(r.entries.len(), front.len(), "the retrained member stays, the others join");
    assert!(r.entries.iter().all(|e| e.epochs == if e.arch_id == id { 6 } else { 2 }), "{r:?}");
}

#[test]
fn an_architecture_trains_by_its_notation_and_bad_requests_say_what_to_do() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("short.toml");
    std::fs::write(&cfg, short_default()).expect("config");
    let out = tmp.path().join("one");
    let arch = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|";
    let printed = ok(hwnas().args(["train", arch, "--epochs", "5", "-q", "--config"]).arg(&cfg).arg("--out").arg(&out));
    let r = report(&out);
    assert_eq!(r.entries.len(), 1);
    let e = &r.entries[0];
    assert_eq!((e.arch.as_str(), e.trial, e.epochs, e.train_images), (arch, None, 5, 512));
    assert!(e.val_accuracy > 30.0, "well above chance (10 classes): {}", e.val_accuracy);
    assert!(out.join(&e.weights_file).is_file() && out.join("config.toml").is_file());
    assert!(printed.contains(&e.arch_id), "{printed}");

    // A bad notation names itself; so does a run directory without a `train` evaluator.
    let err = fails(hwnas().args(["train", "|conv_9x9~0|", "--config"]).arg(&cfg).arg("--out").arg(&out));
    assert!(err.contains("|conv_9x9~0|"), "{err}");
    let fixture = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/run-before-provenance"));
    let err = fails(hwnas().arg("train").arg(fixture).arg("--front"));
    assert!(err.contains("no `train` evaluator") && err.contains("--config"), "{err}");
    let err = fails(hwnas().arg("train").arg(fixture));
    assert!(err.contains("--front") && err.contains("--arch"), "{err}");
    let err = fails(hwnas().arg("train").arg(fixture).args(["--arch", "9999"]));
    assert!(err.contains("no `train` evaluator") || err.contains("--arch 9999"), "{err}");
    let err = fails(hwnas().arg("train").arg(tmp.path()));
    assert!(err.contains("not a run directory"), "{err}");
    let err = fails(hwnas().args(["train", arch, "--epochs", "0", "--config"]).arg(&cfg).arg("--out").arg(&out));
    assert!(err.contains("--epochs must be >= 1"), "{err}");
}
