//! The error type of latency-lut.

use std::path::PathBuf;

/// Everything that can go wrong while measuring, saving, loading or costing with a
/// lookup table or a hardware model. Messages name the file, the layer or the
/// field, and say what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LutError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a readable LUT (not JSON, or fields of the wrong shape).
    #[error("{path}: not a valid hwnas latency table: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file was written with another schema version.
    #[error(
        "{path}: latency table schema version {found}, this hwnas (v{hwnas}) reads version {expected}; \
         rebuild it with `hwnas lut build`"
    )]
    SchemaVersion {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: u64,
        /// Version this build reads.
        expected: u32,
        /// This hwnas version.
        hwnas: &'static str,
    },
    /// The stored checksum does not match the content.
    #[error(
        "{path}: checksum mismatch (stored {stored}, content hashes to {computed}): the file was modified or \
         corrupted after `hwnas lut build` wrote it; rebuild it"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Checksum recorded in the file.
        stored: String,
        /// Checksum of the content.
        computed: String,
    },
    /// The table was measured for another search space (or another configuration of it).
    #[error("{path}: latency table was built for space {found}, but the experiment uses {expected}")]
    SpaceMismatch {
        /// The file.
        path: PathBuf,
        /// Space (and configuration) recorded in the table.
        found: String,
        /// Space (and configuration) asked for.
        expected: String,
    },
    /// The table was measured at another batch size.
    #[error("{path}: latency table was measured at batch size {found}, but batch size {expected} was asked for")]
    BatchMismatch {
        /// The file.
        path: PathBuf,
        /// Batch size of the table.
        found: usize,
        /// Batch size asked for.
        expected: usize,
    },
    /// A layer of a network has no entry in the table.
    #[error(
        "layer `{layer}` ({key}) is not in the latency table{source_note}; the table does not cover this \
         network: rebuild it for this space with `hwnas lut build`"
    )]
    MissingLayer {
        /// Dotted name of the layer in its network.
        layer: String,
        /// The layer configuration, in the table's key notation.
        key: String,
        /// ` <path>` when the table came from a file, else empty.
        source_note: String,
    },
    /// A layer that the measurement backend cannot run as described.
    #[error("cannot measure layer {key}: {reason}")]
    Unmeasurable {
        /// The layer configuration.
        key: String,
        /// Why not.
        reason: String,
    },
    /// A bad parameter value.
    #[error("invalid {field} = {value}: {allowed}")]
    InvalidValue {
        /// Parameter name.
        field: String,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// The burn backend panicked or failed while measuring.
    #[error("measurement failed: {0}")]
    Backend(String),
}

impl LutError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LutError::Io { path: path.into(), source }
    }

    /// A bad parameter value.
    pub fn invalid(field: &str, value: impl std::fmt::Display, allowed: &str) -> Self {
        LutError::InvalidValue { field: field.into(), value: value.to_string(), allowed: allowed.into() }
    }
}

/// Cost models report through nas-core's error type; the message is kept whole.
impl From<LutError> for nas_core::NasError {
    fn from(e: LutError) -> Self {
        match e {
            LutError::Io { path, source } => nas_core::NasError::Io { path, source },
            LutError::InvalidValue { field, value, allowed } => {
                nas_core::NasError::InvalidValue { field, value, allowed }
            }
            other => nas_core::NasError::Backend(other.to_string()),
        }
    }
}

/// Result alias of latency-lut.
pub type Result<T, E = LutError> = std::result::Result<T, E>;
