//! `hwnas export RUN_DIR --onnx`: one `.onnx` file per front member (or per
//! `--arch`) with its kept trained weights, or its initialised ones with
//! `--untrained`, in `onnx/` of the run with `onnx/manifest.json`.

use crate::kept_weights::{find_weights, select_trials};
use crate::rundir::{LogMode, RunMeta, recover_trials, write_atomic};
use crate::runner::run_config;
use crate::setup::{Build, Setup};
use anyhow::{Context, Result, anyhow, bail};
use nas_core::onnx::OnnxModelInfo;
use nas_core::{Registry, SearchSpace};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The folder of the ONNX files in a run directory.
pub const ONNX_DIR: &str = "onnx";

/// What `hwnas export --onnx` does.
#[derive(Clone, Debug, Default)]
pub struct OnnxExportOptions {
    /// One architecture (trial index or arch id) instead of the front.
    pub arch: Option<String>,
    /// Export initialised weights when none were kept (said so in the metadata).
    pub untrained: bool,
}

/// One written file, as listed in `onnx/manifest.json`.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct OnnxExported {
    /// The file, relative to the run directory.
    pub file: String,
    /// Architecture id.
    pub arch_id: String,
    /// Notation.
    pub arch: String,
    /// Trial index.
    pub trial: usize,
    /// Where the weights come from (`retrained`, `trained during the search`,
    /// `untrained (initialised from seed S)`).
    pub weights: String,
    /// The weights record used, relative to the run directory.
    pub weights_file: Option<String>,
    /// Trainable parameters in the graph (equal to the layer IR's).
    pub parameters: u64,
    /// Nodes in the graph.
    pub nodes: usize,
    /// Input shape `[N, C, H, W]` (`N` free).
    pub input: [usize; 3],
}

/// Images in the test vectors of each exported file.
pub const TEST_BATCH: usize = 2;

/// An input batch and burn's output for it (`onnx/<file>.test.json`).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct TestVectors {
    /// `[N, C, H, W]`.
    pub input_shape: [usize; 4],
    /// The images, row-major, uniform in [-1, 1).
    pub input: Vec<f32>,
    /// `[N, classes]`.
    pub output_shape: [usize; 2],
    /// burn's logits, row-major.
    pub output: Vec<f32>,
}

fn test_vectors(
    trainable: &dyn nas_core::train::DynTrainable<nas_core::AnyArch>,
    arch: &nas_core::AnyArch,
    weights: Option<&Path>,
    seed: u64,
    salt: u64,
) -> Result<TestVectors> {
    use burn::tensor::{Device, Tensor, TensorData};
    use rand::{Rng, SeedableRng};
    let [c, h, w] = trainable.input_chw();
    let input_shape = [TEST_BATCH, c, h, w];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(salt);
    let input: Vec<f32> = (0..input_shape.iter().product()).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let device = Device::flex();
    let net = trainable.load_forward(arch, weights, &device, seed)?;
    let y = net.forward(Tensor::<4>::from_data(TensorData::new(input.clone(), input_shape), &device));
    let [n, k] = y.dims();
    let output = y.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| anyhow!("{e:?}"))?;
    Ok(TestVectors { input_shape, input, output_shape: [n, k], output })
}

fn relative(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// Exports the selected architectures of the run in `dir` to ONNX.
pub fn export_onnx(dir: &Path, registry: &Registry, opts: &OnnxExportOptions) -> Result<Vec<OnnxExported>> {
    let cfg = run_config(dir, registry)?;
    let trials = recover_trials(dir, LogMode::Strict)?.trials;
    if trials.is_empty() {
        bail!("{} has no trials yet", dir.display());
    }
    let problem = cfg.problem();
    let selected = select_trials(&trials, &problem, opts.arch.as_deref())?;
    // The dataset fixes the networks' input shape.
    let setup = Setup::new(&cfg, registry, Build::ReportsOnly { with_data: true })?;
    let space = &setup.space;
    let trainable = space.trainable().ok_or_else(|| {
        anyhow!(
            "space `{}` builds no network, so there is nothing to export to ONNX (it needs a space with the \
             `train` capability: see `hwnas list`)",
            space.name()
        )
    })?;
    let missing: Vec<String> = selected
        .iter()
        .filter(|(_, t)| find_weights(dir, t.arch_id).is_none())
        .map(|(_, t)| format!("trial {} ({})", t.index, t.arch_id))
        .collect();
    if !missing.is_empty() && !opts.untrained {
        let which = opts.arch.as_ref().map_or(String::new(), |a| format!(" --arch {a}"));
        bail!(
            "no trained weights kept for {} in {} (the run was written before hwnas kept weights, or its \
             evaluators do not train). Either train them first: `hwnas export {dir} --onnx{which} --train` \
             (or `hwnas train {dir} {}` with a longer schedule, then export again); or export initialised \
             weights: `hwnas export {dir} --onnx{which} --untrained`",
            missing.join(", "),
            dir.display(),
            opts.arch.as_ref().map_or("--front".to_string(), |a| format!("--arch {a}")),
            dir = dir.display(),
        );
    }
    let meta: Option<RunMeta> =
        std::fs::read_to_string(dir.join("run.json")).ok().and_then(|s| serde_json::from_str(&s).ok());
    let run_id = dir.canonicalize().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    let out = dir.join(ONNX_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let manifest_path = out.join("manifest.json");
    let mut earlier: Vec<OnnxExported> =
        std::fs::read_to_string(&manifest_path).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
    if opts.arch.is_none() {
        // The front is exported afresh: the files of an earlier front go.
        for entry in std::fs::read_dir(&out).with_context(|| format!("cannot read {}", out.display()))?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(|c: char| c.is_ascii_digit()) {
                std::fs::remove_file(entry.path())?;
            }
        }
    }
    let mut written = Vec::new();
    for (rank, t) in selected {
        let arch = space.parse(&t.arch).with_context(|| format!("trial {}: {}", t.index, t.arch))?;
        let found = find_weights(dir, t.arch_id);
        let (weights, weights_file): (String, Option<PathBuf>) = match &found {
            Some((p, src)) => {
                let info = nas_core::train::read_info(p).ok();
                let how = info.map_or(src.name().to_string(), |i| {
                    format!(
                        "{} ({} epochs on {}, val accuracy {:.2}%)",
                        src.name(),
                        i.epochs,
                        i.dataset,
                        i.val_accuracy
                    )
                });
                (how, Some(p.clone()))
            }
            None => (format!("untrained (initialised from seed {})", t.seed), None),
        };
        let mut metadata = vec![
            ("hwnas_version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ("run_id".to_string(), run_id.clone().unwrap_or_default()),
            ("run_name".to_string(), cfg.name.clone()),
            ("space".to_string(), space.name().to_string()),
            ("architecture".to_string(), t.arch.clone()),
            ("arch_id".to_string(), t.arch_id.to_string()),
            ("trial".to_string(), t.index.to_string()),
            ("metrics".to_string(), serde_json::to_string(&t.metrics)?),
            ("weights".to_string(), weights.clone()),
        ];
        if let Some(c) = meta.as_ref().and_then(|m| m.git_commit.clone()) {
            metadata.push(("git_commit".to_string(), c));
        }
        let info = OnnxModelInfo {
            name: format!("{}_{}", space.name(), t.arch_id),
            input_chw: [0; 3],
            metadata,
            doc: format!("{} architecture {} exported by hwnas; weights: {weights}", space.name(), t.arch),
        };
        let model = trainable
            .export_onnx(&arch, weights_file.as_deref(), t.seed, &info)
            .with_context(|| format!("exporting trial {} ({})", t.index, t.arch))?;
        let file = match opts.arch {
            None => out.join(format!("{rank:03}_{}.onnx", t.arch_id)),
            Some(_) => out.join(format!("trial{}_{}.onnx", t.index, t.arch_id)),
        };
        write_atomic(&file, &model.bytes)?;
        // Test vectors: burn's logits on a seeded batch, for checking the file
        // in any runtime (the tests use tract, experiments/benches/onnx_check.py
        // onnxruntime).
        let vectors = test_vectors(trainable, &arch, weights_file.as_deref(), t.seed, t.arch_id.0)
            .with_context(|| format!("running trial {} in burn", t.index))?;
        write_atomic(&file.with_extension("test.json"), serde_json::to_string(&vectors)?.as_bytes())?;
        written.push(OnnxExported {
            file: relative(dir, &file),
            arch_id: t.arch_id.to_string(),
            arch: t.arch.clone(),
            trial: t.index,
            weights,
            weights_file: weights_file.as_deref().map(|p| relative(dir, p)),
            parameters: model.parameters,
            nodes: model.nodes,
            input: trainable.input_chw(),
        });
    }
    // The manifest lists every file in onnx/: this export's and the single
    // architectures exported before that are still there.
    earlier.retain(|e| dir.join(&e.file).is_file() && !written.iter().any(|w| w.file == e.file));
    let mut manifest = earlier;
    manifest.extend(written.iter().cloned());
    manifest.sort_by(|a, b| a.file.cmp(&b.file));
    write_atomic(&manifest_path, serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    Ok(written)
}
