//! The SQLite store: one database file, shared by the processes of one
//! machine. WAL journal (readers do not block the writer), a busy timeout for
//! concurrent writers, and immediate transactions for claims, so two workers
//! never claim the same trial.

use crate::error::{Result, StoreError};
use crate::retry::{Attempt, RetryPolicy, with_retry};
use crate::schema::{Dialect, VERSION_TABLE, migrations};
use crate::{
    Claim, Counts, EvalRequest, NewStudy, Outcome, SCHEMA_VERSION, Study, StudyStatus, TrialState, TrialStore,
    arch_text, now_ms, parse_arch, parse_json, to_json,
};
use nas_core::{ArchId, Trial};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// See the module docs.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    retry: RetryPolicy,
}

fn attempt(e: rusqlite::Error) -> Attempt {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => Attempt::Transient(e.to_string()),
        _ => Attempt::Fatal(StoreError::Query { location: String::new(), reason: e.to_string() }),
    }
}

impl SqliteStore {
    /// Opens (creating, or migrating to [`SCHEMA_VERSION`]) the database at `path`.
    pub fn open(path: &Path, retry: RetryPolicy) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io { path: dir.to_path_buf(), source: e })?;
        }
        let location = format!("sqlite:{}", path.display());
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Query { location: location.clone(), reason: e.to_string() })?;
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(Duration::from_secs(30))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            Ok(())
        };
        setup().map_err(|e| StoreError::Query { location: location.clone(), reason: e.to_string() })?;
        let store = SqliteStore { path: path.to_path_buf(), conn: Mutex::new(conn), retry };
        store.migrate()?;
        Ok(store)
    }

    fn run<T>(&self, mut op: impl FnMut(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let location = self.location();
        with_retry(&self.retry, &location, || {
            let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
            op(&mut conn).map_err(attempt)
        })
        .map_err(|e| match e {
            StoreError::Query { reason, .. } => StoreError::Query { location: location.clone(), reason },
            other => other,
        })
    }

    fn migrate(&self) -> Result<()> {
        let steps = migrations(Dialect::Sqlite);
        let found = self.run(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(VERSION_TABLE, [])?;
            let v: Option<i64> = tx.query_row("SELECT MAX(version) FROM hwnas_schema", [], |r| r.get(0))?;
            let v = v.unwrap_or(0);
            if v < SCHEMA_VERSION {
                for step in &steps[v as usize..SCHEMA_VERSION as usize] {
                    tx.execute_batch(step)?;
                }
                tx.execute("DELETE FROM hwnas_schema", [])?;
                tx.execute("INSERT INTO hwnas_schema (version) VALUES (?1)", params![SCHEMA_VERSION])?;
            }
            tx.commit()?;
            Ok(v)
        })?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew { location: self.location(), found, known: SCHEMA_VERSION });
        }
        Ok(())
    }

    fn study_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, String, i64, String, String, i64)> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
    }

    fn to_study(&self, row: (i64, String, String, i64, String, String, i64)) -> Result<Study> {
        let (id, name, config, seed, status, provenance, created_ms) = row;
        let location = self.location();
        Ok(Study {
            id,
            name,
            config,
            seed: seed as u64,
            status: StudyStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                location: location.clone(),
                what: "study status".into(),
                reason: status.clone(),
            })?,
            provenance: parse_json(&location, "study provenance", &provenance)?,
            created_ms,
        })
    }
}

const STUDY_COLUMNS: &str = "id, name, config, seed, status, provenance, created_ms";

impl TrialStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn location(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn create_study(&self, new: &NewStudy) -> Result<Study> {
        crate::validate_study_name(&new.name)?;
        if self.study(&new.name)?.is_some() {
            return Err(StoreError::StudyExists { name: new.name.clone(), location: self.location() });
        }
        let provenance = to_json(&new.provenance);
        self.run(|c| {
            c.execute(
                "INSERT INTO studies (name, config, seed, status, provenance, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![new.name, new.config, new.seed as i64, StudyStatus::Running.as_str(), provenance, now_ms()],
            )
        })?;
        self.study(&new.name)?.ok_or_else(|| StoreError::NoStudy { name: new.name.clone(), location: self.location() })
    }

    fn study(&self, name: &str) -> Result<Option<Study>> {
        crate::validate_study_name(name)?;
        let row = self.run(|c| {
            c.query_row(&format!("SELECT {STUDY_COLUMNS} FROM studies WHERE name = ?1"), params![name], Self::study_row)
                .optional()
        })?;
        row.map(|r| self.to_study(r)).transpose()
    }

    fn studies(&self) -> Result<Vec<Study>> {
        let rows = self.run(|c| {
            let mut st = c.prepare(&format!("SELECT {STUDY_COLUMNS} FROM studies ORDER BY id"))?;
            st.query_map([], Self::study_row)?.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(|r| self.to_study(r)).collect()
    }

    fn set_status(&self, study: i64, status: StudyStatus) -> Result<()> {
        self.run(|c| c.execute("UPDATE studies SET status = ?1 WHERE id = ?2", params![status.as_str(), study]))?;
        Ok(())
    }

    fn submit(&self, study: i64, requests: &[EvalRequest]) -> Result<()> {
        self.run(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut st = tx.prepare_cached(
                    "INSERT INTO trials (study_id, arch_id, arch, seed, state, submitted_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (study_id, arch_id) DO NOTHING",
                )?;
                let now = now_ms();
                for r in requests {
                    st.execute(params![
                        study,
                        arch_text(r.arch_id),
                        r.arch,
                        r.seed as i64,
                        TrialState::Pending.as_str(),
                        now
                    ])?;
                }
            }
            tx.commit()
        })
    }

    fn claim(&self, study: i64, worker: &str, lease: Duration, arch: Option<ArchId>) -> Result<Option<Claim>> {
        let location = self.location();
        let lease_ms = lease.as_millis() as i64;
        let row = self.run(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = now_ms();
            // Each query below is answered from an index (one OR-ed query
            // made SQLite scan the study's trials on every claim).
            let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
            let found: Option<(i64, String, String, i64, i64)> = match arch {
                Some(a) => tx
                    .prepare_cached(
                        "SELECT id, arch_id, arch, seed, attempts FROM trials
                         WHERE study_id = ?1 AND arch_id = ?2
                           AND (state = 'pending' OR (state = 'running' AND lease_until_ms < ?3))",
                    )?
                    .query_row(params![study, arch_text(a), now], row)
                    .optional()?,
                None => {
                    let pending = tx
                        .prepare_cached(
                            "SELECT id, arch_id, arch, seed, attempts FROM trials
                             WHERE study_id = ?1 AND state = 'pending' ORDER BY id LIMIT 1",
                        )?
                        .query_row(params![study], row)
                        .optional()?;
                    let expired = tx
                        .prepare_cached(
                            "SELECT id, arch_id, arch, seed, attempts FROM trials
                             WHERE study_id = ?1 AND state = 'running' AND lease_until_ms < ?2 ORDER BY id LIMIT 1",
                        )?
                        .query_row(params![study, now], row)
                        .optional()?;
                    // The oldest of the two.
                    match (pending, expired) {
                        (Some(p), Some(e)) => Some(if e.0 < p.0 { e } else { p }),
                        (p, e) => p.or(e),
                    }
                }
            };
            if let Some((id, ..)) = &found {
                tx.execute(
                    "UPDATE trials SET state = 'running', attempts = attempts + 1, worker = ?1,
                     lease_until_ms = ?2, started_ms = ?3 WHERE id = ?4",
                    params![worker, now + lease_ms, now, id],
                )?;
            }
            tx.commit()?;
            Ok(found)
        })?;
        row.map(|(trial_id, arch_id, arch, seed, attempts)| {
            Ok(Claim {
                trial_id,
                arch_id: parse_arch(&location, &arch_id)?,
                arch,
                seed: seed as u64,
                attempt: attempts + 1,
            })
        })
        .transpose()
    }

    fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<bool> {
        let n = self.run(|c| {
            c.execute(
                "UPDATE trials SET lease_until_ms = ?1 WHERE id = ?2 AND state = 'running' AND attempts = ?3",
                params![now_ms() + lease.as_millis() as i64, claim.trial_id, claim.attempt],
            )
        })?;
        Ok(n == 1)
    }

    fn finish(&self, claim: &Claim, outcome: &Outcome) -> Result<bool> {
        let text = to_json(outcome);
        self.run(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE trials SET state = ?1, outcome = ?2, eval_seconds = ?3, finished_ms = ?4, lease_until_ms = NULL
                 WHERE id = ?5 AND state = 'running' AND attempts = ?6",
                params![
                    outcome.state().as_str(),
                    text,
                    outcome.eval_seconds(),
                    now_ms(),
                    claim.trial_id,
                    claim.attempt
                ],
            )?;
            if n == 1
                && let Some(m) = outcome.metrics()
            {
                let mut st =
                    tx.prepare_cached("INSERT OR REPLACE INTO metrics (trial_id, name, value) VALUES (?1, ?2, ?3)")?;
                for (k, v) in m {
                    st.execute(params![claim.trial_id, k.name(), v])?;
                }
            }
            tx.commit()?;
            Ok(n == 1)
        })
    }

    fn outcome(&self, study: i64, arch: ArchId) -> Result<Option<Outcome>> {
        let location = self.location();
        let row: Option<Option<String>> = self.run(|c| {
            c.query_row(
                "SELECT outcome FROM trials WHERE study_id = ?1 AND arch_id = ?2 AND state IN ('complete', 'failed')",
                params![study, arch_text(arch)],
                |r| r.get(0),
            )
            .optional()
        })?;
        row.flatten().map(|s| parse_json(&location, "trial outcome", &s)).transpose()
    }

    fn counts(&self, study: i64) -> Result<Counts> {
        self.run(|c| {
            let mut counts = Counts::default();
            let mut st = c.prepare(
                "SELECT state, COUNT(*), SUM(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END), COUNT(told_index)
                 FROM trials WHERE study_id = ?1 GROUP BY state",
            )?;
            let rows = st.query_map(params![study], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?, r.get::<_, i64>(3)?))
            })?;
            for row in rows {
                let (state, n, retries, told) = row?;
                counts.add_row(&state, n, retries.unwrap_or(0), told);
            }
            Ok(counts)
        })
    }

    fn running(&self, study: i64) -> Result<Vec<(ArchId, String, i64)>> {
        let location = self.location();
        let rows: Vec<(String, Option<String>, i64)> = self.run(|c| {
            let mut st = c.prepare(
                "SELECT arch_id, worker, attempts FROM trials WHERE study_id = ?1 AND state = 'running' ORDER BY id",
            )?;
            st.query_map(params![study], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(|(a, w, n)| Ok((parse_arch(&location, &a)?, w.unwrap_or_default(), n))).collect()
    }

    fn record(&self, study: i64, trial: &Trial) -> Result<()> {
        let text = to_json(trial);
        let state = if trial.is_ok() { TrialState::Complete } else { TrialState::Failed };
        self.run(|c| {
            c.execute(
                "INSERT INTO trials (study_id, arch_id, arch, seed, state, submitted_ms, finished_ms, eval_seconds, told_index, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9)
                 ON CONFLICT (study_id, arch_id) DO UPDATE SET told_index = excluded.told_index, record = excluded.record",
                params![
                    study,
                    arch_text(trial.arch_id),
                    trial.arch,
                    trial.seed as i64,
                    state.as_str(),
                    now_ms(),
                    trial.eval_seconds,
                    trial.index as i64,
                    text
                ],
            )
        })?;
        Ok(())
    }

    fn trials(&self, study: i64) -> Result<Vec<Trial>> {
        let location = self.location();
        let rows: Vec<String> = self.run(|c| {
            let mut st = c.prepare(
                "SELECT record FROM trials WHERE study_id = ?1 AND record IS NOT NULL ORDER BY told_index, id",
            )?;
            st.query_map(params![study], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()
        })?;
        rows.iter().map(|s| parse_json(&location, "told trial", s)).collect()
    }
}
