//! Run directories: the resolved config, the trial log and the result files.
//!
//! Layout:
//! ```text
//! RUN_DIR/config.toml      resolved config (what `hwnas resume` re-reads)
//! RUN_DIR/run.json         metadata: version, seed, status, timings
//! RUN_DIR/trials.jsonl     one line per finished trial, appended and flushed
//! RUN_DIR/trials.rejected.jsonl  damaged log lines moved aside by resume/plot
//! RUN_DIR/pareto.json      the final Pareto front
//! RUN_DIR/pareto.svg|png   all trials, the front highlighted, constraints drawn
//! RUN_DIR/hypervolume.svg  hypervolume against evaluations
//! RUN_DIR/export/          one JSON file per front architecture
//! ```
//! Every file but the trial log is written atomically (temporary file + rename).

use anyhow::{Context, Result, bail};
use nas_core::Trial;
use nas_core::trial_log::{DamagedLine, parse_trial_log, trial_log_text};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
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
    /// The git commit of the hwnas build that started the run, where known
    /// (absent in runs written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// The machine that started the run (`latency_lut::DeviceFingerprint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<serde_json::Value>,
    /// The study name when the run directory was made as a study of a trial
    /// store (`hwnas study export`, the JSONL store); else the directory's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<String>,
}

impl RunMeta {
    /// A new run's metadata, with this build's version and commit and this
    /// machine's fingerprint.
    pub fn new(name: &str, seed: u64, budget: usize, trials: usize) -> Self {
        let device = latency_lut::DeviceFingerprint::current(&latency_lut::Protocol::default());
        RunMeta {
            hwnas_version: env!("CARGO_PKG_VERSION").into(),
            name: name.into(),
            seed,
            status: "running".into(),
            trials,
            budget,
            stop_reason: None,
            started_unix: unix_now(),
            finished_unix: None,
            git_commit: option_env!("HWNAS_GIT_COMMIT").filter(|c| !c.is_empty()).map(String::from),
            device: serde_json::to_value(device).ok(),
            study: None,
        }
    }
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
        write_meta(&self.root, meta)
    }
}

/// Writes `run.json` of the run directory `root` (atomically).
pub fn write_meta(root: &Path, meta: &RunMeta) -> Result<()> {
    Ok(write_atomic(&root.join("run.json"), serde_json::to_string_pretty(meta)?.as_bytes())?)
}

/// Reads `run.json`.
pub fn read_meta(root: &Path) -> Result<RunMeta> {
    let p = root.join("run.json");
    let text = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid run metadata", p.display()))
}

/// How damaged lines of a trial log are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogMode {
    /// Move damaged lines to `trials.rejected.jsonl` (with their line numbers
    /// and the reason), keep the rest; the damaged trials are evaluated again.
    #[default]
    Recover,
    /// Refuse a log with a damaged line anywhere but a torn last line (`--strict`).
    Strict,
}

/// A trial log as read for `resume` and `plot`.
#[derive(Clone, Debug, Default)]
pub struct RecoveredLog {
    /// The usable trials.
    pub trials: Vec<Trial>,
    /// The lines moved to `trials.rejected.jsonl` (a torn last line included).
    pub quarantined: Vec<DamagedLine>,
}

impl RecoveredLog {
    /// What was done, for the user; `None` when the log was whole.
    pub fn message(&self, root: &Path) -> Option<String> {
        if self.quarantined.is_empty() {
            return None;
        }
        let lines: Vec<String> = self.quarantined.iter().map(|d| format!("line {}: {}", d.line, d.reason)).collect();
        Some(format!(
            "{} damaged line(s) of {} moved to {} (those trials are evaluated again on resume):\n  {}",
            self.quarantined.len(),
            RunDir::trials_path(root).display(),
            rejected_path(root).display(),
            lines.join("\n  ")
        ))
    }
}

/// Path of the quarantine file for damaged trial-log lines.
pub fn rejected_path(root: &Path) -> PathBuf {
    root.join("trials.rejected.jsonl")
}

fn read_log_bytes(root: &Path) -> Result<Vec<u8>> {
    let path = RunDir::trials_path(root);
    match std::fs::read(&path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn damaged_error(root: &Path, d: &DamagedLine, hint: &str) -> anyhow::Error {
    anyhow::anyhow!("{}:{}: {}; {hint}", RunDir::trials_path(root).display(), d.line, d.reason)
}

/// Reads the trial log without changing it. A last line cut off by a crash is
/// dropped (that trial is simply evaluated again); a damaged line elsewhere is
/// an error naming it and saying how to recover. The trials come in search
/// order (their `index`), whatever order parallel evaluations finished in.
pub fn read_trials(root: &Path) -> Result<Vec<Trial>> {
    let log = parse_trial_log(&read_log_bytes(root)?);
    if let Some(d) = log.damaged_inside().first() {
        return Err(damaged_error(
            root,
            d,
            &format!("run `hwnas plot {}` to move damaged lines to trials.rejected.jsonl", root.display()),
        ));
    }
    // Parallel evaluations are logged as they finish; their index is the
    // deterministic order of the search.
    let mut trials = log.trials;
    trials.sort_by_key(|t| t.index);
    Ok(trials)
}

/// Reads the trial log for `resume` or `plot`. In [`LogMode::Recover`] damaged
/// lines are appended to `trials.rejected.jsonl` (line number, reason, text)
/// and the log is rewritten atomically without them; in [`LogMode::Strict`] a
/// damaged line other than a torn last line is an error. Either way a torn last
/// line is dropped (and, when recovering, quarantined too).
pub fn recover_trials(root: &Path, mode: LogMode) -> Result<RecoveredLog> {
    let bytes = read_log_bytes(root)?;
    let log = parse_trial_log(&bytes);
    if mode == LogMode::Strict
        && let Some(d) = log.damaged_inside().first()
    {
        return Err(damaged_error(root, d, "without --strict the damaged lines are moved to trials.rejected.jsonl"));
    }
    if log.damaged.is_empty() {
        return Ok(RecoveredLog { trials: log.trials, quarantined: Vec::new() });
    }
    // Quarantine first, then rewrite: a crash in between leaves the damaged lines
    // in both files, never in neither.
    let mut rejected = std::fs::read(rejected_path(root)).unwrap_or_default();
    if rejected.last().is_some_and(|&b| b != b'\n') {
        rejected.push(b'\n');
    }
    let now = unix_now();
    for d in &log.damaged {
        let entry = serde_json::json!({ "line": d.line, "reason": d.reason, "text": d.text, "quarantined_unix": now });
        rejected.extend_from_slice(entry.to_string().as_bytes());
        rejected.push(b'\n');
    }
    write_atomic(&rejected_path(root), &rejected)?;
    write_atomic(&RunDir::trials_path(root), trial_log_text(&log.trials).as_bytes())?;
    Ok(RecoveredLog { trials: log.trials, quarantined: log.damaged })
}
