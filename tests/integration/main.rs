//! Integration tests across the workspace crates (one binary, a module per topic).

mod bad_config;
mod bad_data;
mod cli;
mod codesign;
mod differentiable;
mod eas;
mod extension;
mod fidelity;
mod fuzz_corpus;
mod hardware;
mod nb201_search;
mod onnx_export;
mod predictors;
mod report_browser;
mod retrain;
mod rl;
mod run_files;
mod shared_numerics;
mod study;
mod table_search;
mod training;
