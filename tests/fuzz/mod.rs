//! Parsers under fuzzing: a mutational fuzzer that runs on stable Rust.
//!
//! `cargo fuzz` needs a nightly toolchain and an instrumented rebuild of burn,
//! neither of which CI has, so the parsers are fuzzed in-process instead:
//! [`engine`] mutates the committed corpus (`tests/fuzz/corpus/<target>/`)
//! with byte-level and token-level mutations, keeps inputs that reach a new
//! outcome (a new error class: the feedback a parser without coverage
//! instrumentation can give), and reports any panic as a crash with the input
//! that caused it. [`targets`] are the parsers: the config loader, the NB201
//! and DARTS notations, the trial-log reader, the LUT, predictor and table
//! readers. Each target also checks a round trip where one exists (what parses
//! is written back and parses to the same value).
//!
//! `hwnas-fuzz --seconds 60` runs every target for a bounded time (CI does);
//! each crash it finds is saved under `tests/fuzz/crashes/<target>/` and
//! replayed by the `fuzz_corpus` integration tests from then on.

pub mod engine;
pub mod targets;
