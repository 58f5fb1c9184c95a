//! # experiments — the `hwnas` command line and its library
//!
//! Crate map:
//! - [`config`]: TOML experiment configs with strict validation.
//! - [`registry`]: the built-in registry of spaces, strategies, evaluators and
//!   datasets (where a new component is declared).
//! - [`setup`]: a config's dataset, space, evaluators and strategy, built through
//!   the registry.
//! - [`progress`]: the one progress display of every long command.
//! - [`runner`]: run / resume / re-plot a run directory.
//! - [`rundir`]: the run directory layout, the trial log, atomic writes.
//! - [`rundir_store`]: the run directory as a trial store (the JSONL backend).
//! - [`observers`]: the progress display (search events).
//! - [`hv`]: hypervolume ratios and curves of runs.
//! - [`report`]: `pareto.json`, plots and `export/`.
//! - [`plot`]: plotters drawings.
//! - [`compare`]: strategies x seeds comparisons.
//! - [`hardware`]: `lut build`, `lut validate` and `verify` (latency tables and
//!   front verification).
//! - [`predictor_cmd`]: `predictor eval` and `predictor transfer`.
//! - [`predictor_store_cmd`]: `predictor fit` and `predictor predict`.
//! - [`transfer_apply`]: `predictor transfer --measured`: a latency table for a
//!   device of your own from a few measured cells.
//! - [`cli`]: the clap command line.
#![warn(missing_docs)]

pub mod cli;
pub mod codesign_cmd;
pub mod codesign_report;
pub mod compare;
pub mod config;
pub mod diff_report;
pub mod drawing;
pub mod eas_report;
pub mod hardware;
pub mod html_report;
pub mod hv;
pub mod kept_weights;
pub mod observers;
pub mod onnx_cmd;
pub mod plot;
pub mod predictor_cmd;
pub mod predictor_store_cmd;
pub mod progress;
pub mod registry;
pub mod report;
pub mod rl_report;
pub mod rundir;
pub mod rundir_store;
pub mod runner;
pub mod setup;
pub mod study;
pub mod study_cmd;
pub mod train_cmd;
pub mod transfer_apply;
pub mod zero_cost_cmd;
