//! Integration tests across the workspace crates (one binary, a module per topic).

mod bad_config;
mod nb201_search;
mod predictors;
mod table_search;
mod training;
