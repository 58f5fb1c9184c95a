//! The error type of the predictors crate.

use std::path::PathBuf;

/// Why fitting, predicting, saving or loading a predictor failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PredictorError {
    /// No training rows.
    #[error("the training set is empty")]
    EmptyData,
    /// Feature rows and targets differ in number.
    #[error("{rows} feature rows but {targets} targets")]
    LengthMismatch {
        /// Feature rows.
        rows: usize,
        /// Targets.
        targets: usize,
    },
    /// A row has the wrong number of features.
    #[error("row {row} has {found} features, the model expects {expected}")]
    FeatureMismatch {
        /// Row index.
        row: usize,
        /// Features the model expects.
        expected: usize,
        /// Features the row has.
        found: usize,
    },
    /// A feature or target is NaN or infinite.
    #[error("non-finite {what} at row {row}")]
    NonFinite {
        /// `feature` or `target`.
        what: &'static str,
        /// Row index.
        row: usize,
    },
    /// A hyper-parameter is out of range.
    #[error("hyper-parameter `{field}` = {value}: expected {allowed}")]
    InvalidParameter {
        /// Field name.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// An error of nas-core (a matrix that could not be factorised, a
    /// failed atomic write, ...).
    #[error(transparent)]
    Core(#[from] nas_core::NasError),
    /// The burn backend failed while training a network.
    #[error("training backend failed: {reason}")]
    Backend {
        /// What happened.
        reason: String,
    },
    /// Reading or writing a predictor file failed.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A predictor file is not valid JSON of the documented format.
    #[error("{path}: not a hwnas predictor file: {reason}")]
    Format {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A predictor file has another schema version than this build reads.
    #[error(
        "{path}: predictor schema version {found}, but this build reads version {supported} only; refit and save the predictor again"
    )]
    SchemaVersion {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// Version in the file.
        found: u64,
        /// Version this build reads.
        supported: u64,
    },
    /// A predictor file's metadata lacks a field or has a bad value in it.
    #[error("{path}: metadata field `{field}`: {reason}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// The metadata key.
        field: String,
        /// What is wrong, with the allowed values.
        reason: String,
    },
    /// A saved predictor does not fit the setting it is used in (another space,
    /// features of another length).
    #[error("{path}: {reason}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, PredictorError>;

/// Checks a hyper-parameter condition.
pub(crate) fn check(ok: bool, field: &'static str, value: impl ToString, allowed: &'static str) -> Result<()> {
    if ok { Ok(()) } else { Err(PredictorError::InvalidParameter { field, value: value.to_string(), allowed }) }
}

impl From<PredictorError> for nas_core::NasError {
    fn from(e: PredictorError) -> Self {
        match e {
            PredictorError::InvalidParameter { field, value, allowed } => {
                nas_core::NasError::InvalidValue { field: field.into(), value, allowed: allowed.into() }
            }
            PredictorError::Core(e) => e,
            other => nas_core::NasError::Backend(other.to_string()),
        }
    }
}
