//! Trained weights kept on disk: a burn record (`<arch id>.bpk`) and, beside it,
//! how the network was trained (`<arch id>.json`, [`WeightsInfo`]).
//!
//! Both are written aside and renamed, so a file is complete or absent; the
//! record is written first, so a sidecar always describes a complete record.

use super::trainer::TrainConfig;
use crate::error::NasError;
use crate::fsutil::write_atomic;
use burn::module::Module;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How a kept network was trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightsInfo {
    /// The architecture, in its space's notation.
    pub arch: String,
    /// Its id (hex).
    pub arch_id: crate::ArchId,
    /// The seed of its initialisation and data order.
    pub seed: u64,
    /// Epochs trained.
    pub epochs: usize,
    /// The training dataset.
    pub dataset: String,
    /// The burn backend.
    pub backend: String,
    /// The training settings.
    pub training: TrainConfig,
    /// Validation accuracy (%) after training.
    pub val_accuracy: f64,
    /// Validation cross-entropy after training.
    pub val_loss: f64,
    /// The hwnas version that trained it.
    pub hwnas_version: String,
}

/// The sidecar of a record: `x.bpk` -> `x.json`.
pub fn info_path(record: &Path) -> PathBuf {
    record.with_extension("json")
}

/// Saves `model` at `record` and `info` beside it.
pub fn save_weights<M: Module>(model: &M, record: &Path, info: &WeightsInfo) -> Result<(), NasError> {
    let dir = record.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| NasError::io(dir, e))?;
    let tmp = record.with_extension("partial.bpk");
    model.clone().save_file(&tmp).map_err(|e| NasError::Backend(format!("cannot write {}: {e:?}", tmp.display())))?;
    std::fs::rename(&tmp, record).map_err(|e| NasError::io(record, e))?;
    let json = serde_json::to_string_pretty(info).map_err(|e| NasError::Backend(e.to_string()))?;
    write_atomic(&info_path(record), json.as_bytes())
}

/// Reads the sidecar of `record`.
pub fn read_info(record: &Path) -> Result<WeightsInfo, NasError> {
    let path = info_path(record);
    let text = std::fs::read_to_string(&path).map_err(|e| NasError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| NasError::Format { path: path.clone(), line: 0, reason: e.to_string() })
}

/// Loads `record` into `model` (built for the same architecture), naming the
/// file when it does not fit.
pub fn load_weights<M: Module>(model: M, record: &Path) -> Result<M, NasError> {
    if !record.exists() {
        return Err(NasError::io(record, std::io::Error::from(std::io::ErrorKind::NotFound)));
    }
    model.try_load_file(record).map_err(|e| {
        NasError::Backend(format!(
            "cannot load the weights {}: {e:?} (a record of another architecture or space setting?)",
            record.display()
        ))
    })
}
