//! The PostgreSQL store: a server shared by workers on many machines. Claims
//! lock the chosen row with `FOR UPDATE SKIP LOCKED`, so concurrent workers
//! take different trials without waiting on each other; times come from the
//! server's clock, so machines whose clocks differ agree on leases. A lost
//! connection is re-opened and the operation retried ([`RetryPolicy`]).

use crate::error::{Result, StoreError, redact};
use crate::retry::{Attempt, RetryPolicy, with_retry};
use crate::schema::{Dialect, VERSION_TABLE, migrations};
use crate::url::StorageUrl;
use crate::{
    Claim, Counts, EvalRequest, NewStudy, Outcome, SCHEMA_VERSION, Study, StudyStatus, TrialState, TrialStore,
    arch_text, parse_arch, parse_json, to_json,
};
use nas_core::{ArchId, Trial};
use postgres::{Client, NoTls};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The server's clock in ms since the Unix epoch.
const NOW: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// See the module docs.
pub struct PostgresStore {
    config: postgres::Config,
    shown: String,
    password: Option<String>,
    client: Mutex<Option<Client>>,
    retry: RetryPolicy,
}

impl PostgresStore {
    /// Connects to the server of `url` (a `postgres://` URL) and creates or
    /// migrates the schema.
    pub fn connect(url: &StorageUrl, retry: RetryPolicy) -> Result<Self> {
        let StorageUrl::Postgres { user, password, host, port, database } = url else {
            return Err(StoreError::Url { url: url.redacted(), reason: "not a postgres:// URL".into() });
        };
        let mut config = postgres::Config::new();
        config
            .user(user)
            .host(host)
            .port(*port)
            .dbname(database)
            .application_name("hwnas")
            .connect_timeout(Duration::from_secs(10));
        if let Some(p) = password {
            config.password(p);
        }
        let store = PostgresStore {
            config,
            shown: url.redacted(),
            password: password.clone(),
            client: Mutex::new(None),
            retry,
        };
        store.migrate()?;
        Ok(store)
    }

    fn text(&self, e: &postgres::Error) -> String {
        let mut s = e.to_string();
        if let Some(db) = e.as_db_error() {
            s = format!("{}: {}", db.code().code(), db.message());
        } else if let Some(src) = std::error::Error::source(e) {
            s = format!("{s}: {src}");
        }
        redact(&s, self.password.as_deref())
    }

    fn attempt(&self, e: postgres::Error) -> Attempt {
        use postgres::error::SqlState;
        let transient = e.is_closed()
            || e.as_db_error().is_none()
            || e.code().is_some_and(|c| {
                *c == SqlState::ADMIN_SHUTDOWN
                    || *c == SqlState::CRASH_SHUTDOWN
                    || *c == SqlState::CANNOT_CONNECT_NOW
                    || *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
            });
        let text = self.text(&e);
        if transient {
            Attempt::Transient(text)
        } else {
            Attempt::Fatal(StoreError::Query { location: self.shown.clone(), reason: text })
        }
    }

    /// Runs `op` on a live connection, re-connecting and retrying while the
    /// server is away.
    fn run<T>(&self, mut op: impl FnMut(&mut Client) -> std::result::Result<T, postgres::Error>) -> Result<T> {
        with_retry(&self.retry, &self.shown, || {
            let mut slot = self.client.lock().unwrap_or_else(PoisonError::into_inner);
            if slot.as_ref().is_none_or(Client::is_closed) {
                *slot = Some(self.config.connect(NoTls).map_err(|e| self.attempt(e))?);
            }
            let client = slot.as_mut().expect("connected above");
            op(client).map_err(|e| {
                let a = self.attempt(e);
                if matches!(a, Attempt::Transient(_)) {
                    *slot = None;
                }
                a
            })
        })
    }

    fn migrate(&self) -> Result<()> {
        let steps = migrations(Dialect::Postgres);
        let found = self.run(|c| {
            let mut tx = c.transaction()?;
            // One migrating process at a time, from the very first statement:
            // two concurrent `CREATE TABLE IF NOT EXISTS` race in PostgreSQL's
            // catalogue (unique violation on pg_type) on a fresh database.
            tx.execute("SELECT pg_advisory_xact_lock(727274)", &[])?;
            tx.batch_execute(VERSION_TABLE)?;
            let v: Option<i64> = tx.query_one("SELECT MAX(version) FROM hwnas_schema", &[])?.get(0);
            let v = v.unwrap_or(0);
            if v < SCHEMA_VERSION {
                for step in &steps[v as usize..SCHEMA_VERSION as usize] {
                    tx.batch_execute(step)?;
                }
                tx.execute("DELETE FROM hwnas_schema", &[])?;
                tx.execute("INSERT INTO hwnas_schema (version) VALUES ($1)", &[&SCHEMA_VERSION])?;
            }
            tx.commit()?;
            Ok(v)
        })?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew { location: self.shown.clone(), found, known: SCHEMA_VERSION });
        }
        Ok(())
    }

    fn to_study(&self, r: &postgres::Row) -> Result<Study> {
        let status: String = r.get(4);
        let provenance: String = r.get(5);
        Ok(Study {
            id: r.get(0),
            name: r.get(1),
            config: r.get(2),
            seed: r.get::<_, i64>(3) as u64,
            status: StudyStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                location: self.shown.clone(),
                what: "study status".into(),
                reason: status.clone(),
            })?,
            provenance: parse_json(&self.shown, "study provenance", &provenance)?,
            created_ms: r.get(6),
        })
    }
}

const STUDY_COLUMNS: &str = "id, name, config, seed, status, provenance, created_ms";

impl TrialStore for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn location(&self) -> String {
        self.shown.clone()
    }

    fn create_study(&self, new: &NewStudy) -> Result<Study> {
        crate::validate_study_name(&new.name)?;
        let provenance = to_json(&new.provenance);
        let inserted = self.run(|c| {
            c.execute(
                &format!(
                    "INSERT INTO studies (name, config, seed, status, provenance, created_ms)
                     VALUES ($1, $2, $3, $4, $5, {NOW}) ON CONFLICT (name) DO NOTHING"
                ),
                &[&new.name, &new.config, &(new.seed as i64), &StudyStatus::Running.as_str(), &provenance],
            )
        })?;
        if inserted == 0 {
            return Err(StoreError::StudyExists { name: new.name.clone(), location: self.shown.clone() });
        }
        self.study(&new.name)?.ok_or_else(|| StoreError::NoStudy { name: new.name.clone(), location: self.location() })
    }

    fn study(&self, name: &str) -> Result<Option<Study>> {
        crate::validate_study_name(name)?;
        let row =
            self.run(|c| c.query_opt(&format!("SELECT {STUDY_COLUMNS} FROM studies WHERE name = $1"), &[&name]))?;
        row.map(|r| self.to_study(&r)).transpose()
    }

    fn studies(&self) -> Result<Vec<Study>> {
        let rows = self.run(|c| c.query(&format!("SELECT {STUDY_COLUMNS} FROM studies ORDER BY id"), &[]))?;
        rows.iter().map(|r| self.to_study(r)).collect()
    }

    fn set_status(&self, study: i64, status: StudyStatus) -> Result<()> {
        self.run(|c| c.execute("UPDATE studies SET status = $1 WHERE id = $2", &[&status.as_str(), &study]))?;
        Ok(())
    }

    fn submit(&self, study: i64, requests: &[EvalRequest]) -> Result<()> {
        self.run(|c| {
            let mut tx = c.transaction()?;
            let st = tx.prepare(&format!(
                "INSERT INTO trials (study_id, arch_id, arch, seed, state, submitted_ms) VALUES ($1, $2, $3, $4, $5, {NOW})
                 ON CONFLICT (study_id, arch_id) DO NOTHING"
            ))?;
            for r in requests {
                tx.execute(
                    &st,
                    &[&study, &arch_text(r.arch_id), &r.arch, &(r.seed as i64), &TrialState::Pending.as_str()],
                )?;
            }
            tx.commit()
        })
    }

    fn claim(&self, study: i64, worker: &str, lease: Duration, arch: Option<ArchId>) -> Result<Option<Claim>> {
        let lease_ms = lease.as_millis() as i64;
        let only_arch = arch.map(arch_text);
        // A claim of one architecture looks it up by the unique key (an
        // `$4 IS NULL OR arch_id = $4` filter would hide the index).
        let only = if only_arch.is_some() { "AND arch_id = $4" } else { "" };
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&study, &worker, &lease_ms];
        if let Some(a) = &only_arch {
            params.push(a);
        }
        let row = self.run(|c| {
            c.query_opt(
                &format!(
                    "UPDATE trials SET state = 'running', attempts = attempts + 1, worker = $2,
                        lease_until_ms = {NOW} + $3, started_ms = {NOW}
                     WHERE id = (
                        SELECT id FROM trials
                        WHERE study_id = $1
                          AND (state = 'pending' OR (state = 'running' AND lease_until_ms < {NOW}))
                          {only}
                        ORDER BY id LIMIT 1
                        FOR UPDATE SKIP LOCKED)
                     RETURNING id, arch_id, arch, seed, attempts"
                ),
                &params,
            )
        })?;
        row.map(|r| {
            Ok(Claim {
                trial_id: r.get(0),
                arch_id: parse_arch(&self.shown, r.get(1))?,
                arch: r.get(2),
                seed: r.get::<_, i64>(3) as u64,
                attempt: r.get(4),
            })
        })
        .transpose()
    }

    fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<bool> {
        let lease_ms = lease.as_millis() as i64;
        let n = self.run(|c| {
            c.execute(
                &format!(
                    "UPDATE trials SET lease_until_ms = {NOW} + $1 WHERE id = $2 AND state = 'running' AND attempts = $3"
                ),
                &[&lease_ms, &claim.trial_id, &claim.attempt],
            )
        })?;
        Ok(n == 1)
    }

    fn finish(&self, claim: &Claim, outcome: &Outcome) -> Result<bool> {
        let text = to_json(outcome);
        self.run(|c| {
            let mut tx = c.transaction()?;
            let n = tx.execute(
                &format!(
                    "UPDATE trials SET state = $1, outcome = $2, eval_seconds = $3, finished_ms = {NOW}, lease_until_ms = NULL
                     WHERE id = $4 AND state = 'running' AND attempts = $5"
                ),
                &[&outcome.state().as_str(), &text, &outcome.eval_seconds(), &claim.trial_id, &claim.attempt],
            )?;
            if n == 1
                && let Some(m) = outcome.metrics()
            {
                let st = tx.prepare(
                    "INSERT INTO metrics (trial_id, name, value) VALUES ($1, $2, $3)
                     ON CONFLICT (trial_id, name) DO UPDATE SET value = excluded.value",
                )?;
                for (k, v) in m {
                    tx.execute(&st, &[&claim.trial_id, &k.name(), v])?;
                }
            }
            tx.commit()?;
            Ok(n == 1)
        })
    }

    fn outcome(&self, study: i64, arch: ArchId) -> Result<Option<Outcome>> {
        let row = self.run(|c| {
            c.query_opt(
                "SELECT outcome FROM trials WHERE study_id = $1 AND arch_id = $2 AND state IN ('complete', 'failed')",
                &[&study, &arch_text(arch)],
            )
        })?;
        row.and_then(|r| r.get::<_, Option<String>>(0))
            .map(|s| parse_json(&self.shown, "trial outcome", &s))
            .transpose()
    }

    fn counts(&self, study: i64) -> Result<Counts> {
        let rows = self.run(|c| {
            c.query(
                "SELECT state, COUNT(*), COALESCE(SUM(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END), 0)::BIGINT,
                        COUNT(told_index)
                 FROM trials WHERE study_id = $1 GROUP BY state",
                &[&study],
            )
        })?;
        let mut counts = Counts::default();
        for r in rows {
            counts.add_row(r.get::<_, &str>(0), r.get(1), r.get(2), r.get(3));
        }
        Ok(counts)
    }

    fn running(&self, study: i64) -> Result<Vec<(ArchId, String, i64)>> {
        let rows = self.run(|c| {
            c.query(
                "SELECT arch_id, worker, attempts FROM trials WHERE study_id = $1 AND state = 'running' ORDER BY id",
                &[&study],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok((parse_arch(&self.shown, r.get(0))?, r.get::<_, Option<String>>(1).unwrap_or_default(), r.get(2)))
            })
            .collect()
    }

    fn record(&self, study: i64, trial: &Trial) -> Result<()> {
        let text = to_json(trial);
        let state = if trial.is_ok() { TrialState::Complete } else { TrialState::Failed };
        self.run(|c| {
            c.execute(
                &format!(
                    "INSERT INTO trials (study_id, arch_id, arch, seed, state, submitted_ms, finished_ms, eval_seconds, told_index, record)
                     VALUES ($1, $2, $3, $4, $5, {NOW}, {NOW}, $6, $7, $8)
                     ON CONFLICT (study_id, arch_id) DO UPDATE SET told_index = excluded.told_index, record = excluded.record"
                ),
                &[
                    &study,
                    &arch_text(trial.arch_id),
                    &trial.arch,
                    &(trial.seed as i64),
                    &state.as_str(),
                    &trial.eval_seconds,
                    &(trial.index as i64),
                    &text,
                ],
            )
        })?;
        Ok(())
    }

    fn trials(&self, study: i64) -> Result<Vec<Trial>> {
        let rows = self.run(|c| {
            c.query(
                "SELECT record FROM trials WHERE study_id = $1 AND record IS NOT NULL ORDER BY told_index, id",
                &[&study],
            )
        })?;
        rows.iter().map(|r| parse_json(&self.shown, "told trial", r.get::<_, &str>(0))).collect()
    }
}
