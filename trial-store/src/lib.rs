//! Trial stores for studies that outgrow one process.
//!
//! A *study* is one search (its resolved config, seed and status); its
//! *trials* are the evaluations the driver asked for. The driver submits each
//! asked batch as pending trials; workers in any process or machine
//! [`claim`](TrialStore::claim) one (taking a lease), renew the lease while
//! they evaluate ([`heartbeat`](TrialStore::heartbeat)) and
//! [`finish`](TrialStore::finish) it with its outcome. A trial whose lease ran
//! out (a worker killed, a machine lost) is claimed again by the next worker;
//! a finish is accepted only from the latest claim, so a trial is completed
//! once. The driver tells results to its strategy in ask order and
//! [`record`](TrialStore::record)s each told trial, which is what a resumed
//! driver replays.
//!
//! Backends: [`SqliteStore`] (one file; several processes on one machine;
//! immediate transactions serialise claims) and [`PostgresStore`] (many
//! machines; claims with `FOR UPDATE SKIP LOCKED`). Both keep a schema
//! version and migrate older databases; every query binds its parameters.
//! The run directory's `trials.jsonl` is the third backend, for one process
//! (`RunDirStore`, in the `experiments` crate beside the run directory code).
//! [`contract::check`] is the behaviour every backend must show.

pub mod contract;
pub mod error;
pub mod postgres;
mod retry;
mod schema;
pub mod sqlite;
pub mod url;

pub use crate::postgres::PostgresStore;
pub use error::{Result, StoreError, redact};
pub use retry::RetryPolicy;
pub use sqlite::SqliteStore;
pub use url::{StorageUrl, validate_study_name};

use nas_core::{ArchId, MetricMap, Trial};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The schema version this build writes (see `schema.rs` for the migrations).
pub const SCHEMA_VERSION: i64 = 1;

/// Where a study stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyStatus {
    /// The driver is (or was, if it died) running it.
    Running,
    /// The driver finished it; workers stop.
    Finished,
}

impl StudyStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            StudyStatus::Running => "running",
            StudyStatus::Finished => "finished",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(StudyStatus::Running),
            "finished" => Some(StudyStatus::Finished),
            _ => None,
        }
    }
}

/// A study as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// Row id.
    pub id: i64,
    /// Name (validated).
    pub name: String,
    /// The resolved experiment config (TOML).
    pub config: String,
    /// Run seed.
    pub seed: u64,
    /// Status.
    pub status: StudyStatus,
    /// Provenance (hwnas version, git commit, machine...), JSON.
    pub provenance: serde_json::Value,
    /// Creation time (ms since the Unix epoch).
    pub created_ms: i64,
}

/// A new study.
#[derive(Clone, Debug, PartialEq)]
pub struct NewStudy {
    /// Name (validated by [`TrialStore::create_study`]).
    pub name: String,
    /// The resolved experiment config (TOML).
    pub config: String,
    /// Run seed.
    pub seed: u64,
    /// Provenance, JSON.
    pub provenance: serde_json::Value,
}

/// A trial's state in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    /// Submitted, not claimed (or its claim's lease ran out).
    Pending,
    /// Claimed by a worker holding a lease.
    Running,
    /// Evaluated; metrics stored.
    Complete,
    /// Evaluated; the candidate failed (the reason stored).
    Failed,
    /// Stopped early by a scheduler.
    Pruned,
}

impl TrialState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Pending => "pending",
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Failed => "failed",
            TrialState::Pruned => "pruned",
        }
    }
}

/// One evaluation asked for by the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalRequest {
    /// Architecture id.
    pub arch_id: ArchId,
    /// Notation.
    pub arch: String,
    /// Evaluation seed.
    pub seed: u64,
}

/// A claimed trial: what to evaluate and the claim's token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// Row id.
    pub trial_id: i64,
    /// Architecture id.
    pub arch_id: ArchId,
    /// Notation.
    pub arch: String,
    /// Evaluation seed.
    pub seed: u64,
    /// Which claim of this trial this is (1 for the first; more after a lease
    /// ran out); also the token a finish must show.
    pub attempt: i64,
}

/// The result of one evaluation, as a worker reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Metrics.
    Ok {
        /// The evaluator's metrics.
        metrics: MetricMap,
        /// Seconds the evaluation took on the worker.
        eval_seconds: f64,
        /// The worker.
        worker: String,
    },
    /// The candidate failed (the search goes on).
    Failed {
        /// Why.
        reason: String,
        /// Seconds the evaluation took on the worker.
        eval_seconds: f64,
        /// The worker.
        worker: String,
    },
    /// The evaluator cannot work at all (the study stops with this message).
    Fatal {
        /// Why.
        reason: String,
        /// The worker.
        worker: String,
    },
}

impl Outcome {
    fn state(&self) -> TrialState {
        match self {
            Outcome::Ok { .. } => TrialState::Complete,
            Outcome::Failed { .. } | Outcome::Fatal { .. } => TrialState::Failed,
        }
    }

    fn eval_seconds(&self) -> f64 {
        match self {
            Outcome::Ok { eval_seconds, .. } | Outcome::Failed { eval_seconds, .. } => *eval_seconds,
            Outcome::Fatal { .. } => 0.0,
        }
    }

    fn metrics(&self) -> Option<&MetricMap> {
        match self {
            Outcome::Ok { metrics, .. } => Some(metrics),
            _ => None,
        }
    }
}

/// How many trials of a study are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Pending.
    pub pending: usize,
    /// Running (lease held or expired).
    pub running: usize,
    /// Complete.
    pub complete: usize,
    /// Failed.
    pub failed: usize,
    /// Claims beyond the first (re-evaluations after lost leases).
    pub retries: usize,
    /// Trials told to the strategy.
    pub told: usize,
}

impl Counts {
    /// Adds one row of the per-state count query: `n` trials in `state`,
    /// `retries` claims beyond their first, `told` of them told.
    pub(crate) fn add_row(&mut self, state: &str, n: i64, retries: i64, told: i64) {
        let n = n as usize;
        match state {
            "pending" => self.pending = n,
            "running" => self.running = n,
            "complete" => self.complete = n,
            "failed" => self.failed = n,
            _ => {}
        }
        self.retries += retries as usize;
        self.told += told as usize;
    }
}

/// A trial store (see the crate docs). Every method retries a lost
/// connection with backoff (printing why, password redacted) before it gives
/// up with [`StoreError::Unreachable`].
pub trait TrialStore: Send + Sync {
    /// `sqlite`, `postgres` or `jsonl`.
    fn backend(&self) -> &'static str;
    /// Where it is, password redacted.
    fn location(&self) -> String;

    /// Creates a study; refuses an existing name.
    fn create_study(&self, new: &NewStudy) -> Result<Study>;
    /// The study of that name, if any.
    fn study(&self, name: &str) -> Result<Option<Study>>;
    /// Every study, oldest first.
    fn studies(&self) -> Result<Vec<Study>>;
    /// Sets a study's status.
    fn set_status(&self, study: i64, status: StudyStatus) -> Result<()>;

    /// Adds pending trials (those already present, whatever their state, are left alone).
    fn submit(&self, study: i64, requests: &[EvalRequest]) -> Result<()>;
    /// Claims the oldest pending trial (or one whose lease ran out), only
    /// `arch` when given, for `worker`, with a lease of `lease`.
    fn claim(&self, study: i64, worker: &str, lease: Duration, arch: Option<ArchId>) -> Result<Option<Claim>>;
    /// Extends the lease of `claim`; false when the claim is no longer the
    /// latest (its lease ran out and another worker took the trial).
    fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<bool>;
    /// Stores the outcome of `claim`; false (nothing written) when the claim is
    /// no longer the latest.
    fn finish(&self, claim: &Claim, outcome: &Outcome) -> Result<bool>;
    /// The outcome of a finished trial.
    fn outcome(&self, study: i64, arch: ArchId) -> Result<Option<Outcome>>;
    /// Trials per state.
    fn counts(&self, study: i64) -> Result<Counts>;
    /// The running trials: architecture, worker holding the claim, attempt.
    fn running(&self, study: i64) -> Result<Vec<(ArchId, String, i64)>>;

    /// Records a trial as told to the strategy (by arch id: recording again replaces).
    fn record(&self, study: i64, trial: &Trial) -> Result<()>;
    /// The told trials, in index order.
    fn trials(&self, study: i64) -> Result<Vec<Trial>>;
}

/// Opens the store a URL names (creating or migrating its schema).
pub fn open(url: &StorageUrl, retry: RetryPolicy) -> Result<Arc<dyn TrialStore>> {
    Ok(match url {
        StorageUrl::Sqlite { path } => Arc::new(SqliteStore::open(path, retry)?),
        StorageUrl::Postgres { .. } => Arc::new(PostgresStore::connect(url, retry)?),
    })
}

/// Milliseconds since the Unix epoch, by this machine's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn arch_text(id: ArchId) -> String {
    id.to_string()
}

fn parse_arch(location: &str, s: &str) -> Result<ArchId> {
    ArchId::parse(s).ok_or_else(|| StoreError::Corrupt {
        location: location.to_string(),
        what: "architecture id".into(),
        reason: format!("`{s}` is not 16 hexadecimal digits"),
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(location: &str, what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        location: location.to_string(),
        what: what.to_string(),
        reason: e.to_string(),
    })
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"unserialisable\":\"{e}\"}}"))
}
