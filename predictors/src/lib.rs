//! predictors
