//! Run directories: the resolved config, the trial log and the result files.
//!
//! Layout:
//! ```text
//! RUN_DIR/config.toml      resolved config (what `hwnas resume` re-reads)
//! RUN_DIR/run.json         metadata: version, seed, status, timings
//! RUN_DIR/trials.jsonl     one line per finished trial, appended and flushed
//! RUN_DIR/pareto.json      the final Pareto front
//! RUN_DIR/pareto.svg|png   all trials, the front highlighted, constraints drawn
//! RUN_DIR/hypervolume.svg  hypervolume against evaluations
//! RUN_DIR/export/          one JSON file per front architecture
//! ```
//! Every file but the trial log is written atomically (temporary file + rename).

use anyhow::{Context, Result, bail};
use nas_core::Trial;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Metadata of a run (`run.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunMeta {
    /// hwnas version that produced the run.
    pub hwnas_version: String,
    /// Experiment name.
    pub name: String,
    /// Run seed.
    pub seed: u64,
    /// `running` or `finished`.
    pub status: String,
    /// Distinct trials recorded.
    pub trials: usize,
    /// Budget.
    pub budget: usize,
    /// Why it stopped (when finished).
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Unix time the run (first) started.
    pub started_unix: u64,
    /// Unix time it last finished.
    #[serde(default)]
    pub finished_unix: Option<u64>,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Writes `bytes` to `path` atomically: the project's one atomic write.
pub use nas_core::fsutil::write_atomic;

/// An open run directory.
pub struct RunDir {
    root: PathBuf,
    log: Mutex<File>,
}

impl RunDir {
    /// Path of the trial log.
    pub fn trials_path(root: &Path) -> PathBuf {
        root.join("trials.jsonl")
    }

    /// Refuses a directory that already holds a run (its trials would be mixed).
    pub fn check_new(root: &Path) -> Result<()> {
        if Self::trials_path(root).exists() {
            bail!(
                "{} already holds a run (trials.jsonl exists); use `hwnas resume {}` or choose another --out",
                root.display(),
                root.display()
            );
        }
        Ok(())
    }

    /// Creates a new run directory; refuses to overwrite one that holds trials.
    pub fn create(root: &Path, config_toml: &str) -> Result<Self> {
        Self::check_new(root)?;
        std::fs::create_dir_all(root).with_context(|| format!("cannot create run directory {}", root.display()))?;
        write_atomic(&root.join("config.toml"), config_toml.as_bytes())?;
        Self::open(root)
    }

    /// Opens an existing run directory for appending.
    pub fn open(root: &Path) -> Result<Self> {
        let path = Self::trials_path(root);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(RunDir { root: root.to_path_buf(), log: Mutex::new(log) })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Appends one trial as a JSON line and flushes it to disk.
    pub fn append(&self, trial: &Trial) -> Result<()> {
        let mut line = serde_json::to_string(trial).context("cannot serialise trial")?;
        line.push('\n');
        let mut f = self.log.lock().map_err(|_| anyhow::anyhow!("trial log lock poisoned"))?;
        f.write_all(line.as_bytes())
            .and_then(|_| f.sync_data())
            .with_context(|| format!("cannot append to {}", Self::trials_path(&self.root).display()))
    }

    /// Writes `run.json`.
    pub fn write_meta(&self, meta: &RunMeta) -> Result<()> {
        Ok(write_atomic(&self.root.join("run.json"), serde_json::to_string_pretty(meta)?.as_bytes())?)
    }
}

/// Reads `run.json`.
pub fn read_meta(root: &Path) -> Result<RunMeta> {
    let p = root.join("run.json");
    let text = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid run metadata", p.display()))
}

/// Reads the trial log. A last line cut off by a crash is dropped (that trial is
/// simply evaluated again); a malformed line elsewhere is an error naming it.
pub fn read_trials(root: &Path) -> Result<Vec<Trial>> {
    let path = RunDir::trials_path(root);
    let f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let lines: Vec<String> = BufReader::new(f)
        .lines()
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    let n = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Trial>(line) {
            Ok(t) => out.push(t),
            Err(_) if i + 1 == n => break,
            Err(e) => bail!("{}:{}: malformed trial record: {e}", path.display(), i + 1),
        }
    }
    Ok(out)
}

/// Rewrites the trial log without a torn last line, so appends start on a fresh line.
pub fn repair_log(root: &Path, trials: &[Trial]) -> Result<()> {
    let mut text = String::new();
    for t in trials {
        text.push_str(&serde_json::to_string(t)?);
        text.push('\n');
    }
    Ok(write_atomic(&RunDir::trials_path(root), text.as_bytes())?)
}
