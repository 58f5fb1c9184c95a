//! Error type of the Pareto tools.

use thiserror::Error;

/// Invalid input to a Pareto function.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ParetoError {
    /// A point does not have the expected number of objectives.
    #[error("point {index} has {found} objectives, expected {expected}")]
    DimensionMismatch {
        /// Index of the offending point in the input slice.
        index: usize,
        /// Expected number of objectives (that of the reference point or of
        /// the normaliser).
        expected: usize,
        /// Number of objectives of the point.
        found: usize,
    },
    /// A point has a NaN objective value.
    #[error("point {index} has a NaN in objective {objective}")]
    NanObjective {
        /// Index of the offending point in the input slice.
        index: usize,
        /// Index of the NaN objective.
        objective: usize,
    },
    /// A point has an objective equal to minus infinity, which would make
    /// the hypervolume infinite.
    #[error("point {index} has -inf in objective {objective}")]
    NegativeInfinity {
        /// Index of the offending point in the input slice.
        index: usize,
        /// Index of the offending objective.
        objective: usize,
    },
    /// The reference point has no objectives.
    #[error("the reference point has no objectives")]
    EmptyReference,
    /// A reference-point coordinate is NaN or infinite.
    #[error("reference coordinate {objective} is not finite: {value}")]
    NonFiniteReference {
        /// Index of the offending objective.
        objective: usize,
        /// The offending value.
        value: f64,
    },
    /// The numbers of points and of constraint violations differ.
    #[error("{points} points but {violations} constraint violations")]
    LengthMismatch {
        /// Number of points.
        points: usize,
        /// Number of constraint violations.
        violations: usize,
    },
    /// A constraint violation is NaN or negative.
    #[error("constraint violation of point {index} is {value}, expected a value >= 0")]
    InvalidViolation {
        /// Index of the offending point.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// The ideal and nadir given to a normaliser do not span a positive,
    /// finite range in some objective.
    #[error("objective {objective}: need finite ideal < nadir, got ideal {ideal}, nadir {nadir}")]
    InvalidBounds {
        /// Index of the offending objective.
        objective: usize,
        /// Ideal value given for that objective.
        ideal: f64,
        /// Nadir value given for that objective.
        nadir: f64,
    },
    /// Ideal and nadir vectors of a normaliser have different lengths.
    #[error("ideal has {ideal} objectives but nadir has {nadir}")]
    BoundsDimensionMismatch {
        /// Length of the ideal vector.
        ideal: usize,
        /// Length of the nadir vector.
        nadir: usize,
    },
    /// A front used to build a normaliser is empty.
    #[error("cannot derive ideal and nadir from an empty front")]
    EmptyFront,
    /// The hypervolume used as the denominator of an HV ratio is not a
    /// positive finite number.
    #[error("reference hypervolume must be positive and finite, got {value}")]
    InvalidReferenceVolume {
        /// The offending value.
        value: f64,
    },
}
