//! The store contract, run against SQLite always and against PostgreSQL when
//! `HWNAS_TEST_POSTGRES` names a server (`.ci/run` starts one): claims are
//! exclusive, a lease that runs out hands the trial to the next worker, a stale
//! claim cannot finish, submissions are idempotent, told trials come back in
//! index order, the schema refuses a newer version.

use std::sync::Arc;
use trial_store::{RetryPolicy, StoreError, TrialStore};

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), trial_store::now_ms())
}

fn contract(store: Arc<dyn TrialStore>) {
    trial_store::contract::check(store, &unique("contract"));
}

#[test]
fn sqlite_keeps_the_contract() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store =
        Arc::new(trial_store::SqliteStore::open(&tmp.path().join("s.db"), RetryPolicy::default()).expect("open"));
    contract(store);
}

#[test]
fn sqlite_refuses_a_schema_from_a_newer_hwnas() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("s.db");
    drop(trial_store::SqliteStore::open(&path, RetryPolicy::default()).expect("open"));
    let c = rusqlite_connection(&path);
    c.execute("UPDATE hwnas_schema SET version = 99", []).expect("bump");
    drop(c);
    match trial_store::SqliteStore::open(&path, RetryPolicy::default()) {
        Err(e @ StoreError::SchemaTooNew { found: 99, .. }) => {
            assert!(e.to_string().contains("version 99") && e.to_string().contains("up to 1"), "{e}")
        }
        Err(e) => panic!("expected SchemaTooNew, got {e}"),
        Ok(_) => panic!("expected SchemaTooNew, got a store"),
    }
}

fn rusqlite_connection(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open")
}

/// The PostgreSQL server of the tests: `HWNAS_TEST_POSTGRES` (`.ci/run` sets
/// it and `HWNAS_REQUIRE_POSTGRES=1`, under which a missing server fails).
fn postgres_url() -> Option<trial_store::StorageUrl> {
    let Ok(url) = std::env::var("HWNAS_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("HWNAS_REQUIRE_POSTGRES").is_none(),
            "HWNAS_REQUIRE_POSTGRES is set but HWNAS_TEST_POSTGRES is not"
        );
        return None;
    };
    Some(trial_store::StorageUrl::parse(&url).expect("HWNAS_TEST_POSTGRES parses"))
}

#[test]
fn postgres_keeps_the_contract() {
    let Some(url) = postgres_url() else {
        eprintln!(
            "HWNAS_TEST_POSTGRES is not set: the PostgreSQL contract is checked by .ci/run, which starts a server"
        );
        return;
    };
    let store = Arc::new(trial_store::PostgresStore::connect(&url, RetryPolicy::default()).expect("connect"));
    contract(store);
}

#[test]
fn postgres_stores_opened_at_once_on_a_fresh_database_all_migrate() {
    let Some(url) = postgres_url() else { return };
    let trial_store::StorageUrl::Postgres { user, password, host, port, database } = url else {
        panic!("a postgres URL")
    };
    let admin_cfg = |db: &str| {
        let mut c = postgres::Config::new();
        c.user(&user).host(&host).port(port).dbname(db);
        if let Some(p) = &password {
            c.password(p);
        }
        c
    };
    let mut admin = admin_cfg(&database).connect(postgres::NoTls).expect("connect");
    let fresh = format!("hwnas_fresh_{}_{}", std::process::id(), trial_store::now_ms());
    if let Err(e) = admin.batch_execute(&format!("CREATE DATABASE {fresh}")) {
        assert!(std::env::var_os("HWNAS_REQUIRE_POSTGRES").is_none(), "cannot create a database: {e}");
        eprintln!("skipped: the test role cannot create a database ({e})");
        return;
    }
    let fresh_url = trial_store::StorageUrl::Postgres {
        user: user.clone(),
        password: password.clone(),
        host: host.clone(),
        port,
        database: fresh.clone(),
    };
    // Eight processes' first connections at once: each creates or migrates
    // the schema, none fails.
    let opened: Vec<Result<(), String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let u = fresh_url.clone();
                s.spawn(move || {
                    trial_store::PostgresStore::connect(&u, RetryPolicy::default()).map(drop).map_err(|e| e.to_string())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let _ = admin.batch_execute(&format!("DROP DATABASE {fresh} WITH (FORCE)"));
    for r in opened {
        r.expect("a store opened at the same time as others");
    }
}
