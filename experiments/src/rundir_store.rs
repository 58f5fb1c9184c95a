//! The run directory as a trial store: the JSONL backend of
//! [`trial_store::TrialStore`], for one process. Told trials are the lines of
//! `trials.jsonl` (appended and flushed to disk one by one, as every run has
//! always written them); the study is the run (`config.toml`, `run.json`;
//! its name is the directory's). Submissions, claims and leases live in this
//! process's memory only: other processes cannot join, so `hwnas worker`
//! refuses this backend and names the shared ones.
//!
//! Every run goes through it (the runner records told trials here), and
//! `hwnas study import` / `export` copy studies between it and a shared store.

use crate::rundir::{LogMode, RunDir, RunMeta, read_meta, recover_trials, unix_now, write_atomic};
use nas_core::{ArchId, Trial, TrialStatus};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trial_store::{
    Claim, Counts, EvalRequest, NewStudy, Outcome, Result, StoreError, Study, StudyStatus, TrialState, TrialStore,
};

/// The one study id of a run directory.
const STUDY_ID: i64 = 1;

/// A trial submitted in this process and not told yet.
struct Pending {
    id: i64,
    arch: String,
    seed: u64,
    state: TrialState,
    attempts: i64,
    worker: String,
    lease_until: Option<Instant>,
    outcome: Option<Outcome>,
}

/// The told trials: one per index (a multi-fidelity run tells an
/// architecture once per rung), the latest index per architecture.
#[derive(Default)]
struct Told {
    by_index: BTreeMap<usize, Trial>,
    latest: HashMap<ArchId, usize>,
}

impl Told {
    fn get(&self, arch: &ArchId) -> Option<&Trial> {
        self.latest.get(arch).and_then(|i| self.by_index.get(i))
    }

    fn contains(&self, arch: &ArchId) -> bool {
        self.latest.contains_key(arch)
    }

    /// Adds `t`; true when it replaced a trial of the same index.
    fn insert(&mut self, t: Trial) -> bool {
        let latest = self.latest.entry(t.arch_id).or_insert(t.index);
        *latest = (*latest).max(t.index);
        self.by_index.insert(t.index, t).is_some()
    }
}

#[derive(Default)]
struct State {
    /// Submitted, by architecture.
    live: HashMap<ArchId, Pending>,
    /// Told trials (the log), by architecture; read on first use.
    told: Option<Told>,
    next_id: i64,
}

/// A run directory opened as a trial store (see the module docs).
pub struct RunDirStore {
    root: PathBuf,
    log: Mutex<Option<RunDir>>,
    state: Mutex<State>,
}

fn io(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io { path: path.to_path_buf(), source: std::io::Error::other(e.to_string()) }
}

/// The study name a run directory has: its folder name, in the study-name alphabet.
pub fn study_name_of(root: &Path) -> String {
    let base = root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| root.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "run".into());
    let name: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' }).collect();
    let name: String = name.trim_start_matches(['.', '-']).chars().take(64).collect();
    if name.is_empty() { "run".into() } else { name }
}

impl RunDirStore {
    /// The run directory `root` (existing, or where [`TrialStore::create_study`]
    /// will make one).
    pub fn open(root: &Path) -> Self {
        RunDirStore { root: root.to_path_buf(), log: Mutex::new(None), state: Mutex::new(State::default()) }
    }

    /// The store over a run directory already open for appending.
    pub fn over(dir: RunDir) -> Self {
        RunDirStore { root: dir.root().to_path_buf(), log: Mutex::new(Some(dir)), state: Mutex::new(State::default()) }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The run's study, when the directory holds a run.
    pub fn this_study(&self) -> Result<Option<Study>> {
        let cfg_path = self.root.join("config.toml");
        let config = match std::fs::read_to_string(&cfg_path) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::Io { path: cfg_path, source: e }),
        };
        let meta = read_meta(&self.root).ok();
        let seed = meta.as_ref().map(|m| m.seed).unwrap_or_else(|| seed_of(&config));
        let status = match meta.as_ref().map(|m| m.status.as_str()) {
            Some("finished") => StudyStatus::Finished,
            _ => StudyStatus::Running,
        };
        let provenance = serde_json::json!({
            "hwnas_version": meta.as_ref().map(|m| m.hwnas_version.clone()),
            "git_commit": meta.as_ref().and_then(|m| m.git_commit.clone()),
            "device": meta.as_ref().and_then(|m| m.device.clone()),
            "run_dir": self.root.canonicalize().unwrap_or_else(|_| self.root.clone()),
        });
        Ok(Some(Study {
            id: STUDY_ID,
            name: meta.as_ref().and_then(|m| m.study.clone()).unwrap_or_else(|| study_name_of(&self.root)),
            config,
            seed,
            status,
            provenance,
            created_ms: meta.map_or(0, |m| m.started_unix as i64 * 1000),
        }))
    }

    fn check(&self, study: i64) -> Result<()> {
        if study == STUDY_ID {
            Ok(())
        } else {
            Err(StoreError::NoStudy { name: format!("#{study}"), location: self.location() })
        }
    }

    /// Runs `f` on the state, the told trials loaded.
    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut st = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if st.told.is_none() {
            let trials = recover_trials(&self.root, LogMode::Strict)
                .map_err(|e| io(&RunDir::trials_path(&self.root), format!("{e:#}")))?
                .trials;
            let mut told = Told::default();
            for t in trials {
                told.insert(t);
            }
            st.told = Some(told);
        }
        f(&mut st)
    }
}

/// `seed = N` of a config's text (0 when absent).
fn seed_of(config: &str) -> u64 {
    toml::from_str::<toml::Table>(config)
        .ok()
        .and_then(|t| t.get("seed").and_then(toml::Value::as_integer))
        .map_or(0, |s| s as u64)
}

fn outcome_of(t: &Trial) -> Outcome {
    let worker = t.worker.clone().unwrap_or_default();
    match t.status {
        TrialStatus::Ok => Outcome::Ok { metrics: t.metrics.clone(), eval_seconds: t.eval_seconds, worker },
        _ => Outcome::Failed { reason: t.reason.clone().unwrap_or_default(), eval_seconds: t.eval_seconds, worker },
    }
}

impl TrialStore for RunDirStore {
    fn backend(&self) -> &'static str {
        "jsonl"
    }

    fn location(&self) -> String {
        format!("jsonl:{}", self.root.display())
    }

    fn create_study(&self, new: &NewStudy) -> Result<Study> {
        trial_store::validate_study_name(&new.name)?;
        if RunDir::trials_path(&self.root).exists() {
            let name = self.this_study()?.map_or_else(|| study_name_of(&self.root), |s| s.name);
            return Err(StoreError::StudyExists { name, location: self.location() });
        }
        let table = toml::from_str::<toml::Table>(&new.config).unwrap_or_default();
        let name = table.get("name").and_then(toml::Value::as_str).map_or_else(|| new.name.clone(), String::from);
        let budget = table.get("budget").and_then(toml::Value::as_integer).unwrap_or(0) as usize;
        let dir = RunDir::create(&self.root, &new.config).map_err(|e| io(&self.root, format!("{e:#}")))?;
        let meta = RunMeta { study: Some(new.name.clone()), ..RunMeta::new(&name, new.seed, budget, 0) };
        dir.write_meta(&meta).map_err(|e| io(&self.root, format!("{e:#}")))?;
        *self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(dir);
        self.this_study()?.ok_or_else(|| io(&self.root, "the run directory vanished"))
    }

    fn study(&self, name: &str) -> Result<Option<Study>> {
        trial_store::validate_study_name(name)?;
        Ok(self.this_study()?.filter(|s| s.name == name))
    }

    fn studies(&self) -> Result<Vec<Study>> {
        Ok(self.this_study()?.into_iter().collect())
    }

    fn set_status(&self, study: i64, status: StudyStatus) -> Result<()> {
        self.check(study)?;
        let path = self.root.join("run.json");
        let mut meta = read_meta(&self.root).map_err(|e| io(&path, format!("{e:#}")))?;
        meta.status = status.as_str().into();
        meta.trials = self.with_state(|st| Ok(st.told.as_ref().map_or(0, |t| t.by_index.len())))?;
        if status == StudyStatus::Finished {
            meta.finished_unix = Some(unix_now());
        }
        let text = serde_json::to_string_pretty(&meta).map_err(|e| io(&path, e))?;
        write_atomic(&path, text.as_bytes()).map_err(|e| io(&path, e))
    }

    fn submit(&self, study: i64, requests: &[EvalRequest]) -> Result<()> {
        self.check(study)?;
        self.with_state(|st| {
            for r in requests {
                if st.told.as_ref().is_some_and(|t| t.contains(&r.arch_id)) || st.live.contains_key(&r.arch_id) {
                    continue;
                }
                st.next_id += 1;
                let p = Pending {
                    id: st.next_id,
                    arch: r.arch.clone(),
                    seed: r.seed,
                    state: TrialState::Pending,
                    attempts: 0,
                    worker: String::new(),
                    lease_until: None,
                    outcome: None,
                };
                st.live.insert(r.arch_id, p);
            }
            Ok(())
        })
    }

    fn claim(&self, study: i64, worker: &str, lease: Duration, arch: Option<ArchId>) -> Result<Option<Claim>> {
        self.check(study)?;
        let now = Instant::now();
        self.with_state(|st| {
            let free = |p: &Pending| {
                p.state == TrialState::Pending
                    || (p.state == TrialState::Running && p.lease_until.is_some_and(|u| u < now))
            };
            let found = st
                .live
                .iter_mut()
                .filter(|(id, p)| arch.is_none_or(|a| a == **id) && free(p))
                .min_by_key(|(_, p)| p.id);
            Ok(found.map(|(arch_id, p)| {
                p.state = TrialState::Running;
                p.attempts += 1;
                p.worker = worker.to_string();
                p.lease_until = Some(now + lease);
                Claim { trial_id: p.id, arch_id: *arch_id, arch: p.arch.clone(), seed: p.seed, attempt: p.attempts }
            }))
        })
    }

    fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<bool> {
        self.with_state(|st| {
            Ok(match st.live.get_mut(&claim.arch_id) {
                Some(p) if p.state == TrialState::Running && p.attempts == claim.attempt => {
                    p.lease_until = Some(Instant::now() + lease);
                    true
                }
                _ => false,
            })
        })
    }

    fn finish(&self, claim: &Claim, outcome: &Outcome) -> Result<bool> {
        self.with_state(|st| {
            Ok(match st.live.get_mut(&claim.arch_id) {
                Some(p) if p.state == TrialState::Running && p.attempts == claim.attempt => {
                    p.state = match outcome {
                        Outcome::Ok { .. } => TrialState::Complete,
                        _ => TrialState::Failed,
                    };
                    p.lease_until = None;
                    p.outcome = Some(outcome.clone());
                    true
                }
                _ => false,
            })
        })
    }

    fn outcome(&self, study: i64, arch: ArchId) -> Result<Option<Outcome>> {
        self.check(study)?;
        self.with_state(|st| {
            if let Some(o) = st.live.get(&arch).and_then(|p| p.outcome.clone()) {
                return Ok(Some(o));
            }
            Ok(st.told.as_ref().and_then(|t| t.get(&arch)).map(outcome_of))
        })
    }

    fn counts(&self, study: i64) -> Result<Counts> {
        self.check(study)?;
        self.with_state(|st| {
            let mut c = Counts { told: st.told.as_ref().map_or(0, |t| t.by_index.len()), ..Counts::default() };
            for t in st.told.iter().flat_map(|t| t.by_index.values()) {
                if t.is_ok() { c.complete += 1 } else { c.failed += 1 }
            }
            for (id, p) in &st.live {
                if st.told.as_ref().is_some_and(|t| t.contains(id)) {
                    continue;
                }
                match p.state {
                    TrialState::Pending => c.pending += 1,
                    TrialState::Running => c.running += 1,
                    TrialState::Complete => c.complete += 1,
                    TrialState::Failed | TrialState::Pruned => c.failed += 1,
                }
                c.retries += (p.attempts - 1).max(0) as usize;
            }
            Ok(c)
        })
    }

    fn running(&self, study: i64) -> Result<Vec<(ArchId, String, i64)>> {
        self.check(study)?;
        self.with_state(|st| {
            let mut v: Vec<(i64, ArchId, String, i64)> = st
                .live
                .iter()
                .filter(|(_, p)| p.state == TrialState::Running)
                .map(|(a, p)| (p.id, *a, p.worker.clone(), p.attempts))
                .collect();
            v.sort_by_key(|r| r.0);
            Ok(v.into_iter().map(|(_, a, w, n)| (a, w, n)).collect())
        })
    }

    fn record(&self, study: i64, trial: &Trial) -> Result<()> {
        self.check(study)?;
        let path = RunDir::trials_path(&self.root);
        self.with_state(|st| {
            let mut log = self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if log.is_none() {
                *log = Some(RunDir::open(&self.root).map_err(|e| io(&path, format!("{e:#}")))?);
            }
            let told = st.told.get_or_insert_with(Told::default);
            if !told.insert(trial.clone()) {
                return log.as_ref().expect("opened above").append(trial).map_err(|e| io(&path, format!("{e:#}")));
            }
            // Recorded again: the log is rewritten (atomically) with this
            // record in place of the earlier one, and reopened for appending.
            let mut text = String::new();
            for t in told.by_index.values() {
                text.push_str(&serde_json::to_string(t).map_err(|e| io(&path, e))?);
                text.push('\n');
            }
            write_atomic(&path, text.as_bytes()).map_err(|e| io(&path, e))?;
            *log = Some(RunDir::open(&self.root).map_err(|e| io(&path, format!("{e:#}")))?);
            Ok(())
        })
    }

    fn trials(&self, study: i64) -> Result<Vec<Trial>> {
        self.check(study)?;
        let path = RunDir::trials_path(&self.root);
        let logged = recover_trials(&self.root, LogMode::Strict).map_err(|e| io(&path, format!("{e:#}")))?.trials;
        // A trial recorded again (the same index) replaces the earlier line.
        let mut told = Told::default();
        for t in logged {
            told.insert(t);
        }
        Ok(told.by_index.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_run_directory_keeps_the_store_contract() {
        let tmp = tempfile::tempdir().expect("tmp");
        let store = Arc::new(RunDirStore::open(&tmp.path().join("run")));
        trial_store::contract::check(store.clone(), "contract-run");
        // A second store over the same directory sees the study and its trials.
        let again = RunDirStore::open(&tmp.path().join("run"));
        let s = again.study("contract-run").expect("query").expect("the study");
        assert_eq!((s.status, again.trials(s.id).expect("trials").len()), (StudyStatus::Finished, 3));
    }

    #[test]
    fn a_plain_run_directory_is_a_study_named_after_it() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().join("quickstart-s0-17");
        let dir = RunDir::create(&root, "name = \"q\"\nseed = 7\n").expect("run dir");
        dir.write_meta(&RunMeta::new("q", 7, 10, 0)).expect("meta");
        let store = RunDirStore::over(dir);
        let s = store.study("quickstart-s0-17").expect("query").expect("named after the folder");
        assert_eq!((s.seed, s.status), (7, StudyStatus::Running));
        assert!(store.study("other").expect("query").is_none());
        assert!(matches!(
            store.create_study(&NewStudy {
                name: "x".into(),
                config: String::new(),
                seed: 0,
                provenance: Default::default()
            }),
            Err(StoreError::StudyExists { .. })
        ));
    }
}
