//! Errors of the trial stores. Messages never carry a password: every text
//! that comes from a driver goes through [`redact`].

use std::path::PathBuf;

/// What went wrong with a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The storage URL is malformed or names an unknown backend.
    #[error("storage URL `{url}`: {reason}")]
    Url {
        /// The URL, password removed.
        url: String,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A study name outside the allowed alphabet or length.
    #[error("study name `{name}`: {reason}")]
    StudyName {
        /// The name as given.
        name: String,
        /// What is allowed.
        reason: String,
    },
    /// The study does not exist.
    #[error("no study `{name}` in {location}")]
    NoStudy {
        /// The study name.
        name: String,
        /// The store (redacted).
        location: String,
    },
    /// A study of that name exists already.
    #[error("study `{name}` exists already in {location}")]
    StudyExists {
        /// The study name.
        name: String,
        /// The store (redacted).
        location: String,
    },
    /// The database was written by a newer hwnas.
    #[error("{location} holds trial-store schema version {found}; this hwnas knows versions up to {known}")]
    SchemaTooNew {
        /// The store (redacted).
        location: String,
        /// The version in the database.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// The database could not be reached for longer than the allowed outage.
    #[error("{location} unreachable for {seconds:.0} s (giving up): {reason}")]
    Unreachable {
        /// The store (redacted).
        location: String,
        /// How long it was retried.
        seconds: f64,
        /// The last error (redacted).
        reason: String,
    },
    /// A query failed (not a lost connection).
    #[error("{location}: {reason}")]
    Query {
        /// The store (redacted).
        location: String,
        /// The driver's message (redacted).
        reason: String,
    },
    /// A record in the store does not parse.
    #[error("{location}: a stored {what} does not parse: {reason}")]
    Corrupt {
        /// The store (redacted).
        location: String,
        /// Which record.
        what: String,
        /// The parser's message.
        reason: String,
    },
    /// A file of the store.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The operation needs a shared store.
    #[error("{0}")]
    Unsupported(String),
}

/// A store result.
pub type Result<T> = std::result::Result<T, StoreError>;

/// `text` with every occurrence of `secret` replaced by `***` (nothing when the
/// secret is empty).
pub fn redact(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => text.replace(s, "***"),
        _ => text.to_string(),
    }
}
