//! The schema, per dialect, as numbered migrations: a database records the
//! version it has reached in `hwnas_schema`, and opening it applies the steps
//! after that version in one transaction (a database from a newer hwnas is
//! refused with both versions named).

/// The SQL dialects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// Migration `i` (0-based) takes a database from version `i` to `i + 1`.
pub(crate) fn migrations(d: Dialect) -> Vec<String> {
    let (id, big, real) = match d {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER", "REAL"),
        Dialect::Postgres => ("BIGSERIAL PRIMARY KEY", "BIGINT", "DOUBLE PRECISION"),
    };
    vec![format!(
        "CREATE TABLE studies (
            id {id},
            name TEXT NOT NULL UNIQUE,
            config TEXT NOT NULL,
            seed {big} NOT NULL,
            status TEXT NOT NULL,
            provenance TEXT NOT NULL,
            created_ms {big} NOT NULL
        );
        CREATE TABLE trials (
            id {id},
            study_id {big} NOT NULL REFERENCES studies(id),
            arch_id TEXT NOT NULL,
            arch TEXT NOT NULL,
            seed {big} NOT NULL,
            state TEXT NOT NULL,
            attempts {big} NOT NULL DEFAULT 0,
            worker TEXT,
            lease_until_ms {big},
            submitted_ms {big} NOT NULL,
            started_ms {big},
            finished_ms {big},
            eval_seconds {real},
            outcome TEXT,
            told_index {big},
            record TEXT,
            UNIQUE (study_id, arch_id)
        );
        CREATE INDEX trials_by_state ON trials (study_id, state, id);
        CREATE TABLE metrics (
            trial_id {big} NOT NULL REFERENCES trials(id),
            name TEXT NOT NULL,
            value {real} NOT NULL,
            PRIMARY KEY (trial_id, name)
        );"
    )]
}

/// The statement that creates the version table.
pub(crate) const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS hwnas_schema (version BIGINT NOT NULL)";
