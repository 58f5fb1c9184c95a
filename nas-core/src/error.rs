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
    /// A symmetric matrix (kernel, normal equations) that could not be factorised.
    #[error("matrix of size {size} is not positive definite, even with a diagonal jitter of {jitter}")]
    NotPositiveDefinite {
        /// Matrix size.
        size: usize,
        /// Largest jitter tried.
        jitter: f64,
    },
    /// A component's settings (a config section) that do not parse or validate.
    #[error("field `{field}`: {message}")]
    Setting {
        /// Dotted path of the field inside the section (`(section)` for the whole).
        field: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A component needs a capability the space does not have.
    #[error("space `{space}` has no {capability}; {user} needs it{}", alternatives_hint(.alternatives))]
    MissingCapability {
        /// The space.
        space: String,
        /// What is missing, in words (e.g. `crossover`).
        capability: String,
        /// Who needs it, e.g. ``strategy `nsga2` ``.
        user: String,
        /// Components of the same kind that this space can serve.
        alternatives: Vec<String>,
    },
    /// A strategy could not go on (e.g. a differentiable search that diverged).
    #[error("strategy `{strategy}` failed: {message}")]
    StrategyFailed {
        /// The strategy.
        strategy: String,
        /// What happened.
        message: String,
    },
    /// A failure reported by a training or measurement backend.
    #[error("{0}")]
    Backend(String),
    /// A network that cannot be written as ONNX.
    #[error(transparent)]
    Onnx(#[from] crate::onnx::OnnxError),
}

impl NasError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NasError::Io { path: path.into(), source }
    }

    /// Checks a size setting: `min <= value <= max`, else an `InvalidValue`
    /// naming the field and the range. Upper bounds keep a typo (`layers =
    /// 99999999999`) from turning into hours of work or an allocation failure.
    pub fn check_size(field: &str, value: usize, min: usize, max: usize) -> Result<(), NasError> {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(NasError::InvalidValue {
                field: field.into(),
                value: value.to_string(),
                allowed: format!("an integer from {min} to {max}"),
            })
        }
    }
}

fn alternatives_hint(alternatives: &[String]) -> String {
    match alternatives {
        [] => String::new(),
        [one] => format!(" — use `{one}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|a| format!("`{a}`")).collect();
            format!(" — use {} or `{last}`", init.join(", "))
        }
    }
}

/// Result alias of nas-core.
pub type Result<T, E = NasError> = std::result::Result<T, E>;
