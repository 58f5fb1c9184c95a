//! The error type of nas-core.

use std::path::PathBuf;

/// Errors raised by nas-core and by the spaces, evaluators and strategies built on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NasError {
    /// A name (metric, op, device, ...) that is not one of the allowed values.
    #[error("unknown {what} `{value}`; allowed: {allowed}")]
    UnknownName {
        /// What kind of name it was.
        what: &'static str,
        /// The name given.
        value: String,
        /// The allowed names, comma-separated.
        allowed: String,
    },
    /// A constraint string that does not parse.
    #[error("bad constraint `{value}`: expected {expected}")]
    BadConstraint {
        /// The text given.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// A notation that the space cannot parse.
    #[error("cannot parse {space} architecture `{input}`: {reason}")]
    Parse {
        /// Space name.
        space: String,
        /// The text given.
        input: String,
        /// Why it failed.
        reason: String,
    },
    /// An architecture that is not a member of the space.
    #[error("invalid {space} architecture `{notation}`: {reason}")]
    InvalidArchitecture {
        /// Space name.
        space: String,
        /// Its notation.
        notation: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A bad parameter value given to a component.
    #[error("invalid {field} = {value}: {allowed}")]
    InvalidValue {
        /// Parameter name.
        field: String,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file's content is malformed.
    #[error("{path}:{line}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when not line-based).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// An evaluator cannot produce a metric it was asked for.
    #[error("evaluator `{evaluator}` cannot provide metric `{metric}`; it provides: {provides}")]
    MissingMetric {
        /// Evaluator name.
        evaluator: String,
        /// The metric asked for.
        metric: String,
        /// What it provides.
        provides: String,
    },
    /// A failure reported by a training or measurement backend.
    #[error("{0}")]
    Backend(String),
}

impl NasError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NasError::Io { path: path.into(), source }
    }
}

/// Result alias of nas-core.
pub type Result<T, E = NasError> = std::result::Result<T, E>;
